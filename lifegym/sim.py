"""The simulator: run a rule on binary grids, on a torus or with a dead border.

Two numba kernels do the work; everything else here is validation and bookkeeping.

* **Bit-packed** (outer-totalistic rules): 64 cells per ``uint64`` word, the eight
  neighbours counted with bit-sliced adders into four count planes, the rule applied
  as a multiplexer tree on those planes. The rule enters as 18 all-ones/all-zeros
  words, so one compiled kernel serves all 2^18 B/S rules. Two loop orders:
  *wide* (the inner loop runs over the words of a row: wide grids) and *lanes* (the
  inner loop runs over grids of a batch: narrow grids, where a row is only a word or
  two). Either way the batch is split across threads.
* **Table** (every family): one byte per cell, the 9-bit pattern index kept rolling
  along each row, then one lookup in the rule's 512-entry table.

Both pad the grid with a halo (one row above and below; one cell, or one bit, left
and right) that is refreshed before every step: a copy of the opposite edge on the
torus, zeros for the dead border. Pattern indices follow ``lifegym.rules``.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np
from numba import njit, prange

from lifegym.rules import Rule

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
    """Refresh the halo of one packed block ``x`` (H+2, nw+2, L): L grids side by side.

    Column ``p`` of a row lives in word ``1 + p // 64``, bit ``p % 64``. Column -1 (bit 63
    of word 0) and column ``width`` (the first bit past the grid) hold the wrapped edge
    columns on the torus and zeros for the dead border; all other bits past the grid are
    cleared. Rows 0 and H+1 hold the wrapped edge rows, or zeros.
    """
    height = x.shape[0] - 2
    n_words = x.shape[1] - 2
    lanes = x.shape[2]
    last = 1 + (width - 1) // 64
    last_bit = np.uint64((width - 1) % 64)
    pad = 1 + width // 64
    pad_bit = np.uint64(width % 64)
    keep = _ALL >> (_TOP - last_bit)
    for r in range(1, height + 1):
        west, first, final, east = x[r, 0], x[r, 1], x[r, last], x[r, n_words + 1]
        for lane in range(lanes):
            final[lane] &= keep
            east[lane] = 0
            west[lane] = (final[lane] >> last_bit) << _TOP if torus else 0
        if torus:
            wrapped = x[r, pad]  # the word holding column ``width``: ``final`` or ``east``
            for lane in range(lanes):
                wrapped[lane] |= (first[lane] & _ONE) << pad_bit
    if torus:
        x[0] = x[height]
        x[height + 1] = x[1]
    else:
        x[0] = 0
        x[height + 1] = 0


@njit(inline="always")
def _packed_rows(src, dst, first, stop, born, flip):
    """Compute rows ``first..stop-1`` of ``dst`` (H+2, nw+2) from ``src``, words innermost."""
    n_words = src.shape[1] - 2
    for r in range(first, stop):
        up = src[r - 1]
        mid = src[r]
        down = src[r + 1]
        out = dst[r]
        for k in range(1, n_words + 1):
            out[k] = _next_word(
                up[k - 1], up[k], up[k + 1], mid[k - 1], mid[k], mid[k + 1],
                down[k - 1], down[k], down[k + 1], born, flip,
            )


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_steps_batch(a, b, steps, born, flip, width, torus):
    """Advance each grid of ``a`` (G, H+2, nw+2) by ``steps``, one grid per thread.

    ``b`` is scratch; the result is in ``a`` when ``steps`` is even, else in ``b``.
    """
    height = a.shape[1] - 2
    shape = (a.shape[1], a.shape[2], 1)
    for g in prange(a.shape[0]):
        src, dst = a[g], b[g]
        for _ in range(steps):
            _refresh_packed_halo(src.reshape(shape), width, torus)
            _packed_rows(src, dst, 1, height + 1, born, flip)
            src, dst = dst, src


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_steps_single(a, b, steps, born, flip, width, torus, n_chunks):
    """As ``_bitpacked_steps_batch`` for one grid (1, H+2, nw+2), its rows split in ``n_chunks``."""
    height = a.shape[1] - 2
    shape = (a.shape[1], a.shape[2], 1)
    src, dst = a[0], b[0]
    for _ in range(steps):
        _refresh_packed_halo(src.reshape(shape), width, torus)
        for chunk in prange(n_chunks):
            first = 1 + chunk * height // n_chunks
            stop = 1 + (chunk + 1) * height // n_chunks
            _packed_rows(src, dst, first, stop, born, flip)
        src, dst = dst, src


@njit(parallel=True, cache=True, nogil=True)
def _bitpacked_steps_lanes(a, b, steps, born, flip, width, torus):
    """Advance blocks of narrow grids ``a`` (G, H+2, nw+2, L), the inner loop over the L grids."""
    height = a.shape[1] - 2
    n_words = a.shape[2] - 2
    lanes = a.shape[3]
    for g in prange(a.shape[0]):
        src, dst = a[g], b[g]
        for _ in range(steps):
            _refresh_packed_halo(src, width, torus)
            for r in range(1, height + 1):
                for k in range(1, n_words + 1):
                    u0, u1, u2 = src[r - 1, k - 1], src[r - 1, k], src[r - 1, k + 1]
                    m0, m1, m2 = src[r, k - 1], src[r, k], src[r, k + 1]
                    d0, d1, d2 = src[r + 1, k - 1], src[r + 1, k], src[r + 1, k + 1]
                    out = dst[r, k]
                    for lane in range(lanes):
                        out[lane] = _next_word(
                            u0[lane], u1[lane], u2[lane], m0[lane], m1[lane], m2[lane],
                            d0[lane], d1[lane], d2[lane], born, flip,
                        )
            src, dst = dst, src


def _pack_words(grids: np.ndarray, n_words: int) -> np.ndarray:
    """Pack uint8 grids (B, H, W) into words (B, H, n_words):

    column c is bit c % 64 of word c // 64."""
    n_grids, height, _ = grids.shape
    packed = np.packbits(grids, axis=-1, bitorder="little")
    row_bytes = np.zeros((n_grids, height, n_words * 8), dtype=np.uint8)
    row_bytes[..., : packed.shape[-1]] = packed
    return row_bytes.view("<u8").astype(np.uint64, copy=False)


