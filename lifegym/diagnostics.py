"""Per-step diagnostics of episodes an outside agent plays (a language model through
``lifegym.protocol``): what a greedy information-gain agent expected of the best menu item.

Before each experiment, :class:`GreedyGain` asks the ``infogain`` agent
(``lifegym.agents.infogain``, the same planning it acts on) how many bits of the env's
belief each affordable menu item is expected to remove, and reports the item with the most
per observed cell-step. Beside the belief entropy before and after the experiment the agent
actually ran (``Episode.diagnostics``), it shows where a model's queries lost information.
Recorded in transcripts only, never shown to the agent.

Cost: on the ``exact`` presets with noise the expected gains do not depend on the rule and
are computed once per episode (milliseconds after the first call); on the others
``infogain`` simulates its sampled rules on every menu item (tens of milliseconds per step,
more on the 568-item ``Free-Noisy-v1`` menu).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lifegym.agents.base import agent_seed_for
from lifegym.agents.infogain import InfoGainAgent
from lifegym.env import RuleDiscoveryEnv

__all__ = ["GreedyGain"]


class GreedyGain:
    """The greedy expectation of ``env``'s menu at the current belief.

    Args:
        env: the (unwrapped) env of the episode.
        seed: the episode's seed; the agent's own draws come from the stream
            ``lifegym.agents.agent_seed_for`` gives it (fresh entropy for None).
    """

    def __init__(self, env: RuleDiscoveryEnv, seed: int | None = None) -> None:
        self.env = env
        self.agent = InfoGainAgent(env.agent_view)
        self.agent.reset(agent_seed_for(seed))

    def best_item(self) -> dict[str, Any] | None:
        """The affordable menu item expected to remove the most bits per observed cell-step:
        ``item``, ``expected_gain`` (bits), ``cost``, ``expected_gain_per_cost``; None when
        the budget pays for none."""
        env = self.env
        belief = env.belief
        obs = {"p_one": np.asarray(belief.p_one, dtype=np.float64)}
        info = {"entropy": float(belief.entropy), "map_rule": str(belief.map_rule)}
        affordable = env.item_costs <= env.lab.experiment_left
        if not affordable.any():
            return None
        gains = self.agent.expected_item_gains(obs, info)
        per_cost = np.where(affordable, gains / env.item_costs, -np.inf)
        best = int(np.argmax(per_cost))
        return {
            "item": env.menu[best].name,
            "expected_gain": float(gains[best]),
            "cost": int(env.item_costs[best]),
            "expected_gain_per_cost": float(per_cost[best]),
        }
