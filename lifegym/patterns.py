"""Counting 3x3 neighbourhood patterns in grids: the numba kernels behind the exact
engine's evidence and the scoring of undetermined bits (:func:`occurring_bits`). Pattern
indices follow ``lifegym.neighbourhoods`` (cell (r, c) of the patch is bit ``8 - (3r + c)``);
grids wrap (torus).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lifegym.cells import kernel_input
from lifegym.neighbourhoods import N_PATTERNS
from lifegym.types import VisibleTrajectory

__all__ = [
    "RUN_COLUMNS",
    "count_outputs",
    "count_seen_transitions",
    "occurring_bits",
    "pattern_histogram",
]


@njit(inline="always")
def _row_codes(row, out):
    """``out[c] = 4 row[c-1] + 2 row[c] + row[c+1]`` (wrapping): the row's 3-cell codes.

    The interior loop has no modulo, so it vectorises; only the two edge columns wrap.
    """
    width = row.shape[0]
    for c in range(1, width - 1):
        out[c] = 4 * np.int64(row[c - 1]) + 2 * np.int64(row[c]) + np.int64(row[c + 1])
    for c in (0, width - 1):
        left = row[(c - 1) % width]
        right = row[(c + 1) % width]
        out[c] = 4 * np.int64(left) + 2 * np.int64(row[c]) + np.int64(right)


@njit(inline="always")
def _row_patterns(grid, r, above, middle, below, index):
    """``index[c]`` = pattern index of cell (r, c) of ``grid`` (torus); the other arrays are
    scratch rows of the grid's width."""
    height = grid.shape[0]
    _row_codes(grid[(r - 1) % height], above)
    _row_codes(grid[r], middle)
    _row_codes(grid[(r + 1) % height], below)
    for c in range(index.shape[0]):
        index[c] = (above[c] << 6) | (middle[c] << 3) | below[c]


@njit(cache=True, nogil=True)
def _table_step(src, dst, table, histogram=None):
    """One step on the torus of grid ``src`` (H, W) into ``dst`` under the 512-entry rule
    ``table``, indexed as ``lifegym.neighbourhoods`` orders a 3x3 pattern (row by row, top-left
    the highest bit): each row's 3-cell codes (:func:`_row_codes`) are computed once and
    shared by three rows (as uint8: a quarter faster than int64 codes). With
    ``histogram`` (int64 (512,), zeroed by the caller) each pattern of ``src`` is counted
    into it too (numba compiles the step without the count when it is None)."""
    height, width = src.shape
    codes = np.empty((height, width), dtype=np.uint8)
    for r in range(height):
        _row_codes(src[r], codes[r])
    for r in range(height):
        up, mid, down = codes[(r - 1) % height], codes[r], codes[(r + 1) % height]
        out = dst[r]
        for c in range(width):
            pattern = (np.int32(up[c]) << 6) | (np.int32(mid[c]) << 3) | np.int32(down[c])
            if histogram is not None:
                histogram[pattern] += 1
            out[c] = table[pattern]


@njit(cache=True, nogil=True)
def _count_kernel(before, after, classes, ones, zeros, first_row, stop_row, first_col, stop_col):
    """For cells [first_row, stop_row) x [first_col, stop_col): add 1 to ``ones`` (or
    ``zeros``) at ``classes[pattern]`` when ``after`` is 1 (or 0) there, where ``pattern``
    is the cell's 3x3 neighbourhood in ``before`` (torus indexing)."""
    width = before.shape[1]
    above = np.empty(width, dtype=np.int64)
    middle = np.empty(width, dtype=np.int64)
    below = np.empty(width, dtype=np.int64)
    index = np.empty(width, dtype=np.int64)
    for r in range(first_row, stop_row):
        _row_patterns(before, r, above, middle, below, index)
        for c in range(first_col, stop_col):
            bit = classes[index[c]]
            if after[r, c]:
                ones[bit] += 1
            else:
                zeros[bit] += 1


def count_outputs(
    before: np.ndarray,
    after: np.ndarray,
    classes: np.ndarray,
    ones: np.ndarray,
    zeros: np.ndarray,
    rows: tuple[int, int],
    cols: tuple[int, int],
) -> None:
    """Count the outputs of the cells in ``rows`` x ``cols`` (half-open ranges) by class.

    ``before`` (uint8 (H, W), torus) holds the inputs; ``after`` (uint8, covering the
    ranges, same cell indices) the outputs. A cell adds 1 to ``ones`` or ``zeros`` (int64,
    one entry per class) at ``classes[its pattern in before]``.
    """
    _count_kernel(
        kernel_input(before),
        kernel_input(after),
        kernel_input(classes, np.int64),
        ones,
        zeros,
        rows[0],
        rows[1],
        cols[0],
        cols[1],
    )