def _unpack_words(words: np.ndarray, width: int) -> np.ndarray:
    """uint64 words (B, H, nw) -> uint8 grids (B, H, width); the inverse of ``_pack_words``."""
    row_bytes = np.ascontiguousarray(words, dtype="<u8").view(np.uint8)
    return np.unpackbits(row_bytes, axis=-1, count=width, bitorder="little")


# --------------------------------------------------------------------------------- table


def column_major_table(table: np.ndarray) -> np.ndarray:
    """The rule table re-indexed column by column, as the table kernel reads patterns.

    Entry ``(west << 6) | (centre << 3) | east`` of the result, where each column is
    ``(north << 2) | (middle << 1) | south``, equals the entry of ``table`` for the same
    3x3 pattern in the row-major convention of ``lifegym.rules``.
    """
    q = np.arange(512)
    row_major = np.zeros(512, dtype=np.int64)
    for column in range(3):
        for row in range(3):
            bit_q = 8 - (3 * column + row)
            bit_p = 8 - (3 * row + column)
            row_major |= ((q >> bit_q) & 1) << bit_p
    return np.ascontiguousarray(np.asarray(table, dtype=np.uint8)[row_major])


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
def _table_rows(src, dst, first, stop, table_cm, columns):
    """Compute rows ``first..stop-1`` of ``dst`` (H+2, W+2) from ``src``.

    ``columns`` (W+2 int32) is scratch for the 3-cell column codes of one row band;
    ``table_cm`` is the rule in the column-major order of ``column_major_table``.
    """
    width = src.shape[1] - 2
    for r in range(first, stop):
        up, mid, down, out = src[r - 1], src[r], src[r + 1], dst[r]
        for c in range(width + 2):
            columns[c] = (np.int32(up[c]) << 2) | (np.int32(mid[c]) << 1) | np.int32(down[c])
        for c in range(1, width + 1):
            out[c] = table_cm[(columns[c - 1] << 6) | (columns[c] << 3) | columns[c + 1]]


