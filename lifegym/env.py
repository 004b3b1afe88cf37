"""``RuleDiscoveryEnv``: find the hidden rule of a Life-like cellular automaton on a budget."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeGuard

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lifegym.behaviour import LazyBattery
from lifegym.behaviour import battery as scoring_battery
from lifegym.experiments import (
    DEFAULT_WORLD,
    Experiment,
    default_menu,
    probe_menu,
    sized_menu,
)
from lifegym.generator import FixedPrior, RulePrior, make_prior
from lifegym.inference import InferenceEngine, auto_engine, engine_class
from lifegym.io import CellsLike, parse_cells
from lifegym.lab import Lab
from lifegym.likelihood import compare
from lifegym.limits import ExperimentLimits, check_budget, smallest_world
from lifegym.observe import N_STATS, ObservationModel, frame_statistics
from lifegym.public import EnvView, design_dict
from lifegym.reward import RewardFunction, StepOutcome, make_reward
from lifegym.rules import Rule, RuleFamily, get_family
from lifegym.scoring import Ending, EpisodeResult, score_episodes
from lifegym.seeding import BATTERY_STREAM, stream
from lifegym.types import Belief, RuleSpace, VisibleTrajectory
from lifegym.viewer import caption, render_ansi, render_rgb

__all__ = [
    "BATTERIES",
    "DEFAULT_MAX_EXPERIMENT_STEPS",
    "MENUS",
    "SUMMARY_FRAMES",
    "RuleDiscoveryEnv",
    "experiment_summary",
    "summary_picks",
]

#: Frames in the fixed-length statistics curve of the last experiment.
SUMMARY_FRAMES = 16
#: Default experiment budget: this many 16-step experiments observed in full.
_DEFAULT_EXPERIMENTS = 8
#: Default compute budget: this many 16-step replays of the whole world.
_DEFAULT_REPLAYS = 256
#: Default most steps of a designed experiment.
DEFAULT_MAX_EXPERIMENT_STEPS = 64
#: The menus ``menu=`` names.
MENUS = ("v0", "v1")
#: The scoring batteries ``battery=`` names.
BATTERIES = ("fixed", "episode")

EngineFactory = Callable[[RuleSpace, ObservationModel], InferenceEngine]


def _is_int(value: object) -> TypeGuard[int | np.integer]:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _check_world(world: object) -> tuple[int, int]:
    if (
        not isinstance(world, tuple | list)
        or len(world) != 2
        or not all(_is_int(v) for v in world)
        or min(world) < 3
    ):
        raise ValueError(f"world must be (height, width) with integers >= 3, got {world!r}")
    return int(world[0]), int(world[1])


def _named_menu(
    name: str, space: RuleSpace, world: tuple[int, int], model: ObservationModel
) -> tuple[Experiment, ...]:
    """The menu ``name`` (``MENUS``): v0 = every item on the whole world; v1 = soups on
    several world sizes and one probe per free bit (``lifegym.experiments``)."""
    if name == "v0":
        return default_menu()
    if name == "v1":
        smallest = smallest_world(model)
        probe_shape = (max(6, smallest[0]), max(6, smallest[1]))
        return sized_menu(world, smallest, soup_steps=(model.stride, 16)) + probe_menu(
            space.family, space.free_bits, model.stride, probe_shape, space.free_names
        )
    raise ValueError(f"unknown menu {name!r}; choose one of {', '.join(MENUS)} or give Experiments")


def _check_menu(
    menu: Sequence[Experiment], world: tuple[int, int], model: ObservationModel
) -> tuple[Experiment, ...]:
    items = tuple(menu)
    if not items:
        raise ValueError("menu must hold at least one Experiment, got an empty menu")
    names = set()
    smallest = smallest_world(model)
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
        if item.steps < model.stride:
            raise ValueError(
                f"menu item {item.name!r} runs {item.steps} steps, fewer than the stride "
                f"{model.stride}: nothing of it would be observed"
            )
    return items


def experiment_summary(last: VisibleTrajectory) -> np.ndarray:
    """The fixed-length statistics curve of ``last``: float32 (N_STATS * SUMMARY_FRAMES,),
    the observation's ``last_experiment``."""
    summary = np.zeros((SUMMARY_FRAMES, N_STATS), dtype=np.float32)
    if last.stats is not None:
        curve = last.stats
    else:
        assert last.frames is not None  # a trajectory observes either frames or statistics
        h, w = last.frames.shape[1:]
        curve = frame_statistics(
            last.initial[:h, :w], last.frames, last.model.wraps(*last.world_shape)
        )
    if len(curve):
        summary[:] = np.clip(curve[summary_picks(len(curve))], 0.0, 1.0)
    return summary.ravel()


@functools.lru_cache(maxsize=64)
def summary_picks(n_frames: int) -> np.ndarray:
    """The ``SUMMARY_FRAMES`` frames a statistics curve of ``n_frames`` is resampled to."""
    picks = np.round(np.linspace(0, n_frames - 1, SUMMARY_FRAMES)).astype(int)
    picks.setflags(write=False)
    return picks


