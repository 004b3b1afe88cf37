"""What an agent may see of an env: :class:`EnvView`, a read-only copy the env keeps current.

An agent never holds the env. It holds an :class:`EnvView`: the env's public settings
(menu and costs, rule space, observation model, world limits, budgets, action layout,
spaces), copied once, and its public state (visible trajectories, the engine's belief,
budgets left), which the env *pushes* into the view after every reset and step. The view
holds no reference to the env, its :class:`~lifegym.lab.Lab`, its random generator, its
prior or its scoring battery, so no attribute, container, closure or bound method an
agent holds leads to them (``tests/test_integrity.py`` walks the graph). An agent that
writes into its view only changes its own copy: the env never reads it.

The one privileged agent, the ``oracle`` reference, is told the hidden rule explicitly by
:func:`~lifegym.agents.base.run_episode` (``Agent.reference``); no other agent is.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from typing import Any, overload

import numpy as np
from gymnasium import spaces

from lifegym.experiments import Experiment
from lifegym.inference.base import InferenceEngine
from lifegym.observe import ObservationModel
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = ["EnvView", "design_dict", "public_trajectory"]


def design_dict(grid: np.ndarray, steps: int, world: tuple[int, int], submit_action: int):
    """The canonical ``design=True`` action running ``grid`` (0/1, at most ``world``) for
    ``steps`` steps: the cells padded to the whole world, with the world's size."""
    padded = np.zeros(world, dtype=np.int8)
    padded[: grid.shape[0], : grid.shape[1]] = grid
    return {
        "design": 1,
        "action": np.int64(submit_action),
        "cells": padded,
        "size": np.array(grid.shape, dtype=np.int64),
        "steps": np.int64(steps),
    }


@overload
def _frozen(array: np.ndarray) -> np.ndarray: ...
@overload
def _frozen(array: None) -> None: ...
@overload
def _frozen(array: np.ndarray | None) -> np.ndarray | None: ...


def _frozen(array: np.ndarray | None) -> np.ndarray | None:
    if array is None:
        return None
    copied = np.array(array, copy=True)
    copied.setflags(write=False)
    return copied


def public_trajectory(trajectory: VisibleTrajectory) -> VisibleTrajectory:
    """A copy of ``trajectory`` whose arrays are new and read-only."""
    return dataclasses.replace(
        trajectory,
        initial=_frozen(trajectory.initial),
        times=_frozen(trajectory.times),
        frames=_frozen(trajectory.frames),
        stats=_frozen(trajectory.stats),
    )


def _public_belief(belief: Belief) -> Belief:
    return dataclasses.replace(
        belief, p_one=_frozen(belief.p_one), determined=_frozen(belief.determined)
    )


