"""How well a rule explains what was observed: the likelihood every engine and test shares.

For observed frames, cells are flipped independently with the model's probability ``p``,
so a rule whose clean trajectory differs from the observation in ``m`` of ``n`` observed
cells has log-likelihood ``m log p + (n - m) log(1 - p)`` (``-inf`` for ``m > 0`` when
``p = 0``).

For statistics, the clean trajectory of a rule fixes the *clean counts* of each observed
frame (``COUNT_FIELDS``: live cells, cells changed since the previous observed frame, the
16 2x2-block counts). The perturbation flips each cell with probability ``q`` (see
``lifegym.observe``), so the expected observed statistics follow exactly from the counts
(:func:`expected_statistics`); each observed statistic is scored as Gaussian around its
expectation with the binomial sampling variance of the perturbation plus a small floor
(``STATS_FLOOR``, which absorbs the bias of the plug-in entropy). Only the squared
z-scores enter, so every term is <= 0 and a log-likelihood can only fall as frames are
added: engines use that to prune.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

import numpy as np

from lifegym.observe import (
    COUNT_FIELDS,
    ObservationModel,
    frame_counts,
    frame_statistics,
    statistics_from_counts,
)
from lifegym.rules import Rule
from lifegym.sim import count_mismatches, is_outer_totalistic, pack_frames, simulate
from lifegym.types import VisibleTrajectory

__all__ = [
    "COUNT_FIELDS",
    "STATS_FLOOR",
    "Comparison",
    "Replay",
    "Score",
    "clean_counts",
    "compare",
    "expected_statistics",
    "frame_loglik",
    "packed_observation",
    "packed_region",
    "replays",
    "scores",
    "statistics_loglik",
    "stats_loglik",
    "stats_scale",
    "trajectory_loglik",
]

STATS_FLOOR = 0.002
_REPLAY_CACHE = 256


def frame_loglik(mismatches: np.ndarray | int, cells: int, p: float) -> np.ndarray:
    """Log-likelihood of ``mismatches`` flipped cells out of ``cells`` at flip probability p."""
    m = np.asarray(mismatches, dtype=np.float64)
    if p == 0.0:
        return np.where(m > 0, -np.inf, 0.0)
    return m * np.log(p) + (cells - m) * np.log1p(-p)


#: The clean counts of observed frames (``COUNT_FIELDS``), as ``lifegym.observe`` counts them.
clean_counts = frame_counts

#: Expected observed statistics of clean counts under a per-cell flip probability q.
expected_statistics = statistics_from_counts


def stats_scale(observed: np.ndarray, cells: int) -> np.ndarray:
    """Standard deviation of each observed statistic: binomial sampling + STATS_FLOOR."""
    binomial = np.clip(observed[..., :2] * (1 - observed[..., :2]), 1.0 / cells, None) / cells
    var = np.empty(observed.shape)
    var[..., :2] = binomial
    var[..., 2] = 1.0 / cells
    return np.sqrt(var + STATS_FLOOR**2)


def stats_loglik(counts: np.ndarray, observed: np.ndarray, cells: int, q: float) -> np.ndarray:
    """Log-likelihood (summed over frames and statistics) of ``observed`` (n, N_STATS)
    given clean ``counts`` (..., n, 18); ``-0.5 z^2`` terms only (see the module doc)."""
    z = (expected_statistics(counts, cells, q) - observed) / stats_scale(observed, cells)
    return -0.5 * (z * z).sum(axis=(-1, -2))


@dataclass(frozen=True)
class Comparison:
    """How a rule's trajectories compare with the visible ones.

    Attributes:
        loglik: log-likelihood of the observations under the rule.
        discrepancy: for frames, the fraction of observed cells that differ from the
            rule's clean trajectory; for statistics, the mean absolute z-score.
        expected_discrepancy: what ``discrepancy`` would be if the rule were the hidden one
            (``p`` for frames; about 0.8 for statistics).
        cost: simulated cell-steps spent.
    """

    loglik: float
    discrepancy: float
    expected_discrepancy: float
    cost: int

    @classmethod
    def of_totals(
        cls, loglik: float, discrepancy: float, units: int, expected: float, cost: int
    ) -> Comparison:
        """The comparison whose ``discrepancy`` summed over ``units`` scored units (frames:
        observed cells; statistics: z-scores) is ``discrepancy``."""
        return cls(loglik, discrepancy / units if units else 0.0, expected, cost)


@dataclass(frozen=True, eq=False)
class Replay:
    """A rule's clean version of what one trajectory shows, scored against it.

    Attributes:
        initial: uint8 (h, w): the observed region of the initial condition.
        frames: uint8 (n, h, w): the clean observed region at the observed steps.
        loglik: float64 (n,): log-likelihood of each observed frame (or its statistics).
        discrepancy: float64 (n,): mismatched cells per frame, or summed |z| of its statistics.
        units: cells per frame, or statistics per frame.
    """

    initial: np.ndarray
    frames: np.ndarray
    loglik: np.ndarray
    discrepancy: np.ndarray
    units: int


def _score(trajectory: VisibleTrajectory, initial: np.ndarray, clean: np.ndarray) -> Replay:
    model = trajectory.model
    cells = clean.shape[1] * clean.shape[2]
    if trajectory.frames is not None:
        mismatches = np.count_nonzero(clean != trajectory.frames, axis=(1, 2))
        loglik = frame_loglik(mismatches, cells, model.noise)
        return Replay(initial, clean, loglik, mismatches.astype(np.float64), cells)
    counts = clean_counts(initial, clean, model.wraps(*trajectory.world_shape))
    observed = trajectory.stats
    assert observed is not None  # a trajectory observes either frames or statistics
    expected = expected_statistics(counts, cells, model.flip_probability)
    scale = _SCALES.get(trajectory)  # the trajectory's alone: every rule replayed reuses it
    if scale is None:
        scale = stats_scale(observed, cells)
        _SCALES.put(trajectory, scale)
    z = (expected - observed) / scale
    return Replay(initial, clean, -0.5 * (z * z).sum(axis=1), np.abs(z).sum(axis=1), z.shape[1])


_K = TypeVar("_K")
_V = TypeVar("_V")


class _Cache(Generic[_K, _V]):
    """Least-recently-used store (keys: rules and trajectories, hashed by identity); thread-safe."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.store: OrderedDict[_K, _V] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: _K) -> _V | None:
        with self.lock:
            found = self.store.get(key)
            if found is not None:
                self.store.move_to_end(key)
            return found

    def put(self, key: _K, value: _V) -> None:
        with self.lock:
            self.store[key] = value
            while len(self.store) > self.size:
                self.store.popitem(last=False)