#: The observation features under which consecutive frames are seen (a stride, statistics
#: or any other part hides them).
_TRANSITIONS = frozenset({"frames", "noise", "window"})


def count_seen_transitions(
    trajectory: VisibleTrajectory, classes: np.ndarray, n_classes: int, later_frames: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Observed outputs by class of a trajectory's visible transitions: ``(ones, zeros)``,
    int64 (n_classes,) each.

    Counted: initial condition (exact, whole world) -> first frame, every observed cell;
    with ``later_frames``, also each observed frame -> the next, for the cells whose whole
    3x3 input is observed (the window's interior, or all cells when the window is the
    world). Strided and statistics observations have no visible transitions.
    """
    ones = np.zeros(n_classes, dtype=np.int64)
    zeros = np.zeros(n_classes, dtype=np.int64)
    frames = trajectory.frames
    if not trajectory.model.features <= _TRANSITIONS or frames is None or not len(frames):
        return ones, zeros
    h, w = frames.shape[1:]
    count_outputs(trajectory.initial, frames[0], classes, ones, zeros, (0, h), (0, w))
    if later_frames:
        margin = 0 if trajectory.model.wraps(*trajectory.world_shape) else 1
        rows, cols = (margin, h - margin), (margin, w - margin)
        for t in range(len(frames) - 1):
            count_outputs(frames[t], frames[t + 1], classes, ones, zeros, rows, cols)
    return ones, zeros


@njit(cache=True, nogil=True)
def _histogram_kernel(frames, counts):
    width = frames.shape[2]
    above = np.empty(width, dtype=np.int64)
    middle = np.empty(width, dtype=np.int64)
    below = np.empty(width, dtype=np.int64)
    index = np.empty(width, dtype=np.int64)
    for i in range(frames.shape[0]):
        for r in range(frames.shape[1]):
            _row_patterns(frames[i], r, above, middle, below, index)
            for c in range(width):
                counts[index[c]] += 1


def pattern_histogram(frames: np.ndarray) -> np.ndarray:
    """How often each of the 512 patterns occurs in ``frames`` (uint8 (n, H, W)): int64 (512,)."""
    counts = np.zeros(N_PATTERNS, dtype=np.int64)
    _histogram_kernel(np.ascontiguousarray(frames, dtype=np.uint8), counts)
    return counts


#: Columns of a run of :func:`occurring_bits`: where its initial condition starts in the
#: flat cells, its world, its steps, the row of the answer it marks and its rule table.
RUN_COLUMNS = ("offset", "height", "width", "steps", "row", "table")


@njit(cache=True, nogil=True)
def _occurring_kernel(cells, runs, tables, orbit_of, out):
    for j in range(runs.shape[0]):
        offset, height, width, steps, row, rule = runs[j]
        grid = cells[offset : offset + height * width].reshape((height, width)).copy()
        after = np.empty_like(grid)
        codes = np.empty((height, width), dtype=np.int64)
        table = tables[rule]
        marks = out[row]
        for _ in range(steps):
            for r in range(height):
                _row_codes(grid[r], codes[r])
            for r in range(height):
                up, mid, down = codes[(r - 1) % height], codes[r], codes[(r + 1) % height]
                for c in range(width):
                    pattern = (up[c] << 6) | (mid[c] << 3) | down[c]
                    marks[orbit_of[pattern]] = True
                    after[r, c] = table[pattern]
            grid, after = after, grid


def occurring_bits(
    cells: np.ndarray, runs: np.ndarray, tables: np.ndarray, orbit_of: np.ndarray, n_rows: int
) -> np.ndarray:
    """Which rule bits' patterns occur as inputs of runs of rules: bool (n_rows, n_bits).

    Run ``j`` (a row of ``runs``, int64 (J, 6), columns :data:`RUN_COLUMNS`) steps the
    initial condition ``cells[offset : offset + height * width]`` (uint8, flat, row by row)
    ``steps`` times on the torus under ``tables[table]`` (uint8 (R, 512)) and marks, in row
    ``row`` of the answer, bit ``orbit_of[p]`` of every pattern ``p`` of frames
    0..steps-1 (``orbit_of``: int64 (512,), ``lifegym.families.RuleFamily.orbit_of``). One
    kernel call for the runs of many rules and many episodes.
    """
    orbit = np.ascontiguousarray(orbit_of, dtype=np.int64)
    out = np.zeros((n_rows, int(orbit.max()) + 1), dtype=np.bool_)
    if len(runs):
        _occurring_kernel(
            np.ascontiguousarray(cells, dtype=np.uint8),
            np.ascontiguousarray(runs, dtype=np.int64),
            np.ascontiguousarray(tables, dtype=np.uint8),
            orbit,
            out,
        )
    return out
