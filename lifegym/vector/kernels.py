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
from lifegym.patterns import _count_kernel, _row_codes
from lifegym.sim import _mismatch_blocks

__all__ = [
    "pack_grids",
    "run_requests",
    "suffix_sums",
    "test_packed",
    "test_tables",
]


@njit(cache=True, nogil=True)
def _table_step(src, dst, table):
    """One step on the torus of grid ``src`` (H, W) into ``dst`` under the 512-entry rule
    ``table``, indexed as ``lifegym.rules`` orders a 3x3 pattern (row by row, top-left the
    highest bit): each row's 3-cell codes (``lifegym.patterns``) are computed once and
    shared by three rows."""
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
def _flip(flat, draws, rate):
    """Flip ``flat`` at the Bernoulli positions ``draws`` give (see :func:`flip_cells`);
    returns whether the draws ran out before the end."""
    n = flat.shape[0]
    position = -1
    for e in draws:
        position += np.int64(min(np.floor(e / rate) + 1.0, n + 1.0))
        if position >= n:
            return False
        flat[position] ^= 1
    return True


@njit(cache=True, nogil=True)
def run_requests(
    grids, tables, seen, draws, rate, noisy, classes, ones, zeros, later, margin, wrap, counts,
    needs_more,
):  # fmt: skip
    """A batch of requests of one world size and length, as the single env runs each
    (``Lab.run``, ``observe``, the exact engine's counts, ``experiment_summary``'s counts):
    grid ``b`` of ``grids`` (B, H, W) runs ``n`` steps under ``tables[b]``; ``seen[b]`` (n, h,
    w) gets the observed region of steps 1..n, its cells flipped at the positions
    ``draws[b]`` give when ``noisy`` (``needs_more[b]`` is set when they ran out: the job must
    be run again with more draws); ``ones[b]`` / ``zeros[b]`` get its transitions' outputs
    by class (``count_jobs``) and ``counts[b]`` its ``frame_counts``."""
    height, width = grids.shape[1], grids.shape[2]
    n, seen_h, seen_w = seen.shape[1], seen.shape[2], seen.shape[3]
    for b in range(grids.shape[0]):
        run = np.empty((n + 1, height, width), dtype=np.uint8)
        run[0] = grids[b]
        for t in range(n):
            _table_step(run[t], run[t + 1], tables[b])
            seen[b, t] = run[t + 1, :seen_h, :seen_w]
        needs_more[b] = noisy and _flip(seen[b].reshape(-1), draws[b], rate)
        _count_kernel(grids[b], seen[b, 0], classes, ones[b], zeros[b], 0, seen_h, 0, seen_w)
        if later:
            for t in range(n - 1):
                _count_kernel(
                    seen[b, t], seen[b, t + 1], classes, ones[b], zeros[b],
                    margin, seen_h - margin, margin, seen_w - margin,
                )  # fmt: skip
        initial = grids[b, :seen_h, :seen_w].copy()
        _counts_kernel(initial, seen[b], wrap, counts[b])


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
