"""``EnvSettings``: the validated settings of an env, one object for every face.

:func:`env_settings` checks every argument of :class:`~lifegym.env.RuleDiscoveryEnv` (a
ValueError naming the bad value and what is allowed) and derives what the episodes read:
the menu and its costs, the budgets, the experiment limits, the action layout. The single
env, the native vector env and the harnesses read the same object; nothing in it changes
after it is built.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from lifegym.episodes import BATTERIES, ActionLayout
from lifegym.experiments import (
    DEFAULT_WORLD,
    Experiment,
    default_menu,
    probe_menu,
    sized_menu,
)
from lifegym.families import RuleFamily, get_family
from lifegym.generator import RulePrior, make_prior
from lifegym.inference import InferenceEngine, auto_engine, engine_class
from lifegym.limits import ExperimentLimits, check_budget, fewest_in_words
from lifegym.observe import ObservationModel, is_int
from lifegym.reward import RewardFunction, make_reward
from lifegym.rules import Rule
from lifegym.types import RuleSpace

__all__ = [
    "DEFAULT_MAX_EXPERIMENT_STEPS",
    "MENUS",
    "EngineFactory",
    "EnvSettings",
    "env_settings",
]

#: Default experiment budget: this many 16-step experiments observed in full.
_DEFAULT_EXPERIMENTS = 8
#: Default compute budget: this many 16-step replays of the whole world.
_DEFAULT_REPLAYS = 256
#: Default most steps of a designed experiment.
DEFAULT_MAX_EXPERIMENT_STEPS = 64
#: The menus ``menu=`` names.
MENUS = ("v0", "v1")

EngineFactory = Callable[[RuleSpace, ObservationModel], InferenceEngine]


@dataclasses.dataclass(frozen=True, eq=False)
class EnvSettings:
    """What an env was made with, checked (see ``RuleDiscoveryEnv``'s Arguments), and what
    follows from it.

    Attributes:
        space: the rule space (family and known bits).
        world: (height, width) of the largest torus.
        model: the observation model.
        menu: the experiments on offer; ``item_costs`` int64 (M,) their observed cell-steps.
        design: whether designed experiments are in the action space.
        max_experiment_steps: the most steps of a designed experiment.
        prior: the hidden-rule prior.
        engine_factory, inference: the belief engine and its name.
        reward_function: the reward.
        frame_observation: whether the observation holds the last frame.
        max_steps: steps before truncation.
        repeat_tests: whether tests that cannot change anything stay allowed.
        battery: ``"fixed"`` or ``"episode"`` (the behavioural-match battery).
        experiment_budget, compute_budget: the two budgets (cell-steps).
        limits: the sizes and lengths an experiment may have.
        cheapest_design: observed cell-steps of the smallest, shortest design.
        layout: what each action of the ``Discrete`` face means.
    """

    space: RuleSpace
    world: tuple[int, int]
    model: ObservationModel
    menu: tuple[Experiment, ...]
    item_costs: np.ndarray
    design: bool
    max_experiment_steps: int
    prior: RulePrior
    engine_factory: EngineFactory
    inference: str
    reward_function: RewardFunction
    frame_observation: bool
    max_steps: int
    repeat_tests: bool
    battery: str
    experiment_budget: int
    compute_budget: int
    limits: ExperimentLimits
    cheapest_design: int
    layout: ActionLayout

    @property
    def smallest_world(self) -> tuple[int, int]:
        """The smallest world an experiment may run on (3x3, or the window)."""
        return self.limits.smallest_world

    @property
    def budgets(self) -> tuple[int, int]:
        """(experiment budget, compute budget)."""
        return self.experiment_budget, self.compute_budget


def env_settings(
    family: str | RuleFamily = "totalistic",
    prior: str | Sequence[str | Rule] | Rule | RulePrior = "uniform",
    known: dict[int | str, int] | None = None,
    world: tuple[int, int] = DEFAULT_WORLD,
    menu: str | Sequence[Experiment] | None = None,
    design: bool = False,
    max_experiment_steps: int = DEFAULT_MAX_EXPERIMENT_STEPS,
    noise: float = 0.0,
    stride: int = 1,
    window: tuple[int, int] | None = None,
    sigma: float | None = None,
    observation: ObservationModel | None = None,
    experiment_budget: int | None = None,
    compute_budget: int | None = None,
    inference: str | EngineFactory = "auto",
    reward: str | RewardFunction = "info_gain",
    frame_observation: bool = False,
    max_steps: int = 256,
    repeat_tests: bool = True,
    battery: str = "fixed",
) -> EnvSettings:
    """The checked settings of ``RuleDiscoveryEnv(**arguments)`` (its Arguments table), or a
    ValueError naming the first bad value and what is allowed."""
    space = RuleSpace.of(get_family(family), known)
    world = _check_world(world)
    model = _check_observation(observation, noise, stride, window, sigma)
    model.check_world(*world)
    if menu is None or isinstance(menu, str):
        menu = _named_menu("v0" if menu is None else menu, space, world, model)
    items = _check_menu(menu, world, model)
    _check_flag(design, "design")
    if not is_int(max_experiment_steps) or max_experiment_steps < model.fewest_steps:
        raise ValueError(
            f"max_experiment_steps must be an int >= {fewest_in_words(model)}, "
            f"got {max_experiment_steps!r}"
        )
    rule_prior = make_prior(prior, space)
    if isinstance(inference, str):
        name = auto_engine(space, model) if inference == "auto" else inference
        engine_factory: EngineFactory = engine_class(name)
    else:
        engine_factory, name = inference, getattr(inference, "name", "custom")
    engine_factory(space, model)  # refuse unsupported settings now
    reward_function = make_reward(reward)
    if frame_observation and not model.shows_frames:
        raise ValueError(f"frame_observation=True needs frames; {model.describe()} shows none")
    if not is_int(max_steps) or max_steps < 1:
        raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
    _check_flag(repeat_tests, "repeat_tests")
    if battery not in BATTERIES:
        raise ValueError(f"battery must be one of {', '.join(BATTERIES)}, got {battery!r}")
    if experiment_budget is None:
        experiment_budget = _DEFAULT_EXPERIMENTS * model.cost(*world, 16)
    if compute_budget is None:
        compute_budget = _DEFAULT_REPLAYS * 16 * world[0] * world[1]
    experiment_budget = check_budget(experiment_budget, "experiment_budget")
    compute_budget = check_budget(compute_budget, "compute_budget")
    item_costs = np.array([model.cost(*item.shape_in(world), item.steps) for item in items])
    item_costs.setflags(write=False)
    if experiment_budget < item_costs.min():
        raise ValueError(
            f"experiment_budget {experiment_budget} cannot pay for any experiment; "
            f"the cheapest menu item costs {int(item_costs.min())} observed cell-steps"
        )
    limits = ExperimentLimits(model, world, int(max_experiment_steps))
    return EnvSettings(
        space=space,
        world=world,
        model=model,
        menu=items,
        item_costs=item_costs,
        design=design,
        max_experiment_steps=int(max_experiment_steps),
        prior=rule_prior,
        engine_factory=engine_factory,
        inference=name,
        reward_function=reward_function,
        frame_observation=bool(frame_observation),
        max_steps=int(max_steps),
        repeat_tests=repeat_tests,
        battery=battery,
        experiment_budget=experiment_budget,
        compute_budget=compute_budget,
        limits=limits,
        cheapest_design=model.cost(*limits.smallest_world, model.fewest_steps),
        layout=ActionLayout(tuple(item.name for item in items), space.free_names),
    )


def _check_flag(value: object, name: str) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def _check_world(world: object) -> tuple[int, int]:
    if (
        not isinstance(world, tuple | list)
        or len(world) != 2
        or not all(is_int(v) for v in world)
        or min(world) < 3
    ):
        raise ValueError(f"world must be (height, width) with integers >= 3, got {world!r}")
    return int(world[0]), int(world[1])


def _check_observation(
    observation: object,
    noise: float,
    stride: int,
    window: tuple[int, int] | None,
    sigma: float | None,
) -> ObservationModel:
    """``observation``, or the model of ``noise``/``stride``/``window``/``sigma``."""
    if observation is None:
        return ObservationModel(noise=noise, stride=stride, window=window, stats_sigma=sigma)
    if not isinstance(observation, ObservationModel):
        raise ValueError(f"observation must be an ObservationModel, got {observation!r}")
    if (noise, stride, window, sigma) != (0.0, 1, None, None):
        raise ValueError(
            "give either observation= or noise/stride/window/sigma, not both "
            f"(got observation={observation.describe()} and noise={noise!r}, "
            f"stride={stride!r}, window={window!r}, sigma={sigma!r})"
        )
    return observation


def _named_menu(
    name: str, space: RuleSpace, world: tuple[int, int], model: ObservationModel
) -> tuple[Experiment, ...]:
    """The menu ``name`` (``MENUS``): v0 = every item on the whole world; v1 = soups on
    several world sizes and one probe per free bit (``lifegym.experiments``)."""
    if name == "v0":
        return default_menu()
    if name == "v1":
        smallest, fewest = model.smallest_world, model.fewest_steps
        probe_shape = (max(6, smallest[0]), max(6, smallest[1]))
        return sized_menu(world, smallest, soup_steps=(fewest, 16)) + probe_menu(
            space.family, space.free_bits, fewest, probe_shape, space.free_names
        )
    raise ValueError(f"unknown menu {name!r}; choose one of {', '.join(MENUS)} or give Experiments")


def _check_menu(
    menu: Sequence[Experiment], world: tuple[int, int], model: ObservationModel
) -> tuple[Experiment, ...]:
    items = tuple(menu)
    if not items:
        raise ValueError("menu must hold at least one Experiment, got an empty menu")
    names = set()
    smallest = model.smallest_world
    for item in items:
        if not isinstance(item, Experiment):
            raise ValueError(f"menu items must be Experiment objects, got {item!r}")
        if item.name in names:
            raise ValueError(f"menu item names must be unique; {item.name!r} appears twice")
        names.add(item.name)
        height, width = item.shape_in(world)
        if not (smallest[0] <= height <= world[0] and smallest[1] <= width <= world[1]):
            raise ValueError(
                f"menu item {item.name!r} runs on a {height}x{width} world; allowed: "
                f"{smallest[0]}..{world[0]} x {smallest[1]}..{world[1]}"
            )
        item.check_world(height, width)
        if item.steps < model.fewest_steps:
            raise ValueError(
                f"menu item {item.name!r} runs {item.steps} steps, fewer than "
                f"{fewest_in_words(model)}: nothing of it would be observed"
            )
    return items
