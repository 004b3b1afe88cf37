"""numba kernels of the ``exhaustive`` engine: many B/S rules simulated and scored at once.

Bit-slicing across rules
========================
One ``uint64`` word per cell holds that cell's state under 64 different rules: bit
(*lane*) ``j`` of the word is the cell under the group's rule ``j``. A *group* is 64
rules; its rule enters as 18 words ``words[g, b]`` (family bit ``b`` in the totalistic
order ``B0..B8, S0..S8``; lane ``j`` of the word is that bit of rule ``j``), so the same
compiled kernel serves any set of rules, whether a regular block of the rule space or an
arbitrary list.

A group's world is a ``(H + 2, W + 2)`` array of words with a one-cell halo (a copy of the
opposite edge: the torus). One step, for every cell:

* the vertical sums of each column of three cells, two bit planes, computed once per
  column of a row and shared by the three cells that use them;
* ``T``, the sum of the 3x3 block *including* the centre (0..9, four planes), from three
  adjacent vertical sums;
* the next state, ``S[T - 1]`` for a live centre and ``B[T]`` for a dead one: ten leaves
  ``lb[T] ^ (lx[T] & centre)`` and a multiplexer tree on the planes of ``T``.

Step 1 needs no adder: the initial condition is the same for every rule, so the state of
a cell after one step is the rule word of its (known) pattern class, ``words[g, idx0]``.

Scoring
=======
An observed frame is scored from per-lane counts (mismatches with the observed frame;
or, for statistics, live cells, changed cells and the 2x2-block counts). The words to
count are written to a flat scratch array and counted by ``_count_lanes``: a carry-save
adder tree over runs of 16 words (vectorised), whose planes are unpacked per lane at the
end. Block counts come from the number of blocks containing each subset of the four
cells of a block (Moebius inversion gives the 16 configuration counts); on the torus
several subsets have equal counts, so fewer need counting.

The log-likelihoods are those of ``lifegym.likelihood`` (frames: ``frame_loglik``;
statistics: ``expected_statistics`` and ``-0.5 z^2``), computed per lane.

Entry point: ``evaluate_serial``, which releases the GIL: callers split the groups over
Python threads (no numba threading layer is involved, so it is fork-safe and runs
concurrently with lifegym's other kernels). Helpers: ``pack_rules`` (rule words of a list
of rules), ``top_k``, ``top_k_where`` and ``still_in_reach`` (the pruning's bookkeeping over
every rule in one pass) and ``simulate_group`` (the states of one group, for tests).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from lifegym.inference.sparse_sums import posterior_support

_ZERO = np.uint64(0)
_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)

# Words per run of the carry-save counter (one AVX-512 register pair).
_V = 16
_ROUND = 8 * _V
_HEADROOM = 4  # bits added by summing the V columns (V = 2^4)
# Rows of a frame's last step before the first in-frame pruning check (then doubling).
_FIRST_BAND = 8

KIND_FRAMES = 0
KIND_STATS = 1


def counter_planes(n_words: int) -> int:
    """Bit planes of the counters with which ``_count_lanes`` counts ``n_words`` words:
    ones, twos, fours, the carries of up to ``n_words / (8 V)`` eights, and the headroom
    of the sum of the V columns."""
    rounds = -(-max(n_words, 1) // _ROUND)
    return 3 + max(1, int(rounds).bit_length()) + _HEADROOM


def scratch_words(n_words: int) -> int:
    """Length of the flat scratch array for ``n_words`` words (padded to whole rounds)."""
    return _ROUND * -(-max(n_words, 1) // _ROUND)


# ----------------------------------------------------------------------------- stepping


@njit(inline="always")
def _mux(a, b, s):
    return a ^ ((a ^ b) & s)


@njit(cache=True, nogil=True)
def _step_row(up, mid, down, out, v0, v1, width, lb, lx):
    """Next state of row ``mid`` (W + 2 words with halo) into ``out[1 : W + 1]``.

    ``lb`` and ``lx`` (10 words): leaf ``T`` is ``lb[T] ^ (lx[T] & centre)`` for T = 1..8,
    ``lb[0]`` (T = 0: dead centre) and ``lb[9]`` (T = 9: live centre, S8).
    """
    for c in range(width + 2):
        u = up[c]
        m = mid[c]
        d = down[c]
        x = u ^ m
        v0[c] = x ^ d
        v1[c] = (u & m) | (x & d)
    k0 = lb[0]
    k9 = lb[9]
    b1, b2, b3, b4, b5, b6, b7, b8 = lb[1], lb[2], lb[3], lb[4], lb[5], lb[6], lb[7], lb[8]
    x1, x2, x3, x4, x5, x6, x7, x8 = lx[1], lx[2], lx[3], lx[4], lx[5], lx[6], lx[7], lx[8]
    for c in range(width):
        a0 = v0[c]
        s0 = v0[c + 1]
        c0 = v0[c + 2]
        a1 = v1[c]
        s1 = v1[c + 1]
        c1 = v1[c + 2]
        m = mid[c + 1]
        x = a0 ^ s0
        t0 = x ^ c0
        cy = (a0 & s0) | (x & c0)
        p = a1 ^ s1
        q = c1 ^ cy
        t1 = p ^ q
        g1 = a1 & s1
        g2 = c1 & cy
        t2 = g1 ^ g2 ^ (p & q)
        t3 = g1 & g2
        k01 = _mux(k0, b1 ^ (x1 & m), t0)
        k23 = _mux(b2 ^ (x2 & m), b3 ^ (x3 & m), t0)
        k45 = _mux(b4 ^ (x4 & m), b5 ^ (x5 & m), t0)
        k67 = _mux(b6 ^ (x6 & m), b7 ^ (x7 & m), t0)
        k89 = _mux(b8 ^ (x8 & m), k9, t0)
        k03 = _mux(k01, k23, t1)
        k47 = _mux(k45, k67, t1)
        k07 = _mux(k03, k47, t2)
        out[c + 1] = _mux(k07, k89, t3)


@njit(inline="always")
def _refresh_columns(buf, first, stop, width):
    """Column halo (columns 0 and W + 1) of rows ``first..stop-1``: the torus wrap."""
    for r in range(first, stop):
        buf[r, 0] = buf[r, width]
        buf[r, width + 1] = buf[r, 1]


@njit(cache=True, nogil=True)
def _refresh_halo(buf, height, width):
    """Whole halo of a torus world in ``buf[: H + 2, : W + 2]``."""
    _refresh_columns(buf, 1, height + 1, width)
    buf[0, : width + 2] = buf[height, : width + 2]
    buf[height + 1, : width + 2] = buf[1, : width + 2]


@njit(inline="always")
def _gather_rows(buf, idx0, rule, first, stop, grid_row0, height):
    """Step-1 states of buffer rows ``first..stop-1``: buffer row ``i`` is grid row
    ``(i - grid_row0) mod H``; a cell's state is the rule word of its pattern class."""
    width = idx0.shape[1]
    for i in range(first, stop):
        src = idx0[(i - grid_row0) % height]
        dst = buf[i]
        for c in range(width):
            dst[c + 1] = rule[src[c]]


