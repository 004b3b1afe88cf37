"""The ``search`` inference engine: a local search for the most likely rule, for families too
large to enumerate (isotropic and larger; it serves every family and every observation model).

The objective
=============
The hidden rule ``x`` (the free bits of a :class:`~lifegym.types.RuleSpace`) is scored by
the shared likelihood of :mod:`lifegym.likelihood`: every visible trajectory is re-simulated
on the torus from its exactly known initial condition and its observed frames (or
statistics) are scored with :func:`~lifegym.likelihood.frame_loglik` (or
:func:`~lifegym.likelihood.stats_loglik`). The engine computes the same numbers as
``compare(rule, engine.trajectories).loglik`` with its own numba kernels, which simulate
only up to a trajectory's last observed step and score the frames while they simulate.
With noise ``p = 0`` the likelihood is 0 or ``-inf``; the search then ranks rules by the
number of mismatching cells (the log-likelihood at a tiny surrogate ``p``), which is what
``-inf`` hides.

Evidence that is exact, used to start
=====================================
A transition whose input frame is known exactly gives, for every observed output cell, one
observed output of the bit whose orbit holds the cell's 3x3 input pattern:

* the first step, from the initial condition (known on the whole torus) to frame 1 when
  stride is 1, through noise ``p``: the log-likelihood of frame 1 is exactly
  ``sum_b (n1_b - n0_b) log((1 - p) / p) x_b`` plus a constant, so these per-bit counts
  are exact log-odds of that frame;
* with noise 0 and stride 1, every observed frame to the next one, on the cells whose
  3x3 neighbourhood lies inside the window (all of them when the window is the world).

With noise and stride 1, the same counts taken from noisy input frames are only votes
(a noisy input pattern is sometimes another pattern); they rank a start point but never
enter the belief. A start point takes each bit from the exact counts where there are any,
else from the votes, else from the previous MAP; the engine starts from whichever of that
point and the previous MAP (warm start) has the higher likelihood.

Local search
============
Best-improvement hill climbing over single bit flips, with exact likelihood differences:

* only bits whose patterns occur in the current rule's simulated trajectories before the
  last observed step can change the likelihood; for each such bit ``b`` and trajectory the
  engine knows the first step ``t_b`` at which one of its patterns occurs, so the flipped
  rule is re-simulated from the stored frame ``t_b`` only, and the simulation stops as soon
  as the flipped run has merged back into the current one (identical world), and with
  noise 0, once a MAP that explains everything meets its first mismatch (``-inf``);
* one *sweep* scores every candidate flip (the candidates split over a few threads; the
  kernels release the GIL); the improving flips are then tried one by one in order of
  their gain, each kept only if the likelihood (recomputed exactly, only for trajectories
  whose run the flip can change) still rises; sweeps repeat until no flip improves;
* unless the MAP already fits all the data (below), the climb runs over a growing horizon
  (observed steps ``<= t1, 2 t1, 4 t1, ...``, then all): the likelihood of a short prefix
  is much smoother in the bits (chaos has not amplified a wrong bit yet), and each stage
  starts the next near its optimum.

Where a climb ends at a MAP that does not *fit* the data -- more mismatching cells than
``n p`` plus 4 standard deviations (any with ``p = 0``); for statistics ``sum z^2`` beyond
its count plus 4 deviations -- the engine tries compound moves (frames only): flip one of
the ``kicks`` bits most frequent in the initial conditions (or none), then *refit* every
other bit to the majority vote of the observed cells whose simulated input pattern (in the
current runs, which the flip changed) belongs to it, a few rounds, then climb; the first
move that ends higher is kept, and this repeats while the MAP does not fit (at most
``_KICK_ROUNDS`` rounds). A single flip of a bit that shapes the hidden frames (``B0``, say)
is never an improvement on its own, because every bit reading those frames is then wrong;
the refit moves them all together. This is what makes strided data solvable (hidden frames
are a function of the rule, not observed). Compound moves are tried at a horizon only if
every shorter horizon fits.

A linear start (``linear_start``, the ``search-pairs`` engine): under statistics at stride
1 the first observed frame's density and activity are linear in the bits (a cell whose
pattern lies in bit ``b``'s orbit is live after one step exactly when ``x_b = 1``; activity
counts a birth bit with ``+``, a survival bit with ``-``). The engine keeps the weighted
least-squares normal equations of these two measurements of every such trajectory (the
variances of the likelihood; a weak prior at 0.5) and, after each new trajectory, tries the
point that takes every bit the system determines (posterior standard deviation below 0.25)
from the rounded solution and the others from the MAP; it is kept if its likelihood, as
it is or after a climb from it, is higher. Many compensating errors at once (which no pair
move undoes) end there.

Pair moves (``pair_log_odds`` > 0, the ``search-pairs`` engine): statistics add up what
many cells show, so two bits seen together in the same proportions can both be wrong and
still explain the data, and no single flip improves. After the final climb the engine
scores every pair of *weakly held* bits (``|log-odds|`` below ``pair_log_odds``; the
``_PAIR_BITS`` weakest) that occur together in some initial condition, applies the
improving pairs as the climb applies single flips, climbs again, and repeats (at most
``_PAIR_ROUNDS`` rounds) while pairs improve (at most 120 pairs a round: a sweep about as
costly as one of single flips).

``restarts`` random restarts (optional, default none): flip ``restart_flips`` random
occurring bits of the MAP, climb, keep the result if it is better. Their randomness comes
from a numpy Generator seeded with ``seed``; everything else is deterministic.

The belief
==========
``map_rule`` is the best rule found. The last sweep at the full horizon gives, for every
free bit, the exact ``L(MAP with bit = 1) - L(MAP with bit = 0)``: a local (Gibbs /
Laplace) estimate of the bit's log-odds given the other bits at their MAP values, turned
into ``p_one`` with :func:`~lifegym.inference.base.probabilities_from_log_odds`. With noise
0 these are ``+-inf`` (the MAP explains the data and the flip does not) or 0 (both do); if
the MAP itself fails to explain noise-free data, the surrogate ``p`` ranks them. A bit none
of whose patterns occurs in any simulation of the visible initial conditions under the MAP
(before the last observed step) is undetermined: ``p_one = 0.5``, ``determined`` False.
``entropy`` is the sum of the bits' binary entropies; ``n_consistent`` is None. The
probability of a class of rules (``class_probability``, ``Belief.map_probability``, what
``identified`` reads) cannot be computed over 2^n_free rules: it is Boole's lower bound from
these local marginals (``InferenceEngine.class_probability``), as good as they are.

A hypothesis test handed to :meth:`SearchEngine.absorb_test` sets that bit's log-odds (until
the next update); when it contradicts the MAP the bit is flipped, held there, and the local
search continues from the new point. A test without evidence (0, or NaN from ``-inf - -inf``)
is ignored.

``simulated_cell_steps`` counts the cell updates the engine's kernels have run.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

import numba
import numpy as np
from numba import njit

from lifegym.cells import kernel_input
from lifegym.inference.base import (
    InferenceEngine,
    binary_entropy_bits,
    probabilities_from_log_odds,
)
from lifegym.likelihood import COUNT_FIELDS, frame_loglik, stats_loglik, stats_scale
from lifegym.observe import OBSERVATION_FEATURES, ObservationModel
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = ["PairSearchEngine", "SearchEngine"]

#: Flip probability the search uses in place of ``p = 0`` (ranks rules by mismatches).
SURROGATE_P = 1e-6
_N_COUNTS = len(COUNT_FIELDS)
_NEVER = np.iinfo(np.int64).max
# Rounds of compound moves at one horizon (each round tries every kick once at most).
_KICK_ROUNDS = 8
# Rounds of pair moves after the final climb (each scores every weak co-occurring pair).
_PAIR_ROUNDS = 4
# Pair moves pair at most this many of the weakest bits (a sweep of at most 120 pairs).
_PAIR_BITS = 16
# The linear start: prior precision of each bit (around 0.5), and the posterior standard
# deviation under which a bit counts as determined by the linear system.
_LINEAR_PRIOR = 0.25
_LINEAR_SD = 0.25
# Weight of one noise-free exact observation in the start point's scores.
_NOISE_FREE_WEIGHT = 50.0
# An improvement must beat this (relative to |loglik|) to count: rounding is not progress.
_REL_TOL = 1e-10

# ------------------------------------------------------------------------------- kernels
# Grids are padded with a one-cell halo (H+2, W+2) that ``_advance`` refreshes (torus).


@njit(inline="always")
def _row_start(up, mid, down):
    """Pattern index of padded column 0 shifted left by one: the start of a row's slide."""
    return (
        (np.int64(up[0]) << 7) | (np.int64(up[1]) << 6)
        | (np.int64(mid[0]) << 4) | (np.int64(mid[1]) << 3)
        | (np.int64(down[0]) << 1) | np.int64(down[1])
    )  # fmt: skip


