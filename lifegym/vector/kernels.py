"""The numba kernels of the native vector env: many episodes' work in one call.

Each kernel takes a batch of *jobs* that may each have their own rule: running the hidden
rules of a batch of requests, counting their transitions and frame statistics, flipping
observed cells, and the mismatch counts of hypothesis tests. Jobs call the
single env's own kernels (``lifegym.sim``, ``lifegym.patterns``, ``lifegym.observe``) where
they can, so they compute what the single env computes. Two steps are their own: B/S
grids at most 64 cells wide step one word a row (``_narrow_step``, the simulator's word
rule without its general halo code), and the rule-table step is a plain loop (the
simulator's inlined one takes ~20 s to compile into each kernel).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lifegym.observe import _counts_kernel, _statistics_kernel
from lifegym.patterns import _count_kernel, _table_step
from lifegym.sim import (
    _ALL,
    _ONE,
    _TOP,
    _bitpacked_blocks_serial,
    _mismatch_blocks,
    _next_word,
    _popcount,
)

__all__ = [
    "JOB_COLUMNS",
    "move_blocks",
    "run_packed_jobs",
    "run_table_jobs",
    "suffix_sums",
    "test_packed",
    "test_tables",
]


#: Columns of a request's row in the ``spec`` of :func:`run_packed_jobs` /
#: :func:`run_table_jobs`: world, observed region, steps, whether the region wraps, then
#: where the request's data start in each flat buffer.
JOB_HEIGHT, JOB_WIDTH, JOB_SEEN_H, JOB_SEEN_W, JOB_STEPS, JOB_WRAPS = range(6)
JOB_CELLS_AT, JOB_SEEN_AT, JOB_DRAWS_AT, JOB_DRAWS_END, JOB_FRAMES_AT, JOB_ARENA_AT = range(6, 12)
JOB_COLUMNS = 12


@njit(cache=True, nogil=True)
def _pack_into(grid, out):
    """Bit-pack the uint8 grid (H, W) into ``out`` (nw+2, H+2) (its halo left as it is), the
    layout of ``lifegym.sim.pack_frames``."""
    for r in range(grid.shape[0]):
        row = grid[r]
        for k in range((grid.shape[1] + 63) // 64):
            word = np.uint64(0)
            for b in range(min(64, grid.shape[1] - 64 * k)):
                word |= np.uint64(row[64 * k + b]) << np.uint64(b)
            out[k + 1, r + 1] = word


@njit(cache=True, nogil=True)
def _region_words(seen_h, seen_w, out):
    """``out`` (nw+2, H+2) = the top-left ``seen_h`` x ``seen_w`` region, bit-packed (as
    ``lifegym.likelihood.packed_region``)."""
    out[:] = 0
    for k in range(1, out.shape[0] - 1):
        columns = min(max(seen_w - 64 * (k - 1), 0), 64)
        word = ~np.uint64(0)
        if columns < 64:
            word = (np.uint64(1) << np.uint64(columns)) - np.uint64(1)
        for r in range(1, seen_h + 1):
            out[k, r] = word


@njit(cache=True, nogil=True)
def _flip(flat, draws, rate, words, slot, rows, seen_h, seen_w):
    """Flip ``flat`` (the observed frames (n, h, w), flattened) at the Bernoulli positions
    ``draws`` give (as ``lifegym.observe.bernoulli_positions``), and the same bits of the
    packed frames in ``words`` (frame ``t`` from ``(t + 1) * slot``, rows of ``rows``
    words) when it is not empty; returns whether the draws ran out before the end."""
    n = flat.shape[0]
    frame = seen_h * seen_w
    position: int | np.int64 = -1  # int64 from the first draw on (numba unifies them)
    for e in draws:
        position += np.int64(min(np.floor(e / rate) + 1.0, n + 1.0))
        if position >= n:
            return False
        flat[position] ^= 1
        if words.shape[0]:
            t, rest = divmod(position, frame)
            r, c = divmod(rest, seen_w)
            at = (t + 1) * slot + (c // 64 + 1) * rows + r + 1
            words[at] ^= np.uint64(1) << np.uint64(c % 64)
    return True


@njit(cache=True, nogil=True)
def _observe_job(job, initial, frames, draws, rate, words, slot, classes, ones, zeros, later,
                 counts, stats, channel):  # fmt: skip
    """What the single env derives from one run (``observe``, the exact engine's counts,
    ``experiment_summary``'s statistics): flip the observed ``frames`` (n, h, w) (and their
    packed copy in ``words``) where ``draws`` say; add the transitions' outputs by class to
    ``ones`` / ``zeros``; ``counts`` (n, 18) and ``stats`` (n, N_STATS) of the frames.
    Returns whether the noise draws ran out (the job must run again with more)."""
    n, seen_h, seen_w = frames.shape
    needs_more = rate > 0.0 and _flip(
        frames.reshape(-1), draws, rate, words, slot, job[JOB_HEIGHT] + 2, seen_h, seen_w
    )
    zero = np.int64(0)  # not a literal: the kernel's signature is the Python callers'
    _count_kernel(initial, frames[0], classes, ones, zeros, zero, seen_h, zero, seen_w)
    margin = 0 if job[JOB_WRAPS] else 1
    if later:
        for t in range(n - 1):
            _count_kernel(
                frames[t], frames[t + 1], classes, ones, zeros,
                margin, seen_h - margin, margin, seen_w - margin,
            )  # fmt: skip
    _counts_kernel(initial[:seen_h, :seen_w].copy(), frames, job[JOB_WRAPS] == 1, counts)
    _statistics_kernel(
        counts.reshape((1, n, counts.shape[1])), float(seen_h * seen_w), 0.0, channel,
        stats.reshape((1, n, stats.shape[1])),
    )  # fmt: skip
    return needs_more


@njit(cache=True, nogil=True)
def _narrow_step(src, dst, halo, width, born, flip):
    """One torus step of a grid at most 64 cells wide, row ``r`` in word ``src[r]`` (column
    ``c`` as bit ``c``, no bit past the grid), into ``dst``: ``lifegym.sim``'s word rule
    (``_next_word``) fed what its halo refresh would give it (the wrapped edge columns as
    bit 63 of the west word and as the first bit past the grid). ``halo`` (3, H + 2) is
    scratch: each row's west, centre and east words, the edge rows repeated."""
    height = src.shape[0]
    last = np.uint64(width - 1)
    keep = _ALL >> (_TOP - last)
    west, centre, east = halo[0], halo[1], halo[2]
    for r in range(height):
        row = src[r]
        west[r + 1] = (row >> last) << _TOP
        if width < 64:
            centre[r + 1] = row | ((row & _ONE) << np.uint64(width))
            east[r + 1] = 0
        else:
            centre[r + 1] = row
            east[r + 1] = row & _ONE
    for words in (west, centre, east):
        words[0], words[height + 1] = words[height], words[1]
    for r in range(height):
        dst[r] = keep & _next_word(
            west[r], centre[r], east[r], west[r + 1], centre[r + 1], east[r + 1],
            west[r + 2], centre[r + 2], east[r + 2], born, flip,
        )  # fmt: skip


