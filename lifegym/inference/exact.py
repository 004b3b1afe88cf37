"""The ``exact`` engine: per-bit evidence counted from transitions whose input is known exactly.

A transition is one cell's 3x3 neighbourhood at step t and its state at step t + 1. Its
pattern names one bit of the family, and its observed output is that bit's value seen
through the cell noise ``p``. The engine uses only transitions whose *input* is known
exactly:

* from the initial condition (set by the experimenter, so exact) to the first frame, for
  every observed cell (stride 1 only);
* with ``p = 0``, also between consecutive observed frames, for the cells whose whole 3x3
  neighbourhood is observed (the window's interior, or everything when the window is the
  world).

Given the bit, such outputs are independent flips with probability ``p``, so with ``n1``
observed ones and ``n0`` zeros the log-odds of the bit are exactly
``(n1 - n0) log((1 - p) / p)`` (with ``p = 0``: certain, and contradicting observations
leave the bit at 0.5 and mark the data inconsistent with the family). Bits are independent
under the uniform prior, so the per-bit posterior is exact.

Later noisy frames are not used (their input patterns are themselves noisy); a hypothesis
test adds the evidence of steps >= 2 (``test_from_time``) on the bit it tests.
Strided and statistics observations have no exactly known inputs: use ``exhaustive``
(totalistic) or ``search`` there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lifegym.inference.base import (
    InferenceEngine,
    binary_entropy_bits,
    independent_class_probability,
    probabilities_from_log_odds,
)
from lifegym.observe import ObservationModel
from lifegym.patterns import count_seen_transitions
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = [
    "ExactEngine",
    "Marginals",
    "class_probability",
    "consistent_counts",
    "count_transitions",
    "marginals",
    "posterior",
]


def count_transitions(
    trajectory: VisibleTrajectory, orbit_of: np.ndarray, n_bits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Observed outputs per family bit from the exactly known inputs of ``trajectory``:
    ``(ones, zeros)``, int64 (n_bits,) each (module doc: later frames only when p = 0)."""
    exact_later = trajectory.model.noise == 0.0
    return count_seen_transitions(trajectory, orbit_of, n_bits, later_frames=exact_later)


class ExactEngine(InferenceEngine):
    """Exact per-bit posterior from transitions with exactly known inputs (module doc).

    ``n_consistent`` is counted when ``p = 0`` (2 to the number of free bits without
    evidence, 0 when the data contradict each other) and None otherwise.
    """

    name = "exact"
    observes = frozenset({"frames", "noise", "window"})
    test_from_time = 2

    def __init__(self, space: RuleSpace, model: ObservationModel) -> None:
        super().__init__(space, model)
        n_bits = space.family.n_bits
        self.ones = np.zeros(n_bits, dtype=np.int64)
        self.zeros = np.zeros(n_bits, dtype=np.int64)
        self.test_log_odds = np.zeros(space.n_free)
        # The last MAP rule and its free bits' bytes, kept while the MAP bits stay (most steps).
        self._map_key = b""
        self._map_rule: Rule | None = None

    @classmethod
    def unsupported(cls, space: RuleSpace, model: ObservationModel) -> str | None:
        if model.stats_sigma is not None:
            return "it needs observed frames, and stats(sigma) shows only statistics"
        if model.stride != 1:
            return f"it needs consecutive frames, and strided({model.stride}) hides them"
        return None

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        family = self.space.family
        ones, zeros = count_transitions(trajectory, family.orbit_of, family.n_bits)
        self.ones += ones
        self.zeros += zeros

    def absorb_test(self, free_index: int, log_odds: float) -> None:
        self.test_log_odds[free_index] = 0.0 if np.isnan(log_odds) else log_odds

    def belief(self) -> Belief:
        free = self.space.free_bits
        found = marginals(self.ones[free], self.zeros[free], self.test_log_odds, self.model.noise)
        key = found.map_values.tobytes()
        if self._map_rule is None or key != self._map_key:
            self._map_key, self._map_rule = key, self.space.rule(found.map_values)
        map_rule = self._map_rule
        return Belief(
            p_one=found.p_one,
            map_rule=map_rule,
            entropy=float(found.entropy),
            n_consistent=None if found.n_consistent is None else found.n_consistent[0],
            determined=found.evidence,
            map_probability=self.map_probability(found.p_one, map_rule),
        )

    def marginal_class_probability(self, p_one: np.ndarray, members: Sequence[Rule]) -> float:
        """The posterior factorises over the bits (module doc): a class's probability is
        the sum over its rules of their bits' products (exact, not a bound)."""
        return class_probability(self.space, p_one, members)


