"""Reward functions, injected into the env (``reward=`` a name or an instance).

Every reward sees one :class:`StepOutcome` per step. Costs enter as fractions of the
budgets, so spending a whole budget costs ``experiment_weight`` (or ``compute_weight``)
over an episode, whatever the world size.

* :class:`InfoGainReward` (``"info_gain"``, the default): the belief's entropy reduction in
  bits, minus the cost of the step;
* :class:`TerminalReward` (``"terminal"``): at the end, 1 for the exact rule, else the
  fraction of free bits correct; minus the cost of each step.

Both add ``identified_bonus`` (0 by default) at the end of an episode whose submitted rule
is identified (exact, no undetermined bit, the belief settled on one rule): the score the
leaderboard counts, which the bits alone do not ask for (the last tenth of a bit is worth
almost nothing in entropy).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

__all__ = [
    "REWARDS",
    "InfoGainReward",
    "RewardFunction",
    "StepOutcome",
    "StepOutcomes",
    "TerminalReward",
    "make_reward",
]


@dataclass(frozen=True)
class StepOutcome:
    """What happened in one env step, as rewards see it.

    Attributes:
        entropy_before: belief entropy (bits) before the step.
        entropy_after: belief entropy (bits) after it.
        experiment_cost: observed cell-steps spent in the step.
        compute_cost: simulated cell-steps spent in the step.
        experiment_budget: the episode's experiment budget.
        compute_budget: the episode's compute budget.
        rejected: the action was unaffordable and did nothing.
        finished: the episode ended in this step (a rule was submitted).
        exact: at the end, whether the submitted rule is the hidden one.
        bits_correct: at the end, the fraction of free bits correct.
        identified: at the end, whether the submitted rule is identified (exact, no
            undetermined bit, the belief settled on one rule).
    """

    entropy_before: float
    entropy_after: float
    experiment_cost: int
    compute_cost: int
    experiment_budget: int
    compute_budget: int
    rejected: bool = False
    finished: bool = False
    exact: bool = False
    bits_correct: float = 0.0
    identified: bool = False


@dataclass(frozen=True)
class StepOutcomes:
    """The :class:`StepOutcome` of each of a batch of steps (the native vector env's), field
    by field: arrays of one entry a step (float64, int64 or bool), the budgets shared."""

    entropy_before: np.ndarray
    entropy_after: np.ndarray
    experiment_cost: np.ndarray
    compute_cost: np.ndarray
    experiment_budget: int
    compute_budget: int
    rejected: np.ndarray
    finished: np.ndarray
    exact: np.ndarray
    bits_correct: np.ndarray
    identified: np.ndarray

    def __len__(self) -> int:
        return len(self.entropy_before)

    def __iter__(self) -> Iterator[StepOutcome]:
        """Each step's :class:`StepOutcome` (plain Python values)."""
        costs = zip(
            self.entropy_before.tolist(),
            self.entropy_after.tolist(),
            self.experiment_cost.tolist(),
            self.compute_cost.tolist(),
            strict=True,
        )
        ends = zip(
            self.rejected.tolist(),
            self.finished.tolist(),
            self.exact.tolist(),
            self.bits_correct.tolist(),
            self.identified.tolist(),
            strict=True,
        )
        budgets = (self.experiment_budget, self.compute_budget)
        for spending, end in zip(costs, ends, strict=True):
            yield StepOutcome(*spending, *budgets, *end)


class RewardFunction(ABC):
    """A reward: one float per step.

    Args:
        experiment_weight: reward lost by spending the whole experiment budget.
        compute_weight: reward lost by spending the whole compute budget.
        rejected_penalty: reward lost by choosing an action the budget cannot pay for.
        identified_bonus: reward gained at the end when the submitted rule is identified.
    """

    def __init__(
        self,
        experiment_weight: float = 1.0,
        compute_weight: float = 1.0,
        rejected_penalty: float = 0.1,
        identified_bonus: float = 0.0,
    ) -> None:
        for name, value in (
            ("experiment_weight", experiment_weight),
            ("compute_weight", compute_weight),
            ("rejected_penalty", rejected_penalty),
            ("identified_bonus", identified_bonus),
        ):
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.experiment_weight = float(experiment_weight)
        self.compute_weight = float(compute_weight)
        self.rejected_penalty = float(rejected_penalty)
        self.identified_bonus = float(identified_bonus)

    def cost(self, outcome: StepOutcome) -> float:
        """The step's cost in reward units."""
        penalty = self.rejected_penalty if outcome.rejected else 0.0
        if outcome.experiment_budget:
            penalty += self.experiment_weight * outcome.experiment_cost / outcome.experiment_budget
        if outcome.compute_budget:
            penalty += self.compute_weight * outcome.compute_cost / outcome.compute_budget
        return penalty

    def bonus(self, outcome: StepOutcome) -> float:
        """The step's bonus: ``identified_bonus`` at the end of an identified episode."""
        return self.identified_bonus if outcome.finished and outcome.identified else 0.0

    @abstractmethod
    def __call__(self, outcome: StepOutcome) -> float:
        """The reward of one step."""

    def batch(self, outcomes: StepOutcomes) -> np.ndarray:
        """float64 (B,): the reward of each step of a batch, as ``__call__`` gives it. This
        default calls ``__call__`` step by step; the built-in rewards compute the batch in
        array operations, the same floats (unless a subclass overrides ``__call__`` only)."""
        return np.array([float(self(outcome)) for outcome in outcomes], dtype=np.float64)

    def _costs(self, outcomes: StepOutcomes) -> np.ndarray:
        """:meth:`cost` of each step, the same operations in the same order."""
        penalty = np.where(outcomes.rejected, self.rejected_penalty, 0.0)
        if outcomes.experiment_budget:
            spent = self.experiment_weight * outcomes.experiment_cost
            penalty = penalty + spent / outcomes.experiment_budget
        if outcomes.compute_budget:
            computed = self.compute_weight * outcomes.compute_cost
            penalty = penalty + computed / outcomes.compute_budget
        return penalty

    def _bonuses(self, outcomes: StepOutcomes) -> np.ndarray:
        """:meth:`bonus` of each step."""
        return np.where(outcomes.finished & outcomes.identified, self.identified_bonus, 0.0)

    def _vectorised(self, owner: type) -> bool:
        """Whether ``owner``'s batch formula is this reward's: ``__call__`` not overridden
        below ``owner``."""
        return type(self).__call__ is owner.__call__


class InfoGainReward(RewardFunction):
    """Entropy reduction of the belief in bits, plus the bonus, minus cost."""

    def __call__(self, outcome: StepOutcome) -> float:
        gain = outcome.entropy_before - outcome.entropy_after + self.bonus(outcome)
        return float(gain - self.cost(outcome))

    def batch(self, outcomes: StepOutcomes) -> np.ndarray:
        if not self._vectorised(InfoGainReward):
            return super().batch(outcomes)
        gain = outcomes.entropy_before - outcomes.entropy_after + self._bonuses(outcomes)
        return gain - self._costs(outcomes)


class TerminalReward(RewardFunction):
    """At the end: 1 if exact, else the fraction of free bits correct, plus the bonus; minus
    cost every step."""

    def __call__(self, outcome: StepOutcome) -> float:
        score = 0.0
        if outcome.finished:
            score = 1.0 if outcome.exact else outcome.bits_correct
            score += self.bonus(outcome)
        return float(score - self.cost(outcome))

    def batch(self, outcomes: StepOutcomes) -> np.ndarray:
        if not self._vectorised(TerminalReward):
            return super().batch(outcomes)
        score = np.where(outcomes.exact, 1.0, outcomes.bits_correct) + self._bonuses(outcomes)
        return np.where(outcomes.finished, score, 0.0) - self._costs(outcomes)


REWARDS: dict[str, type[RewardFunction]] = {
    "info_gain": InfoGainReward,
    "terminal": TerminalReward,
}


def make_reward(reward: str | RewardFunction) -> RewardFunction:
    """The reward named ``reward`` (a key of ``REWARDS``) with default weights, or ``reward``."""
    if isinstance(reward, RewardFunction):
        return reward
    if isinstance(reward, str) and reward in REWARDS:
        return REWARDS[reward]()
    raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(REWARDS)}")
