"""Behavioural match: two rules match when their evolution statistics agree within the noise.

The research seeds judged a learned rule by its behaviour, not its table: run it and the
black box from the same soups and compare the *evolution statistics* of every frame,
density, activity (fraction of cells changed since the previous frame) and 2x2 block
entropy (``lifegym.observe.STAT_NAMES``, computed by ``lifegym.observe.frame_statistics``
on the torus, as the env's ``stats`` observation and the emulator's
``rollout_statistics`` do). A rule that is wrong only on neighbourhoods soups rarely show
then counts as a match; one wrong on a common neighbourhood does not.

The battery (:func:`battery`)
=============================
``BATTERY_REPLICATES`` independent whole-world soups at each of ``BATTERY_DENSITIES``,
run ``BATTERY_STEPS`` steps. The densities (those of the frame-identity battery in
``lifegym.scoring``) span sparse to crowded soups so that every neighbour count, hence
every bit of a B/S rule, is common in the first step of at least one of them: at 0.9 a
dead cell has 8 live neighbours 4% of the time, at 0.1 a live cell has none 43% of the
time. Densities are never pooled: soups of different densities are different
experiments, each compared on its own. Four replicates per density measure the
soup-to-soup noise: with the variance pooled over neighbouring frames (below) they hold
the false-mismatch rate near 1% or under, for 7 x 4 = 28 soups per rule. The fixed
patch, single-cell and pair grids of the frame battery are left out: a statistic of one
deterministic grid has no noise to compare with.

The test (:func:`behavioural_match`)
====================================
For each density, statistic and frame ``t`` (1..steps), with ``m`` the mean over the
``R`` replicates and ``v`` their noise variance::

    |m_a - m_b| <= MATCH_Z * sqrt((v_a + v_b) / R) + one_cell(world)

* ``v`` at frame ``t`` is the larger of the replicates' sample variance (ddof 1) at ``t``
  and its mean over frames ``t - VARIANCE_HALF_WINDOW .. t + VARIANCE_HALF_WINDOW``
  (clipped to 1..steps). A variance of four values has 3 degrees of freedom and among
  the 7 x 3 x 32 = 672 comparisons some is always far too small by chance: with the
  per-frame variance alone, a rule run on two independent batteries fails a 6-sigma test
  about a third of the time. Variances change slowly from frame to frame, so the mean
  over five frames has several times the degrees of freedom; where they change fast
  (the first frames of a dense soup that dies out) the frame's own variance keeps the
  noise from being underestimated.
* ``one_cell(world)``: one cell's worth of each statistic (the statistics of one live
  cell in a dead world: ``1 / (H W)`` for density and activity, more for block entropy),
  so two deterministic series (zero variance, e.g. every soup dead) match when they are
  equal to within a cell, and only then.
* ``MATCH_Z = 6``, chosen from the false-mismatch rate measured by running one rule on
  two independent batteries of a 60x60 world: 0.2% of 500 random B/S rules, 0% of 500
  random isotropic rules, 0.7% of the 30 named rules x 10 battery pairs (rules whose soups
  split between two fates, e.g. Vote freezing at either majority, fail most); at
  ``Z = 5`` the rates are 2.8%, 0.4% and 3.3%. The two rules of an actual call run from
  the *same* soups, which correlates their statistics, so a pair that behaves alike
  fails less often than that.
* False matches, the price of that safety: with ``R = 4`` the standard error of a
  difference of means is 0.71 soup-to-soup standard deviations ``sigma``, so a
  difference at one frame is certainly rejected from about ``(MATCH_Z + 2) x 0.71 = 5.7
  sigma`` and can pass below ``4.2 sigma``. For Life on a 60x60 world ``sigma`` is about
  0.015 in density and activity and 0.04 in block entropy (median over densities and
  frames), so a difference of 0.06 in mean density at some frame can pass. Measured on the
  fixed 60x60 battery: none of the 18 single-bit flips of Life (B/S) match (the smallest
  gap, B3/S023, is 11.5: every neighbour count is common in the first step at some
  density), while 51 of its 102 single-configuration flips in the isotropic family do,
  those whose configurations are rare in Life's soups and ash: e.g. ``B34c/S23`` (gap 1.9;
  the B4c neighbourhood is 0.017% of the cell updates of Life's battery trajectories)
  and not ``B3/S23-a`` (gap 25; S3a, a cell of a block, is 0.76%). Of the single-bit
  flips of 60 random B/S rules 3% match, all near the threshold (e.g. Seeds ``B2/S`` and
  ``B2/S0``: gap 4.3 on the fixed battery, 5.4 to 9.2 on per-episode ones).

Identical rules (equal tables) always match, without simulating. Otherwise the test runs
in stages, each able to reject: first the first density group alone, ``_SCREEN`` frames
(frame 1's gap is final then; density and activity before the block entropy), then every
group for ``_FIRST_STAGE`` frames, then the rest; most mismatching pairs are rejected on
one group's soups in a fiftieth of the work, and many pairs are tested together
(:func:`behavioural_matches`). The answer
is always ``behaviour_gap(a, b, grids, steps) <= MATCH_Z``. A :class:`LazyBattery` draws
a density group's soups only when a stage first needs them (the same soups as
:func:`battery`). Cost on a 60x60 world (2-core machine): see :func:`behavioural_match`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from numba import njit
from numpy.typing import DTypeLike

from lifegym.cells import as_cells
from lifegym.observe import (
    COUNT_FIELDS,
    N_STATS,
    _counts_kernel,
    frame_statistics,
    statistics_from_counts,
)
from lifegym.patterns import _table_step
from lifegym.rules import Rule

__all__ = [
    "BATTERY_DENSITIES",
    "BATTERY_REPLICATES",
    "BATTERY_SEED",
    "BATTERY_STEPS",
    "MATCH_Z",
    "VARIANCE_HALF_WINDOW",
    "LazyBattery",
    "battery",
    "behaviour_gap",
    "behavioural_match",
    "behavioural_matches",
    "evolution_statistics",
    "one_cell",
    "standardised_gaps",
]

#: The fixed battery (the v0 presets) is drawn from this seed.
BATTERY_SEED = 20261122
#: Frames compared after each soup (frames 1..BATTERY_STEPS).
BATTERY_STEPS = 32
#: Soup densities of the battery, one group of replicates each.
BATTERY_DENSITIES = (0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9)
#: Independent soups per density: their spread is the noise.
BATTERY_REPLICATES = 4
#: Standard errors two mean statistics may differ by.
MATCH_Z = 6.0
#: The noise variance at frame t is at least its mean over frames t-2..t+2.
VARIANCE_HALF_WINDOW = 2

# Frames of the first stage of behavioural_match (gaps of frames up to
# _FIRST_STAGE - VARIANCE_HALF_WINDOW are final after it).
_FIRST_STAGE = 8
# Frames of the screen of one density group at a time: the fewest after which a frame's
# gap (frame 1's) is final.
_SCREEN = 1 + 2 * VARIANCE_HALF_WINDOW

_GRIDS_LAYOUT = {4: "(n_densities, n_replicates, H, W)"}


def battery(world: tuple[int, int], rng: np.random.Generator | None = None) -> np.ndarray:
    """The battery of soups for a world: uint8 (n_densities, n_replicates, H, W).

    ``BATTERY_REPLICATES`` whole-world soups at each of ``BATTERY_DENSITIES`` (each cell
    alive independently with that probability), drawn from ``rng``: the env's battery
    stream, per episode, which no agent sees; or, without ``rng``, from
    ``np.random.default_rng(BATTERY_SEED)`` (the fixed battery of the v0 presets).
    """
    rng = np.random.default_rng(BATTERY_SEED) if rng is None else rng
    height, width = world
    shape = (len(BATTERY_DENSITIES), BATTERY_REPLICATES, height, width)
    densities = np.asarray(BATTERY_DENSITIES)[:, None, None, None]
    return (rng.random(shape) < densities).astype(np.uint8)


class LazyBattery:
    """:func:`battery`'s soups for ``world`` from ``rng``, drawn one density group at a time
    when first asked for: ``lazy[d]`` is ``battery(world, rng)[d]`` (the generator's
    doubles are drawn in the same order, group after group), and a match test rejected on
    the first groups never draws the others. Takes the generator over: draw nothing else
    from it."""

    def __init__(self, world: tuple[int, int], rng: np.random.Generator) -> None:
        self.world = (int(world[0]), int(world[1]))
        self.shape = (len(BATTERY_DENSITIES), BATTERY_REPLICATES, *self.world)
        self._rng = rng
        self._groups: list[np.ndarray] = []

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, d: int) -> np.ndarray:
        """uint8 (n_replicates, H, W): the soups of density group ``d``."""
        if not 0 <= d < len(self):
            raise IndexError(f"density group must be in 0..{len(self) - 1}, got {d!r}")
        while len(self._groups) <= d:
            density = BATTERY_DENSITIES[len(self._groups)]
            self._groups.append((self._rng.random(self.shape[1:]) < density).astype(np.uint8))
        return self._groups[d]

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        grids = np.stack([self[d] for d in range(len(self))])
        return grids if dtype is None else grids.astype(dtype)


# The 2x2 block (``lifegym.observe.COUNT_FIELDS``' code: 8 top-left + 4 top-right + 2
# bottom-left + bottom-right) whose top-left cell is the centre of each 3x3 pattern: the
# pattern's centre, east, south and south-east cells (bits 4, 3, 1 and 0).
_BLOCK_OF_PATTERN = np.array(
    [8 * (p >> 4 & 1) + 4 * (p >> 3 & 1) + 2 * (p >> 1 & 1) + (p & 1) for p in range(512)],
    dtype=np.int64,
)
_CENTRE_OF_PATTERN = np.array([p >> 4 & 1 for p in range(512)], dtype=np.int64)


@njit(cache=True, nogil=True)
def _run_kernel(grids, tables, steps, blocks, counts, last):
    """``counts[g, t - 1]`` = the ``COUNT_FIELDS`` of frame ``t`` (1..steps) of grid ``g``
    (G, H, W) run on the torus under ``tables[g]`` (as ``lifegym.observe.frame_counts``
    counts them; only live and changed cells without ``blocks``), and ``last[g]`` its
    frame ``steps``.

    With ``blocks``, one pass over each frame: every cell's 3x3 pattern is looked up to
    step it and counted; frame t's pattern histogram gives frame t+1's live and changed
    cells (the patterns whose next state is 1, or differs from their centre) and frame
    t's own 2x2 blocks (``_BLOCK_OF_PATTERN``). Without, a plain step and the counts
    kernel's live and changed cells of the new frame."""
    height, width = grids.shape[1], grids.shape[2]
    src = np.empty((height, width), dtype=np.uint8)
    dst = np.empty((height, width), dtype=np.uint8)
    histogram = np.empty(512, dtype=np.int64)
    for g in range(grids.shape[0]):
        src[:] = grids[g]
        table = tables[g]
        for t in range(steps):
            if blocks:
                histogram[:] = 0
                _table_step(src, dst, table, histogram)
                live = 0
                changed = 0
                for pattern in range(512):
                    n = histogram[pattern]
                    live += n * table[pattern]
                    changed += n * (table[pattern] != _CENTRE_OF_PATTERN[pattern])
                    if t > 0:
                        counts[g, t - 1, 2 + _BLOCK_OF_PATTERN[pattern]] += n
                counts[g, t, 0] = live
                counts[g, t, 1] = changed
            else:
                _table_step(src, dst, table)
                new_frame = dst.reshape((1, height, width))
                _counts_kernel(src, new_frame, True, counts[g, t : t + 1], False)
            src, dst = dst, src
        if blocks:  # the last frame's blocks, from its own patterns
            histogram[:] = 0
            _table_step(src, dst, table, histogram)
            for pattern in range(512):
                counts[g, steps - 1, 2 + _BLOCK_OF_PATTERN[pattern]] += histogram[pattern]
        last[g] = src


