"""The ``exhaustive`` engine: the exact posterior over every B/S rule of the space.

For the totalistic family (18 bits, some possibly known), every rule consistent with the
known bits is simulated from each trajectory's known initial condition and its
observations are scored with exactly the log-likelihood of
:func:`lifegym.likelihood.trajectory_loglik` (frames: mismatches in the window at the
observed steps with flip probability ``p``; statistics: the clean ``COUNT_FIELDS`` of
each observed frame scored by ``stats_loglik``). Under the uniform prior over the
``2^n_free`` rules the posterior is proportional to the exponential of the summed
log-likelihoods, kept in :attr:`ExhaustiveEngine.loglik` (float64, ``2^n_free``).

Rule index ``r`` has free bit ``i`` (order of ``space.free_bits``) equal to
``(r >> i) & 1``.

How it is fast (see ``lifegym.inference._multirule`` for the kernels): 64 rules are
simulated at once, one bit of a ``uint64`` word per rule; the groups of 64 (for a revival's
few rules, the trajectories they are re-scored on) are split over
``numba.get_num_threads()`` Python threads (the kernel releases the GIL; no numba
threading layer is used, so nothing needs ``lifegym.sim._PARALLEL_LOCK``); and most
rules are *pruned*.

Pruning
=======
Every log-likelihood term is <= 0, so a rule's log-likelihood can only fall as more of
the observations are scored: a partial score is an upper bound. With ``L*`` the complete
log-likelihood of some rule (a lower bound on the best one), a rule whose upper bound is
below ``L* - margin`` has posterior below ``e^-margin`` times the MAP rule's; it is
dropped from the posterior (weight 0) and keeps its upper bound in ``loglik``
(``exact`` False). One update with a new trajectory:

1. with earlier data, the 64 best exact rules are scored completely (``L*`` from them);
   rules whose earlier log-likelihood is already below ``L* - margin`` are not simulated;
2. *pilot*: every remaining rule is scored on the first few rows of the first observed
   frame (only the light cone of those rows is simulated, see ``pilot_cells``), or for
   statistics on the density and activity terms of the first frame;
3. the 64 best by pilot bound are scored completely, raising ``L*``;
4. the rules still within ``margin`` of ``L*`` are scored on 1, 2, 4, ... observed frames
   (64 to a word, repacked and re-simulated each round; the frames of the last round are
   not scored again, their terms carry over), dropping those that fall below
   ``L* - margin``; a group of 64 stops as soon as all of its rules have, checking after
   every observed frame and, for frames, inside each frame's last step after rows 8, 16,
   32, ... (for statistics, the costly block-entropy term is skipped for a rule that the
   density and activity terms already put below ``L* - margin``);
5. *revival*: a dropped rule whose stored bound is within ``margin`` of the best exact
   log-likelihood (possible after later data lowered the best) is re-scored exactly over
   all trajectories.

Error bound: each dropped rule has posterior weight < ``e^-margin`` relative to the MAP
rule, so the dropped mass is below ``2^n_free e^-margin`` of the total: with the default
``margin = 40`` and 18 free bits, under ``1.1e-12``. That bounds the error of every
marginal ``p_one`` and of the mass of every set of rules; rules within ``ln(1e6)`` of the
best (``n_consistent``) are never dropped. ``prune=False`` scores every rule completely.

A rule is dropped only once its *partial* score falls below the best rule's *complete*
one, which includes the noise of every observed frame: with noisy frames most rules go
after a whole first observed frame (about ``n log(p / (1 - p))`` worse per ``n`` noise
flips of the best rule over the whole trajectory), so the cost of an update is about
"steps to the first observed frame" x all rules, plus the few rules that stay close.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from lifegym.cells import kernel_input
from lifegym.equivalence import observational_class
from lifegym.inference import _multirule as mr
from lifegym.inference import sparse_sums
from lifegym.inference.base import InferenceEngine
from lifegym.likelihood import stats_scale
from lifegym.observe import OBSERVATION_FEATURES, ObservationModel
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = [
    "DEFAULT_MARGIN",
    "ExhaustiveEngine",
    "RuleScores",
    "packed_words",
    "pattern_classes",
    "structured_words",
    "totalistic_logliks",
]

DEFAULT_MARGIN = 40.0
"""Nats below the best complete log-likelihood under which a rule is dropped."""
DEFAULT_PILOT_CELLS = 512
"""Cells of the first observed frame scored for every rule before the others (frames)."""

_LANES = 64
_SEEDS = 64  # rules scored completely to set L* (one group)
_SMALL_SPACE = 256  # spaces of at most this many rules are scored completely, unpruned
_PARALLEL_MIN_WORK = 1 << 21  # cell-steps x groups below which a call stays on one thread
# Work of scoring one frame of one group besides its cells, in cell-steps (about what it
# takes on this machine): the counters' rounds, and for statistics the nine block
# counts and the block entropy's 16 logarithms per lane.
_FRAME_WORK = {mr.KIND_FRAMES: 1 << 9, mr.KIND_STATS: 1 << 13}
_CHUNKS_PER_THREAD = 8
_DENSE = 1.5  # rules fill their regular groups well enough when groups x 64 <= this x rules
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_LANE_PATTERNS = np.array(
    [sum(1 << j for j in range(_LANES) if (j >> i) & 1) for i in range(6)], dtype=np.uint64
)
_CONSISTENT_NATS = math.log(1e6)
# Rules this many nats below the best weigh exp(-800) == 0.0: outside the posterior's support.
_SUPPORT_NATS = 800.0
# Above 1/this of the rules live, the posterior sums over the dense weights (numpy's own).
_SPARSE_FRACTION = 16
_UNDETERMINED_TOL = 1e-9
# 2x2-block subsets counted for statistics, and the count row of each subset (module doc
# of _multirule). On the torus a single cell of the block is a live cell (row 0), the
# bottom pair repeats the top pair and the right pair the left pair.
_WRAP_SUBSETS = np.array([12, 10, 9, 6, 14, 13, 11, 7, 15], dtype=np.int64)
_WRAP_SOURCE = np.array(
    [-1, 0, 0, 2, 0, 3, 5, 9, 0, 4, 3, 8, 2, 7, 6, 10], dtype=np.int64
)  # fmt: skip
_WINDOW_SUBSETS = np.arange(1, 16, dtype=np.int64)
_WINDOW_SOURCE = np.concatenate([[-1], 2 + np.arange(15)]).astype(np.int64)
_ALL_RULES = np.empty(0, dtype=np.int64)  # ``drop_rules``: rule i is entry i
_HAMMING = np.array([[bin(a ^ b).count("1") for b in range(16)] for a in range(16)])


# --------------------------------------------------------------------------- preparing


@dataclass(frozen=True)
class _Prepared:
    """One trajectory as the kernels take it (see ``_multirule.evaluate_serial``)."""

    idx0: np.ndarray
    times: np.ndarray
    kind: int
    obs: np.ndarray
    init_region: np.ndarray
    fparams: np.ndarray
    sobs: np.ndarray
    sscale: np.ndarray
    channel: np.ndarray
    smasks: np.ndarray
    ssrc: np.ndarray
    wrap: bool
    planes: int

    @property
    def n_frames(self) -> int:
        return len(self.times)

    @property
    def region(self) -> tuple[int, int]:
        return self.init_region.shape

    @property
    def world(self) -> tuple[int, int]:
        return self.idx0.shape


def pattern_classes(initial: np.ndarray) -> np.ndarray:
    """uint8 (H, W): ``9 * alive + live neighbours`` of each cell of ``initial`` (H, W) on
    the torus, i.e. the totalistic family bit (``B0..B8, S0..S8``) that decides its next
    state."""
    return mr.pattern_classes(kernel_input(initial))


def _prepare(trajectory: VisibleTrajectory) -> _Prepared:
    initial = np.ascontiguousarray(trajectory.initial, dtype=np.uint8)
    height, width = initial.shape
    model = trajectory.model
    h, w = model.region(height, width)
    times = np.ascontiguousarray(trajectory.times, dtype=np.int64)
    if len(times) and (times[0] < 1 or np.any(np.diff(times) <= 0) or times[-1] > trajectory.steps):
        raise ValueError(
            f"observed times must be ascending steps in 1..{trajectory.steps}, got {times}"
        )
    n = len(times)
    fparams = np.zeros(4)
    channel = np.zeros((16, 16))
    sobs = np.zeros((n, 3))
    sscale = np.ones((n, 3))
    wrap = bool(model.wraps(height, width))
    if trajectory.frames is not None:
        kind = mr.KIND_FRAMES
        obs = np.ascontiguousarray(trajectory.frames, dtype=np.uint8)
        if obs.shape != (n, h, w):
            raise ValueError(f"observed frames have shape {obs.shape}, expected {(n, h, w)}")
        p = model.noise
        fparams[:3] = (math.log(p) if p > 0 else -math.inf, math.log1p(-p), float(p == 0.0))
        smasks, ssrc = _WRAP_SUBSETS[:0], _WRAP_SOURCE
    else:
        kind = mr.KIND_STATS
        obs = np.zeros((0, 1, 1), dtype=np.uint8)
        q = model.flip_probability
        fparams[3] = q
        sobs = np.ascontiguousarray(trajectory.stats, dtype=np.float64)
        if sobs.shape != (n, 3):
            raise ValueError(f"observed statistics have shape {sobs.shape}, expected {(n, 3)}")
        sscale = np.ascontiguousarray(stats_scale(sobs, h * w), dtype=np.float64)
        channel = q**_HAMMING * (1 - q) ** (4 - _HAMMING)
        smasks, ssrc = (_WRAP_SUBSETS, _WRAP_SOURCE) if wrap else (_WINDOW_SUBSETS, _WINDOW_SOURCE)
    return _Prepared(
        idx0=pattern_classes(initial),
        times=times,
        kind=kind,
        obs=obs,
        init_region=kernel_input(initial[:h, :w]),
        fparams=fparams,
        sobs=sobs,
        sscale=sscale,
        channel=np.ascontiguousarray(channel, dtype=np.float64),
        smasks=np.ascontiguousarray(smasks),
        ssrc=np.ascontiguousarray(ssrc),
        wrap=wrap,
        planes=mr.counter_planes(h * w),
    )


# -------------------------------------------------------------------------- rule words


def structured_words(space: RuleSpace) -> np.ndarray:
    """Rule words (uint64 (G, 18), G = max(1, 2^n_free / 64)) of every rule of ``space``:
    lane ``j`` of group ``g`` is rule index ``64 g + j`` (lanes past ``2^n_free`` hold
    other rules of the family and are ignored)."""
    n_groups = max(1, (1 << space.n_free) // _LANES)
    groups = np.arange(n_groups, dtype=np.int64)
    words = np.where(space.known_values.astype(bool), _ALL, np.uint64(0))
    words = np.repeat(words[None, :].astype(np.uint64), n_groups, axis=0)
    for i, bit in enumerate(space.free_bits):
        if i < 6:
            words[:, bit] = _LANE_PATTERNS[i]
        else:
            words[:, bit] = np.where((groups >> (i - 6)) & 1, _ALL, np.uint64(0))
    return np.ascontiguousarray(words)


def packed_words(space: RuleSpace, rules: np.ndarray) -> np.ndarray:
    """Rule words (uint64 (ceil(n / 64), 18)) of the rule indices ``rules`` (int64 (n,)),
    64 to a group in order; the last group is padded with copies of the last rule."""
    return mr.pack_rules(
        np.ascontiguousarray(rules, dtype=np.int64),
        np.ascontiguousarray(space.free_bits, dtype=np.int64),
        np.ascontiguousarray(space.known_values, dtype=np.uint8),
    )


@dataclass(frozen=True)
class _Layout:
    """Groups of 64 lanes for a set of rules.

    Attributes:
        words: uint64 (G, 18): the rule words of the groups.
        valid: bool (G * 64,): lanes holding a rule of the set, in ascending rule order.
    """

    words: np.ndarray
    valid: np.ndarray


def _layout(space: RuleSpace, structured: np.ndarray, rules: np.ndarray | None) -> _Layout:
    """Lay out ``rules`` (ascending int64, or None for all): in their own groups of the
    regular layout ``structured`` when they fill those well, else packed 64 to a group."""
    n_rules = 1 << space.n_free
    if rules is None:
        valid = np.zeros(len(structured) * _LANES, dtype=bool)
        valid[:n_rules] = True
        return _Layout(structured, valid)
    group_of = rules >> 6
    starts = np.empty(len(rules), dtype=bool)
    starts[:1] = True
    np.not_equal(group_of[1:], group_of[:-1], out=starts[1:])
    groups = group_of[starts]
    if len(groups) * _LANES <= _DENSE * len(rules):
        valid = np.zeros(len(groups) * _LANES, dtype=bool)
        position = np.empty(len(structured), dtype=np.int64)
        position[groups] = np.arange(0, len(groups) * _LANES, _LANES)
        valid[position[group_of] + (rules & (_LANES - 1))] = True
        return _Layout(np.ascontiguousarray(structured[groups]), valid)
    words = packed_words(space, rules)
    valid = np.zeros(len(words) * _LANES, dtype=bool)
    valid[: len(rules)] = True
    return _Layout(words, valid)


def _run(
    prep: _Prepared,
    words: np.ndarray,
    n_frames: int,
    row_limit: int,
    light: bool = False,
    bound: bool = False,
    budget: np.ndarray | None = None,
    first_scored: int = 0,
    scored: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel on the groups ``words``: per-lane partial log-likelihoods (float64
    (G, 64)) and whether each group ran to the end (bool (G,)). With ``budget`` (float64
    (G, 64)) a group stops once every lane's running total is below its budget. Frames
    ``0..first_scored-1`` are only simulated: ``scored`` (float64 (G, 64)) holds their
    per-lane log-likelihood, to which the later frames' are added."""
    n_groups = len(words)
    if first_scored:
        partial = np.array(scored, dtype=np.float64, order="C")  # a copy: the kernel adds
    else:
        partial = np.empty((n_groups, _LANES))
    complete = np.empty(n_groups, dtype=np.bool_)
    prune = budget is not None
    if budget is None:
        budget = np.full((n_groups, _LANES), -np.inf)
    height, width = prep.world
    steps = int(prep.times[0] if light else prep.times[n_frames - 1])
    rows = row_limit + 2 * (steps - 1) if light else height
    budget = np.ascontiguousarray(budget, dtype=np.float64)
    shared = (
        prep.idx0, prep.times, prep.kind, prep.obs, prep.init_region, prep.fparams,
        prep.sobs, prep.sscale, prep.channel, prep.smasks, prep.ssrc, prep.wrap,
        int(n_frames), int(row_limit), bool(light), bool(bound), bool(prune),
    )  # fmt: skip

    def run(lo: int, hi: int) -> None:
        mr.evaluate_serial(
            words[lo:hi], *shared, budget[lo:hi], partial[lo:hi], complete[lo:hi], prep.planes,
            int(first_scored),
        )  # fmt: skip

    threads = min(numba.get_num_threads(), n_groups)
    scored_frames = 1 if light else n_frames - first_scored
    work = n_groups * (rows * width * steps + _FRAME_WORK[prep.kind] * scored_frames)
    if threads > 1 and work >= _PARALLEL_MIN_WORK:
        _run_threads(run, n_groups, threads)
    else:
        run(0, n_groups)
    return partial, complete


