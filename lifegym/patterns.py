"""Counting 3x3 neighbourhood patterns in grids: the one numba kernel behind the exact
engine's evidence and the scoring of undetermined bits. Pattern indices follow
``lifegym.rules`` (cell (r, c) of the patch is bit ``8 - (3r + c)``); grids wrap (torus).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lifegym.rules import N_PATTERNS

__all__ = ["count_outputs", "pattern_histogram"]


@njit(inline="always")
def _pattern_at(grid, up, r, down, left, c, right):
    """Pattern index of the 3x3 neighbourhood of (r, c), given its neighbouring rows/columns."""
    return (
        (np.int64(grid[up, left]) << 8)
        | (np.int64(grid[up, c]) << 7)
        | (np.int64(grid[up, right]) << 6)
        | (np.int64(grid[r, left]) << 5)
        | (np.int64(grid[r, c]) << 4)
        | (np.int64(grid[r, right]) << 3)
        | (np.int64(grid[down, left]) << 2)
        | (np.int64(grid[down, c]) << 1)
        | np.int64(grid[down, right])
    )


@njit(cache=True, nogil=True)
def _count_kernel(before, after, classes, ones, zeros, first_row, stop_row, first_col, stop_col):
    """For cells [first_row, stop_row) x [first_col, stop_col): add 1 to ``ones`` (or
    ``zeros``) at ``classes[pattern]`` when ``after`` is 1 (or 0) there, where ``pattern``
    is the cell's 3x3 neighbourhood in ``before`` (torus indexing)."""
    height, width = before.shape
    for r in range(first_row, stop_row):
        up = (r - 1) % height
        down = (r + 1) % height
        for c in range(first_col, stop_col):
            left = (c - 1) % width
            right = (c + 1) % width
            bit = classes[_pattern_at(before, up, r, down, left, c, right)]
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
        np.ascontiguousarray(before, dtype=np.uint8),
        np.ascontiguousarray(after, dtype=np.uint8),
        np.asarray(classes, dtype=np.int64),
        ones,
        zeros,
        rows[0],
        rows[1],
        cols[0],
        cols[1],
    )


@njit(cache=True, nogil=True)
def _histogram_kernel(frames, counts):
    n, height, width = frames.shape
    for i in range(n):
        frame = frames[i]
        for r in range(height):
            up = (r - 1) % height
            down = (r + 1) % height
            for c in range(width):
                left = (c - 1) % width
                right = (c + 1) % width
                counts[_pattern_at(frame, up, r, down, left, c, right)] += 1


def pattern_histogram(frames: np.ndarray) -> np.ndarray:
    """How often each of the 512 patterns occurs in ``frames`` (uint8 (n, H, W)): int64 (512,)."""
    counts = np.zeros(N_PATTERNS, dtype=np.int64)
    _histogram_kernel(np.ascontiguousarray(frames, dtype=np.uint8), counts)
    return counts