_REPLAYS: _Cache[tuple[Rule, VisibleTrajectory], Replay] = _Cache(_REPLAY_CACHE)
_SCORES: _Cache[Rule, dict[VisibleTrajectory, Score]] = _Cache(4 * _REPLAY_CACHE)
_PACKED: _Cache[VisibleTrajectory, tuple[np.ndarray, ...]] = _Cache(_REPLAY_CACHE)
# trajectory -> stats_scale of its observed statistics
_SCALES: _Cache[VisibleTrajectory, np.ndarray] = _Cache(_REPLAY_CACHE)
_GROUPS: _Cache[tuple[VisibleTrajectory, ...], tuple[np.ndarray, ...]] = _Cache(64)


def replays(rule: Rule, trajectories: Sequence[VisibleTrajectory]) -> list[Replay]:
    """``rule``'s :class:`Replay` of each trajectory, from its initial condition.

    Trajectories not replayed before are simulated as one batch per number of steps;
    results are cached (trajectories are immutable and hashed by identity), since tests
    replay the MAP rule often.
    """
    found = [_REPLAYS.get((rule, t)) for t in trajectories]
    groups: dict[tuple[int, tuple[int, int]], list[int]] = {}
    for i, trajectory in enumerate(trajectories):
        if found[i] is None:
            groups.setdefault((trajectory.steps, trajectory.world_shape), []).append(i)
    for (steps, _), members in groups.items():
        initials = np.stack([trajectories[i].initial for i in members])
        runs = simulate(rule, initials, steps)
        group = [trajectories[i] for i in members]
        for i, replay in zip(members, _replay_group(group, runs), strict=True):
            found[i] = replay
            _REPLAYS.put((rule, trajectories[i]), replay)
    return cast("list[Replay]", found)  # every missing replay was computed above


