"""The ``emulator`` engine: the belief is what a symmetric torch emulator has learned.

The research loop of ``docs/background.md`` as an inference engine:

1. **Learn.** Each visible trajectory adds to the data of an
   :class:`~lifegym.emulator.Emulator` with the symmetry of the family (totalistic ->
   totalistic, isotropic -> p4m, ring -> ring, rotation -> p4, free -> none; a family with
   no symmetry of its own gets that of its smallest superfamily: vonneumann -> p4m, hex ->
   none), refit after each new trajectory, warm-started from its current weights; older
   trajectories weigh ``decay ** age`` (newest most).

   * Frames at stride 1 (full, noisy, window): the emulator trains on per-pattern counts of
     the visible transitions, the initial condition (exact) -> frame 1 and each observed
     frame -> the next, in a window only cells whose whole 3x3 input is inside it. With
     noise, EM over the hidden true inputs and outputs (``Emulator.fit_counts(noise=...)``).
   * Strided frames of the whole world: ``Emulator.fit(stride=k)``, which searches for the
     table whose ``k``-step map explains the frames and teaches it to the network
     (:mod:`lifegym.unroll`).
   * Statistics only (or strided frames of a window): nothing to fit to directly; the
     hypothesis starts from the emulator's current rule.

2. **Test.** Without visible transitions (strided, statistics), the extracted rule is a
   hypothesis, and the engine tests its components against the black box
   (:func:`climb_components`): flips of one component, least confident first, then of two
   among the least confident, are kept when the rule with them explains the observations
   better (the shared likelihood, :func:`lifegym.likelihood.compare`). The climb runs on
   the observations up to step 2, 4, 8, then all of them (a short horizon's likelihood is
   smoother: chaos has not yet amplified a wrong component), from the emulator's rule and
   from the best ``restarts`` of 64 random rules (seeded). The best rule is taught to the
   emulator (fit to its table), so the emulator stays the model of the dynamics the next
   cycle starts from, and the log-likelihood ratio of each component around it is kept as
   that component's evidence. Each test simulates the visible trajectories once: cheap for
   B/S rules (bit-packed), seconds per update for the 102 isotropic components.

Belief: P(bit = 1) combines the emulator's orbit-averaged log-odds with the evidence of the
engine's own tests and of the agent's hypothesis tests. An agent's ``test`` of component
``i`` compares *statistics* (research loop, step 4): the rules with and without the
component are run from the same initial conditions and their density, activity and block
entropy are scored against the black box's (:func:`lifegym.likelihood.statistics_loglik`).
A bit is *determined* when a transition through one of its patterns was seen, or a test
produced evidence about it. The probability of a class of rules (what ``identified`` reads)
is Boole's lower bound from these marginals (``InferenceEngine.class_probability``): with
many bits each held at a modest confidence it stays well below 1 even when the MAP rule is
right (the v1 leaderboard: exact on all 30 named Isotropic-Noisy-v1 episodes, identified on
none).
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from lifegym.emulator import FAMILY_OF, Emulator
from lifegym.families import FAMILIES, get_family, is_subfamily
from lifegym.inference.base import (
    InferenceEngine,
    binary_entropy_bits,
    probabilities_from_log_odds,
)
from lifegym.likelihood import compare, statistics_loglik
from lifegym.neighbourhoods import N_PATTERNS
from lifegym.observe import OBSERVATION_FEATURES, ObservationModel
from lifegym.patterns import count_seen_transitions
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = ["SYMMETRY_OF_FAMILY", "EmulatorEngine", "climb_components", "pattern_counts"]


def _emulator_symmetry(family: str) -> str:
    """The symmetry of the emulator for ``family``: its own, else that of its superfamily
    with the fewest bits (the emulator then learns in a larger family; the engine's belief
    is over the family's own bits, averaged over its orbits)."""
    own = {fam: symmetry for symmetry, fam in FAMILY_OF.items()}
    if family in own:
        return own[family]
    above = [fam for fam in own if is_subfamily(family, fam)]
    return own[min(above, key=lambda fam: get_family(fam).n_bits)]


SYMMETRY_OF_FAMILY = {name: _emulator_symmetry(name) for name in FAMILIES}
"""Family name -> the symmetry of the emulator the engine trains for it."""

_IDENTITY = np.arange(N_PATTERNS)
_MAX_PASSES = 8  # climbs over all components, at most
_PAIR_BITS = 18  # two-component moves among this many least confident components
_HORIZONS = (2, 4, 8)  # the component climb runs on these first steps, then on all
_SCREENED = 64  # random rules scored; the best ``restarts`` of them start climbs


def pattern_counts(trajectory: VisibleTrajectory) -> np.ndarray:
    """``(seen, alive)`` int64 (2, 2, 512) of the transitions the trajectory shows.

    ``[0]`` counts transitions from the exact initial condition, ``[1]`` those between
    observed frames (inputs observed through the model's noise; only cells whose whole 3x3
    input was observed). Each is ``(seen, alive)`` by input pattern.
    """
    first = count_seen_transitions(trajectory, _IDENTITY, N_PATTERNS, later_frames=False)
    every = count_seen_transitions(trajectory, _IDENTITY, N_PATTERNS, later_frames=True)
    later = (every[0] - first[0], every[1] - first[1])
    return np.array([[ones + zeros, ones] for ones, zeros in (first, later)])


def _first_steps(trajectories: list[VisibleTrajectory], horizon: int) -> list[VisibleTrajectory]:
    """The trajectories cut to their observations at steps <= ``horizon``."""
    cut = []
    for t in trajectories:
        n = int(np.searchsorted(t.times, horizon, side="right"))
        if n == len(t.times):
            cut.append(t)
        elif n > 0:
            cut.append(
                dataclasses.replace(
                    t,
                    steps=int(t.times[n - 1]),
                    times=t.times[:n],
                    frames=None if t.frames is None else t.frames[:n],
                    stats=None if t.stats is None else t.stats[:n],
                )
            )
    return cut


def _fit_key(rule: Rule, trajectories: list[VisibleTrajectory]) -> tuple[float, float]:
    """How well ``rule`` explains the data: log-likelihood, then fewer mismatches (which
    rank rules that noise-free frames give ``-inf``)."""
    comparison = compare(rule, trajectories)
    return comparison.loglik, -comparison.discrepancy


def climb_components(
    space: RuleSpace,
    start: np.ndarray,
    order: np.ndarray,
    trajectories: list[VisibleTrajectory],
) -> tuple[np.ndarray, tuple[float, float]]:
    """Hill-climb over the free bits from ``start`` by :func:`_fit_key`.

    A pass tries flipping every bit in ``order`` and keeps each flip that explains the data
    better; when a pass keeps nothing, flips of two bits among the first ``_PAIR_BITS`` of
    ``order`` are tried, and the first that helps restarts the passes (at most
    ``_MAX_PASSES`` in all). Returns the free values reached and their key.
    """
    values = np.array(start, dtype=np.uint8)
    best = _fit_key(space.rule(values), trajectories)
    pairs = list(itertools.combinations(order[:_PAIR_BITS], 2))
    for _ in range(_MAX_PASSES):
        improved = False
        for i in order:
            values[i] ^= 1
            key = _fit_key(space.rule(values), trajectories)
            if key > best:
                best, improved = key, True
            else:
                values[i] ^= 1
        if improved:
            continue
        for i, j in pairs:
            values[[i, j]] ^= 1
            key = _fit_key(space.rule(values), trajectories)
            if key > best:
                best, improved = key, True
                break
            values[[i, j]] ^= 1
        if not improved:
            break
    return values, best


class EmulatorEngine(InferenceEngine):
    """Belief from an emulator refit on the visible trajectories (see the module doc).

    Args:
        space, model: as for every engine.
        seed: the emulator's seed, and that of the random restarts.
        decay: weight of a trajectory is ``decay ** age`` (age 0 = newest).
        epochs: the most Adam steps per refit.
        restarts: further starts of the component climb besides the emulator's rule: the
            best of 64 random rules.
    """

    name = "emulator"
    observes = OBSERVATION_FEATURES

    def __init__(
        self,
        space: RuleSpace,
        model: ObservationModel,
        seed: int = 0,
        decay: float = 0.5,
        epochs: int = 2000,
        restarts: int = 3,
    ) -> None:
        super().__init__(space, model)
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay!r}")
        if isinstance(restarts, bool) or not isinstance(restarts, int) or restarts < 0:
            raise ValueError(f"restarts must be an int >= 0, got {restarts!r}")
        self.emulator = Emulator(SYMMETRY_OF_FAMILY[space.family.name], seed=seed)
        self.decay = float(decay)
        self.epochs = int(epochs)
        self.restarts = restarts
        self._rng = np.random.default_rng(seed)
        self._counts: list[np.ndarray] = []
        self.climb_log_odds = np.zeros(space.n_free)
        self.test_log_odds = np.zeros(space.n_free)

    @property
    def learns_transitions(self) -> bool:
        """Whether the observations show transitions (frames at stride 1)."""
        return self.model.stats_sigma is None and self.model.stride == 1

    def _weights(self, n: int) -> np.ndarray:
        return self.decay ** np.arange(n)[::-1]

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        if self.learns_transitions:
            self._fit_transitions(trajectory)
            return
        if trajectory.frames is not None and self.model.wraps(*trajectory.world_shape):
            self._fit_strided()
        self._test_components()

    def _fit_transitions(self, trajectory: VisibleTrajectory) -> None:
        self._counts.append(pattern_counts(trajectory))
        total = np.zeros((2, 2, N_PATTERNS))
        for w, counts in zip(self._weights(len(self._counts)), self._counts, strict=True):
            seen = max(int(counts[:, 0].sum()), 1)  # each trajectory's mean cell loss
            total += w * counts / seen
        exact, later = total
        if self.model.noise == 0:
            exact, later = exact + later, np.zeros_like(later)
        if exact[0].sum() + later[0].sum() > 0:
            self.emulator.fit_counts(
                exact[0],
                exact[1],
                epochs=self.epochs,
                noise=self.model.noise,
                noisy_seen=later[0],
                noisy_alive=later[1],
            )

    def _fit_strided(self) -> None:
        shown = [t for t in self.trajectories if t.frames is not None and len(t.times)]
        if not shown:
            return
        frames = [np.concatenate([t.initial[None], t.frames]) for t in shown]
        self.emulator.fit(
            frames,
            weights=self._weights(len(frames)),
            stride=self.model.stride,
            noise=self.model.noise,
        )

    def _test_components(self) -> None:
        space = self.space
        rule, confidence = self.emulator.extract(space.family)
        start = space.free_values(rule)  # extract() gives a rule of the family
        order = np.argsort(confidence[space.free_bits], kind="stable")
        draws = self._rng.integers(0, 2, (_SCREENED, space.n_free), dtype=np.uint8)
        keys = [_fit_key(space.rule(values), self.trajectories) for values in draws]
        ranked = sorted(range(_SCREENED), key=lambda i: keys[i], reverse=True)
        starts = [start] + [draws[i] for i in ranked[: self.restarts]]
        best_values, best_key = None, None
        stages = [_first_steps(self.trajectories, t) for t in _HORIZONS] + [self.trajectories]
        for values in starts:
            for data in stages:  # short horizons first: their likelihood is smoother
                values, key = climb_components(space, values, order, data)
            if best_key is None or key > best_key:
                best_values, best_key = values, key
        assert best_values is not None  # starts holds the extracted rule at least
        self.climb_log_odds = self._evidence(best_values)
        table = np.asarray(space.rule(best_values).table, dtype=np.float64)
        self.emulator.fit_counts(np.ones(N_PATTERNS), table, epochs=self.epochs)

    def _evidence(self, values: np.ndarray) -> np.ndarray:
        """Log-likelihood ratio (bit = 1 vs 0) of each free bit around ``values``."""
        here = compare(self.space.rule(values), self.trajectories).loglik
        out = np.zeros(self.space.n_free)
        for i in range(self.space.n_free):
            flipped = values.copy()
            flipped[i] ^= 1
            there = compare(self.space.rule(flipped), self.trajectories).loglik
            with np.errstate(invalid="ignore"):
                ratio = here - there if values[i] else there - here
            out[i] = 0.0 if np.isnan(ratio) else ratio
        return out

    def component_log_odds(self, with_component: Rule, without_component: Rule) -> float:
        """Statistics comparison (research loop, step 4); see the module doc."""
        ones = statistics_loglik(with_component, self.trajectories)
        zeros = statistics_loglik(without_component, self.trajectories)
        with np.errstate(invalid="ignore"):
            return float(ones - zeros)

    def absorb_test(self, free_index: int, log_odds: float) -> None:
        self.test_log_odds[free_index] = 0.0 if np.isnan(log_odds) else log_odds

    def belief(self) -> Belief:
        family = self.space.family
        probabilities = self.emulator.probabilities()
        orbit = np.asarray(family.orbit_of, dtype=np.int64)
        sums = np.bincount(orbit, weights=probabilities, minlength=family.n_bits)
        p_bits = sums / np.bincount(orbit, minlength=family.n_bits)
        p_free = np.clip(p_bits[self.space.free_bits], 1e-9, 1 - 1e-9)
        with np.errstate(invalid="ignore"):
            log_odds = np.log(p_free / (1 - p_free)) + self.climb_log_odds + self.test_log_odds
        log_odds[np.isnan(log_odds)] = 0.0
        p_one = probabilities_from_log_odds(log_odds)
        seen = np.zeros(N_PATTERNS, dtype=bool)
        for counts in self._counts:
            seen |= counts[:, 0].sum(axis=0) > 0
        seen_bits = np.zeros(family.n_bits, dtype=bool)
        seen_bits[orbit[seen]] = True
        determined = (
            seen_bits[self.space.free_bits] | (self.climb_log_odds != 0) | (self.test_log_odds != 0)
        )
        map_rule = self.space.rule((p_one > 0.5).astype(np.uint8))
        return Belief(
            p_one=p_one,
            map_rule=map_rule,
            entropy=float(binary_entropy_bits(p_one).sum()),
            n_consistent=None,
            determined=determined,
            map_probability=self.map_probability(p_one, map_rule),
        )
