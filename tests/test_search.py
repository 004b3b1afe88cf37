"""Tests of the ``search`` inference engine (lifegym.inference.search).

Recovery rates measured while writing these tests (random isotropic rules, 60x60 worlds,
16 steps): full observation and noisy(0.05) on 3 dense soups, 10/10 seeds; strided(2) +
noisy(0.01) on 7 soups of densities 0.05 ... 0.95, 8/8 seeds (on 3 soups of density 0.5
only, 7/8: dense soups alone make the two-step problem much harder). The floors asserted
below are lower so that the tests check the method, not the luck of a seed.
"""

from __future__ import annotations

import numpy as np
import pytest

import lifegym
from lifegym import observe as ob
from lifegym.families import get_family
from lifegym.inference.base import probabilities_from_log_odds
from lifegym.inference.search import SearchEngine
from lifegym.likelihood import compare
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

WORLD = (60, 60)
STEPS = 16
MIXED_DENSITIES = (0.05, 0.95, 0.2, 0.8, 0.35, 0.65, 0.5)


def _random_rule(family: str, rng: np.random.Generator) -> tuple[Rule, np.ndarray]:
    fam = get_family(family)
    bits = rng.integers(0, 2, fam.n_bits).astype(np.uint8)
    return Rule.from_bits(bits, fam), bits


def _trajectory(
    rule: Rule,
    model: ob.ObservationModel,
    rng: np.random.Generator,
    density: float = 0.5,
    steps: int = STEPS,
    shape: tuple[int, int] = WORLD,
) -> VisibleTrajectory:
    init = (rng.random(shape) < density).astype(np.uint8)
    frames = lifegym.simulate(rule, init, steps)
    times, obs_frames, obs_stats = model.observe(frames, rng)
    return VisibleTrajectory(
        experiment="custom", initial=init, steps=steps, times=times, frames=obs_frames,
        stats=obs_stats, model=model, cost=0,
    )  # fmt: skip


def _engine(space: RuleSpace, model: ob.ObservationModel, trajectories, **kwargs) -> SearchEngine:
    engine = SearchEngine(space, model, **kwargs)
    for trajectory in trajectories:
        engine.update(trajectory)
    return engine


def _occurring_bits(rule: Rule, trajectories) -> np.ndarray:
    """Bits (family order) whose patterns occur in the rule's runs before the last observed
    step, computed with numpy from lifegym.simulate (independently of the engine)."""
    fam = rule.family
    seen = np.zeros(fam.n_bits, dtype=bool)
    weights = 1 << (8 - np.arange(9))
    for trajectory in trajectories:
        frames = lifegym.simulate(rule, trajectory.initial, int(trajectory.times[-1]))
        for frame in frames[:-1].astype(np.int64):
            index = np.zeros_like(frame)
            for k, (dr, dc) in enumerate((r, c) for r in (-1, 0, 1) for c in (-1, 0, 1)):
                index += weights[k] * np.roll(frame, (-dr, -dc), axis=(0, 1))
            seen[np.asarray(fam.orbit_of)[index.ravel()]] = True
    return seen


def _recovered(engine: SearchEngine, bits: np.ndarray) -> bool:
    belief = engine.belief()
    found = engine.space.free_values(belief.map_rule)
    truth = bits[engine.space.free_bits]
    return bool(np.all(found[belief.determined] == truth[belief.determined]))


# ------------------------------------------------------------------------------ belief


def test_no_data_belief() -> None:
    space = RuleSpace.of("isotropic")
    belief = SearchEngine(space, ob.full()).belief()
    assert isinstance(belief, Belief)
    assert belief.p_one.shape == (102,) and belief.p_one.dtype == np.float64
    assert np.all(belief.p_one == 0.5)
    assert belief.determined.shape == (102,) and belief.determined.dtype == bool
    assert not belief.determined.any()
    assert belief.entropy == pytest.approx(102.0)
    assert belief.n_consistent is None
    assert np.all(space.free_values(belief.map_rule) == 0)


def test_name_and_counter() -> None:
    rng = np.random.default_rng(3)
    rule, _ = _random_rule("isotropic", rng)
    engine = SearchEngine(RuleSpace.of("isotropic"), ob.noisy(0.05))
    assert engine.name == "search"
    assert engine.simulated_cell_steps == 0
    engine.update(_trajectory(rule, ob.noisy(0.05), rng))
    assert isinstance(engine.simulated_cell_steps, int)
    assert engine.simulated_cell_steps >= WORLD[0] * WORLD[1] * STEPS


# -------------------------------------------------------------------------- full data


