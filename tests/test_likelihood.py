"""The shared likelihood (lifegym.likelihood): frame and statistics log-likelihoods, replays,
and ``compare`` of the hidden rule against wrong ones."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym import likelihood
from lifegym.experiments import Experiment
from lifegym.lab import Lab
from lifegym.likelihood import (
    COUNT_FIELDS,
    STATS_FLOOR,
    Comparison,
    clean_counts,
    compare,
    expected_statistics,
    frame_loglik,
    replays,
    stats_loglik,
    trajectory_loglik,
)
from lifegym.observe import (
    ObservationModel,
    block_histograms,
    frame_statistics,
    full,
    noisy,
    stats,
    stats_flip_probability,
    strided,
    window,
)
from lifegym.rules import NAMED_RULES, Rule
from lifegym.sim import simulate

LIFE = Rule.parse("B3/S23")
HIGHLIFE = Rule.parse("B36/S23")
SEEDS = Rule.parse("B2/S")
DAY_NIGHT = Rule.parse("B3678/S34678")


def soup(steps: int, density: float = 0.5, name: str | None = None) -> Experiment:
    return Experiment(name or f"soup-{density}x{steps}", "soup", steps, density=density)


def lab_with(
    rule: Rule,
    model: ObservationModel,
    experiments: list[Experiment],
    world: tuple[int, int] = (32, 32),
    seed: int = 0,
) -> Lab:
    lab = Lab(rule, model, world, 10**9, 10**9, np.random.default_rng(seed))
    for experiment in experiments:
        lab.run(experiment)
    return lab


# ----------------------------------------------------------------------- frame_loglik


def test_frame_loglik_with_p_zero_is_zero_or_minus_infinity():
    assert frame_loglik(0, 100, 0.0) == 0.0
    assert frame_loglik(1, 100, 0.0) == -np.inf
    values = frame_loglik(np.array([0, 3, 0, 100]), 100, 0.0)
    np.testing.assert_array_equal(values, [0.0, -np.inf, 0.0, -np.inf])


@pytest.mark.parametrize(
    ("m", "n", "p"), [(0, 50, 0.05), (3, 50, 0.05), (50, 50, 0.2), (7, 9, 0.5)]
)
def test_frame_loglik_values(m, n, p):
    expected = m * math.log(p) + (n - m) * math.log(1 - p)
    assert float(frame_loglik(m, n, p)) == pytest.approx(expected, rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(n=st.integers(1, 10_000), m=st.integers(0, 10_000), p=st.floats(1e-9, 0.5))
def test_frame_loglik_invariants(n, m, p):
    m = min(m, n)
    value = float(frame_loglik(m, n, p))
    assert value <= 0.0
    if p == 0.5:
        assert value == pytest.approx(n * math.log(0.5))
    elif m < n:
        # more mismatches are less likely when p < 1/2 (up to rounding when p ~ 1/2)
        assert float(frame_loglik(m + 1, n, p)) <= value + 1e-12 * abs(value)


# ------------------------------------------------------------------- compare, frames


@pytest.mark.parametrize("model", [full(), window(20, 24)])
def test_compare_noise_free_true_rule_zero_wrong_rule_minus_inf(model):
    lab = lab_with(LIFE, model, [soup(4), soup(2, 0.3)])
    right = compare(LIFE, lab.trajectories)
    assert isinstance(right, Comparison)
    assert right.loglik == 0.0
    assert right.discrepancy == 0.0
    assert right.expected_discrepancy == 0.0
    assert right.cost == sum(t.simulation_cost for t in lab.trajectories)
    assert right.cost == 32 * 32 * (4 + 2)
    wrong = compare(HIGHLIFE, lab.trajectories)
    assert wrong.loglik == -np.inf
    assert wrong.discrepancy > 0


@pytest.mark.parametrize(
    "model", [noisy(0.05), noisy(0.2) + strided(2), noisy(0.1) + window(16, 20), full()]
)
@pytest.mark.parametrize("wrong", [HIGHLIFE, SEEDS, Rule.parse("B3/S234")])
def test_compare_true_rule_beats_a_wrong_rule_on_frames(model, wrong):
    lab = lab_with(LIFE, model, [soup(4), soup(4, 0.35)], seed=1)
    right = compare(LIFE, lab.trajectories)
    other = compare(wrong, lab.trajectories)
    assert right.loglik > other.loglik
    assert right.discrepancy < other.discrepancy
    assert right.expected_discrepancy == model.noise
    # the true rule mismatches about a fraction p of the observed cells
    units = sum(t.frames.size for t in lab.trajectories)
    assert abs(right.discrepancy - model.noise) < 5 * math.sqrt(
        max(model.noise * (1 - model.noise), 1e-12) / units
    )
    for trajectory in lab.trajectories:
        assert trajectory_loglik(LIFE, trajectory)[0] >= trajectory_loglik(wrong, trajectory)[0]


def test_trajectory_loglik_of_frames_by_hand():
    lab = lab_with(LIFE, noisy(0.1), [soup(3)], world=(20, 20), seed=2)
    trajectory = lab.trajectories[0]
    clean = simulate(HIGHLIFE, trajectory.initial, 3)[1:]
    mismatches = int(np.count_nonzero(clean != trajectory.frames))
    loglik, discrepancy, units = trajectory_loglik(HIGHLIFE, trajectory)
    cells = 3 * 20 * 20
    assert units == cells
    assert discrepancy == mismatches
    assert loglik == pytest.approx(
        mismatches * math.log(0.1) + (cells - mismatches) * math.log(0.9)
    )


# -------------------------------------------------------------------- compare, stats


@pytest.mark.parametrize("sigma", [0.3, 0.5])
@pytest.mark.parametrize("wrong", [HIGHLIFE, SEEDS, DAY_NIGHT, Rule.parse("B3/S2")])
def test_compare_true_rule_beats_a_wrong_rule_on_stats(sigma, wrong):
    lab = lab_with(LIFE, stats(sigma), [soup(8), soup(8, 0.3)], world=(40, 40), seed=3)
    right = compare(LIFE, lab.trajectories)
    other = compare(wrong, lab.trajectories)
    assert right.loglik > other.loglik
    assert right.discrepancy < other.discrepancy
    assert right.expected_discrepancy == pytest.approx(math.sqrt(2 / math.pi))
    assert right.loglik <= 0.0
    # right rule: |z| averages about sqrt(2/pi), within a loose factor
    assert right.discrepancy < 2.0


def test_stats_loglik_agrees_with_replays():
    lab = lab_with(LIFE, stats(0.3), [soup(6)], world=(24, 24), seed=4)
    trajectory = lab.trajectories[0]
    clean = simulate(HIGHLIFE, trajectory.initial, 6)
    counts = clean_counts(clean[0], clean[1:], True)
    q = stats_flip_probability(0.3)
    direct = float(stats_loglik(counts, trajectory.stats, 24 * 24, q))
    loglik, _, units = trajectory_loglik(HIGHLIFE, trajectory)
    assert loglik == pytest.approx(direct)
    assert units == 6 * 3
    # broadcasting over a leading axis of rules
    both = stats_loglik(np.stack([counts, counts]), trajectory.stats, 24 * 24, q)
    np.testing.assert_allclose(both, [direct, direct])


def test_clean_counts_fields():
    rng = np.random.default_rng(5)
    initial = (rng.random((9, 10)) < 0.5).astype(np.uint8)
    frames = (rng.random((3, 9, 10)) < 0.5).astype(np.uint8)
    for wrap in (True, False):
        counts = clean_counts(initial, frames, wrap)
        assert counts.shape == (3, len(COUNT_FIELDS)) == (3, 18)
        assert counts.dtype == np.int64
        np.testing.assert_array_equal(counts[:, 0], frames.sum(axis=(1, 2)))
        previous = np.concatenate([initial[None], frames[:-1]])
        np.testing.assert_array_equal(counts[:, 1], (frames != previous).sum(axis=(1, 2)))
        np.testing.assert_array_equal(counts[:, 2:], block_histograms(frames, wrap))
        # with q = 0 the expected statistics are the statistics themselves
        np.testing.assert_allclose(
            expected_statistics(counts, 90, 0.0), frame_statistics(initial, frames, wrap)
        )


# ---------------------------------------------------------------- expected statistics


@pytest.mark.parametrize("sigma", [0.3, 0.5])
@pytest.mark.parametrize(("world", "win"), [((40, 40), None), ((40, 40), (25, 30))])
def test_expected_statistics_match_monte_carlo(sigma, world, win):
    """Density and activity are linear in the perturbed cells: their mean must match within a
    few standard errors. The block entropy is a plug-in estimate, biased low by at most about
    (K - 1) / (2 N ln 2) / 4 (Miller-Madow; K = 16 block types, N blocks), which is small
    against the scale the likelihood scores it with."""
    rng = np.random.default_rng(6)
    initial = (rng.random(world) < 0.4).astype(np.uint8)
    frames = simulate(LIFE, initial, 6)
    model = stats(sigma) if win is None else stats(sigma) + window(*win)
    q = stats_flip_probability(sigma)
    reps = 600
    observed = np.stack([model.observe(frames, rng)[2] for _ in range(reps)])
    mean = observed.mean(axis=0)
    se = observed.std(axis=0, ddof=1) / math.sqrt(reps)
    h, w = model.region(*world)
    counts = clean_counts(frames[0, :h, :w], frames[1:, :h, :w], model.wraps(*world))
    expected = expected_statistics(counts, h * w, q)
    assert expected.shape == (6, 3)
    diff = mean - expected
    assert np.all(np.abs(diff[:, :2]) < 4.5 * se[:, :2] + 1e-12), diff[:, :2] / se[:, :2]
    blocks = h * w if model.wraps(*world) else (h - 1) * (w - 1)
    plug_in_bias = 15 / (2 * blocks * math.log(2)) / 4
    assert np.all(diff[:, 2] < 4.5 * se[:, 2])
    assert np.all(diff[:, 2] > -plug_in_bias - 4.5 * se[:, 2])
    scale = math.sqrt(1 / (h * w) + STATS_FLOOR**2)
    assert np.all(np.abs(diff[:, 2]) < 0.25 * scale)


def test_expected_statistics_first_frame_against_the_exact_initial_state():
    counts = np.zeros((3, 18), dtype=np.int64)
    counts[:, 2] = 100  # 100 empty blocks: no live cell, nothing changed
    q = 0.1
    expected = expected_statistics(counts, 100, q)
    np.testing.assert_allclose(expected[:, 0], q)
    np.testing.assert_allclose(expected[:, 1], [q, 2 * q * (1 - q), 2 * q * (1 - q)])


# --------------------------------------------------------------------------- replays


@pytest.mark.parametrize("model", [noisy(0.1), stats(0.3), full() + strided(2)])
def test_replay_cache_returns_identical_results(model):
    lab = lab_with(LIFE, model, [soup(4), soup(6, 0.3), soup(4, 0.7)], world=(20, 20), seed=7)
    trajectories = lab.trajectories
    first = replays(HIGHLIFE, trajectories)
    second = replays(HIGHLIFE, trajectories)
    for a, b in zip(first, second, strict=True):
        assert a is b
    before = [compare(HIGHLIFE, trajectories), compare(HIGHLIFE, trajectories[::-1])]
    for cache in ("_REPLAYS", "_SCORES"):  # forget every cached replay and score
        if hasattr(likelihood, cache):
            getattr(likelihood, cache).store.clear()
    fresh = replays(HIGHLIFE, trajectories)
    for a, b in zip(first, fresh, strict=True):
        assert a is not b
        np.testing.assert_array_equal(a.initial, b.initial)
        np.testing.assert_array_equal(a.frames, b.frames)
        np.testing.assert_array_equal(a.loglik, b.loglik)
        np.testing.assert_array_equal(a.discrepancy, b.discrepancy)
        assert a.units == b.units
        assert not a.frames.flags.writeable
        assert not a.initial.flags.writeable
    after = [compare(HIGHLIFE, trajectories), compare(HIGHLIFE, trajectories[::-1])]
    assert before == after
    assert before[0].loglik == pytest.approx(before[1].loglik)


@pytest.mark.parametrize(
    "model",
    [noisy(0.1), full(), noisy(0.05) + strided(3), noisy(0.2) + window(11, 13), window(9, 9)],
)
@pytest.mark.parametrize("rule", [HIGHLIFE, SEEDS, LIFE, Rule.parse(NAMED_RULES["tlife"])])
def test_scores_agree_with_replays_frame_by_frame(model, rule):
    """compare / trajectory_loglik may score frames without replaying them; the per-frame
    log-likelihoods and mismatches must be those of the replay."""
    lab = lab_with(LIFE, model, [soup(6), soup(6, 0.3), soup(3, 0.6)], world=(20, 22), seed=12)
    for trajectory in lab.trajectories:
        replay = replays(rule, [trajectory])[0]
        clean = simulate(rule, trajectory.initial, trajectory.steps)
        h, w = model.region(20, 22)
        mismatches = (clean[trajectory.times, :h, :w] != trajectory.frames).sum(axis=(1, 2))
        np.testing.assert_array_equal(replay.discrepancy, mismatches)
        for first, time in enumerate(trajectory.times):
            loglik, discrepancy, units = trajectory_loglik(rule, trajectory, int(time))
            assert loglik == pytest.approx(float(replay.loglik[first:].sum()), rel=1e-12)
            assert discrepancy == float(mismatches[first:].sum())
            assert units == (len(trajectory.times) - first) * h * w


def test_replay_frames_are_the_clean_observed_region():
    model = noisy(0.2) + strided(3) + window(10, 12)
    lab = lab_with(LIFE, model, [soup(7)], world=(20, 20), seed=8)
    trajectory = lab.trajectories[0]
    replay = replays(SEEDS, [trajectory])[0]
    clean = simulate(SEEDS, trajectory.initial, 7)
    np.testing.assert_array_equal(replay.frames, clean[[3, 6], :10, :12])
    np.testing.assert_array_equal(replay.initial, trajectory.initial[:10, :12])
    assert replay.units == 120


def test_replays_of_different_rules_differ():
    lab = lab_with(LIFE, noisy(0.05), [soup(4)], world=(20, 20), seed=9)
    a = replays(LIFE, lab.trajectories)[0]
    b = replays(SEEDS, lab.trajectories)[0]
    assert not np.array_equal(a.frames, b.frames)


def test_replays_of_an_empty_list_and_compare_without_data():
    assert replays(LIFE, []) == []
    comparison = compare(LIFE, [])
    assert comparison.loglik == 0.0
    assert comparison.discrepancy == 0.0
    assert comparison.cost == 0


# ------------------------------------------------------------------------- from_time


@pytest.mark.parametrize("model", [noisy(0.1), stats(0.3), noisy(0.1) + strided(2)])
def test_from_time_excludes_earlier_frames(model):
    lab = lab_with(LIFE, model, [soup(8), soup(8, 0.3)], world=(24, 24), seed=10)
    trajectory = lab.trajectories[0]
    replay = replays(HIGHLIFE, [trajectory])[0]
    times = trajectory.times
    unit = replay.units
    assert np.all(replay.loglik < 0)
    for from_time in range(0, 11):
        keep = times >= from_time
        loglik, discrepancy, units = trajectory_loglik(HIGHLIFE, trajectory, from_time)
        assert loglik == pytest.approx(float(replay.loglik[keep].sum()))
        assert discrepancy == pytest.approx(float(replay.discrepancy[keep].sum()))
        assert units == int(keep.sum()) * unit
    assert trajectory_loglik(HIGHLIFE, trajectory, 9) == (0.0, 0.0, 0)
    assert trajectory_loglik(HIGHLIFE, trajectory, 1) == trajectory_loglik(HIGHLIFE, trajectory)
    # compare sums the trajectories, from the same time
    total = sum(trajectory_loglik(HIGHLIFE, t, 3)[0] for t in lab.trajectories)
    assert compare(HIGHLIFE, lab.trajectories, from_time=3).loglik == pytest.approx(total)
    later = compare(HIGHLIFE, lab.trajectories, from_time=3).loglik
    assert later > compare(HIGHLIFE, lab.trajectories).loglik


def test_from_time_beyond_the_last_frame_scores_nothing_at_p_zero():
    lab = lab_with(LIFE, full(), [soup(3)], world=(20, 20), seed=11)
    trajectory = lab.trajectories[0]
    assert trajectory_loglik(LIFE, trajectory, 1)[0] == 0.0
    assert trajectory_loglik(HIGHLIFE, trajectory, 1)[0] == -np.inf
    assert compare(HIGHLIFE, lab.trajectories, from_time=4).loglik == 0.0


# ---------------------------------------------------------------- statistics comparison


def test_statistics_loglik_of_stats_observations_is_the_likelihood():
    lab = lab_with(LIFE, stats(0.3), [soup(6), soup(6, 0.3)], world=(24, 24), seed=5)
    for rule in (LIFE, HIGHLIFE, SEEDS):
        expected = compare(rule, lab.trajectories).loglik
        assert likelihood.statistics_loglik(rule, lab.trajectories) == pytest.approx(expected)


@pytest.mark.parametrize("model", [full(), noisy(0.05), strided(2), window(20, 24)])
def test_statistics_loglik_of_frames_by_hand(model):
    lab = lab_with(LIFE, model, [soup(8)], world=(32, 32), seed=6)
    trajectory = lab.trajectories[0]
    h, w = model.region(32, 32)
    wrap = model.wraps(32, 32)
    for rule in (LIFE, HIGHLIFE):
        clean = simulate(rule, trajectory.initial, 8)[trajectory.times, :h, :w]
        initial = trajectory.initial[:h, :w]
        observed = frame_statistics(initial, trajectory.frames, wrap)
        counts = clean_counts(initial, clean, wrap)
        direct = float(stats_loglik(counts, observed, h * w, model.noise))
        assert likelihood.statistics_loglik(rule, [trajectory]) == pytest.approx(direct)


def test_statistics_loglik_prefers_the_true_rule_on_noisy_frames():
    lab = lab_with(LIFE, noisy(0.05), [soup(16), soup(16, 0.3)], world=(48, 48), seed=7)
    right = likelihood.statistics_loglik(LIFE, lab.trajectories)
    for wrong in (HIGHLIFE, SEEDS, DAY_NIGHT, Rule.parse("B3/S2")):
        assert right > likelihood.statistics_loglik(wrong, lab.trajectories)