@dataclasses.dataclass(eq=False)
class EnvView:
    """The public, read-only face of one env (see the module doc).

    Settings (fixed for the env's life):
        space: the rule space searched (family and known bits).
        model: the observation model.
        world: (height, width) of the largest world.
        smallest_world: (height, width) of the smallest world (3x3, or the window).
        menu: the menu items, in action order.
        item_costs: int (M,): observed cell-steps of each menu item (read-only).
        design: whether designed experiments are in the action space.
        max_experiment_steps: most steps of a designed experiment.
        cheapest_design: observed cell-steps of the cheapest designed experiment.
        experiment_budget, compute_budget: the budgets (cell-steps).
        max_steps: steps before truncation.
        inference: the engine's name.
        engine_factory: the engine's class (or factory): build your own engine with it.
        engine_uses_tests: whether the engine folds bit tests into its belief.
        test_from_time: bit tests score observed steps >= this.
        n_actions, test_map_action, submit_action: the ``Discrete`` face's layout.
        action_space, observation_space: copies of the env's spaces.

    State (pushed by the env after every reset and step):
        trajectories: the visible trajectories, oldest first (copies, read-only arrays).
        belief: the engine's belief (a copy).
        experiment_left, compute_left: budgets left (cell-steps).
        steps: steps taken in this episode.
    """

    space: RuleSpace
    model: ObservationModel
    world: tuple[int, int]
    smallest_world: tuple[int, int]
    menu: tuple[Experiment, ...]
    item_costs: np.ndarray
    design: bool
    max_experiment_steps: int
    cheapest_design: int
    experiment_budget: int
    compute_budget: int
    max_steps: int
    inference: str
    engine_factory: Callable[[RuleSpace, ObservationModel], InferenceEngine]
    engine_uses_tests: bool
    test_from_time: int
    n_actions: int
    test_map_action: int
    submit_action: int
    action_space: spaces.Space
    observation_space: spaces.Space
    trajectories: tuple[VisibleTrajectory, ...] = ()
    belief: Belief | None = None
    experiment_left: int = 0
    compute_left: int = 0
    steps: int = 0

    @classmethod
    def of(cls, env: Any) -> EnvView:
        """The view of a :class:`~lifegym.env.RuleDiscoveryEnv` (its settings copied)."""
        factory = env.engine_factory
        absorb = getattr(factory, "absorb_test", None)
        return cls(
            space=env.space,
            model=env.model,
            world=tuple(env.world),
            smallest_world=tuple(env.smallest_world),
            menu=tuple(env.menu),
            item_costs=_frozen(env.item_costs),
            design=bool(env.design),
            max_experiment_steps=int(env.max_experiment_steps),
            cheapest_design=int(env.cheapest_design),
            experiment_budget=int(env.experiment_budget),
            compute_budget=int(env.compute_budget),
            max_steps=int(env.max_steps),
            inference=str(env.inference),
            engine_factory=factory,
            engine_uses_tests=absorb is not None and absorb is not InferenceEngine.absorb_test,
            test_from_time=int(getattr(factory, "test_from_time", 1)),
            n_actions=int(env.n_actions),
            test_map_action=int(env.test_map_action),
            submit_action=int(env.submit_action),
            action_space=_space_copy(env.action_space),
            observation_space=_space_copy(env.observation_space),
        )

    @property
    def replay_cost(self) -> int:
        """Simulated cell-steps to replay every visible trajectory once (a MAP test costs
        this, a bit test twice this)."""
        return sum(t.simulation_cost for t in self.trajectories)

    def design_action(self, cells: np.ndarray, steps: int) -> dict[str, Any]:
        """The ``design=True`` action running the 0/1 array ``cells`` (its shape is the
        world) for ``steps`` steps; the env checks it when it is taken."""
        if not self.design:
            raise ValueError("designed experiments need gym.make(..., design=True)")
        grid = np.asarray(cells)
        if grid.ndim != 2 or grid.shape[0] > self.world[0] or grid.shape[1] > self.world[1]:
            raise ValueError(
                f"a design must be a 2-D array of at most {self.world}, got shape {grid.shape}"
            )
        return design_dict(grid, steps, self.world, self.submit_action)

    # -- written by the env only ---------------------------------------------------------

    def _start(self, belief: Belief, experiment_left: int, compute_left: int) -> None:
        self.trajectories = ()
        self._update(belief, experiment_left, compute_left, steps=0)

    def _add(self, trajectory: VisibleTrajectory) -> None:
        self.trajectories = (*self.trajectories, public_trajectory(trajectory))

    def _update(self, belief: Belief, experiment_left: int, compute_left: int, steps: int) -> None:
        self.belief = _public_belief(belief)
        self.experiment_left = int(experiment_left)
        self.compute_left = int(compute_left)
        self.steps = int(steps)


def _space_copy(space: spaces.Space) -> spaces.Space:
    """A deep copy of ``space`` with a generator of its own (sampling it leaves the env's
    space untouched)."""
    copied = copy.deepcopy(space)
    copied.seed(None)
    return copied