@njit(parallel=True, cache=True, nogil=True)
def _table_steps_batch(a, b, steps, table_cm, torus):
    """Advance each grid of ``a`` (G, H+2, W+2) by ``steps``, one grid per thread.

    ``b`` is scratch; the result is in ``a`` when ``steps`` is even, else in ``b``.
    """
    height = a.shape[1] - 2
    for g in prange(a.shape[0]):
        columns = np.empty(a.shape[2], dtype=np.int32)
        src, dst = a[g], b[g]
        for _ in range(steps):
            _refresh_byte_halo(src, torus)
            _table_rows(src, dst, 1, height + 1, table_cm, columns)
            src, dst = dst, src


@njit(parallel=True, cache=True, nogil=True)
def _table_steps_single(a, b, steps, table_cm, torus, n_chunks):
    """As ``_table_steps_batch`` for one grid (1, H+2, W+2), its rows split in ``n_chunks``."""
    height = a.shape[1] - 2
    columns = np.empty((n_chunks, a.shape[2]), dtype=np.int32)
    src, dst = a[0], b[0]
    for _ in range(steps):
        _refresh_byte_halo(src, torus)
        for chunk in prange(n_chunks):
            first = 1 + chunk * height // n_chunks
            stop = 1 + (chunk + 1) * height // n_chunks
            _table_rows(src, dst, first, stop, table_cm, columns[chunk])
        src, dst = dst, src


# ------------------------------------------------------------------------------ drivers


