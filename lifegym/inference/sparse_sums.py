"""numpy's float64 sums, replayed on sparse arrays: the same bits in time O(nonzeros).

The exhaustive engine's posterior is a handful of sums over 2^18 weights, nearly all of
them exactly zero once the data have ruled most rules out. numpy adds a contiguous float64
array by pairwise summation (blocks of at most 128 elements summed in 8 interleaved
accumulators, longer runs split in two at a multiple of 8); a strided view that the
iterator cannot flatten is copied into buffers of ``NUMPY_BUFFER`` elements, each summed
pairwise and added in turn to a running total that starts at 0.0. Adding an exact zero
changes no bit, so the same tree evaluated over the nonzero elements alone gives the same
float, and these functions do exactly that: results equal numpy's bit for bit (the tests
compare them on adversarial magnitudes), in time proportional to the number of nonzeros
times the tree's depth.

A sparse array is ``positions`` (int64, ascending, distinct) and ``values`` (float64) of
its nonzero elements; every other element is 0.0.

The replay is of numpy 2.x with its default buffer size (``NUMPY_BUFFER``); the tests take
numpy itself as the reference, so a numpy that sums in another order, or a changed
``np.setbufsize``, shows up there. (The engine still uses numpy's dense sums while more
than 1/16 of the rules are live: the same floats, faster when few weights are zero.)
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["NUMPY_BUFFER", "bit_half_sums", "chunked_sum", "pairwise_sum", "posterior_support"]

#: numpy's default ufunc buffer size (elements): the chunk of a buffered reduction.
NUMPY_BUFFER = 8192
#: Block below which numpy's pairwise summation adds directly (8 accumulators).
_BLOCK = 128


@numba.njit(cache=True)
def _leaf(
    positions: np.ndarray, values: np.ndarray, lo: int, hi: int, start: int, n: int, r: np.ndarray
) -> float:
    """numpy's sum of a run of ``n`` <= ``_BLOCK`` elements (8 interleaved accumulators from
    8 elements on), from its nonzeros ``positions[lo:hi]`` / ``values[lo:hi]``; ``r`` is
    float64 (8,) scratch for the accumulators."""
    if n < 8:
        res = 0.0
        for k in range(lo, hi):
            res += values[k]
        return res
    r[:] = 0.0
    body = n - n % 8
    k = lo
    while k < hi and positions[k] - start < body:
        r[(positions[k] - start) % 8] += values[k]
        k += 1
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while k < hi:
        res += values[k]
        k += 1
    return res


@numba.njit(cache=True)
def _pairwise(
    positions: np.ndarray, values: np.ndarray, lo: int, hi: int, start: int, n: int
) -> float:
    """numpy's pairwise sum of the virtual array ``[start, start + n)`` whose nonzeros are
    ``positions[lo:hi]`` / ``values[lo:hi]``: runs longer than ``_BLOCK`` split in two at
    a multiple of 8, left sum + right sum. (An explicit stack: numba's cache breaks
    recursive functions.)"""
    # a frame: its run (lo, hi, start, n), how many of its halves are done, its left sum
    frames = np.empty((64, 5), dtype=np.int64)
    lefts = np.empty(64)
    accumulators = np.empty(8)
    depth = 1
    frames[0, 0], frames[0, 1], frames[0, 2], frames[0, 3], frames[0, 4] = lo, hi, start, n, 0
    result = 0.0  # the value of the frame that finished last
    while depth:
        top = depth - 1
        f_lo, f_hi, f_start, f_n, done = frames[top]
        if done == 0 and (f_lo == f_hi or f_n <= _BLOCK):
            result = (
                0.0
                if f_lo == f_hi
                else _leaf(positions, values, f_lo, f_hi, f_start, f_n, accumulators)
            )
            depth -= 1
            continue
        n2 = f_n // 2
        n2 -= n2 % 8
        mid = f_lo + np.searchsorted(positions[f_lo:f_hi], f_start + n2)
        if done == 0:  # the left half first
            frames[top, 4] = 1
            frames[depth, 0], frames[depth, 1], frames[depth, 2] = f_lo, mid, f_start
            frames[depth, 3], frames[depth, 4] = n2, 0
            depth += 1
        elif done == 1:  # the left half's sum is in ``result``: now the right half
            lefts[top] = result
            frames[top, 4] = 2
            frames[depth, 0], frames[depth, 1], frames[depth, 2] = mid, f_hi, f_start + n2
            frames[depth, 3], frames[depth, 4] = f_n - n2, 0
            depth += 1
        else:
            result = lefts[top] + result
            depth -= 1
    return result


@numba.njit(cache=True)
def pairwise_sum(positions: np.ndarray, values: np.ndarray, n: int) -> float:
    """``dense.sum()`` of the contiguous float64 array of length ``n`` with these nonzeros."""
    return _pairwise(positions, values, 0, len(positions), 0, n)


@numba.njit(cache=True)
def chunked_sum(positions: np.ndarray, values: np.ndarray, n: int, chunk: int) -> float:
    """A running total from 0.0 plus the pairwise sum of each ``chunk`` elements in turn:
    numpy's sum of a buffered (strided) reduction, in buffers of ``chunk``."""
    total = 0.0
    lo = 0
    for start in range(0, n, chunk):
        hi = lo
        while hi < len(positions) and positions[hi] < start + chunk:
            hi += 1
        total += _pairwise(positions, values, lo, hi, start, min(chunk, n - start))
        lo = hi
    return total