@njit(inline="always")
def _slide(idx, up, mid, down, c):
    """The pattern index of padded column ``c`` from that of column ``c - 1``."""
    return ((idx << 1) & 0x1B6) | (
        (np.int64(up[c + 1]) << 6) | (np.int64(mid[c + 1]) << 3) | np.int64(down[c + 1])
    )


@njit(cache=True, nogil=True)
def _advance(src, dst, table, ref):
    """One torus step of ``src`` into ``dst`` (both padded); returns how many cells of the
    new frame differ from ``ref`` (H, W), or 0 when ``ref`` is empty."""
    height = src.shape[0] - 2
    width = src.shape[1] - 2
    for r in range(1, height + 1):
        src[r, 0] = src[r, width]
        src[r, width + 1] = src[r, 1]
    for c in range(width + 2):
        src[0, c] = src[height, c]
        src[height + 1, c] = src[1, c]
    check = ref.shape[0] > 0
    differ = 0
    for r in range(1, height + 1):
        up, mid, down, out = src[r - 1], src[r], src[r + 1], dst[r]
        idx = _row_start(up, mid, down)
        for c in range(1, width + 1):
            idx = _slide(idx, up, mid, down, c)
            value = table[idx]
            out[c] = value
            if check and value != ref[r - 1, c - 1]:
                differ += 1
    return differ


@njit(cache=True, nogil=True)
def _mark_patterns(grid, orbit_of, first, t):
    """Set ``first[b] = t`` for every bit ``b`` with a pattern in the padded ``grid`` whose
    entry is still unset (``_NEVER``); the halo must be fresh."""
    height = grid.shape[0] - 2
    width = grid.shape[1] - 2
    never = np.iinfo(np.int64).max
    for r in range(1, height + 1):
        up, mid, down = grid[r - 1], grid[r], grid[r + 1]
        idx = _row_start(up, mid, down)
        for c in range(1, width + 1):
            idx = _slide(idx, up, mid, down, c)
            bit = orbit_of[idx]
            if first[bit] == never:
                first[bit] = t


@njit(cache=True, nogil=True)
def _refresh(grid):
    height = grid.shape[0] - 2
    width = grid.shape[1] - 2
    for r in range(1, height + 1):
        grid[r, 0] = grid[r, width]
        grid[r, width + 1] = grid[r, 1]
    for c in range(width + 2):
        grid[0, c] = grid[height, c]
        grid[height + 1, c] = grid[1, c]


