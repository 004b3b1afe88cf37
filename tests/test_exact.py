"""The ``exact`` inference engine (lifegym.inference.exact), checked against an independent
count of transitions (numpy rolls, not the numba kernel)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lifegym.env import RuleDiscoveryEnv
from lifegym.experiments import Experiment
from lifegym.families import FAMILIES, TOTALISTIC
from lifegym.inference import ENGINES, engine_class, make_engine
from lifegym.inference.exact import ExactEngine, count_transitions
from lifegym.lab import Lab
from lifegym.observe import ObservationModel, full, noisy, stats, strided, window
from lifegym.rules import NAMED_RULES, Rule
from lifegym.types import RuleSpace

TOTALISTIC_NAMED = {
    name: text for name, text in NAMED_RULES.items() if TOTALISTIC.contains(Rule.parse(text).table)
}
SEEDS = {name: i for i, name in enumerate(TOTALISTIC_NAMED)}
SOUP1 = Experiment("soup-0.50x1", "soup", 1, density=0.5)


def patterns_of(grid: np.ndarray) -> np.ndarray:
    """Pattern index of every cell's 3x3 torus neighbourhood (NW = 256 ... SE = 1)."""
    index = np.zeros(grid.shape, dtype=np.int64)
    for r in range(3):
        for c in range(3):
            shifted = np.roll(grid, (1 - r, 1 - c), axis=(0, 1)).astype(np.int64)
            index |= shifted << (8 - (3 * r + c))
    return index


def recount(before: np.ndarray, after: np.ndarray, orbit_of: np.ndarray, n_bits: int, cells=None):
    """(ones, zeros) per family bit of the cells (a boolean mask, default all)."""
    bits = np.asarray(orbit_of)[patterns_of(before)]
    mask = np.ones(before.shape, dtype=bool) if cells is None else cells
    ones = np.bincount(bits[mask & (after == 1)], minlength=n_bits)
    zeros = np.bincount(bits[mask & (after == 0)], minlength=n_bits)
    return ones, zeros


def run_engine(
    rule: Rule,
    model: ObservationModel,
    experiments: list[Experiment],
    family: str = "totalistic",
    known: dict | None = None,
    world: tuple[int, int] = (60, 60),
    seed: int = 0,
) -> tuple[ExactEngine, Lab]:
    space = RuleSpace.of(family, known)
    lab = Lab(rule, model, world, 10**9, 10**9, np.random.default_rng(seed))
    engine = ExactEngine(space, model)
    for experiment in experiments:
        engine.update(lab.run(experiment))
    return engine, lab


def test_named_totalistic_rules_are_the_expected_ones():
    assert len(TOTALISTIC_NAMED) >= 25
    assert "Life" in TOTALISTIC_NAMED
    assert "tlife" not in TOTALISTIC_NAMED


# ---------------------------------------------------------------- full observation


@pytest.mark.parametrize("name", list(TOTALISTIC_NAMED))
def test_one_dense_soup_identifies_every_named_rule(name):
    rule = Rule.parse(TOTALISTIC_NAMED[name])
    engine, lab = run_engine(rule, full(), [SOUP1], seed=SEEDS[name])
    trajectory = lab.trajectories[0]
    ones, zeros = recount(trajectory.initial, trajectory.frames[0], TOTALISTIC.orbit_of, 18)
    occurring = (ones + zeros) > 0
    belief = engine.belief()
    np.testing.assert_array_equal(belief.determined, occurring)
    assert belief.n_consistent == 2 ** int((~occurring).sum())
    truth = rule.bits
    np.testing.assert_array_equal(belief.p_one[occurring], truth[occurring])
    np.testing.assert_array_equal(belief.p_one[~occurring], 0.5)
    assert np.array_equal(belief.map_rule.bits[occurring], truth[occurring])
    assert belief.entropy == pytest.approx(float((~occurring).sum()))
    if occurring.all():
        assert belief.map_rule == rule
        assert belief.n_consistent == 1
        assert belief.entropy == 0.0


