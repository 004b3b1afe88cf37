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
simulated at once, one bit of a ``uint64`` word per rule; and most rules are *pruned*.

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
   frame (only the light cone of those rows is simulated, see ``pilot_cells``);
3. the 64 best by pilot bound are scored completely, raising ``L*``;
4. the rules still within ``margin`` of ``L*`` are scored on 1, 2, 4, ... observed frames
   (packed 64 to a word, re-simulated each round), dropping those that fall below
   ``L* - margin``; a group of 64 stops as soon as all of its rules have;
5. *revival*: a dropped rule whose stored bound is within ``margin`` of the best exact
   log-likelihood (possible after later data lowered the best) is re-scored exactly over
   all trajectories.

Error bound: each dropped rule has posterior weight < ``e^-margin`` relative to the MAP
rule, so the dropped mass is below ``2^n_free e^-margin`` of the total: with the default
``margin = 40`` and 18 free bits, under ``1.1e-12``. That bounds the error of every
marginal ``p_one`` and of the mass of every set of rules; rules within ``ln(1e6)`` of the
best (``n_consistent``) are never dropped. ``prune=False`` scores every rule completely.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from lifegym.inference import _multirule as mr
from lifegym.inference.base import InferenceEngine
from lifegym.likelihood import _stats_scale
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.sim import _PARALLEL_LOCK
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = ["DEFAULT_MARGIN", "ExhaustiveEngine", "RuleScores", "totalistic_logliks"]

DEFAULT_MARGIN = 40.0
"""Nats below the best complete log-likelihood under which a rule is dropped."""
DEFAULT_PILOT_CELLS = 512
"""Cells of the first observed frame scored for every rule before the others (frames)."""

