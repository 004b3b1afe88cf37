"""The ``emulator-loop`` agent: the research loop (``docs/background.md``) as a query policy.

Each cycle:

1. **one more visible trajectory**: a soup at the next density of a schedule that sweeps
   outwards from 0.5 (0.5, 0.2, 0.8, 0.35, 0.65, 0.1, 0.9, then again). The run is the
   cheapest of that density when every step's frame is seen (stride 1 frames: each step
   is a transition the engine reads directly), the longest otherwise (strided frames or
   statistics: the evidence is in how the dynamics unfold). When the menu offers several
   world sizes (the v1 menus) the loop picks one: it starts on the smallest world with at
   least ``cells_per_bit`` cells per free bit and moves to the next larger size after every
   cycle whose MAP rule differs from the previous cycle's (the data do not settle it yet:
   more per cycle), staying put while the MAP rule holds. The env's engine refits on it;
   with ``inference="emulator"`` that is the emulator, newest trajectories weighted most;
2. **test the least confident components**: up to ``tests_per_cycle`` free bits whose
   confidence ``|2P - 1|`` is below ``confident``, least confident first, each tested once
   per set of visible trajectories (with the ``emulator`` engine a test compares the
   evolution statistics of the rule with and without the component). Skipped when the
   engine does not fold tests into its belief;
3. **test the MAP rule** against every visible trajectory, and submit when it is
   consistent (its discrepancy within three standard errors of what the noise explains)
   and either every bit is confident or the MAP rule has not changed for ``patience``
   cycles (the menu does not resolve what is left). Otherwise the next cycle starts.

It also submits when no soup is affordable. The agent draws nothing at random: an
episode depends only on the env's seed.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np

from lifegym.agents.base import Agent
from lifegym.public import EnvView

__all__ = ["EmulatorLoopAgent", "density_schedule"]

#: Standard deviation of |z| for a standard normal z (the statistics discrepancy is a mean
#: of such values; its expectation sqrt(2 / pi) comes with the MAP test).
_ABS_Z_STD = math.sqrt(1.0 - 2.0 / math.pi)


def density_schedule(densities: np.ndarray) -> list[float]:
    """The soup densities in the order the loop visits them: 0.5 first, then alternately
    below and above it, each step about a third of the way to the extremes."""
    available = np.unique(np.asarray(densities, dtype=np.float64))
    if available.size == 0:
        return []
    targets = [0.5, 0.2, 0.8, 0.35, 0.65, 0.1, 0.9]
    order: list[float] = []
    for target in targets:
        nearest = float(available[np.argmin(np.abs(available - target))])
        if nearest not in order:
            order.append(nearest)
    order += [float(d) for d in available if float(d) not in order]
    return order


class EmulatorLoopAgent(Agent):
    """See the module doc.

    Args:
        env: the env to act in (meant for ``inference="emulator"``; works with any engine).
        tests_per_cycle: bit tests after each experiment, least confident bits first.
        confident: a bit is settled once its confidence ``|2P - 1|`` reaches this.
        patience: cycles with an unchanged MAP rule after which a consistent rule is
            submitted although some bits are not confident.
        cells_per_bit: with several world sizes, the first soup's world has at least this
            many (observed) cells per free bit.
    """

    name = "emulator-loop"

    def __init__(
        self,
        env: gym.Env | EnvView,
        tests_per_cycle: int = 3,
        confident: float = 0.99,
        patience: int = 2,
        cells_per_bit: int = 8,
    ) -> None:
        super().__init__(env)
        checked = (
            ("tests_per_cycle", tests_per_cycle),
            ("patience", patience),
            ("cells_per_bit", cells_per_bit),
        )
        for name, value in checked:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an int >= 0, got {value!r}")
        if patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        if not 0 < confident <= 1:
            raise ValueError(f"confident must be in (0, 1], got {confident!r}")
        self.tests_per_cycle = tests_per_cycle
        self.confident = float(confident)
        self.patience = patience
        self.cells_per_bit = cells_per_bit
        self.tests = self.view.engine_uses_tests
        self._soups = self._soup_per_density()
        if not self._soups:
            raise ValueError("the emulator-loop agent needs whole-world soups in the menu")
        self._reset_state()

    def _soup_per_density(self) -> list[list[int]]:
        """Menu indices of the soups the loop runs at each density, in schedule order: one
        per world size, smallest world first."""
        view = self.view
        soups = [i for i, item in enumerate(view.menu) if item.kind == "soup"]
        every_step_seen = view.model.stride == 1 and view.model.stats_sigma is None
        chosen = []
        for density in density_schedule(np.array([view.menu[i].density for i in soups])):
            by_shape: dict[tuple[int, int], list[int]] = {}
            for i in soups:
                if view.menu[i].density == density:
                    by_shape.setdefault(view.menu[i].shape_in(view.world), []).append(i)
            per_size = []
            for shape in sorted(by_shape, key=lambda s: (s[0] * s[1], s)):
                at = by_shape[shape]
                if every_step_seen:
                    per_size.append(min(at, key=lambda i: (view.item_costs[i], i)))
                else:
                    per_size.append(max(at, key=lambda i: (view.menu[i].steps, -i)))
            chosen.append(per_size)
        return chosen

    def _first_size(self) -> int:
        """Index (in each density's sizes) of the smallest world with ``cells_per_bit``
        observed cells per free bit (the largest world when none has)."""
        view = self.view
        wanted = self.cells_per_bit * view.space.n_free
        sizes = self._soups[0]
        for index, item in enumerate(sizes):
            h, w = view.model.region(*view.menu[item].shape_in(view.world))
            if h * w >= wanted:
                return index
        return len(sizes) - 1

    def _reset_state(self) -> None:
        self._size = self._first_size()
        self._cycle = 0
        self._phase = "experiment"
        self._queue: list[int] = []
        self._tested_with = np.full(self.view.space.n_free, -1, dtype=np.int64)
        self._map_history: list[str] = []

    def reset(self, seed: int | None = None) -> None:
        super().reset(seed)
        self._reset_state()

    # -- the phases of a cycle -----------------------------------------------------------

    def _experiment(self, action_mask: np.ndarray) -> int:
        """The next soup of the schedule that the budget allows (submit if none does)."""
        n = len(self._soups)
        for offset in range(n):
            sizes = self._soups[(self._cycle + offset) % n]
            item = sizes[min(self._size, len(sizes) - 1)]
            if action_mask[item]:
                self._cycle += 1
                self._phase = "tests"
                self._queue = []
                return item
        return self.view.submit_action

    def _plan_tests(self, confidence: np.ndarray) -> list[int]:
        """The least confident untested bits (for the current trajectories), at most
        ``tests_per_cycle`` of them."""
        if not self.tests:
            return []
        n_visible = len(self.view.trajectories)
        open_bits = np.flatnonzero((confidence < self.confident) & (self._tested_with != n_visible))
        ordered = open_bits[np.argsort(confidence[open_bits], kind="stable")]
        return [int(b) for b in ordered[: self.tests_per_cycle]]

    def _consistent(self, test: dict[str, Any]) -> bool:
        """Whether a MAP test's discrepancy is within three standard errors of the noise."""
        trajectories = self.view.trajectories
        expected = float(test["expected_discrepancy"])
        if trajectories[0].frames is not None:
            cells = sum(t.frames.size for t in trajectories if t.frames is not None)
            spread = math.sqrt(max(expected * (1.0 - expected), 0.0) / max(cells, 1))
        else:
            values = sum(t.stats.size for t in trajectories if t.stats is not None)
            spread = _ABS_Z_STD / math.sqrt(max(values, 1))
        return float(test["discrepancy"]) <= expected + 3.0 * spread + 1e-12

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray) -> int:
        view = self.view
        confidence = obs["confidence"].astype(np.float64)
        if self._phase == "experiment" or not view.trajectories:
            return self._experiment(action_mask)
        if self._phase == "tests":
            self._queue = self._plan_tests(confidence)
            self._phase = "testing"
        while self._queue:
            bit = self._queue.pop(0)
            if action_mask[len(view.menu) + bit]:
                self._tested_with[bit] = len(view.trajectories)
                return len(view.menu) + bit
        if self._phase == "testing":
            self._phase = "check"
            if action_mask[view.test_map_action]:
                return view.test_map_action
        # "check": the MAP test has been answered (or could not be paid for).
        self._phase = "experiment"
        self._map_history.append(str(info.get("map_rule", "")))
        if len(self._map_history) > 1 and self._map_history[-1] != self._map_history[-2]:
            self._size += 1  # the data do not settle the rule yet: a larger world next
        test = info.get("test", {})
        consistent = test.get("kind") == "map" and self._consistent(test)
        settled = bool((confidence >= self.confident).all())
        recent = self._map_history[-self.patience - 1 :]
        stable = len(recent) > self.patience and len(set(recent)) == 1
        if consistent and (settled or stable):
            return view.submit_action
        return self._experiment(action_mask)
