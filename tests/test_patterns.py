"""Pattern counting: the kernel against a direct count over every cell."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lifegym.families import FAMILIES
from lifegym.patterns import RUN_COLUMNS, count_outputs, occurring_bits, pattern_histogram
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace


def _direct_index(frame: np.ndarray, r: int, c: int) -> int:
    height, width = frame.shape
    index = 0
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            index = 2 * index + int(frame[(r + dr) % height, (c + dc) % width])
    return index


grids = hnp.arrays(
    np.uint8,
    st.tuples(st.integers(1, 4), st.integers(1, 9), st.integers(1, 9)),
    elements=st.integers(0, 1),
)


@settings(max_examples=60, deadline=None)
@given(grids)
def test_pattern_histogram_counts_every_cell_once(frames: np.ndarray) -> None:
    expected = np.zeros(512, dtype=np.int64)
    for frame in frames:
        for r in range(frame.shape[0]):
            for c in range(frame.shape[1]):
                expected[_direct_index(frame, r, c)] += 1
    assert np.array_equal(pattern_histogram(frames), expected)


@settings(max_examples=40, deadline=None)
@given(grids, st.sampled_from(["totalistic", "isotropic", "free"]), st.data())
def test_count_outputs_by_class(frames: np.ndarray, family: str, data: st.DataObject) -> None:
    before, after = frames[0], frames[-1]
    height, width = before.shape
    r0 = data.draw(st.integers(0, height - 1))
    r1 = data.draw(st.integers(r0, height))
    c0 = data.draw(st.integers(0, width - 1))
    c1 = data.draw(st.integers(c0, width))
    classes = FAMILIES[family].orbit_of
    n = int(classes.max()) + 1
    ones = np.zeros(n, dtype=np.int64)
    zeros = np.zeros(n, dtype=np.int64)
    count_outputs(before, after, classes, ones, zeros, (r0, r1), (c0, c1))
    want_ones = np.zeros(n, dtype=np.int64)
    want_zeros = np.zeros(n, dtype=np.int64)
    for r in range(r0, r1):
        for c in range(c0, c1):
            bit = classes[_direct_index(before, r, c)]
            (want_ones if after[r, c] else want_zeros)[bit] += 1
    assert np.array_equal(ones, want_ones)
    assert np.array_equal(zeros, want_zeros)


def test_free_bit_counts_sum_pattern_counts_per_free_bit() -> None:
    empty = np.zeros((1, 6, 7), dtype=np.uint8)  # every neighbourhood is the empty one: B0
    space = RuleSpace.of("totalistic")
    counts = space.free_bit_counts(pattern_histogram(empty))
    assert counts[space.free_names.index("B0")] == 42 and counts.sum() == 42
    soup = (np.random.default_rng(1).random((3, 20, 20)) < 0.4).astype(np.uint8)
    histogram = pattern_histogram(soup)
    np.testing.assert_array_equal(space.free_bit_counts(histogram).sum(), histogram.sum())
    known = RuleSpace.of("totalistic", {"B0": 0})
    assert known.free_bit_counts(pattern_histogram(empty)).sum() == 0
    assert "B0" not in known.free_names and len(known.free_bit_counts(histogram)) == 17


@given(
    st.lists(
        st.tuples(
            st.integers(3, 12), st.integers(3, 12), st.integers(0, 5), st.integers(0, 2**32 - 1)
        ),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(sorted(FAMILIES)),
    st.integers(0, 2**32 - 1),
)
@settings(max_examples=40, deadline=None)
def test_occurring_bits_are_the_patterns_of_each_run_s_inputs(
    runs: list[tuple[int, int, int, int]], family: str, seed: int
) -> None:
    """Runs of several rules and sizes into two rows: each row marks the bits whose patterns
    occur in frames 0..steps-1 of its runs (the simulator's frames, counted directly)."""
    rules = [Rule.random(family, seed), Rule.random(family, seed + 1)]
    orbit_of = np.asarray(rules[0].family.orbit_of)
    initials, table = [], np.zeros((len(runs), len(RUN_COLUMNS)), dtype=np.int64)
    want = np.zeros((2, rules[0].family.n_bits), dtype=bool)
    at = 0
    for j, (height, width, steps, draw) in enumerate(runs):
        grid = (np.random.default_rng(draw).random((height, width)) < 0.5).astype(np.uint8)
        initials.append(grid.ravel())
        row, rule = j % 2, (j // 2) % 2
        table[j] = (at, height, width, steps, row, rule)
        at += grid.size
        if steps:
            frames = simulate(rules[rule], grid[None], steps)[0, :steps]
            want[row, orbit_of[pattern_histogram(frames) > 0]] = True
    tables = np.stack([r.table for r in rules])
    got = occurring_bits(np.concatenate(initials), table, tables, orbit_of, 2)
    assert np.array_equal(got, want)