@njit(cache=True, nogil=True)
def _frame_features(grid, prev, observed, mode, out):
    """Features of one observed frame, from the padded ``grid``, into ``out``.

    Mode 0 (frames): ``out[0]`` = cells of the window differing from ``observed`` (h, w).
    Mode 1 (statistics): ``out`` = COUNT_FIELDS of the window (live, changed since
    ``prev`` (h, w), the 16 2x2-block counts, wrapping when the window is the world).
    """
    h = prev.shape[0]
    w = prev.shape[1]
    if mode == 0:
        m = 0
        for r in range(h):
            row = grid[r + 1]
            obs = observed[r]
            for c in range(w):
                if row[c + 1] != obs[c]:
                    m += 1
        out[0] = m
        return
    height = grid.shape[0] - 2
    width = grid.shape[1] - 2
    wrap = h == height and w == width
    live = 0
    changed = 0
    for r in range(h):
        row = grid[r + 1]
        before = prev[r]
        for c in range(w):
            v = row[c + 1]
            live += v
            changed += v != before[c]
    out[0] = live
    out[1] = changed
    # 2x2 blocks: count (left column pair, right column pair) = (2a + c, 2b + d) for the
    # block a b / c d, then file them under the code 8a + 4b + 2c + d.
    _refresh(grid)  # the halo holds the wrapped row and column
    pairs = np.zeros(16, dtype=np.int64)
    rows = h if wrap else h - 1
    cols = w if wrap else w - 1
    for r in range(rows):
        top = grid[r + 1]
        bottom = grid[r + 2]
        left = 2 * np.int64(top[1]) + bottom[1]
        for c in range(cols):
            right = 2 * np.int64(top[c + 2]) + bottom[c + 2]
            pairs[4 * left + right] += 1
            left = right
    for left in range(4):
        for right in range(4):
            code = 8 * (left >> 1) + 4 * (right >> 1) + 2 * (left & 1) + (right & 1)
            out[2 + code] = pairs[4 * left + right]


@njit(cache=True, nogil=True)
def _load(grid, frame):
    """Copy ``frame`` (H, W) into the padded ``grid`` (explicit loops: slice assignments
    cost numba seconds of compile time)."""
    for r in range(frame.shape[0]):
        for c in range(frame.shape[1]):
            grid[r + 1, c + 1] = frame[r, c]


@njit(cache=True, nogil=True)
def _copy_window(grid, dst):
    for r in range(dst.shape[0]):
        for c in range(dst.shape[1]):
            dst[r, c] = grid[r + 1, c + 1]


@njit(cache=True, nogil=True)
def _run_current(init, t_end, table, orbit_of, n_bits, obs_index, observed, mode, h, w):
    """Simulate ``table`` from ``init`` for ``t_end`` steps.

    Returns ``(frames (t_end+1, H, W), first (n_bits,), features (n_obs, F))``: ``first[b]``
    is the first step ``t < t_end`` at which a pattern of bit ``b`` occurs (``_NEVER`` if
    none), ``features`` those of ``_frame_features`` for each observed frame.
    """
    height, width = init.shape
    n_obs = observed.shape[0]
    n_feat = 1 if mode == 0 else 18
    frames = np.empty((t_end + 1, height, width), dtype=np.uint8)
    first = np.full(n_bits, np.iinfo(np.int64).max, dtype=np.int64)
    features = np.zeros((n_obs, n_feat), dtype=np.int64)
    a = np.zeros((height + 2, width + 2), dtype=np.uint8)
    b = np.zeros_like(a)
    _load(a, init)
    _copy_window(a, frames[0])
    prev = np.empty((h, w), dtype=np.uint8)
    _copy_window(a, prev)
    no_ref = np.empty((0, 0), dtype=np.uint8)
    for t in range(t_end):
        _refresh(a)
        _mark_patterns(a, orbit_of, first, t)
        _advance(a, b, table, no_ref)
        _copy_window(b, frames[t + 1])
        i = obs_index[t + 1]
        if i >= 0:
            if mode == 0:
                _frame_features(b, prev, observed[i], mode, features[i])
            else:
                _frame_features(b, prev, prev, mode, features[i])
                _copy_window(b, prev)
        a, b = b, a
    return frames, first, features


@njit(cache=True, nogil=True)
def _evaluate_flips(first_k, step, frames, t_end, base, orbit_of, bits, starts, obs_index,
                    obs_times, observed, mode, old, abort, out, work):  # fmt: skip
    """Score candidates ``k = first_k, first_k + step, ...`` from the current run ``frames``.

    Candidate ``k`` flips bits ``bits[k, 0]`` and ``bits[k, 1]`` (-1: none) of the table
    ``base``, is re-simulated from frame ``starts[k]`` to ``t_end``, and gets the features
    of its observed frames in ``out[k]`` (those before ``starts[k]`` copied from ``old``);
    ``work[k]`` counts its cell updates. It stops early once its run has merged back into
    the current one, and in mode 0 once its mismatches exceed ``abort`` (if ``abort >= 0``).
    """
    height = frames.shape[1]
    width = frames.shape[2]
    a = np.zeros((height + 2, width + 2), dtype=np.uint8)
    b = np.zeros_like(a)
    prev = np.empty((observed.shape[1], observed.shape[2]), dtype=np.uint8)
    for k in range(first_k, bits.shape[0], step):
        table = base.copy()
        for p in range(512):
            if orbit_of[p] == bits[k, 0] or orbit_of[p] == bits[k, 1]:
                table[p] ^= 1
        t0 = starts[k]
        for i in range(old.shape[0]):
            for j in range(old.shape[1]):
                out[k, i, j] = old[i, j]
        _load(a, frames[t0])
        if mode == 1:
            # The last observed frame at or before t0 (the initial condition if none).
            last = 0
            for i in range(obs_times.shape[0]):
                if obs_times[i] <= t0:
                    last = obs_times[i]
            for r in range(prev.shape[0]):
                for c in range(prev.shape[1]):
                    prev[r, c] = frames[last, r, c]
        prev_is_old = True
        mismatches = 0
        done = 0
        src, dst = a, b
        for t in range(t0, t_end):
            differ = _advance(src, dst, table, frames[t + 1])
            done += 1
            i = obs_index[t + 1]
            if i >= 0:
                if mode == 0:
                    _frame_features(dst, prev, observed[i], mode, out[k, i])
                    mismatches += out[k, i, 0]
                    if abort >= 0 and mismatches > abort:
                        break
                else:
                    _frame_features(dst, prev, prev, mode, out[k, i])
                    _copy_window(dst, prev)
                    prev_is_old = differ == 0
            if differ == 0 and prev_is_old:
                break  # merged back into the current run: the rest is unchanged
            src, dst = dst, src
        work[k] = done * height * width