def _runs(
    tables: np.ndarray, grids: np.ndarray, steps: int, blocks: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of frames 1..steps of each of ``grids`` (K, n, H, W) under rule
    ``tables[k]`` (K, 512): float64 (K, n, steps, N_STATS), and the last frames
    (K, n, H, W); in one kernel call. Without ``blocks`` the block entropy is left out
    (0 for every frame: it then rejects nothing)."""
    rules, n, height, width = grids.shape
    flat = np.ascontiguousarray(grids, dtype=np.uint8).reshape(-1, height, width)
    counts = np.zeros((len(flat), steps, len(COUNT_FIELDS)), dtype=np.int64)
    last = np.empty_like(flat)
    _run_kernel(flat, np.repeat(tables, n, axis=0), steps, blocks, counts, last)
    stats = statistics_from_counts(counts, height * width)
    return stats.reshape(rules, n, steps, N_STATS), last.reshape(grids.shape)


def _run(rule: Rule, start: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Statistics of frames 1..steps from each of ``start`` (N, H, W): float64
    (N, steps, N_STATS), and the last frames (N, H, W)."""
    stats, last = _runs(rule.table[None], start[None], steps)
    return stats[0], last[0]


def evolution_statistics(rule: Rule, soups: np.ndarray, steps: int) -> np.ndarray:
    """Density, activity and 2x2 block entropy of frames 1..steps of ``rule`` from each
    soup, on the torus: float64 (..., steps, 3) for ``soups`` (..., H, W) with 0, 1 or 2
    leading axes.

    The statistics are ``lifegym.observe.frame_statistics`` (``STAT_NAMES``, each in
    [0, 1]; activity of frame 1 is measured against the soup itself).
    """
    cells = as_cells(soups, "soups", {2: "(H, W)", 3: "(B, H, W)", **_GRIDS_LAYOUT})
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    lead, world = cells.shape[:-2], cells.shape[-2:]
    stats, _ = _run(rule, cells.reshape(-1, *world), int(steps))
    return stats.reshape(*lead, int(steps), N_STATS)


def _noise_variance(stats: np.ndarray) -> np.ndarray:
    """Sample variance (ddof 1) over the replicates of ``stats`` (D, R, T, S), averaged
    over frames ``t +- VARIANCE_HALF_WINDOW`` (clipped to the frames there are):
    float64 (D, T, S)."""
    variance = stats.var(axis=1, ddof=1)
    frames = variance.shape[1]
    sums = np.concatenate([np.zeros_like(variance[:, :1]), np.cumsum(variance, axis=1)], axis=1)
    t = np.arange(frames)
    low = np.maximum(t - VARIANCE_HALF_WINDOW, 0)
    high = np.minimum(t + VARIANCE_HALF_WINDOW + 1, frames)
    pooled = (sums[:, high] - sums[:, low]) / (high - low)[None, :, None]
    return np.maximum(variance, pooled)


def one_cell(world: tuple[int, int]) -> np.ndarray:
    """What one cell is worth in each statistic on a ``world`` torus: the statistics of a
    single live cell on a dead world (after a dead one): float64 (N_STATS,)."""
    return _one_cell(int(world[0]), int(world[1])).copy()


@functools.lru_cache(maxsize=64)
def _one_cell(height: int, width: int) -> np.ndarray:
    frame = np.zeros((1, height, width), dtype=np.uint8)
    frame[0, 0, 0] = 1
    return frame_statistics(np.zeros((height, width), dtype=np.uint8), frame, wrap=True)[0]


def standardised_gaps(
    stats_a: np.ndarray, stats_b: np.ndarray, world: tuple[int, int]
) -> np.ndarray:
    """Standardised differences of two rules' mean statistics: float64 (D, T, S).

    ``stats_a``, ``stats_b``: (D, R, T, S) from :func:`evolution_statistics` on the same
    battery of ``world``-sized soups. The gap is ``|m_a - m_b| / (se + floor / MATCH_Z)``
    with ``se = sqrt((v_a + v_b) / R)`` (noise variances, see the module doc) and
    ``floor = one_cell(world)``: a gap <= ``MATCH_Z`` is exactly the match condition.
    """
    replicates = stats_a.shape[1]
    difference = np.abs(stats_a.mean(axis=1) - stats_b.mean(axis=1))
    noise = np.sqrt((_noise_variance(stats_a) + _noise_variance(stats_b)) / replicates)
    return difference / (noise + _one_cell(*world) / MATCH_Z)


def _check(grids: np.ndarray | LazyBattery, steps: int) -> tuple[np.ndarray | LazyBattery, int]:
    if isinstance(grids, LazyBattery):
        cells: np.ndarray | LazyBattery = grids
    else:
        cells = as_cells(grids, "grids", _GRIDS_LAYOUT)
    if cells.shape[1] < 2:
        raise ValueError(
            f"grids must hold at least 2 replicates per density (the noise is their spread), "
            f"got shape {cells.shape}"
        )
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    return cells, int(steps)


def behaviour_gap(
    a: Rule, b: Rule, grids: np.ndarray | LazyBattery, steps: int = BATTERY_STEPS
) -> float:
    """The largest standardised difference (:func:`standardised_gaps`) between the
    evolution statistics of ``a`` and ``b`` on ``grids`` (n_densities, n_replicates, H, W)
    over ``steps`` frames: 0.0 for identical rules; the rules match behaviourally when it
    is at most ``MATCH_Z``."""
    checked, steps = _check(grids, steps)
    if a == b:
        return 0.0
    cells = np.asarray(checked)
    stats_a = evolution_statistics(a, cells, steps)
    stats_b = evolution_statistics(b, cells, steps)
    return float(standardised_gaps(stats_a, stats_b, cells.shape[2:]).max())


def _by_world(grids: Sequence[np.ndarray | LazyBattery]) -> dict[tuple[int, ...], list[int]]:
    """The indices of ``grids`` by battery shape (pairs run together only on one world)."""
    found: dict[tuple[int, ...], list[int]] = {}
    for p, battery_p in enumerate(grids):
        found.setdefault(tuple(battery_p.shape), []).append(p)
    return found


def _pair_gaps(stats: np.ndarray, world: tuple[int, ...]) -> np.ndarray:
    """:func:`standardised_gaps` of each pair: ``stats`` (2P, D, R, T, S) with pair p's
    rules in rows 2p and 2p + 1, ``world`` (height, width): float64 (P, D, T, S)."""
    pairs, dims = len(stats) // 2, stats.shape[1:]
    a = stats[0::2].reshape(pairs * dims[0], *dims[1:])
    b = stats[1::2].reshape(pairs * dims[0], *dims[1:])
    height, width = world
    return standardised_gaps(a, b, (height, width)).reshape(pairs, dims[0], *dims[2:])


def _screened(
    a: Sequence[Rule], b: Sequence[Rule], grids: Sequence[np.ndarray | LazyBattery], steps: int
) -> np.ndarray:
    """bool (P,): whether the first density group alone rejects pair ``p``'s match on the
    frames whose gaps are final after its first ``_SCREEN`` frames; all pairs (of one
    world size) in one kernel call: first on density and activity alone (the cheap
    counts), then, for the pairs those leave open, with the block entropy. Only that
    group of a :class:`LazyBattery` is drawn for a rejected pair. (A pair the first group
    leaves open mostly matches: screening the other groups would only add to its full
    test.)"""
    frames = min(steps, _SCREEN)
    final = frames if frames == steps else frames - VARIANCE_HALF_WINDOW
    rejected = np.zeros(len(a), dtype=bool)
    for shape, members in _by_world(grids).items():
        for blocks in (False, True):
            open_pairs = [p for p in members if not rejected[p]]
            if not open_pairs:
                break
            tables = np.stack([rule.table for p in open_pairs for rule in (a[p], b[p])])
            soups = np.repeat(np.stack([grids[p][0] for p in open_pairs]), 2, axis=0)
            stats, _ = _runs(tables, soups, frames, blocks)
            gaps = _pair_gaps(stats[:, None], shape[2:])
            rejected[open_pairs] = gaps[:, :, :final].max(axis=(1, 2, 3)) > MATCH_Z
    return rejected


def _full_matches(
    a: Sequence[Rule], b: Sequence[Rule], grids: Sequence[np.ndarray], steps: int
) -> np.ndarray:
    """bool (P,): the match test of each pair on every density group, all pairs (of one
    world size) together: ``_FIRST_STAGE`` frames, then, for the pairs those leave open,
    the rest."""
    matches = np.zeros(len(a), dtype=bool)
    for shape, members in _by_world(grids).items():
        dims, world = shape[:2], shape[2:]
        tables = np.stack([rule.table for p in members for rule in (a[p], b[p])])
        soups = np.stack([grids[p].reshape(-1, *world) for p in members])
        first = min(steps, _FIRST_STAGE)
        stats, last = _runs(tables, np.repeat(soups, 2, axis=0), first)
        stats = stats.reshape(len(tables), *dims, first, N_STATS)
        if first < steps:
            final = first - VARIANCE_HALF_WINDOW  # gaps of frames 1..final are already exact
            early = _pair_gaps(stats, world)[:, :, :final].max(axis=(1, 2, 3))
            kept = np.flatnonzero(early <= MATCH_Z)
            rows = np.stack([2 * kept, 2 * kept + 1], axis=1).ravel()
            members = [members[k] for k in kept]
            rest, _ = _runs(tables[rows], last[rows], steps - first)
            rest = rest.reshape(len(rows), *dims, steps - first, N_STATS)
            stats = np.concatenate([stats[rows], rest], axis=3)
        matches[members] = _pair_gaps(stats, world).max(axis=(1, 2, 3)) <= MATCH_Z
    return matches


def behavioural_matches(
    a: Sequence[Rule],
    b: Sequence[Rule],
    grids: Sequence[np.ndarray | LazyBattery],
    steps: int = BATTERY_STEPS,
) -> np.ndarray:
    """:func:`behavioural_match` of each pair ``(a[p], b[p])`` on its battery
    ``grids[p]``: bool (P,). The screens of all pairs run together (the first density
    group, one kernel call per world size), and so do the full tests of the pairs the
    screen leaves open. Scoring the ends of many episodes at once takes this. Raises
    ValueError as :func:`behavioural_match` does, or when the three are not as long."""
    if not len(a) == len(b) == len(grids):
        raise ValueError(f"a, b and grids must be as long, got {len(a)}, {len(b)} and {len(grids)}")
    if not len(grids):
        return np.zeros(0, dtype=bool)
    checked = [_check(battery_p, steps)[0] for battery_p in grids]
    steps = int(steps)
    matches = np.array([x == y for x, y in zip(a, b, strict=True)], dtype=bool)
    differ = np.flatnonzero(~matches)
    pairs = differ.tolist()
    rejected = _screened(
        [a[p] for p in pairs], [b[p] for p in pairs], [checked[p] for p in pairs], steps
    )
    left = differ[~rejected]
    matches[left] = _full_matches(
        [a[p] for p in left], [b[p] for p in left], [np.asarray(checked[p]) for p in left], steps
    )
    return matches


def behavioural_match(
    a: Rule, b: Rule, grids: np.ndarray | LazyBattery, steps: int = BATTERY_STEPS
) -> bool:
    """Whether ``a`` and ``b`` behave alike on the battery ``grids`` (n_densities,
    n_replicates, H, W), e.g. :func:`battery` or a :class:`LazyBattery`: for every
    density, statistic and frame 1..``steps`` their mean statistics over the replicates
    differ by at most the noise (the module doc gives the test and its error rates). Equal
    tables always match.

    Cost on the default 60x60 world (28 soups, 32 steps; 2-core machine, one thread,
    best of 15 with other work running): equal tables 13 us; a pair the screen rejects
    (the first density group) 0.3 ms with a :class:`LazyBattery`, a seventh of it drawing
    that group's soups; a pair only the full test's first stage rejects (e.g. Life and
    B36/S23: six live neighbours are rare at density 0.1) 4 ms; a match (every stage, e.g.
    Life and B34c/S23) 12 ms, whatever the family (one table kernel counts the statistics
    as it steps).

    Raises ValueError when ``grids`` is not 4-D, has fewer than 2 replicates, or ``steps``
    is not an int >= 1.
    """
    return bool(behavioural_matches([a], [b], [grids], steps)[0])