def class_probability(space: RuleSpace, p_one: np.ndarray, members: Sequence[Rule]) -> float:
    """The exact engine's posterior probability of the rules ``members`` of ``space``
    given its marginals ``p_one`` (independent bits: :func:`independent_class_probability`)."""
    return independent_class_probability(p_one, [space.free_values(m) for m in members])


@dataclass(frozen=True)
class Marginals:
    """The exact engine's belief as arrays, of one episode (shapes as written) or of a
    batch (one more leading axis): what ``ExactEngine.belief`` and the native vector env
    read.

    Attributes:
        p_one: float64 (F,): P(bit = 1) per free bit.
        evidence: bool (F,): whether any data bear on each bit.
        map_values: uint8 (F,): the most probable value of each bit (the MAP rule).
        entropy: float64 (): the belief's entropy in bits.
        n_consistent: the rules still consistent with noiseless data, one an episode
            (:func:`consistent_counts`); None when there is noise.
    """

    p_one: np.ndarray
    evidence: np.ndarray
    map_values: np.ndarray
    entropy: np.ndarray
    n_consistent: list[int] | None


def marginals(
    ones: np.ndarray, zeros: np.ndarray, test_log_odds: np.ndarray, noise: float
) -> Marginals:
    """The :class:`Marginals` of :func:`posterior`'s arguments (one episode or a batch)."""
    p_one, evidence, conflict = posterior(ones, zeros, test_log_odds, noise)
    return Marginals(
        p_one=p_one,
        evidence=evidence,
        map_values=(p_one > 0.5).astype(np.uint8),
        entropy=binary_entropy_bits(p_one).sum(axis=-1),
        n_consistent=consistent_counts(evidence, conflict) if noise == 0.0 else None,
    )


def consistent_counts(evidence: np.ndarray, conflict: np.ndarray | np.bool_) -> list[int]:
    """Rules consistent with noiseless data, per episode of :func:`posterior`'s output
    (``evidence`` bool (..., F), ``conflict`` bool (...,)): none when the data contradict
    each other, else 2^(bits no data bear on) (Python ints: 2^512 does not fit int64)."""
    open_bits = np.atleast_1d((~evidence).sum(axis=-1)).tolist()
    clashes = np.atleast_1d(conflict).tolist()
    return [0 if clash else 2**bits for clash, bits in zip(clashes, open_bits, strict=True)]


def posterior(
    ones: np.ndarray, zeros: np.ndarray, test_log_odds: np.ndarray, noise: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray | np.bool_]:
    """The exact engine's per-bit posterior from the counts of observed outputs ``ones`` /
    ``zeros`` (int (..., F), the free bits) and the tests' log-odds (float (..., F)), any
    leading axes (one episode, or a batch): ``(p_one, evidence, conflict)`` -- P(bit = 1),
    whether any data bear on each bit, and (noise 0 only) whether the data contradict
    each other (bool (...,))."""
    if noise > 0.0:  # finite counts: no inf - inf
        count = (ones.astype(np.float64) - zeros.astype(np.float64)) * np.log((1.0 - noise) / noise)
        log_odds = count + test_log_odds
        conflict: np.ndarray | np.bool_ = np.zeros(ones.shape[:-1], dtype=bool)
    else:
        clash = (ones > 0) & (zeros > 0)
        count = np.where(ones > 0, np.inf, np.where(zeros > 0, -np.inf, 0.0))
        with np.errstate(invalid="ignore"):
            log_odds = np.where(clash, 0.0, count) + test_log_odds
        log_odds[np.isnan(log_odds)] = 0.0
        conflict = clash.any(axis=-1)
    evidence = (ones + zeros > 0) | (test_log_odds != 0)
    return probabilities_from_log_odds(log_odds), evidence, conflict
