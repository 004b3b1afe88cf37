"""``RuleDiscoveryEnv``: find the hidden rule of a Life-like cellular automaton on a budget."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from lifegym import episodes
from lifegym.behaviour import battery as scoring_battery
from lifegym.io import CellsLike, parse_cells
from lifegym.lab import Lab
from lifegym.likelihood import compare
from lifegym.observe import N_STATS, is_int
from lifegym.public import EnvView, design_dict
from lifegym.reward import StepOutcome
from lifegym.rules import Rule
from lifegym.scoring import Ending, EpisodeResult, score_episodes
from lifegym.seeding import BATTERY_STREAM, stream
from lifegym.settings import (
    DEFAULT_MAX_EXPERIMENT_STEPS,
    MENUS,
    EnvSettings,
    env_settings,
)
from lifegym.types import Belief, VisibleTrajectory
from lifegym.viewer import caption, render_ansi, render_rgb

__all__ = [
    "DEFAULT_MAX_EXPERIMENT_STEPS",
    "MENUS",
    "RuleDiscoveryEnv",
    "action_space",
    "observation_space",
]

#: The settings fields an env answers for as its own attributes.
_SETTINGS_FIELDS = frozenset(
    [field.name for field in dataclasses.fields(EnvSettings)] + ["smallest_world"]
)
#: The one row of a single env's batch (``lifegym.episodes``).
_ROW = np.zeros(1, dtype=np.int64)
_ROW.setflags(write=False)
_LIVE = np.ones(1, dtype=bool)
_LIVE.setflags(write=False)


def action_space(settings: EnvSettings) -> spaces.Space:
    """The action space of an env of ``settings`` (see ``RuleDiscoveryEnv``'s Action Space)."""
    discrete = spaces.Discrete(settings.layout.n_actions)
    if not settings.design:
        return discrete
    (h0, w0), (height, width) = settings.smallest_world, settings.world
    fewest = settings.model.fewest_steps
    return spaces.Dict(
        {
            "design": spaces.Discrete(2),
            "action": discrete,
            "cells": spaces.MultiBinary((height, width)),
            "size": spaces.MultiDiscrete([height - h0 + 1, width - w0 + 1], start=[h0, w0]),
            "steps": spaces.Discrete(settings.max_experiment_steps - fewest + 1, start=fewest),
        }
    )


def observation_space(settings: EnvSettings) -> spaces.Dict:
    """The observation space of an env of ``settings`` (``RuleDiscoveryEnv``'s Observation
    Space)."""
    n_menu, n_free = settings.layout.n_menu, settings.layout.n_free
    observation_spaces: dict[str, spaces.Space] = {
        "p_one": spaces.Box(0.0, 1.0, (n_free,), np.float32),
        "confidence": spaces.Box(0.0, 1.0, (n_free,), np.float32),
        "budget_left": spaces.Box(0.0, 1.0, (2,), np.float32),
        "last_experiment": spaces.Box(0.0, 1.0, (N_STATS * episodes.SUMMARY_FRAMES,), np.float32),
        "spent_per_item": spaces.Box(0.0, 1.0, (n_menu,), np.float32),
    }
    if settings.frame_observation:
        h, w = settings.model.region(*settings.world)
        observation_spaces["frame"] = spaces.Box(0, 255, (h, w, 1), np.uint8)
    return spaces.Dict(observation_spaces)


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

    def __init__(self, render_mode: str | None = None, **arguments: Any) -> None:
        """``arguments``: those of the Arguments table (``lifegym.settings.env_settings``)."""
        self.settings = settings = env_settings(**arguments)
        self.render_mode = self.check_render_mode(render_mode)
        self.action_space = action_space(settings)
        self.observation_space = observation_space(settings)
        #: The scoring battery of ``battery="fixed"`` (one for every episode).
        self.fixed_battery = scoring_battery(settings.world)
        self._battery_seeds = np.random.SeedSequence()
        self._battery_child: np.random.SeedSequence | None = None
        self._lab: Lab | None = None
        self._state = episodes.EpisodeBatch.empty(1, settings.layout, "", settings.model.noise)
        self._seen_map_rule: Rule | None = None  # the MAP rule of the batch's row 0
        #: What agents see (``lifegym.public``): settings copied now, state pushed after
        #: every reset and step; it holds nothing that leads back here.
        self.agent_view = EnvView.of(self)

    @classmethod
    def check_render_mode(cls, render_mode: object) -> str | None:
        """``render_mode``, or a ValueError naming it and the modes allowed."""
        if render_mode is not None and render_mode not in cls.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {cls.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        return render_mode if render_mode is None else str(render_mode)

    def __getattr__(self, name: str) -> Any:
        """The fields of :attr:`settings` read as the env's own (``env.unwrapped.menu``)."""
        if name != "settings" and name in _SETTINGS_FIELDS:
            return getattr(self.settings, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- action layout -------------------------------------------------------------------

    def design_action(self, cells: CellsLike, steps: int) -> dict[str, Any]:
        """The ``design=True`` action that runs ``cells`` (a 0/1 array, RLE or plaintext
        rows of ``.``/``o``; the world is its shape) for ``steps`` steps. ValueError naming
        the value and the limit when it does not fit."""
        if not self.settings.design:
            raise ValueError("designed experiments need gym.make(..., design=True)")
        grid = self._check_design(cells, steps)
        return design_dict(grid, steps, self.settings.world, self.submit_action)

    def _check_design(self, cells: CellsLike, steps: object) -> np.ndarray:
        """The initial condition of a design as uint8 (h, w), or ValueError naming the bad
        value and the limit (shape within the allowed worlds, 0/1 values, steps)."""
        grid = parse_cells(cells, max_shape=self.settings.world)
        self.settings.limits.check_shape(grid.shape, "a designed world")
        self.settings.limits.check_steps(steps, "a designed experiment's steps")
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
            if grid.shape != self.settings.world:
                raise ValueError(
                    f"with size given, cells must be the whole {self.settings.world} array "
                    f"(cells[:height, :width] is used), got shape {grid.shape}"
                )
            height, width = int(size[0]), int(size[1])
            if not (1 <= height <= self.settings.world[0] and 1 <= width <= self.settings.world[1]):
                raise ValueError(
                    f"size {height}x{width} is outside 1..{self.settings.world[0]} x 1..{self.settings.world[1]}"
                )
            cells = grid[:height, :width]
        return self._check_design(cells, steps), int(steps)

    @property
    def n_actions(self) -> int:
        return self.settings.layout.n_actions

    @property
    def test_map_action(self) -> int:
        return self.settings.layout.test_map

    @property
    def submit_action(self) -> int:
        return self.settings.layout.submit

    def describe_action(self, action: int | dict[str, Any]) -> str:
        """Human-readable meaning of ``action``."""
        return self._describe(self._check_action(action))

    def _describe(self, action: int | tuple[np.ndarray, int]) -> str:
        if isinstance(action, tuple):
            cells, steps = action
            return episodes.design_description(cells.shape[0], cells.shape[1], steps)
        return self.settings.layout.describe(action)

    def _check_action(self, action: object) -> int | tuple[np.ndarray, int]:
        """The Discrete-face index of ``action``, or (cells, steps) of a designed one."""
        if self.settings.design and isinstance(action, dict):
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
        if not is_int(action):
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
        return self._state.mask[0].copy()

    def _record_lab(self) -> None:
        """Copy what the lab spent and ran into the episode's row, and refresh its masks."""
        lab, state = self.lab, self._state
        state.experiment_spent[0] = lab.experiment_spent
        state.compute_spent[0] = lab.compute_spent
        state.replay_cost[0] = lab.replay_cost()
        state.n_trajectories[0] = len(lab.trajectories)
        settings = self.settings
        episodes.refresh_masks(
            state, _ROW, settings.layout, settings.item_costs, settings.budgets,
            settings.repeat_tests,
        )  # fmt: skip

    def _set_belief(self, belief: Belief) -> None:
        """Make ``belief`` the episode's (its row of the batch: the MAP rule's free bits
        and name are found again only when the engine gives a new MAP rule)."""
        state = self._state
        if belief.map_rule is not self._seen_map_rule:
            state.map_values[0] = self.settings.space.free_values(belief.map_rule)
            state.map_strings[0] = str(belief.map_rule)
            self._seen_map_rule = belief.map_rule
        self._belief = belief
        state.p_one[0] = belief.p_one
        state.entropy[0] = belief.entropy
        state.n_consistent[0] = -1 if belief.n_consistent is None else belief.n_consistent

    # -- gym API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        settings = self.settings
        hidden = episodes.hidden_rule_from_options(options, settings.space)  # before any change
        super().reset(seed=seed)
        if seed is not None:
            self._battery_seeds = stream(seed, BATTERY_STREAM)
        if settings.battery == "episode":  # a new battery per episode, from the env's stream
            self._battery_child = self._battery_seeds.spawn(1)[0]  # drawn when scored
        if hidden is None:
            hidden = settings.prior.sample(self.np_random)
        self._lab = Lab(
            hidden,
            settings.model,
            settings.world,
            settings.experiment_budget,
            settings.compute_budget,
            self.np_random,
            max_steps=settings.max_experiment_steps,
        )
        self._engine = settings.engine_factory(settings.space, settings.model)
        self._seen_map_rule = None
        self._state.restart(0)
        self._set_belief(self._engine.belief())
        self._done = False
        self._record_lab()
        self.agent_view._start(self._belief, self._lab.experiment_left, self._lab.compute_left)
        self._last_info: dict[str, Any] = {}
        info = self._info("reset", 0, 0)
        self._last_info = info
        return self._observation(), info

    def step(
        self, action: int | dict[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
        if self._lab is None or self._done:
            raise RuntimeError("the episode has ended (or not started): call reset()")
        checked = self._check_action(action)
        lab, state, settings = self.lab, self._state, self.settings
        entropy_before = state.entropy[0]
        experiment_before, compute_before = lab.experiment_spent, lab.compute_spent
        described = self._describe(checked)
        if isinstance(checked, tuple):
            cells, steps = checked
            allowed = lab.affordable(steps, (cells.shape[0], cells.shape[1]))
        else:
            allowed = bool(state.mask[0, checked])
        test: dict[str, Any] = {}
        if not allowed:
            pass
        elif isinstance(checked, tuple):
            self._absorb(lab.run_array(cells, steps, name="design"))
        elif checked < settings.layout.n_menu:
            trajectory = lab.run(settings.menu[checked])
            state.spent_per_item[0, checked] += trajectory.cost
            self._absorb(trajectory)
        elif checked < settings.layout.test_map:
            test = self._test_bit(checked - settings.layout.n_menu)
            self._set_belief(self._engine.belief())
        elif checked == settings.layout.test_map:
            test = self._test_map()
        state.steps[0] += 1
        self._record_lab()
        submits = np.array([checked == settings.layout.submit])
        can_design = np.array([settings.design and settings.cheapest_design <= lab.experiment_left])
        ends = episodes.episode_ends(
            state, _LIVE, submits, settings.layout.n_menu, can_design, settings.max_steps
        )
        ended, truncated = int(ends[0]), bool(ends[0] == episodes.TRUNCATED)
        experiment_cost = lab.experiment_spent - experiment_before
        compute_cost = lab.compute_spent - compute_before
        info = self._info(described, experiment_cost, compute_cost)
        if not allowed:
            info["rejected"] = episodes.rejection(described)
        if test:
            info["test"] = test
        result = None
        if ended:
            self._done = True
            result = self._result(episodes.END_REASONS[ended]).as_dict()
            info["result"] = result
        finished, exact, bits_correct, identified = episodes.end_outcome(result)
        outcome = StepOutcome(
            entropy_before=float(entropy_before),
            entropy_after=float(state.entropy[0]),
            experiment_cost=experiment_cost,
            compute_cost=compute_cost,
            experiment_budget=settings.experiment_budget,
            compute_budget=settings.compute_budget,
            rejected=not allowed,
            finished=finished,
            exact=exact,
            bits_correct=bits_correct,
            identified=identified,
        )
        reward = float(settings.reward_function(outcome))
        self.agent_view._update(
            self._belief, lab.experiment_left, lab.compute_left, int(state.steps[0])
        )
        self._last_info = info
        return self._observation(), reward, bool(ended) and not truncated, truncated, info

    def render(self) -> np.ndarray | str | None:
        if self.render_mode is None:
            return None
        if self._lab is None:
            raise RuntimeError("call reset() before render()")
        text = caption(self._last_info, int(self._state.steps[0]))
        if self.render_mode == "rgb_array":
            frame = self._last_frame()  # at its own size: render_rgb scales it to the box
            box = max(256, *self.settings.model.region(*self.settings.world))
            return render_rgb(frame, self._belief.p_one, self.settings.space.free_names, text, box)
        return render_ansi(self.agent_view, self._last_info.get("result"), text)

    # -- actions -------------------------------------------------------------------------

    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        self._state.summary[0] = episodes.experiment_summary(trajectory)
        self.agent_view._add(trajectory)
        self._engine.update(trajectory)
        self._set_belief(self._engine.belief())

    def _test_bit(self, free_index: int) -> dict[str, Any]:
        lab, state = self.lab, self._state
        lab.charge_compute(episodes.BIT_TEST_REPLAYS * lab.replay_cost())
        tested = np.array([free_index])
        set_, cleared = (
            self.settings.space.rule(v)
            for v in episodes.tested_values(state.map_values[:1], tested)
        )
        log_odds = self._engine.component_log_odds(set_, cleared)
        self._engine.absorb_test(free_index, log_odds)
        episodes.record_tests(state, _ROW, tested, _ROW[:0])
        return episodes.bit_test_record(self.settings.space.free_names[free_index], log_odds)

    def _test_map(self) -> dict[str, Any]:
        lab = self.lab
        lab.charge_compute(episodes.MAP_TEST_REPLAYS * lab.replay_cost())
        comparison = compare(self._belief.map_rule, lab.trajectories)
        episodes.record_tests(self._state, _ROW[:0], _ROW[:0], _ROW)
        return episodes.map_test_record(comparison)

    # -- for harnesses whose agent submits its own rule (``lifegym.protocol``) -----------

    def run_cells(self, cells: CellsLike, steps: int) -> VisibleTrajectory:
        """Run an initial condition (0/1 array, RLE or plaintext; checked as a design is,
        with or without ``design=True``) for ``steps`` steps outside ``step()``: charged,
        recorded and folded into the belief like any experiment. ValueError naming the
        value and the limit, or :class:`~lifegym.lab.BudgetError`, leave the env as it was."""
        grid = self._check_design(cells, steps)
        trajectory = self.lab.run_array(grid, int(steps), name="design")
        self._absorb(trajectory)
        self._record_lab()
        return trajectory

    def run_item(self, item: int) -> VisibleTrajectory:
        """Run menu item ``item`` outside ``step()`` (as :meth:`run_cells`)."""
        trajectory = self.lab.run(self.settings.menu[item])
        self._state.spent_per_item[0, item] += trajectory.cost
        self._absorb(trajectory)
        self._record_lab()
        return trajectory

    def charge_test(self, cell_steps: int) -> None:
        """Charge a harness's own test to the compute budget (BudgetError if it cannot pay)."""
        self.lab.charge_compute(cell_steps)
        self._state.n_tests[0] += 1
        self._record_lab()

    def score(self, rule: Rule, submitted_by: str = "agent") -> EpisodeResult:
        """The end-of-episode result had ``rule`` been submitted now (see Episode End)."""
        return self._result(submitted_by, rule)

    def _result(self, submitted_by: str, submitted: Rule | None = None) -> EpisodeResult:
        ending = Ending(
            self.lab.hidden_rule,
            self._belief.map_rule if submitted is None else submitted,
            self.lab.trajectories,
            episodes.episode_battery(
                self.settings.battery, self.fixed_battery, self.settings.world, self._battery_child
            ),
            self._engine.class_probability,
            costs=episodes.ending_costs(self._state, 0, submitted_by),
        )
        return score_episodes([ending], self.settings.space, self.settings.model)[0]

    def _info(self, action: str, experiment_cost: int, compute_cost: int) -> dict[str, Any]:
        return episodes.info_columns(self._state, 0, action, experiment_cost, compute_cost)

    def _last_frame(self) -> np.ndarray:
        """The last observed frame at its own size (the initial condition when only
        statistics are seen; zeros of the observed region before any experiment)."""
        trajectories = self.lab.trajectories if self._lab is not None else []
        if not trajectories:
            return np.zeros(self.settings.model.region(*self.settings.world), dtype=np.uint8)
        last = trajectories[-1]
        if last.frames is not None and len(last.frames):
            return last.frames[-1]
        h, w = self.settings.model.region(*last.world_shape)
        return last.initial[:h, :w]

    def _frame_to_show(self) -> np.ndarray:
        """The last observed frame padded (top-left) to the observed region of the world."""
        h, w = self.settings.model.region(*self.settings.world)
        shown = self._last_frame()
        if shown.shape == (h, w):
            return shown
        padded = np.zeros((h, w), dtype=np.uint8)  # a smaller world, top-left
        padded[: shown.shape[0], : shown.shape[1]] = shown
        return padded

    def _observation(self) -> dict[str, np.ndarray]:
        observation = episodes.observations(self._state, self.settings.budgets, 0)
        if self.settings.frame_observation:
            observation["frame"] = (self._frame_to_show() * 255).astype(np.uint8)[..., None]
        return observation
