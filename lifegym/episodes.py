"""The rules of an episode, written once, over a batch of episodes.

An episode's state is an :class:`EpisodeBatch` row: what it spent, what it tested on which
data, what its belief says, which actions are allowed. The functions here are the episode's
rules over any set of rows: which actions the budgets allow (:func:`refresh_masks`), how a
step ends an episode (:func:`episode_ends`), what the agent is shown (:func:`observations`)
and told (:func:`info_columns`), what a test reports, what a scored end reads
(:func:`ending_costs`, :func:`episode_battery`) and what a reward sees
(:func:`end_outcome`; :func:`step_outcomes` for a batch).

:class:`~lifegym.env.RuleDiscoveryEnv` keeps a batch of one and calls them with row 0;
:class:`~lifegym.vector.env.RuleDiscoveryVectorEnv` keeps a batch of N and calls them with
the rows a step touches. What differs between the two is only how the work is done: the
single env runs experiments in its :class:`~lifegym.lab.Lab` and beliefs in any engine, the
vector env runs all episodes' experiments and tests in one kernel call.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
from numba import njit

from lifegym.behaviour import LazyBattery
from lifegym.generator import FixedPrior
from lifegym.likelihood import Comparison
from lifegym.observe import N_STATS, frame_statistics
from lifegym.reward import StepOutcomes
from lifegym.rules import Rule
from lifegym.scoring import EpisodeCosts
from lifegym.types import RuleSpace, VisibleTrajectory

__all__ = [
    "BATTERIES",
    "BIT_TEST_REPLAYS",
    "END_REASONS",
    "MAP_TEST_REPLAYS",
    "SUMMARY_FRAMES",
    "TRUNCATED",
    "ActionLayout",
    "EpisodeBatch",
    "batched_infos",
    "bit_test_record",
    "design_description",
    "end_outcome",
    "ending_costs",
    "episode_battery",
    "episode_ends",
    "experiment_summary",
    "hidden_rule_from_options",
    "info_columns",
    "map_test_record",
    "observations",
    "record_tests",
    "refresh_masks",
    "rejection",
    "step_outcomes",
    "summary_picks",
    "tested_values",
]

#: Frames in the fixed-length statistics curve of the last experiment.
SUMMARY_FRAMES = 16
#: The scoring batteries ``battery=`` names.
BATTERIES = ("fixed", "episode")
#: Replays of every visible trajectory a bit test costs (the MAP rule with the bit set and
#: cleared) and a MAP test costs, in simulated cell-steps of one replay each.
BIT_TEST_REPLAYS = 2
MAP_TEST_REPLAYS = 1
#: Why an episode ended (``result["submitted_by"]``), by :func:`episode_ends`' code
#: (0, "": it goes on).
END_REASONS = ("", "agent", "budget", "truncation")
#: :func:`episode_ends`' codes (numba reads them as constants).
_SUBMITTED = END_REASONS.index("agent")
_OUT_OF_BUDGET = END_REASONS.index("budget")
TRUNCATED = END_REASONS.index("truncation")
#: The info keys read from the batch, and the EpisodeBatch field each reads (in info order,
#: after "action" and the step's costs, before "action_mask").
_INFO_FIELDS = (
    ("experiment_spent", "experiment_spent"),
    ("compute_spent", "compute_spent"),
    ("entropy", "entropy"),
    ("n_consistent", "n_consistent"),
    ("map_rule", "map_strings"),
)
#: The info keys that hold text (None where an episode's entry is not set).
_TEXT_KEYS = ("action", "map_rule")
#: Free bits beyond which ``n_consistent`` (up to 2^F) no longer fits in int64.
_INT64_BITS = 62


@dataclasses.dataclass(frozen=True)
class ActionLayout:
    """The ``Discrete`` face: ``0..M-1`` request menu item ``a``, ``M..M+F-1`` test free
    bit ``a - M``, ``M+F`` test the MAP rule, ``M+F+1`` submit."""

    menu_names: tuple[str, ...]
    free_names: tuple[str, ...]

    @functools.cached_property
    def n_menu(self) -> int:
        return len(self.menu_names)

    @functools.cached_property
    def n_free(self) -> int:
        return len(self.free_names)

    @functools.cached_property
    def test_map(self) -> int:
        return self.n_menu + self.n_free

    @functools.cached_property
    def submit(self) -> int:
        return self.test_map + 1

    @functools.cached_property
    def n_actions(self) -> int:
        return self.test_map + 2

    def describe(self, action: int) -> str:
        """What ``action`` does, as ``info["action"]`` says it."""
        if action < self.n_menu:
            return f"request {self.menu_names[action]}"
        if action < self.test_map:
            return f"test {self.free_names[action - self.n_menu]}"
        return "test MAP" if action == self.test_map else "submit"

    def split(
        self, actions: np.ndarray, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The episodes (indices) whose allowed action is a request, a bit test, a MAP test."""
        requests = np.flatnonzero(allowed & (actions < self.n_menu))
        bit_tests = np.flatnonzero(allowed & (actions >= self.n_menu) & (actions < self.test_map))
        map_tests = np.flatnonzero(allowed & (actions == self.test_map))
        return requests, bit_tests, map_tests