@njit(inline="always")
def _job_views(job, initials, seen):
    """A request's initial condition (H, W) and observed frames (n, h, w) in the flat
    ``initials`` and ``seen`` (its ``spec`` row ``job``)."""
    height, width, seen_h, seen_w, n = job[0], job[1], job[2], job[3], job[4]
    initial = initials[job[JOB_CELLS_AT] : job[JOB_CELLS_AT] + height * width]
    frames = seen[job[JOB_SEEN_AT] : job[JOB_SEEN_AT] + n * seen_h * seen_w]
    return initial.reshape((height, width)), frames.reshape((n, seen_h, seen_w))


@njit(cache=True, nogil=True)
def _packed_job(j, spec, initials, seen, draws, rate, born, flip, words, classes, ones, zeros,
                later, counts, stats, channel, needs_more):  # fmt: skip
    """Job ``j`` of :func:`run_packed_jobs`."""
    job = spec[j]
    height, width, seen_h, seen_w, n = job[0], job[1], job[2], job[3], job[4]
    initial, frames = _job_views(job, initials, seen)
    n_words = (width + 63) // 64 + 2
    slot = n_words * (height + 2)
    packed = words[job[JOB_ARENA_AT] : job[JOB_ARENA_AT] + (n + 2) * slot]
    grids = packed.reshape((n + 2, n_words, height + 2))
    grids[0] = 0
    _pack_into(initial, grids[0])
    mask = grids[n + 1]
    _region_words(seen_h, seen_w, mask)
    if n_words == 3:  # one word a row (as test_packed)
        rows = grids[0, 1, 1 : height + 1].copy()
        after, halo = np.empty_like(rows), np.empty((3, height + 2), dtype=np.uint64)
        for t in range(n):
            _narrow_step(rows, after, halo, width, born[j], flip[j])
            rows, after = after, rows
            for r in range(seen_h):
                for c in range(seen_w):
                    frames[t, r, c] = (rows[r] >> np.uint64(c)) & _ONE
            out = grids[t + 1]
            out[:] = 0
            for r in range(height):
                out[1, r + 1] = rows[r] & mask[1, r + 1]
    else:  # wider: the simulator's own (compiled, cached) kernel, then pack
        start = grids[0].copy().reshape((1, n_words, height + 2, 1))
        full = np.empty((1, n, height, width), dtype=np.uint8)
        _bitpacked_blocks_serial(
            start, np.empty_like(start), np.arange(1, n + 1), full, born[j], flip[j], width,
            width > 0,  # True, typed as the simulator passes it (not a literal)
        )  # fmt: skip
        for t in range(n):
            frames[t] = full[0, t, :seen_h, :seen_w]
            out = grids[t + 1]
            out[:] = 0
            _pack_into(full[0, t], out)
            for k in range(n_words):
                for r in range(height + 2):
                    out[k, r] &= mask[k, r]
    first = job[JOB_FRAMES_AT]
    needs_more[j] = _observe_job(
        job, initial, frames, draws[job[JOB_DRAWS_AT] : job[JOB_DRAWS_END]], rate, packed,
        slot, classes, ones[j], zeros[j], later, counts[first : first + n],
        stats[first : first + n], channel,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def run_packed_jobs(spec, initials, seen, draws, rate, born, flip, words, classes, ones, zeros,
                    later, counts, stats, channel, needs_more):  # fmt: skip
    """A step's requests under B/S rules, as the single env runs each (``Lab.run``, then
    :func:`_observe_job`): request ``j`` (its row of ``spec``, columns ``JOB_*``) runs its
    initial condition (uint8, flat ``initials``) ``n`` steps under rule words ``born[j]``,
    ``flip[j]`` with the bit-packed kernel; its observed frames go to ``seen`` (uint8, flat)
    and, packed as ``test_packed`` reads them (initial, frames, region mask), to ``words``
    (the arena); ``counts`` / ``stats`` get a row per frame; ``needs_more[j]`` is set when
    its noise draws ran out."""
    for j in range(spec.shape[0]):
        _packed_job(
            j, spec, initials, seen, draws, rate, born, flip, words, classes, ones, zeros, later,
            counts, stats, channel, needs_more,
        )  # fmt: skip


@njit(cache=True, nogil=True)
def _table_job(j, spec, initials, seen, draws, rate, tables, words, classes, ones, zeros, later,
               counts, stats, channel, needs_more):  # fmt: skip
    """Job ``j`` of :func:`run_table_jobs`."""
    no_words = np.zeros(0, dtype=np.uint64)
    job = spec[j]
    height, width, seen_h, seen_w, n = job[0], job[1], job[2], job[3], job[4]
    initial, frames = _job_views(job, initials, seen)
    run = np.empty((2, height, width), dtype=np.uint8)
    run[0] = initial
    for t in range(n):
        _table_step(run[t % 2], run[(t + 1) % 2], tables[j])
        frames[t] = run[(t + 1) % 2, :seen_h, :seen_w]
    first = job[JOB_FRAMES_AT]
    needs_more[j] = _observe_job(
        job, initial, frames, draws[job[JOB_DRAWS_AT] : job[JOB_DRAWS_END]], rate, no_words,
        np.int64(0), classes, ones[j], zeros[j], later, counts[first : first + n],
        stats[first : first + n], channel,
    )  # fmt: skip
    at = job[JOB_ARENA_AT]
    words[at : at + height * width] = initial.reshape(-1)
    words[at + height * width : at + height * width + frames.size] = frames.reshape(-1)


@njit(cache=True, nogil=True)
def run_table_jobs(spec, initials, seen, draws, rate, tables, words, classes, ones, zeros,
                   later, counts, stats, channel, needs_more):  # fmt: skip
    """:func:`run_packed_jobs` for any rule tables ``tables`` (K, 512); ``words`` (the
    arena, uint8) gets each request's initial condition then its observed frames."""
    for j in range(spec.shape[0]):
        _table_job(
            j, spec, initials, seen, draws, rate, tables, words, classes, ones, zeros, later,
            counts, stats, channel, needs_more,
        )  # fmt: skip


@njit(cache=True, nogil=True)
def move_blocks(cells, starts, new_starts, sizes):
    """Move block ``j`` of ``cells`` from ``starts[j]`` to ``new_starts[j]`` (``sizes[j]``
    entries), in place: the blocks ascend, and each moves towards the front past no block
    not yet moved (``new_starts[j] <= starts[j]``, ``new_starts[j] + sizes[j] <=
    new_starts[j + 1]``)."""
    for j in range(starts.shape[0]):
        source, target = starts[j], new_starts[j]
        if source != target:
            for e in range(sizes[j]):
                cells[target + e] = cells[source + e]


@njit(cache=True, nogil=True)
def test_packed(words, layout, job_trajectory, job_rule, born, flip, counts):  # fmt: skip
    """For each job ``j``: the mismatch count of B/S rule ``job_rule[j]`` (``born`` / ``flip``
    (R, 9), the bit-packed kernel's rule words) with each observed frame of trajectory
    ``job_trajectory[j]``, into ``counts[j, :n]`` (as ``lifegym.sim``'s mismatch kernel
    counts them for the single env).

    A trajectory ``t`` lives in ``words`` (uint64) from ``layout[t, 0]``, with ``layout[t]`` =
    (offset, H, W, h, w, n), packed as ``lifegym.sim.pack_frames`` packs (S = (ceil(W/64) + 2)
    x (H + 2) words a grid): its initial condition, its n observed frames at steps 1..n, and
    the mask of its observed region.
    """
    tallest = 0
    for j in range(job_trajectory.shape[0]):
        tallest = max(tallest, layout[job_trajectory[j], 1])
    scratch = np.empty((2, tallest), dtype=np.uint64)  # a one-word-row grid and its next step
    halo = np.empty((3, tallest + 2), dtype=np.uint64)
    for j in range(job_trajectory.shape[0]):
        rule = job_rule[j]
        offset, height, width, _, _, n = layout[job_trajectory[j]]
        n_words = (width + 63) // 64 + 2
        size = n_words * (height + 2)
        if n_words == 3:  # one word a row: the rows, without the halo
            rows = scratch[0, :height]
            rows[:] = words[offset + height + 3 : offset + 2 * height + 3]
            after = scratch[1, :height]
            at = offset + (n + 1) * size + height + 3
            mask = words[at : at + height]
            for t in range(1, n + 1):
                _narrow_step(rows, after, halo, width, born[rule], flip[rule])
                rows, after = after, rows
                at = offset + t * size + height + 3
                seen = words[at : at + height]
                total = np.uint64(0)
                for r in range(height):
                    total += _popcount((rows[r] ^ seen[r]) & mask[r])
                counts[j, t - 1] = total
            continue
        state = words[offset : offset + size].copy().reshape((1, n_words, height + 2, 1))
        observed = words[offset + size : offset + (n + 1) * size]
        mask = words[offset + (n + 1) * size : offset + (n + 2) * size]
        found = np.zeros((1, n), dtype=np.int64)
        _mismatch_blocks(
            state, np.empty_like(state), np.arange(1, n + 1),
            observed.reshape((1, n, n_words, height + 2)), mask.reshape((n_words, height + 2)),
            found, born[rule], flip[rule], width, width > 0,  # True, not a literal
        )  # fmt: skip
        counts[j, :n] = found[0]


@njit(cache=True, nogil=True)
def _test_tables_job(j, cells, layout, job_trajectory, job_rule, tables, counts):  # fmt: skip
    """Job ``j`` of :func:`test_tables`."""
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
def test_tables(cells, layout, job_trajectory, job_rule, tables, counts):  # fmt: skip
    """As :func:`test_packed` for any rule tables ``tables`` (R, 512), the trajectories in
    ``cells`` (uint8): the initial condition (H, W) then the n observed frames (n, h, w)."""
    for j in range(job_trajectory.shape[0]):
        _test_tables_job(j, cells, layout, job_trajectory, job_rule, tables, counts)


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
            value: float
            if mismatches:
                value = m
            elif noiseless:
                value = -np.inf if m > 0 else 0.0
            else:
                value = m * log_p + (cells[j] - m) * log_q
            total = value if i == n_frames[j] - 1 else total + value
        out[j] = total
