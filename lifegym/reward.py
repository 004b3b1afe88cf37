"""Reward functions, injected into the env (``reward=`` a name or an instance).

Every reward sees one :class:`StepOutcome` per step. Costs enter as fractions of the
budgets, so spending a whole budget costs ``experiment_weight`` (or ``compute_weight``)
over an episode, whatever the world size.

* :class:`InfoGainReward` (``"info_gain"``, the default): the belief's entropy reduction in
  bits, minus the cost of the step;
* :class:`TerminalReward` (``"terminal"``): at the end, 1 for the exact rule, else the
  fraction of free bits correct; minus the cost of each step.
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


class RewardFunction(ABC):
    """A reward: one float per step.

    Args:
        experiment_weight: reward lost by spending the whole experiment budget.
        compute_weight: reward lost by spending the whole compute budget.
        rejected_penalty: reward lost by choosing an action the budget cannot pay for.
    """

    def __init__(
        self,
        experiment_weight: float = 1.0,
        compute_weight: float = 1.0,
        rejected_penalty: float = 0.1,
    ) -> None:
        for name, value in (
            ("experiment_weight", experiment_weight),
            ("compute_weight", compute_weight),
            ("rejected_penalty", rejected_penalty),
        ):
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        self.experiment_weight = float(experiment_weight)
        self.compute_weight = float(compute_weight)
        self.rejected_penalty = float(rejected_penalty)

    def cost(self, outcome: StepOutcome) -> float:
        """The step's cost in reward units."""
        penalty = self.rejected_penalty if outcome.rejected else 0.0
        if outcome.experiment_budget:
            penalty += self.experiment_weight * outcome.experiment_cost / outcome.experiment_budget
        if outcome.compute_budget:
            penalty += self.compute_weight * outcome.compute_cost / outcome.compute_budget
        return penalty

    @abstractmethod
    def __call__(self, outcome: StepOutcome) -> float:
        """The reward of one step."""


class InfoGainReward(RewardFunction):
    """Entropy reduction of the belief in bits, minus cost."""

    def __call__(self, outcome: StepOutcome) -> float:
        return float(outcome.entropy_before - outcome.entropy_after - self.cost(outcome))


class TerminalReward(RewardFunction):
    """At the end: 1 if exact, else the fraction of free bits correct; minus cost every step."""

    def __call__(self, outcome: StepOutcome) -> float:
        score = 0.0
        if outcome.finished:
            score = 1.0 if outcome.exact else outcome.bits_correct
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