# ----------------------------------------------------------------------------- counting


@njit(inline="always")
def _extract(word, weight, cnt):
    """Add ``weight`` to ``cnt[lane]`` for every set bit ``lane`` of ``word``."""
    if word != _ZERO:
        for lane in range(64):
            cnt[lane] += np.int64((word >> np.uint64(lane)) & _ONE) * weight


@njit(cache=True, nogil=True)
def _count_lanes(x, n, acc, e, cnt):
    """Per-lane popcount of the words ``x[:n]``: ``cnt[lane]`` (int64, 64) = number of
    words with bit ``lane`` set. ``x`` must hold ``scratch_words(n)`` words (the tail is
    zeroed here); ``acc`` ((counter_planes(n), V)) and ``e`` (V,) are uint64 scratch.

    Each of the V columns (words ``i`` with ``i % V == v``) is a bit-sliced counter: a
    carry-save adder tree takes 8 words at a time into ones, twos and fours (rows 0..2 of
    ``acc``), whose carries ripple into the higher rows; the columns are then summed
    bit-sliced (the last ``_HEADROOM`` rows take the carries) and column 0 is unpacked.
    """
    rounds = (n + _ROUND - 1) // _ROUND
    for i in range(n, rounds * _ROUND):
        x[i] = _ZERO
    acc[:] = _ZERO
    ones = acc[0]
    twos = acc[1]
    fours = acc[2]
    n_planes = acc.shape[0]
    for i in range(rounds):
        base = i * _ROUND
        for v in range(_V):
            x0 = x[base + v]
            x1 = x[base + _V + v]
            x2 = x[base + 2 * _V + v]
            x3 = x[base + 3 * _V + v]
            x4 = x[base + 4 * _V + v]
            x5 = x[base + 5 * _V + v]
            x6 = x[base + 6 * _V + v]
            x7 = x[base + 7 * _V + v]
            o = ones[v]
            u = o ^ x0
            twos_a = (o & x0) | (u & x1)
            o = u ^ x1
            u = o ^ x2
            twos_b = (o & x2) | (u & x3)
            o = u ^ x3
            t = twos[v]
            u = t ^ twos_a
            fours_a = (t & twos_a) | (u & twos_b)
            t = u ^ twos_b
            u = o ^ x4
            twos_a = (o & x4) | (u & x5)
            o = u ^ x5
            u = o ^ x6
            twos_b = (o & x6) | (u & x7)
            o = u ^ x7
            u = t ^ twos_a
            fours_b = (t & twos_a) | (u & twos_b)
            t = u ^ twos_b
            f = fours[v]
            u = f ^ fours_a
            e[v] = (f & fours_a) | (u & fours_b)
            fours[v] = u ^ fours_b
            twos[v] = t
            ones[v] = o
        for k in range(3, n_planes - _HEADROOM):
            plane = acc[k]
            for v in range(_V):
                h = plane[v]
                c = e[v]
                plane[v] = h ^ c
                e[v] = h & c
    step = _V // 2
    while step >= 1:
        e[:] = _ZERO
        for k in range(n_planes):
            plane = acc[k]
            for v in range(step):
                a = plane[v]
                b = plane[v + step]
                c = e[v]
                t = a ^ b
                plane[v] = t ^ c
                e[v] = (a & b) | (t & c)
        step //= 2
    cnt[:] = 0
    for k in range(n_planes):
        _extract(acc[k, 0], np.int64(1) << k, cnt)