@pytest.mark.parametrize("seed", [0, 1])
def test_full_observation_recovers_the_determined_bits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rule, bits = _random_rule("isotropic", rng)
    model = ob.full()
    trajectories = [_trajectory(rule, model, rng) for _ in range(3)]
    engine = _engine(RuleSpace.of("isotropic"), model, trajectories)
    belief = engine.belief()
    occurring = _occurring_bits(rule, trajectories)
    assert np.array_equal(belief.determined, occurring)
    assert np.array_equal(belief.p_one[occurring], bits[occurring].astype(float))
    assert np.all(belief.p_one[~occurring] == 0.5)
    assert _recovered(engine, bits)
    assert compare(belief.map_rule, trajectories).loglik == 0.0


def test_sparse_data_leaves_bits_undetermined() -> None:
    rng = np.random.default_rng(11)
    rule, bits = _random_rule("isotropic", rng)
    bits[0] = 0  # no birth on an empty neighbourhood: the sparse soup stays sparse
    rule = Rule.from_bits(bits, "isotropic")
    model = ob.full()
    trajectories = [_trajectory(rule, model, rng, density=0.03, steps=2)]
    engine = _engine(RuleSpace.of("isotropic"), model, trajectories)
    belief = engine.belief()
    occurring = _occurring_bits(rule, trajectories)
    assert 0 < occurring.sum() < 102
    assert np.array_equal(belief.determined, occurring)
    assert np.array_equal(belief.p_one[occurring], bits[occurring].astype(float))
    assert np.all(belief.p_one[~occurring] == 0.5)
    assert belief.entropy == pytest.approx(float((~occurring).sum()))


# ------------------------------------------------------------------------- noisy data


def test_noisy_observation_recovers_random_rules() -> None:
    model = ob.noisy(0.05)
    recovered = 0
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        rule, bits = _random_rule("isotropic", rng)
        trajectories = [_trajectory(rule, model, rng) for _ in range(3)]
        engine = _engine(RuleSpace.of("isotropic"), model, trajectories)
        recovered += _recovered(engine, bits)
        belief = engine.belief()
        # Confident where right: the log-odds of a wrong value would be very negative.
        determined = belief.determined
        assert np.all(belief.confidence[determined] > 0.99)
    assert recovered >= 3


def test_strided_noisy_observation_recovers_random_rules() -> None:
    model = ob.strided(2) + ob.noisy(0.01)
    recovered = 0
    for seed in range(4):
        rng = np.random.default_rng(200 + seed)
        rule, bits = _random_rule("isotropic", rng)
        trajectories = [_trajectory(rule, model, rng, density=d) for d in MIXED_DENSITIES]
        engine = _engine(RuleSpace.of("isotropic"), model, trajectories)
        recovered += _recovered(engine, bits)
    assert recovered >= 3


@pytest.mark.parametrize("rule_text", ["B3/S23", "B36/S125", "random"])
def test_totalistic_family(rule_text: str) -> None:
    rng = np.random.default_rng(7)
    if rule_text == "random":
        rule, bits = _random_rule("totalistic", rng)
    else:
        rule = Rule.parse(rule_text)
        bits = get_family("totalistic").bits_from_table(rule.table)
    model = ob.noisy(0.05)
    trajectories = [_trajectory(rule, model, rng, density=d) for d in (0.2, 0.5)]
    engine = _engine(RuleSpace.of("totalistic"), model, trajectories)
    belief = engine.belief()
    assert belief.p_one.shape == (18,)
    assert _recovered(engine, bits)
    assert belief.determined.any()


# ------------------------------------------------------------------ likelihood agreement


@pytest.mark.parametrize(
    "model",
    [
        ob.noisy(0.05),
        ob.window(20, 30) + ob.noisy(0.02) + ob.strided(2),
        ob.strided(3),
        ob.stats(0.3),
        ob.stats(0.2) + ob.window(30, 25) + ob.strided(2),
    ],
    ids=lambda m: m.describe(),
)
def test_loglik_and_log_odds_agree_with_compare(model: ob.ObservationModel) -> None:
    rng = np.random.default_rng(5)
    rule, _ = _random_rule("isotropic", rng)
    trajectories = [_trajectory(rule, model, rng, density=d, shape=(40, 50)) for d in (0.3, 0.6)]
    engine = _engine(RuleSpace.of("isotropic"), model, trajectories, kicks=0)
    belief = engine.belief()
    loglik = compare(belief.map_rule, trajectories).loglik
    assert engine.loglik() == pytest.approx(loglik, rel=1e-9, abs=1e-9)
    space = engine.space
    x = space.free_values(belief.map_rule)
    for index in np.flatnonzero(belief.determined)[:4]:
        one, zero = x.copy(), x.copy()
        one[index], zero[index] = 1, 0
        expected = (
            compare(space.rule(one), trajectories).loglik
            - compare(space.rule(zero), trajectories).loglik
        )
        if np.isnan(expected):
            continue  # noise-free data the MAP fails to explain: -inf - -inf (surrogate used)
        p_one = probabilities_from_log_odds(np.array(expected))
        assert belief.p_one[index] == pytest.approx(float(p_one), rel=1e-9, abs=1e-12)


