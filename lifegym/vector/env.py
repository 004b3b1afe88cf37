"""``RuleDiscoveryVectorEnv``: N episodes of one exact-counting preset stepped together.

``gym.make_vec("lifegym/LifeLike-Noisy-v1", num_envs=64)`` builds it (the v1 presets'
``vector_entry_point`` is :func:`make_vector_env`). It plays exactly the episodes N
``RuleDiscoveryEnv`` of the same arguments would play for the same seeds and actions --
observations, rewards, terminations, infos and ``info["result"]`` bit for bit. The rules
of an episode are the single env's own: both keep an :class:`~lifegym.episodes.EpisodeBatch`
(the single env a batch of one) and call the functions of ``lifegym.episodes`` for what an
action means, which actions are allowed, how an episode ends, what is observed and reported
and what a reward sees, and ``lifegym.settings`` for what the arguments mean. What is this
module's own is how the work is done: it keeps every episode's experiments in one arena
and does each step's work for all episodes at once:

* **requests**: the hidden rules of all requesting episodes run (bit-packed for B/S rules),
  their cells are flipped, their transitions and frame statistics counted and their frames
  stored for the tests in one kernel call a step, whatever their world sizes and lengths
  (``lifegym.vector.kernels.run_packed_jobs`` / ``run_table_jobs``); only the random draws
  (initial condition, cell noise) are made per episode, from each episode's own generator,
  in the single env's order;
* **bit tests**: the MAP rule with the bit set and cleared is scored against every visible
  trajectory of every testing episode in one kernel call (``test_packed`` for B/S rules,
  ``test_tables``), the trajectories kept in one arena, each episode's tested rules'
  log-likelihoods kept so that a rule is replayed only on trajectories it has not seen;
* **beliefs**: the exact engine's posterior (``lifegym.inference.exact.posterior``) of
  every episode whose data changed, in one array operation;
* **masks, observations, rewards, infos**: ``lifegym.episodes`` over the batch.

* **episode ends**: every episode ending in a step is scored together
  (``lifegym.scoring.score_episodes``, as the single env scores its one): the undetermined
  bits of all their MAP rules in one kernel call over the arena (table rules) or from its
  packed initial conditions (B/S rules), and their behavioural tests screened in one
  kernel call per density group (``lifegym.behaviour.behavioural_matches``).

What stays per episode: the random draws, resets, and a few lookups at the episode's end
(its observational class, the rules' names).

The kernels run on the thread that steps the env: at a step's sizes (a few ms of work),
waking numba's fork-safe workqueue threads cost more than they saved (measured: 20% fewer
steps/s with two threads than with one).

Limits: the ``Discrete`` face (``design=False``), the ``exact`` engine, no ``frame``
observation and no rendering. :func:`make_vector_env` falls back to
:class:`MaskedSyncVectorEnv` (N single envs in this process, same semantics) for anything
else.

Autoreset: ``autoreset_mode`` ``NEXT_STEP`` (Gymnasium's default: the step after an
episode ends resets it, ignores its action and returns reward 0) or ``SAME_STEP`` (the
ending step returns the new episode's first observation; the last one is in
``info["final_obs"]``, its info in ``info["final_info"]``), as ``metadata["autoreset_mode"]``
says. ``reset(options={"reset_mask": mask})`` resets only the masked episodes.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, SyncVectorEnv, VectorEnv
from gymnasium.vector.utils import batch_space, iterate

from lifegym import episodes
from lifegym.behaviour import battery as scoring_battery
from lifegym.env import RuleDiscoveryEnv, action_space, observation_space
from lifegym.experiments import draw_soup, initial_condition
from lifegym.families import TOTALISTIC
from lifegym.inference.exact import ExactEngine, marginals
from lifegym.inference.exact import class_probability as exact_class_probability
from lifegym.likelihood import Comparison
from lifegym.observe import (
    COUNT_FIELDS,
    N_STATS,
    ObservationModel,
    bernoulli_chunk,
    bernoulli_rate,
    block_channel,
)
from lifegym.patterns import RUN_COLUMNS, occurring_bits
from lifegym.rules import Rule
from lifegym.scoring import Ending, PackedGroup, score_episodes, shows_every_flip
from lifegym.seeding import BATTERY_STREAM, stream
from lifegym.settings import EnvSettings, env_settings
from lifegym.sim import bs_rule_words
from lifegym.types import VisibleTrajectory
from lifegym.vector.arena import Arena
from lifegym.vector.kernels import (
    JOB_ARENA_AT,
    JOB_CELLS_AT,
    JOB_COLUMNS,
    JOB_DRAWS_AT,
    JOB_DRAWS_END,
    JOB_FRAMES_AT,
    JOB_HEIGHT,
    JOB_SEEN_AT,
    JOB_SEEN_H,
    JOB_SEEN_W,
    JOB_STEPS,
    JOB_WIDTH,
    run_packed_jobs,
    run_table_jobs,
    suffix_sums,
    test_packed,
    test_tables,
)

__all__ = [
    "NATIVE_OBSERVES",
    "MaskedSyncVectorEnv",
    "RuleDiscoveryVectorEnv",
    "check_actions",
    "make_sync_vector_env",
    "make_vector_env",
    "native_unsupported",
]

#: Most MAP-rule strings remembered (info["map_rule"] of recent beliefs).
_RULE_CACHE = 1 << 16


#: The observation features the native env's kernels carry out (``ObservationModel.features``).
NATIVE_OBSERVES = frozenset({"frames", "noise", "window"})


def native_unsupported(settings: EnvSettings, render_mode: object = None) -> str | None:
    """Why the native vector env cannot run ``settings`` (None: it can)."""
    if settings.design:
        return "design=True (the native env steps the Discrete face)"
    if settings.engine_factory is not ExactEngine:
        return f"inference {settings.inference!r} (the native env batches the exact engine)"
    if settings.frame_observation:
        return "frame_observation=True"
    if render_mode is not None:
        return f"render_mode={render_mode!r}"
    missing = settings.model.features - NATIVE_OBSERVES
    if missing:
        return (
            f"observation {settings.model.describe()} (its kernels handle "
            f"{', '.join(sorted(NATIVE_OBSERVES))}, not {', '.join(sorted(missing))})"
        )
    if settings.model.noise >= 0.5:
        return f"noise={settings.model.noise} (observe draws every cell at p >= 0.5)"
    return None


def _check_mode(autoreset_mode: object) -> AutoresetMode:
    allowed = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)
    try:
        mode = AutoresetMode(autoreset_mode)
    except ValueError:
        mode = None
    if mode not in allowed:
        raise ValueError(
            f"autoreset_mode must be one of {[m.value for m in allowed]}, got {autoreset_mode!r}"
        )
    return mode


def _seeds(seed: object, n: int) -> list[int | None]:
    """The seed of each of ``n`` episodes (``seed + i`` for an int, as ``SyncVectorEnv``
    gives them), or a ValueError naming ``seed`` and what is allowed."""
    if seed is None:
        return [None] * n
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        return [int(seed) + i for i in range(n)]
    if not isinstance(seed, list | tuple | np.ndarray):
        raise ValueError(
            f"seed must be None, an int or a list of num_envs={n} ints or None, got {seed!r}"
        )
    seeds = list(seed)
    if len(seeds) != n:
        raise ValueError(f"seed: a list must hold num_envs={n} seeds, got {len(seeds)}")
    return seeds


def _geometry(world: tuple[int, int], steps: int, model: ObservationModel) -> list[int]:
    """The leading ``JOB_*`` columns of a request of ``steps`` steps in ``world``."""
    height, width = world
    seen_h, seen_w = model.region(height, width)
    return [height, width, seen_h, seen_w, steps, int(model.wraps(height, width))]


def _reset_mask(options: dict[str, Any] | None, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    options = dict(options or {})
    mask = options.pop("reset_mask", None)
    if mask is None:
        return np.ones(n, dtype=bool), options
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (n,):
        raise ValueError(
            f"options['reset_mask'] must be a bool array of shape ({n},), got {mask!r}"
        )
    if not mask.any():
        raise ValueError("options['reset_mask'] must reset at least one episode (all False)")
    return mask, options


def _add_infos(infos: dict[str, Any], extras: dict[int, dict[str, Any]], n: int) -> None:
    """Add episode ``i``'s info ``extras[i]`` to the batch's ``infos`` for every ``i`` at once,
    building the arrays and ``_key`` masks ``VectorEnv._add_info`` builds one episode at a
    time (an array's dtype from the type of the first episode's value; dicts nested)."""
    by_key: dict[str, dict[int, Any]] = {}
    for i, extra in extras.items():
        for key, value in extra.items():
            by_key.setdefault(key, {})[i] = value
    for key, values in by_key.items():
        first = next(iter(values.values()))
        if isinstance(first, dict):
            array = infos.get(key, {})
            _add_infos(array, values, n)
        else:
            array = infos.get(key)
            if array is None:
                if type(first) in (int, float, bool) or isinstance(first, np.number):
                    array = np.zeros(n, dtype=type(first))
                elif isinstance(first, np.ndarray):
                    array = np.zeros((n, *first.shape), dtype=first.dtype)
                else:
                    array = np.full(n, None, dtype=object)
            for i, value in values.items():
                array[i] = value
        mask = infos.get(f"_{key}", np.zeros(n, dtype=np.bool_))
        mask[list(values)] = True
        infos[key], infos[f"_{key}"] = array, mask


@dataclasses.dataclass
class _Requests:
    """A step's requests and their results, as the kernel (``run_packed_jobs`` or
    ``run_table_jobs``) takes them: request ``k`` is menu item ``items[k]`` of episode
    ``rows[k]``; the other fields are the kernel's arguments (``lifegym.vector.kernels``)."""

    rows: np.ndarray
    items: np.ndarray
    spec: np.ndarray
    initials: np.ndarray
    seen: np.ndarray
    draws: np.ndarray
    rules: tuple[np.ndarray, ...]  # (born, flip) words, or (tables,)
    ones: np.ndarray
    zeros: np.ndarray
    counts: np.ndarray
    stats: np.ndarray
    needs_more: np.ndarray
    first_id: int  # the arena id of request 0 (the others follow)


