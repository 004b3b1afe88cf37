"""The lab: the hidden rule, the experiments run on it, what was seen, and what it cost.

Plain Python around the simulator (no Gymnasium): a study may drive a :class:`Lab`
directly. The lab keeps the ordered list of visible trajectories (oldest first; the
emulator trains on it with the newest weighted most) and two budgets:

* **experiment budget**, in *observed cell-steps*: an experiment costs the number of
  observed cells per frame (the window, or the whole world) times the number of observed
  frames;
* **compute budget**, in *simulated cell-steps*: hypothesis tests pay for the simulations
  they run (charged with :meth:`Lab.charge_compute`).
"""

from __future__ import annotations

import numpy as np

from lifegym.cells import as_cells
from lifegym.experiments import Experiment, initial_condition
from lifegym.observe import ObservationModel, observe
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import VisibleTrajectory

__all__ = ["BudgetError", "Lab"]


class BudgetError(ValueError):
    """An experiment or a test costs more than the budget left."""


def _check_budget(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an int >= 0 (cell-steps), got {value!r}")
    return int(value)


class Lab:
    """Runs experiments on a hidden rule and shows them through an observation model.

    Args:
        rule: the hidden rule.
        model: the observation model.
        world: (height, width) of the torus.
        experiment_budget: observed cell-steps available for experiments.
        compute_budget: simulated cell-steps available for hypothesis tests.
        rng: the only source of randomness (initial conditions, observation noise).
    """

    def __init__(
        self,
        rule: Rule,
        model: ObservationModel,
        world: tuple[int, int],
        experiment_budget: int,
        compute_budget: int,
        rng: np.random.Generator,
    ) -> None:
        height, width = world
        model.check_world(height, width)
        self.hidden_rule = rule
        self.model = model
        self.world = (int(height), int(width))
        self.experiment_budget = _check_budget(experiment_budget, "experiment_budget")
        self.compute_budget = _check_budget(compute_budget, "compute_budget")
        self.rng = rng
        self.experiment_spent = 0
        self.compute_spent = 0
        self.trajectories: list[VisibleTrajectory] = []
        self._replay_cost = 0

    # -- costs ---------------------------------------------------------------------------

    def observation_cost(self, steps: int) -> int:
        """Observed cell-steps of an experiment of ``steps`` steps."""
        return self.model.cost(*self.world, steps)

    @property
    def experiment_left(self) -> int:
        return self.experiment_budget - self.experiment_spent

    @property
    def compute_left(self) -> int:
        return self.compute_budget - self.compute_spent

    def replay_cost(self) -> int:
        """Simulated cell-steps to replay every visible trajectory once."""
        return self._replay_cost

    def charge_compute(self, cell_steps: int) -> None:
        """Charge ``cell_steps`` to the compute budget (BudgetError if it cannot pay)."""
        if cell_steps > self.compute_left:
            raise BudgetError(
                f"compute cost {cell_steps} cell-steps exceeds the {self.compute_left} left"
            )
        self.compute_spent += int(cell_steps)

    # -- experiments ---------------------------------------------------------------------

    def run(self, experiment: Experiment) -> VisibleTrajectory:
        """Run a menu experiment on a fresh initial condition; charge and record it."""
        self._check_affordable(experiment.steps)
        experiment.check_world(*self.world)
        initial = initial_condition(experiment, self.world, self.rng)
        return self._run(experiment.name, initial, experiment.steps)

    def run_array(self, initial: np.ndarray, steps: int) -> VisibleTrajectory:
        """Run from an arbitrary initial condition (uint8/bool (H, W) of the world's shape)."""
        cells = as_cells(initial, "initial", {2: "(H, W)"})
        if cells.shape != self.world:
            raise ValueError(f"initial must have the world's shape {self.world}, got {cells.shape}")
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
            raise ValueError(f"steps must be an int >= 1, got {steps!r}")
        self._check_affordable(int(steps))
        return self._run("custom", cells.copy(), int(steps))

    def _check_affordable(self, steps: int) -> None:
        cost = self.observation_cost(steps)
        if cost > self.experiment_left:
            raise BudgetError(
                f"experiment cost {cost} observed cell-steps exceeds the "
                f"{self.experiment_left} left of the experiment budget"
            )

    def _run(self, name: str, initial: np.ndarray, steps: int) -> VisibleTrajectory:
        frames = simulate(self.hidden_rule, initial, steps)
        times, seen_frames, seen_stats = observe(self.model, frames, self.rng)
        cost = self.observation_cost(steps)
        initial.setflags(write=False)
        trajectory = VisibleTrajectory(
            experiment=name,
            initial=initial,
            steps=steps,
            times=times,
            frames=seen_frames,
            stats=seen_stats,
            model=self.model,
            cost=cost,
        )
        self.experiment_spent += cost
        self.trajectories.append(trajectory)
        self._replay_cost += trajectory.simulation_cost
        return trajectory