def design_description(height: int, width: int, steps: int) -> str:
    """``info["action"]`` of a designed experiment."""
    return f"design {height}x{width} x{steps}"


@dataclasses.dataclass
class EpisodeBatch:
    """The state of N episodes, row ``i`` episode ``i`` (what every face of the env keeps
    beside its experiments and its engine).

    Attributes:
        experiment_spent, compute_spent: int64 (N,): cell-steps spent from each budget.
        replay_cost: int64 (N,): simulated cell-steps of one replay of every trajectory.
        n_trajectories, steps, n_tests: int64 (N,): experiments run, steps taken, tests run.
        bit_tested_with: int64 (N, F): trajectories there were when each bit was last
            tested (-1: never).
        map_tested_with: int64 (N,): the same for the last MAP test; ``map_tested_values``
            uint8 (N, F): the MAP rule it tested.
        spent_per_item: float64 (N, M): experiment cost spent on each menu item.
        summary: float32 (N, N_STATS * SUMMARY_FRAMES): the last experiment's statistics curve.
        mask: bool (N, A): the allowed actions.
        p_one: float64 (N, F), entropy: float64 (N,), n_consistent: int64 (N,) (Python
            ints for noiseless data on over 62 free bits; -1: cannot count), map_values:
            uint8 (N, F),
            map_strings: object (N,): the belief (its MAP rule's free bits and name).
    """

    experiment_spent: np.ndarray
    compute_spent: np.ndarray
    replay_cost: np.ndarray
    n_trajectories: np.ndarray
    steps: np.ndarray
    n_tests: np.ndarray
    bit_tested_with: np.ndarray
    map_tested_with: np.ndarray
    map_tested_values: np.ndarray
    spent_per_item: np.ndarray
    summary: np.ndarray
    mask: np.ndarray
    p_one: np.ndarray
    entropy: np.ndarray
    n_consistent: np.ndarray
    map_values: np.ndarray
    map_strings: np.ndarray

    @classmethod
    def empty(cls, n: int, layout: ActionLayout, map_string: str, noise: float) -> EpisodeBatch:
        """N episodes before their first reset (``map_string``: the all-zero MAP rule's
        name; ``noise``: the cell noise, 0 when ``n_consistent`` may count up to 2^F)."""
        f, m = layout.n_free, layout.n_menu
        huge_counts = noise == 0.0 and f > _INT64_BITS
        return cls(
            experiment_spent=np.zeros(n, dtype=np.int64),
            compute_spent=np.zeros(n, dtype=np.int64),
            replay_cost=np.zeros(n, dtype=np.int64),
            n_trajectories=np.zeros(n, dtype=np.int64),
            steps=np.zeros(n, dtype=np.int64),
            n_tests=np.zeros(n, dtype=np.int64),
            bit_tested_with=np.full((n, f), -1, dtype=np.int64),
            map_tested_with=np.full(n, -1, dtype=np.int64),
            map_tested_values=np.zeros((n, f), dtype=np.uint8),
            spent_per_item=np.zeros((n, m)),
            summary=np.zeros((n, N_STATS * SUMMARY_FRAMES), dtype=np.float32),
            mask=np.zeros((n, layout.n_actions), dtype=bool),
            p_one=np.full((n, f), 0.5),
            entropy=np.zeros(n),
            n_consistent=np.full(n, -1, dtype=object if huge_counts else np.int64),
            map_values=np.zeros((n, f), dtype=np.uint8),
            map_strings=np.full(n, map_string, dtype=object),
        )

    def restart(self, i: int) -> None:
        """Episode ``i`` as a reset leaves it: nothing spent, run or tested."""
        for counter in (
            self.experiment_spent, self.compute_spent, self.replay_cost, self.n_trajectories,
            self.steps, self.n_tests, self.spent_per_item, self.summary,
        ):  # fmt: skip
            counter[i] = 0
        self.bit_tested_with[i] = -1
        self.map_tested_with[i] = -1


