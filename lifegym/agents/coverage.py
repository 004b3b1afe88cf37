"""The ``coverage`` agent: the experiment that exercises the most uncertain components per
unit cost.

For each menu item the agent imagines the experiment: it draws an initial condition of the
item's kind (its own, seeded; the env's will differ), runs the current MAP rule on it for
the item's steps and notes which free bits' patterns occur in the observed region (at least
``min_count`` times over the inputs of the run). The value of the item is the summed
uncertainty ``1 - confidence`` of those bits divided by its cost; the agent requests the
best item, and submits when every free bit is at least ``confident``, when no affordable
item exercises an uncertain bit, or when ``patience`` experiments in a row each lowered the
summed uncertainty by less than ``min_gain`` (some bits are not resolved by what the menu
shows, e.g. under noise a pattern seen too rarely: more of the same would spend the budget
for nothing).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lifegym.agents.base import Agent
from lifegym.experiments import initial_condition
from lifegym.patterns import pattern_histogram
from lifegym.public import EnvView
from lifegym.rules import Rule
from lifegym.sim import simulate

__all__ = ["CoverageAgent"]


class CoverageAgent(Agent):
    """See the module doc.

    Args:
        env: the env to act in.
        confident: submit once every free bit's confidence ``|2P - 1|`` reaches this.
        min_count: occurrences of a bit's patterns that count as exercising it.
        min_gain: an experiment that lowers the summed uncertainty by less made no progress.
        patience: submit after this many experiments in a row without progress.
    """

    name = "coverage"

    def __init__(
        self,
        env: gym.Env | EnvView,
        confident: float = 0.99,
        min_count: int = 3,
        min_gain: float = 0.01,
        patience: int = 2,
    ) -> None:
        super().__init__(env)
        if not 0 < confident <= 1:
            raise ValueError(f"confident must be in (0, 1], got {confident!r}")
        for name, value in (("min_count", min_count), ("patience", patience)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if not min_gain >= 0:
            raise ValueError(f"min_gain must be >= 0, got {min_gain!r}")
        self.confident = float(confident)
        self.min_count = min_count
        self.min_gain = float(min_gain)
        self.patience = patience
        self._uncertainty_before: float | None = None
        self._stalls = 0
        self._initials: list[np.ndarray] = []
        self._exercised: dict[tuple[int, Rule], np.ndarray] = {}

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        view = self.view
        self._initials = [
            initial_condition(item, item.shape_in(view.world), self.rng) for item in view.menu
        ]
        self._exercised = {}
        self._uncertainty_before = None
        self._stalls = 0

    def exercised(self, item: int, rule: Rule) -> np.ndarray:
        """bool (n_free,): the free bits a run of ``rule`` on menu item ``item`` exercises."""
        key = (item, rule)
        if key not in self._exercised:
            view = self.view
            frames = simulate(rule, self._initials[item], view.menu[item].steps)[:-1]
            h, w = view.model.region(*frames.shape[1:])
            counts = view.space.free_bit_counts(pattern_histogram(frames[:, :h, :w]))
            self._exercised[key] = counts >= self.min_count
        return self._exercised[key]

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray) -> int:
        view = self.view
        submit = view.submit_action
        uncertainty = 1.0 - obs["confidence"].astype(np.float64)
        if self._uncertainty_before is not None:  # the last action was an experiment
            progress = self._uncertainty_before - uncertainty.sum()
            self._stalls = 0 if progress >= self.min_gain else self._stalls + 1
            self._uncertainty_before = None
        done = uncertainty.max() <= 1.0 - self.confident or self._stalls >= self.patience
        if done and view.trajectories:
            return submit
        rule = view.space.rule((obs["p_one"] > 0.5).astype(np.uint8))
        best, best_value = submit, 0.0
        for item in np.flatnonzero(action_mask[: len(view.menu)]):
            value = uncertainty[self.exercised(int(item), rule)].sum() / view.item_costs[item]
            if value > best_value:
                best, best_value = int(item), value
        if best != submit:
            self._uncertainty_before = float(uncertainty.sum())
        return best