@njit(cache=True, nogil=True)
def _fill_region(x, buf, row0, rows, width, prev, invert):
    """``x`` <- region words ``buf[row0 + r, 1 + c]`` (r < rows, c < width), XORed with
    ``prev[r * width + c]`` (flat words; with ``invert``, uint8 0/1 cells made all-zero or
    all-one words) if ``prev`` is not empty."""
    k = 0
    for r in range(rows):
        src = buf[row0 + r]
        if prev.shape[0] == 0:
            for c in range(width):
                x[k + c] = src[c + 1]
        elif invert:
            for c in range(width):
                x[k + c] = src[c + 1] ^ (_ZERO - np.uint64(prev[k + c]))
        else:
            for c in range(width):
                x[k + c] = src[c + 1] ^ np.uint64(prev[k + c])
        k += width
    return k


@njit(inline="always")
def _copy_region(buf, row0, rows, width, flat):
    """``flat[r * width + c]`` <- ``buf[row0 + r, 1 + c]`` (r < rows, c < width)."""
    k = 0
    for r in range(rows):
        src = buf[row0 + r]
        for c in range(width):
            flat[k + c] = src[c + 1]
        k += width


@njit(cache=True, nogil=True)
def _fill_subset(x, buf, row0, rows, cols, mask):
    """``x`` <- for each block (r, c) (r < rows, c < cols) the AND of the cells of subset
    ``mask`` (8: top-left, 4: top-right, 2: bottom-left, 1: bottom-right)."""
    na = _ZERO if mask & 8 else _ALL
    nb = _ZERO if mask & 4 else _ALL
    nc = _ZERO if mask & 2 else _ALL
    nd = _ZERO if mask & 1 else _ALL
    k = 0
    for r in range(rows):
        top = buf[row0 + r]
        bottom = buf[row0 + r + 1]
        for c in range(cols):
            x[k + c] = (
                (top[c + 1] | na) & (top[c + 2] | nb) & (bottom[c + 1] | nc) & (bottom[c + 2] | nd)
            )
        k += cols
    return k


# ------------------------------------------------------------------------------ scoring


