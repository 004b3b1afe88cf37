"""The ``oracle`` reference agent: it reads the hidden rule, and spends as little as it can.

The only agent told the hidden rule: it is marked ``reference = True``, so
:func:`~lifegym.agents.base.run_episode` hands it the hidden rule after each reset
(:meth:`~lifegym.agents.base.Agent.reveal`) and tables show it as the yardstick, never
ranked. Like every agent it holds only the env's public view, never the env. Its mean
experiment cost is what every other agent's ``cost_vs_oracle`` divides by.

Each step it knows, for every free bit, the log-odds the env's belief holds *towards the
true value* (``p_one`` and the hidden rule), so it knows how many more sightings each bit
needs before the belief has the hidden rule as its most probable rule with entropy at most
``target_entropy`` (``lifegym.agents.evidence.sightings_needed``). It then requests the
experiment that supplies the most of that demand per observed cell-step:

* with ``design=True``: the smallest designed world whose first step shows the demand
  (``cheapest_design``), run for the fewest observed steps (``k`` under ``strided(k)``);
* every menu item (probes included), its sightings counted by running the hidden rule on
  the item's initial condition (a design's own cells; for soups one drawn from the agent's
  rng, so an estimate: the env draws its own).

Under statistics only (stride 1) a sighting means little; the oracle plans instead with the
linear-Gaussian ``StatsLedger`` of ``lifegym.agents.evidence`` (what the first observed
step's density and activity isolate per bit), as ``infogain`` does, but with the truth: a
bit the env's MAP has wrong counts a full bit of entropy. It takes the experiment (menu
item, or with ``design=True`` a probe of the bit most in need on a few world sizes,
``stats_designs``) expected
to remove the most of that entropy per observed cell-step.

It submits once the env's MAP rule is the hidden rule and the entropy is at most the
target, or when nothing affordable supplies any demand.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from lifegym.agents.base import Agent
from lifegym.agents.evidence import (
    StatsLedger,
    cheapest_design,
    evidence_counts,
    first_step_only,
    log_odds,
    sighting_log_odds,
    sightings_needed,
    stats_designs,
    stats_shifts,
    stats_variances,
    target_log_odds,
)
from lifegym.experiments import initial_condition
from lifegym.inference.base import binary_entropy_bits
from lifegym.rules import Rule
from lifegym.sim import simulate

__all__ = ["OracleAgent"]


class OracleAgent(Agent):
    """See the module doc.

    Args:
        env: the env to act in.
        target_entropy: submit once the belief entropy (bits) is at most this and the MAP
            rule is the hidden rule.
    """

    name = "oracle"
    #: A reference, not a competitor: reads the hidden rule; never ranked.
    reference = True

    def __init__(self, env: gym.Env, target_entropy: float = 0.1) -> None:
        super().__init__(env)
        if not target_entropy > 0:
            raise ValueError(f"target_entropy must be > 0, got {target_entropy!r}")
        self.target_entropy = float(target_entropy)
        model = self.view.model
        self._per_sighting = sighting_log_odds(model)
        self._target = target_log_odds(self.view.space.n_free, self.target_entropy)
        # The exact engine under noise scores only the step from the known initial condition.
        self._first_step_only = first_step_only(self.view.inference, model)
        self._stats_first = model.stats_sigma is not None and model.stride == 1
        self._item_counts: np.ndarray | None = None
        self._item_stats: tuple[np.ndarray, np.ndarray] | None = None
        self._ledger = StatsLedger(self.view.space, model)
        self._hidden_rule: Rule | None = None

    def reveal(self, hidden_rule: Rule) -> None:
        self._hidden_rule = hidden_rule

    @property
    def _hidden(self) -> Rule:
        if self._hidden_rule is None:
            raise RuntimeError(
                "the oracle has not been told the hidden rule: play it with run_episode "
                "(which calls reveal() after the reset)"
            )
        return self._hidden_rule

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._hidden_rule = None
        self._item_counts = None
        self._item_stats = None
        self._ledger = StatsLedger(self.view.space, self.view.model)

    # -- what the hidden rule shows --------------------------------------------------------

    def _sightings(self, initial: np.ndarray, steps: int) -> np.ndarray:
        view = self.view
        last = 1 if self._first_step_only else steps
        frames = simulate(self._hidden, initial, last)
        return evidence_counts(frames, view.space, view.model, 0, last)

    def _menu_counts(self) -> np.ndarray:
        """float (M, n_free): sightings per menu item under the hidden rule."""
        if self._item_counts is None:
            view = self.view
            self._item_counts = np.stack(
                [
                    self._sightings(
                        initial_condition(item, item.shape_in(view.world), self.rng), item.steps
                    )
                    for item in view.menu
                ]
            )
        return self._item_counts

    def _stats_parts(self, initial: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``stats_shifts`` and ``stats_variances`` (under the hidden rule) of ``initial``."""
        view = self.view
        following = simulate(self._hidden, initial, 1)[1]
        return stats_shifts(initial, view.space, view.model), stats_variances(
            initial, following, view.model
        )

    def _menu_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """``_stats_parts`` of every menu item: float (M, n_free, 2) and (M, 2)."""
        if self._item_stats is None:
            view = self.view
            parts = [
                self._stats_parts(initial_condition(item, item.shape_in(view.world), self.rng))
                for item in view.menu
            ]
            self._item_stats = (
                np.stack([shifts for shifts, _ in parts]),
                np.stack([variances for _, variances in parts]),
            )
        return self._item_stats

    def _stats_act(self, p_one: np.ndarray, action_mask: np.ndarray) -> int | dict[str, Any]:
        """The experiment that removes the most planned entropy per cell-step (module doc)."""
        view = self.view
        self._ledger.update(view.trajectories)
        truth = view.space.free_values(self._hidden).astype(bool)
        wrong = (p_one > 0.5) != truth
        entropy = np.maximum(
            np.where(wrong, 1.0, binary_entropy_bits(p_one)), self._ledger.entropy()
        )
        best, best_value = view.submit_action, 0.0
        items = np.flatnonzero(action_mask[: len(view.menu)])
        if len(items):
            shifts, variances = self._menu_stats()
            gains = self._ledger.shares(shifts[items], variances[items], entropy) @ entropy
            values = gains / view.item_costs[items]
            if values.max() > 0:
                best, best_value = int(items[np.argmax(values)]), float(values.max())
        bit = int(np.argmax(entropy))
        if view.design and entropy[bit] > 0:
            for cells in stats_designs(
                view.space, view.model, bit, entropy, view.smallest_world, view.world, self.rng
            ):
                shifts, variances = self._stats_parts(cells)
                shares = self._ledger.shares(shifts[None], variances[None], entropy)[0]
                cost = view.model.cost(*cells.shape, 1)
                value = float(shares @ entropy) / cost
                if cost <= view.experiment_left and value > best_value:
                    best, best_value = view.design_action(cells, 1), value
        return best

    def _demand(self, p_one: np.ndarray) -> np.ndarray:
        view = self.view
        truth = view.space.free_values(self._hidden).astype(bool)
        odds = log_odds(p_one)
        toward = np.where(truth, odds, -odds)
        return sightings_needed(
            toward, self._per_sighting, self._target, view.model.flip_probability
        )

    # -- acting ----------------------------------------------------------------------------

    def act(
        self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray
    ) -> int | dict[str, Any]:
        view = self.view
        hidden = self._hidden
        settled = info.get("map_rule") == str(hidden) and info["entropy"] <= self.target_entropy
        if settled and view.trajectories:
            return view.submit_action
        if self._stats_first:
            return self._stats_act(obs["p_one"].astype(np.float64), action_mask)
        demand = self._demand(np.clip(obs["p_one"].astype(np.float64), 1e-300, 1 - 1e-16))
        if demand.sum() <= 0:  # every bit is there but the joint entropy is not: one more each
            demand = np.ones_like(demand)
        best, best_value = view.submit_action, 0.0
        counts = self._menu_counts()
        for item in np.flatnonzero(action_mask[: len(view.menu)]):
            value = np.minimum(counts[item], demand).sum() / view.item_costs[item]
            if value > best_value:
                best, best_value = int(item), float(value)
        if view.design:
            steps = view.model.stride
            cells, _ = cheapest_design(
                view.space, view.model, demand, view.smallest_world, view.world, self.rng
            )
            cost = view.model.cost(*cells.shape, steps)
            supplied = np.minimum(self._sightings(cells, steps), demand).sum()
            if cost <= view.experiment_left and supplied / cost > best_value:
                return view.design_action(cells, steps)
        return best
