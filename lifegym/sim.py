"""The simulator: run a rule on binary grids, on a torus or with a dead border.

Two numba kernels do the work; everything else here is validation and bookkeeping.

* **Bit-packed** (outer-totalistic rules): 64 cells per ``uint64`` word, the eight
  neighbours counted with bit-sliced adders into four count planes, the rule applied
  as a multiplexer tree on those planes. The rule enters as 18 all-ones/all-zeros
  words, so one compiled kernel serves all 2^18 B/S rules. Words are stored word-column
  major, so the vectorised inner loop runs down the rows of a grid even when a row is a
  single word; batches of narrow grids instead put the grids of a block side by side
  ("lanes") and vectorise across them.
* **Table** (every family): one byte per cell; the 9-bit pattern index of a whole row
  is computed in one vectorised pass, then each cell is one lookup in the 512-entry table.

Threads: a batch is split across threads one grid (or block of grids) each, with all
steps and frame recording inside one parallel call; only a single grid of at least
``_ROW_SPLIT_MIN_CELLS`` cells has its rows split, synchronising every step. Calls with
little work run on one thread (see ``_threads``).

Both kernels pad the grid with a halo (one row above and below; one cell, or one bit,
left and right) that is refreshed before every step: a copy of the opposite edge on the
torus, zeros for the dead border. Pattern indices follow ``lifegym.rules``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import numba
import numpy as np
from numba import njit, prange

from lifegym.cells import as_cells
from lifegym.rules import Rule, family_contains

__all__ = ["simulate"]

Boundary = Literal["torus", "dead"]
BOUNDARIES = ("torus", "dead")
KERNELS = ("auto", "bitpacked", "table")

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_TOP = np.uint64(63)

# Narrow grids (at most this many words per row) in batches use the lane kernel.
_LANE_MAX_WORDS = 4
_LANE_BLOCK = 64
# A single grid has its rows split over threads, with a synchronisation every step, only
# from this many cells on: below it the step is too short to pay for the synchronisation,
# which costs far more still when other processes compete for the cores.
_ROW_SPLIT_MIN_CELLS = 1 << 20
# Work (cell updates) below which a call runs on one thread: starting and joining the other
# threads would cost more than they save, and idle threads spinning at the join steal the
# core from other processes.
_SERIAL_MAX_PACKED_WORK = 1 << 22
_SERIAL_MAX_TABLE_WORK = 1 << 18
# Rows per tile of the bit-packed kernels (3 word columns of a tile stay in L1).
_TILE_ROWS = 256


# --------------------------------------------------------------------------- bit-packed


def rule_masks(birth: np.ndarray, survival: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule words for the bit-packed kernel from two bool[9] arrays (index = neighbour count).

    Returns ``(born, flip)``: ``born[n]`` is all ones when a dead cell with ``n`` live
    neighbours is born; ``flip[n] = born[n] ^ survives[n]``, so the next state of a cell
    with ``n`` neighbours is ``born[n] ^ (flip[n] & alive)``.
    """
    born = np.where(np.asarray(birth, dtype=bool), _ALL, np.uint64(0)).astype(np.uint64)
    survives = np.where(np.asarray(survival, dtype=bool), _ALL, np.uint64(0)).astype(np.uint64)
    return born, born ^ survives