@njit(cache=True, nogil=True)
def _frames_loglik(cnt, cells, fparams, ll):
    """``ll[lane]`` <- ``frame_loglik(cnt[lane], cells, p)`` (``fparams`` = log p,
    log(1 - p), p == 0)."""
    log_p = fparams[0]
    log_q = fparams[1]
    exact = fparams[2] != 0.0
    for lane in range(64):
        m = cnt[lane]
        if exact:
            ll[lane] = -np.inf if m > 0 else 0.0
        else:
            ll[lane] = m * log_p + (cells - m) * log_q


@njit(cache=True, nogil=True)
def _stats_bound(counts, cells, first, q, observed, scale, ll):
    """``ll[lane]`` <- the density and activity terms of one frame's statistics
    log-likelihood (an upper bound on the whole: the block-entropy term is <= 0 too).

    ``counts`` (K, 64) int64: row 0 live cells, row 1 changed cells of each lane;
    ``observed``/``scale`` (3,) float64; ``first``: the frame follows the exact initial
    condition (as in ``likelihood.expected_statistics``).
    """
    flips = q if first else 2.0 * q * (1.0 - q)
    for lane in range(64):
        live = counts[0, lane] / cells
        changed = counts[1, lane] / cells
        density = live * (1 - q) + (1 - live) * q
        activity = changed * (1 - flips) + (1 - changed) * flips
        z0 = (density - observed[0]) / scale[0]
        z1 = (activity - observed[1]) / scale[1]
        ll[lane] = -0.5 * (z0 * z0 + z1 * z1)


@njit(cache=True, nogil=True)
def _stats_entropy(counts, n_blocks, observed, scale, channel, src, wanted, ll, hist, blocks):
    """Add the block-entropy term to ``ll[lane]`` for the lanes with ``wanted[lane]``.

    Rows 2.. of ``counts`` (K, 64) hold the counted subsets of the 2x2 block; ``src[S]``
    (16,) is the row holding the number of blocks containing subset ``S`` (-1 for the
    empty subset: ``n_blocks``). Moebius inversion gives the 16 configuration counts,
    the channel ``channel`` (16, 16) their expectation after the perturbation, then the
    plug-in entropy in bits / 4. ``hist``, ``blocks``: float64 (16, 64) scratch.
    """
    for s in range(16):
        row = hist[s]
        if src[s] < 0:
            row[:] = n_blocks
        else:
            counted = counts[src[s]]
            for lane in range(64):
                row[lane] = counted[lane]
    for bit in (1, 2, 4, 8):
        for s in range(16):
            if not s & bit:
                row = hist[s]
                upper = hist[s | bit]
                for lane in range(64):
                    row[lane] -= upper[lane]
    for j in range(16):
        row = blocks[j]
        row[:] = 0.0
        for i in range(16):
            weight = channel[i, j]
            counted = hist[i]
            for lane in range(64):
                row[lane] += counted[lane] * weight
    for lane in range(64):
        if not wanted[lane]:
            continue
        total = 0.0
        for j in range(16):
            total += blocks[j, lane]
        entropy = 0.0
        if total > 0:
            for j in range(16):
                p = blocks[j, lane] / total
                if p > 0:
                    entropy -= p * np.log2(p)
        z2 = (entropy / 4.0 - observed[2]) / scale[2]
        ll[lane] -= 0.5 * z2 * z2


