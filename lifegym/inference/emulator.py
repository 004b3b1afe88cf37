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
        total = np.zeros((2, 2, N_PATTERNS))
        for w, counts in zip(weights, self._counts, strict=True):
            seen = max(int(counts[:, 0].sum()), 1)  # each trajectory's mean cell loss
            total += w * counts / seen
        exact, later = total
        if self.model.noise == 0:
            exact, later = exact + later, np.zeros_like(later)
        if exact[0].sum() + later[0].sum() > 0:
            self.emulator.fit_counts(
                *exact, epochs=self.epochs, noise=self.model.noise,
                noisy_seen=later[0], noisy_alive=later[1],
            )

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
        for counts in self._counts:
            seen |= counts[:, 0].sum(axis=0) > 0
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