def _replay_group(group: list[VisibleTrajectory], runs: np.ndarray) -> list[Replay]:
    """The replays of trajectories of one world and length from their clean ``runs``
    (G, T + 1, H, W). Frames seen through one model are scored as one array (the same
    numbers as one at a time, without the per-trajectory passes)."""
    first = group[0]
    h, w = first.model.region(*first.world_shape)
    if not all(t.model is first.model and t.frames is not None for t in group):
        replays_ = []
        for trajectory, frames in zip(group, runs, strict=True):
            initial = frames[0, :h, :w].copy()
            seen = frames[trajectory.times, :h, :w]
            initial.setflags(write=False)
            seen.setflags(write=False)
            replays_.append(_score(trajectory, initial, seen))
        return replays_
    initials = runs[:, 0, :h, :w].copy()
    seen_all = runs[:, first.times, :h, :w]  # every member has the same observed steps
    initials.setflags(write=False)
    seen_all.setflags(write=False)
    # Counted per trajectory (stacking the observed frames would copy them), scored as one.
    mismatches = np.array(
        [
            np.count_nonzero(seen != t.frames, axis=(1, 2))
            for seen, t in zip(seen_all, group, strict=True)
        ],
        dtype=np.int64,
    ).reshape(len(group), len(first.times))
    cells = h * w
    logliks = frame_loglik(mismatches, cells, first.model.noise)
    discrepancies = mismatches.astype(np.float64)
    return [
        Replay(initials[g], seen_all[g], logliks[g], discrepancies[g], cells)
        for g in range(len(group))
    ]


class Score:
    """How one rule explains one trajectory, frame by frame.

    Attributes:
        loglik: float64 (n,): log-likelihood of each observed frame (or its statistics).
        discrepancy: float64 (n,): mismatched cells per frame, or summed |z| of its statistics.
        units: cells per frame, or statistics per frame.
    """

    __slots__ = ("_discrepancy_from", "_loglik_from", "discrepancy", "loglik", "units")

    def __init__(
        self,
        loglik: np.ndarray,
        discrepancy: np.ndarray,
        units: int,
        suffixes: tuple[list[float], list[float]] | None = None,
    ) -> None:
        self.loglik = loglik
        self.discrepancy = discrepancy
        self.units = units
        # Sums over frames i..n-1 (plain lists), so any starting frame is one lookup;
        # ``suffixes`` passes them in when they were computed for a whole group at once.
        if suffixes is None:
            suffixes = (_suffix_sums(loglik[None])[0], _suffix_sums(discrepancy[None])[0])
        self._loglik_from, self._discrepancy_from = suffixes

    def from_frame(self, first: int) -> tuple[float, float, int]:
        """``(loglik, discrepancy, units)`` summed over frames ``first..n-1``."""
        n = len(self._loglik_from) - 1
        return self._loglik_from[first], self._discrepancy_from[first], (n - first) * self.units


def _suffix_sums(rows: np.ndarray) -> list[list[float]]:
    """For each row of (m, n) values, the sums over columns i..n-1 for i = 0..n (n+1 each)."""
    rows = np.asarray(rows, dtype=np.float64)
    sums = np.zeros((rows.shape[0], rows.shape[1] + 1))
    sums[:, :-1] = np.cumsum(rows[:, ::-1], axis=1)[:, ::-1]
    return sums.tolist()