@njit(inline="always")
def _next_word(u0, u1, u2, m0, m1, m2, d0, d1, d2, born, flip):
    """Next state of the 64 cells in word ``m1``.

    ``u*``, ``m*``, ``d*`` are the words west of, at and east of the cell word in the row
    above, the row itself and the row below.
    """
    # The row above and below: the sum of three horizontal cells as two bit planes.
    uw = (u1 << _ONE) | (u0 >> _TOP)
    ue = (u1 >> _ONE) | (u2 << _TOP)
    ux = uw ^ u1
    a0 = ux ^ ue
    a1 = (uw & u1) | (ux & ue)
    dw = (d1 << _ONE) | (d0 >> _TOP)
    de = (d1 >> _ONE) | (d2 << _TOP)
    dx = dw ^ d1
    b0 = dx ^ de
    b1 = (dw & d1) | (dx & de)
    # The row itself: the two horizontal neighbours only.
    mw = (m1 << _ONE) | (m0 >> _TOP)
    me = (m1 >> _ONE) | (m2 << _TOP)
    s0 = mw ^ me
    s1 = mw & me
    # Add the three 2-bit sums into the count planes c3 c2 c1 c0 (0..8).
    t = a0 ^ s0
    c0 = t ^ b0
    carry = (a0 & s0) | (t & b0)
    p = a1 & s1
    q = b1 & carry
    u = a1 ^ s1
    v = b1 ^ carry
    c1 = u ^ v
    c2 = (p ^ q) | (u & v)
    c3 = p & q
    # Per count, the next state given the centre; then a multiplexer tree on the count.
    k0 = born[0] ^ (flip[0] & m1)
    k1 = born[1] ^ (flip[1] & m1)
    k2 = born[2] ^ (flip[2] & m1)
    k3 = born[3] ^ (flip[3] & m1)
    k4 = born[4] ^ (flip[4] & m1)
    k5 = born[5] ^ (flip[5] & m1)
    k6 = born[6] ^ (flip[6] & m1)
    k7 = born[7] ^ (flip[7] & m1)
    k8 = born[8] ^ (flip[8] & m1)
    k01 = k0 ^ ((k0 ^ k1) & c0)
    k23 = k2 ^ ((k2 ^ k3) & c0)
    k45 = k4 ^ ((k4 ^ k5) & c0)
    k67 = k6 ^ ((k6 ^ k7) & c0)
    k03 = k01 ^ ((k01 ^ k23) & c1)
    k47 = k45 ^ ((k45 ^ k67) & c1)
    k07 = k03 ^ ((k03 ^ k47) & c2)
    return k07 ^ ((k07 ^ k8) & c3)


@njit(inline="always")
def _refresh_packed_halo(x, width, torus):
    """Refresh the halo of one packed block ``x`` (nw+2, H+2, L): L grids side by side.

    The layout is word-column major: ``x[k, r]`` is word ``k`` of row ``r``, and column
    ``p`` of a row is bit ``p % 64`` of word ``1 + p // 64``. Column -1 (bit 63 of word 0)
    and column ``width`` (the first bit past the grid) hold the wrapped edge columns on the
    torus and zeros for the dead border; all other bits past the grid are cleared. Rows 0
    and H+1 hold the wrapped edge rows, or zeros.
    """
    n_words = x.shape[0] - 2
    height = x.shape[1] - 2
    lanes = x.shape[2]
    last = 1 + (width - 1) // 64
    last_bit = np.uint64((width - 1) % 64)
    pad = 1 + width // 64
    pad_bit = np.uint64(width % 64)
    keep = _ALL >> (_TOP - last_bit)
    west, first, final, east = x[0], x[1], x[last], x[n_words + 1]
    for r in range(1, height + 1):
        for lane in range(lanes):
            final[r, lane] &= keep
            east[r, lane] = 0
            west[r, lane] = (final[r, lane] >> last_bit) << _TOP if torus else 0
    if torus:
        wrapped = x[pad]  # the word column holding column ``width``: ``final`` or ``east``
        for r in range(1, height + 1):
            for lane in range(lanes):
                wrapped[r, lane] |= (first[r, lane] & _ONE) << pad_bit
    for k in range(n_words + 2):
        if torus:
            x[k, 0] = x[k, height]
            x[k, height + 1] = x[k, 1]
        else:
            x[k, 0] = 0
            x[k, height + 1] = 0


@njit(inline="always")
def _packed_rows(src, dst, first, stop, born, flip):
    """Compute rows ``first..stop-1`` of ``dst`` (nw+2, H+2) from ``src``.

    The inner loop runs down a word column (so it vectorises even for one-word rows); the
    rows are taken in tiles so that the three columns a tile reads stay in the L1 cache.
    Slicing each tile and looping from 0 matters: with variable loop bounds instead, LLVM
    emits scalar code (measured 5x slower).
    """
    n_words = src.shape[0] - 2
    for tile in range(first, stop, _TILE_ROWS):
        tile_stop = min(tile + _TILE_ROWS, stop)
        for k in range(1, n_words + 1):
            west = src[k - 1, tile - 1 : tile_stop + 1]
            col = src[k, tile - 1 : tile_stop + 1]
            east = src[k + 1, tile - 1 : tile_stop + 1]
            out = dst[k, tile:tile_stop]
            for r in range(tile_stop - tile):
                out[r] = _next_word(
                    west[r], col[r], east[r], west[r + 1], col[r + 1], east[r + 1],
                    west[r + 2], col[r + 2], east[r + 2], born, flip,
                )