@numba.njit(cache=True)
def bit_half_sums(
    indices: np.ndarray, weights: np.ndarray, n_bits: int, buffer: int
) -> tuple[np.ndarray, np.ndarray]:
    """For each bit ``i``: ``w.reshape(-1, 2, 1 << i)[:, h, :].sum()`` for ``h`` = 0 and 1,
    where ``w`` is the float64 (2^n_bits,) array with nonzeros ``weights`` at ``indices``
    (ascending). Returns (zeros, ones), float64 (n_bits,) each.

    numpy flattens the view of bit 0 (one strided run) and of the top bit (one contiguous
    run) and sums it pairwise; the others it reads row by row (rows of ``1 << i``), through
    buffers of ``buffer`` elements while a row is shorter than a buffer."""
    half = 1 << (n_bits - 1)
    sums = np.zeros((2, n_bits))
    m = len(indices)
    positions = np.empty(m, dtype=np.int64)
    values = np.empty(m)
    for i in range(n_bits):
        row = 1 << i
        chunk = half if i == 0 or i == n_bits - 1 else max(buffer, row)
        for h in range(2):
            count = 0
            for k in range(m):
                r = indices[k]
                if (r >> i) & 1 == h:
                    positions[count] = ((r >> (i + 1)) << i) | (r & (row - 1))
                    values[count] = weights[k]
                    count += 1
            sums[h, i] = chunked_sum(positions[:count], values[:count], half, chunk)
    return sums[0].copy(), sums[1].copy()


@numba.njit(cache=True)
def posterior_support(
    loglik: np.ndarray, exact: np.ndarray, reach: float
) -> tuple[float, np.ndarray]:
    """The best exact log-likelihood (``-inf`` if none) and the indices (ascending) of the
    exact rules within ``reach`` nats of it: a superset of the rules whose weight
    ``exp(loglik - best)`` is nonzero when ``reach`` >= 746."""
    best = -np.inf
    for r in range(len(loglik)):
        value = loglik[r] if exact[r] else -np.inf
        best = max(best, value)
    out = np.empty(len(loglik), dtype=np.int64)
    count = 0
    if best > -np.inf:
        for r in range(len(loglik)):
            out[count] = r
            count += exact[r] and loglik[r] - best >= -reach
    return best, out[:count].copy()