@functools.lru_cache(maxsize=64)
def packed_region(h: int, w: int, world: tuple[int, int]) -> np.ndarray:
    """The observed top-left h x w region of a world, bit-packed (read-only)."""
    mask = pack_frames(np.ones((1, h, w), dtype=np.uint8), world)[0]
    mask.setflags(write=False)
    return mask


def packed_observation(trajectory: VisibleTrajectory) -> tuple[np.ndarray, ...]:
    """The trajectory's initial condition, observed frames and region mask, bit-packed
    (cached per trajectory)."""
    found = _PACKED.get(trajectory)
    if found is None:
        world = trajectory.world_shape
        frames = trajectory.frames
        assert frames is not None  # only observed frames are packed
        h, w = frames.shape[1:]
        found = (
            pack_frames(trajectory.initial[None], world)[0],
            pack_frames(frames, world),
            packed_region(h, w, world),
        )
        _PACKED.put(trajectory, found)
    return found


def _packed_group(trajectories: tuple[VisibleTrajectory, ...]) -> tuple[np.ndarray, ...]:
    """Stacked packed initial conditions and observations of trajectories that share their
    world, observed steps and model, and their region mask (cached: tests score the same
    group for rule after rule)."""
    found = _GROUPS.get(trajectories)
    if found is None:
        packed = [packed_observation(t) for t in trajectories]
        found = (
            np.stack([initial for initial, _, _ in packed]),
            np.stack([frames for _, frames, _ in packed]),
            packed[0][2],
        )
        _GROUPS.put(trajectories, found)
    return found


def _count_scores(rule: Rule, trajectories: Sequence[VisibleTrajectory]) -> list[Score]:
    """Scores of frame observations from mismatch counts in the bit-packed domain; the
    trajectories share their steps, world and observation model."""
    first = trajectories[0]
    initials, observed, mask = _packed_group(tuple(trajectories))
    counts = count_mismatches(rule, initials, first.world_shape[1], first.times, observed, mask)
    assert first.frames is not None  # the trajectories observe frames
    h, w = first.frames.shape[1:]
    cells = h * w
    logliks = frame_loglik(counts, cells, first.model.noise)
    mismatches = counts.astype(np.float64)
    suffixes = zip(_suffix_sums(logliks), _suffix_sums(mismatches), strict=True)
    return [
        Score(loglik, m, cells, suffix)
        for loglik, m, suffix in zip(logliks, mismatches, suffixes, strict=True)
    ]


def _scores_of(made: list[Replay]) -> list[Score]:
    """The :class:`Score` of each replay, the suffix sums taken once per number of
    observed frames (each row's sums are those of the row alone)."""
    by_length: dict[int, list[int]] = {}
    for k, replay in enumerate(made):
        by_length.setdefault(len(replay.loglik), []).append(k)
    found: list[Score | None] = [None] * len(made)
    for members in by_length.values():
        if len(members) == 1:
            replay = made[members[0]]
            found[members[0]] = Score(replay.loglik, replay.discrepancy, replay.units)
            continue
        logliks = _suffix_sums(np.stack([made[k].loglik for k in members]))
        discrepancies = _suffix_sums(np.stack([made[k].discrepancy for k in members]))
        for k, suffixes in zip(members, zip(logliks, discrepancies, strict=True), strict=True):
            replay = made[k]
            found[k] = Score(replay.loglik, replay.discrepancy, replay.units, suffixes)
    return cast("list[Score]", found)


