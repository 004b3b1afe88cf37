"""The simulator: run a rule on binary grids, on a torus or with a dead border.

Two kinds of numba kernel do the work; everything else here is validation and bookkeeping.

* **Bit-packed** (outer-totalistic rules): 64 cells per ``uint64`` word, the eight
  neighbours counted with bit-sliced adders into four count planes, the rule applied
  as a multiplexer tree on those planes. The rule enters as 18 all-ones/all-zeros
  words, so one compiled kernel serves all 2^18 B/S rules. Words are stored word-column
  major, so the vectorised inner loop runs down the rows of a grid even when a row is a
  single word; batches of narrow grids instead put the grids of a block side by side
  ("lanes") and vectorise across them.
* **Table** (every family): one byte per cell; the 9-bit pattern index of a whole row
  is computed in one vectorised pass, then each cell is one lookup in the 512-entry table.
  Golly's hexagonal and von Neumann rules (families ``hex``, ``vonneumann``) are tables
  like any other and run here (about 10x slower than bit-packed B/S rules), unless their
  table happens to be Moore outer-totalistic too.

Threads: a batch is split across threads one grid (or block of grids) each, with all
steps and frame recording inside one parallel call. A single grid of at least
``_ROW_SPLIT_MIN_CELLS`` cells is split into bands of rows with overlapping halos, so the
threads meet only every ``_BAND_HALO`` steps. Calls with little work run on the calling
thread alone (``_use_threads``), through separately compiled serial kernels. numba's
threading layer defaults to a fork-safe one (see ``_PARALLEL_LOCK``).

Both kernels pad the grid with a halo (one row above and below; one cell, or one bit,
left and right) that is refreshed before every step: a copy of the opposite edge on the
torus, zeros for the dead border. Pattern indices follow ``lifegym.neighbourhoods``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Literal

import numba
import numpy as np
from numba import njit, prange

from lifegym.cells import as_cells, kernel_input
from lifegym.families import TOTALISTIC, family_contains
from lifegym.rules import Rule

__all__ = [
    "agreeing_rules",
    "bs_rule_words",
    "count_mismatches",
    "is_outer_totalistic",
    "pack_frames",
    "same_observations",
    "same_trajectories",
    "simulate",
]

Boundary = Literal["torus", "dead"]
BOUNDARIES = ("torus", "dead")
KERNELS = ("auto", "bitpacked", "table")

_ONE = np.uint64(1)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_MASK_WORDS = np.array([0, 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
_TOP = np.uint64(63)

# Narrow grids (at most this many words per row) in batches use the lane kernel.
_LANE_MAX_WORDS = 4
# _BYTE_CELLS[v] = the 8 cells of byte v, lowest bit first.
_BYTE_CELLS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
_LANE_BLOCK = 64
# Work (cell updates) below which a call runs on the calling thread alone: starting the
# other threads costs more than they save (about 100 us with numba's workqueue layer).
_SERIAL_MAX_PACKED_WORK = 1 << 23
_SERIAL_MAX_TABLE_WORK = 1 << 19
# A single grid is split over the threads in bands of rows only from this many cells on.
# Each band takes ``_BAND_HALO`` extra rows on either side, so it can run that many steps
# before the bands exchange rows: one thread launch per ``_BAND_HALO`` steps, not per step.
_ROW_SPLIT_MIN_CELLS = 1 << 20
_BAND_HALO = 32
# Rows per tile of the bit-packed kernels (3 word columns of a tile stay in L1).
_TILE_ROWS = 256

# numba's OpenMP layer (GNU libgomp) kills any process forked after a parallel call, which
# breaks multiprocessing vector environments; the workqueue layer is fork-safe. Unless the
# user chose a layer (NUMBA_THREADING_LAYER), take a fork-safe one. The workqueue layer is
# not safe for concurrent parallel calls from several threads: _PARALLEL_LOCK serialises
# lifegym's (each uses every core anyway); the serial kernels run concurrently.
# (numba.config sets its options through globals() at import: mypy cannot see them.)
if numba.config.THREADING_LAYER == "default":  # type: ignore[attr-defined]
    numba.config.THREADING_LAYER = "forksafe"  # type: ignore[attr-defined]
_PARALLEL_LOCK = threading.Lock()


def _band_count(n_grids: int, height: int, width: int) -> int:
    """How many bands of rows to split a call into: 0 unless it is one grid of at least
    ``_ROW_SPLIT_MIN_CELLS`` cells tall enough for two bands or more (one per thread)."""
    bands = min(numba.get_num_threads(), height // (4 * _BAND_HALO))
    return bands if n_grids == 1 and height * width >= _ROW_SPLIT_MIN_CELLS and bands > 1 else 0


def _run_either(
    parallel: Callable[..., None], serial: Callable[..., None], use_threads: bool, *args: object
) -> None:
    """Call the parallel kernel (under ``_PARALLEL_LOCK``) or its serial twin."""
    if use_threads:
        with _PARALLEL_LOCK:
            parallel(*args)
    else:
        serial(*args)


def _use_threads(items: int, work: int, serial_max: int) -> bool:
    """Whether a call with ``items`` independent pieces and ``work`` cell updates should
    run on all threads (else it runs on the calling thread)."""
    return items > 1 and work >= serial_max and numba.get_num_threads() > 1


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
def _refresh_packed_columns(x, width, torus):
    """Refresh the column halo of every row of a packed block ``x`` (nw+2, R, L).

    The layout is word-column major: ``x[k, r]`` is word ``k`` of row ``r`` (L grids side
    by side in the last axis), and column ``p`` of a row is bit ``p % 64`` of word
    ``1 + p // 64``. Column -1 (bit 63 of word 0) and column ``width`` (the first bit past
    the grid) get the wrapped edge columns on the torus, zeros for the dead border; all
    other bits past the grid are cleared.
    """
    n_words = x.shape[0] - 2
    last = 1 + (width - 1) // 64
    last_bit = np.uint64((width - 1) % 64)
    pad = 1 + width // 64
    pad_bit = np.uint64(width % 64)
    keep = _ALL >> (_TOP - last_bit)
    west, first, final, east = x[0], x[1], x[last], x[n_words + 1]
    for r in range(x.shape[1]):
        for lane in range(x.shape[2]):
            final[r, lane] &= keep
            east[r, lane] = 0
            west[r, lane] = (final[r, lane] >> last_bit) << _TOP if torus else 0
    if torus:
        wrapped = x[pad]  # the word column holding column ``width``: ``final`` or ``east``
        for r in range(x.shape[1]):
            for lane in range(x.shape[2]):
                wrapped[r, lane] |= (first[r, lane] & _ONE) << pad_bit


@njit(inline="always")
def _refresh_packed_halo(x, width, torus):
    """Refresh the whole halo of a packed block ``x`` (nw+2, H+2, L): the columns as in
    ``_refresh_packed_columns``, then rows 0 and H+1 (the wrapped edge rows, or zeros)."""
    height = x.shape[1] - 2
    _refresh_packed_columns(x, width, torus)
    for k in range(x.shape[0]):
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
                    west[r],
                    col[r],
                    east[r],
                    west[r + 1],
                    col[r + 1],
                    east[r + 1],
                    west[r + 2],
                    col[r + 2],
                    east[r + 2],
                    born,
                    flip,
                )


@njit(inline="always")
def _lanes_step(src, dst, born, flip):
    """One step of the L grids of a block ``src`` (nw+2, H+2, L) into ``dst``, the inner
    loop across the grids (narrow grids, where a row is only a word or a few)."""
    for k in range(1, src.shape[0] - 1):
        for r in range(1, src.shape[1] - 1):
            u0, u1, u2 = src[k - 1, r - 1], src[k, r - 1], src[k + 1, r - 1]
            m0, m1, m2 = src[k - 1, r], src[k, r], src[k + 1, r]
            d0, d1, d2 = src[k - 1, r + 1], src[k, r + 1], src[k + 1, r + 1]
            out = dst[k, r]
            for lane in range(src.shape[2]):
                out[lane] = _next_word(
                    u0[lane],
                    u1[lane],
                    u2[lane],
                    m0[lane],
                    m1[lane],
                    m2[lane],
                    d0[lane],
                    d1[lane],
                    d2[lane],
                    born,
                    flip,
                )


@njit(inline="always")
def _unpack_rows(x, lane, out, first, stop):
    """Rows ``first..stop-1`` of the grid in ``lane`` of block ``x`` (nw+2, H+2, L) into
    ``out`` (H, W) uint8.

    Whole words unpack with a fixed trip count (LLVM vectorises it); a partial last word
    goes a byte at a time through ``_BYTE_CELLS``.
    """
    width = out.shape[1]
    full_words = width // 64
    rest = width - 64 * full_words
    for r in range(first, stop):
        row = out[r]
        for k in range(full_words):
            word = x[k + 1, r + 1, lane]
            start = 64 * k
            for b in range(64):
                row[start + b] = np.uint8((word >> np.uint64(b)) & _ONE)
        if rest:
            word = x[full_words + 1, r + 1, lane]
            start = 64 * full_words
            for j in range(rest // 8):
                cells = _BYTE_CELLS[(word >> np.uint64(8 * j)) & np.uint64(255)]
                for b in range(8):
                    row[start + 8 * j + b] = cells[b]
            tail = rest - rest % 8
            for c in range(tail, rest):
                row[start + c] = np.uint8((word >> np.uint64(c)) & _ONE)


@njit(inline="always")
def _run_block(a, b, g, recorded, frames, born, flip, width, torus):
    """Run block ``g`` of ``a`` (G, nw+2, H+2, L), recording its grids into ``frames``.

    Grid ``n = g * L + lane`` gets ``frames[n, i]`` = its state at step ``recorded[i]``
    (ascending; lanes past the batch are padding). ``b`` is scratch; both are overwritten.
    One grid a block (L = 1) steps with the inner loop down the rows, more with the inner
    loop across the grids.
    """
    lanes = a.shape[3]
    height = a.shape[2] - 2
    src, dst = a[g], b[g]
    done = 0
    for i in range(recorded.shape[0]):
        src, dst = _advance(src, dst, recorded[i] - done, born, flip, width, torus)
        done = recorded[i]
        for lane in range(min(lanes, frames.shape[0] - g * lanes)):
            _unpack_rows(src, lane, frames[g * lanes + lane, i], 0, height)


@njit(inline="always")
def _advance(src, dst, steps, born, flip, width, torus):
    """Step the packed block ``src`` (nw+2, H+2, L) ``steps`` times, ``dst`` as scratch.

    Returns ``(src, dst)`` with ``src`` the buffer holding the result.
    """
    lanes = src.shape[2]
    height = src.shape[1] - 2
    for _ in range(steps):
        _refresh_packed_halo(src, width, torus)
        if lanes == 1:
            grid_shape = (src.shape[0], src.shape[1])
            _packed_rows(
                src.reshape(grid_shape), dst.reshape(grid_shape), 1, height + 1, born, flip
            )
        else:
            _lanes_step(src, dst, born, flip)
        src, dst = dst, src
    return src, dst


@njit(inline="always")
def _popcount(x):
    """Number of set bits of a uint64 (SWAR)."""
    x = x - ((x >> _ONE) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (x * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, nogil=True)
def _mismatch_blocks(a, b, recorded, observed, mask, counts, born, flip, width, torus):
    """For each grid ``g`` of ``a`` (G, nw+2, H+2, 1): at each step ``recorded[i]``, count
    the cells under ``mask`` (nw+2, H+2) where it differs from ``observed[g, i]``."""
    n_words = a.shape[1] - 2
    height = a.shape[2] - 2
    for g in range(a.shape[0]):
        src, dst = a[g], b[g]
        done = 0
        for i in range(recorded.shape[0]):
            src, dst = _advance(src, dst, recorded[i] - done, born, flip, width, torus)
            done = recorded[i]
            seen = observed[g, i]
            total = np.uint64(0)
            for k in range(1, n_words + 1):
                for r in range(1, height + 1):
                    total += _popcount((src[k, r, 0] ^ seen[k, r]) & mask[k, r])
            counts[g, i] = total


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_blocks_parallel(a, b, recorded, frames, born, flip, width, torus):
    """``_run_block`` for every block of ``a``, the blocks split over the threads."""
    for g in prange(a.shape[0]):
        _run_block(a, b, g, recorded, frames, born, flip, width, torus)


@njit(cache=True, nogil=True)
def _bitpacked_blocks_serial(a, b, recorded, frames, born, flip, width, torus):
    """``_run_block`` for every block of ``a``, on the calling thread."""
    for g in range(a.shape[0]):
        _run_block(a, b, g, recorded, frames, born, flip, width, torus)


@njit(inline="always")
def _band_geometry(j, n_bands, height, halo, torus):
    """Band ``j`` of ``n_bands`` over ``height`` rows: ``(top, n_rows, span, above, below)``.

    The band owns grid rows ``top .. top+n_rows-1``; its buffer rows ``1..span`` hold grid
    rows ``top-halo .. top+n_rows+halo-1`` (0 and span+1 are frame rows). Past a dead
    border, buffer rows ``1..above`` and ``below+1..span`` lie outside the grid.
    """
    top = j * height // n_bands
    n_rows = (j + 1) * height // n_bands - top
    span = n_rows + 2 * halo
    above = 0 if torus else max(0, halo - top)
    below = span if torus else min(span, height - top + halo)
    return top, n_rows, span, above, below


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_bands(cur, nxt, band_a, band_b, halo, steps, born, flip, width, torus):
    """Advance one grid ``cur`` (nw+2, H+2) by ``steps`` <= ``halo`` into ``nxt``.

    The rows are cut into ``band_a.shape[0]`` bands, one per thread. Each band copies its
    rows and ``halo`` more on either side (wrapped on the torus, zeros past a dead border)
    into its own buffer and steps there alone: the rows at a buffer's edges go wrong by one
    row a step, never reaching the band's own rows within ``halo`` steps.
    """
    height = cur.shape[1] - 2
    n_bands = band_a.shape[0]
    for j in prange(n_bands):
        top, n_rows, span, above, below = _band_geometry(j, n_bands, height, halo, torus)
        src, dst = band_a[j], band_b[j]  # rows past span + 1 (shorter bands) go unused
        for i in range(span):
            row = top - halo + i
            if torus:
                src[:, i + 1] = cur[:, 1 + row % height]
            elif 0 <= row < height:
                src[:, i + 1] = cur[:, 1 + row]
            else:
                src[:, i + 1] = 0
        for frame_row in (0, span + 1):  # never computed: zero in both buffers throughout
            src[:, frame_row] = 0
            dst[:, frame_row] = 0
        for _ in range(steps):
            _refresh_packed_columns(src.reshape((src.shape[0], src.shape[1], 1)), width, torus)
            for i in range(1, above + 1):
                src[:, i] = 0
            for i in range(below + 1, span + 1):
                src[:, i] = 0
            _packed_rows(src, dst, 1, span + 1, born, flip)
            src, dst = dst, src
        nxt[:, 1 + top : 1 + top + n_rows] = src[:, 1 + halo : 1 + halo + n_rows]


@njit(parallel=True, cache=True, nogil=True)
def _unpack_bands(x, out, n_bands):
    """Unpack one grid ``x`` (nw+2, H+2) into ``out`` (H, W), its rows split in bands."""
    height = out.shape[0]
    block = x.reshape((x.shape[0], x.shape[1], 1))
    for j in prange(n_bands):
        _unpack_rows(block, 0, out, j * height // n_bands, (j + 1) * height // n_bands)


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

    A batch is cut into blocks, one a thread: blocks of L grids side by side for narrow
    grids, else one grid a block. One large grid is cut into bands of rows instead.
    """
    n_grids, height, width = grids.shape
    args = (*_packed_rule(rule), width, torus)
    work = n_grids * height * width * max(1, int(recorded[-1]))
    bands = _band_count(n_grids, height, width)
    if bands:
        state = _pack(grids, 1, 1)[0, ..., 0]
        band_shape = (bands, state.shape[0], _band_rows(height, bands))
        _run_bands(
            _bitpacked_bands, state, band_shape, recorded,
            lambda grid, i: _unpack_bands(grid, frames[0, i], bands), args,
        )  # fmt: skip
        return
    if n_grids > 1 and (width + 63) // 64 <= _LANE_MAX_WORDS:
        blocks = -(-n_grids // _LANE_BLOCK)
        if _use_threads(n_grids, work, _SERIAL_MAX_PACKED_WORK):
            blocks = max(blocks, min(numba.get_num_threads(), n_grids))
        lanes = -(-n_grids // blocks)
        blocks = -(-n_grids // lanes)
    else:
        blocks, lanes = n_grids, 1
    state = _pack(grids, blocks, lanes)
    _run_either(
        _bitpacked_blocks_parallel, _bitpacked_blocks_serial,
        _use_threads(blocks, work, _SERIAL_MAX_PACKED_WORK),
        state, np.empty_like(state), recorded, frames, *args,
    )  # fmt: skip


def _run_bands(
    band_kernel: Callable[..., None],
    state: np.ndarray,
    band_shape: tuple[int, ...],
    recorded: np.ndarray,
    record: Callable[[np.ndarray, int], None],
    args: tuple,
) -> None:
    """Drive a band kernel (``_bitpacked_bands``, ``_table_bands``) over one grid ``state``.

    Runs rounds of at most ``_BAND_HALO`` steps; ``band_shape`` is the shape of the bands'
    buffers; ``record(state, i)`` stores frame ``i`` when step ``recorded[i]`` is reached.
    """
    band_a = np.zeros(band_shape, dtype=state.dtype)
    band_b = np.zeros_like(band_a)
    following = np.zeros_like(state)
    done = 0
    with _PARALLEL_LOCK:
        for i, step in enumerate(recorded):
            while done < step:
                steps = min(_BAND_HALO, step - done)
                band_kernel(state, following, band_a, band_b, _BAND_HALO, steps, *args)
                state, following = following, state
                done += steps
            record(state, i)


def _band_rows(height: int, bands: int) -> int:
    """Buffer rows of one band: its share of ``height``, the halo on both sides, 2 frame rows."""
    return -(-height // bands) + 2 * _BAND_HALO + 2


def bs_rule_words(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bit-packed kernel's ``(born, flip)`` words (uint64 (..., 9) each) of B/S rules
    given by their totalistic bits (0/1 (..., 18): B0..B8, S0..S8), as :func:`rule_masks`
    makes them, by one lookup."""
    words = _MASK_WORDS[np.asarray(bits, dtype=np.intp)]
    return np.ascontiguousarray(words[..., :9]), words[..., :9] ^ words[..., 9:]


@functools.lru_cache(maxsize=1024)
def _packed_rule(rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """The bit-packed kernel's rule words of an outer-totalistic rule (cached per rule)."""
    return bs_rule_words(TOTALISTIC.bits_from_table(rule.table))


@functools.lru_cache(maxsize=1024)
def is_outer_totalistic(rule: Rule) -> bool:
    """Whether ``rule``'s table is outer-totalistic in the Moore neighbourhood (whatever
    family it was given). Hex and von Neumann rules are outer-totalistic in their own
    neighbourhoods, which the bit-packed kernel does not count: not these, unless their
    table is also a Moore B/S table (e.g. ``B/SH``)."""
    return rule.family is TOTALISTIC or family_contains(TOTALISTIC, rule.table)


# --------------------------------------------------------------------------------- table


@njit(inline="always")
def _refresh_byte_columns(x, torus):
    """Refresh columns 0 and W+1 of every row of a uint8 grid ``x`` (R, W+2): the wrapped
    edge columns on the torus, zeros for the dead border."""
    width = x.shape[1] - 2
    for r in range(x.shape[0]):
        x[r, 0] = x[r, width] if torus else 0
        x[r, width + 1] = x[r, 1] if torus else 0


@njit(inline="always")
def _refresh_byte_halo(x, torus):
    """Refresh the one-cell halo of one uint8 grid ``x`` (H+2, W+2)."""
    height = x.shape[0] - 2
    _refresh_byte_columns(x, torus)
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
                (np.uint16(up[c - 1]) << 8)
                | (np.uint16(up[c]) << 7)
                | (np.uint16(up[c + 1]) << 6)
                | (np.uint16(mid[c - 1]) << 5)
                | (np.uint16(mid[c]) << 4)
                | (np.uint16(mid[c + 1]) << 3)
                | (np.uint16(down[c - 1]) << 2)
                | (np.uint16(down[c]) << 1)
                | np.uint16(down[c + 1])
            )
        for c in range(1, width + 1):
            out[c] = table[index[c]]


@njit(inline="always")
def _table_run_grid(a, b, g, recorded, frames, table, torus):
    """Run grid ``g`` of ``a`` (G, H+2, W+2); ``frames[g, i]`` gets it at step ``recorded[i]``."""
    height = a.shape[1] - 2
    width = a.shape[2] - 2
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
def _table_grids_parallel(a, b, recorded, frames, table, torus):
    """``_table_run_grid`` for every grid of ``a``, the grids split over the threads."""
    for g in prange(a.shape[0]):
        _table_run_grid(a, b, g, recorded, frames, table, torus)


@njit(cache=True, nogil=True)
def _table_grids_serial(a, b, recorded, frames, table, torus):
    """``_table_run_grid`` for every grid of ``a``, on the calling thread."""
    for g in range(a.shape[0]):
        _table_run_grid(a, b, g, recorded, frames, table, torus)


@njit(parallel=True, cache=True, nogil=True)
def _table_bands(cur, nxt, band_a, band_b, halo, steps, table, torus):
    """Advance one uint8 grid ``cur`` (H+2, W+2) by ``steps`` <= ``halo`` into ``nxt``, in
    bands of rows with overlapping halos, one band a thread (as ``_bitpacked_bands``)."""
    height = cur.shape[0] - 2
    width = cur.shape[1] - 2
    n_bands = band_a.shape[0]
    for j in prange(n_bands):
        top, n_rows, span, above, below = _band_geometry(j, n_bands, height, halo, torus)
        src, dst = band_a[j], band_b[j]  # rows past span + 1 (shorter bands) go unused
        index = np.empty(cur.shape[1], dtype=np.uint16)
        for i in range(span):
            row = top - halo + i
            if torus:
                src[i + 1, 1 : width + 1] = cur[1 + row % height, 1 : width + 1]
            elif 0 <= row < height:
                src[i + 1, 1 : width + 1] = cur[1 + row, 1 : width + 1]
            else:
                src[i + 1] = 0
        for frame_row in (0, span + 1):  # never computed: zero in both buffers throughout
            src[frame_row] = 0
            dst[frame_row] = 0
        for _ in range(steps):
            _refresh_byte_columns(src, torus)
            for i in range(1, above + 1):
                src[i] = 0
            for i in range(below + 1, span + 1):
                src[i] = 0
            _table_rows(src, dst, 1, span + 1, table, index)
            src, dst = dst, src
        nxt[1 + top : 1 + top + n_rows, 1 : width + 1] = src[
            1 + halo : 1 + halo + n_rows, 1 : width + 1
        ]


def _run_table(
    grids: np.ndarray, rule: Rule, torus: bool, recorded: np.ndarray, frames: np.ndarray
) -> None:
    """Fill ``frames`` (B, F, H, W) with the table kernel (any rule)."""
    n_grids, height, width = grids.shape
    state = np.zeros((n_grids, height + 2, width + 2), dtype=np.uint8)
    state[:, 1:-1, 1:-1] = grids
    table = np.ascontiguousarray(rule.table)
    args = (table, torus)
    work = n_grids * height * width * max(1, int(recorded[-1]))
    bands = _band_count(n_grids, height, width)
    if bands:
        band_shape = (bands, _band_rows(height, bands), width + 2)
        _run_bands(
            _table_bands, state[0], band_shape, recorded,
            lambda grid, i: np.copyto(frames[0, i], grid[1:-1, 1:-1]), args,
        )  # fmt: skip
    else:
        _run_either(
            _table_grids_parallel, _table_grids_serial,
            _use_threads(n_grids, work, _SERIAL_MAX_TABLE_WORK),
            state, np.empty_like(state), recorded, frames, *args,
        )  # fmt: skip


# ------------------------------------------------------------------------- validation


@njit(cache=True, nogil=True)
def _agree_blocks(a, a_next, b, b_next, times, mask, born_a, flip_a, born_b, flip_b, width, torus):
    """Whether grids ``a`` and ``b`` (G, nw+2, H+2, 1), equal at the start, are equal under
    ``mask`` (nw+2, H+2) at every step of ``times`` under their two rules; stops at the
    first difference."""
    n_words = a.shape[1] - 2
    height = a.shape[2] - 2
    for g in range(a.shape[0]):
        src_a, dst_a, src_b, dst_b = a[g], a_next[g], b[g], b_next[g]
        done = 0
        for i in range(times.shape[0]):
            src_a, dst_a = _advance(src_a, dst_a, times[i] - done, born_a, flip_a, width, torus)
            src_b, dst_b = _advance(src_b, dst_b, times[i] - done, born_b, flip_b, width, torus)
            done = times[i]
            for k in range(1, n_words + 1):
                for r in range(1, height + 1):
                    if (src_a[k, r, 0] ^ src_b[k, r, 0]) & mask[k, r]:
                        return False
    return True


def same_observations(
    a: Rule,
    b: Rule,
    packed_init: np.ndarray,
    width: int,
    times: np.ndarray,
    mask: np.ndarray,
) -> bool:
    """Whether outer-totalistic rules ``a`` and ``b`` give the same cells under ``mask`` at
    every step of ``times`` from every packed initial grid (arguments as for
    :func:`count_mismatches`); stepped side by side, stopping at the first difference."""
    if not (is_outer_totalistic(a) and is_outer_totalistic(b)):
        raise ValueError(f"same_observations needs outer-totalistic rules, got {a} and {b}")
    if a == b:
        return True
    born, flip = _packed_rule(b)
    others = (born[None], flip[None])
    return bool(agreeing_rules(_packed_rule(a), others, packed_init, width, times, mask)[0])


@njit(cache=True, nogil=True)
def _agreeing(packed_init, times, mask, born_a, flip_a, born_b, flip_b, width, torus, out):
    """``out[f]``: whether ``_agree_blocks`` holds for rule ``a`` and rule ``f`` of ``b``."""
    for f in range(born_b.shape[0]):
        a, b = packed_init.copy(), packed_init.copy()
        out[f] = _agree_blocks(
            a, np.empty_like(a), b, np.empty_like(b), times, mask, born_a, flip_a,
            born_b[f], flip_b[f], width, torus,
        )  # fmt: skip


def agreeing_rules(
    a: tuple[np.ndarray, np.ndarray],
    others: tuple[np.ndarray, np.ndarray],
    packed_init: np.ndarray,
    width: int,
    times: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """bool (F,): :func:`same_observations` of B/S rule ``a`` and each of ``others``, the
    rules given by their ``(born, flip)`` words (:func:`bs_rule_words`; ``others``' (F, 9)
    each), without building rules: one call for F rules."""
    out = np.empty(len(others[0]), dtype=bool)
    _agreeing(
        np.array(packed_init, dtype=np.uint64)[..., None], kernel_input(times, np.int64),
        kernel_input(mask, np.uint64), *a, *others, width, True, out,
    )  # fmt: skip
    return out


def same_trajectories(a: Rule, b: Rule, init: np.ndarray, steps: int) -> bool:
    """Whether rules ``a`` and ``b`` give identical frames 0..steps from every grid of
    ``init`` (B, H, W) on the torus. Outer-totalistic rules are stepped side by side
    bit-packed and stop at the first difference; other rules are simulated in full."""
    grids = as_cells(init, "init", {3: "(B, H, W)"})
    steps = _as_steps(steps)
    if a == b:
        return True
    if not (is_outer_totalistic(a) and is_outer_totalistic(b)):
        return bool(np.array_equal(simulate(a, grids, steps), simulate(b, grids, steps)))
    world = grids.shape[1:]
    mask = pack_frames(np.ones((1, *world), dtype=np.uint8), world)[0]
    times = np.arange(1, steps + 1)
    return same_observations(a, b, pack_frames(grids, world), world[1], times, mask)


def pack_frames(frames: np.ndarray, world: tuple[int, int]) -> np.ndarray:
    """Bit-pack frames of a top-left region of the world for :func:`count_mismatches`.

    ``frames``: uint8 (n, h, w) with h, w no larger than ``world`` (H, W); cells outside
    the region are packed as 0. Returns uint64 (n, nw+2, H+2) in the kernel's layout.
    """
    frames = np.asarray(frames, dtype=np.uint8)
    n, h, w = frames.shape
    grids = np.zeros((n, *world), dtype=np.uint8)
    grids[:, :h, :w] = frames
    return _pack(grids, n, 1)[..., 0]


def count_mismatches(
    rule: Rule,
    packed_init: np.ndarray,
    width: int,
    times: np.ndarray,
    observed: np.ndarray,
    mask: np.ndarray,
) -> np.ndarray:
    """Cells where ``rule``'s trajectories differ from observed frames, per grid and frame.

    For the likelihood of outer-totalistic rules: no frame is unpacked. ``packed_init``:
    uint64 (B, nw+2, H+2), the initial grids (torus, ``width`` columns) packed with
    :func:`pack_frames` (not modified); ``times``: int64 (n,) ascending steps >= 0;
    ``observed``: uint64 (B, n, nw+2, H+2) from :func:`pack_frames`; ``mask``: uint64
    (nw+2, H+2), the packed region to count (``pack_frames(ones((1, h, w)), world)[0]``).
    Returns int64 (B, n). Runs on the calling thread.
    """
    if not is_outer_totalistic(rule):
        raise ValueError(f"count_mismatches needs an outer-totalistic rule, got {rule}")
    state = np.array(packed_init, dtype=np.uint64)[..., None]
    counts = np.zeros((state.shape[0], len(times)), dtype=np.int64)
    born, flip = _packed_rule(rule)
    _mismatch_blocks(
        state, np.empty_like(state), kernel_input(times, np.int64), observed,
        kernel_input(mask, np.uint64), counts, born, flip, width, True,
    )  # fmt: skip
    return counts


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
    totalistic = is_outer_totalistic(rule)
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