_LANES = 64
_SEEDS = 64  # rules scored completely to set L* (one group)
_SMALL_SPACE = 256  # spaces of at most this many rules are scored completely, unpruned
_PARALLEL_MIN_WORK = 1 << 21  # cell-steps x groups below which a call stays on one thread
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_LANE_PATTERNS = np.array(
    [sum(1 << j for j in range(_LANES) if (j >> i) & 1) for i in range(6)], dtype=np.uint64
)
_CONSISTENT_NATS = math.log(1e6)
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
    grid = np.asarray(initial, dtype=np.uint8)
    count = np.zeros(grid.shape, dtype=np.uint8)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                count += np.roll(grid, (dr, dc), axis=(0, 1))
    return np.ascontiguousarray(9 * grid + count, dtype=np.uint8)


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
        sscale = np.ascontiguousarray(_stats_scale(sobs, h * w), dtype=np.float64)
        channel = q**_HAMMING * (1 - q) ** (4 - _HAMMING)
        smasks, ssrc = (
            (_WRAP_SUBSETS, _WRAP_SOURCE) if wrap else (_WINDOW_SUBSETS, _WINDOW_SOURCE)
        )
    return _Prepared(
        idx0=pattern_classes(initial),
        times=times,
        kind=kind,
        obs=obs,
        init_region=np.ascontiguousarray(initial[:h, :w]),
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
    rules = np.asarray(rules, dtype=np.int64)
    n_groups = -(-len(rules) // _LANES)
    padded = np.full(n_groups * _LANES, rules[-1], dtype=np.int64)
    padded[: len(rules)] = rules
    bits = np.repeat(space.known_values[None, :].astype(np.uint64), len(padded), axis=0)
    free = space.free_bits
    bits[:, free] = ((padded[:, None] >> np.arange(len(free))) & 1).astype(np.uint64)
    shifts = np.arange(_LANES, dtype=np.uint64)[None, :, None]
    lanes = bits.reshape(n_groups, _LANES, -1) << shifts
    return np.ascontiguousarray(np.bitwise_or.reduce(lanes, axis=1), dtype=np.uint64)


def _run(
    prep: _Prepared,
    words: np.ndarray,
    n_frames: int,
    row_limit: int,
    light: bool = False,
    budget: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel on the groups ``words``: per-lane partial log-likelihoods (float64
    (G, 64)) and whether each group ran to the end (bool (G,)). With ``budget`` (float64
    (G, 64)) a group stops once every lane's running total is below its budget."""
    n_groups = len(words)
    partial = np.empty((n_groups, _LANES))
    complete = np.empty(n_groups, dtype=np.bool_)
    prune = budget is not None
    if budget is None:
        budget = np.full((n_groups, _LANES), -np.inf)
    height, width = prep.world
    steps = int(prep.times[0] if light else prep.times[n_frames - 1])
    rows = row_limit + 2 * (steps - 1) if light else height
    args = (
        words, prep.idx0, prep.times, prep.kind, prep.obs, prep.init_region, prep.fparams,
        prep.sobs, prep.sscale, prep.channel, prep.smasks, prep.ssrc, prep.wrap,
        int(n_frames), int(row_limit), bool(light), bool(prune),
        np.ascontiguousarray(budget, dtype=np.float64), partial, complete, prep.planes,
    )  # fmt: skip
    threads = numba.get_num_threads()
    if n_groups > 1 and threads > 1 and n_groups * rows * width * steps >= _PARALLEL_MIN_WORK:
        with _PARALLEL_LOCK:
            mr.evaluate_parallel(min(n_groups, 8 * threads), *args)
    else:
        mr.evaluate_serial(*args)
    return partial, complete


# ----------------------------------------------------------------------------- scores


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest ``values`` (ties: lowest index first), best first."""
    if len(values) <= k:
        return np.lexsort((np.arange(len(values)), -values))
    part = np.argpartition(-values, k - 1)[:k]
    cut = values[part].min()
    chosen = np.flatnonzero(values >= cut)
    order = np.lexsort((chosen, -values[chosen]))
    return chosen[order[:k]]


class RuleScores:
    """Cumulative log-likelihood of every rule of a totalistic ``space`` (module doc).

    Attributes:
        loglik: float64 (2^n_free,): summed log-likelihood of each rule index over the
            trajectories added; an upper bound where ``exact`` is False.
        exact: bool (2^n_free,): whether ``loglik`` is exact (False: the rule was dropped,
            its true log-likelihood is at most ``loglik`` < best exact - ``margin``).
        trajectories: the trajectories added, oldest first.
        last_update: what the last :meth:`add` did (rules scored at each stage, seconds).
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
        self.last_update: dict[str, Any] = {}
        self._scored = 0  # trajectories with at least one observed frame

    # -- evaluation helpers ---------------------------------------------------------------

    def _complete(self, prep: _Prepared, rules: np.ndarray) -> np.ndarray:
        """float64 (n,): log-likelihood of one trajectory for each rule index in ``rules``."""
        partial, _ = _run(prep, packed_words(self.space, rules), prep.n_frames, prep.region[0])
        return partial.reshape(-1)[: len(rules)]

    def _everything(self, prep: _Prepared) -> np.ndarray:
        """float64 (2^n_free,): one trajectory's log-likelihood for every rule, unpruned."""
        words = structured_words(self.space)
        partial, _ = _run(prep, words, prep.n_frames, prep.region[0])
        return partial.reshape(-1)[: self.n_rules]

    # -- one trajectory -------------------------------------------------------------------

    def add(self, trajectory: VisibleTrajectory) -> None:
        """Add ``trajectory``'s log-likelihood terms to :attr:`loglik`."""
        start = time.perf_counter()
        prep = _prepare(trajectory)
        self.trajectories.append(trajectory)
        info: dict[str, Any] = {"rules": self.n_rules, "frames": prep.n_frames}
        if prep.n_frames == 0:
            info["mode"] = "no observed frame"
        elif not self.prune or self.n_rules <= _SMALL_SPACE:
            info["mode"] = "complete"
            self.loglik += self._everything(prep)
            info["past_first_frame"] = self.n_rules
        else:
            info["mode"] = "pruned"
            self._add_pruned(prep, info)
            self._revive(prep, info)
        if prep.n_frames:
            self._scored += 1
        info["seconds"] = time.perf_counter() - start
        self.last_update = info

    def _add_pruned(self, prep: _Prepared, info: dict[str, Any]) -> None:
        margin = self.margin
        acc = self.loglik
        new = acc.copy()
        exact = self.exact.copy()
        done = np.zeros(self.n_rules, dtype=bool)  # rules whose new term is complete
        past_first = np.zeros(self.n_rules, dtype=bool)
        lstar = -np.inf

        def seed(candidates: np.ndarray, values: np.ndarray) -> None:
            nonlocal lstar
            chosen = candidates[_top(values, _SEEDS)]
            new[chosen] = acc[chosen] + self._complete(prep, chosen)
            done[chosen] = True
            past_first[chosen] = True
            lstar = max(lstar, float(new[chosen].max()))

        # 1. Earlier data: the best rules so far give L*, and the hopeless are skipped.
        if self._scored:
            candidates = np.flatnonzero(self.exact)
            seed(candidates, acc[candidates])
            with np.errstate(invalid="ignore"):
                active = np.flatnonzero((acc >= lstar - margin) & ~done)
        else:
            active = None
        # 2. Pilot: the first rows of the first observed frame, for every active rule.
        height, _ = prep.world
        h, w = prep.region
        rows = h if prep.kind == mr.KIND_STATS else min(h, -(-self.pilot_cells // w))
        light = rows + 2 * (int(prep.times[0]) - 1) < height
        if active is None:
            rules = np.arange(self.n_rules)
            partial, _ = _run(prep, structured_words(self.space), 1, rows, light)
            pilot = partial.reshape(-1)[: self.n_rules]
        else:
            rules = active
            pilot = np.empty(0)
            if len(rules):
                partial, _ = _run(prep, packed_words(self.space, rules), 1, rows, light)
                pilot = partial.reshape(-1)[: len(rules)]
        info["pilot_rules"] = len(rules)
        info["pilot_rows"] = rows
        bound = acc[rules] + pilot
        if rows >= h and prep.n_frames == 1:
            new[rules] = bound  # the pilot scored everything there is
            done[rules] = True
        elif len(rules):
            # 3. The best rules by pilot bound, scored completely, raise L*.
            fresh = exact[rules] & ~done[rules]
            if fresh.any():
                seed(rules[fresh], bound[fresh])
            with np.errstate(invalid="ignore"):
                keep = (bound >= lstar - margin) & ~done[rules]
            dropped = rules[~keep & ~done[rules]]
            new[dropped] = bound[~keep & ~done[rules]]
            exact[dropped] = False
            # 4. Rounds over 1, 2, 4, ... observed frames for the rules still in reach.
            survivors = rules[keep]
            n_frames = 1 if rows < h else min(2, prep.n_frames)
            stages = []
            while len(survivors):
                stages.append(len(survivors))
                if prep.times[n_frames - 1] > prep.times[0]:
                    past_first[survivors] = True
                words = packed_words(self.space, survivors)
                budget = np.full((len(words), _LANES), np.inf)
                with np.errstate(invalid="ignore"):
                    budget.reshape(-1)[: len(survivors)] = lstar - margin - acc[survivors]
                partial, complete = _run(prep, words, n_frames, h, budget=budget)
                totals = acc[survivors] + partial.reshape(-1)[: len(survivors)]
                finished = np.repeat(complete, _LANES)[: len(survivors)]
                if n_frames == prep.n_frames:
                    new[survivors] = totals
                    exact[survivors] &= finished
                    done[survivors] = True
                    break
                with np.errstate(invalid="ignore"):
                    keep = finished & (totals >= lstar - margin)
                new[survivors[~keep]] = totals[~keep]
                exact[survivors[~keep]] = False
                survivors = survivors[keep]
                n_frames = min(2 * n_frames, prep.n_frames)
            info["stage_rules"] = stages
        untouched = ~done
        if active is not None:
            untouched[active] = False
            exact[untouched] = False  # skipped: loglik keeps the earlier (upper) bound
        self.loglik = new
        self.exact = exact
        info["past_first_frame"] = int(past_first.sum())

    def _revive(self, prep: _Prepared, info: dict[str, Any]) -> None:
        """Re-score exactly every dropped rule whose bound is within ``margin`` of the
        best exact log-likelihood."""
        revived = 0
        while True:
            best = self.loglik[self.exact].max() if self.exact.any() else -np.inf
            with np.errstate(invalid="ignore"):
                rules = np.flatnonzero(~self.exact & (self.loglik >= best - self.margin))
            if not len(rules):
                break
            total = self._complete(prep, rules)
            for trajectory in self.trajectories[:-1]:
                earlier = _prepare(trajectory)
                if earlier.n_frames:
                    total = total + self._complete(earlier, rules)
            self.loglik[rules] = total
            self.exact[rules] = True
            revived += len(rules)
        info["revived"] = revived

    # -- posterior ------------------------------------------------------------------------

    def posterior_weights(self) -> tuple[np.ndarray, float]:
        """Unnormalised posterior weights (float64 (2^n_free,), the MAP rule's is 1, dropped
        rules 0) and the best exact log-likelihood (``-inf`` if every rule has
        probability 0)."""
        values = np.where(self.exact, self.loglik, -np.inf)
        best = float(values.max())
        if not np.isfinite(best):
            return np.zeros(self.n_rules), best
        return np.exp(values - best), best


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


class ExhaustiveEngine(InferenceEngine):
    """Exact posterior over every rule of a totalistic space (module doc).

    ``n_consistent`` counts the rules whose log-likelihood is within ``ln(1e6)`` of the
    best (with noise-free frames: the rules that reproduce every observation); a bit is
    ``determined`` unless its marginal is 0.5 within 1e-9.
    """

    name = "exhaustive"

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
        """The rule with rule index ``index``."""
        n_free = self.space.n_free
        return self.space.rule((int(index) >> np.arange(n_free)) & 1)

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        self.scores.add(trajectory)

    def belief(self) -> Belief:
        n_free = self.space.n_free
        weights, best = self.scores.posterior_weights()
        if not np.isfinite(best):  # no rule explains the data at all
            return Belief(
                p_one=np.full(n_free, 0.5),
                map_rule=self.rule(0),
                entropy=float(n_free),
                n_consistent=0,
                determined=np.zeros(n_free, dtype=bool),
            )
        total = float(weights.sum())
        p_one = np.empty(n_free)
        for i in range(n_free):
            halves = weights.reshape(-1, 2, 1 << i)
            ones = float(halves[:, 1, :].sum())
            p_one[i] = ones / (float(halves[:, 0, :].sum()) + ones)
        nz = weights > 0
        log_w = self.scores.loglik[nz] - best
        entropy = math.log2(total) - float(weights[nz] @ log_w) / total / math.log(2)
        values = np.where(self.scores.exact, self.scores.loglik, -np.inf)
        return Belief(
            p_one=p_one,
            map_rule=self.rule(int(np.argmax(values))),
            entropy=max(0.0, entropy),
            n_consistent=int((values >= best - _CONSISTENT_NATS).sum()),
            determined=np.abs(p_one - 0.5) > _UNDETERMINED_TOL,
        )