def scores(rule: Rule, trajectories: Sequence[VisibleTrajectory]) -> list[Score]:
    """``rule``'s :class:`Score` of each trajectory (cached per rule and trajectory).

    Frames seen under an outer-totalistic rule are scored without unpacking a frame
    (``lifegym.sim.count_mismatches``); everything else through :func:`replays`.
    """
    known: dict[VisibleTrajectory, Score] | None = _SCORES.get(rule)
    if known is None:
        known = {}
        _SCORES.put(rule, known)
    found = [known.get(t) for t in trajectories]
    missing = [i for i, f in enumerate(found) if f is None]
    if not missing:
        return cast("list[Score]", found)
    fast = is_outer_totalistic(rule)
    groups: dict[tuple[int, tuple[int, int], ObservationModel], list[int]] = {}
    slow = []
    for i in missing:
        t = trajectories[i]
        if fast and t.frames is not None and len(t.times):
            groups.setdefault((t.steps, t.world_shape, t.model), []).append(i)
        else:
            slow.append(i)
    for members in groups.values():
        for i, score in zip(
            members, _count_scores(rule, [trajectories[i] for i in members]), strict=True
        ):
            found[i] = score
    if slow:
        made = replays(rule, [trajectories[i] for i in slow])
        for i, score in zip(slow, _scores_of(made), strict=True):
            found[i] = score
    filled = cast("list[Score]", found)  # every missing score was computed above
    for i in missing:
        known[trajectories[i]] = filled[i]
    return filled


def trajectory_loglik(
    rule: Rule, trajectory: VisibleTrajectory, from_time: int = 1
) -> tuple[float, float, int]:
    """Log-likelihood of one trajectory's observations at steps >= ``from_time`` under
    ``rule``. Returns ``(loglik, summed discrepancy, number of scored units)``."""
    return _summed(scores(rule, [trajectory])[0], trajectory, from_time)


def _summed(
    score: Score, trajectory: VisibleTrajectory, from_time: int
) -> tuple[float, float, int]:
    times = trajectory.times
    if from_time <= 1 or not len(times):  # every observed step is >= 1
        return score.from_frame(0)
    return score.from_frame(bisect.bisect_left(times, from_time))  # np.searchsorted, faster


def compare(
    rule: Rule, trajectories: Sequence[VisibleTrajectory], from_time: int = 1
) -> Comparison:
    """Score ``rule`` against every visible trajectory (see :class:`Comparison`)."""
    loglik = discrepancy = 0.0
    units = cost = 0
    stats_kind = False
    for trajectory, score in zip(trajectories, scores(rule, trajectories), strict=True):
        part, summed, n = _summed(score, trajectory, from_time)
        loglik += part
        discrepancy += summed
        units += n
        cost += trajectory.simulation_cost
        stats_kind = trajectory.stats is not None
    expected = (
        float(np.sqrt(2 / np.pi))
        if stats_kind
        else (trajectories[0].model.noise if trajectories else 0.0)
    )
    return Comparison.of_totals(loglik, discrepancy, units, expected, cost)


def statistics_loglik(rule: Rule, trajectories: Sequence[VisibleTrajectory]) -> float:
    """Log-likelihood of the trajectories' *evolution statistics* under ``rule``.

    The statistics comparison of the research loop: ``rule`` is run from each trajectory's
    initial condition, and the statistics of ``lifegym.observe`` (density, activity, block
    entropy per observed frame) are compared with the black box's -- the observed ones for a
    ``stats`` observation (then this is the full log-likelihood), else those computed from
    the observed frames, whose expectation under the cell flips is exact
    (:func:`expected_statistics`), scored as :func:`stats_loglik` does.
    """
    total = 0.0
    for trajectory, replay in zip(trajectories, replays(rule, trajectories), strict=True):
        if trajectory.stats is not None or not len(trajectory.times):
            total += float(replay.loglik.sum())
            continue
        assert trajectory.frames is not None  # no statistics observed: frames are
        wrap = trajectory.model.wraps(*trajectory.world_shape)
        cells = replay.frames.shape[1] * replay.frames.shape[2]
        observed = frame_statistics(replay.initial, trajectory.frames, wrap)
        counts = clean_counts(replay.initial, replay.frames, wrap)
        total += float(stats_loglik(counts, observed, cells, trajectory.model.noise))
    return total
