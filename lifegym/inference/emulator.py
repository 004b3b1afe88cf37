"""The ``emulator`` engine: the belief is what a symmetric torch emulator has learned.

Each visible trajectory adds its transitions to per-pattern counts: a cell whose 3x3 input
was seen (the exact initial condition, then every observed frame; in a window, only cells
whose whole neighbourhood is inside it) and its observed next state. Noisy frames are used
as they are, as in the research loop: the emulator is trusted to average the noise away.
Counts of older trajectories are weighted ``decay ** age`` (newest most). After each new
trajectory the :class:`~lifegym.emulator.Emulator` is refit from the counts, warm-started
from its current weights, with the symmetry of the family (totalistic -> totalistic,
isotropic -> p4m, ring -> ring, rotation -> p4, free -> none).

Belief: P(bit = 1) is the emulator's probability averaged over the bit's orbit (through
the log-odds of any hypothesis test of that bit); bits whose patterns were never seen stay
at the emulator's guess but are marked undetermined. This engine needs consecutive frames:
strided and statistics observations are not supported yet (issue 4 continues).
"""

from __future__ import annotations

import numpy as np

from lifegym.emulator import Emulator
from lifegym.inference.base import (
    InferenceEngine,
    binary_entropy_bits,
    probabilities_from_log_odds,
)
from lifegym.observe import ObservationModel
from lifegym.patterns import count_seen_transitions
from lifegym.rules import N_PATTERNS
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = ["SYMMETRY_OF_FAMILY", "EmulatorEngine", "pattern_counts"]

SYMMETRY_OF_FAMILY = {
    "totalistic": "totalistic",
    "isotropic": "p4m",
    "ring": "ring",
    "rotation": "p4",
    "free": "none",
}
_IDENTITY = np.arange(N_PATTERNS)


def pattern_counts(trajectory: VisibleTrajectory) -> tuple[np.ndarray, np.ndarray]:
    """``(seen, alive)`` int64 (512,): transitions per input pattern and how many were alive
    next, over the cells whose 3x3 input the trajectory shows (noisy frames included)."""
    ones, zeros = count_seen_transitions(trajectory, _IDENTITY, N_PATTERNS, later_frames=True)
    return ones + zeros, ones


class EmulatorEngine(InferenceEngine):
    """Belief from an emulator refit on the visible trajectories (see the module doc).

    Args:
        space, model: as for every engine.
        seed: the emulator's seed.
        decay: weight of a trajectory is ``decay ** age`` (age 0 = newest).
        epochs: the most Adam steps per refit.
    """

    name = "emulator"

    def __init__(
        self,
        space: RuleSpace,
        model: ObservationModel,
        seed: int = 0,
        decay: float = 0.5,
        epochs: int = 2000,
    ) -> None:
        super().__init__(space, model)
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay!r}")
        self.emulator = Emulator(SYMMETRY_OF_FAMILY[space.family.name], seed=seed)
        self.decay = float(decay)
        self.epochs = int(epochs)
        self._counts: list[tuple[np.ndarray, np.ndarray]] = []
        self.test_log_odds = np.zeros(space.n_free)

    @classmethod
    def unsupported(cls, space: RuleSpace, model: ObservationModel) -> str | None:
        if model.stats_sigma is not None:
            return "it trains on frames, and stats(sigma) shows only statistics (not yet)"
        if model.stride != 1:
            return f"it trains on consecutive frames; strided({model.stride}) is not supported yet"
        return None

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        self._counts.append(pattern_counts(trajectory))
        weights = self.decay ** np.arange(len(self._counts))[::-1]
        seen = np.zeros(N_PATTERNS)
        alive = np.zeros(N_PATTERNS)
        for w, (n, k) in zip(weights, self._counts, strict=True):
            total = max(int(n.sum()), 1)  # each trajectory's mean cell loss, as in fit()
            seen += w * n / total
            alive += w * k / total
        if seen.sum() > 0:
            self.emulator.fit_counts(seen, alive, epochs=self.epochs)

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
            log_odds = np.log(p_free / (1 - p_free)) + self.test_log_odds
        log_odds[np.isnan(log_odds)] = 0.0
        p_one = probabilities_from_log_odds(log_odds)
        seen = np.zeros(N_PATTERNS, dtype=bool)
        for n, _ in self._counts:
            seen |= n > 0
        seen_bits = np.zeros(family.n_bits, dtype=bool)
        seen_bits[orbit[seen]] = True
        determined = seen_bits[self.space.free_bits] | (self.test_log_odds != 0)
        return Belief(
            p_one=p_one,
            map_rule=self.space.rule((p_one > 0.5).astype(np.uint8)),
            entropy=float(binary_entropy_bits(p_one).sum()),
            n_consistent=None,
            determined=determined,
        )