_EXECUTOR: tuple[int, ThreadPoolExecutor] | None = None


def _threads() -> int:
    return max(1, min(numba.get_num_threads(), os.cpu_count() or 1))


def _executor() -> ThreadPoolExecutor:
    """A pool of ``_threads()`` threads, made anew in a forked child (threads do not fork)."""
    global _EXECUTOR
    if _EXECUTOR is None or _EXECUTOR[0] != os.getpid():
        _EXECUTOR = (os.getpid(), ThreadPoolExecutor(max_workers=_threads()))
    return _EXECUTOR[1]


def _evaluate_all(*args: object) -> None:
    """``_evaluate_flips`` over every candidate, interleaved over the threads (the kernel
    releases the GIL)."""
    bits = args[4]
    assert isinstance(bits, np.ndarray)
    n_moves = bits.shape[0]
    threads = min(_threads(), n_moves)
    if threads <= 1 or n_moves < 4:
        _evaluate_flips(0, 1, *args)
        return
    futures = [_executor().submit(_evaluate_flips, i, threads, *args) for i in range(threads)]
    for future in futures:
        future.result()


@njit(cache=True, nogil=True)
def _transition_counts(inputs, outputs, interior, orbit_of, counts):
    """Add ``counts[b, y] += 1`` for every cell of ``outputs`` (n, h, w) whose value is ``y``
    and whose input pattern in ``inputs`` (n, H, W), taken on the torus, belongs to bit
    ``b``. With ``interior`` only cells whose 3x3 neighbourhood lies in rows ``0..h-1`` and
    columns ``0..w-1`` count (the inputs are then windows themselves)."""
    n, height, width = inputs.shape
    h, w = outputs.shape[1], outputs.shape[2]
    r_lo, c_lo = (1, 1) if interior else (0, 0)
    r_hi, c_hi = (h - 1, w - 1) if interior else (h, w)
    for f in range(n):
        x = inputs[f]
        for r in range(r_lo, r_hi):
            ru = r - 1 if r > 0 else height - 1
            rd = r + 1 if r + 1 < height else 0
            for c in range(c_lo, c_hi):
                cl = c - 1 if c > 0 else width - 1
                cr = c + 1 if c + 1 < width else 0
                idx = (
                    (np.int64(x[ru, cl]) << 8) | (np.int64(x[ru, c]) << 7)
                    | (np.int64(x[ru, cr]) << 6) | (np.int64(x[r, cl]) << 5)
                    | (np.int64(x[r, c]) << 4) | (np.int64(x[r, cr]) << 3)
                    | (np.int64(x[rd, cl]) << 2) | (np.int64(x[rd, c]) << 1)
                    | np.int64(x[rd, cr])
                )  # fmt: skip
                counts[orbit_of[idx], outputs[f, r, c]] += 1


# ------------------------------------------------------------------------------- tracks


@dataclass
class _Track:
    """One visible trajectory, prepared, and the current rule's run on it."""

    init: np.ndarray  # uint8 (H, W)
    times: np.ndarray  # int64 (n,)
    obs_index: np.ndarray  # int64 (T+1,): index of the observed frame at each step, or -1
    observed: np.ndarray  # uint8 (n, h, w) frames; for statistics an empty (n, h, w) array
    stats: np.ndarray | None  # float64 (n, N_STATS) or None
    mode: int  # 0 frames, 1 statistics
    p: float  # flip probability (noise, or the statistics' perturbation)
    cells: int  # h * w
    # The current rule's run (set by SearchEngine._run before any is read):
    frames: np.ndarray = field(init=False)  # uint8 (T+1, H, W)
    first: np.ndarray = field(init=False)  # int64 (n_bits,)
    features: np.ndarray = field(init=False)  # int64 (n, F)
    # int64 (n_bits,): patterns in the initial frame (set by SearchEngine._absorb)
    initial_counts: np.ndarray = field(init=False)

    @property
    def t_last(self) -> int:
        return int(self.times[-1])

    def horizon(self, t_limit: int) -> tuple[int, int]:
        """``(n_use, t_end)``: observed frames at steps <= ``t_limit`` and the last one."""
        n_use = int(np.searchsorted(self.times, t_limit, side="right"))
        return n_use, int(self.times[n_use - 1]) if n_use else 0


def _prepare(trajectory: VisibleTrajectory) -> _Track | None:
    """A track for ``trajectory``, or None when it has no observed frame."""
    times = np.asarray(trajectory.times, dtype=np.int64)
    if times.size == 0:
        return None
    model = trajectory.model
    height, width = trajectory.world_shape
    h, w = model.region(height, width)
    t_last = int(times[-1])
    obs_index = np.full(t_last + 1, -1, dtype=np.int64)
    obs_index[times] = np.arange(times.size)
    init = kernel_input(trajectory.initial)
    if trajectory.frames is not None:
        observed = kernel_input(trajectory.frames)
        return _Track(init, times, obs_index, observed, None, 0, model.noise, h * w)
    observed = np.zeros((times.size, h, w), dtype=np.uint8)
    stats = np.asarray(trajectory.stats, dtype=np.float64)
    return _Track(init, times, obs_index, observed, stats, 1, model.flip_probability, h * w)


# ------------------------------------------------------------------------------- engine


