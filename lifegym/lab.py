"""The lab: the hidden rule, the experiments run on it, what was seen, and what it cost.

Plain Python around the simulator (no Gymnasium): a study may drive a :class:`Lab`
directly. The lab keeps the ordered list of visible trajectories (oldest first; the
emulator trains on it with the newest weighted most) and two budgets:

* **experiment budget**, in *observed cell-steps*: an experiment costs the number of
  observed cells per frame (the window, or the whole world the experiment runs on) times
  the number of observed frames;
* **compute budget**, in *simulated cell-steps*: hypothesis tests pay for the simulations
  they run (charged with :meth:`Lab.charge_compute`).
"""

from __future__ import annotations

import numpy as np

from lifegym.cells import as_cells
from lifegym.experiments import Experiment, initial_condition
from lifegym.limits import ExperimentLimits, check_budget
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import VisibleTrajectory

__all__ = ["BudgetError", "Lab"]


class BudgetError(ValueError):
    """An experiment or a test costs more than the budget left."""


class Lab:
    """Runs experiments on a hidden rule and shows them through an observation model.

    Args:
        rule: the hidden rule.
        model: the observation model.
        world: (height, width) of the largest torus an experiment may use (and the one
            menu items without a world of their own run on).
        experiment_budget: observed cell-steps available for experiments.
        compute_budget: simulated cell-steps available for hypothesis tests.
        rng: the only source of randomness (initial conditions, observation noise).
        max_steps: the most steps a designed experiment (:meth:`run_array`) may run
            (None: no limit).
    """

    def __init__(
        self,
        rule: Rule,
        model: ObservationModel,
        world: tuple[int, int],
        experiment_budget: int,
        compute_budget: int,
        rng: np.random.Generator,
        max_steps: int | None = None,
    ) -> None:
        height, width = world
        model.check_world(height, width)
        self.hidden_rule = rule
        self.model = model
        self.world = (int(height), int(width))
        self.max_steps = max_steps
        self.limits = ExperimentLimits(model, self.world, max_steps)
        self.experiment_budget = check_budget(experiment_budget, "experiment_budget")
        self.compute_budget = check_budget(compute_budget, "compute_budget")
        self.rng = rng
        self.experiment_spent = 0
        self.compute_spent = 0
        self.trajectories: list[VisibleTrajectory] = []
        self._replay_cost = 0

    # -- costs ---------------------------------------------------------------------------

    def observation_cost(self, steps: int, shape: tuple[int, int] | None = None) -> int:
        """Observed cell-steps of an experiment of ``steps`` steps on a world of ``shape``
        (default: the largest world)."""
        return self.model.cost(*(self.world if shape is None else shape), steps)

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
        shape = experiment.shape_in(self.world)
        self.limits.check_shape(shape, f"experiment {experiment.name!r}'s world")
        experiment.check_world(*shape)
        self._check_affordable(experiment.steps, shape)
        initial = initial_condition(experiment, shape, self.rng)
        return self._run(experiment.name, initial, experiment.steps)

    def run_array(self, initial: np.ndarray, steps: int, name: str = "custom") -> VisibleTrajectory:
        """Run from an initial condition given cell by cell (uint8/bool (H, W), any shape
        :attr:`limits` allow) for ``steps`` steps (``limits.check_steps``)."""
        cells = as_cells(initial, "initial", {2: "(H, W)"})
        self.limits.check_shape(cells.shape, "initial condition")
        steps = self.limits.check_steps(steps)
        self._check_affordable(steps, cells.shape)
        return self._run(name, cells.copy(), steps)

    def affordable(self, steps: int, shape: tuple[int, int]) -> bool:
        """Whether the experiment budget left pays for ``steps`` steps on ``shape``."""
        return self.observation_cost(steps, shape) <= self.experiment_left

    def _check_affordable(self, steps: int, shape: tuple[int, int]) -> None:
        if not self.affordable(steps, shape):
            cost = self.observation_cost(steps, shape)
            raise BudgetError(
                f"experiment cost {cost} observed cell-steps exceeds the "
                f"{self.experiment_left} left of the experiment budget"
            )

    def _run(self, name: str, initial: np.ndarray, steps: int) -> VisibleTrajectory:
        frames = simulate(self.hidden_rule, initial, steps)
        times, seen_frames, seen_stats = self.model.observe(frames, self.rng)
        cost = self.observation_cost(steps, initial.shape)
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