class RuleDiscoveryVectorEnv(VectorEnv):
    """N episodes of ``RuleDiscoveryEnv(**kwargs)`` stepped together (module doc).

    Args:
        num_envs: episodes stepped together (>= 1).
        autoreset_mode: ``AutoresetMode.NEXT_STEP`` (default) or ``SAME_STEP`` (or their
            string values).
        **kwargs: the arguments of :class:`~lifegym.env.RuleDiscoveryEnv`; settings the
            native env cannot run raise ValueError naming them (see ``native_unsupported``).

    Spaces: ``single_observation_space`` / ``single_action_space`` are the single env's;
    ``observation_space`` and ``action_space`` batch them (``MultiDiscrete`` actions).
    ``action_masks()`` is bool (num_envs, n_actions).
    """

    # gymnasium declares ``metadata`` an instance attribute (a ClassVar here would clash).
    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.NEXT_STEP}  # noqa: RUF012

    def __init__(
        self,
        num_envs: int,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be an int >= 1, got {num_envs!r}")
        self.autoreset_mode = _check_mode(autoreset_mode)
        self.metadata = {**type(self).metadata, "autoreset_mode": self.autoreset_mode}
        render_mode = kwargs.pop("render_mode", None)
        settings = env_settings(**kwargs)
        reason = native_unsupported(settings, render_mode)
        if reason:
            raise ValueError(
                f"the native vector env cannot run {reason}; lifegym.vector.make_vector_env "
                "falls back to single envs for it"
            )
        self.settings = settings
        self.num_envs = n = int(num_envs)
        self.single_observation_space = observation_space(settings)
        self.single_action_space = action_space(settings)
        self.observation_space = batch_space(self.single_observation_space, n)
        self.action_space = batch_space(self.single_action_space, n)
        self.render_mode = None

        space, model = settings.space, settings.model
        self._space = space
        self._model = model
        self._menu = settings.menu
        self._layout = settings.layout
        self._n_menu = len(settings.menu)
        self._n_free = space.n_free
        self._budgets = settings.budgets
        self._no_designs = np.zeros(n, dtype=bool)  # the Discrete face only
        self._item_costs = np.asarray(settings.item_costs, dtype=np.int64)
        self._fixed_battery = scoring_battery(settings.world)
        self._item_geometry = np.array(
            [_geometry(item.shape_in(settings.world), item.steps, model) for item in self._menu],
            dtype=np.int64,
        )
        self._item_soup = [item.kind == "soup" for item in self._menu]
        self._item_density = [item.density for item in self._menu]
        # Fixed initial conditions (designs, patterns: no draw), flat; None where drawn.
        self._item_cells = [
            None
            if item.kind in ("soup", "patch")
            else initial_condition(item, item.shape_in(settings.world), None).reshape(-1)
            for item in self._menu
        ]
        observed = self._item_geometry[:, JOB_STEPS] * self._item_geometry[:, JOB_SEEN_H]
        observed *= self._item_geometry[:, JOB_SEEN_W]
        self._item_chunk = np.array(
            [bernoulli_chunk(int(c), model.noise) if model.noise else 0 for c in observed],
            dtype=np.int64,
        )
        longest = int(self._item_geometry[:, JOB_STEPS].max())
        self._times = [model.observed_times(steps) for steps in range(longest + 1)]
        for times in self._times:
            times.setflags(write=False)
        self._picks = np.zeros((longest + 1, episodes.SUMMARY_FRAMES), dtype=np.int64)
        for steps in range(1, longest + 1):
            self._picks[steps] = episodes.summary_picks(steps)
        self._descriptions = [self._layout.describe(a) for a in range(self._layout.n_actions)]
        self._packed = space.family is TOTALISTIC
        self._noise = model.noise
        self._noise_rate = bernoulli_rate(model.noise) if model.noise else 0.0
        self._channel = block_channel(0.0)
        self._log_p = float(np.log(model.noise)) if model.noise else 0.0
        self._log_q = float(np.log1p(-model.noise)) if model.noise else 0.0
        self._test_from_time = ExactEngine.test_from_time
        self._orbit_of = np.asarray(space.family.orbit_of, dtype=np.int64)
        self._rule_strings: dict[bytes, str] = {}

        self._rngs: list[np.random.Generator | None] = [None] * n
        self._battery_seeds = [np.random.SeedSequence() for _ in range(n)]
        self._battery_streams: list[np.random.SeedSequence | None] = [None] * n
        self._hidden: list[Rule | None] = [None] * n
        self._hidden_tables = np.zeros((n, 512), dtype=np.uint8)
        self._hidden_born = np.zeros((n, 9), dtype=np.uint64)  # B/S: the packed kernel's words
        self._hidden_flip = np.zeros((n, 9), dtype=np.uint64)
        # Each episode's runs, in order: (the batch it ran in, its index there).
        self._runs: list[list[tuple[_Requests, int]]] = [[] for _ in range(n)]
        self._arena_ids: list[list[int]] = [[] for _ in range(n)]
        # Each tested rule's log-likelihood over the episode's first trajectories (bit
        # tests): [how many, their sum].
        self._rule_terms: list[dict[bytes, list]] = [{} for _ in range(n)]
        self._arena = Arena(np.uint64 if self._packed else np.uint8)

        n_bits, f = space.family.n_bits, self._n_free
        self._ones = np.zeros((n, n_bits), dtype=np.int64)
        self._zeros = np.zeros((n, n_bits), dtype=np.int64)
        self._test_log_odds = np.zeros((n, f))
        all_zero = str(space.rule(np.zeros(f, dtype=np.uint8)))
        self._state = episodes.EpisodeBatch.empty(n, self._layout, all_zero, model.noise)
        self._started = np.zeros(n, dtype=bool)
        self._autoreset = np.zeros(n, dtype=bool)

    # -- public --------------------------------------------------------------------------

    def action_masks(self) -> np.ndarray:
        """bool (num_envs, n_actions): each episode's ``action_masks()`` (a copy)."""
        if not self._started.all():
            raise RuntimeError("call reset() before action_masks()")
        return self._state.mask.copy()

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        which, options = _reset_mask(options, self.num_envs)
        rule = episodes.hidden_rule_from_options(options, self._space)  # validate before any change
        seeds = _seeds(seed, self.num_envs)
        chosen = np.flatnonzero(which)
        for i in chosen:
            self._reset_one(int(i), seeds[i], rule)
        self._autoreset[chosen] = False
        self._refresh(chosen)
        zero = np.zeros(len(chosen), dtype=np.int64)
        columns = episodes.info_columns(self._state, chosen, ["reset"] * len(chosen), zero, zero)
        return episodes.observations(self._state, self._budgets), episodes.batched_infos(
            columns, chosen, self.num_envs
        )

    def step(
        self, actions: np.ndarray
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._started.all():
            raise RuntimeError("call reset() before step()")
        layout, state, settings = self._layout, self._state, self.settings
        actions = check_actions(actions, self.num_envs, layout.n_actions)
        n = self.num_envs
        resetting = self._autoreset.copy()
        live = ~resetting
        entropy_before = state.entropy.copy()
        experiment_before = state.experiment_spent.copy()
        compute_before = state.compute_spent.copy()
        allowed = live & state.mask[np.arange(n), actions]
        rejected = live & ~allowed
        requests, bit_tests, map_tests = layout.split(actions, allowed)
        submits = live & (actions == layout.submit)
        self._run_requests(requests, actions[requests])
        tested = actions[bit_tests] - layout.n_menu
        bit_log_odds = self._run_bit_tests(bit_tests, tested)
        comparisons = self._run_map_tests(map_tests)
        episodes.record_tests(state, bit_tests, tested, map_tests)
        tests = {
            int(i): episodes.map_test_record(comparison)
            for i, comparison in zip(map_tests, comparisons, strict=True)
        }
        for i, f, log_odds in zip(bit_tests.tolist(), tested.tolist(), bit_log_odds, strict=True):
            tests[i] = episodes.bit_test_record(self._space.free_names[f], log_odds)
        self._refresh_beliefs(np.concatenate([requests, bit_tests]))
        stepped = np.flatnonzero(live)
        state.steps[stepped] += 1
        episodes.refresh_masks(
            state, stepped, layout, self._item_costs, self._budgets, settings.repeat_tests
        )
        ends = episodes.episode_ends(
            state, live, submits, layout.n_menu, self._no_designs, settings.max_steps
        )
        ended, truncated = ends > 0, ends == episodes.TRUNCATED
        experiment_cost = state.experiment_spent - experiment_before
        compute_cost = state.compute_spent - compute_before
        finished = np.flatnonzero(ended)
        endings = [
            self._ending(int(i), episodes.END_REASONS[ends[i]], unknown)
            for i, unknown in zip(finished, self._undetermined(finished), strict=True)
        ]
        scored = score_episodes(endings, self._space, settings.model)
        results = {int(i): r.as_dict() for i, r in zip(finished, scored, strict=True)}
        outcomes = episodes.step_outcomes(
            state,
            stepped,
            entropy_before[stepped],
            experiment_cost[stepped],
            compute_cost[stepped],
            self._budgets,
            rejected[stepped],
            [results.get(i) for i in stepped.tolist()],
        )
        rewards = np.zeros(n)
        rewards[stepped] = settings.reward_function.batch(outcomes)
        terminated = ended & ~truncated
        extras: dict[int, dict[str, Any]] = {int(i): {} for i in stepped}
        for i in np.flatnonzero(rejected).tolist():
            extras[int(i)]["rejected"] = episodes.rejection(self._descriptions[actions[i]])
        for i, test in tests.items():
            extras[i]["test"] = test
        for i, result in results.items():
            extras[i]["result"] = result
        descriptions = [self._descriptions[a] for a in actions]

        step_infos: dict[str, Any] = {}
        restarted = np.flatnonzero(resetting)
        if self.autoreset_mode == AutoresetMode.SAME_STEP and ended.any():
            final_obs = episodes.observations(state, self._budgets)
            for i in finished.tolist():
                single = {key: value[i] for key, value in final_obs.items()}
                info = episodes.info_columns(
                    state, i, descriptions[i], experiment_cost[i], compute_cost[i]
                )
                final_info = {**info, **extras.pop(i)}
                self._add_info(step_infos, {"final_obs": single, "final_info": final_info}, i)
            restarted = finished
        for i in restarted.tolist():
            self._reset_one(int(i), None, None)
            descriptions[i] = "reset"
            experiment_cost[i] = compute_cost[i] = 0
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:  # SAME_STEP keeps the last step's
            rewards[restarted] = 0.0
            terminated[restarted] = False
            truncated[restarted] = False
        self._refresh(restarted)
        every = np.arange(n)
        columns = episodes.info_columns(state, every, descriptions, experiment_cost, compute_cost)
        step_infos.update(episodes.batched_infos(columns, every, n))
        _add_infos(step_infos, extras, n)
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            self._autoreset = terminated | truncated
        return (
            episodes.observations(state, self._budgets),
            rewards,
            terminated,
            truncated,
            step_infos,
        )

    def close_extras(self, **kwargs: Any) -> None:
        self._runs = [[] for _ in range(self.num_envs)]
        self._arena = Arena(np.uint64 if self._packed else np.uint8)
        self._arena_ids = [[] for _ in range(self.num_envs)]

    # -- episodes ------------------------------------------------------------------------

    def _reset_one(self, i: int, seed: int | None, rule: Rule | None) -> None:
        settings = self.settings
        if seed is not None:
            self._rngs[i] = seeding.np_random(seed)[0]
            self._battery_seeds[i] = stream(seed, BATTERY_STREAM)
        elif self._rngs[i] is None:
            self._rngs[i] = seeding.np_random()[0]
        rng = self._rngs[i]
        assert rng is not None  # set above
        if settings.battery == "episode":
            self._battery_streams[i] = self._battery_seeds[i].spawn(1)[0]
        hidden = settings.prior.sample(rng) if rule is None else rule
        self._hidden[i] = hidden
        self._hidden_tables[i] = hidden.table
        if self._packed:
            born, flip = bs_rule_words(self._space.family.bits_from_table(hidden.table))
            self._hidden_born[i], self._hidden_flip[i] = born, flip
        self._runs[i] = []
        self._arena_ids[i] = []
        self._rule_terms[i] = {}
        self._ones[i] = 0
        self._zeros[i] = 0
        self._test_log_odds[i] = 0.0
        self._state.restart(i)
        self._started[i] = True
        self._compact_arena()

    def _compact_arena(self) -> None:
        """Drop finished episodes' trajectories once they fill half the arena."""
        arena = self._arena
        if arena.used > len(arena.cells) // 2:
            live = sum(len(ids) for ids in self._arena_ids)
            if 2 * live < arena.count:
                self._arena_ids = arena.compact(self._arena_ids)

    def _refresh(self, which: np.ndarray) -> None:
        self._refresh_beliefs(which)
        episodes.refresh_masks(
            self._state, which, self._layout, self._item_costs, self._budgets,
            self.settings.repeat_tests,
        )  # fmt: skip

    def _run_requests(self, which: np.ndarray, items: np.ndarray) -> None:
        """Run menu item ``items[k]`` for episode ``which[k]`` (as ``Lab.run``): the initial
        conditions and noise draws come from each episode's generator, in the single env's
        order; one kernel call runs them all; :meth:`_record` records them."""
        if not len(which):
            return
        geometry = self._item_geometry[items]
        height, width, seen_h, seen_w, steps = geometry[:, :5].T
        cells, chunks = height * width, self._item_chunk[items]
        spec = np.empty((len(which), JOB_COLUMNS), dtype=np.int64)
        spec[:, : geometry.shape[1]] = geometry
        for column, sizes in (
            (JOB_CELLS_AT, cells), (JOB_SEEN_AT, steps * seen_h * seen_w),
            (JOB_DRAWS_AT, chunks), (JOB_FRAMES_AT, steps),
        ):  # fmt: skip
            spec[:, column] = np.cumsum(sizes) - sizes
        spec[:, JOB_DRAWS_END] = spec[:, JOB_DRAWS_AT] + chunks
        if self._packed:
            arena_sizes = (steps + 2) * ((width + 63) // 64 + 2) * (height + 2)
        else:
            arena_sizes = cells + steps * seen_h * seen_w
        first_id, offsets = self._arena.reserve(arena_sizes, geometry[:, :5])
        spec[:, JOB_ARENA_AT] = offsets
        initials, draws = self._draw(which, items, spec)
        n_frames, n_bits = int(steps.sum()), self._ones.shape[1]
        batch = _Requests(
            rows=which,
            items=items,
            spec=spec,
            initials=initials,
            seen=np.empty(int((steps * seen_h * seen_w).sum()), dtype=np.uint8),
            draws=draws,
            rules=(
                (self._hidden_born[which], self._hidden_flip[which])
                if self._packed
                else (self._hidden_tables[which],)
            ),
            ones=np.zeros((len(which), n_bits), dtype=np.int64),
            zeros=np.zeros((len(which), n_bits), dtype=np.int64),
            counts=np.zeros((n_frames, len(COUNT_FIELDS)), dtype=np.int64),
            stats=np.empty((n_frames, N_STATS)),
            needs_more=np.zeros(len(which), dtype=bool),
            first_id=first_id,
        )
        self._run_batch(batch, slice(None), spec, draws)
        self._record(batch)

    def _draw(
        self, which: np.ndarray, items: np.ndarray, spec: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The initial conditions (uint8, flat) of requests ``items`` of episodes ``which``
        and the first standard exponential draws of their cell noise (float64, flat; as
        ``lifegym.observe.bernoulli_positions`` makes them), each episode's from its own
        generator in the single env's order: the initial condition, then the noise."""
        menu, density, rngs = self._menu, self._item_density, self._rngs
        cells = spec[:, JOB_HEIGHT] * spec[:, JOB_WIDTH]
        initials = np.empty(int(cells.sum()), dtype=bool)
        draws = np.empty(int(spec[-1, JOB_DRAWS_END]))
        noisy = self._noise > 0.0
        columns = (JOB_HEIGHT, JOB_WIDTH, JOB_CELLS_AT, JOB_DRAWS_AT, JOB_DRAWS_END)
        for i, item, (height, width, start, first, end) in zip(
            which.tolist(), items.tolist(), spec[:, columns].tolist(), strict=True
        ):
            rng, size = rngs[i], height * width
            if self._item_soup[item]:
                draw_soup(rng, density[item], initials[start : start + size])
            else:
                grid = self._item_cells[item]
                if grid is None:  # drawn: a patch
                    grid = initial_condition(menu[item], (height, width), rng).reshape(-1)
                initials[start : start + size] = grid
            if noisy:
                rng.standard_exponential(out=draws[first:end])
        initials = initials.view(np.uint8)
        return initials, draws

    def _run_batch(
        self, batch: _Requests, jobs: slice, spec: np.ndarray, draws: np.ndarray
    ) -> None:
        """The kernel on requests ``jobs`` of ``batch`` (``spec`` and ``draws`` theirs)."""
        kernel = run_packed_jobs if self._packed else run_table_jobs
        # (one tuple: the rules' arrays, one or two, sit amid the arguments)
        args = (
            spec, batch.initials, batch.seen, draws, self._noise_rate,
            *(rules[jobs] for rules in batch.rules), self._arena.cells, self._orbit_of,
            batch.ones[jobs], batch.zeros[jobs], self._noise == 0.0, batch.counts, batch.stats,
            self._channel, batch.needs_more[jobs],
        )  # fmt: skip
        kernel(*args)

    def _record(self, batch: _Requests) -> None:
        """Charge and record a batch of run requests (as ``Lab._run`` and the single env's
        ``_absorb``); requests whose noise draws ran out run again with more first."""
        rows, items, spec = batch.rows, batch.items, batch.spec
        for k in np.flatnonzero(batch.needs_more).tolist():  # rare: more draws, as observe makes
            chunk = int(spec[k, JOB_DRAWS_END] - spec[k, JOB_DRAWS_AT])
            draws = batch.draws[spec[k, JOB_DRAWS_AT] : spec[k, JOB_DRAWS_END]]
            while batch.needs_more[k]:
                extra = self._rngs[rows[k]].standard_exponential(chunk)
                draws = np.concatenate([draws, extra])
                batch.ones[k] = batch.zeros[k] = 0
                again = spec[k : k + 1].copy()
                again[0, JOB_DRAWS_AT], again[0, JOB_DRAWS_END] = 0, len(draws)
                self._run_batch(batch, slice(k, k + 1), again, draws)
        batch.initials.setflags(write=False)
        batch.seen.setflags(write=False)
        costs = self._item_costs[items]
        for k, i in enumerate(rows.tolist()):
            self._runs[i].append((batch, k))
            self._arena_ids[i].append(batch.first_id + k)
        self._state.n_trajectories[rows] += 1
        self._state.experiment_spent[rows] += costs
        self._state.replay_cost[rows] += (
            spec[:, JOB_HEIGHT] * spec[:, JOB_WIDTH] * spec[:, JOB_STEPS]
        )
        self._state.spent_per_item[rows, items] += costs
        self._ones[rows] += batch.ones
        self._zeros[rows] += batch.zeros
        picks = self._picks[spec[:, JOB_STEPS]] + spec[:, JOB_FRAMES_AT, None]
        summaries = np.clip(batch.stats[picks], 0.0, 1.0).astype(np.float32)
        self._state.summary[rows] = summaries.reshape(len(rows), -1)

    def _trajectories(self, i: int) -> list[VisibleTrajectory]:
        """Episode ``i``'s trajectories, as the single env's lab holds them."""
        found = []
        for batch, k in self._runs[i]:
            height, width, seen_h, seen_w, steps = batch.spec[k, :5].tolist()
            cells_at, seen_at = int(batch.spec[k, JOB_CELLS_AT]), int(batch.spec[k, JOB_SEEN_AT])
            seen = batch.seen[seen_at : seen_at + steps * seen_h * seen_w]
            found.append(
                VisibleTrajectory(
                    experiment=self._menu[batch.items[k]].name,
                    initial=batch.initials[cells_at : cells_at + height * width].reshape(
                        height, width
                    ),
                    steps=steps,
                    times=self._times[steps],
                    frames=seen.reshape(steps, seen_h, seen_w),
                    stats=None,
                    model=self._model,
                    cost=int(self._item_costs[batch.items[k]]),
                )
            )
        return found

    def _test_rules(self, which: np.ndarray, free_index: np.ndarray) -> np.ndarray:
        """Full bit vectors (2K, n_bits) of the two rules each bit test compares
        (``lifegym.episodes.tested_values``)."""
        return self._bit_vectors(episodes.tested_values(self._state.map_values[which], free_index))

    def _bit_vectors(self, free_values: np.ndarray) -> np.ndarray:
        """Full bit vectors (K, n_bits) of the rules with free bits ``free_values`` (K, n_free)."""
        space = self._space
        bits = np.repeat(space.known_values[None], len(free_values), axis=0)
        bits[:, space.free_bits] = free_values
        return bits

    def _run_bit_tests(self, which: np.ndarray, free_index: np.ndarray) -> list[float]:
        """Charge and run the tests of bit ``free_index[k]`` of episode ``which[k]``'s MAP
        rule (as the single env: the log-likelihood ratio of the MAP rule with the bit set
        and cleared over observed steps >= ``test_from_time`` of every visible trajectory);
        returns their log-odds (and folds them into the episodes' evidence).

        A rule's term for a trajectory is kept for the episode (one of the two rules is the
        MAP rule, and agents test many bits of one MAP rule): only trajectories a rule has
        not been scored on yet are replayed."""
        if not len(which):
            return []
        self._state.compute_spent[which] += (
            episodes.BIT_TEST_REPLAYS * self._state.replay_cost[which]
        )
        first = self._test_from_time - 1  # the observed steps are 1, 2, ...
        bits = self._test_rules(which, free_index)
        kept: list[list] = []  # per row of bits: its episode's [terms, their sum]
        jobs: list[int] = []
        rules: list[int] = []
        for k, i in enumerate(which.tolist()):
            ids = self._arena_ids[i]
            for rule in (2 * k, 2 * k + 1):
                scored = self._rule_terms[i].setdefault(bits[rule].tobytes(), [0, 0.0])
                todo = ids[scored[0] :]
                kept.append(scored)
                jobs += todo
                rules += [rule] * len(todo)
        logliks, _, _ = self._replay_terms(jobs, rules, bits, first)
        for rule, term in zip(rules, logliks, strict=True):
            scored = kept[rule]  # summed in trajectory order, as likelihood.compare sums
            scored[0] += 1
            scored[1] += term
        with np.errstate(invalid="ignore"):
            found = np.subtract([s[1] for s in kept[::2]], [s[1] for s in kept[1::2]]).tolist()
        for i, f, log_odds in zip(which.tolist(), free_index.tolist(), found, strict=True):
            self._test_log_odds[i, f] = 0.0 if np.isnan(log_odds) else log_odds
        return found

    def _run_map_tests(self, which: np.ndarray) -> list[Comparison]:
        """Charge and test the MAP rule of episodes ``which`` (as
        ``lifegym.likelihood.compare``, summed over every visible trajectory)."""
        if not len(which):
            return []
        state = self._state
        state.compute_spent[which] += episodes.MAP_TEST_REPLAYS * state.replay_cost[which]
        bits = self._bit_vectors(state.map_values[which])
        jobs: list[int] = []
        rules: list[int] = []
        for k, i in enumerate(which):
            jobs += self._arena_ids[i]
            rules += [k] * len(self._arena_ids[i])
        logliks, mismatches, units = self._replay_terms(jobs, rules, bits, 0, True)
        totals = [[0.0, 0.0, 0] for _ in which]
        for k, loglik, mismatch, n in zip(rules, logliks, mismatches, units, strict=True):
            totals[k][0] += loglik
            totals[k][1] += mismatch
            totals[k][2] += n
        return [
            Comparison.of_totals(loglik, mismatched, int(cells), self._noise, int(cost))
            for (loglik, mismatched, cells), cost in zip(
                totals, state.replay_cost[which], strict=True
            )
        ]

    def _replay_terms(
        self,
        jobs: list[int],
        rules: list[int],
        bits: np.ndarray,
        first: int,
        mismatches: bool = False,
    ) -> tuple[list[float], list[float], list[int]]:
        """How rule ``rules[j]`` (full bit vector ``bits[rules[j]]``) explains trajectory
        ``jobs[j]`` (arena id) from its frame ``first`` on: log-likelihood, mismatched cells
        (only with ``mismatches``; else empty) and scored cells per job, each summed over
        the frames as ``lifegym.likelihood`` sums them."""
        job_ids = np.asarray(jobs, dtype=np.int64)
        arena = self._arena
        layout = arena.layout[job_ids]
        n_frames = np.ascontiguousarray(layout[:, 5])
        counts = np.zeros((len(job_ids), int(n_frames.max(initial=0))), dtype=np.int64)
        job_rules = np.asarray(rules, dtype=np.int64)
        if self._packed:
            born, flip = bs_rule_words(bits)
            test_packed(arena.cells, arena.layout, job_ids, job_rules, born, flip, counts)
        else:
            tables = np.ascontiguousarray(bits[:, self._orbit_of], dtype=np.uint8)
            test_tables(arena.cells, arena.layout, job_ids, job_rules, tables, counts)
        cells = layout[:, 3] * layout[:, 4]
        starts = np.minimum(first, n_frames)
        sums = np.empty((2, len(counts)))
        for row, raw in enumerate((False, True)[: 1 + mismatches]):
            suffix_sums(
                counts, n_frames, cells, starts, self._log_p, self._log_q, self._noise == 0.0,
                raw, sums[row],
            )  # fmt: skip
        mismatched = sums[1].tolist() if mismatches else []
        return sums[0].tolist(), mismatched, ((n_frames - starts) * cells).tolist()

    def _refresh_beliefs(self, which: np.ndarray) -> None:
        """The exact engine's belief (``lifegym.inference.exact.marginals``, as
        ``ExactEngine.belief``) of episodes ``which``."""
        if not len(which):
            return
        free, state = self._space.free_bits, self._state
        found = marginals(
            self._ones[which][:, free], self._zeros[which][:, free], self._test_log_odds[which],
            self._noise,
        )  # fmt: skip
        state.p_one[which] = found.p_one
        moved = which[(found.map_values != state.map_values[which]).any(axis=1)]
        state.map_values[which] = found.map_values
        for i in moved.tolist():
            state.map_strings[i] = self._rule_string(i)
        state.entropy[which] = found.entropy
        if found.n_consistent is not None:
            state.n_consistent[which] = found.n_consistent

    def _map_rule(self, i: int) -> Rule:
        return self._space.rule(self._state.map_values[i])

    def _rule_string(self, i: int) -> str:
        """``str`` of episode ``i``'s MAP rule (remembered per rule)."""
        key = self._state.map_values[i].tobytes()
        found = self._rule_strings.get(key)
        if found is None:
            if len(self._rule_strings) >= _RULE_CACHE:
                self._rule_strings.clear()
            found = self._rule_strings[key] = str(self._map_rule(i))
        return found

    def _undetermined(self, which: np.ndarray) -> list[list[int] | None]:
        """The undetermined free bits of the MAP rules of episodes ``which``
        (``lifegym.scoring.undetermined_bits``), where one kernel call over the arena finds
        them for all: table rules seen at every cell of every frame, whose flipped bits
        change what is seen exactly where their patterns occur (``shows_every_flip``).
        None for the others (:meth:`_result` asks ``undetermined_bits``)."""
        if self._packed or not shows_every_flip(self._model) or not len(which):
            return [None] * len(which)
        ids = [self._arena_ids[i] for i in which]
        jobs = np.array([t for episode in ids for t in episode], dtype=np.int64)
        runs = np.zeros((len(jobs), len(RUN_COLUMNS)), dtype=np.int64)
        runs[:, :3] = self._arena.layout[jobs, :3]
        runs[:, 3] = self._arena.layout[jobs, 5]  # every step is observed
        runs[:, 4] = runs[:, 5] = np.repeat(np.arange(len(which)), [len(e) for e in ids])
        tables = self._bit_vectors(self._state.map_values[which])[:, self._space.family.orbit_of]
        seen = occurring_bits(
            self._arena.cells, runs, tables, self._space.family.orbit_of, len(which)
        )[:, self._space.free_bits]
        return [np.flatnonzero(~row).tolist() for row in seen]

    def _ending(self, i: int, submitted_by: str, undetermined: list[int] | None) -> Ending:
        """What scoring episode ``i``'s end reads (``undetermined``: from
        :meth:`_undetermined`, or None to find them from its trajectories)."""
        settings = self.settings
        battery = episodes.episode_battery(
            settings.battery, self._fixed_battery, settings.world, self._battery_streams[i]
        )
        unread = self._packed or undetermined is not None
        hidden = self._hidden[i]
        assert hidden is not None  # drawn when the episode started
        return Ending(
            hidden,
            self._map_rule(i),
            () if unread else self._trajectories(i),
            battery,
            functools.partial(exact_class_probability, self._space, self._state.p_one[i]),
            costs=episodes.ending_costs(self._state, i, submitted_by),
            groups=self._packed_groups(i) if self._packed else None,
            undetermined=undetermined,
        )

    def _packed_groups(self, i: int) -> list[PackedGroup]:
        """Episode ``i``'s trajectories as ``lifegym.scoring.packed_groups`` groups them,
        their packed initial conditions and region masks read from the arena."""
        arena = self._arena
        members: dict[tuple[int, ...], list[int]] = {}
        ids = self._arena_ids[i]
        for t, shape in zip(ids, arena.layout[ids, 1:].tolist(), strict=True):
            members.setdefault(tuple(shape), []).append(t)
        groups = []
        for (height, width, _, _, n), group in members.items():
            n_words = (width + 63) // 64 + 2
            slot = n_words * (height + 2)
            offsets = arena.layout[group, 0]
            initials = arena.cells[offsets[:, None] + np.arange(slot)]
            at = int(offsets[0]) + (n + 1) * slot  # the region mask follows the n frames
            mask = arena.cells[at : at + slot].reshape(n_words, height + 2)
            shape = (len(offsets), n_words, height + 2)
            groups.append((initials.reshape(shape), width, self._times[n], mask))
        return groups


def check_actions(actions: object, num_envs: int, n_actions: int) -> np.ndarray:
    """``actions`` as int64 (num_envs,), each in 0..n_actions-1, or a ValueError naming the
    first bad one and what is allowed (before any episode steps: a bad action anywhere in
    the batch changes nothing)."""
    array = np.asarray(actions)
    if array.shape != (num_envs,) or array.dtype.kind not in "iu":
        raise ValueError(
            f"actions must be {num_envs} ints in 0..{n_actions - 1} (shape ({num_envs},)), "
            f"got {array.dtype} array of shape {array.shape}"
        )
    bad = np.flatnonzero((array < 0) | (array >= n_actions))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"actions[{i}] = {array[i]} is outside the action space: allowed 0..{n_actions - 1}"
        )
    return array.astype(np.int64)


class MaskedSyncVectorEnv(SyncVectorEnv):
    """Gymnasium's ``SyncVectorEnv`` over single lifegym envs, with ``action_masks()``
    (num_envs, n_actions) and every env's action checked before any env steps
    (:func:`check_actions` for Discrete actions, each env's own check for designs): the
    fallback for settings the native env does not batch, and the vector env of the v0 ids."""

    def action_masks(self) -> np.ndarray:
        """bool (num_envs, n_actions): each env's ``action_masks()``."""
        return np.stack(self.call("action_masks"))

    def reset(
        self, *, seed: Any = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        _seeds(seed, self.num_envs)  # the native env's seed check, before any env resets
        return super().reset(seed=seed, options=options)

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        space = self.single_action_space
        if isinstance(space, gym.spaces.Discrete):
            actions = check_actions(actions, self.num_envs, int(space.n))
        else:  # the design face: every env's action checked before any env steps
            for i, (env, action) in enumerate(
                zip(self.envs, iterate(self.action_space, actions), strict=True)
            ):
                single = env.unwrapped
                assert isinstance(single, RuleDiscoveryEnv)  # the envs this class batches
                try:
                    single.describe_action(action)
                except (TypeError, ValueError) as exc:
                    raise type(exc)(f"actions[{i}]: {exc}") from exc
        return super().step(actions)


def make_sync_vector_env(
    num_envs: int,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    **kwargs: Any,
) -> MaskedSyncVectorEnv:
    """The ``vector_entry_point`` of the v0 ids (and :func:`make_vector_env`'s fallback):
    :class:`MaskedSyncVectorEnv` of ``num_envs`` single envs of these arguments."""
    kwargs.pop("max_episode_steps", None)  # make_vec passes the spec's (None here)
    return MaskedSyncVectorEnv(
        [lambda: gym.wrappers.PassiveEnvChecker(RuleDiscoveryEnv(**kwargs))] * int(num_envs),
        autoreset_mode=_check_mode(autoreset_mode),
    )


def make_vector_env(
    num_envs: int,
    autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    **kwargs: Any,
) -> VectorEnv:
    """The ``vector_entry_point`` of the v1 presets: :class:`RuleDiscoveryVectorEnv` when
    the settings allow it (``native_unsupported``), else :class:`MaskedSyncVectorEnv` of
    single envs with the same semantics."""
    kwargs.pop("max_episode_steps", None)  # make_vec passes the spec's (None here)
    mode = _check_mode(autoreset_mode)
    settings = env_settings(**{k: v for k, v in kwargs.items() if k != "render_mode"})
    render_mode = kwargs.get("render_mode")
    RuleDiscoveryEnv.check_render_mode(render_mode)  # ValueError as gym.make gives
    if native_unsupported(settings, render_mode) is None:
        return RuleDiscoveryVectorEnv(num_envs, autoreset_mode=mode, **kwargs)
    return make_sync_vector_env(num_envs, mode, **kwargs)