class _BitpackedRun:
    """Packed state of a batch and the loop order that suits its shape."""

    def __init__(self, grids: np.ndarray, rule: Rule, torus: bool) -> None:
        n_grids, height, width = grids.shape
        n_words = (width + 63) // 64
        if n_grids > 1 and n_words <= _LANE_MAX_WORDS:
            blocks = max(numba.get_num_threads(), -(-n_grids // _LANE_BLOCK))
            lanes = -(-n_grids // blocks)
            blocks = -(-n_grids // lanes)
        else:
            blocks, lanes = n_grids, 1
        shape = (blocks, height + 2, n_words + 2, lanes)
        self._state = np.zeros(shape, dtype=np.uint64)
        self._scratch = np.zeros(shape, dtype=np.uint64)
        words = np.zeros((blocks * lanes, height, n_words), dtype=np.uint64)
        words[:n_grids] = _pack_words(grids, n_words)
        # Grid b sits in block b // L, lane b % L.
        self._state[:, 1:-1, 1:-1, :] = words.reshape(blocks, lanes, height, n_words).transpose(
            0, 2, 3, 1
        )
        self._n_grids = n_grids
        birth, survival = _totalistic_sets(rule)
        self._born, self._flip = rule_masks(birth, survival)
        self._width = width
        self._torus = torus

    def advance(self, steps: int) -> None:
        blocks, rows, _, lanes = self._state.shape
        args = (steps, self._born, self._flip, self._width, self._torus)
        if lanes > 1:
            _bitpacked_steps_lanes(self._state, self._scratch, *args)
        elif blocks > 1:
            _bitpacked_steps_batch(self._state[..., 0], self._scratch[..., 0], *args)
        else:
            chunks = min(rows - 2, 4 * numba.get_num_threads())
            _bitpacked_steps_single(self._state[..., 0], self._scratch[..., 0], *args, chunks)
        if steps % 2:
            self._state, self._scratch = self._scratch, self._state

    def write(self, frames: np.ndarray) -> None:
        words = self._state[:, 1:-1, 1:-1, :].transpose(0, 3, 1, 2)
        words = words.reshape(-1, *words.shape[2:])[: self._n_grids]
        frames[:] = _unpack_words(words, self._width)


class _TableRun:
    """Byte-per-cell state of a batch, with the halo."""

    def __init__(self, grids: np.ndarray, rule: Rule, torus: bool) -> None:
        n_grids, height, width = grids.shape
        self._state = np.zeros((n_grids, height + 2, width + 2), dtype=np.uint8)
        self._state[:, 1:-1, 1:-1] = grids
        self._scratch = np.zeros_like(self._state)
        self._table_cm = column_major_table(rule.table)
        self._torus = torus

    def advance(self, steps: int) -> None:
        blocks, rows, _ = self._state.shape
        args = (steps, self._table_cm, self._torus)
        if blocks > 1:
            _table_steps_batch(self._state, self._scratch, *args)
        else:
            chunks = min(rows - 2, 4 * numba.get_num_threads())
            _table_steps_single(self._state, self._scratch, *args, chunks)
        if steps % 2:
            self._state, self._scratch = self._scratch, self._state

    def write(self, frames: np.ndarray) -> None:
        frames[:] = self._state[:, 1:-1, 1:-1]


def _totalistic_sets(rule: Rule) -> tuple[np.ndarray, np.ndarray]:
    """bool[9] birth and survival sets of a rule whose table is outer-totalistic."""
    table = rule.table
    counts = np.array([bin(p & ~16).count("1") for p in range(512)])
    centre = (np.arange(512) >> 4) & 1
    birth = np.zeros(9, dtype=bool)
    survival = np.zeros(9, dtype=bool)
    # Any pattern with the count represents the class; take the first of each.
    for n in range(9):
        birth[n] = table[np.flatnonzero((counts == n) & (centre == 0))[0]] == 1
        survival[n] = table[np.flatnonzero((counts == n) & (centre == 1))[0]] == 1
    return birth, survival


def _is_totalistic(rule: Rule) -> bool:
    try:
        rule.to("totalistic")
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------------- validation


def _as_rule(rule: Rule | str) -> Rule:
    if isinstance(rule, Rule):
        return rule
    if isinstance(rule, str):
        return Rule.parse(rule)
    raise TypeError(f"rule must be a lifegym.Rule or a rule string, got {type(rule).__name__}")


def _as_grids(init: np.ndarray) -> tuple[np.ndarray, bool]:
    """Validate ``init``; return it as contiguous uint8 (B, H, W) and whether it had a batch."""
    array = np.asarray(init)
    if array.dtype != np.bool_ and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(
            f"init must be a bool or integer array of 0/1 cells, got dtype {array.dtype}"
        )
    if array.ndim not in (2, 3):
        raise ValueError(
            f"init must have shape (H, W) or (B, H, W), got shape {array.shape} "
            f"({array.ndim} dimensions)"
        )
    if 0 in array.shape:
        raise ValueError(f"init must have every dimension >= 1, got shape {array.shape}")
    if array.dtype != np.bool_:
        bad = (array != 0) & (array != 1)
        if bad.any():
            value = array[np.unravel_index(np.argmax(bad), array.shape)]
            raise ValueError(f"init cells must be 0 or 1, found {value!r}")
    batched = array.ndim == 3
    grids = np.ascontiguousarray(array if batched else array[None], dtype=np.uint8)
    return grids, batched


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
    grids, batched = _as_grids(init)
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
    run_class = _BitpackedRun if use_bitpacked else _TableRun
    run = run_class(grids, rule, boundary == "torus")

    frames = np.empty((grids.shape[0], len(recorded), *grids.shape[1:]), dtype=np.uint8)
    done = 0
    for i, step in enumerate(recorded):
        if step > done:
            run.advance(step - done)
            done = step
        if step == 0:
            frames[:, i] = grids
        else:
            run.write(frames[:, i])
    return frames if batched else frames[0]
