"""The numba kernels of the native vector env: many episodes' work in one call.

Each kernel takes a batch of *jobs* that may each have their own rule: running the hidden
rules of a batch of requests, counting their transitions and frame statistics, flipping
observed cells, and the mismatch counts of hypothesis tests. Jobs call the
single env's own kernels (``lifegym.sim``, ``lifegym.patterns``, ``lifegym.observe``) where
they can, so they compute what the single env computes; the rule-table step is a plain
loop here (the simulator's inlined one takes ~20 s to compile into each kernel).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lifegym.observe import _counts_kernel
from lifegym.patterns import _count_kernel
from lifegym.sim import _mismatch_blocks

__all__ = [
    "count_jobs",
    "flip_cells",
    "frame_counts_jobs",
    "pack_grids",
    "run_tables",
    "suffix_sums",
    "test_packed",
    "test_tables",
]


@njit(cache=True, nogil=True)
def _row_codes(row, out):
    """``out[c] = 4 row[c-1] + 2 row[c] + row[c+1]`` around the torus."""
    width = row.shape[0]
    for c in range(1, width - 1):
        out[c] = (np.int64(row[c - 1]) << 2) | (np.int64(row[c]) << 1) | np.int64(row[c + 1])
    for c in (0, width - 1):
        left, right = row[(c - 1) % width], row[(c + 1) % width]
        out[c] = (np.int64(left) << 2) | (np.int64(row[c]) << 1) | np.int64(right)


@njit(cache=True, nogil=True)
def _table_step(src, dst, table):
    """One step on the torus of grid ``src`` (H, W) into ``dst`` under the 512-entry rule
    ``table``, indexed as ``lifegym.rules`` orders a 3x3 pattern (row by row, top-left the
    highest bit): each row's 3-cell codes are computed once and shared by three rows."""
    height, width = src.shape
    codes = np.empty((height, width), dtype=np.int64)
    for r in range(height):
        _row_codes(src[r], codes[r])
    for r in range(height):
        up, mid, down = codes[(r - 1) % height], codes[r], codes[(r + 1) % height]
        out = dst[r]
        for c in range(width):
            out[c] = table[(up[c] << 6) | (mid[c] << 3) | down[c]]


@njit(cache=True, nogil=True)
def run_tables(grids, tables, steps, frames):
    """``frames[b]`` (steps+1, H, W) = grid ``b`` of ``grids`` (B, H, W) run ``steps`` steps on
    the torus under its own rule table ``tables[b]`` (512,)."""
    for b in range(grids.shape[0]):
        frames[b, 0] = grids[b]
        for t in range(steps):
            _table_step(frames[b, t], frames[b, t + 1], tables[b])


@njit(cache=True, nogil=True)
def count_jobs(initials, frames, classes, ones, zeros, later, margin):
    """Observed outputs by class of each job's visible transitions (as
    ``lifegym.patterns.count_seen_transitions``): ``initials`` (B, H, W) -> ``frames[b, 0]``
    for every observed cell, and with ``later`` each frame -> the next for the cells
    ``margin`` or more from the region's edge; added to ``ones[b]`` / ``zeros[b]``."""
    n_frames, height, width = frames.shape[1], frames.shape[2], frames.shape[3]
    for b in range(initials.shape[0]):
        _count_kernel(initials[b], frames[b, 0], classes, ones[b], zeros[b], 0, height, 0, width)
        if later:
            for t in range(n_frames - 1):
                _count_kernel(
                    frames[b, t], frames[b, t + 1], classes, ones[b], zeros[b],
                    margin, height - margin, margin, width - margin,
                )  # fmt: skip


@njit(cache=True, nogil=True)
def frame_counts_jobs(initials, frames, wrap, counts):
    """``lifegym.observe.frame_counts`` of each job: ``counts[b]`` (n, 18) of ``frames[b]``
    (n, h, w) after ``initials[b]`` (h, w)."""
    for b in range(initials.shape[0]):
        _counts_kernel(initials[b], frames[b], wrap, counts[b])


@njit(cache=True, nogil=True)
def flip_cells(frames, draws, rate, stop, needs_more):
    """Flip the cells of ``frames[b]`` (flattened) at the positions a Bernoulli process
    puts there, as ``lifegym.observe.bernoulli_positions`` does from ``draws[b]`` (standard
    exponentials): gaps ``floor(E / rate) + 1`` capped at ``n + 1``, positions their running
    sum from ``stop[b]`` (-1 at first). ``stop[b]`` ends at the last position; when the
    draws ran out below ``n``, ``needs_more[b]`` is set and more draws must follow."""
    for b in range(frames.shape[0]):
        flat = frames[b].reshape(-1)
        n = flat.shape[0]
        position = stop[b]
        needs_more[b] = True
        for e in draws[b]:
            gap = np.int64(min(np.floor(e / rate) + 1.0, n + 1.0))
            position += gap
            if position >= n:
                needs_more[b] = False
                break
            flat[position] ^= 1
        stop[b] = position