@njit(inline="always")
def _unpack_rows(x, lane, out, first, stop):
    """Rows ``first..stop-1`` of the grid in ``lane`` of block ``x`` (nw+2, H+2, L) into
    ``out`` (H, W) uint8."""
    width = out.shape[1]
    for r in range(first, stop):
        row = out[r]
        for k in range(x.shape[0] - 2):
            word = x[k + 1, r + 1, lane]
            start = 64 * k
            for c in range(start, min(start + 64, width)):
                row[c] = (word >> np.uint64(c - start)) & _ONE


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_run_grids(a, b, recorded, frames, born, flip, width, torus):
    """Run each grid of ``a`` (G, nw+2, H+2) in its own thread, recording frames.

    ``frames[g, i]`` (frames: G, F, H, W) receives the grid at step ``recorded[i]``
    (ascending). ``b`` is scratch of the same shape; both are overwritten.
    """
    height = a.shape[2] - 2
    shape = (a.shape[1], a.shape[2], 1)
    for g in prange(a.shape[0]):
        src, dst = a[g], b[g]
        done = 0
        for i in range(recorded.shape[0]):
            while done < recorded[i]:
                _refresh_packed_halo(src.reshape(shape), width, torus)
                _packed_rows(src, dst, 1, height + 1, born, flip)
                src, dst = dst, src
                done += 1
            _unpack_rows(src.reshape(shape), 0, frames[g, i], 0, height)


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_run_lanes(a, b, recorded, frames, born, flip, width, torus):
    """As ``_bitpacked_run_grids`` for blocks of L grids ``a`` (G, nw+2, H+2, L), the inner
    loop over the grids of a block (narrow grids: a row is only a word or a few).

    Grid ``n = g * L + lane`` is recorded in ``frames[n]`` (lanes past the batch are padding).
    """
    n_words = a.shape[1] - 2
    height = a.shape[2] - 2
    lanes = a.shape[3]
    for g in prange(a.shape[0]):
        src, dst = a[g], b[g]
        done = 0
        for i in range(recorded.shape[0]):
            while done < recorded[i]:
                _refresh_packed_halo(src, width, torus)
                for k in range(1, n_words + 1):
                    for r in range(1, height + 1):
                        u0, u1, u2 = src[k - 1, r - 1], src[k, r - 1], src[k + 1, r - 1]
                        m0, m1, m2 = src[k - 1, r], src[k, r], src[k + 1, r]
                        d0, d1, d2 = src[k - 1, r + 1], src[k, r + 1], src[k + 1, r + 1]
                        out = dst[k, r]
                        for lane in range(lanes):
                            out[lane] = _next_word(
                                u0[lane], u1[lane], u2[lane], m0[lane], m1[lane], m2[lane],
                                d0[lane], d1[lane], d2[lane], born, flip,
                            )
                src, dst = dst, src
                done += 1
            for lane in range(min(lanes, frames.shape[0] - g * lanes)):
                _unpack_rows(src, lane, frames[g * lanes + lane, i], 0, height)


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_steps_split(a, b, steps, born, flip, width, torus, n_chunks):
    """Advance one grid ``a`` (nw+2, H+2) by ``steps``, its rows split in ``n_chunks`` over
    the threads (a synchronisation every step). The result is in ``a`` if ``steps`` is even,
    else in ``b``."""
    height = a.shape[1] - 2
    shape = (a.shape[0], a.shape[1], 1)
    src, dst = a, b
    for _ in range(steps):
        _refresh_packed_halo(src.reshape(shape), width, torus)
        for chunk in prange(n_chunks):
            first = 1 + chunk * height // n_chunks
            stop = 1 + (chunk + 1) * height // n_chunks
            _packed_rows(src, dst, first, stop, born, flip)
        src, dst = dst, src


