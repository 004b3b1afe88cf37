"""The ``random`` agent: uniform over the actions the env allows."""

from __future__ import annotations

from typing import Any

import numpy as np

from lifegym.agents.base import Agent

__all__ = ["RandomAgent"]


class RandomAgent(Agent):
    """Picks uniformly among the valid actions (experiments, tests and submit alike)."""

    name = "random"

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray) -> int:
        return int(self.rng.choice(np.flatnonzero(action_mask)))