def test_a_60x60_soup_usually_shows_every_totalistic_bit():
    """At density 0.5 every (centre, count) occurs ~7+ times among 3600 cells: at most a few
    of the named rules' soups may miss one."""
    missing = 0
    for name, text in TOTALISTIC_NAMED.items():
        engine, _ = run_engine(Rule.parse(text), full(), [SOUP1], seed=SEEDS[name])
        missing += engine.belief().n_consistent != 1
    assert missing <= 2


@pytest.mark.parametrize("model", [full(), window(20, 25)])
def test_noise_free_evidence_matches_an_independent_count(model):
    """With p = 0, the initial condition gives every observed cell's input; later frames give
    the cells whose whole neighbourhood is observed."""
    rule = Rule.parse("B36/S23")
    engine, lab = run_engine(rule, model, [Experiment("s", "soup", 4, density=0.3)], world=(30, 30))
    trajectory = lab.trajectories[0]
    h, w = model.region(30, 30)
    frames = trajectory.frames
    ones, zeros = np.zeros(18, dtype=np.int64), np.zeros(18, dtype=np.int64)
    inside = np.zeros((30, 30), dtype=bool)
    inside[:h, :w] = True
    padded = np.zeros((30, 30), dtype=np.uint8)
    padded[:h, :w] = frames[0]
    o, z = recount(trajectory.initial, padded, TOTALISTIC.orbit_of, 18, inside)
    ones += o
    zeros += z
    interior = np.zeros((h, w), dtype=bool)
    if (h, w) == (30, 30):
        interior[:] = True
    else:
        interior[1:-1, 1:-1] = True
    for t in range(len(frames) - 1):
        o, z = recount(frames[t], frames[t + 1], TOTALISTIC.orbit_of, 18, interior)
        ones += o
        zeros += z
    got_ones, got_zeros = count_transitions(trajectory, TOTALISTIC.orbit_of, 18)
    np.testing.assert_array_equal(got_ones, ones)
    np.testing.assert_array_equal(got_zeros, zeros)
    np.testing.assert_array_equal(engine.ones, ones)
    np.testing.assert_array_equal(engine.zeros, zeros)


def test_noisy_later_frames_are_not_used():
    rule = Rule.parse("B3/S23")
    engine_long, lab = run_engine(rule, noisy(0.05), [Experiment("s", "soup", 8)], seed=3)
    trajectory = lab.trajectories[0]
    ones, zeros = recount(trajectory.initial, trajectory.frames[0], TOTALISTIC.orbit_of, 18)
    np.testing.assert_array_equal(engine_long.ones, ones)
    np.testing.assert_array_equal(engine_long.zeros, zeros)


# -------------------------------------------------------------------------- noise


@pytest.mark.parametrize("seed", range(4))
def test_noisy_log_odds_are_exact(seed):
    p = 0.05
    rule = Rule.random("totalistic", np.random.default_rng(100 + seed))
    engine, lab = run_engine(rule, noisy(p), [SOUP1, SOUP1], seed=seed)
    ones = np.zeros(18, dtype=np.int64)
    zeros = np.zeros(18, dtype=np.int64)
    for trajectory in lab.trajectories:
        o, z = recount(trajectory.initial, trajectory.frames[0], TOTALISTIC.orbit_of, 18)
        ones += o
        zeros += z
    log_odds = (ones - zeros) * math.log((1 - p) / p)
    belief = engine.belief()
    expected = np.exp(-np.logaddexp(0.0, -log_odds))  # the logistic function
    np.testing.assert_allclose(belief.p_one, expected, rtol=1e-9, atol=1e-15)
    assert belief.n_consistent is None
    # bits with strong evidence are right
    strong = np.abs(log_odds) > 10
    assert strong.sum() >= 14
    np.testing.assert_array_equal((belief.p_one[strong] > 0.5), rule.bits[strong] == 1)