def test_map_is_a_local_optimum() -> None:
    rng = np.random.default_rng(21)
    rule, _ = _random_rule("isotropic", rng)
    model = ob.stats(0.3)
    trajectories = [_trajectory(rule, model, rng, density=d) for d in (0.3, 0.6)]
    engine = _engine(RuleSpace.of("isotropic"), model, trajectories)
    belief = engine.belief()
    best = compare(belief.map_rule, trajectories).loglik
    x = engine.space.free_values(belief.map_rule)
    for index in range(0, 102, 17):
        y = x.copy()
        y[index] ^= 1
        assert compare(engine.space.rule(y), trajectories).loglik <= best + 1e-9


# ---------------------------------------------------------------------------- details


def test_known_bits_are_respected() -> None:
    rng = np.random.default_rng(4)
    rule, bits = _random_rule("isotropic", rng)
    known = {"B0": int(bits[0]), "S8": int(bits[101]), "B3c": int(bits[9])}
    space = RuleSpace.of("isotropic", known)
    model = ob.noisy(0.05)
    trajectories = [_trajectory(rule, model, rng) for _ in range(2)]
    engine = _engine(space, model, trajectories)
    belief = engine.belief()
    assert belief.p_one.shape == (99,)
    assert belief.determined.shape == (99,)
    assert space.contains(belief.map_rule)
    assert _recovered(engine, bits)
    # A known value the data contradict is still respected.
    wrong = RuleSpace.of("isotropic", {"B3c": 1 - int(bits[9])})
    belief = _engine(wrong, model, trajectories).belief()
    assert wrong.contains(belief.map_rule)


def test_deterministic() -> None:
    rng = np.random.default_rng(9)
    rule, _ = _random_rule("isotropic", rng)
    model = ob.strided(2) + ob.noisy(0.01)
    trajectories = [_trajectory(rule, model, rng, density=d) for d in (0.05, 0.5)]
    first = _engine(RuleSpace.of("isotropic"), model, trajectories, restarts=2).belief()
    second = _engine(RuleSpace.of("isotropic"), model, trajectories, restarts=2).belief()
    assert np.array_equal(first.p_one, second.p_one)
    assert np.array_equal(first.determined, second.determined)
    assert first.map_rule == second.map_rule
    assert first.entropy == second.entropy


def test_absorb_test_flips_a_wrong_bit() -> None:
    rng = np.random.default_rng(13)
    rule, bits = _random_rule("isotropic", rng)
    model = ob.noisy(0.05)
    space = RuleSpace.of("isotropic")
    engine = _engine(space, model, [_trajectory(rule, model, rng)])
    belief = engine.belief()
    index = int(np.flatnonzero(belief.determined)[0])
    value = int(space.free_values(belief.map_rule)[index])
    # The test says the MAP's value of this bit is wrong: the engine flips and holds it.
    log_odds = 8.0 if value == 0 else -8.0
    engine.absorb_test(index, log_odds)
    after = engine.belief()
    assert space.free_values(after.map_rule)[index] == 1 - value
    assert after.p_one[index] == pytest.approx(1.0 / (1.0 + np.exp(-log_odds)))
    assert after.determined[index]
    # A test agreeing with the MAP changes nothing but that bit's log-odds.
    other = int(np.flatnonzero(after.determined)[1])
    other_value = int(space.free_values(after.map_rule)[other])
    engine.absorb_test(other, 3.0 if other_value == 1 else -3.0)
    assert engine.belief().map_rule == after.map_rule
    # New data clear the tests: the search returns to what the data say.
    engine.update(_trajectory(rule, model, rng))
    assert _recovered(engine, bits)


def test_absorb_test_on_an_undetermined_bit() -> None:
    space = RuleSpace.of("isotropic")
    engine = SearchEngine(space, ob.full())
    engine.absorb_test(5, 4.0)
    belief = engine.belief()
    assert space.free_values(belief.map_rule)[5] == 1
    assert belief.determined[5] and belief.determined.sum() == 1
    engine.absorb_test(6, float("nan"))  # no evidence either way: ignored
    engine.absorb_test(7, 0.0)
    assert not engine.belief().determined[6:8].any()
    with pytest.raises(ValueError):
        engine.absorb_test(102, 1.0)


def test_trajectories_without_observed_frames() -> None:
    rng = np.random.default_rng(2)
    rule, _ = _random_rule("isotropic", rng)
    model = ob.strided(4)
    engine = SearchEngine(RuleSpace.of("isotropic"), model)
    engine.update(_trajectory(rule, model, rng, steps=3))  # nothing observed
    belief = engine.belief()
    assert not belief.determined.any()
    assert np.all(belief.p_one == 0.5)