class SearchEngine(InferenceEngine):
    """Local search for the most likely rule of any family (see the module docstring).

    Args:
        space: the rules the hidden rule may be.
        model: the observation model the trajectories come through.
        seed: seed of the numpy Generator used by the random restarts.
        restarts: random restarts after each update (0: deterministic hill climbing only).
        restart_flips: bits flipped at random for a restart.
        max_sweeps: cap on the sweeps of one climb (one stage of the horizon).
        kicks: how many of the bits most frequent in the initial conditions the compound
            moves flip (0: no compound moves).
        pair_log_odds: bits held with log-odds below this are tried in pairs after the
            final climb (0: no pair moves; see the module doc).
        linear_start: try the linear start of statistics (see the module doc).

    Attributes:
        simulated_cell_steps: cell updates simulated by the engine so far (for reports).
        occurred: bool (n_free,): free bits whose patterns occur in the MAP's runs.
    """

    name = "search"
    observes = OBSERVATION_FEATURES

    def __init__(
        self,
        space: RuleSpace,
        model: ObservationModel,
        seed: int = 0,
        restarts: int = 0,
        restart_flips: int = 3,
        max_sweeps: int = 60,
        kicks: int = 8,
        pair_log_odds: float = 0.0,
        linear_start: bool = False,
    ) -> None:
        super().__init__(space, model)
        self.linear_start = bool(linear_start)
        if not pair_log_odds >= 0:
            raise ValueError(f"pair_log_odds must be >= 0, got {pair_log_odds!r}")
        self.pair_log_odds = float(pair_log_odds)
        self.seed = int(seed)
        self.restarts = int(restarts)
        self.restart_flips = int(restart_flips)
        self.max_sweeps = int(max_sweeps)
        self.kicks = int(kicks)
        self._rng = np.random.default_rng(self.seed)
        self.simulated_cell_steps = 0
        family = space.family
        self._orbit_of = np.ascontiguousarray(family.orbit_of, dtype=np.int64)
        self._n_bits = family.n_bits
        self._free = space.free_bits
        self._x = np.zeros(space.n_free, dtype=np.uint8)
        self._tracks: list[_Track] = []
        # Per family bit: log-odds from exactly known transitions, votes from noisy ones.
        self._exact_score = np.zeros(self._n_bits)
        self._votes = np.zeros((self._n_bits, 2), dtype=np.int64)
        self._log_odds = np.zeros(space.n_free)
        self.occurred = np.zeros(space.n_free, dtype=bool)
        self._tests: dict[int, float] = {}
        # The linear start: normal equations over the free bits, and each family bit's
        # activity sign (+1 birth, -1 survival) and known value.
        n_free = space.n_free
        self._normal = np.eye(n_free) * _LINEAR_PRIOR
        self._rhs = np.full(n_free, 0.5 * _LINEAR_PRIOR)
        self._sign = 1.0 - 2.0 * family.centres
        self._known = np.where(space.known_mask, space.known_values, 0).astype(np.float64)

    # ------------------------------------------------------------------ public interface

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        self._tests.clear()
        track = _prepare(trajectory)
        if track is None:
            return
        self._count_evidence(trajectory, track)
        counts = np.zeros((self._n_bits, 2), dtype=np.int64)
        _transition_counts(track.init[None], track.init[None], False, self._orbit_of, counts)
        track.initial_counts = counts.sum(axis=1)
        self._tracks.append(track)
        self._run(track, self._x)
        starts = [(self._evidence_start(), False)]
        if self.linear_start and self._add_linear(track):
            starts.append((self._linear_point(), True))
        for start, climb in starts:
            if np.any(start != self._x):
                current = self._current_objective()
                value, saved = self._trial(start)
                if not value > current and climb:
                    self._climb(None)
                    value = self._current_objective()
                if not value > current:
                    self._restore(saved)
        self._search()

    def absorb_test(self, free_index: int, log_odds: float) -> None:
        """Set free bit ``free_index``'s log-odds to ``log_odds`` until the next update; if
        the MAP disagrees, flip the bit, hold it, and continue the local search. A test
        without evidence (0 or NaN) is ignored."""
        index = int(free_index)
        if not 0 <= index < self.space.n_free:
            raise ValueError(f"free bit index {index} is outside 0..{self.space.n_free - 1}")
        value = float(log_odds)
        if math.isnan(value) or value == 0:
            return  # no evidence either way (e.g. no data, or -inf - -inf without noise)
        self._tests[index] = value
        wanted = 1 if value > 0 else 0
        if self._x[index] != wanted:
            x = self._x.copy()
            x[index] = wanted
            if self._tracks:
                self._set_current(x)
                self._search(stages=False)
            else:
                self._x = x

    def belief(self) -> Belief:
        log_odds = self._log_odds.copy()
        determined = self.occurred.copy()
        for index, value in self._tests.items():
            log_odds[index] = value
            determined[index] = True
        p_one = probabilities_from_log_odds(log_odds)
        p_one[~determined] = 0.5
        entropy = float(binary_entropy_bits(p_one).sum())
        map_rule = self.map_rule
        return Belief(
            p_one=p_one,
            map_rule=map_rule,
            entropy=entropy,
            n_consistent=None,
            determined=determined,
            map_probability=self.map_probability(p_one, map_rule),
        )

    @property
    def map_rule(self) -> Rule:
        """The best rule found so far."""
        return self.space.rule(self._x)

    def loglik(self) -> float:
        """Log-likelihood of the MAP (as ``compare(map_rule, trajectories).loglik``)."""
        return self._exact_loglik(self._tracks)

    # ------------------------------------------------------------------ evidence

    def _count_evidence(self, trajectory: VisibleTrajectory, track: _Track) -> None:
        """Add the exact counts (and the noisy votes) of ``trajectory``'s transitions."""
        if track.mode != 0 or track.times[0] != 1:
            return
        model = trajectory.model
        height, width = trajectory.world_shape
        h, w = model.region(height, width)
        wraps = (h, w) == (height, width)
        exact = np.zeros((self._n_bits, 2), dtype=np.int64)
        _transition_counts(track.init[None], track.observed[:1], False, self._orbit_of, exact)
        # Consecutive observed frames (stride 1 observes every step up to the last).
        if track.times.size > 1 and min(h, w) >= (1 if wraps else 3):
            target = exact if track.p == 0.0 else self._votes
            _transition_counts(
                track.observed[:-1], track.observed[1:], not wraps, self._orbit_of, target
            )
        # log((1 - p) / p) per observation; a large finite weight stands in for p = 0.
        p = track.p
        weight = math.log1p(-p) - math.log(p) if p > 0 else _NOISE_FREE_WEIGHT
        self._exact_score += (exact[:, 1] - exact[:, 0]) * weight

    def _evidence_start(self) -> np.ndarray:
        """The start point: exact counts where any, else votes, else the current MAP."""
        x = self._x.copy()
        exact = self._exact_score[self._free]
        votes = self._votes[self._free]
        vote = votes[:, 1] - votes[:, 0]
        x[vote > 0] = 1
        x[vote < 0] = 0
        x[exact > 0] = 1
        x[exact < 0] = 0
        return x

    def _add_linear(self, track: _Track) -> bool:
        """Add ``track``'s first-frame density and activity to the normal equations of the
        linear start (statistics of the whole world at step 1 only); whether it was added."""
        if track.mode != 1 or track.times[0] != 1 or track.cells != track.init.size:
            return False
        q, cells = track.p, track.cells
        assert track.stats is not None  # mode 1: statistics
        counts = track.initial_counts.astype(np.float64)
        scale = cells / (1.0 - 2.0 * q)  # statistic -> live (or changed) cells
        live, changed = (track.stats[0, :2] - q) * scale
        variances = stats_scale(track.stats[0], cells)[:2] ** 2 * scale**2
        known = counts * self._known
        survivals = counts[self._sign < 0].sum()
        free = self._free
        for row, target, variance in (
            (counts[free], live - known.sum(), variances[0]),
            ((counts * self._sign)[free], changed - survivals - (known * self._sign).sum(),
             variances[1]),
        ):  # fmt: skip
            self._normal += np.outer(row, row) / variance
            self._rhs += row * target / variance
        return True

    def _linear_point(self) -> np.ndarray:
        """The MAP with every bit the linear system determines set from its solution."""
        covariance = np.linalg.inv(self._normal)
        solution = covariance @ self._rhs
        determined = np.diag(covariance) < _LINEAR_SD**2
        x = self._x.copy()
        x[determined] = solution[determined] > 0.5
        return x

    # ------------------------------------------------------------------ objective

    def _search_p(self, track: _Track) -> float:
        return track.p if track.p > 0 else SURROGATE_P

    def _track_objective(self, track: _Track, features: np.ndarray, n_use: int) -> np.ndarray:
        """Search objective of the first ``n_use`` observed frames, features (..., n, F)."""
        if n_use == 0:
            return np.zeros(features.shape[:-2])
        if track.mode == 0:
            mismatches = features[..., :n_use, 0]
            return frame_loglik(mismatches, track.cells, self._search_p(track)).sum(axis=-1)
        assert track.stats is not None  # mode 1: statistics
        return stats_loglik(features[..., :n_use, :], track.stats[:n_use], track.cells, track.p)

    def _run(self, track: _Track, x: np.ndarray) -> None:
        """Simulate the rule with free bits ``x`` on ``track`` (the current run)."""
        table = np.ascontiguousarray(self.space.rule(x).table)
        frames, first, features = _run_current(
            track.init, track.t_last, table, self._orbit_of, self._n_bits,
            track.obs_index, track.observed, track.mode, *track.observed.shape[1:],
        )  # fmt: skip
        self.simulated_cell_steps += track.init.size * track.t_last
        track.frames, track.first, track.features = frames, first, features

    def _changed_tracks(self, x: np.ndarray) -> list[_Track]:
        """Tracks whose current run changes when the free bits become ``x``."""
        changed_bits = self._free[np.flatnonzero(x != self._x)]
        return [
            t for t in self._tracks if changed_bits.size and np.any(t.first[changed_bits] < _NEVER)
        ]

    def _set_current(self, x: np.ndarray) -> None:
        for track in self._changed_tracks(x):
            self._run(track, x)
        self._x = x.copy()

    def _trial(self, x: np.ndarray, t_limit: int | None = None) -> tuple[float, dict]:
        """Make free bits ``x`` current; returns its search objective (observed steps <=
        ``t_limit``) and what :meth:`_restore` needs to undo it."""
        saved = self._snapshot()
        self._set_current(x)
        return self._current_objective(t_limit), saved

    def _snapshot(self) -> dict:
        return {"x": self._x, "runs": [(t.frames, t.first, t.features) for t in self._tracks]}

    def _restore(self, saved: dict) -> None:
        for track, (frames, first, features) in zip(self._tracks, saved["runs"], strict=True):
            track.frames, track.first, track.features = frames, first, features
        self._x = saved["x"]

    def _current_objective(self, t_limit: int | None = None) -> float:
        total = 0.0
        for track in self._tracks:
            n_use = track.times.size if t_limit is None else track.horizon(t_limit)[0]
            total += float(self._track_objective(track, track.features, n_use))
        return total

    def _exact_loglik(self, tracks: list[_Track]) -> float:
        total = 0.0
        for track in tracks:
            if track.mode == 0:
                total += float(frame_loglik(track.features[:, 0], track.cells, track.p).sum())
            else:
                total += float(self._track_objective(track, track.features, track.times.size))
        return total

    # ------------------------------------------------------------------ sweeps

    def _sweep(self, t_limit: int | None, moves: np.ndarray) -> tuple[np.ndarray, ...]:
        """Score each move (a row of ``moves``: one or two free bits, -1 for none) from the
        current MAP.

        Returns ``(gain, mismatch_change, touched)``: the change of the search objective
        (observed steps <= ``t_limit``), of the number of mismatching cells (frames), and
        whether some flipped bit's patterns occur before the horizon in a current run (else
        the move changes nothing). With noise 0 and a MAP without mismatches, a move's
        mismatches are only counted up to the first one.
        """
        n_moves = moves.shape[0]
        gain = np.zeros(n_moves)
        dmis = np.zeros(n_moves, dtype=np.int64)
        touched = np.zeros(n_moves, dtype=bool)
        if n_moves == 0:
            return gain, dmis, touched
        base = np.ascontiguousarray(self.space.rule(self._x).table)
        fam_moves = np.where(moves >= 0, self._free[np.maximum(moves, 0)], -1)
        abort = 0 if self._noise_free_consistent() else -1
        for track in self._tracks:
            n_use, t_end = (
                (track.times.size, track.t_last) if t_limit is None else track.horizon(t_limit)
            )
            if n_use == 0:
                continue
            firsts = np.where(fam_moves >= 0, track.first[np.maximum(fam_moves, 0)], _NEVER)
            starts = firsts.min(axis=1)
            rel = np.flatnonzero(starts < t_end)
            if rel.size == 0:
                continue
            touched[rel] = True
            old = np.ascontiguousarray(track.features[:n_use])
            out = np.empty((rel.size, *old.shape), dtype=np.int64)
            work = np.zeros(rel.size, dtype=np.int64)
            args = (
                track.frames, t_end, base, self._orbit_of,
                np.ascontiguousarray(fam_moves[rel]), np.ascontiguousarray(starts[rel]),
                track.obs_index, track.times[:n_use], track.observed[:n_use], track.mode, old,
                abort if track.mode == 0 else -1, out, work,
            )  # fmt: skip
            _evaluate_all(*args)
            self.simulated_cell_steps += int(work.sum())
            new = self._track_objective(track, out, n_use)
            cur = self._track_objective(track, old, n_use)
            gain[rel] += new - cur
            if track.mode == 0:
                dmis[rel] += out[:, :, 0].sum(axis=1) - old[:, 0].sum()
        return gain, dmis, touched

    def _noise_free_consistent(self) -> bool:
        return all(t.mode == 0 and t.p == 0.0 for t in self._tracks) and all(
            not t.features[:, 0].any() for t in self._tracks
        )

    def _candidates(self) -> np.ndarray:
        """Free bits the search may flip: all but those held by hypothesis tests."""
        mask = np.ones(self.space.n_free, dtype=bool)
        mask[list(self._tests)] = False
        return np.flatnonzero(mask)

    def _singles(self) -> np.ndarray:
        candidates = self._candidates()
        return np.stack([candidates, np.full(candidates.size, -1)], axis=1)

    def _improves(self, value: float, current: float) -> bool:
        return value > current + _REL_TOL * max(1.0, abs(current))

    def _apply_best(self, moves: np.ndarray, gain: np.ndarray, t_limit: int | None) -> bool:
        """Apply the improving moves in order of gain, each kept only if the objective
        still rises (the first is exact already). Returns whether any was applied."""
        current = self._current_objective(t_limit)
        order = np.flatnonzero(gain > _REL_TOL * max(1.0, abs(current)))
        if order.size == 0:
            return False
        order = order[np.argsort(-gain[order], kind="stable")]
        used: set[int] = set()
        for n, i in enumerate(order):
            bits = [int(b) for b in moves[i] if b >= 0]
            if used.intersection(bits):
                continue
            x = self._x.copy()
            x[bits] ^= 1
            value, saved = self._trial(x, t_limit)
            if n == 0 or self._improves(value, current):
                current = value
                used.update(bits)
            else:
                self._restore(saved)
        return True

    def _climb(self, t_limit: int | None) -> tuple[np.ndarray, ...]:
        """Best-improvement hill climbing over single flips at the horizon ``t_limit``;
        returns the last sweep (over ``_singles()``)."""
        moves = self._singles()
        for _ in range(self.max_sweeps):
            result = self._sweep(t_limit, moves)
            if not self._apply_best(moves, result[0], t_limit):
                return result
        return self._sweep(t_limit, moves)

    def _run_votes(self, t_limit: int | None) -> np.ndarray:
        """Votes (family bits x 0/1) of the current runs: each observed cell at step t <=
        ``t_limit`` votes its observed value for the bit of its simulated input pattern."""
        votes = np.zeros((self._n_bits, 2), dtype=np.int64)
        for track in self._tracks:
            if track.mode != 0:
                continue
            n_use = track.times.size if t_limit is None else track.horizon(t_limit)[0]
            if n_use:
                inputs = track.frames[track.times[:n_use] - 1]
                _transition_counts(inputs, track.observed[:n_use], False, self._orbit_of, votes)
        return votes

    def _refit(self, t_limit: int | None, hold: int, rounds: int = 3) -> None:
        """Set every free bit (but ``hold`` and tested bits) to the majority of its votes
        given the current runs, a few rounds (the runs change with the bits)."""
        keep = np.zeros(self.space.n_free, dtype=bool)
        keep[list(self._tests)] = True
        if hold >= 0:
            keep[hold] = True
        for _ in range(rounds):
            votes = self._run_votes(t_limit)[self._free]
            x = self._x.copy()
            margin = votes[:, 1] - votes[:, 0]
            x[(margin > 0) & ~keep] = 1
            x[(margin < 0) & ~keep] = 0
            if np.array_equal(x, self._x):
                return
            self._set_current(x)

    def _kick_climb(self, t_limit: int | None) -> None:
        """While the MAP does not fit the data at the horizon, try compound moves: flip one
        of the bits most frequent in the initial conditions (or none), refit the other bits
        to the votes of the changed runs, climb; keep the first that ends higher."""
        if any(t.mode != 0 for t in self._tracks):
            return
        weight = np.zeros(self.space.n_free)
        for track in self._tracks:
            weight += track.initial_counts[self._free]
        weight[list(self._tests)] = 0
        kicks = [-1, *np.argsort(-weight, kind="stable")[: self.kicks]]
        kicks = [k for k in kicks if k < 0 or weight[k] > 0]
        for _ in range(_KICK_ROUNDS):
            if self._fits(t_limit):
                return
            current = self._current_objective(t_limit)
            for b in kicks:
                saved = self._snapshot()
                if b >= 0:
                    x = self._x.copy()
                    x[b] ^= 1
                    self._set_current(x)
                self._refit(t_limit, b)
                self._climb(t_limit)
                if self._improves(self._current_objective(t_limit), current):
                    break
                self._restore(saved)
            else:
                return

    def _fits(self, t_limit: int | None) -> bool:
        """Whether the MAP explains the observed steps <= ``t_limit`` about as well as the
        hidden rule would: mismatches within 4 standard deviations of ``n p`` (none for
        ``p = 0``); for statistics ``sum z^2`` within 4 deviations of its count."""
        mismatches = expected = variance = 0.0
        terms = 0
        chi2 = 0.0
        for track in self._tracks:
            n_use = track.times.size if t_limit is None else track.horizon(t_limit)[0]
            if n_use == 0:
                continue
            if track.mode == 0:
                n = n_use * track.cells
                mismatches += float(track.features[:n_use, 0].sum())
                expected += n * track.p
                variance += n * track.p * (1 - track.p)
            else:
                assert track.stats is not None  # mode 1: statistics
                terms += n_use * track.stats.shape[1]
                chi2 += -2.0 * float(self._track_objective(track, track.features, n_use))
        if mismatches > expected + 4.0 * math.sqrt(variance) + (3.0 if expected else 0.0):
            return False
        return chi2 <= terms + 4.0 * math.sqrt(2.0 * terms) + 3.0

    def _stages(self) -> list[int]:
        """Horizons of the climb: t1, 2 t1, 4 t1, ... below the last observed step."""
        t_first = min(int(t.times[0]) for t in self._tracks)
        t_last = max(t.t_last for t in self._tracks)
        stages = []
        t = t_first
        while t < t_last:
            stages.append(t)
            t *= 2
        return stages

    def _search(self, stages: bool = True) -> None:
        """Climb (over the growing horizons unless the MAP already fits all the data),
        with compound moves where the MAP does not fit, then restarts; store the belief."""
        if not self._tracks:
            return
        fitting = True  # every horizon so far explained: compound moves may pay off
        if stages and not self._fits(None):
            for t_limit in self._stages():
                self._climb(t_limit)
                if self.kicks and fitting:
                    self._kick_climb(t_limit)
                fitting = fitting and self._fits(t_limit)
        result = self._climb(None)
        if self.kicks and fitting and not self._fits(None):
            self._kick_climb(None)
            result = self._climb(None)
        if self.pair_log_odds > 0:
            result = self._pair_climb(result)
        for _ in range(self.restarts):
            result = self._restart(result)
        self._store_belief(*result)

    def _weak_pairs(self, result: tuple[np.ndarray, ...]) -> np.ndarray:
        """int (P, 2): pairs of the ``_PAIR_BITS`` free bits held most weakly (``|log-odds|
        < pair_log_odds``) by the sweep ``result`` that occur together in the initial
        condition of some trajectory."""
        candidates = self._candidates()
        gain, _, occurs = result
        held = np.abs(gain)
        weak = np.flatnonzero(occurs & (held < self.pair_log_odds))
        weak = candidates[weak[np.argsort(held[weak], kind="stable")][:_PAIR_BITS]]
        if weak.size < 2:
            return np.empty((0, 2), dtype=np.int64)
        present = np.stack([t.initial_counts[self._free[weak]] > 0 for t in self._tracks])
        together = present.T.astype(np.int64) @ present.astype(np.int64) > 0
        first, second = np.nonzero(np.triu(together, k=1))
        return np.stack([weak[first], weak[second]], axis=1)

    def _pair_climb(self, result: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Pair moves after the final climb (see the module doc); returns the last sweep."""
        for _ in range(_PAIR_ROUNDS):
            pairs = self._weak_pairs(result)
            if not pairs.size or not self._apply_best(pairs, self._sweep(None, pairs)[0], None):
                return result
            result = self._climb(None)
        return result

    def _restart(self, result: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        """Flip ``restart_flips`` random occurring bits, climb, keep the better."""
        candidates = self._candidates()
        occurring = candidates[result[2]]
        if occurring.size == 0:
            return result
        saved = self._snapshot()
        saved_value = self._current_objective()
        k = min(self.restart_flips, occurring.size)
        x = self._x.copy()
        x[self._rng.choice(occurring, size=k, replace=False)] ^= 1
        self._set_current(x)
        new = self._climb(None)
        if self._improves(self._current_objective(), saved_value):
            return new
        self._restore(saved)
        return result

    def _store_belief(self, gain: np.ndarray, dmis: np.ndarray, occurs: np.ndarray) -> None:
        """Log-odds of every free bit from the final sweep (flips of the MAP)."""
        candidates = self._candidates()
        flip = gain.copy()  # objective(flipped) - objective(MAP)
        if all(t.mode == 0 and t.p == 0.0 for t in self._tracks):
            consistent = self._noise_free_consistent()
            exact = np.where(dmis > 0, -np.inf, 0.0) if consistent else flip
            flip = np.where(occurs, exact, 0.0)
        sign = np.where(self._x[candidates] == 1, -1.0, 1.0)
        log_odds = np.zeros(self.space.n_free)
        log_odds[candidates] = np.where(occurs, sign * flip, 0.0)
        self._log_odds = log_odds
        occurred = np.zeros(self.space.n_free, dtype=bool)
        fam = self._free
        for track in self._tracks:
            occurred |= track.first[fam] < track.t_last
        self.occurred = occurred


class _SearchOptions(TypedDict, total=False):
    """The keyword options of :class:`SearchEngine` after ``space`` and ``model``."""

    seed: int
    restarts: int
    restart_flips: int
    max_sweeps: int
    kicks: int
    pair_log_odds: float
    linear_start: bool


class PairSearchEngine(SearchEngine):
    """``search`` with pair moves (``pair_log_odds=12``) and the linear start: the engine
    of the v1 presets that see statistics of rules too large to enumerate
    (``lifegym/Isotropic-Stats-v1``)."""

    name = "search-pairs"

    def __init__(
        self, space: RuleSpace, model: ObservationModel, **options: Unpack[_SearchOptions]
    ) -> None:
        options.setdefault("pair_log_odds", 12.0)
        options.setdefault("linear_start", True)
        super().__init__(space, model, **options)
