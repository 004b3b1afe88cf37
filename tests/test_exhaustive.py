"""Tests of the exhaustive engine (lifegym.inference.exhaustive and its kernels).

The reference for every log-likelihood is ``lifegym.likelihood.trajectory_loglik``, which
simulates one rule with ``lifegym.simulate``; the reference for the multi-rule simulation
is ``lifegym.simulate`` itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym import simulate
from lifegym.inference import _multirule as mr
from lifegym.inference import exhaustive as ex
from lifegym.inference import make_engine, sparse_sums
from lifegym.inference.exhaustive import (
    DEFAULT_MARGIN,
    ExhaustiveEngine,
    RuleScores,
    packed_words,
    pattern_classes,
    totalistic_logliks,
)
from lifegym.likelihood import trajectory_loglik
from lifegym.observe import ObservationModel, full, noisy, stats, strided, window
from lifegym.rules import Rule
from lifegym.types import RuleSpace, VisibleTrajectory

FULL_SPACE = RuleSpace.of("totalistic")
# 12 free bits (4096 rules): big enough to prune (more than 256 rules), small enough to
# score every rule completely for comparison.
SMALL_SPACE = RuleSpace.of("totalistic", {"B0": 0, "B7": 0, "B8": 0, "S0": 0, "S7": 1, "S8": 1})


def make_trajectory(
    rule: Rule | str, init: np.ndarray, steps: int, model: ObservationModel, seed: int
) -> VisibleTrajectory:
    """Simulate ``rule`` from ``init`` and observe it through ``model``."""
    frames = simulate(rule, init, steps)
    times, seen, seen_stats = model.observe(frames, np.random.default_rng(seed))
    return VisibleTrajectory(
        experiment="custom",
        initial=init,
        steps=steps,
        times=times,
        frames=seen,
        stats=seen_stats,
        model=model,
        cost=0,
    )


def soup(shape: tuple[int, int], density: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(shape) < density).astype(np.uint8)


def rule_of(space: RuleSpace, index: int) -> Rule:
    return space.rule((int(index) >> np.arange(space.n_free)) & 1)


def index_of(space: RuleSpace, rule: Rule | str) -> int:
    rule = rule if isinstance(rule, Rule) else Rule.parse(rule, "totalistic")
    bits = space.free_values(rule).astype(np.int64)
    return int((bits << np.arange(space.n_free)).sum())


def reference(space: RuleSpace, index: int, trajectories: list[VisibleTrajectory]) -> float:
    rule = rule_of(space, index)
    return sum(trajectory_loglik(rule, t, from_time=1)[0] for t in trajectories)


def sample_rules(space: RuleSpace, true_rule: str, rng: np.random.Generator) -> np.ndarray:
    """The true rule, every single-bit near miss and some random rules."""
    true = index_of(space, true_rule)
    near = [true ^ (1 << i) for i in range(space.n_free)]
    random = rng.integers(0, 1 << space.n_free, 12)
    return np.unique(np.array([true, *near, *random], dtype=np.int64))


def assert_matches_reference(
    scores: RuleScores, trajectories: list[VisibleTrajectory], indices: np.ndarray
) -> None:
    """Exact entries equal the reference; dropped entries bound it and are below the best
    exact log-likelihood minus the margin."""
    best = scores.loglik[scores.exact].max()
    for index in indices:
        expected = reference(scores.space, index, trajectories)
        got = scores.loglik[index]
        if scores.exact[index]:
            if math.isinf(expected):
                assert got == expected
            else:
                assert got == pytest.approx(expected, rel=1e-6, abs=1e-9)
        else:
            assert got < best - scores.margin
            assert expected <= got + (1e-6 * abs(got) if math.isfinite(got) else 0.0)


# ------------------------------------------------------------------------------ kernel


@settings(max_examples=30, deadline=None)
@given(
    shape=st.sampled_from([(1, 1), (1, 9), (2, 3), (5, 7), (37, 70), (64, 64), (3, 130)]),
    steps=st.integers(1, 6),
    density=st.sampled_from([0.1, 0.35, 0.5, 0.8]),
    seed=st.integers(0, 2**32 - 1),
)
def test_group_trajectories_match_simulate(
    shape: tuple[int, int], steps: int, density: float, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    init = (rng.random(shape) < density).astype(np.uint8)
    rules = rng.integers(0, 1 << 18, 64)
    states = mr.simulate_group(packed_words(FULL_SPACE, rules)[0], pattern_classes(init), steps)
    for lane, index in enumerate(rules):
        got = ((states >> np.uint64(lane)) & np.uint64(1)).astype(np.uint8)
        np.testing.assert_array_equal(got, simulate(rule_of(FULL_SPACE, index), init, steps)[1:])


def test_pattern_classes() -> None:
    init = soup((6, 5), 0.5, 3)
    classes = pattern_classes(init)
    for r in range(6):
        for c in range(5):
            around = sum(
                init[(r + dr) % 6, (c + dc) % 5]
                for dr in (-1, 0, 1)
                for dc in (-1, 0, 1)
                if dr or dc
            )
            assert classes[r, c] == 9 * init[r, c] + around


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.sampled_from([0.0, 1.0, 2.5, -np.inf, np.nan]), max_size=90))
def test_top_k(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    key = np.where(np.isnan(array), -np.inf, array)
    order = np.lexsort((np.arange(len(array)), np.isnan(array), -key))
    for k in (0, 1, 5, 64):
        assert mr.top_k(array, k).tolist() == sorted(order[:k].tolist())


@settings(max_examples=60, deadline=None)
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from([0.0, 1.0, 2.5, -40.0, -np.inf, np.nan]), st.booleans(), st.booleans()
        ),
        max_size=90,
    ),
    floor=st.sampled_from([-np.inf, -40.0, 0.5, 2.5]),
)
def test_pruning_bookkeeping_matches_numpy(
    entries: list[tuple[float, bool, bool]], floor: float
) -> None:
    """The one-pass kernels do what the numpy expressions they replace did."""
    values = np.array([v for v, _, _ in entries], dtype=np.float64)
    exact_before = np.array([e for _, e, _ in entries], dtype=bool)
    done = np.array([d for _, _, d in entries], dtype=bool)
    candidates = np.flatnonzero(exact_before)
    for k in (0, 1, 5, 64):
        expected = candidates[mr.top_k(values[candidates], k)]
        np.testing.assert_array_equal(mr.top_k_where(values, exact_before, k), expected)
    with np.errstate(invalid="ignore"):
        active = np.flatnonzero((values >= floor) & ~done)
    exact = exact_before.copy()
    exact[~done] = False
    exact[active] = exact_before[active]
    got = np.empty_like(exact)
    np.testing.assert_array_equal(mr.still_in_reach(values, floor, done, exact_before, got), active)
    np.testing.assert_array_equal(got, exact)
    # Revival and posterior support (log-likelihoods hold no NaN: -inf at worst).
    loglik = np.where(np.isnan(values), -np.inf, values)
    best = loglik[exact_before].max() if exact_before.any() else -np.inf
    with np.errstate(invalid="ignore"):
        revive = np.flatnonzero(~exact_before & (loglik >= best - 40.0))
    got_best, got_revive, got_support = mr.revival_candidates(loglik, exact_before, 40.0, 800.0)
    assert got_best == best
    np.testing.assert_array_equal(got_revive, revive)
    ref_best, ref_support = sparse_sums.posterior_support(loglik, exact_before, 800.0)
    assert ref_best == got_best
    np.testing.assert_array_equal(got_support, ref_support)
    # Dropping rules: the scatter the numpy indexing did.
    rules = np.flatnonzero(done)
    bounds = np.arange(len(rules), dtype=np.float64) - 7.0
    dropped = bounds < -3.0
    want_loglik, want_exact = loglik.copy(), exact_before.copy()
    want_loglik[rules[dropped]] = bounds[dropped]
    want_exact[rules[dropped]] = False
    got_loglik, got_exact = loglik.copy(), exact_before.copy()
    mr.drop_rules(got_loglik, got_exact, rules, bounds, dropped)
    np.testing.assert_array_equal(got_loglik, want_loglik)
    np.testing.assert_array_equal(got_exact, want_exact)


def test_prior_belief_is_shared_but_not_its_arrays() -> None:
    """The prior is computed once per rule space; engines hand out copies of it."""
    model = noisy(0.05)
    first = ExhaustiveEngine(FULL_SPACE, model).belief()
    first.p_one[:] = 0.9
    first.determined[:] = True
    again = ExhaustiveEngine(FULL_SPACE, model).belief()
    np.testing.assert_array_equal(again.p_one, np.full(FULL_SPACE.n_free, 0.5))
    assert not again.determined.any()
    fresh = ExhaustiveEngine(FULL_SPACE, model)._posterior()
    np.testing.assert_array_equal(again.p_one, fresh.p_one)
    assert (again.entropy, again.n_consistent, again.map_rule) == (
        fresh.entropy,
        fresh.n_consistent,
        fresh.map_rule,
    )


def test_threads_give_the_same_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    trajectory = make_trajectory("B3/S23", soup((20, 20), 0.5, 1), 4, noisy(0.05), 1)
    prep = ex._prepare(trajectory)
    words = ex.structured_words(FULL_SPACE)[:64]
    monkeypatch.setattr(ex, "_PARALLEL_MIN_WORK", 1 << 62)
    serial = ex._run(prep, words, 4, 20)
    monkeypatch.setattr(ex, "_PARALLEL_MIN_WORK", 0)
    threaded = ex._run(prep, words, 4, 20)
    np.testing.assert_array_equal(serial[0], threaded[0])
    np.testing.assert_array_equal(serial[1], threaded[1])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, (1 << 12) - 1), min_size=1, max_size=300, unique=True))
def test_packed_words_hold_the_rules_of_the_regular_layout(chosen: list[int]) -> None:
    """Lane j of packed group k is rule ``rules[64 k + j]`` (the last rule repeated), bit
    for bit as in the regular layout, where lane j of group g is rule 64 g + j."""
    rules = np.array(sorted(chosen), dtype=np.int64)
    packed = ex.packed_words(SMALL_SPACE, rules)
    regular = ex.structured_words(SMALL_SPACE)
    assert packed.shape == (-(-len(rules) // 64), 18)
    lanes = np.arange(64, dtype=np.uint64)
    padded = np.concatenate([rules, np.full(64 * len(packed) - len(rules), rules[-1])])
    for k, rule in enumerate(padded):
        group, lane = divmod(int(rule), 64)
        expected = (regular[group] >> lanes[lane]) & np.uint64(1)
        got = (packed[k // 64] >> lanes[k % 64]) & np.uint64(1)
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("model", ["noisy", "strided+noisy", "stats", "window+stats+strided"])
@pytest.mark.parametrize("first_scored", [1, 2, 3])
def test_resumed_scores_equal_scores_from_the_start(model: str, first_scored: int) -> None:
    """Frames scored before are simulated only, and their terms continue: the same floats,
    and the same groups stopped, as scoring every frame again."""
    models = {
        "noisy": noisy(0.05),
        "strided+noisy": strided(2) + noisy(0.02),
        "stats": stats(0.3),
        "window+stats+strided": window(13, 19) + stats(0.5) + strided(2),
    }
    trajectory = make_trajectory("B36/S23", soup((20, 20), 0.4, 3), 12, models[model], 2)
    prep = ex._prepare(trajectory)
    words = ex.structured_words(FULL_SPACE)[:40]
    rows = prep.region[0]
    n_frames = prep.n_frames
    earlier, complete = ex._run(prep, words, first_scored, rows)
    assert complete.all()
    whole = ex._run(prep, words, n_frames, rows)[0]
    after_next = ex._run(prep, words, first_scored + 1, rows)[0]
    budgets = {
        "none": None,
        "halfway": (earlier + whole) / 2,
        "stop after the last frame not rescored": np.nextafter(earlier, np.inf),
        "stop after the first frame scored": np.nextafter(after_next, np.inf),
    }
    for name, budget in budgets.items():
        fresh = ex._run(prep, words, n_frames, rows, budget=budget)
        resumed = ex._run(
            prep, words, n_frames, rows, budget=budget, first_scored=first_scored,
            scored=earlier,
        )  # fmt: skip
        np.testing.assert_array_equal(fresh[0], resumed[0], err_msg=name)
        np.testing.assert_array_equal(fresh[1], resumed[1], err_msg=name)
    assert not fresh[1].any(), "the last budget should stop every group early"


# ----------------------------------------------------------------------- log-likelihood

MODELS = {
    "full": full(),
    "noisy": noisy(0.05),
    "strided+noisy": strided(3) + noisy(0.02),
    "window": window(11, 17),
    "window+noisy+strided": window(20, 9) + noisy(0.1) + strided(2),
    "stats": stats(0.3),
    "window+stats+strided": window(13, 19) + stats(0.5) + strided(2),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_logliks_match_trajectory_loglik(name: str) -> None:
    model = MODELS[name]
    rule = "B36/S23"
    trajectories = [
        make_trajectory(rule, soup((24, 30), density, seed), 7, model, seed)
        for seed, density in ((1, 0.5), (2, 0.3))
    ]
    scores = RuleScores(FULL_SPACE)
    for trajectory in trajectories:
        scores.add(trajectory)
    assert scores.loglik.shape == (1 << 18,)
    indices = sample_rules(FULL_SPACE, rule, np.random.default_rng(7))
    assert_matches_reference(scores, trajectories, indices)
    assert scores.exact[index_of(FULL_SPACE, rule)]


@pytest.mark.parametrize("name", ["noisy", "window", "window+stats+strided"])
def test_unpruned_logliks_match_trajectory_loglik(name: str) -> None:
    model = MODELS[name]
    trajectory = make_trajectory("B3/S23", soup((24, 30), 0.4, 5), 5, model, 5)
    logliks = totalistic_logliks(SMALL_SPACE, [trajectory], prune=False)
    assert logliks.shape == (1 << SMALL_SPACE.n_free,)
    indices = sample_rules(SMALL_SPACE, "B3/S2378", np.random.default_rng(2))
    for index in indices:
        expected = reference(SMALL_SPACE, index, [trajectory])
        if math.isinf(expected):
            assert logliks[index] == expected
        else:
            assert logliks[index] == pytest.approx(expected, rel=1e-6, abs=1e-9)


# --------------------------------------------------------------------------- pruning


def beliefs_agree(pruned: ExhaustiveEngine, unpruned: ExhaustiveEngine) -> None:
    a, b = pruned.belief(), unpruned.belief()
    np.testing.assert_allclose(a.p_one, b.p_one, rtol=0, atol=1e-9)
    assert a.entropy == pytest.approx(b.entropy, rel=1e-9, abs=1e-9)
    assert a.n_consistent == b.n_consistent
    assert a.map_rule == b.map_rule
    np.testing.assert_array_equal(a.determined, b.determined)


@pytest.mark.parametrize(
    ("space", "model", "shape", "steps"),
    [
        (SMALL_SPACE, noisy(0.1) + strided(2), (20, 20), 6),
        (SMALL_SPACE, stats(0.4), (16, 24), 6),
        (SMALL_SPACE, window(8, 12) + noisy(0.2), (16, 16), 4),
        (FULL_SPACE, noisy(0.05), (14, 14), 3),
        (FULL_SPACE, stats(0.3), (12, 12), 3),
    ],
)
def test_pruned_and_unpruned_posteriors_agree(
    space: RuleSpace, model: ObservationModel, shape: tuple[int, int], steps: int
) -> None:
    pruned = ExhaustiveEngine(space, model)
    unpruned = ExhaustiveEngine(space, model, prune=False)
    for seed, density in ((11, 0.5), (12, 0.25)):
        trajectory = make_trajectory("B36/S2378", soup(shape, density, seed), steps, model, seed)
        pruned.update(trajectory)
        unpruned.update(trajectory)
        assert unpruned.exact.all()
        exact = pruned.exact
        np.testing.assert_allclose(pruned.loglik[exact], unpruned.loglik[exact], rtol=1e-12)
        best = unpruned.loglik.max()
        assert np.all(pruned.loglik[~exact] < best - DEFAULT_MARGIN)
        assert np.all(unpruned.loglik[~exact] <= pruned.loglik[~exact] + 1e-9)
        beliefs_agree(pruned, unpruned)


def test_revived_rules_are_scored_exactly() -> None:
    """Data from two different rules: rules dropped after the first trajectory come back
    within reach after the second and must be re-scored over both."""
    model = noisy(0.2)
    rng = np.random.default_rng(1)
    trajectories = [
        make_trajectory(rule, (rng.random((12, 12)) < 0.4).astype(np.uint8), 2, model, seed)
        for seed, rule in enumerate(("B3/S23", "B36/S23"))
    ]
    pruned = RuleScores(FULL_SPACE, margin=10.0)
    for trajectory in trajectories:
        pruned.add(trajectory)
    assert pruned.last_update["revived"] > 0
    unpruned = totalistic_logliks(FULL_SPACE, trajectories, prune=False)
    exact = pruned.exact
    np.testing.assert_allclose(pruned.loglik[exact], unpruned[exact], rtol=1e-12)
    assert np.all(unpruned[~exact] <= pruned.loglik[~exact] + 1e-9)
    assert np.all(pruned.loglik[~exact] < unpruned.max() - 10.0)


def test_incremental_updates_equal_one_batch() -> None:
    model = strided(2) + noisy(0.05)
    trajectories = [
        make_trajectory("B3/S23", soup((18, 22), density, seed), 6, model, seed)
        for seed, density in ((21, 0.5), (22, 0.3), (23, 0.15))
    ]
    per_trajectory = sum(
        totalistic_logliks(SMALL_SPACE, [trajectory], prune=False) for trajectory in trajectories
    )
    batch = totalistic_logliks(SMALL_SPACE, trajectories, prune=False)
    np.testing.assert_allclose(batch, per_trajectory, rtol=1e-12)
    engine = ExhaustiveEngine(SMALL_SPACE, model)
    for trajectory in trajectories:
        engine.update(trajectory)
    exact = engine.exact
    np.testing.assert_allclose(engine.loglik[exact], batch[exact], rtol=1e-12)
    assert np.all(engine.loglik[~exact] < batch.max() - DEFAULT_MARGIN)


# ------------------------------------------------------------------------ the engine


@pytest.mark.parametrize("rule", ["B3/S23", "B36/S23", "B1357/S1357", "B0125/S0236"])
def test_full_observation_identifies_the_rule(rule: str) -> None:
    engine = make_engine("exhaustive", FULL_SPACE, full())
    engine.update(make_trajectory(rule, soup((64, 64), 0.5, 4), 3, full(), 4))
    belief = engine.belief()
    assert belief.map_rule == Rule.parse(rule, "totalistic")
    assert belief.n_consistent == 1
    assert belief.determined.all()
    assert belief.entropy == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(belief.p_one, FULL_SPACE.free_values(belief.map_rule))


def test_map_index_breaks_exact_ties_towards_b0_clear() -> None:
    loglik = np.array([-3.0, -1.0, -1.0, -2.0])
    assert ex.map_index(loglik, quiescent_bit=0) == 2  # index 1 has bit 0 set
    assert ex.map_index(loglik, quiescent_bit=1) == 1
    assert ex.map_index(loglik, quiescent_bit=None) == 1
    assert ex.map_index(np.array([-1.0, -1.0 - 1e-6]), quiescent_bit=0) == 0  # not a tie
    assert ex.map_index(np.array([-1.5, -1.0]), quiescent_bit=0) == 1  # evidence wins
    assert ex.map_index(np.array([-np.inf, -np.inf]), quiescent_bit=0) == 0


@pytest.mark.parametrize("rule", ["B3678/S34678", "B1357/S02468", "B5678/S45678"])
def test_stride_two_twins_resolve_to_the_quiescent_rule(rule: str) -> None:
    # A self-complementary rule and its complement (every bit flipped) agree at even
    # steps: the posterior is split exactly in two, and the MAP rule is the B0-free one.
    hidden = Rule.parse(rule, "totalistic")
    twin = FULL_SPACE.rule(1 - FULL_SPACE.free_values(hidden))
    init = soup((48, 48), 0.5, 7)
    np.testing.assert_array_equal(simulate(hidden, init, 4)[::2], simulate(twin, init, 4)[::2])
    engine = make_engine("exhaustive", FULL_SPACE, strided(2))
    engine.update(make_trajectory(twin, init, 8, strided(2), 1))
    engine.update(make_trajectory(hidden, soup((48, 48), 0.3, 8), 8, strided(2), 2))
    belief = engine.belief()
    assert belief.entropy == pytest.approx(1.0) and belief.n_consistent == 2
    assert belief.map_rule == hidden and "B0" not in str(hidden)


def test_noise_free_consistent_rules_are_counted() -> None:
    """On a sparse soup some bits are never exercised: every rule reproducing the frames
    counts as consistent, and those bits stay at 0.5 and undetermined."""
    trajectory = make_trajectory("B3/S23", soup((10, 10), 0.2, 8), 2, full(), 8)
    engine = ExhaustiveEngine(FULL_SPACE, full())
    engine.update(trajectory)
    belief = engine.belief()
    logliks = totalistic_logliks(FULL_SPACE, [trajectory], prune=False)
    consistent = np.flatnonzero(logliks == 0.0)
    assert belief.n_consistent == len(consistent) > 1
    assert belief.entropy == pytest.approx(math.log2(len(consistent)), abs=1e-9)
    varying = np.bitwise_or.reduce(consistent ^ consistent[0])
    for i in range(18):
        if (varying >> i) & 1:
            assert belief.p_one[i] == pytest.approx(0.5, abs=1e-12)
            assert not belief.determined[i]
        else:
            assert belief.p_one[i] == float((consistent[0] >> i) & 1)
            assert belief.determined[i]
    assert index_of(FULL_SPACE, belief.map_rule) == consistent[0]


def test_known_bits_are_respected() -> None:
    space = RuleSpace.of("totalistic", {"B0": 0, "B1": 0, "S8": 1, "B8": 0})
    model = noisy(0.05) + strided(2)
    trajectory = make_trajectory("B36/S238", soup((20, 26), 0.45, 9), 6, model, 9)
    engine = ExhaustiveEngine(space, model)
    engine.update(trajectory)
    assert engine.loglik.shape == (1 << 14,)
    for index in (0, 5, 1 << 13, (1 << 14) - 1):
        rule = engine.rule(index)
        assert space.contains(rule)
        np.testing.assert_array_equal(space.free_values(rule), (index >> np.arange(14)) & 1)
    belief = engine.belief()
    assert belief.p_one.shape == (14,)
    assert belief.map_rule == Rule.parse("B36/S238", "totalistic")
    assert_matches_reference(
        engine.scores, [trajectory], sample_rules(space, "B36/S238", np.random.default_rng(3))
    )


def test_tiny_space_is_scored_completely() -> None:
    known = {name: 0 for name in ("B0", "B1", "B2", "B4", "B5", "B6", "B7", "B8", "S0", "S1")}
    space = RuleSpace.of("totalistic", {**known, "B3": 1, "S2": 1, "S3": 1})
    trajectory = make_trajectory("B3/S23", soup((16, 16), 0.5, 2), 4, noisy(0.1), 2)
    engine = ExhaustiveEngine(space, noisy(0.1))
    engine.update(trajectory)
    assert engine.loglik.shape == (32,)
    assert engine.exact.all()
    for index in range(32):
        assert engine.loglik[index] == pytest.approx(reference(space, index, [trajectory]))
    assert engine.belief().map_rule == Rule.parse("B3/S23")


def test_belief_without_data() -> None:
    engine = ExhaustiveEngine(SMALL_SPACE, full())
    belief = engine.belief()
    np.testing.assert_array_equal(belief.p_one, np.full(12, 0.5))
    assert belief.entropy == 12.0
    assert belief.n_consistent == 1 << 12
    assert not belief.determined.any()
    assert belief.map_rule == SMALL_SPACE.rule(np.zeros(12, dtype=np.uint8))
    # A run too short for any observed frame changes nothing.
    engine.update(make_trajectory("B3/S23", soup((8, 8), 0.5, 1), 1, strided(2), 1))
    assert engine.belief().entropy == 12.0
    assert engine.scores.last_update["frames"] == 0


def test_unsupported_families() -> None:
    isotropic = RuleSpace.of("isotropic")
    assert ExhaustiveEngine.unsupported(isotropic, full())
    assert ExhaustiveEngine.unsupported(FULL_SPACE, stats(0.3)) is None
    with pytest.raises(ValueError, match="exhaustive"):
        make_engine("exhaustive", isotropic, full())