def test_noisy_posterior_is_calibrated():
    """Rules drawn from the engine's own prior, small worlds, heavy noise: among bits given
    probability ~x of being 1, a fraction ~x are 1."""
    p = 0.2
    model = noisy(p)
    predicted, truth = [], []
    rng = np.random.default_rng(11)
    experiment = Experiment("s", "soup", 1, density=0.5)
    for i in range(400):
        rule = Rule.random("totalistic", rng)
        engine, _ = run_engine(rule, model, [experiment], world=(5, 5), seed=i)
        predicted.append(engine.belief().p_one)
        truth.append(rule.bits)
    predicted = np.concatenate(predicted)
    truth = np.concatenate(truth).astype(float)
    edges = np.linspace(0, 1, 11)
    checked = 0
    for lo, hi in itertools.pairwise(edges):
        inside = (predicted >= lo) & (predicted < hi) if hi < 1 else (predicted >= lo)
        n = int(inside.sum())
        if n < 100:
            continue
        checked += 1
        mean_p = predicted[inside].mean()
        se = math.sqrt(max(mean_p * (1 - mean_p), 0.01) / n)
        assert abs(truth[inside].mean() - mean_p) < 4.5 * se + 0.02, (lo, hi, n)
    assert checked >= 4
    confident = np.abs(predicted - 0.5) > 0.4999
    assert np.mean((predicted[confident] > 0.5) == (truth[confident] == 1)) > 0.999


# ---------------------------------------------------------------------- isotropic


@pytest.mark.parametrize("seed", range(3))
def test_isotropic_rules_bits_with_evidence_are_right(seed):
    rng = np.random.default_rng(200 + seed)
    rule = Rule.random("isotropic", rng)
    family = FAMILIES["isotropic"]
    experiments = [Experiment(f"s{d}", "soup", 1, density=d) for d in (0.2, 0.35, 0.5, 0.65, 0.8)]
    engine, lab = run_engine(rule, full(), experiments, family="isotropic", seed=seed)
    ones = np.zeros(family.n_bits, dtype=np.int64)
    zeros = np.zeros(family.n_bits, dtype=np.int64)
    for trajectory in lab.trajectories:
        o, z = recount(trajectory.initial, trajectory.frames[0], family.orbit_of, family.n_bits)
        ones += o
        zeros += z
    np.testing.assert_array_equal(engine.ones, ones)
    np.testing.assert_array_equal(engine.zeros, zeros)
    assert not np.any((ones > 0) & (zeros > 0))  # noise-free data never contradict
    belief = engine.belief()
    seen = (ones + zeros) > 0
    assert seen.sum() > 80  # most of the 102 bits
    np.testing.assert_array_equal(belief.determined, seen)
    np.testing.assert_array_equal(belief.p_one[seen], rule.bits[seen])
    np.testing.assert_array_equal(belief.p_one[~seen], 0.5)
    assert belief.n_consistent == 2 ** int((~seen).sum())
    assert belief.map_rule.family == "isotropic"


def test_isotropic_rules_with_noise():
    rng = np.random.default_rng(300)
    rule = Rule.random("isotropic", rng)
    experiments = [Experiment(f"s{d}", "soup", 1, density=d) for d in (0.3, 0.5, 0.7)] * 2
    engine, _ = run_engine(rule, noisy(0.05), experiments, family="isotropic", seed=5)
    belief = engine.belief()
    confident = belief.confidence > 1 - 1e-6
    assert confident.sum() > 60
    np.testing.assert_array_equal(belief.p_one[confident] > 0.5, rule.bits[confident] == 1)


def test_data_outside_the_family_are_inconsistent():
    """A non-totalistic hidden rule seen through the totalistic family: some bit is seen
    both 0 and 1, so no rule of the family is consistent and that bit stays at 0.5."""
    rule = Rule.parse(NAMED_RULES["tlife"])
    engine, _ = run_engine(rule, full(), [SOUP1])
    conflict = (engine.ones > 0) & (engine.zeros > 0)
    assert conflict.any()
    belief = engine.belief()
    assert belief.n_consistent == 0
    np.testing.assert_array_equal(belief.p_one[conflict], 0.5)


