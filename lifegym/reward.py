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
from dataclasses import dataclass

__all__ = [
    "REWARDS",
    "InfoGainReward",
    "RewardFunction",
    "StepOutcome",
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


class InfoGainReward(RewardFunction):
    """Entropy reduction of the belief in bits, plus the bonus, minus cost."""

    def __call__(self, outcome: StepOutcome) -> float:
        gain = outcome.entropy_before - outcome.entropy_after + self.bonus(outcome)
        return float(gain - self.cost(outcome))


class TerminalReward(RewardFunction):
    """At the end: 1 if exact, else the fraction of free bits correct, plus the bonus; minus
    cost every step."""

    def __call__(self, outcome: StepOutcome) -> float:
        score = 0.0
        if outcome.finished:
            score = 1.0 if outcome.exact else outcome.bits_correct
            score += self.bonus(outcome)
        return float(score - self.cost(outcome))


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