class RuleDiscoveryEnv(gym.Env):
    """Find the hidden rule of a Life-like cellular automaton by choosing experiments.

    ## Description
    A hidden rule is drawn from a prior over a rule family (by default the 2^18
    outer-totalistic B/S rules). Each step the agent either requests an experiment from a
    menu (an initial condition it sets, run for some steps on a torus and shown through an
    observation model: noisy cells, every k-th frame, a window, or statistics only), tests
    a hypothesis (one rule bit, or the whole most-probable rule) by simulation, or submits.
    An inference engine turns what was seen into a belief (P(bit = 1) per free bit); the
    most probable rule is what gets submitted. Experiments cost observed cell-steps, tests
    cost simulated cell-steps, each from its own budget.

    ## Experiments and their cost
    An experiment is a world (a torus of height x width cells), an initial condition and a
    number of steps. Its cost, in *observed cell-steps*, counts only what the observation
    model shows: observed cells per frame (the window, or the whole world the experiment
    runs on) x observed frames (steps ``k, 2k, ... <= steps`` under ``strided(k)``, every
    step otherwise). The initial condition is set by the agent and costs nothing. Menu
    items (``menu``) run on their own world size, or on ``world`` when they name none;
    with ``design=True`` the agent may also give any initial condition cell by cell on a
    world from 3x3 (or the window) up to ``world``, run 1 (or ``k``) to
    ``max_experiment_steps`` steps. The ``v1`` menu (``menu="v1"``) offers soups at 7
    densities, run ``k`` or 16 steps, on square worlds of side 8, 16, 32 and ``world``
    (clipped to ``world``, raised to the window), and one *probe* per free bit: a 6x6 world
    (or the window) designed to hold as many neighbourhoods of that bit's orbit as it can
    (``lifegym.design.probe_cells``), run ``k`` steps.

    ## Action Space
    ``Discrete(M + F + 2)`` with ``M`` menu items (probes included) and ``F`` free bits:

    | action | meaning |
    |---|---|
    | ``0 .. M-1`` | request experiment ``menu[a]`` |
    | ``M .. M+F-1`` | test free bit ``a - M``: score the MAP rule with that bit set and cleared against the observations (costs 2 replays of every visible trajectory) |
    | ``M+F`` | test the MAP rule: its discrepancy from the observations (1 replay) |
    | ``M+F+1`` | submit the MAP rule (ends the episode) |

    With ``design=True`` the action space is a ``Dict`` (Gymnasium composite; SB3 cannot
    train on it, MaskablePPO uses the ``Discrete`` face without it):

    | key | space | meaning |
    |---|---|---|
    | ``design`` | ``Discrete(2)`` | 0: take ``action``; 1: run the designed experiment below |
    | ``action`` | ``Discrete(M + F + 2)`` | an action of the ``Discrete`` face (used when ``design`` is 0) |
    | ``cells`` | ``MultiBinary((H, W))`` | ``cells[:height, :width]`` is the initial condition (the rest is ignored) |
    | ``size`` | ``MultiDiscrete`` from ``(h0, w0)`` to ``(H, W)`` | ``(height, width)`` of the world; ``(h0, w0)`` is 3x3 or the window |
    | ``steps`` | ``Discrete`` from ``k`` to ``max_experiment_steps`` | steps to run |

    ``env.unwrapped.design_action(cells, steps)`` builds the dict from any 0/1 array, RLE
    or plaintext rows of ``.``/``o`` (the world is the pattern's size); ``step`` also
    accepts ``{"design": 1, "cells": <array, RLE or plaintext>, "steps": n}``, and a plain
    int as the ``Discrete`` face's action (so agents of the ``Discrete`` face run as they are). A design
    that does not fit (shape, values, steps) raises ValueError naming the value and the
    limit and leaves the env as it was; one the budget cannot pay for is rejected.

    ``action_masks()`` (the sb3-contrib convention) is False for what the budgets cannot
    pay for and for tests before any experiment; with ``repeat_tests=False`` (the v1
    presets) also for a test that cannot change anything: a bit already tested on the same
    visible data, or the MAP test of the same MAP rule on the same data. A masked action (or an unaffordable
    design) does nothing, costs ``rejected_penalty`` and reports ``info["rejected"]``.

    ## Observation Space
    A ``Dict`` (flat enough for SB3's ``MultiInputPolicy``):

    | key | shape | dtype | min | max | meaning |
    |---|---|---|---|---|---|
    | ``p_one`` | (F,) | float32 | 0 | 1 | P(bit = 1) per free bit |
    | ``confidence`` | (F,) | float32 | 0 | 1 | ``|2 P - 1|`` per free bit |
    | ``budget_left`` | (2,) | float32 | 0 | 1 | experiment and compute budget left (fractions) |
    | ``last_experiment`` | (48,) | float32 | 0 | 1 | density, activity, 2x2 block entropy of the last experiment's observed frames, 16 frames each (resampled; zeros before the first) |
    | ``spent_per_item`` | (M,) | float32 | 0 | 1 | fraction of the experiment budget spent on each menu item |
    | ``frame`` (``frame_observation=True``) | (h, w, 1) | uint8 | 0 | 255 | last observed frame |

    ## Rewards
    ``reward="info_gain"`` (default): the belief's entropy reduction in bits, minus the
    step's cost. ``reward="terminal"``: at the end, 1 for the exact rule or else the fraction
    of free bits correct; minus the cost of every step. The cost of a step is
    ``experiment_weight * experiment cost / experiment budget + compute_weight * compute
    cost / compute budget`` (both weights 1), plus ``rejected_penalty`` (0.1) for a masked
    action. Rewards are Python floats. Any :class:`~lifegym.reward.RewardFunction` may be
    passed instead.

    ## Starting State
    A hidden rule from the prior (or ``options={"rule": ...}``), no experiments, the
    belief of the engine with no data (every free bit 0.5), full budgets.

    ## Info
    Every ``reset`` and ``step`` returns ``info`` with:

    | key | type | meaning |
    |---|---|---|
    | ``action`` | str | what the step did (``"reset"``, ``"request soup-0.50x1@8x8"``, ``"test B3"``, ``"test MAP"``, ``"design 6x6 x1"``, ``"submit"``) |
    | ``experiment_cost`` | int | observed cell-steps this step cost (0 for tests) |
    | ``compute_cost`` | int | simulated cell-steps this step cost (0 for experiments) |
    | ``experiment_spent``, ``compute_spent`` | int | totals so far in the episode |
    | ``entropy`` | float | the belief's entropy (bits) after the step |
    | ``n_consistent`` | int | rules the engine still finds consistent (-1: cannot count) |
    | ``map_rule`` | str | the most probable rule, the one a submit would score |
    | ``action_mask`` | bool array | ``action_masks()`` after the step |
    | ``rejected`` | str | only for a masked action: why it did nothing |
    | ``test`` | dict | only after a test, see below |
    | ``result`` | dict | only at the episode's end, see Episode End |

    ``info["test"]`` of a bit test: ``kind`` ``"bit"``, ``bit`` (its name), ``log_odds``
    (log-likelihood of the observations with the bit set minus with it cleared, the MAP's
    other bits fixed, over observed steps >= the engine's ``test_from_time``; > 0 favours
    1). Of a MAP test: ``kind`` ``"map"``, ``loglik`` (of every observation under the MAP
    rule), ``discrepancy`` (mean per scored unit: flipped cells per cell for frames, a
    z-score for statistics), ``expected_discrepancy`` (what noise alone would give if the
    rule were right: the flip probability, or sqrt(2/pi) for statistics), ``cost``
    (simulated cell-steps of one replay).

    ## Episode End
    * Termination: the agent submits; or the experiment budget cannot pay for any menu
      item (nor, with ``design=True``, for the smallest design) (the MAP rule is
      submitted automatically).
    * Truncation: ``max_steps`` steps (the MAP rule is scored as if submitted).
    At the end ``info["result"]`` holds ``true_rule``, ``submitted_rule`` (canonical
    strings), ``exact`` (the submitted rule is the hidden one up to observational
    equivalence: some rules no experiment of the observation model can tell apart, e.g.
    under ``strided(2)`` a self-complementary rule R and NOT.R give the same even frames;
    ``lifegym.equivalence``), ``equivalent_rules`` (the other rules of the submitted rule's
    class), ``class_probability`` (the engine's posterior probability of that class, or
    the lower bound it gives), ``identified`` (exact, no undetermined bit, and
    ``class_probability >= 1 - identified_delta``, one ``identified_delta`` = 0.01 for every
    engine and preset: the luck-free score), ``bits_correct`` (against the nearest rule of
    the hidden rule's class), ``behavioural_match`` (the evolution statistics of the two
    rules on a battery of fresh soups agree within the soup-to-soup noise,
    ``lifegym.behaviour``: ``battery="episode"`` draws it per episode from a stream of the
    env's seed that no agent sees; ``"fixed"`` is one constant battery),
    ``undetermined_bits`` (names of free bits whose flip changes nothing seen and
    leaves the class) and
    ``n_undetermined``, ``experiment_cost``, ``compute_cost``, ``n_experiments``,
    ``n_tests``, ``submitted_by`` (``"agent"``, ``"budget"`` or ``"truncation"``), the
    belief at submission: ``belief_entropy`` (bits) and ``n_consistent`` (rules the engine
    still finds consistent with the data, -1 where it cannot count), and
    ``score_version`` (2: the scoring rules of these fields).

    ## Arguments
    | parameter | type | default | description |
    |---|---|---|---|
    | ``family`` | str | ``"totalistic"`` | rule family: vonneumann, hex, totalistic, ring, isotropic, rotation, free |
    | ``prior`` | str, list, Rule, RulePrior | ``"uniform"`` | hidden-rule prior: uniform, named, a list of rule strings |
    | ``known`` | dict | None | bits known from the start, ``{bit index or name: 0/1}`` |
    | ``world`` | (int, int) | (60, 60) | torus height, width |
    | ``menu`` | ``"v0"``, ``"v1"`` or sequence of Experiment | ``"v0"`` | the experiments on offer (see Experiments) |
    | ``design`` | bool | False | add designed experiments to the action space (``Dict``) |
    | ``max_experiment_steps`` | int | 64 (v0: unused) | most steps of a designed experiment |
    | ``noise`` | float | 0.0 | cell flip probability p in [0, 0.5] |
    | ``stride`` | int | 1 | observe every k-th frame |
    | ``window`` | (int, int) | None | observe only this top-left crop |
    | ``sigma`` | float | None | observe statistics only, cells perturbed with this scale |
    | ``observation`` | ObservationModel | None | instead of the four above |
    | ``experiment_budget`` | int | 8 full 16-step experiments | observed cell-steps |
    | ``compute_budget`` | int | 256 replays of 16 steps | simulated cell-steps |
    | ``inference`` | str or factory | ``"auto"`` | belief engine: exact, exhaustive, search, emulator; auto = exact for frames at stride 1, else exhaustive for B/S rules, else search |
    | ``reward`` | str or RewardFunction | ``"info_gain"`` | info_gain or terminal |
    | ``frame_observation`` | bool | False | add the last observed frame to the observation |
    | ``max_steps`` | int | 256 | truncate after this many steps |
    | ``repeat_tests`` | bool | True (v1 presets: False) | whether a test that cannot change anything (same bit, or same MAP rule, on the same data) stays allowed |
    | ``battery`` | str | ``"fixed"`` (v1 presets: ``"episode"``) | the behavioural-match battery: fixed, or drawn per episode from the env's seed |
    | ``render_mode`` | str | None | ``"rgb_array"`` or ``"ansi"`` |

    ``gym.make("lifegym/RuleDiscovery-v0", family="isotropic", noise=0.05)``;
    ``env.reset(seed=0, options={"rule": "B36/S23"})`` fixes the hidden rule (it must lie
    in the family and agree with the known bits; a bad string raises ValueError).

    ## Vectorized environment
    Works under ``gymnasium.make_vec`` (sync and async) and SB3's ``DummyVecEnv`` /
    ``SubprocVecEnv``; MaskablePPO reads ``action_masks()``. The v1 ids also have a native
    vector env (``gym.make_vec``'s default for them, ``lifegym.vector``) that steps all
    episodes of the exact-counting presets together and plays the same episodes.

    ## Version History
    * v1: experiments priced by what they reveal: the ``v1`` menu (soups on several world
      sizes, a probe per free bit), ``design=True`` for initial conditions given cell by
      cell; new presets (Isotropic-Stats, Free-Noisy, Hex-Noisy, VonNeumann-Noisy); tests
      that cannot change anything are masked (``repeat_tests=False``), the scoring battery
      is drawn per episode (``battery="episode"``).
    * v0: initial version (every menu item on the whole world; kept unchanged).
    * Scoring, ``score_version`` 2 (every id; dynamics, observations, masks and the
      default rewards unchanged): ``exact`` and ``identified`` over observational classes,
      ``identified`` by the engine's class probability (``1 - identified_delta``) instead
      of ``n_consistent == 1`` or 0.1 bit of entropy, ``behavioural_match`` by evolution
      statistics. A reward's ``identified_bonus`` follows the new ``identified``.
    """

    # gymnasium declares ``metadata`` an instance attribute (a ClassVar here would clash).
    metadata: dict[str, Any] = {"render_modes": ["rgb_array", "ansi"], "render_fps": 2}  # noqa: RUF012

    def __init__(
        self,
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
        render_mode: str | None = None,
    ) -> None:
        self.space = RuleSpace.of(get_family(family), known)
        self.world = _check_world(world)
        if observation is None:
            observation = ObservationModel(
                noise=noise, stride=stride, window=window, stats_sigma=sigma
            )
        elif not isinstance(observation, ObservationModel):
            raise ValueError(f"observation must be an ObservationModel, got {observation!r}")
        elif (noise, stride, window, sigma) != (0.0, 1, None, None):
            raise ValueError(
                "give either observation= or noise/stride/window/sigma, not both "
                f"(got observation={observation.describe()} and noise={noise!r}, "
                f"stride={stride!r}, window={window!r}, sigma={sigma!r})"
            )
        observation.check_world(*self.world)
        self.model = observation
        if menu is None or isinstance(menu, str):
            menu = _named_menu("v0" if menu is None else menu, self.space, self.world, observation)
        self.menu = _check_menu(menu, self.world, observation)
        if not isinstance(design, bool):
            raise ValueError(f"design must be True or False, got {design!r}")
        self.design = design
        if not _is_int(max_experiment_steps) or max_experiment_steps < observation.stride:
            raise ValueError(
                f"max_experiment_steps must be an int >= the stride {observation.stride}, "
                f"got {max_experiment_steps!r}"
            )
        self.max_experiment_steps = int(max_experiment_steps)
        self.prior = make_prior(prior, self.space)
        if isinstance(inference, str):
            name = auto_engine(self.space, observation) if inference == "auto" else inference
            self.engine_factory: EngineFactory = engine_class(name)
            self.inference = name
        else:
            self.engine_factory = inference
            self.inference = getattr(inference, "name", "custom")
        self.engine_factory(self.space, observation)  # refuse unsupported settings now
        self.reward_function = make_reward(reward)
        if frame_observation and observation.stats_sigma is not None:
            raise ValueError("frame_observation=True needs frames; stats(sigma) shows none")
        self.frame_observation = bool(frame_observation)
        if not _is_int(max_steps) or max_steps < 1:
            raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
        self.max_steps = int(max_steps)
        if not isinstance(repeat_tests, bool):
            raise ValueError(f"repeat_tests must be True or False, got {repeat_tests!r}")
        self.repeat_tests = repeat_tests
        if battery not in BATTERIES:
            raise ValueError(f"battery must be one of {', '.join(BATTERIES)}, got {battery!r}")
        self.battery = battery
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode

        h, w = observation.region(*self.world)
        full_experiment = observation.cost(*self.world, 16)
        self.experiment_budget = check_budget(
            _DEFAULT_EXPERIMENTS * full_experiment
            if experiment_budget is None
            else experiment_budget,
            "experiment_budget",
        )
        self.compute_budget = check_budget(
            _DEFAULT_REPLAYS * 16 * self.world[0] * self.world[1]
            if compute_budget is None
            else compute_budget,
            "compute_budget",
        )
        self.item_costs = np.array(
            [observation.cost(*item.shape_in(self.world), item.steps) for item in self.menu]
        )
        self.limits = ExperimentLimits(observation, self.world, self.max_experiment_steps)
        self.smallest_world = self.limits.smallest_world
        #: Cost of the cheapest designed experiment (smallest world, fewest steps).
        self.cheapest_design = observation.cost(*self.smallest_world, observation.stride)
        if self.experiment_budget < self.item_costs.min():
            raise ValueError(
                f"experiment_budget {self.experiment_budget} cannot pay for any experiment; "
                f"the cheapest menu item costs {int(self.item_costs.min())} observed cell-steps"
            )

        n_menu, n_free = len(self.menu), self.space.n_free
        self.n_actions = n_menu + n_free + 2
        self.action_space = self._action_space()
        observation_spaces: dict[str, spaces.Space] = {
            "p_one": spaces.Box(0.0, 1.0, (n_free,), np.float32),
            "confidence": spaces.Box(0.0, 1.0, (n_free,), np.float32),
            "budget_left": spaces.Box(0.0, 1.0, (2,), np.float32),
            "last_experiment": spaces.Box(0.0, 1.0, (N_STATS * SUMMARY_FRAMES,), np.float32),
            "spent_per_item": spaces.Box(0.0, 1.0, (n_menu,), np.float32),
        }
        if self.frame_observation:
            observation_spaces["frame"] = spaces.Box(0, 255, (h, w, 1), np.uint8)
        self.observation_space = spaces.Dict(observation_spaces)
        self._battery = scoring_battery(self.world)
        self._battery_seeds = np.random.SeedSequence()
        self._lab: Lab | None = None
        #: What agents see (``lifegym.public``): settings copied now, state pushed after
        #: every reset and step; it holds nothing that leads back here.
        self.agent_view = EnvView.of(self)

    # -- action layout -------------------------------------------------------------------

    def _action_space(self) -> spaces.Space:
        discrete = spaces.Discrete(self.n_actions)
        if not self.design:
            return discrete
        (h0, w0), (height, width) = self.smallest_world, self.world
        stride = self.model.stride
        return spaces.Dict(
            {
                "design": spaces.Discrete(2),
                "action": discrete,
                "cells": spaces.MultiBinary((height, width)),
                "size": spaces.MultiDiscrete([height - h0 + 1, width - w0 + 1], start=[h0, w0]),
                "steps": spaces.Discrete(self.max_experiment_steps - stride + 1, start=stride),
            }
        )

    def design_action(self, cells: CellsLike, steps: int) -> dict[str, Any]:
        """The ``design=True`` action that runs ``cells`` (a 0/1 array, RLE or plaintext
        rows of ``.``/``o``; the world is its shape) for ``steps`` steps. ValueError naming
        the value and the limit when it does not fit."""
        if not self.design:
            raise ValueError("designed experiments need gym.make(..., design=True)")
        grid = self._check_design(cells, steps)
        return design_dict(grid, steps, self.world, self.submit_action)

    def _check_design(self, cells: CellsLike, steps: object) -> np.ndarray:
        """The initial condition of a design as uint8 (h, w), or ValueError naming the bad
        value and the limit (shape within the allowed worlds, 0/1 values, steps)."""
        grid = parse_cells(cells, max_shape=self.world)
        self.limits.check_shape(grid.shape, "a designed world")
        self.limits.check_steps(steps, "a designed experiment's steps")
        return grid

    def _design_from_action(self, action: dict[str, Any]) -> tuple[np.ndarray, int]:
        """(cells, steps) of a ``design=1`` dict action (canonical or convenience form)."""
        for key in ("cells", "steps"):
            if key not in action:
                raise ValueError(f"a designed experiment needs {key!r}; got keys {sorted(action)}")
        cells, steps = action["cells"], action["steps"]
        if isinstance(steps, np.ndarray) and steps.shape == () and steps.dtype.kind in "iu":
            steps = steps.item()
        if "size" in action and not isinstance(cells, str):
            size = np.asarray(action["size"])
            if size.shape != (2,) or size.dtype.kind not in "iu":
                raise ValueError(f"size must be two ints (height, width), got {action['size']!r}")
            grid = np.asarray(cells)
            if grid.shape != self.world:
                raise ValueError(
                    f"with size given, cells must be the whole {self.world} array "
                    f"(cells[:height, :width] is used), got shape {grid.shape}"
                )
            height, width = int(size[0]), int(size[1])
            if not (1 <= height <= self.world[0] and 1 <= width <= self.world[1]):
                raise ValueError(
                    f"size {height}x{width} is outside 1..{self.world[0]} x 1..{self.world[1]}"
                )
            cells = grid[:height, :width]
        return self._check_design(cells, steps), int(steps)

    @property
    def test_map_action(self) -> int:
        return len(self.menu) + self.space.n_free

    @property
    def submit_action(self) -> int:
        return self.test_map_action + 1

    def describe_action(self, action: int | dict[str, Any]) -> str:
        """Human-readable meaning of ``action``."""
        return self._describe(self._check_action(action))

    def _describe(self, action: int | tuple[np.ndarray, int]) -> str:
        if isinstance(action, tuple):
            cells, steps = action
            return f"design {cells.shape[0]}x{cells.shape[1]} x{steps}"
        n_menu = len(self.menu)
        if action < n_menu:
            return f"request {self.menu[action].name}"
        if action < self.test_map_action:
            return f"test {self.space.free_names[action - n_menu]}"
        return "test MAP" if action == self.test_map_action else "submit"

    def _check_action(self, action: object) -> int | tuple[np.ndarray, int]:
        """The Discrete-face index of ``action``, or (cells, steps) of a designed one."""
        if self.design and isinstance(action, dict):
            flag = action.get("design", 0)
            if isinstance(flag, np.ndarray) and flag.shape == ():
                flag = flag.item()
            if flag not in (0, 1) or isinstance(flag, bool | float):
                raise ValueError(f"action['design'] must be 0 or 1, got {flag!r}")
            if flag == 1:
                return self._design_from_action(action)
            if "action" not in action:
                raise ValueError("action['action'] is missing (the Discrete face's action)")
            action = action["action"]
        n = self.n_actions
        if isinstance(action, np.ndarray) and action.shape == () and action.dtype.kind in "iu":
            action = action.item()
        if not _is_int(action):
            raise TypeError(
                f"action must be an int in [0, {n}), got {action!r} of type {type(action).__name__}"
            )
        if not 0 <= int(action) < n:
            raise ValueError(f"action {action} is outside the action space: allowed 0..{n - 1}")
        return int(action)

    # -- state ---------------------------------------------------------------------------

    @property
    def lab(self) -> Lab:
        if self._lab is None:
            raise RuntimeError("call reset() before using the env")
        return self._lab

    @property
    def belief(self) -> Belief:
        """The current belief of the inference engine."""
        return self._belief

    @property
    def trajectories(self) -> list[VisibleTrajectory]:
        """The visible trajectories so far, oldest first."""
        return self.lab.trajectories

    def action_masks(self) -> np.ndarray:
        """bool (n_actions,): which actions the budgets can pay for (sb3-contrib convention)."""
        if self._lab is None:
            raise RuntimeError("call reset() before using the env")
        return self._mask.copy()

    def _compute_masks(self) -> np.ndarray:
        lab = self.lab
        mask = np.zeros(self.n_actions, dtype=bool)
        mask[: len(self.menu)] = self.item_costs <= lab.experiment_left
        replay = lab.replay_cost()
        if lab.trajectories:
            mask[len(self.menu) : self.test_map_action] = 2 * replay <= lab.compute_left
            mask[self.test_map_action] = replay <= lab.compute_left
            if not self.repeat_tests:  # the same test on the same data changes nothing
                data = len(lab.trajectories)
                mask[len(self.menu) : self.test_map_action] &= self._bit_tested_with != data
                mask[self.test_map_action] &= self._map_tested_with != (
                    data,
                    self._belief.map_rule,
                )
        mask[self.submit_action] = True
        return mask

    # -- gym API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        hidden = self._rule_from_options(options)  # validate before touching any state
        super().reset(seed=seed)
        if seed is not None:
            self._battery_seeds = stream(seed, BATTERY_STREAM)
        if self.battery == "episode":  # a new battery per episode, from the env's own stream
            self._battery_child = self._battery_seeds.spawn(1)[0]  # drawn when scored
        if hidden is None:
            hidden = self.prior.sample(self.np_random)
        self._lab = Lab(
            hidden,
            self.model,
            self.world,
            self.experiment_budget,
            self.compute_budget,
            self.np_random,
            max_steps=self.max_experiment_steps,
        )
        self._engine = self.engine_factory(self.space, self.model)
        self._belief = self._engine.belief()
        self._steps = 0
        self._n_tests = 0
        self._bit_tested_with = np.full(self.space.n_free, -1, dtype=np.int64)
        self._map_tested_with: tuple[int, Rule] | None = None
        self._done = False
        self._spent_per_item = np.zeros(len(self.menu))
        self._last_summary = np.zeros(N_STATS * SUMMARY_FRAMES, dtype=np.float32)
        self._mask = self._compute_masks()
        self.agent_view._start(self._belief, self._lab.experiment_left, self._lab.compute_left)
        self._last_info: dict[str, Any] = {}
        info = self._info("reset", 0, 0)
        self._last_info = info
        return self._observation(), info

    def _rule_from_options(self, options: dict[str, Any] | None) -> Rule | None:
        if not options:
            return None
        unknown = set(options) - {"rule"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; accepted: 'rule'")
        rule = options["rule"]
        if isinstance(rule, str):
            rule = Rule.parse(rule)
        if not isinstance(rule, Rule):
            raise ValueError(f"options['rule'] must be a rule string or Rule, got {rule!r}")
        return FixedPrior(self.space, rule).rule  # checks that the rule lies in the space

    def step(
        self, action: int | dict[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        if self._lab is None or self._done:
            raise RuntimeError("the episode has ended (or not started): call reset()")
        checked = self._check_action(action)
        lab = self.lab
        entropy_before = self._belief.entropy
        experiment_before, compute_before = lab.experiment_spent, lab.compute_spent
        described = self._describe(checked)
        if isinstance(checked, tuple):
            cells, steps = checked
            affordable = lab.affordable(steps, (cells.shape[0], cells.shape[1]))
        else:
            affordable = bool(self._mask[checked])
        rejected = "" if affordable else f"cannot pay for {described}"
        test: dict[str, Any] = {}
        submitted_by = ""
        if rejected:
            pass
        elif isinstance(checked, tuple):
            self._absorb(lab.run_array(cells, steps, name="design"))
        elif checked < len(self.menu):
            trajectory = lab.run(self.menu[checked])
            self._spent_per_item[checked] += trajectory.cost
            self._absorb(trajectory)
        elif checked < self.test_map_action:
            test = self._test_bit(checked - len(self.menu))
            self._belief = self._engine.belief()
        elif checked == self.test_map_action:
            test = self._test_map()
        else:
            submitted_by = "agent"
        self._steps += 1
        self._mask = self._compute_masks()
        can_design = self.design and self.cheapest_design <= lab.experiment_left
        if not submitted_by and not self._mask[: len(self.menu)].any() and not can_design:
            submitted_by = "budget"
        truncated = not submitted_by and self._steps >= self.max_steps
        if truncated:
            submitted_by = "truncation"
        experiment_cost = lab.experiment_spent - experiment_before
        compute_cost = lab.compute_spent - compute_before
        info = self._info(described, experiment_cost, compute_cost)
        if rejected:
            info["rejected"] = rejected
        if test:
            info["test"] = test
        result = None
        if submitted_by:
            self._done = True
            result = self._result(submitted_by)
            info["result"] = result.as_dict()
        outcome = StepOutcome(
            entropy_before=entropy_before,
            entropy_after=self._belief.entropy,
            experiment_cost=experiment_cost,
            compute_cost=compute_cost,
            experiment_budget=self.experiment_budget,
            compute_budget=self.compute_budget,
            rejected=bool(rejected),
            finished=result is not None,
            exact=bool(result and result.exact),
            bits_correct=result.bits_correct if result else 0.0,
            identified=bool(result and result.identified),
        )
        reward = float(self.reward_function(outcome))
        terminated = bool(submitted_by) and not truncated
        self.agent_view._update(self._belief, lab.experiment_left, lab.compute_left, self._steps)
        self._last_info = info
        return self._observation(), reward, terminated, bool(truncated), info

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            return None
        if self._lab is None:
            raise RuntimeError("call reset() before render()")
        text = caption(self._last_info, self._steps)
        if self.render_mode == "rgb_array":
            frame = self._last_frame()  # at its own size: render_rgb scales it to the box
            box = max(256, *self.model.region(*self.world))
            return render_rgb(frame, self._belief.p_one, self.space.free_names, text, box)
        return render_ansi(self.agent_view, self._last_info.get("result"), text)

    # -- actions -------------------------------------------------------------------------

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        self._last_summary = experiment_summary(trajectory)
        self.agent_view._add(trajectory)
        self._engine.update(trajectory)
        self._belief = self._engine.belief()

    def _test_bit(self, free_index: int) -> dict[str, Any]:
        lab = self.lab
        lab.charge_compute(2 * lab.replay_cost())
        values = self.space.free_values(self._belief.map_rule)
        rules = []
        for value in (1, 0):
            values[free_index] = value
            rules.append(self.space.rule(values))
        log_odds = self._engine.component_log_odds(*rules)
        self._engine.absorb_test(free_index, log_odds)
        self._bit_tested_with[free_index] = len(lab.trajectories)
        self._n_tests += 1
        return {"kind": "bit", "bit": self.space.free_names[free_index], "log_odds": log_odds}

    def _test_map(self) -> dict[str, Any]:
        lab = self.lab
        lab.charge_compute(lab.replay_cost())
        comparison = compare(self._belief.map_rule, lab.trajectories)
        self._map_tested_with = (len(lab.trajectories), self._belief.map_rule)
        self._n_tests += 1
        return {"kind": "map", **dataclasses.asdict(comparison)}

    # -- outputs -------------------------------------------------------------------------

    # -- for harnesses whose agent submits its own rule (``lifegym.protocol``) -----------

    def run_cells(self, cells: CellsLike, steps: int) -> VisibleTrajectory:
        """Run an initial condition (0/1 array, RLE or plaintext; checked as a design is,
        with or without ``design=True``) for ``steps`` steps outside ``step()``: charged,
        recorded and folded into the belief like any experiment. ValueError naming the
        value and the limit, or :class:`~lifegym.lab.BudgetError`, leave the env as it was."""
        grid = self._check_design(cells, steps)
        trajectory = self.lab.run_array(grid, int(steps), name="design")
        self._absorb(trajectory)
        return trajectory

    def run_item(self, item: int) -> VisibleTrajectory:
        """Run menu item ``item`` outside ``step()`` (as :meth:`run_cells`)."""
        trajectory = self.lab.run(self.menu[item])
        self._spent_per_item[item] += trajectory.cost
        self._absorb(trajectory)
        return trajectory

    def charge_test(self, cell_steps: int) -> None:
        """Charge a harness's own test to the compute budget (BudgetError if it cannot pay)."""
        self.lab.charge_compute(cell_steps)
        self._n_tests += 1

    def score(self, rule: Rule, submitted_by: str = "agent") -> EpisodeResult:
        """The end-of-episode result had ``rule`` been submitted now (see Episode End)."""
        return self._result(submitted_by, rule)

    def _result(self, submitted_by: str, submitted: Rule | None = None) -> EpisodeResult:
        lab, belief = self.lab, self._belief
        ending = Ending(
            lab.hidden_rule,
            belief.map_rule if submitted is None else submitted,
            lab.trajectories,
            self._episode_battery(),
            self._engine.class_probability,
            costs={
                "experiment_cost": lab.experiment_spent,
                "compute_cost": lab.compute_spent,
                "n_experiments": len(lab.trajectories),
                "n_tests": self._n_tests,
                "submitted_by": submitted_by,
                "belief_entropy": float(belief.entropy),
                "n_consistent": -1 if belief.n_consistent is None else int(belief.n_consistent),
            },
        )
        return score_episodes([ending], self.space, self.model)[0]

    def _episode_battery(self) -> np.ndarray | LazyBattery:
        """The scoring battery of this episode (``battery``): fixed, or drawn from the
        episode's own battery stream (as the match test asks for its density groups)."""
        if self.battery == "episode":
            return LazyBattery(self.world, np.random.default_rng(self._battery_child))
        return self._battery

    def _info(self, action: str, experiment_cost: int, compute_cost: int) -> dict[str, Any]:
        belief, lab = self._belief, self.lab
        return {
            "action": action,
            "experiment_cost": int(experiment_cost),
            "compute_cost": int(compute_cost),
            "experiment_spent": int(lab.experiment_spent),
            "compute_spent": int(lab.compute_spent),
            "entropy": float(belief.entropy),
            "n_consistent": -1 if belief.n_consistent is None else int(belief.n_consistent),
            "map_rule": str(belief.map_rule),
            "action_mask": self.action_masks(),
        }

    def _last_frame(self) -> np.ndarray:
        """The last observed frame at its own size (the initial condition when only
        statistics are seen; zeros of the observed region before any experiment)."""
        trajectories = self.lab.trajectories if self._lab is not None else []
        if not trajectories:
            return np.zeros(self.model.region(*self.world), dtype=np.uint8)
        last = trajectories[-1]
        if last.frames is not None and len(last.frames):
            return last.frames[-1]
        h, w = self.model.region(*last.world_shape)
        return last.initial[:h, :w]

    def _frame_to_show(self) -> np.ndarray:
        """The last observed frame padded (top-left) to the observed region of the world."""
        h, w = self.model.region(*self.world)
        shown = self._last_frame()
        if shown.shape == (h, w):
            return shown
        padded = np.zeros((h, w), dtype=np.uint8)  # a smaller world, top-left
        padded[: shown.shape[0], : shown.shape[1]] = shown
        return padded

    def _observation(self) -> dict[str, np.ndarray]:
        belief = self._belief
        lab = self.lab
        observation: dict[str, np.ndarray] = {
            "p_one": belief.p_one.astype(np.float32),
            "confidence": belief.confidence.astype(np.float32),
            "budget_left": np.array(
                [
                    lab.experiment_left / self.experiment_budget if self.experiment_budget else 0,
                    lab.compute_left / self.compute_budget if self.compute_budget else 0,
                ],
                dtype=np.float32,
            ),
            "last_experiment": self._last_summary.copy(),
            "spent_per_item": (self._spent_per_item / max(self.experiment_budget, 1)).astype(
                np.float32
            ),
        }
        if self.frame_observation:
            observation["frame"] = (self._frame_to_show() * 255).astype(np.uint8)[..., None]
        return observation