# -------------------------------------------------------------------- unsupported


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (strided(2), r"strided\(2\)"),
        (strided(3) + noisy(0.1), r"strided\(3\)"),
        (stats(0.3), r"stats"),
        (stats(0.3) + window(5, 5), r"stats"),
    ],
)
def test_unsupported_observations_are_refused(model, reason):
    space = RuleSpace.of("totalistic")
    assert ExactEngine.unsupported(space, model) is not None
    with pytest.raises(ValueError, match=reason):
        ExactEngine(space, model)
    with pytest.raises(ValueError, match=reason):
        make_engine("exact", space, model)
    with pytest.raises(ValueError, match=reason):
        RuleDiscoveryEnv(
            world=(20, 20), observation=model, inference="exact", menu=[Experiment("s", "soup", 6)]
        )


@pytest.mark.parametrize("model", [full(), noisy(0.3), window(4, 4) + noisy(0.1)])
def test_supported_observations(model):
    assert ExactEngine.unsupported(RuleSpace.of("isotropic"), model) is None


def test_engine_registry():
    assert engine_class("exact") is ExactEngine
    assert set(ENGINES) >= {"exact", "exhaustive", "search"}
    with pytest.raises(ValueError, match="'bayes'"):
        engine_class("bayes")


# ---------------------------------------------------------------------- known bits


def test_known_bits_are_respected():
    known = {"B3": 1, "S2": 1, "S3": 1, 0: 0}
    space = RuleSpace.of("totalistic", known)
    assert space.n_free == 14
    engine = ExactEngine(space, full())
    belief = engine.belief()
    assert belief.p_one.shape == (14,)
    assert belief.map_rule == Rule.parse("B3/S23")  # the known bits, every free bit 0
    assert belief.n_consistent == 2**14
    highlife = Rule.parse("B36/S23")
    engine, _ = run_engine(highlife, full(), [SOUP1], known=known)
    belief = engine.belief()
    assert belief.map_rule == highlife
    assert belief.p_one.shape == (14,)


def test_known_bits_win_over_data():
    """A known bit is not a free bit: what the data say about it does not move the MAP rule."""
    known = {"B3": 0}
    engine, _ = run_engine(Rule.parse("B3/S23"), full(), [SOUP1], known=known)
    belief = engine.belief()
    assert belief.map_rule.bits[3] == 0
    assert belief.map_rule == Rule.parse("B/S23")


# ----------------------------------------------------------------------- absorb_test


def test_absorb_test_without_data():
    space = RuleSpace.of("totalistic")
    engine = ExactEngine(space, noisy(0.1))
    engine.absorb_test(4, 3.0)
    belief = engine.belief()
    assert belief.p_one[4] == pytest.approx(1 / (1 + math.exp(-3.0)))
    assert belief.determined[4]
    assert belief.determined.sum() == 1
    # a later test of the same bit replaces the earlier one
    engine.absorb_test(4, -2.0)
    assert engine.belief().p_one[4] == pytest.approx(1 / (1 + math.exp(2.0)))
    # NaN (nothing to compare) counts as no evidence
    engine.absorb_test(4, float("nan"))
    assert engine.belief().p_one[4] == 0.5
    assert not engine.belief().determined[4]
    engine.absorb_test(5, float("inf"))
    assert engine.belief().p_one[5] == 1.0
    assert engine.belief().map_rule.bits[5] == 1


def test_absorb_test_adds_to_counted_evidence():
    p = 0.2
    rule = Rule.parse("B3/S23")
    engine, _ = run_engine(rule, noisy(p), [Experiment("s", "soup", 1)], world=(6, 6), seed=1)
    counted = (engine.ones - engine.zeros) * math.log((1 - p) / p)
    engine.absorb_test(7, 1.5)
    expected = 1 / (1 + math.exp(-(counted[7] + 1.5)))
    assert engine.belief().p_one[7] == pytest.approx(expected)


def test_absorb_test_counts_in_n_consistent_at_p_zero():
    engine = ExactEngine(RuleSpace.of("totalistic"), full())
    assert engine.belief().n_consistent == 2**18
    engine.absorb_test(0, -np.inf)
    belief = engine.belief()
    assert belief.n_consistent == 2**17
    assert belief.p_one[0] == 0.0