def refresh_masks(
    state: EpisodeBatch,
    which: np.ndarray,
    layout: ActionLayout,
    item_costs: np.ndarray,
    budgets: tuple[int, int],
    repeat_tests: bool,
) -> None:
    """The allowed actions of episodes ``which``: the menu items the experiment budget pays
    for; the bit tests (two replays) and the MAP test (one) the compute budget pays for,
    once there is data; with ``repeat_tests=False`` no test that cannot change anything (a
    bit tested on the same data, the same MAP rule tested on the same data); submit."""
    _masks_kernel(
        np.asarray(which, dtype=np.int64), item_costs, budgets[0], budgets[1],
        state.experiment_spent, state.compute_spent, state.replay_cost, state.n_trajectories,
        state.bit_tested_with, state.map_tested_with, state.map_tested_values,
        state.map_values, repeat_tests, state.mask,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _masks_kernel(
    which: np.ndarray,
    item_costs: np.ndarray,
    experiment_budget: int,
    compute_budget: int,
    experiment_spent: np.ndarray,
    compute_spent: np.ndarray,
    replay_cost: np.ndarray,
    n_trajectories: np.ndarray,
    bit_tested_with: np.ndarray,
    map_tested_with: np.ndarray,
    map_tested_values: np.ndarray,
    map_values: np.ndarray,
    repeat_tests: bool,
    mask: np.ndarray,
) -> None:
    n_menu, n_free = len(item_costs), bit_tested_with.shape[1]
    test_map = n_menu + n_free
    for i in which:
        experiment_left = experiment_budget - experiment_spent[i]
        compute_left = compute_budget - compute_spent[i]
        data = n_trajectories[i]
        for a in range(n_menu):
            mask[i, a] = item_costs[a] <= experiment_left
        bit_test = data > 0 and BIT_TEST_REPLAYS * replay_cost[i] <= compute_left
        for f in range(n_free):
            mask[i, n_menu + f] = bit_test and (repeat_tests or bit_tested_with[i, f] != data)
        same_map = map_tested_with[i] == data
        for f in range(n_free):
            same_map = same_map and map_tested_values[i, f] == map_values[i, f]
        map_test = data > 0 and MAP_TEST_REPLAYS * replay_cost[i] <= compute_left
        mask[i, test_map] = map_test and (repeat_tests or not same_map)
        mask[i, test_map + 1] = True


def episode_ends(
    state: EpisodeBatch,
    live: np.ndarray,
    submits: np.ndarray,
    n_menu: int,
    can_design: np.ndarray,
    max_steps: int,
) -> np.ndarray:
    """Why each episode ended in this step (int64 (N,), an ``END_REASONS`` index; 0: it
    goes on): the agent submitted; no menu item (nor, where ``can_design``, a design) is
    affordable any more; or ``max_steps`` steps were taken. ``live``: the episodes that
    stepped. Reads the masks :func:`refresh_masks` left."""
    ends = np.zeros(len(live), dtype=np.int64)
    _ends_kernel(state.mask, n_menu, live, submits, can_design, state.steps, max_steps, ends)
    return ends


@njit(cache=True, nogil=True)
def _ends_kernel(
    mask: np.ndarray,
    n_menu: int,
    live: np.ndarray,
    submits: np.ndarray,
    can_design: np.ndarray,
    steps: np.ndarray,
    max_steps: int,
    ends: np.ndarray,
) -> None:
    for i in range(len(live)):
        if not live[i]:
            continue
        if submits[i]:
            ends[i] = _SUBMITTED
            continue
        affordable = can_design[i]
        for a in range(n_menu):
            affordable = affordable or mask[i, a]
        if not affordable:
            ends[i] = _OUT_OF_BUDGET
        elif steps[i] >= max_steps:
            ends[i] = TRUNCATED


def observations(
    state: EpisodeBatch, budgets: tuple[int, int], rows: int | slice = slice(None)
) -> dict[str, np.ndarray]:
    """The observation of episodes ``rows``: batched (a slice; all by default), or one
    episode's (an int: the single env's row 0)."""
    experiment_budget, compute_budget = budgets
    experiment_spent, compute_spent = state.experiment_spent[rows], state.compute_spent[rows]
    budget_left = np.zeros((*np.shape(experiment_spent), 2), dtype=np.float32)
    if experiment_budget:  # computed in float64, rounded once into float32
        budget_left[..., 0] = (experiment_budget - experiment_spent) / experiment_budget
    if compute_budget:
        budget_left[..., 1] = (compute_budget - compute_spent) / compute_budget
    p_one = state.p_one[rows]
    return {
        "p_one": p_one.astype(np.float32),
        "confidence": np.abs(2.0 * p_one - 1.0).astype(np.float32),
        "budget_left": budget_left,
        "last_experiment": state.summary[rows].copy(),
        "spent_per_item": (state.spent_per_item[rows] / max(experiment_budget, 1)).astype(
            np.float32
        ),
    }


def info_columns(
    state: EpisodeBatch,
    which: np.ndarray | int,
    descriptions: Sequence[str] | str,
    experiment_cost: np.ndarray | int,
    compute_cost: np.ndarray | int,
) -> dict[str, Any]:
    """The keys every step's info holds: for an array ``which``, a column each with one
    entry per episode of ``which`` (``descriptions`` and the costs too); for an int, that
    episode's info as a single env returns it (plain Python values, its own mask array)."""
    one = isinstance(which, int)
    info: dict[str, Any] = {
        "action": descriptions,
        "experiment_cost": int(experiment_cost) if one else experiment_cost,
        "compute_cost": int(compute_cost) if one else compute_cost,
    }
    for key, field in _INFO_FIELDS:
        column = getattr(state, field)
        info[key] = column.item(which) if one else column[which]
    info["action_mask"] = state.mask[which].copy() if one else state.mask[which]
    return info


def batched_infos(columns: dict[str, Any], which: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """:func:`info_columns` of episodes ``which`` batched as Gymnasium's vector envs batch
    infos: ``infos[key]`` one entry per episode of the N, ``infos["_" + key]`` True where
    it is set (numbers as int64 or float64 arrays, strings as object arrays)."""
    present = np.zeros(n, dtype=bool)
    present[which] = True
    batched: dict[str, np.ndarray] = {}
    for key, column in columns.items():
        values = np.asarray(column)
        dtype = object if values.dtype.kind in "OUS" else values.dtype
        out = np.zeros((n, *values.shape[1:]), dtype=dtype)
        if key in _TEXT_KEYS:
            out[:] = None
        out[which] = column
        batched[key] = out
        batched[f"_{key}"] = present.copy()
    return batched


def rejection(description: str) -> str:
    """``info["rejected"]`` of an action the budgets cannot pay for."""
    return f"cannot pay for {description}"


def experiment_summary(last: VisibleTrajectory) -> np.ndarray:
    """The fixed-length statistics curve of ``last``: float32 (N_STATS * SUMMARY_FRAMES,),
    the observation's ``last_experiment`` (the native vector env's kernel counts the same
    statistics as it runs the experiment and picks the same frames)."""
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


def hidden_rule_from_options(options: dict[str, Any] | None, space: RuleSpace) -> Rule | None:
    """The hidden rule ``reset(options={"rule": ...})`` fixes (None: draw it from the
    prior), or a ValueError naming the bad option or rule."""
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
    return FixedPrior(space, rule).rule  # checks that the rule lies in the space


#: The fields of a MAP test's record (``dataclasses.asdict`` deep-copies: ~20 us a test).
_COMPARED = dataclasses.fields(Comparison)


def map_test_record(comparison: Comparison) -> dict[str, Any]:
    """``info["test"]`` of a MAP test."""
    return {"kind": "map", **{part.name: getattr(comparison, part.name) for part in _COMPARED}}


def bit_test_record(bit: str, log_odds: float) -> dict[str, Any]:
    """``info["test"]`` of a bit test."""
    return {"kind": "bit", "bit": bit, "log_odds": log_odds}


def tested_values(map_values: np.ndarray, free_index: np.ndarray) -> np.ndarray:
    """uint8 (2K, F): each MAP rule ``map_values[k]`` with its bit ``free_index[k]`` set
    (row 2k) and cleared (row 2k + 1): the two rules a bit test compares."""
    pairs = np.repeat(map_values, 2, axis=0)
    rows = np.arange(len(map_values))
    pairs[::2][rows, free_index] = 1
    pairs[1::2][rows, free_index] = 0
    return pairs


def record_tests(
    state: EpisodeBatch, bit_tests: np.ndarray, free_index: np.ndarray, map_tests: np.ndarray
) -> None:
    """Count the tests of this step and remember what data they saw (the masks of
    ``repeat_tests=False`` read it)."""
    _record_tests_kernel(
        np.asarray(bit_tests, dtype=np.int64), np.asarray(free_index, dtype=np.int64),
        np.asarray(map_tests, dtype=np.int64), state.n_trajectories, state.n_tests,
        state.bit_tested_with, state.map_tested_with, state.map_tested_values, state.map_values,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _record_tests_kernel(
    bit_tests: np.ndarray,
    free_index: np.ndarray,
    map_tests: np.ndarray,
    n_trajectories: np.ndarray,
    n_tests: np.ndarray,
    bit_tested_with: np.ndarray,
    map_tested_with: np.ndarray,
    map_tested_values: np.ndarray,
    map_values: np.ndarray,
) -> None:
    for k in range(len(bit_tests)):
        i = bit_tests[k]
        bit_tested_with[i, free_index[k]] = n_trajectories[i]
        n_tests[i] += 1
    for i in map_tests:
        map_tested_with[i] = n_trajectories[i]
        map_tested_values[i] = map_values[i]
        n_tests[i] += 1


def ending_costs(state: EpisodeBatch, i: int, submitted_by: str) -> EpisodeCosts:
    """The cost fields of episode ``i``'s result."""
    return {
        "experiment_cost": int(state.experiment_spent[i]),
        "compute_cost": int(state.compute_spent[i]),
        "n_experiments": int(state.n_trajectories[i]),
        "n_tests": int(state.n_tests[i]),
        "submitted_by": submitted_by,
        "belief_entropy": float(state.entropy[i]),
        "n_consistent": int(state.n_consistent[i]),
    }


def episode_battery(
    battery: str,
    fixed: np.ndarray,
    world: tuple[int, int],
    seeds: np.random.SeedSequence | None,
) -> np.ndarray | LazyBattery:
    """The scoring battery of an episode (``battery``): the ``fixed`` one, or drawn from
    the episode's own battery stream ``seeds`` (as the match test asks for its groups)."""
    if battery == "episode":
        return LazyBattery(world, np.random.default_rng(seeds))
    return fixed


def end_outcome(result: dict[str, Any] | None) -> tuple[bool, bool, float, bool]:
    """What a reward sees of a step's end (``StepOutcome``'s ``finished``, ``exact``,
    ``bits_correct``, ``identified``): from the episode's result, None while it goes on."""
    if result is None:
        return False, False, 0.0, False
    return True, bool(result["exact"]), result["bits_correct"], bool(result["identified"])


def step_outcomes(
    state: EpisodeBatch,
    rows: np.ndarray,
    entropy_before: np.ndarray,
    experiment_cost: np.ndarray,
    compute_cost: np.ndarray,
    budgets: tuple[int, int],
    rejected: np.ndarray,
    results: Sequence[dict[str, Any] | None],
) -> StepOutcomes:
    """What the reward sees of the steps of episodes ``rows`` (arrays over ``rows``;
    ``results[k]`` the result of an episode that ended, else None), as
    :class:`~lifegym.reward.StepOutcome` holds one step's."""
    ends = [end_outcome(result) for result in results]
    return StepOutcomes(
        entropy_before=entropy_before,
        entropy_after=state.entropy[rows],
        experiment_cost=experiment_cost,
        compute_cost=compute_cost,
        experiment_budget=budgets[0],
        compute_budget=budgets[1],
        rejected=rejected,
        finished=np.array([end[0] for end in ends], dtype=bool),
        exact=np.array([end[1] for end in ends], dtype=bool),
        bits_correct=np.array([end[2] for end in ends], dtype=np.float64),
        identified=np.array([end[3] for end in ends], dtype=bool),
    )