@njit(cache=True, nogil=True)
def pack_grids(grids, out):
    """Bit-pack uint8 grids (G, h, w) into ``out`` (G, ceil(W/64) + 2, H + 2) uint64 (zeros),
    the layout of ``lifegym.sim.pack_frames`` for an (H, W) world: row ``r``'s columns
    64k .. 64k+63 in word ``[k + 1, r + 1]``, column ``c`` as bit ``c % 64``."""
    height, width = grids.shape[1], grids.shape[2]
    for g in range(grids.shape[0]):
        for r in range(height):
            row = grids[g, r]
            for k in range((width + 63) // 64):
                word = np.uint64(0)
                for b in range(min(64, width - 64 * k)):
                    word |= np.uint64(row[64 * k + b]) << np.uint64(b)
                out[g, k + 1, r + 1] = word


@njit(cache=True, nogil=True)
def test_packed(words, layout, job_trajectory, job_rule, born, flip, counts):
    """For each job ``j``: the mismatch count of B/S rule ``job_rule[j]`` (``born`` / ``flip``
    (R, 9), the bit-packed kernel's rule words) with each observed frame of trajectory
    ``job_trajectory[j]``, into ``counts[j, :n]``.

    A trajectory ``t`` lives in ``words`` (uint64) from ``layout[t, 0]``, with ``layout[t]`` =
    (offset, H, W, h, w, n), packed as ``lifegym.sim.pack_frames`` packs (S = (ceil(W/64) + 2)
    x (H + 2) words a grid): its initial condition, its n observed frames at steps 1..n, and
    the mask of its observed region.
    """
    for j in range(job_trajectory.shape[0]):
        rule = job_rule[j]
        offset, height, width, _, _, n = layout[job_trajectory[j]]
        n_words = (width + 63) // 64 + 2
        size = n_words * (height + 2)
        state = words[offset : offset + size].copy().reshape((1, n_words, height + 2, 1))
        observed = words[offset + size : offset + (n + 1) * size]
        mask = words[offset + (n + 1) * size : offset + (n + 2) * size]
        found = np.zeros((1, n), dtype=np.int64)  # the signature the single env compiles
        _mismatch_blocks(
            state, np.empty_like(state), np.arange(1, n + 1),
            observed.reshape((1, n, n_words, height + 2)), mask.reshape((n_words, height + 2)),
            found, born[rule], flip[rule], width, True,
        )  # fmt: skip
        counts[j, :n] = found[0]


@njit(cache=True, nogil=True)
def test_tables(cells, layout, job_trajectory, job_rule, tables, counts):
    """As :func:`test_packed` for any rule tables ``tables`` (R, 512), the trajectories in
    ``cells`` (uint8): the initial condition (H, W) then the n observed frames (n, h, w)."""
    for j in range(job_trajectory.shape[0]):
        offset, height, width, seen_h, seen_w, n = layout[job_trajectory[j]]
        start = offset + height * width
        run = np.empty((n + 1, height, width), dtype=np.uint8)
        run[0] = cells[offset:start].reshape((height, width))
        for i in range(n):
            _table_step(run[i], run[i + 1], tables[job_rule[j]])
        frames = cells[start : start + n * seen_h * seen_w].reshape((n, seen_h, seen_w))
        for i in range(n):
            total = 0
            for r in range(seen_h):
                for c in range(seen_w):
                    total += run[i + 1, r, c] != frames[i, r, c]
            counts[j, i] = total


@njit(cache=True, nogil=True)
def suffix_sums(counts, n_frames, cells, first, log_p, log_q, noiseless, mismatches, out):
    """``out[j]`` = job ``j``'s per-frame values over frames ``first[j] .. n_frames[j]-1``,
    summed from the last frame back in the order ``lifegym.likelihood`` sums them (so the
    floats agree bit for bit). The value of a frame with ``m = counts[j, i]`` mismatched
    cells of ``cells[j]``: ``m`` itself when ``mismatches``, else its log-likelihood
    ``m log p + (cells - m) log(1 - p)`` (0 or -inf when ``noiseless``)."""
    for j in range(counts.shape[0]):
        total = 0.0
        for i in range(n_frames[j] - 1, first[j] - 1, -1):
            m = np.float64(counts[j, i])
            if mismatches:
                value = m
            elif noiseless:
                value = -np.inf if m > 0 else 0.0
            else:
                value = m * log_p + (cells[j] - m) * log_q
            total = value if i == n_frames[j] - 1 else total + value
        out[j] = total
