"""Fitting an emulator to strided frames (only every ``stride``-th state observed).

With stride ``k > 1`` the states between two observed frames are hidden, so the data
constrain the ``k``-fold composition of the rule table, not the table itself. Unrolling ``k``
steps of the emulator and descending the gradient (straight-through binarisation of the
hidden states, ``Emulator.fit(strided="straight-through")``) gets stuck in poor local
minima: it recovered none of 10 random B/S rules in a measurement, 1 of 6 rules in
``benchmarks/emulator_fit.py``. This module searches the binary table directly instead
(``strided="search"``, the default), and then teaches the emulator the table it found.
Candidate tables are run by the simulator (:func:`lifegym.sim.simulate`: bit-packed for
B/S tables).

Method
======
The unknowns are one output bit per orbit of the emulator's symmetry group (18 for
``totalistic``, 102 for ``p4m``), so a candidate table is cheap to score exactly:

* **Forced loss** (the search objective): from every observed frame, run the table
  ``stride`` steps and count the cells that differ from the next observed frame, each
  trajectory's mean cell mismatch weighted by its weight.
* **Rollout loss** (the likelihood): run the table from the exactly known frame 0 through
  the whole trajectory and count mismatches at the observed steps. With observation flips of
  probability ``p`` the log-likelihood of a deterministic table is
  ``M log p + (N - M) log(1 - p)`` for ``M`` mismatches out of ``N`` observed cells, so a
  smaller ``M`` is a likelier table (the same flip model ``P(observed 1) = p + (1 - 2p)
  P(true 1)``, for a table whose ``P(true 1)`` is 0 or 1).

1. **Search.** Local search on the forced loss, flipping one orbit bit at a time (first
   improvement, random order), from the emulator's current table (a warm start), then from
   random tables (restarts). The landscape has a few deep false minima (tables whose
   ``k``-step map roughly mimics the data's), but about half of all restarts reach the true
   rule's basin. Every local minimum is scored by its rollout loss; the search stops as soon
   as one is *certified*: its mismatches are no more than pure observation noise explains
   (``M <= pN + 4 sqrt(N p (1 - p))``, i.e. ``M = 0`` without noise), else after a fixed
   budget, keeping the best.
2. **Polish.** Single orbit flips that lower the rollout loss are applied.
3. **Undetermined bits.** An orbit whose flip leaves the rollout mismatches unchanged is not
   determined by the data; it takes the emulator's previous value, if that is still
   consistent.
4. **Write back.** The emulator is fitted (``Emulator.fit_counts`` with one count per
   pattern) to the table: probability 0 or 1 for determined orbits, a
   weak ``0.4`` or ``0.6`` for undetermined ones (low extraction confidence), until every
   pattern is within 0.1 of its target, so :meth:`Emulator.extract` returns the table.

Randomness comes only from ``emulator.generator`` (one draw seeds a numpy generator) and the
budgets are counted in work, not time, so a fit is deterministic.

Measured rates
==============
Random rules (30 per row, seeded), one 63x63 soup at density 0.5 run 16 steps, frames 0, 2,
..., 16 (stride 2), frames 1.. flipped with probability ``noise``, a fresh emulator (seed 0)
per rule, 2 cores. *Exact*: the extracted rule is the true one; *consistent*: run from frame
0 it reproduces the clean frames at the observed steps.

===================  =====  ======  ===========  ====================
family / symmetry    noise  exact   consistent   seconds / fit
===================  =====  ======  ===========  ====================
B/S / totalistic     0      30/30   30/30        0.16 median, max 1.7
B/S / totalistic     0.01   30/30   30/30        0.16 median, max 0.6
isotropic / p4m      0      30/30   30/30        0.25 median, max 1.4
isotropic / p4m      0.01   30/30   30/30        0.26 median, max 1.3
===================  =====  ======  ===========  ====================

On the 27 named and 50 random B/S rules of ``benchmarks/emulator_fit.py``: 74/77 exact and
77/77 consistent (75/77 with noise 0.01); the misses are Fredkin, Anneal and Vote, which are
self-complementary: the rule ``NOT R(NOT x)`` has the same 2-step map, so no stride-2 data can
tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lifegym.rules import Rule
from lifegym.sim import simulate

__all__ = ["FIT_TOL", "unrolled_table"]

_MAX_RESTARTS = 48  # local searches from random tables, at most
_WORK_BUDGET = 1.5e9  # cell updates the search may spend
_NOISE_SIGMAS = 4.0  # certification: mismatches within this many sigmas of the noise
_WEAK_TARGET = 0.1  # undetermined orbits are taught probability 1/2 +- this
FIT_TOL = 0.1  # write-back stops once every probability is this close to its target


@dataclass(frozen=True)
class _Data:
    """Strided trajectories, ready for scoring candidate tables (uint8[512])."""

    frames: list[np.ndarray]  # frames 0..n
    scale: np.ndarray  # weight / observed cells, per trajectory
    stride: int
    noise: float
    family: str  # the family of the tables searched (that of the emulator's group)

    @classmethod
    def build(
        cls,
        trajectories: Sequence[np.ndarray],
        weights: np.ndarray,
        stride: int,
        noise: float,
        family: str,
    ) -> _Data:
        frames = [np.ascontiguousarray(t, dtype=np.uint8) for t in trajectories]
        cells = np.array([f[1:].size for f in frames], dtype=np.float64)
        return cls(
            frames=frames,
            scale=np.asarray(weights, dtype=np.float64) / cells,
            stride=stride,
            noise=noise,
            family=family,
        )

    def forced_loss(self, table: np.ndarray) -> float:
        """Weighted mismatches of ``stride`` steps from every observed frame."""
        rule = Rule.from_table(table, self.family)
        counts = [
            np.count_nonzero(simulate(rule, f[:-1], self.stride, record="last")[:, 0] != f[1:])
            for f in self.frames
        ]
        return float(self.scale @ np.array(counts, dtype=np.float64))

    def rollout_mismatches(self, table: np.ndarray) -> np.ndarray:
        """int64 per trajectory: mismatches of the run from frame 0 at the observed steps."""
        rule = Rule.from_table(table, self.family)
        counts = np.zeros(len(self.frames), dtype=np.int64)
        for i, f in enumerate(self.frames):
            run = simulate(rule, f[0], self.stride * (len(f) - 1), record=self.stride)
            counts[i] = np.count_nonzero(run[1:] != f[1:])
        return counts

    def rollout_loss(self, table: np.ndarray) -> float:
        return float(self.scale @ self.rollout_mismatches(table).astype(np.float64))

    def certified(self, mismatches: np.ndarray) -> bool:
        """Whether ``mismatches`` are no more than observation noise explains."""
        used = self.scale > 0
        cells = sum(f[1:].size for f, u in zip(self.frames, used, strict=True) if u)
        p = self.noise
        allowed = p * cells + _NOISE_SIGMAS * np.sqrt(cells * p * (1 - p))
        return int(mismatches[used].sum()) <= allowed

    def work(self) -> int:
        """Cell updates of one forced-loss evaluation."""
        return sum(f[:-1].size for f in self.frames) * self.stride


class _Orbits:
    """The orbits of the emulator's group: bits (one per orbit) <-> tables (512)."""

    def __init__(self, labels: np.ndarray) -> None:
        reps, self.of = np.unique(labels, return_index=True, return_inverse=True)[1:]
        self.representatives = reps
        self.count = len(reps)

    def table(self, bits: np.ndarray) -> np.ndarray:
        return bits[self.of]

    def bits(self, table: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(table[self.representatives], dtype=np.uint8)


def _descend(
    loss: Callable[[np.ndarray], float],
    bits: np.ndarray,
    orbits: _Orbits,
    order: Callable[[], np.ndarray],
) -> tuple[np.ndarray, float, int]:
    """Flip single bits while that lowers ``loss`` (first improvement, in ``order()`` each
    sweep). Returns the local minimum, its loss and the number of evaluations."""
    bits = bits.copy()
    best = loss(orbits.table(bits))
    evaluations = 1
    improved = True
    while improved:
        improved = False
        for o in order():
            bits[o] ^= 1
            value = loss(orbits.table(bits))
            evaluations += 1
            if value < best:
                best, improved = value, True
            else:
                bits[o] ^= 1
    return bits, best, evaluations


def _search(
    data: _Data, orbits: _Orbits, prior: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Local searches from ``prior`` then random bits; the best minimum by rollout loss."""
    budget = _WORK_BUDGET / data.work()
    spent = 0
    best, best_key = prior, None
    for start in range(_MAX_RESTARTS + 1):
        if start and spent >= budget:
            break
        bits = prior if start == 0 else rng.integers(0, 2, orbits.count, dtype=np.uint8)
        bits, forced, used = _descend(
            data.forced_loss, bits, orbits, lambda: rng.permutation(orbits.count)
        )
        spent += used
        mismatches = data.rollout_mismatches(orbits.table(bits))
        key = (float(data.scale @ mismatches.astype(np.float64)), forced)
        if best_key is None or key < best_key:
            best, best_key = bits, key
        if data.certified(mismatches):
            break
    return best


def _undetermined(data: _Data, orbits: _Orbits, bits: np.ndarray) -> np.ndarray:
    """bool per orbit: flipping it alone leaves every rollout mismatch count unchanged."""
    here = data.rollout_mismatches(orbits.table(bits))
    free = np.zeros(orbits.count, dtype=bool)
    for o in range(orbits.count):
        flipped = bits.copy()
        flipped[o] ^= 1
        free[o] = np.array_equal(data.rollout_mismatches(orbits.table(flipped)), here)
    return free


def _prefer_prior(
    data: _Data, orbits: _Orbits, bits: np.ndarray, prior: np.ndarray, free: np.ndarray
) -> np.ndarray:
    """Give undetermined orbits their prior value, one by one, where that changes no
    rollout mismatch count."""
    bits = bits.copy()
    here = data.rollout_mismatches(orbits.table(bits))
    for o in np.flatnonzero(free & (bits != prior)):
        bits[o] ^= 1
        if not np.array_equal(data.rollout_mismatches(orbits.table(bits)), here):
            bits[o] ^= 1
    return bits


def unrolled_table(
    trajectories: list[np.ndarray],
    weights: np.ndarray,
    *,
    stride: int,
    noise: float,
    family: str,
    labels: np.ndarray,
    warm_start: np.ndarray,
    generator: torch.Generator,
) -> np.ndarray:
    """The table (float (512,), targets in [0, 1]) that frames observed every ``stride``
    steps point to; :meth:`Emulator.fit` with ``stride > 1`` teaches it to the emulator.

    Args:
        trajectories: uint8 arrays (n+1, H, W) of 0/1 cells on the torus; frame 0 is the
            exact initial state, frame ``j`` the state at step ``j * stride``.
        weights: one per trajectory (normalised to sum 1), weighting its mean cell loss.
        stride: steps between consecutive frames (>= 1).
        noise: probability in [0, 0.5) that each cell of frames 1.. was flipped when
            observed.
        family: the rule family whose rules are the tables of the emulator's symmetry.
        labels: int (512,): an orbit label per pattern under that symmetry.
        warm_start: 0/1 (512,): the emulator's current rule: the warm start, and the
            default of orbits the data do not determine (a weak target there).
        generator: the emulator's torch generator (one draw seeds the search).

    See the module docstring for the method (a search over binary tables) and its
    measured recovery rates.
    """
    w = np.asarray(weights, dtype=np.float64)
    data = _Data.build(trajectories, w / w.sum(), stride, noise, family)
    orbits = _Orbits(labels)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    rng = np.random.default_rng(seed)
    prior = orbits.bits(np.asarray(warm_start, dtype=np.uint8))
    bits = _search(data, orbits, prior, rng)
    bits, _, _ = _descend(data.rollout_loss, bits, orbits, lambda: np.arange(orbits.count))
    free = _undetermined(data, orbits, bits)
    bits = _prefer_prior(data, orbits, bits, prior, free)
    target = np.where(free, 0.5 + _WEAK_TARGET * (2.0 * bits - 1.0), bits)
    return orbits.table(target)
