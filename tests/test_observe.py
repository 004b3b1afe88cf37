"""Observation models (lifegym.observe): validation, what ``observe`` returns, the noise and
statistics perturbation rates, and the frame statistics on hand-made frames."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lifegym.observe import (
    N_STATS,
    STAT_NAMES,
    ObservationModel,
    bernoulli_positions,
    block_histograms,
    compose,
    frame_counts,
    frame_statistics,
    full,
    noisy,
    stats,
    stats_flip_probability,
    strided,
    window,
)

# ----------------------------------------------------------------------------- helpers


def naive_block_histogram(frame: np.ndarray, wrap: bool) -> np.ndarray:
    """16 counts of 2x2 blocks ``a b / c d`` coded ``8a + 4b + 2c + d``, by plain loops."""
    h, w = frame.shape
    counts = np.zeros(16, dtype=np.int64)
    for r in range(h if wrap else h - 1):
        for c in range(w if wrap else w - 1):
            a = int(frame[r, c])
            b = int(frame[r, (c + 1) % w])
            cc = int(frame[(r + 1) % h, c])
            d = int(frame[(r + 1) % h, (c + 1) % w])
            counts[8 * a + 4 * b + 2 * cc + d] += 1
    return counts


def de_bruijn_torus() -> np.ndarray:
    """A 4x4 torus in which each of the 16 2x2 blocks occurs exactly once (brute force)."""
    index = np.arange(1 << 16)
    grids = ((index[:, None] >> np.arange(16)) & 1).reshape(-1, 4, 4)
    right = np.roll(grids, -1, axis=2)
    below = np.roll(grids, -1, axis=1)
    corner = np.roll(below, -1, axis=2)
    codes = (8 * grids + 4 * right + 2 * below + corner).reshape(-1, 16)
    ok = np.all(np.sort(codes, axis=1) == np.arange(16), axis=1)
    assert ok.any()
    return grids[np.argmax(ok)].astype(np.uint8)


def five_sigma(n: int, p: float) -> float:
    return 5.0 * math.sqrt(p * (1.0 - p) / n)


# -------------------------------------------------------------------------- validation


@pytest.mark.parametrize("p", [-0.01, 0.51, 1.0, 2, float("nan"), "0.1", True])
def test_noise_outside_range_is_rejected_naming_the_value(p):
    with pytest.raises(ValueError, match=re.escape(repr(p))):
        noisy(p)


@pytest.mark.parametrize("p", [0, 0.0, 1e-6, 0.05, 0.5, np.float32(0.25)])
def test_noise_inside_range_is_accepted(p):
    assert noisy(p).noise == float(p)
    assert type(noisy(p).noise) is float


@pytest.mark.parametrize("k", [0, -1, 1.0, 2.5, True, "2"])
def test_stride_below_one_or_not_int_is_rejected(k):
    with pytest.raises(ValueError, match=re.escape(repr(k))):
        strided(k)


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (-1, 3), (2.0, 3), (5,), (1, 2, 3)])
def test_bad_window_shape_is_rejected(shape):
    with pytest.raises(ValueError, match="window"):
        ObservationModel(window=shape)


@pytest.mark.parametrize(("win", "world"), [((21, 5), (20, 20)), ((5, 31), (20, 30))])
def test_window_larger_than_world_is_rejected(win, world):
    model = window(*win)
    message = f"{win[0]}x{win[1]}"
    for call in (model.check_world, model.region, model.wraps):
        with pytest.raises(ValueError, match=message):
            call(*world)
    frames = np.zeros((3, *world), dtype=np.uint8)
    with pytest.raises(ValueError, match=message):
        model.observe(frames, np.random.default_rng(0))


def test_window_equal_to_world_fits_and_wraps():
    model = window(20, 30)
    assert model.region(20, 30) == (20, 30)
    assert model.wraps(20, 30)
    assert not model.wraps(21, 30)
    assert full().wraps(7, 9)


@pytest.mark.parametrize("sigma", [0, 0.0, -0.3, float("nan"), "0.3", True])
def test_stats_sigma_must_be_positive(sigma):
    with pytest.raises(ValueError, match=re.escape(repr(sigma))):
        stats(sigma)


def test_stats_cannot_be_combined_with_noise():
    with pytest.raises(ValueError, match=r"0\.1"):
        ObservationModel(noise=0.1, stats_sigma=0.3)
    with pytest.raises(ValueError, match="noisy"):
        noisy(0.1) + stats(0.3)
    # stride and window combine with stats.
    model = stats(0.3) + strided(2) + window(4, 5)
    assert (model.stats_sigma, model.stride, model.window) == (0.3, 2, (4, 5))


@pytest.mark.parametrize(
    ("first", "second", "part"),
    [
        (noisy(0.1), noisy(0.2), "noise"),
        (noisy(0.1), noisy(0.1), "noise"),
        (strided(2), strided(3), "stride"),
        (window(3, 3), window(4, 4), "window"),
        (stats(0.3), stats(0.4), "stats_sigma"),
    ],
)
def test_composing_the_same_part_twice_is_rejected(first, second, part):
    with pytest.raises(ValueError, match=part):
        first + second
    with pytest.raises(ValueError, match=part):
        compose(first, full(), second)


def test_compose_combines_parts_and_rejects_non_models():
    model = compose(noisy(0.05), strided(3), window(6, 7))
    assert model == ObservationModel(noise=0.05, stride=3, window=(6, 7))
    assert model == noisy(0.05) + strided(3) + window(6, 7)
    assert compose() == full()
    assert full() + full() == full()
    assert model.describe() == "noisy(0.05) + strided(3) + window(6, 7)"
    assert full().describe() == "full()"
    with pytest.raises(TypeError, match="int"):
        compose(full(), 3)


def test_window_given_as_list_is_normalised_to_tuple():
    model = ObservationModel(window=[3, np.int64(4)])
    assert model.window == (3, 4)
    assert all(type(v) is int for v in model.window)


def test_flip_probability():
    assert noisy(0.07).flip_probability == 0.07
    assert full().flip_probability == 0.0
    assert stats(0.3).flip_probability == stats_flip_probability(0.3)


# ---------------------------------------------------------------------------- observe


def random_trajectory(steps: int, shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((steps + 1, *shape)) < 0.5).astype(np.uint8)


@pytest.mark.parametrize(
    ("steps", "k", "expected"),
    [(10, 1, list(range(1, 11))), (10, 3, [3, 6, 9]), (9, 3, [3, 6, 9]), (2, 3, []), (1, 1, [1])],
)
def test_observed_times(steps, k, expected):
    times = strided(k).observed_times(steps)
    assert times.dtype == np.int64
    assert times.tolist() == expected


def test_observe_full_returns_the_clean_frames_after_the_initial_one():
    frames = random_trajectory(6, (9, 11))
    before = frames.copy()
    times, seen, seen_stats = full().observe(frames, np.random.default_rng(0))
    assert times.tolist() == [1, 2, 3, 4, 5, 6]
    assert seen_stats is None
    assert seen.dtype == np.uint8
    assert seen.shape == (6, 9, 11)
    np.testing.assert_array_equal(seen, frames[1:])
    np.testing.assert_array_equal(frames, before)


def test_observe_strided_window_crops_and_subsamples():
    frames = random_trajectory(10, (12, 13), seed=1)
    model = strided(4) + window(5, 7)
    times, seen, seen_stats = model.observe(frames, np.random.default_rng(0))
    assert times.tolist() == [4, 8]
    assert seen_stats is None
    assert seen.shape == (2, 5, 7)
    np.testing.assert_array_equal(seen, frames[[4, 8], :5, :7])


def test_observe_noisy_does_not_modify_its_input():
    frames = random_trajectory(4, (30, 30), seed=2)
    before = frames.copy()
    _, seen, _ = noisy(0.3).observe(frames, np.random.default_rng(0))
    np.testing.assert_array_equal(frames, before)
    assert set(np.unique(seen).tolist()) <= {0, 1}
    assert np.any(seen != frames[1:])


@pytest.mark.parametrize("model", [stats(0.3), stats(0.1) + strided(2), stats(0.2) + window(6, 8)])
def test_observe_stats_returns_statistics_only(model):
    frames = random_trajectory(8, (10, 12), seed=3)
    times, seen, seen_stats = model.observe(frames, np.random.default_rng(0))
    assert seen is None
    np.testing.assert_array_equal(times, model.observed_times(8))
    assert seen_stats.shape == (len(times), N_STATS)
    assert seen_stats.dtype == np.float64
    assert np.all((seen_stats >= 0) & (seen_stats <= 1))


@pytest.mark.parametrize("model", [noisy(0.2), stats(0.4), noisy(0.1) + strided(2) + window(5, 5)])
def test_observe_is_determined_by_the_generator(model):
    frames = random_trajectory(6, (16, 16), seed=4)
    a = model.observe(frames, np.random.default_rng(11))
    b = model.observe(frames, np.random.default_rng(11))
    c = model.observe(frames, np.random.default_rng(12))
    for x, y in zip(a, b, strict=True):
        if x is None:
            assert y is None
        else:
            np.testing.assert_array_equal(x, y)
    observed = 1 if model.stats_sigma is None else 2
    assert not np.array_equal(a[observed], c[observed])


@settings(max_examples=40, deadline=None)
@given(
    steps=st.integers(1, 6),
    k=st.integers(1, 4),
    shape=st.tuples(st.integers(3, 9), st.integers(3, 9)),
    crop=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    p=st.sampled_from([0.0, 0.1, 0.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_observe_invariants(steps, k, shape, crop, p, seed):
    crop = (min(crop[0], shape[0]), min(crop[1], shape[1]))
    frames = random_trajectory(steps, shape, seed=seed % 1000)
    model = noisy(p) + strided(k) + window(*crop)
    times, seen, _ = model.observe(frames, np.random.default_rng(seed))
    np.testing.assert_array_equal(times, np.arange(k, steps + 1, k))
    assert seen.shape == (len(times), *crop)
    if p == 0.0:
        np.testing.assert_array_equal(seen, frames[times, : crop[0], : crop[1]])
    assert set(np.unique(seen).tolist()) <= {0, 1}


# ----------------------------------------------------------------------- noise rates


@pytest.mark.parametrize("p", [0.01, 0.05, 0.2, 0.45, 0.5])
def test_noise_flip_rate_is_p(p):
    frames = random_trajectory(4, (150, 150), seed=5)
    _, seen, _ = noisy(p).observe(frames, np.random.default_rng(6))
    flipped = seen != frames[1:]
    n = flipped.size
    assert abs(flipped.mean() - p) < five_sigma(n, p)
    # independent of the clean value
    for value in (0, 1):
        where = frames[1:] == value
        assert abs(flipped[where].mean() - p) < five_sigma(int(where.sum()), p)


@pytest.mark.parametrize("p", [1e-4, 0.01, 0.1, 0.3, 0.49, 0.5, 0.7, 1.0])
def test_bernoulli_positions_rate(p):
    n = 2_000_000
    positions = bernoulli_positions(n, p, np.random.default_rng(7))
    assert positions.ndim == 1
    assert np.issubdtype(positions.dtype, np.integer)
    assert abs(len(positions) / n - p) <= five_sigma(n, p)
    assert np.all(np.diff(positions) > 0)
    assert positions.size == 0 or (positions[0] >= 0 and positions[-1] < n)


@pytest.mark.parametrize("p", [0.05, 0.2, 0.45])
def test_bernoulli_positions_is_an_exact_bernoulli_process(p):
    """Every index included with probability p, the count Binomial(n, p)."""
    n, reps = 40, 20_000
    rng = np.random.default_rng(8)
    included = np.zeros((reps, n), dtype=bool)
    for i in range(reps):
        included[i, bernoulli_positions(n, p, rng)] = True
    per_index = included.mean(axis=0)
    assert np.all(np.abs(per_index - p) < five_sigma(reps, p))
    counts = included.sum(axis=1)
    assert abs(counts.mean() - n * p) < 5 * math.sqrt(n * p * (1 - p) / reps)
    assert counts.var() == pytest.approx(n * p * (1 - p), rel=0.06)
    # neighbours independent: P(both) = p^2
    both = (included[:, :-1] & included[:, 1:]).mean()
    assert abs(both - p * p) < five_sigma(reps * (n - 1), p * p) * 3


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 3000), p=st.floats(1e-6, 1.0), seed=st.integers(0, 2**32 - 1))
def test_bernoulli_positions_are_sorted_unique_in_range(n, p, seed):
    positions = bernoulli_positions(n, p, np.random.default_rng(seed))
    assert np.all(np.diff(positions) > 0)
    assert positions.size <= n
    if positions.size:
        assert positions[0] >= 0
        assert positions[-1] < n


def test_bernoulli_positions_with_p_zero_is_empty():
    """p = 0 is a probability like any other: nothing is included."""
    assert bernoulli_positions(100, 0.0, np.random.default_rng(0)).size == 0


@pytest.mark.parametrize("p", [1e-19, 1e-20])
def test_bernoulli_positions_with_tiny_p_stays_in_range(p):
    """Geometric gaps of order 1/p exceed int64 for tiny p; the indices must still be valid."""
    positions = bernoulli_positions(100, p, np.random.default_rng(0))
    assert np.all((positions >= 0) & (positions < 100))


def test_observe_with_tiny_noise_flips_nothing():
    """noisy(1e-20) is a valid model (p in [0, 0.5]); a flip has probability ~1e-18."""
    frames = np.zeros((3, 5, 5), dtype=np.uint8)
    _, seen, _ = noisy(1e-20).observe(frames, np.random.default_rng(0))
    assert seen.sum() == 0


# -------------------------------------------------------------- stats perturbation rate


def test_stats_flip_probability_values():
    assert stats_flip_probability(0.1) == pytest.approx(2.866515718791939e-07, rel=1e-6)
    assert stats_flip_probability(0.1) == pytest.approx(3e-7, rel=0.05)
    assert stats_flip_probability(0.3) == pytest.approx(0.0477903522728147, rel=1e-6)
    assert stats_flip_probability(0.3) == pytest.approx(0.048, abs=5e-4)
    assert stats_flip_probability(1e-3) == 0.0
    assert stats_flip_probability(1e6) == pytest.approx(0.5, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(a=st.floats(0.01, 100.0), b=st.floats(0.01, 100.0))
def test_stats_flip_probability_increases_with_sigma_below_one_half(a, b):
    lo, hi = sorted((a, b))
    assert 0.0 <= stats_flip_probability(lo) <= stats_flip_probability(hi) < 0.5


@pytest.mark.parametrize("sigma", [0.3, 0.5, 1.0])
@pytest.mark.parametrize("value", [0, 1])
def test_stats_perturbation_flip_rate(sigma, value):
    """On a constant world the observed density is the flip rate (or 1 minus it), and the
    activity is q for the first frame (vs the exact initial state), 2q(1-q) later."""
    q = stats_flip_probability(sigma)
    steps, shape = 8, (100, 100)
    frames = np.full((steps + 1, *shape), value, dtype=np.uint8)
    _, _, observed = stats(sigma).observe(frames, np.random.default_rng(9))
    density = observed[:, 0] if value == 0 else 1.0 - observed[:, 0]
    n = steps * shape[0] * shape[1]
    assert abs(density.mean() - q) < five_sigma(n, q)
    cells = shape[0] * shape[1]
    assert abs(observed[0, 1] - q) < five_sigma(cells, q)
    later = 2 * q * (1 - q)
    assert abs(observed[1:, 1].mean() - later) < five_sigma(n - cells, later)


def test_stats_perturbation_with_small_sigma_is_exact():
    frames = random_trajectory(5, (20, 20), seed=10)
    _, _, observed = stats(0.05).observe(frames, np.random.default_rng(0))
    np.testing.assert_array_equal(observed, frame_statistics(frames[0], frames[1:], True))


# ----------------------------------------------------------------------- statistics


def test_stat_names():
    assert STAT_NAMES == ("density", "activity", "block_entropy")
    assert N_STATS == 3


def test_frame_statistics_density_and_activity_by_hand():
    initial = np.zeros((4, 4), dtype=np.uint8)
    f1 = initial.copy()
    f1[1, 1] = 1
    f2 = f1.copy()
    f2[2, 3] = 1
    f3 = f2.copy()  # unchanged: activity against the previous frame, not the initial one
    result = frame_statistics(initial, np.stack([f1, f2, f3]), wrap=True)
    assert result.shape == (3, N_STATS)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result[:, 0], [1 / 16, 2 / 16, 2 / 16])
    np.testing.assert_allclose(result[:, 1], [1 / 16, 1 / 16, 0.0])


def test_frame_statistics_first_activity_is_against_initial():
    initial = np.ones((3, 5), dtype=np.uint8)
    frame = np.zeros((1, 3, 5), dtype=np.uint8)
    frame[0, 0, :2] = 1
    result = frame_statistics(initial, frame, wrap=False)
    assert result[0, 0] == pytest.approx(2 / 15)
    assert result[0, 1] == pytest.approx(13 / 15)


@pytest.mark.parametrize("value", [0, 1])
@pytest.mark.parametrize("wrap", [True, False])
def test_block_entropy_of_uniform_frame_is_zero(value, wrap):
    frames = np.full((2, 6, 7), value, dtype=np.uint8)
    result = frame_statistics(np.zeros((6, 7), dtype=np.uint8), frames, wrap)
    np.testing.assert_array_equal(result[:, 2], [0.0, 0.0])
    np.testing.assert_array_equal(result[:, 0], [value, value])


def test_block_entropy_is_one_when_all_16_blocks_are_equally_frequent():
    torus = de_bruijn_torus()
    np.testing.assert_array_equal(block_histograms(torus[None], wrap=True)[0], np.ones(16))
    result = frame_statistics(np.zeros((4, 4), dtype=np.uint8), torus[None], wrap=True)
    assert result[0, 2] == pytest.approx(1.0, abs=1e-12)
    # twice over (an 8x8 tiling): every block twice on the torus, 4 times
    tiled = np.tile(torus, (2, 2))
    np.testing.assert_array_equal(block_histograms(tiled[None], wrap=True)[0], np.full(16, 4))
    assert frame_statistics(tiled, tiled[None], True)[0, 2] == pytest.approx(1.0)
    # without wrap: a 5x5 crop of the periodic tiling has the 16 blocks once each
    crop = np.tile(torus, (2, 2))[:5, :5]
    np.testing.assert_array_equal(block_histograms(crop[None], wrap=False)[0], np.ones(16))
    assert frame_statistics(crop, crop[None], False)[0, 2] == pytest.approx(1.0)
    # ... but not with wrap (25 blocks, not uniform)
    assert frame_statistics(crop, crop[None], True)[0, 2] < 1.0


def test_block_entropy_of_two_equally_frequent_blocks_is_a_quarter():
    # vertical stripes 0101...: blocks alternate between 0b0101 (5) and 0b1010 (10)
    frame = np.tile(np.array([0, 1], dtype=np.uint8), (6, 3))
    histogram = block_histograms(frame[None], wrap=True)[0]
    assert histogram[5] == histogram[10] == 18
    assert histogram.sum() == 36
    assert frame_statistics(frame, frame[None], True)[0, 2] == pytest.approx(0.25)


@pytest.mark.parametrize("code", range(16))
def test_block_code_convention(code):
    a, b, c, d = (code >> 3) & 1, (code >> 2) & 1, (code >> 1) & 1, code & 1
    frame = np.array([[a, b], [c, d]], dtype=np.uint8)
    expected = np.zeros(16, dtype=np.int64)
    expected[code] = 1
    np.testing.assert_array_equal(block_histograms(frame[None], wrap=False)[0], expected)


def test_single_cell_histograms_with_and_without_wrap():
    frame = np.zeros((4, 5), dtype=np.uint8)
    frame[0, 0] = 1
    wrapped = block_histograms(frame[None], wrap=True)[0]
    unwrapped = block_histograms(frame[None], wrap=False)[0]
    assert wrapped.sum() == 20
    assert unwrapped.sum() == 12
    # wrap: the cell is a (block (0,0)), b (block (0,4)), c (block (3,0)), d (block (3,4))
    assert wrapped[[8, 4, 2, 1]].tolist() == [1, 1, 1, 1]
    assert wrapped[0] == 16
    # no wrap: only the block at (0, 0) sees it
    assert unwrapped[8] == 1
    assert unwrapped[0] == 11


@settings(max_examples=60, deadline=None)
@given(
    frames=hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 3), st.integers(1, 7), st.integers(1, 7)),
        elements=st.integers(0, 1),
    ),
    wrap=st.booleans(),
)
def test_block_histograms_match_a_naive_count(frames, wrap):
    result = block_histograms(frames, wrap)
    assert result.shape == (len(frames), 16)
    assert result.dtype == np.int64
    for frame, row in zip(frames, result, strict=True):
        np.testing.assert_array_equal(row, naive_block_histogram(frame, wrap))
    _, h, w = frames.shape
    expected_total = h * w if wrap else (h - 1) * (w - 1)
    assert np.all(result.sum(axis=1) == expected_total)


@settings(max_examples=60, deadline=None)
@given(
    frames=hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 4), st.integers(2, 8), st.integers(2, 8)),
        elements=st.integers(0, 1),
    ),
    wrap=st.booleans(),
)
def test_frame_statistics_are_in_unit_interval(frames, wrap):
    initial = np.zeros(frames.shape[1:], dtype=np.uint8)
    result = frame_statistics(initial, frames, wrap)
    assert result.shape == (len(frames), N_STATS)
    assert np.all((result >= 0) & (result <= 1))
    np.testing.assert_allclose(result[:, 0], frames.mean(axis=(1, 2)))


def test_frame_counts_of_a_batch_are_the_counts_of_each_trajectory() -> None:
    rng = np.random.default_rng(5)
    initials = (rng.random((2, 3, 7, 9)) < 0.4).astype(np.uint8)
    frames = (rng.random((2, 3, 4, 7, 9)) < 0.4).astype(np.uint8)
    for wrap in (True, False):
        batch = frame_counts(initials, frames, wrap)
        assert batch.shape == (2, 3, 4, 18)
        for i in range(2):
            for j in range(3):
                assert np.array_equal(batch[i, j], frame_counts(initials[i, j], frames[i, j], wrap))
    with pytest.raises(ValueError, match=r"initial \(7, 9\) does not match frames"):
        frame_counts(initials[0, 0], frames, True)


@pytest.mark.parametrize(
    ("model", "says"),
    [
        (full(), "every observed cell exactly (no noise)"),
        (noisy(0.05), "flipped independently with probability 0.05"),
        (strided(2), "only every 2nd step is observed (2, 4, 6, ...)"),
        (strided(11), "only every 11th step"),
        (strided(23), "only every 23rd step"),
        (window(5, 7), "top-left 5x7 window (rows 0..4, columns 0..6)"),
        (stats(0.3), "only statistics of each observed frame"),
    ],
)
def test_a_model_explains_what_is_seen(model: ObservationModel, says: str) -> None:
    assert says in model.explain()


def test_the_text_protocol_tells_each_preset_s_model_as_the_model_explains_it() -> None:
    from lifegym.protocol import Episode, v1_presets

    for env_id in v1_presets():
        episode = Episode(env_id, seed=0)
        assert episode.task()["observation"] == episode.env.model.explain(), env_id