@njit(cache=True, nogil=True)
def _score(
    buf, row0, rows, f, kind, obs, fparams, prev, h, w, wrap, sobs, sscale, channel,
    smasks, ssrc, bound, partial, budget, x, acc, e, counts, ll, wanted, hist, blocks,
):  # fmt: skip
    """Per-lane log-likelihood ``ll`` of observed frame ``f``, whose grid row 0 is buffer
    row ``row0`` (column c at 1 + c). Frames: only the first ``rows`` rows are scored.

    Statistics: ``prev`` (flat words) holds the previous observed clean frame and is
    replaced by this one; a wrapping region needs the halo of ``buf`` refreshed. With
    ``bound``, only the density and activity terms are scored (an upper bound); the
    block-entropy term is also left out for a lane already below its budget with them
    (``partial + ll < budget``, so its total stays an upper bound below the budget).
    ``wanted`` (bool, 64), ``hist`` and ``blocks`` (float64 (16, 64)) are scratch.
    """
    if kind == KIND_FRAMES:
        n = _fill_region(x, buf, row0, rows, w, obs[f].ravel(), True)
        _count_lanes(x, n, acc, e, counts[0])
        _frames_loglik(counts[0], n, fparams, ll)
        return
    n = _fill_region(x, buf, row0, h, w, prev[:0], False)
    _count_lanes(x, n, acc, e, counts[0])
    n = _fill_region(x, buf, row0, h, w, prev, False)
    _count_lanes(x, n, acc, e, counts[1])
    _copy_region(buf, row0, h, w, prev)
    _stats_bound(counts, h * w, f == 0, fparams[3], sobs[f], sscale[f], ll)
    if bound:
        return
    any_wanted = False
    for lane in range(64):
        wanted[lane] = not partial[lane] + ll[lane] < budget[lane]
        any_wanted |= wanted[lane]
    if not any_wanted:
        return
    block_rows = h if wrap else h - 1
    block_cols = w if wrap else w - 1
    for k in range(smasks.shape[0]):
        n = _fill_subset(x, buf, row0, block_rows, block_cols, smasks[k])
        _count_lanes(x, n, acc, e, counts[2 + k])
    _stats_entropy(
        counts, block_rows * block_cols, sobs[f], sscale[f], channel, ssrc, wanted, ll, hist,
        blocks,
    )  # fmt: skip


# ---------------------------------------------------------------------------- one group


@njit(inline="always")
def _leaves(rule, lb, lx):
    """Leaf words of the multiplexer from the 18 family-bit words of a group."""
    lb[0] = rule[0]
    lx[0] = _ZERO
    for t in range(1, 9):
        lb[t] = rule[t]
        lx[t] = rule[t] ^ rule[9 + t - 1]
    lb[9] = rule[17]
    lx[9] = _ZERO