@njit(parallel=True, cache=True, nogil=True)
def _unpack_split(x, out, n_chunks):
    """Unpack one grid ``x`` (nw+2, H+2) into ``out`` (H, W), rows split in ``n_chunks``."""
    height = out.shape[0]
    shape = (x.shape[0], x.shape[1], 1)
    for chunk in prange(n_chunks):
        _unpack_rows(
            x.reshape(shape), 0, out, chunk * height // n_chunks, (chunk + 1) * height // n_chunks
        )


def _pack(grids: np.ndarray, blocks: int, lanes: int) -> np.ndarray:
    """Bit-pack uint8 grids (B, H, W) into blocks (blocks, nw+2, H+2, lanes) with a halo.

    Grid ``n`` goes to block ``n // lanes``, lane ``n % lanes``; its word ``k`` of row ``r``
    sits at ``[k + 1, r + 1]`` and holds columns ``64k .. 64k+63`` (column ``c`` is bit
    ``c % 64``). Lanes past the batch hold empty grids.
    """
    n_grids, height, width = grids.shape
    n_words = (width + 63) // 64
    row_bytes = np.zeros((blocks * lanes, height, n_words * 8), dtype=np.uint8)
    row_bytes[:n_grids, :, : (width + 7) // 8] = np.packbits(grids, axis=-1, bitorder="little")
    words = row_bytes.view("<u8").astype(np.uint64, copy=False)
    packed = np.zeros((blocks, n_words + 2, height + 2, lanes), dtype=np.uint64)
    packed[:, 1:-1, 1:-1, :] = words.reshape(blocks, lanes, height, n_words).transpose(0, 3, 2, 1)
    return packed


def _run_bitpacked(
    grids: np.ndarray, rule: Rule, torus: bool, recorded: np.ndarray, frames: np.ndarray
) -> None:
    """Fill ``frames`` (B, F, H, W) with the bit-packed kernel; the loop order suits the shape.

    Batches of narrow grids run with the inner loop over grids, anything else with the inner
    loop down the rows of a grid; one grid of at least ``_ROW_SPLIT_MIN_CELLS`` cells has its
    rows split over the threads.
    """
    n_grids, height, width = grids.shape
    args = (*_packed_rule(rule), width, torus)
    work = n_grids * height * width * max(1, int(recorded[-1]))
    n_words = (width + 63) // 64
    if n_grids > 1 and n_words <= _LANE_MAX_WORDS:
        blocks = max(numba.get_num_threads(), -(-n_grids // _LANE_BLOCK))
        lanes = -(-n_grids // blocks)
        blocks = -(-n_grids // lanes)
        state = _pack(grids, blocks, lanes)
        with _threads(blocks, work < _SERIAL_MAX_PACKED_WORK):
            _bitpacked_run_lanes(state, np.empty_like(state), recorded, frames, *args)
    elif n_grids > 1 or height * width < _ROW_SPLIT_MIN_CELLS:
        state = _pack(grids, n_grids, 1)[..., 0]
        with _threads(n_grids, work < _SERIAL_MAX_PACKED_WORK):
            _bitpacked_run_grids(state, np.empty_like(state), recorded, frames, *args)
    else:
        state = _pack(grids, 1, 1)[0, ..., 0]
        scratch = np.empty_like(state)
        chunks = min(height, 4 * numba.get_num_threads())
        done = 0
        for i, step in enumerate(recorded):
            _bitpacked_steps_split(state, scratch, step - done, *args, chunks)
            if (step - done) % 2:
                state, scratch = scratch, state
            done = step
            _unpack_split(state, frames[0, i], chunks)


@functools.lru_cache(maxsize=1024)
def _packed_rule(rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """The bit-packed kernel's rule words of an outer-totalistic rule (cached per rule)."""
    counts = np.arange(9)
    return rule_masks(np.isin(counts, rule.birth), np.isin(counts, rule.survival))


@functools.lru_cache(maxsize=1024)
def _is_totalistic(rule: Rule) -> bool:
    return family_contains("totalistic", rule.table)


@contextmanager
def _threads(parallel_items: int, serial: bool) -> Iterator[None]:
    """Run the block with one thread if ``serial``, else with at most ``parallel_items``."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1 if serial else max(1, min(previous, parallel_items)))
    try:
        yield
    finally:
        numba.set_num_threads(previous)


# --------------------------------------------------------------------------------- table


@njit(inline="always")
def _refresh_byte_halo(x, torus):
    """Refresh the one-cell halo of one uint8 grid ``x`` (H+2, W+2)."""
    height = x.shape[0] - 2
    width = x.shape[1] - 2
    for r in range(1, height + 1):
        x[r, 0] = x[r, width] if torus else 0
        x[r, width + 1] = x[r, 1] if torus else 0
    if torus:
        x[0] = x[height]
        x[height + 1] = x[1]
    else:
        x[0] = 0
        x[height + 1] = 0


@njit(inline="always")
def _table_rows(src, dst, first, stop, table, index):
    """Compute rows ``first..stop-1`` of ``dst`` (H+2, W+2) from ``src``.

    Two passes per row: the 9-bit pattern index of every cell into ``index`` (W+2 uint16
    scratch; a loop the compiler vectorises), then the table lookups.
    """
    width = src.shape[1] - 2
    for r in range(first, stop):
        up, mid, down, out = src[r - 1], src[r], src[r + 1], dst[r]
        for c in range(1, width + 1):
            index[c] = (
                (np.uint16(up[c - 1]) << 8) | (np.uint16(up[c]) << 7)
                | (np.uint16(up[c + 1]) << 6) | (np.uint16(mid[c - 1]) << 5)
                | (np.uint16(mid[c]) << 4) | (np.uint16(mid[c + 1]) << 3)
                | (np.uint16(down[c - 1]) << 2) | (np.uint16(down[c]) << 1)
                | np.uint16(down[c + 1])
            )
        for c in range(1, width + 1):
            out[c] = table[index[c]]


@njit(parallel=True, cache=True, nogil=True)
def _table_run_grids(a, b, recorded, frames, table, torus):
    """Run each grid of ``a`` (G, H+2, W+2) in its own thread, recording frames.

    ``frames[g, i]`` receives the grid at step ``recorded[i]`` (ascending); ``b`` is scratch.
    """
    height = a.shape[1] - 2
    width = a.shape[2] - 2
    for g in prange(a.shape[0]):
        index = np.empty(a.shape[2], dtype=np.uint16)
        src, dst = a[g], b[g]
        done = 0
        for i in range(recorded.shape[0]):
            while done < recorded[i]:
                _refresh_byte_halo(src, torus)
                _table_rows(src, dst, 1, height + 1, table, index)
                src, dst = dst, src
                done += 1
            frames[g, i] = src[1 : height + 1, 1 : width + 1]


@njit(parallel=True, cache=True, nogil=True)
def _table_steps_split(a, b, steps, table, torus, n_chunks):
    """Advance one grid ``a`` (H+2, W+2) by ``steps``, its rows split in ``n_chunks`` over
    the threads. The result is in ``a`` if ``steps`` is even, else in ``b``."""
    height = a.shape[0] - 2
    index = np.empty((n_chunks, a.shape[1]), dtype=np.uint16)
    src, dst = a, b
    for _ in range(steps):
        _refresh_byte_halo(src, torus)
        for chunk in prange(n_chunks):
            first = 1 + chunk * height // n_chunks
            stop = 1 + (chunk + 1) * height // n_chunks
            _table_rows(src, dst, first, stop, table, index[chunk])
        src, dst = dst, src


def _run_table(
    grids: np.ndarray, rule: Rule, torus: bool, recorded: np.ndarray, frames: np.ndarray
) -> None:
    """Fill ``frames`` (B, F, H, W) with the table kernel (any rule)."""
    n_grids, height, width = grids.shape
    state = np.zeros((n_grids, height + 2, width + 2), dtype=np.uint8)
    state[:, 1:-1, 1:-1] = grids
    table = np.ascontiguousarray(rule.table)
    if n_grids > 1 or height * width < _ROW_SPLIT_MIN_CELLS:
        work = n_grids * height * width * max(1, int(recorded[-1]))
        with _threads(n_grids, work < _SERIAL_MAX_TABLE_WORK):
            _table_run_grids(state, np.empty_like(state), recorded, frames, table, torus)
        return
    state, scratch = state[0], np.empty_like(state[0])
    chunks = min(height, 4 * numba.get_num_threads())
    done = 0
    for i, step in enumerate(recorded):
        _table_steps_split(state, scratch, step - done, table, torus, chunks)
        if (step - done) % 2:
            state, scratch = scratch, state
        done = step
        frames[0, i] = state[1:-1, 1:-1]


# ------------------------------------------------------------------------- validation


def _as_rule(rule: Rule | str) -> Rule:
    if isinstance(rule, Rule):
        return rule
    if isinstance(rule, str):
        return Rule.parse(rule)
    raise TypeError(f"rule must be a lifegym.Rule or a rule string, got {type(rule).__name__}")


def _as_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an int >= 0, got {steps!r}")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    return int(steps)


def recorded_steps(steps: int, record: str | int) -> list[int]:
    """The step numbers ``simulate`` returns frames for, in order.

    ``"all"``: 0..steps; ``"last"``: only ``steps``; an int ``k >= 1``: 0, k, 2k, ...
    and ``steps`` itself when it is not a multiple of ``k``.
    """
    if isinstance(record, str):
        if record == "all":
            return list(range(steps + 1))
        if record == "last":
            return [steps]
        raise ValueError(f"record must be 'all', 'last' or an int >= 1, got {record!r}")
    if isinstance(record, bool) or not isinstance(record, (int, np.integer)) or record < 1:
        raise ValueError(f"record must be 'all', 'last' or an int >= 1, got {record!r}")
    recorded = list(range(0, steps + 1, int(record)))
    if recorded[-1] != steps:
        recorded.append(steps)
    return recorded


# --------------------------------------------------------------------------------- API


def simulate(
    rule: Rule | str,
    init: np.ndarray,
    steps: int,
    *,
    boundary: Boundary = "torus",
    record: str | int = "all",
    kernel: str = "auto",
) -> np.ndarray:
    """Run ``rule`` from ``init`` for ``steps`` steps.

    Args:
        rule: a ``Rule`` or any string ``Rule.parse`` accepts (``"B3/S23"``, Hensel, MAP).
        init: initial grid(s), shape (H, W) or (B, H, W), any H, W >= 1; bool, or an
            integer dtype holding only 0 and 1. Not modified.
        steps: number of steps, >= 0.
        boundary: ``"torus"`` (edges wrap) or ``"dead"`` (cells outside the grid are
            always 0; a B0 rule then acts only inside).
        record: which frames to return: ``"all"`` (0..steps), ``"last"`` (only the
            final one), or an int ``k`` (every k-th step from 0, plus the final step).
            Only recorded frames are unpacked and stored, so long runs stay small.
        kernel: ``"auto"`` (bit-packed for outer-totalistic tables, else table lookup),
            ``"bitpacked"`` (outer-totalistic rules only) or ``"table"`` (any rule).

    Returns:
        uint8 array of shape (F, H, W), or (B, F, H, W) for a batch, where F is the number
        of recorded frames (``steps + 1`` for ``"all"``, 1 for ``"last"``).
    """
    rule = _as_rule(rule)
    cells = as_cells(init, "init", {2: "(H, W)", 3: "(B, H, W)"})
    batched = cells.ndim == 3
    grids = cells if batched else cells[None]
    steps = _as_steps(steps)
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    recorded = recorded_steps(steps, record)
    totalistic = _is_totalistic(rule)
    if kernel == "bitpacked" and not totalistic:
        raise ValueError(
            f"kernel='bitpacked' needs an outer-totalistic rule; {rule} is not "
            "(use kernel='table' or 'auto')"
        )
    use_bitpacked = kernel == "bitpacked" or (kernel == "auto" and totalistic)
    run = _run_bitpacked if use_bitpacked else _run_table
    frames = np.empty((grids.shape[0], len(recorded), *grids.shape[1:]), dtype=np.uint8)
    run(grids, rule, boundary == "torus", np.asarray(recorded, dtype=np.int64), frames)
    return frames if batched else frames[0]