def _run_threads(run: Callable[[int, int], None], n_groups: int, threads: int) -> None:
    """``run(lo, hi)`` over chunks of the groups ``0..n_groups-1`` on ``threads`` threads
    (the kernel releases the GIL); chunks are taken in turn, so groups that stop early
    balance out. The threads live only for this call (nothing runs across a fork)."""
    n_chunks = min(n_groups, _CHUNKS_PER_THREAD * threads)
    bounds = [chunk * n_groups // n_chunks for chunk in range(n_chunks + 1)]
    chunks = iter(range(n_chunks))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                with lock:
                    chunk = next(chunks, None)
                if chunk is None:
                    return
                run(bounds[chunk], bounds[chunk + 1])
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads - 1)]
    for worker in workers:
        worker.start()
    work()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


# ----------------------------------------------------------------------------- scores


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices (ascending) of the ``k`` largest ``values`` (ties: lowest index first)."""
    return mr.top_k(np.ascontiguousarray(values, dtype=np.float64), k)


class RuleScores:
    """Cumulative log-likelihood of every rule of a totalistic ``space`` (module doc).

    Attributes:
        loglik: float64 (2^n_free,): summed log-likelihood of each rule index over the
            trajectories added; an upper bound where ``exact`` is False.
        exact: bool (2^n_free,): whether ``loglik`` is exact (False: the rule was dropped,
            its true log-likelihood is at most ``loglik`` < best exact - ``margin``).
        trajectories: the trajectories added, oldest first.
        last_update: what the last :meth:`add` did: rules scored by the pilot and in each
            round, rules simulated past the first observed frame, revived rules, seconds.
    """

    def __init__(
        self,
        space: RuleSpace,
        *,
        prune: bool = True,
        margin: float = DEFAULT_MARGIN,
        pilot_cells: int = DEFAULT_PILOT_CELLS,
    ) -> None:
        if space.family.name != "totalistic":
            raise ValueError(f"RuleScores needs the totalistic family, got {space.family.name}")
        if not margin > 0:
            raise ValueError(f"margin must be > 0, got {margin}")
        self.space = space
        self.prune = prune
        self.margin = float(margin)
        self.pilot_cells = int(pilot_cells)
        self.n_rules = 1 << space.n_free
        self.loglik = np.zeros(self.n_rules)
        self.exact = np.ones(self.n_rules, dtype=bool)
        self.trajectories: list[VisibleTrajectory] = []
        self._prepared: list[_Prepared] = []  # one per trajectory, for revivals
        self.last_update: dict[str, Any] = {}
        self._structured = structured_words(space)
        self._scored = 0  # trajectories with at least one observed frame
        # (best exact log-likelihood, exact rules within _SUPPORT_NATS of it) while
        # loglik and exact are unchanged (see posterior_support), else None.
        self._support: tuple[float, np.ndarray] | None = None

    def _score(
        self,
        prep: _Prepared,
        rules: np.ndarray | None,
        n_frames: int,
        row_limit: int,
        *,
        light: bool = False,
        bound: bool = False,
        budget: np.ndarray | None = None,
        first_scored: int = 0,
        scored: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Score ``rules`` (ascending int64 (n,), None for all) on observed frames
        ``0..n_frames-1`` of ``prep`` (see ``_run``). ``budget`` (float64 (n,)): stop a
        group once all its rules' new terms are below their budgets. Frames before
        ``first_scored`` were scored already, to ``scored`` (float64 (n,)): they are
        simulated, not scored again, and the terms continue from ``scored``. Returns the
        new terms (float64 (n,)) and whether each rule was scored to the end (bool (n,))."""
        layout = _layout(self.space, self._structured, rules)
        lane_budget: np.ndarray | None = None
        if budget is not None:
            lane_budget = np.full(len(layout.valid), np.inf)
            lane_budget[layout.valid] = budget
            lane_budget = lane_budget.reshape(-1, _LANES)
        lane_scored: np.ndarray | None = None
        if first_scored:
            lane_scored = np.zeros(len(layout.valid))
            lane_scored[layout.valid] = scored
            lane_scored = lane_scored.reshape(-1, _LANES)
        partial, complete = _run(
            prep, layout.words, n_frames, row_limit, light, bound, lane_budget, first_scored,
            lane_scored,
        )  # fmt: skip
        valid = layout.valid
        return partial.reshape(-1)[valid], np.repeat(complete, _LANES)[valid]

    def _complete_each(self, preps: list[_Prepared], rules: np.ndarray) -> list[np.ndarray]:
        """``_complete(prep, rules)`` for each of ``preps``; a few rules over many
        trajectories (a revival) run the trajectories on the threads."""
        terms: list[np.ndarray] = [np.empty(0)] * len(preps)

        def run(lo: int, hi: int) -> None:
            for i in range(lo, hi):
                terms[i] = self._complete(preps[i], rules)

        n_groups = -(-len(rules) // _LANES)
        work = n_groups * sum(
            p.world[0] * p.world[1] * int(p.times[-1]) + _FRAME_WORK[p.kind] * p.n_frames
            for p in preps
        )
        threads = min(numba.get_num_threads(), len(preps))
        if threads > 1 and work >= _PARALLEL_MIN_WORK:
            _run_threads(run, len(preps), threads)
        else:
            run(0, len(preps))
        return terms

    def _complete(self, prep: _Prepared, rules: np.ndarray | None) -> np.ndarray:
        """float64 (n,): one trajectory's log-likelihood for each of ``rules`` (ascending;
        None for all), unpruned."""
        return self._score(prep, rules, prep.n_frames, prep.region[0])[0]

    # -- one trajectory -------------------------------------------------------------------

    def add(self, trajectory: VisibleTrajectory) -> None:
        """Add ``trajectory``'s log-likelihood terms to :attr:`loglik`."""
        start = time.perf_counter()
        prep = _prepare(trajectory)
        support, self._support = self._support, None
        self.trajectories.append(trajectory)
        self._prepared.append(prep)
        info: dict[str, Any] = {"rules": self.n_rules, "frames": prep.n_frames}
        if prep.n_frames == 0:
            info["mode"] = "no observed frame"
            info["past_first_frame"] = 0
        elif not self.prune or self.n_rules <= _SMALL_SPACE:
            info["mode"] = "complete"
            self.loglik += self._complete(prep, None)
            info["past_first_frame"] = self.n_rules if prep.n_frames > 1 else 0
        else:
            info["mode"] = "pruned"
            self._add_pruned(prep, info, support)
            self._revive(prep, info)
        if prep.n_frames:
            self._scored += 1
        info["seconds"] = time.perf_counter() - start
        self.last_update = info

    def _add_pruned(
        self,
        prep: _Prepared,
        info: dict[str, Any],
        support: tuple[float, np.ndarray] | None,
    ) -> None:
        """One trajectory with pruning: steps 1-4 of the module doc. ``support``: the
        posterior support of the data before it (``posterior_support``), if known."""
        margin = self.margin
        acc = self.loglik
        new = acc.copy()
        exact = np.empty_like(self.exact) if self._scored else self.exact.copy()
        done = np.zeros(self.n_rules, dtype=bool)  # rules whose new term is complete
        past_first = np.zeros(self.n_rules, dtype=bool)
        lstar = -np.inf
        info["stage_rules"] = []

        def seed(chosen: np.ndarray) -> None:
            nonlocal lstar
            new[chosen] = acc[chosen] + self._complete(prep, chosen)
            done[chosen] = True
            past_first[chosen] = prep.n_frames > 1
            lstar = max(lstar, float(new[chosen].max()))

        # 1. Earlier data: the best rules so far give L*, and the hopeless are skipped.
        active = None
        if self._scored:
            if support is not None and len(support[1]) >= _SEEDS:
                # Every exact rule outside the support is below all of it: the best
                # exact rules are the support's best.
                seed(support[1][_top(acc[support[1]], _SEEDS)])
            else:
                seed(mr.top_k_where(acc, self.exact, _SEEDS))
            active = mr.still_in_reach(acc, lstar - margin, done, self.exact, exact)
        # 2. Pilot: the first rows of the first observed frame (for statistics, its
        # density and activity), for every active rule.
        height, _ = prep.world
        h, w = prep.region
        stats = prep.kind == mr.KIND_STATS
        rows = h if stats else min(h, -(-self.pilot_cells // w))
        light = rows + 2 * (int(prep.times[0]) - 1) < height
        if active is None:  # every rule: whole arrays instead of indexing (it is faster)
            info["pilot_rules"] = self.n_rules

            def take(array: np.ndarray) -> np.ndarray:
                return array

            def where(mask: np.ndarray) -> np.ndarray:
                return np.flatnonzero(mask)

        else:
            info["pilot_rules"] = len(active)
            if not len(active):
                self._commit(new, exact, past_first, info)
                return

            def take(array: np.ndarray) -> np.ndarray:
                return array[active]

            def where(mask: np.ndarray) -> np.ndarray:
                return active[mask]

        pilot, _ = self._score(prep, active, 1, rows, light=light, bound=stats)
        bound = take(acc) + pilot
        first_complete = rows >= h and not stats
        if first_complete and prep.n_frames == 1:
            new[where(np.ones(len(bound), dtype=bool))] = bound  # the pilot scored it all
            self._commit(new, exact, past_first, info)
            return
        # 3. The best rules by pilot bound, scored completely, raise L*.
        fresh = take(exact) & ~take(done)
        if fresh.any():
            seed(where(fresh)[_top(bound[fresh], _SEEDS)])
        pending = ~take(done)
        with np.errstate(invalid="ignore"):
            keep = pending & (bound >= lstar - margin)
        drop = pending & ~keep
        mr.drop_rules(new, exact, _ALL_RULES if active is None else active, bound, drop)
        # 4. Rounds over more and more observed frames for the rules still in reach.
        # Each round resumes the terms of the last: its frames are simulated, not rescored
        # (a sum over frames in the same order, so the same floats).
        survivors = where(keep)
        n_frames = min(2, prep.n_frames) if first_complete else 1
        first_scored, scored = (1, pilot[keep]) if first_complete else (0, None)
        while len(survivors):
            info["stage_rules"].append(len(survivors))
            if prep.times[n_frames - 1] > prep.times[0]:
                past_first[survivors] = True
            with np.errstate(invalid="ignore"):
                budget = lstar - margin - acc[survivors]
            terms, finished = self._score(
                prep, survivors, n_frames, h, budget=budget, first_scored=first_scored,
                scored=scored,
            )  # fmt: skip
            totals = acc[survivors] + terms
            if n_frames == prep.n_frames:
                new[survivors] = totals
                with np.errstate(invalid="ignore"):
                    exact[survivors] &= finished & (totals >= lstar - margin)
                break
            with np.errstate(invalid="ignore"):
                keep = finished & (totals >= lstar - margin)
            new[survivors[~keep]] = totals[~keep]
            exact[survivors[~keep]] = False
            survivors = survivors[keep]
            first_scored, scored = n_frames, terms[keep]
            n_frames = min(2 * n_frames, prep.n_frames)
        self._commit(new, exact, past_first, info)

    def _commit(
        self, new: np.ndarray, exact: np.ndarray, past_first: np.ndarray, info: dict[str, Any]
    ) -> None:
        self.loglik = new
        self.exact = exact
        info["past_first_frame"] = int(past_first.sum())

    def _revive(self, prep: _Prepared, info: dict[str, Any]) -> None:
        """Step 5 of the module doc: re-score exactly, over every trajectory, each dropped
        rule whose bound is within ``margin`` of the best exact log-likelihood."""
        revived = 0
        while True:
            best, rules, support = mr.revival_candidates(
                self.loglik, self.exact, self.margin, _SUPPORT_NATS
            )
            if not len(rules):
                self._support = (best, support)
                break
            preps = [prep] + [earlier for earlier in self._prepared[:-1] if earlier.n_frames]
            terms = self._complete_each(preps, rules)
            total = terms[0]
            for term in terms[1:]:  # the newest trajectory first, then the oldest onwards
                total = total + term
            self.loglik[rules] = total
            self.exact[rules] = True
            revived += len(rules)
        info["revived"] = revived

    # -- posterior ------------------------------------------------------------------------

    def posterior_support(self) -> tuple[float, np.ndarray, np.ndarray]:
        """The best exact log-likelihood (``-inf`` if every rule has probability 0), and the
        rules with a nonzero unnormalised posterior weight ``exp(loglik - best)`` (int64,
        ascending; dropped rules weigh 0) with those weights (float64; the MAP rule's is
        1): the same floats as the dense array of 2^n_free weights, in time O(live rules)."""
        if self._support is None:
            self._support = sparse_sums.posterior_support(self.loglik, self.exact, _SUPPORT_NATS)
        best, support = self._support
        weights = np.exp(self.loglik[support] - best)
        live = weights > 0
        return best, support[live], weights[live]


def totalistic_logliks(
    space: RuleSpace,
    trajectories: Sequence[VisibleTrajectory],
    prune: bool = True,
    margin: float = DEFAULT_MARGIN,
) -> np.ndarray:
    """Log-likelihood of every rule of the totalistic ``space`` given ``trajectories``.

    Returns float64 (2^n_free,): entry ``r`` is the summed
    ``trajectory_loglik(rule r, trajectory)`` for rule index ``r`` (free bit ``i`` =
    ``(r >> i) & 1``). With ``prune`` (see the module doc), a dropped rule's entry is an
    upper bound on its log-likelihood that is below ``max - margin``.
    """
    scores = RuleScores(space, prune=prune, margin=margin)
    for trajectory in trajectories:
        scores.add(trajectory)
    return scores.loglik.copy()


# ------------------------------------------------------------------------------ engine

# The prior belief of each rule space seen (a reset would compute it over 2^n_free rules).
_PRIORS: dict[tuple[str, bytes, bytes, ObservationModel], tuple[Belief, tuple[float, float]]] = {}
_PRIORS_KEPT = 64

#: Log-likelihoods this close (relative) to the best count as tied for the MAP rule.
_TIE_RTOL = 1e-12


def map_index(loglik: np.ndarray, quiescent_bit: int | None) -> int:
    """The MAP rule index under the uniform prior: the largest ``loglik``; among exact
    ties, the lowest index whose free bit ``quiescent_bit`` (the all-dead neighbourhood's
    bit, B0) is clear, else the lowest index.

    Ties are not rare in one case: under ``strided(2)`` a self-complementary rule R and its
    complement NOT.R (every bit flipped) give identical frames at even steps, so no
    experiment separates them and exactly one of the two has B0. Preferring the rule that
    keeps empty space empty is the convention of the Life-like literature (B0 rules
    strobe); it is a tie-break only and never outweighs any evidence.
    """
    best = float(np.max(loglik))
    if not np.isfinite(best):
        return int(np.argmax(loglik))
    return _map_of_tied(np.flatnonzero(loglik >= _tie_floor(best)), quiescent_bit)


def _tie_floor(best: float) -> float:
    """Log-likelihoods at least this count as tied with ``best`` (finite)."""
    return best - _TIE_RTOL * max(abs(best), 1.0)


def _map_of_tied(tied: np.ndarray, quiescent_bit: int | None) -> int:
    """:func:`map_index`'s choice among the ``tied`` rule indices (ascending, not empty)."""
    if len(tied) > 1 and quiescent_bit is not None:
        quiet = tied[((tied >> quiescent_bit) & 1) == 0]
        if len(quiet):
            return int(quiet[0])
    return int(tied[0])


class ExhaustiveEngine(InferenceEngine):
    """Exact posterior over every rule of a totalistic space (module doc).

    ``n_consistent`` counts the rules whose log-likelihood is within ``ln(1e6)`` of the
    best (with noise-free frames: the rules that reproduce every observation); a bit is
    ``determined`` unless its marginal is 0.5 within 1e-9. The MAP rule breaks exact ties
    towards B0 clear (:func:`map_index`).
    """

    name = "exhaustive"
    observes = OBSERVATION_FEATURES

    def __init__(
        self,
        space: RuleSpace,
        model: ObservationModel,
        *,
        prune: bool = True,
        margin: float = DEFAULT_MARGIN,
        pilot_cells: int = DEFAULT_PILOT_CELLS,
    ) -> None:
        super().__init__(space, model)
        self.scores = RuleScores(space, prune=prune, margin=margin, pilot_cells=pilot_cells)
        self._belief: Belief | None = None  # until the next trajectory: tests change nothing
        # (best log-likelihood, total unnormalised weight) of the posterior last computed
        self._total: tuple[float, float] = (-math.inf, 0.0)
        self._last_rule: tuple[int, Rule] | None = None
        empty = int(space.family.orbit_of[0])  # the bit of the all-dead neighbourhood
        free = np.flatnonzero(space.free_bits == empty)
        self._quiescent_bit = int(free[0]) if len(free) else None

    @classmethod
    def unsupported(cls, space: RuleSpace, model: ObservationModel) -> str | None:
        if space.family.name != "totalistic":
            return (
                f"it enumerates B/S rules (the totalistic family, at most 2^18), and family "
                f"{space.family.name!r} has {space.n_free} free bits"
            )
        return None

    @property
    def loglik(self) -> np.ndarray:
        """float64 (2^n_free,): cumulative log-likelihood per rule index (see RuleScores)."""
        return self.scores.loglik

    @property
    def exact(self) -> np.ndarray:
        """bool (2^n_free,): which entries of :attr:`loglik` are exact."""
        return self.scores.exact

    def rule(self, index: int) -> Rule:
        """The rule with rule index ``index`` (the last one asked for is kept: beliefs
        ask for the MAP rule, which seldom moves)."""
        index = int(index)
        if self._last_rule is None or self._last_rule[0] != index:
            n_free = self.space.n_free
            self._last_rule = (index, self.space.rule((index >> np.arange(n_free)) & 1))
        return self._last_rule[1]

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        self.scores.add(trajectory)
        self._belief = None

    def belief(self) -> Belief:
        """The posterior (computed once per trajectory: a copy of it after that; the prior
        once per rule space)."""
        if self._belief is None:
            if self.scores.trajectories:
                self._belief = self._posterior()
            else:  # the prior: the same for every episode over this space
                key = (
                    self.space.family.name,
                    self.space.known_mask.tobytes(),
                    self.space.known_values.tobytes(),
                    self.model,  # the MAP's class depends on it
                )
                if key not in _PRIORS:
                    if len(_PRIORS) >= _PRIORS_KEPT:
                        _PRIORS.clear()
                    _PRIORS[key] = (self._posterior(), self._total)
                self._belief, self._total = _PRIORS[key]
        known = self._belief
        return dataclasses.replace(
            known, p_one=known.p_one.copy(), determined=known.determined.copy()
        )

    def _posterior(self) -> Belief:
        """The belief from the live rules only (:meth:`RuleScores.posterior_support`); its
        sums replay numpy's over the dense 2^n_free weights bit for bit (``sparse_sums``)."""
        n_free = self.space.n_free
        loglik = self.scores.loglik
        best, rules, weights = self.scores.posterior_support()
        if not np.isfinite(best):  # no rule explains the data at all
            self._total = (best, 0.0)
            return Belief(
                p_one=np.full(n_free, 0.5),
                map_rule=self.rule(0),
                entropy=float(n_free),
                n_consistent=0,
                determined=np.zeros(n_free, dtype=bool),
            )
        n_rules = self.scores.n_rules
        if len(rules) * _SPARSE_FRACTION > n_rules:  # many live rules: numpy's dense sums
            dense = np.zeros(n_rules)
            dense[rules] = weights
            total = float(dense.sum())
            zeros = np.array([dense.reshape(-1, 2, 1 << i)[:, 0, :].sum() for i in range(n_free)])
            ones = np.array([dense.reshape(-1, 2, 1 << i)[:, 1, :].sum() for i in range(n_free)])
        else:
            total = sparse_sums.pairwise_sum(rules, weights, n_rules)
            zeros, ones = sparse_sums.bit_half_sums(
                rules, weights, n_free, sparse_sums.NUMPY_BUFFER
            )
        p_one = ones / (zeros + ones)
        log_w = loglik[rules] - best
        entropy = math.log2(total) - float(weights @ log_w) / total / math.log(2)
        near = rules[loglik[rules] >= best - _CONSISTENT_NATS]  # exact rules, ascending
        floor = _tie_floor(best)
        if floor >= best - _CONSISTENT_NATS:
            tied = near[loglik[near] >= floor]
        else:  # a tolerance wider than the near rules (|best| > 1e13 nats)
            tied = np.flatnonzero(np.where(self.scores.exact, loglik, -np.inf) >= floor)
        self._total = (best, total)
        map_rule = self.rule(_map_of_tied(tied, self._quiescent_bit))
        return Belief(
            p_one=p_one,
            map_rule=map_rule,
            entropy=max(0.0, entropy),
            n_consistent=len(near),
            determined=np.abs(p_one - 0.5) > _UNDETERMINED_TOL,
            map_probability=self._mass(observational_class(map_rule, self.space, self.model)),
        )

    def index_of(self, rule: Rule) -> int:
        """The rule index of ``rule`` (a rule of the space; free bit ``i`` is bit ``i``)."""
        values = self.space.free_values(rule).astype(np.int64)
        return int((values << np.arange(len(values), dtype=np.int64)).sum())

    def class_probability(self, members: Sequence[Rule]) -> float:
        """The posterior mass of ``members``: their weights over the total (dropped rules
        weigh 0, as in the posterior; the error is below the module doc's bound)."""
        self.belief()
        return self._mass(members)

    def _mass(self, members: Sequence[Rule]) -> float:
        """Posterior mass of ``members`` under the posterior last computed."""
        best, total = self._total
        if not np.isfinite(best) or not total > 0:
            return 0.0
        indices = np.array([self.index_of(m) for m in members], dtype=np.int64)
        live = self.scores.exact[indices] & (self.loglik[indices] - best > -_SUPPORT_NATS)
        weights = np.exp(self.loglik[indices[live]] - best)
        return float(min(1.0, weights.sum() / total))