@njit(inline="always")
def _scratch_words(n_words):
    """``scratch_words`` inside the kernels."""
    return _ROUND * ((max(n_words, 1) + _ROUND - 1) // _ROUND)


@njit(inline="always")
def _all_below(partial, ll, budget):
    """Whether every lane's ``partial + ll`` is below its ``budget``."""
    for lane in range(64):
        if not partial[lane] + ll[lane] < budget[lane]:
            return False
    return True


@njit(cache=True, nogil=True)
def evaluate_serial(
    words, idx0, times, kind, obs, init_region, fparams, sobs, sscale, channel,
    smasks, ssrc, wrap, n_frames, row_limit, light, bound, prune, budget, partial, complete,
    planes, first_scored,
):  # fmt: skip
    """Simulate each group of rules from a known initial condition and score it.

    Args:
        words: uint64 (G, 18): the rule words of each group (module doc).
        idx0: uint8 (H, W): pattern class ``9 * alive + live neighbours`` of each cell of
            the initial condition on the torus (the family bit that decides step 1).
        times: int64 (n,): observed steps, ascending, >= 1.
        kind: ``KIND_FRAMES`` or ``KIND_STATS``.
        obs: uint8 (n, h, w) observed frames (frames; else any uint8 (0, 1, 1)).
        init_region: uint8 (h, w): the initial condition in the observed region.
        fparams: float64 (4,): log p, log(1 - p), 1.0 if p == 0, stats flip probability q.
        sobs, sscale: float64 (n, 3): observed statistics and their scales (stats).
        channel: float64 (16, 16): ``q^d (1 - q)^(4 - d)`` for blocks at Hamming distance d.
        smasks: int64 (K,): subsets of the 2x2 block whose counts are taken (stats).
        ssrc: int64 (16,): for each subset, its row in the counts (module doc).
        wrap: whether 2x2 blocks wrap (the region is the whole torus).
        n_frames: score observed frames ``0..n_frames-1`` only.
        row_limit: score only the first ``row_limit`` rows of each frame (frames kind).
        light: simulate only the light cone of rows ``0..row_limit-1`` of frame 0 (then
            ``n_frames`` must be 1 and ``row_limit + 2 (times[0] - 1) < H``).
        bound: statistics: score only the density and activity terms (an upper bound).
        prune: stop a group once every lane's running total is below its ``budget``.
        budget: float64 (G, 64): per-lane threshold for ``prune``.
        partial: float64 (G, 64) out: per-lane log-likelihood of the frames scored. With
            ``first_scored > 0`` it is also an input: each lane's log-likelihood of frames
            ``0..first_scored-1``, to which the later frames' terms are added.
        complete: bool (G,) out: False where the group was stopped early.
        planes: counter planes (``counter_planes(h * w)``).
        first_scored: frames ``0..first_scored-1`` are simulated but not scored (their
            terms are in ``partial``). 0 with ``light``.

    A group's budget, partial and complete are only touched by its own evaluation, so
    disjoint slices of the groups may run concurrently (the function releases the GIL).
    """
    height, width = idx0.shape
    h, w = init_region.shape
    buf_a = np.zeros((height + 2, width + 2), dtype=np.uint64)
    buf_b = np.zeros((height + 2, width + 2), dtype=np.uint64)
    v0 = np.empty(width + 2, dtype=np.uint64)
    v1 = np.empty(width + 2, dtype=np.uint64)
    x = np.empty(_scratch_words(h * w), dtype=np.uint64)
    acc = np.empty((planes, _V), dtype=np.uint64)
    e = np.empty(_V, dtype=np.uint64)
    counts = np.zeros((2 + smasks.shape[0], 64), dtype=np.int64)
    cum = np.zeros(64, dtype=np.int64)
    prev = np.empty(h * w, dtype=np.uint64)
    ll = np.empty(64, dtype=np.float64)
    lb = np.empty(10, dtype=np.uint64)
    lx = np.empty(10, dtype=np.uint64)
    wanted = np.empty(64, dtype=np.bool_)
    hist = np.empty((16, 64), dtype=np.float64)
    blocks = np.empty((16, 64), dtype=np.float64)
    flat_init = init_region.ravel()
    for g in range(words.shape[0]):
        rule = words[g]
        part = partial[g]
        limit = budget[g]
        _leaves(rule, lb, lx)
        if kind == KIND_STATS:
            for i in range(h * w):
                prev[i] = _ZERO - np.uint64(flat_init[i])
        if first_scored == 0:
            part[:] = 0.0
        complete[g] = True
        src, dst = buf_a, buf_b
        if light:
            # Frame 0 alone, simulating only the light cone of its rows 0..row_limit-1:
            # buffer row i is grid row i - (t1 - 1); step j is valid on rows j-1..span-j.
            t1 = times[0]
            span = row_limit + 2 * (t1 - 1)
            _gather_rows(src, idx0, rule, 0, span, t1 - 1, height)
            for j in range(2, t1 + 1):
                _refresh_columns(src, j - 2, span - j + 2, width)
                for r in range(j - 1, span - j + 1):
                    _step_row(src[r - 1], src[r], src[r + 1], dst[r], v0, v1, width, lb, lx)
                src, dst = dst, src
            _score(
                src, t1 - 1, row_limit, np.int64(0), kind, obs, fparams, prev, h, w, wrap, sobs,
                sscale, channel, smasks, ssrc, bound, part, limit, x, acc, e, counts, ll,
                wanted, hist, blocks,
            )  # fmt: skip
            part[:] = ll
            continue
        # The whole torus, frame after frame. With ``prune``, the group stops once every
        # lane's running total is below its budget: checked after each observed frame,
        # and for observed frames also inside the frame's last step after rows 8, 16,
        # 32, ... (every term is <= 0, so part of a frame bounds the whole of it).
        _gather_rows(src, idx0, rule, 1, height + 1, 1, height)
        done = 1
        rows = min(row_limit, h)
        for f in range(n_frames):
            rescored = f >= first_scored  # else simulated only, for the frames after it
            banded = rescored and prune and kind == KIND_FRAMES and times[f] > done
            stopped = False
            while done < times[f]:
                _refresh_halo(src, height, width)
                if banded and done + 1 == times[f]:
                    cum[:] = 0
                    scored = 0
                    r = 0
                    stop = _FIRST_BAND
                    while r < height:
                        hi = min(stop, height)
                        for q in range(r + 1, hi + 1):
                            _step_row(src[q - 1], src[q], src[q + 1], dst[q], v0, v1, width, lb, lx)
                        top = min(hi, rows)
                        if r < top:
                            flat = obs[f].ravel()[r * w :]
                            n = _fill_region(x, dst, 1 + r, top - r, w, flat, True)
                            _count_lanes(x, n, acc, e, counts[0])
                            scored += n
                            for lane in range(64):
                                cum[lane] += counts[0, lane]
                            if top < rows:
                                _frames_loglik(cum, scored, fparams, ll)
                                if _all_below(part, ll, limit):
                                    stopped = True
                                    break
                        r = hi
                        stop *= 2
                    if stopped:
                        break
                else:
                    for q in range(1, height + 1):
                        _step_row(src[q - 1], src[q], src[q + 1], dst[q], v0, v1, width, lb, lx)
                src, dst = dst, src
                done += 1
            if stopped:
                part += ll
                complete[g] = False
                break
            if not rescored:
                if f + 1 == first_scored:
                    if kind == KIND_STATS:
                        _copy_region(src, 1, h, w, prev)
                    ll[:] = 0.0  # the check made after frame f when it was scored
                    if prune and _all_below(part, ll, limit):
                        complete[g] = False
                        break
                continue
            if banded:
                _frames_loglik(cum, rows * w, fparams, ll)
            else:
                if kind == KIND_STATS and wrap:
                    _refresh_halo(src, height, width)
                _score(
                    src, np.int64(1), rows, f, kind, obs, fparams, prev, h, w, wrap, sobs, sscale,
                    channel, smasks, ssrc, bound, part, limit, x, acc, e, counts, ll, wanted,
                    hist, blocks,
                )  # fmt: skip
            dead = prune and _all_below(part, ll, limit)
            part += ll
            if dead and f + 1 < n_frames:
                complete[g] = False
                break


@njit(cache=True, nogil=True)
def pack_rules(rules, free_bits, known):
    """Rule words (uint64 (ceil(n / 64), 18)) of the rule indices ``rules`` (int64 (n,)),
    64 to a group in order (the last group padded with the last rule): free bit ``i``
    (family bit ``free_bits[i]``) of rule ``r`` is ``(r >> i) & 1``; the other family bits
    are ``known`` (uint8 (18,))."""
    n = rules.shape[0]
    n_free = free_bits.shape[0]
    n_groups = (n + 63) // 64
    words = np.empty((n_groups, 18), dtype=np.uint64)
    lanes = np.empty(n_free, dtype=np.uint64)
    for g in range(n_groups):
        lanes[:] = _ZERO
        for lane in range(64):
            r = rules[min(64 * g + lane, n - 1)]
            for i in range(n_free):
                lanes[i] |= np.uint64((r >> i) & 1) << np.uint64(lane)
        for b in range(18):
            words[g, b] = _ALL if known[b] else _ZERO
        for i in range(n_free):
            words[g, free_bits[i]] = lanes[i]
    return words


@njit(cache=True, nogil=True)
def top_k(values, k):
    """Indices (int64, ascending) of the ``min(k, n)`` largest of ``values`` (float64
    (n,)); among equal values the lower indices win. NaN counts as smallest."""
    n = values.shape[0]
    k = min(k, n)
    best = np.empty(k, dtype=np.int64)
    for i in range(k):
        best[i] = i
    if k == 0:
        return best
    # ``worst``: the kept entry to replace first (smallest value, then highest index).
    worst = 0
    for i in range(1, k):
        if _before(values, best[worst], best[i]):
            worst = i
    for i in range(k, n):
        if _before(values, i, best[worst]):
            best[worst] = i
            worst = 0
            for j in range(1, k):
                if _before(values, best[worst], best[j]):
                    worst = j
    return np.sort(best)


@njit(cache=True, nogil=True)
def pattern_classes(grid):
    """uint8 (H, W): ``9 * alive + live neighbours`` of each cell of ``grid`` (uint8 0/1
    (H, W)) on the torus."""
    height, width = grid.shape
    classes = np.empty((height, width), dtype=np.uint8)
    for r in range(height):
        up = grid[(r - 1) % height]
        mid = grid[r]
        down = grid[(r + 1) % height]
        for c in range(width):
            left = (c - 1) % width
            right = (c + 1) % width
            live = (
                np.int64(up[left]) + up[c] + up[right] + mid[left] + mid[right]
                + down[left] + down[c] + down[right]
            )  # fmt: skip
            classes[r, c] = 9 * mid[c] + live
    return classes


@njit(cache=True, nogil=True)
def drop_rules(loglik, exact, rules, bounds, dropped):
    """For each ``i`` with ``dropped[i]``: ``loglik[r] = bounds[i]`` and ``exact[r] = False``
    for rule ``r = rules[i]`` (``r = i`` when ``rules`` is empty)."""
    identity = rules.shape[0] == 0
    for i in range(dropped.shape[0]):
        if dropped[i]:
            r = i if identity else rules[i]
            loglik[r] = bounds[i]
            exact[r] = False


@njit(cache=True, nogil=True)
def revival_candidates(loglik, exact, margin, reach):
    """``sparse_sums.posterior_support(loglik, exact, reach)`` (the best exact
    log-likelihood ``best`` and the exact rules within ``reach`` of it) and, in one more
    pass, the rules (int64, ascending) that are not exact with ``loglik >= best - margin``."""
    best, support = posterior_support(loglik, exact, reach)
    floor = best - margin
    revive = np.empty(loglik.shape[0], dtype=np.int64)
    count = 0
    for r in range(loglik.shape[0]):
        if not exact[r] and loglik[r] >= floor:
            revive[count] = r
            count += 1
    return best, revive[:count].copy(), support


@njit(cache=True, nogil=True)
def top_k_where(values, mask, k):
    """``top_k`` among the entries with ``mask`` (bool (n,)): indices (int64, ascending,
    into ``values``) of the ``min(k, mask.sum())`` largest; ties: lower index first."""
    candidates = np.flatnonzero(mask)
    picked = top_k(values[candidates], k)
    return candidates[picked]


@njit(cache=True, nogil=True)
def still_in_reach(values, floor, done, exact_before, exact):
    """Rules not ``done`` with ``values >= floor`` (int64, ascending), in one pass; also
    ``exact`` (bool (n,), out) <- ``exact_before`` for those and the ``done`` rules, False
    for every other rule."""
    n = values.shape[0]
    found = np.empty(n, dtype=np.int64)
    count = 0
    for i in range(n):
        if done[i]:
            exact[i] = exact_before[i]
        elif values[i] >= floor:
            exact[i] = exact_before[i]
            found[count] = i
            count += 1
        else:
            exact[i] = False
    return found[:count].copy()


@njit(inline="always")
def _before(values, i, j):
    """Whether index ``i`` ranks before ``j``: larger value (NaN smallest), then lower index."""
    a = values[i]
    b = values[j]
    if a == b or (a != a and b != b):
        return i < j
    if a != a:
        return False
    if b != b:
        return True
    return a > b


@njit(cache=True, nogil=True)
def simulate_group(rule, idx0, steps):
    """States of one group of rules at steps ``1..steps``: uint64 (steps, H, W), bit ``j``
    of a word the cell under the group's rule ``j``. ``rule``: uint64 (18,) rule words;
    ``idx0``: uint8 (H, W) pattern classes of the initial condition (see
    ``evaluate_serial``). The same stepping code as the scoring kernels (for tests)."""
    height, width = idx0.shape
    out = np.empty((steps, height, width), dtype=np.uint64)
    src = np.zeros((height + 2, width + 2), dtype=np.uint64)
    dst = np.zeros((height + 2, width + 2), dtype=np.uint64)
    v0 = np.empty(width + 2, dtype=np.uint64)
    v1 = np.empty(width + 2, dtype=np.uint64)
    lb = np.empty(10, dtype=np.uint64)
    lx = np.empty(10, dtype=np.uint64)
    _leaves(rule, lb, lx)
    if steps == 0:
        return out
    _gather_rows(src, idx0, rule, 1, height + 1, 1, height)
    out[0] = src[1 : height + 1, 1 : width + 1]
    for t in range(1, steps):
        _refresh_halo(src, height, width)
        for r in range(1, height + 1):
            _step_row(src[r - 1], src[r], src[r + 1], dst[r], v0, v1, width, lb, lx)
        src, dst = dst, src
        out[t] = src[1 : height + 1, 1 : width + 1]
    return out
