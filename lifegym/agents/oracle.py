"""The ``oracle`` reference agent: it reads the hidden rule, and spends as little as it can.

The only agent told the hidden rule: it is marked ``reference = True``, so
:func:`~lifegym.agents.base.run_episode` hands it the hidden rule after each reset
(:meth:`~lifegym.agents.base.Agent.reveal`) and tables show it as the yardstick, never
ranked. Like every agent it holds only the env's public view, never the env. Its
experiment cost is what every other agent's ``score`` and ``cost_vs_oracle`` divide by.

**When it stops.** Exactly when the episode would score ``identified``
(``lifegym.scoring.is_identified``): the env's MAP rule lies in the hidden rule's
observational class (``lifegym.equivalence``), the engine gives that class probability at
least ``1 - delta`` (``Belief.map_probability``), and no free bit is left undetermined by
the data. If nothing affordable is expected to move it closer, it submits anyway and the
benchmark marks the episode ``reference_failed``.

**It plans only with evidence its engine can use**, one of three ways by engine:

* *Competitors* (engines with a posterior over whole rules: ``exhaustive``). It keeps a
  replica of the env's engine fed the same public trajectories, so it knows which rules
  still compete with the hidden class and by how much. For each candidate experiment it
  computes, in the engine's own likelihood, how far the experiment would separate each
  competitor from the hidden rule (``lifegym.agents.competitors``: the hidden intermediate
  frames of a stride and the statistics-only views are handled by the likelihood itself),
  and takes the experiment that removes the most competitor mass (in log terms, capped at
  what is still needed) per observed cell-step.
* *Sightings* (the ``exact`` engine and other engines at stride 1 with frames). It knows,
  for every free bit, the log-odds the env's belief holds towards the true value, so it
  knows how many more sightings each bit needs before independent bits put probability
  ``1 - delta / 2`` on the hidden rule (``evidence.probability_log_odds``); it requests the
  experiment that supplies the most of that demand per observed cell-step: with
  ``design=True`` the smallest designed world whose first step shows the demand
  (``cheapest_design``), and every menu item, its sightings counted by running the hidden
  rule on the item's initial condition (for soups one drawn from the agent's rng, so an
  estimate: the env draws its own). The exact engine under noise scores only the step from
  the known initial condition, and so does this count.
* *Statistics ledger* (statistics at stride 1 on engines without a whole-rule posterior,
  ``search``): the linear-Gaussian ``StatsLedger`` of ``lifegym.agents.evidence`` (what
  the first observed step's density and activity isolate per bit), as ``infogain`` uses
  it, but with the truth: a bit the env's MAP has wrong counts a full bit of entropy. It
  takes the experiment (menu item, or with ``design=True`` a probe of the bit most in
  need on a few world sizes, ``stats_designs``) expected to remove the most of that
  entropy per observed cell-step. Once experiments stop making progress while the MAP
  has bits wrong (a search engine on compensating errors: each wrong bit held by the
  other wrong ones, no single flip improves), it plans flips instead (``_flip_act``): the
  experiment (menu item, or a probe of a wrong bit) whose expected evidence, in the
  engine's own likelihood, does most to outweigh the holds of the wrong bits per
  cell-step, so that the engine's climb flips them.

**It never repeats an experiment that left its belief unchanged**: such an action (a menu
item, or a design's exact cells and steps) is struck off for the rest of the episode.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import gymnasium as gym
import numpy as np

from lifegym.agents.base import Agent
from lifegym.agents.competitors import Competitors, competitor_sample, separation
from lifegym.agents.evidence import (
    StatsLedger,
    cheapest_design,
    evidence_counts,
    first_step_only,
    log_odds,
    probability_log_odds,
    sighting_log_odds,
    sightings_needed,
    stats_designs,
    stats_shifts,
    stats_variances,
)
from lifegym.equivalence import observational_class
from lifegym.experiments import initial_condition
from lifegym.inference.base import InferenceEngine, binary_entropy_bits
from lifegym.public import EnvView
from lifegym.rules import Rule
from lifegym.scoring import IDENTIFIED_DELTA, is_identified, outside_class, undetermined_bits
from lifegym.sim import simulate

__all__ = ["OracleAgent"]

Action = int | dict[str, Any]
#: An experiment the planners weigh: (action, initial condition, steps, cost).
Candidate = tuple[Action, np.ndarray, int, int]

#: Experiments in a row that bring the env's MAP no closer to the hidden class before the
#: oracle gives up (``OracleAgent._stalled``).
STALL_PATIENCE = 32
#: Experiments in a row without progress after which it tests the bits the MAP has wrong
#: (and whenever no experiment helps).
TEST_AFTER = 4
#: Nats beyond a wrong bit's hold that the flip planner asks of new data (``_flip_act``).
FLIP_MARGIN = 2.0


class OracleAgent(Agent):
    """See the module doc.

    Args:
        env: the env to act in.
        delta: submit once the engine gives the hidden rule's class probability at least
            ``1 - delta`` (with the MAP rule in it and no undetermined bit); the default is
            the one of ``identified``.
    """

    name = "oracle"
    #: A reference, not a competitor: reads the hidden rule; never ranked.
    reference = True

    def __init__(self, env: gym.Env | EnvView, delta: float = IDENTIFIED_DELTA) -> None:
        super().__init__(env)
        if not 0 < delta < 1:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        self.delta = float(delta)
        view = self.view
        model = view.model
        self._per_sighting = sighting_log_odds(model)
        self._target = probability_log_odds(view.space.n_free, self.delta)
        # The exact engine under noise scores only the step from the known initial condition.
        self._first_step_only = first_step_only(view.inference, model)
        if view.inference == "exhaustive":
            self._planner = "competitors"
        elif model.stats_sigma is not None and model.stride == 1:
            self._planner = "stats"
        else:
            self._planner = "sightings"
        self._hidden_rule: Rule | None = None
        self._reset_episode()

    def _reset_episode(self) -> None:
        view = self.view
        self._item_counts: np.ndarray | None = None
        self._item_stats: tuple[np.ndarray, np.ndarray] | None = None
        self._item_initials: list[np.ndarray] | None = None
        self._ledger = StatsLedger(view.space, view.model)
        self._replica: InferenceEngine | None = None
        self._fed = 0
        # Actions struck off (they left the belief unchanged), and the last action taken
        # with the belief it was taken from.
        self._useless: set[Hashable] = set()
        self._last: tuple[Hashable, bytes] | None = None
        self._best_progress: tuple[int, int, float] | None = None
        self._since_progress = 0
        self._experiments_seen = 0
        self._tested_at = -1  # the number of trajectories of the last corrective test

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
        self._reset_episode()

    # -- the stopping rule and the record of useless actions --------------------------------

    def _identified(self) -> bool:
        """Whether submitting now scores ``identified`` (module doc)."""
        view = self.view
        belief = view.belief
        if belief is None or not view.trajectories:
            return False
        members = observational_class(belief.map_rule, view.space, view.model)
        in_class = any(member == self._hidden for member in members)
        if not (in_class and belief.map_probability >= 1.0 - self.delta):
            return False
        unknown = outside_class(
            undetermined_bits(belief.map_rule, view.space, view.trajectories),
            belief.map_rule,
            view.space,
            members,
        )
        return is_identified(in_class, len(unknown), belief.map_probability, self.delta)

    def _key(self, action: Action) -> Hashable:
        """A hashable key of an action: a design's cells and steps, a menu item, or a test
        with the number of trajectories it scores (new data make a test new again)."""
        if isinstance(action, dict):
            size = tuple(int(v) for v in np.asarray(action["size"]))
            cells = np.ascontiguousarray(action["cells"], dtype=np.int8)
            return ("design", size, cells.tobytes(), int(action["steps"]))
        view = self.view
        is_test = len(view.menu) <= action < view.submit_action
        return ("action", int(action), len(view.trajectories) if is_test else -1)

    def _belief_key(self) -> bytes:
        belief = self.view.belief
        if belief is None:
            return b""
        return belief.p_one.tobytes() + np.float64(belief.map_probability).tobytes()

    def _note_outcome(self) -> None:
        """Strike off the last action if it left the belief as it was."""
        if self._last is not None:
            key, before = self._last
            if self._belief_key() == before:
                self._useless.add(key)
        self._last = None

    def _taking(self, action: Action) -> Action:
        """Record ``action`` as taken from the current belief, and return it."""
        if action != self.view.submit_action:
            self._last = (self._key(action), self._belief_key())
        return action

    def _allowed_items(self, action_mask: np.ndarray) -> np.ndarray:
        items = np.flatnonzero(action_mask[: len(self.view.menu)])
        allowed = [i for i in items if self._key(int(i)) not in self._useless]
        return np.array(allowed, dtype=np.int64)

    def _design_allowed(self, cells: np.ndarray, steps: int) -> bool:
        view = self.view
        affordable = view.model.cost(cells.shape[0], cells.shape[1], steps) <= view.experiment_left
        key = self._key(view.design_action(cells, steps))
        return affordable and key not in self._useless

    # -- what the hidden rule shows --------------------------------------------------------

    def _menu_initials(self) -> list[np.ndarray]:
        """One initial condition per menu item, drawn once per episode (soups: from the
        agent's rng, an estimate of the env's own draw)."""
        if self._item_initials is None:
            view = self.view
            self._item_initials = [
                initial_condition(item, item.shape_in(view.world), self.rng) for item in view.menu
            ]
        return self._item_initials

    def _sightings(self, initial: np.ndarray, steps: int) -> np.ndarray:
        view = self.view
        last = 1 if self._first_step_only else steps
        frames = simulate(self._hidden, initial, last)
        return evidence_counts(frames, view.space, view.model, 0, last)

    def _menu_counts(self) -> np.ndarray:
        """float (M, n_free): sightings per menu item under the hidden rule."""
        if self._item_counts is None:
            items = zip(self.view.menu, self._menu_initials(), strict=True)
            self._item_counts = np.stack(
                [self._sightings(initial, item.steps) for item, initial in items]
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
            parts = [self._stats_parts(initial) for initial in self._menu_initials()]
            self._item_stats = (
                np.stack([shifts for shifts, _ in parts]),
                np.stack([variances for _, variances in parts]),
            )
        return self._item_stats

    # -- acting ----------------------------------------------------------------------------

    def act(
        self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray
    ) -> Action:
        self._note_outcome()
        view = self.view
        if self._identified() or self._stalled():
            return view.submit_action
        p_one = obs["p_one"].astype(np.float64)
        action: Action
        if self._planner == "competitors":
            action = self._competitor_act(action_mask)
        elif self._planner == "stats":
            action = self._stats_act(p_one, action_mask)
        else:
            action = self._sightings_act(p_one, action_mask)
        if action == view.submit_action or self._since_progress >= TEST_AFTER:
            test = self._corrective_test(action_mask)
            action = action if test is None else test
        return self._taking(action)

    def _wrong_bits(self) -> np.ndarray:
        """Free-bit indices where the env's MAP rule differs from the nearest rule of the
        hidden class."""
        view = self.view
        assert view.belief is not None
        guess = view.space.free_values(view.belief.map_rule)
        members = observational_class(self._hidden, view.space, view.model)
        wrong = [np.flatnonzero(view.space.free_values(m) != guess) for m in members]
        return min(wrong, key=len)

    def _corrective_test(self, action_mask: np.ndarray) -> int | None:
        """A bit test of the bit the MAP has wrong that the engine holds least firmly, on
        engines that fold tests into their belief (a search engine stuck on a wrong local
        optimum flips the bit when the data favour the truth); at most one per state of
        the data, and None when there is none to take. Taken only once experiments stop
        making progress (``TEST_AFTER``) or none helps: tests cost compute, and new data
        usually move a wrong bit anyway."""
        view = self.view
        n = len(view.trajectories)
        if not view.engine_uses_tests or not n or view.belief is None or self._tested_at == n:
            return None
        wrong = self._wrong_bits()
        firmness = np.abs(view.belief.p_one[wrong] - 0.5)
        for bit in wrong[np.argsort(firmness, kind="stable")]:
            action = len(view.menu) + int(bit)
            if action_mask[action] and self._key(action) not in self._useless:
                self._tested_at = n
                return action
        return None

    def _stalled(self) -> bool:
        """Whether ``STALL_PATIENCE`` experiments in a row brought the MAP no closer to the
        hidden class (fewer wrong bits, else fewer undetermined bits, else a higher class
        probability): then nothing it plans helps, and it submits (the benchmark marks the
        reference failed)."""
        view = self.view
        if view.belief is None or not view.trajectories:
            return False
        belief = view.belief
        progress = (
            -len(self._wrong_bits()),
            -int(np.count_nonzero(~belief.determined)),
            float(np.nan_to_num(belief.map_probability)),
        )
        if self._best_progress is None or progress > self._best_progress:
            self._best_progress, self._since_progress = progress, 0
        elif len(view.trajectories) > self._experiments_seen:
            self._since_progress += 1
        self._experiments_seen = len(view.trajectories)
        last_step = view.steps >= view.max_steps - 1  # a reference is never truncated
        return last_step or self._since_progress >= STALL_PATIENCE

    def _sightings_act(self, p_one: np.ndarray, action_mask: np.ndarray) -> Action:
        """The experiment supplying the most needed sightings per cell-step (module doc)."""
        view = self.view
        demand = self._demand(np.clip(p_one, 1e-300, 1 - 1e-16))
        if demand.sum() <= 0:  # every bit is there but the joint probability is not
            demand = np.ones_like(demand)
        best: Action = view.submit_action
        best_value = 0.0
        counts = self._menu_counts()
        for item in self._allowed_items(action_mask):
            value = np.minimum(counts[item], demand).sum() / view.item_costs[item]
            if value > best_value:
                best, best_value = int(item), float(value)
        if view.design:
            steps = view.model.fewest_steps
            cells, _ = cheapest_design(
                view.space, view.model, demand, view.smallest_world, view.world, self.rng
            )
            cost = view.model.cost(cells.shape[0], cells.shape[1], steps)
            supplied = np.minimum(self._sightings(cells, steps), demand).sum()
            if self._design_allowed(cells, steps) and supplied / cost > best_value:
                return view.design_action(cells, steps)
        return best

    def _demand(self, p_one: np.ndarray) -> np.ndarray:
        view = self.view
        truth = view.space.free_values(self._hidden).astype(bool)
        odds = log_odds(p_one)
        toward = np.where(truth, odds, -odds)
        return sightings_needed(
            toward, self._per_sighting, self._target, view.model.flip_probability
        )

    def _stats_act(self, p_one: np.ndarray, action_mask: np.ndarray) -> Action:
        """The experiment that removes the most planned entropy per cell-step (module doc)."""
        view = self.view
        if self._since_progress >= TEST_AFTER:
            flip = self._flip_act(p_one, action_mask)
            if flip is not None:
                return flip
        self._ledger.update(view.trajectories)
        truth = view.space.free_values(self._hidden).astype(bool)
        wrong = (p_one > 0.5) != truth
        entropy = np.maximum(
            np.where(wrong, 1.0, binary_entropy_bits(p_one)), self._ledger.entropy()
        )
        best: Action = view.submit_action
        best_value = 0.0
        items = self._allowed_items(action_mask)
        if len(items):
            shifts, variances = self._menu_stats()
            gains = self._ledger.shares(shifts[items], variances[items], entropy) @ entropy
            values = gains / view.item_costs[items]
            if values.max() > 0:
                best, best_value = int(items[np.argmax(values)]), float(values.max())
        bit = int(np.argmax(entropy))
        # Probes of one bit can hold a search engine in a wrong optimum: once experiments
        # stop making progress, the menu's soups alone.
        if view.design and entropy[bit] > 0 and self._since_progress < TEST_AFTER:
            for cells in stats_designs(
                view.space, view.model, bit, entropy, view.smallest_world, view.world, self.rng
            ):
                shifts, variances = self._stats_parts(cells)
                shares = self._ledger.shares(shifts[None], variances[None], entropy)[0]
                cost = view.model.cost(cells.shape[0], cells.shape[1], 1)
                value = float(shares @ entropy) / cost
                if self._design_allowed(cells, 1) and value > best_value:
                    best, best_value = view.design_action(cells, 1), value
        return best

    def _flip_act(self, p_one: np.ndarray, action_mask: np.ndarray) -> Action | None:
        """The experiment that does most, per cell-step, to make the search engine flip the
        bits its MAP has wrong (None when it has none, or nothing helps).

        A MAP stuck with compensating errors holds each wrong bit ``b`` by ``hold_b``, the
        log-likelihood its flip alone would lose (the engine's log-odds); the engine's
        climb flips ``b`` once new data make the flip gain more than that. An experiment's
        expected gain for the flip is ``separation(MAP) - separation(MAP with b flipped)``
        (``lifegym.agents.competitors``: the engine's own likelihood, in expectation under
        the hidden rule). Candidates are the menu's items and designed probes of each
        wrong bit whose other patterns belong to bits the MAP holds firmly and right; each
        scores the share of every wrong bit's hold (plus ``FLIP_MARGIN``) it supplies,
        capped at one per bit, per cell-step."""
        view = self.view
        assert view.belief is not None
        wrong = self._wrong_bits()
        if not wrong.size:
            return None
        truth = view.space.free_values(self._hidden).astype(bool)
        odds = log_odds(np.clip(p_one, 1e-300, 1 - 1e-16))
        toward_truth = np.where(truth, odds, -odds)
        holds = np.maximum(-toward_truth[wrong], 0.0) + FLIP_MARGIN
        guess = view.space.free_values(view.belief.map_rule)
        flipped = []
        for bit in wrong:
            values = guess.copy()
            values[bit] ^= 1
            flipped.append(view.space.rule(values))
        rules = [view.belief.map_rule, *flipped]
        candidates = self._menu_candidates(action_mask)
        if view.design:
            avoid = np.where(truth == (p_one > 0.5), binary_entropy_bits(p_one), 1.0)
            for bit in wrong:
                for cells in stats_designs(
                    view.space, view.model, int(bit), avoid, view.smallest_world, view.world,
                    self.rng,
                ):  # fmt: skip
                    if self._design_allowed(cells, 1):
                        cost = view.model.cost(cells.shape[0], cells.shape[1], 1)
                        candidates.append((view.design_action(cells, 1), cells, 1, cost))

        def supplied(apart: np.ndarray) -> np.ndarray:
            gains = apart[0][None] - apart[1:]  # (wrong bits, candidates)
            return np.clip(gains / holds[:, None], 0.0, 1.0).sum(axis=0)

        return self._most_separating(candidates, rules, supplied)

    def _menu_candidates(self, action_mask: np.ndarray) -> list[Candidate]:
        """Every allowed menu item as a candidate (action, initial condition, steps, cost)."""
        view = self.view
        initials = self._menu_initials()
        return [
            (int(item), initials[item], view.menu[int(item)].steps, int(view.item_costs[item]))
            for item in self._allowed_items(action_mask)
        ]

    def _most_separating(
        self,
        candidates: list[Candidate],
        rules: list[Rule],
        value: Callable[[np.ndarray], np.ndarray],
    ) -> Action | None:
        """The candidate of highest positive ``value`` per cell-step (None if none):
        ``value`` maps the ``separation`` of ``rules`` from the hidden rule (rules x
        candidates) to a value per candidate; candidates sharing a world shape and steps
        are simulated as one batch."""
        best: Action | None = None
        best_value = 0.0
        groups: dict[tuple[tuple[int, ...], int], list[int]] = {}
        for c, (_, cells, steps, _) in enumerate(candidates):
            groups.setdefault((cells.shape, steps), []).append(c)
        for (_, steps), members in groups.items():
            batch = np.stack([candidates[c][1] for c in members])
            values = value(separation(self._hidden, rules, batch, steps, self.view.model))
            costs = np.array([candidates[c][3] for c in members], dtype=np.float64)
            for c, per_cost in zip(members, values / costs, strict=True):
                if per_cost > best_value:
                    best, best_value = candidates[c][0], float(per_cost)
        return best

    # -- the competitor planner ------------------------------------------------------------

    def _replica_engine(self) -> InferenceEngine:
        """The oracle's copy of the env's engine, fed every public trajectory so far."""
        view = self.view
        if self._replica is None:
            self._replica = view.engine_factory(view.space, view.model)
        for trajectory in view.trajectories[self._fed :]:
            self._replica.update(trajectory)
        self._fed = len(view.trajectories)
        return self._replica

    def _competitors(self) -> tuple[Competitors, Any]:
        """The rules competing with the hidden class in the replica's posterior."""
        engine: Any = self._replica_engine()
        view = self.view
        engine.belief()
        best, rules, _ = engine.scores.posterior_support()
        members = observational_class(self._hidden, view.space, view.model)
        indices = np.array([engine.index_of(m) for m in members], dtype=np.int64)
        loglik = engine.loglik
        live = engine.exact[indices]
        if live.any() and np.isfinite(best):
            class_log = float(np.logaddexp.reduce(loglik[indices[live]] - best))
        else:  # the hidden class is out of the posterior: every competitor weighs in full
            class_log = -700.0
        log_weights = loglik[rules] - best if np.isfinite(best) else np.zeros(len(rules))
        return competitor_sample(rules, log_weights, indices, class_log, self.rng), engine

    def _competitor_act(self, action_mask: np.ndarray) -> Action:
        """The experiment removing the most competitor mass per cell-step (module doc)."""
        view = self.view
        found, engine = self._competitors()
        if not found.total > 0:  # nothing competes: only undetermined bits can be left
            return view.submit_action
        goal = self.delta / 2 / (1 - self.delta / 2)  # competitor mass per class mass
        needed = max(np.log(found.total) - np.log(goal), 1e-3)
        rules = [engine.rule(int(i)) for i in found.indices]
        candidates = self._menu_candidates(action_mask)
        if view.design:
            for cells, steps in self._competitor_designs(found, rules):
                if self._design_allowed(cells, steps):
                    cost = view.model.cost(cells.shape[0], cells.shape[1], steps)
                    candidates.append((view.design_action(cells, steps), cells, steps, cost))

        def removed(gains: np.ndarray) -> np.ndarray:
            left = np.log(np.exp(-gains).T @ found.mass + 1e-300)
            return np.minimum(np.log(found.total) - left, needed)

        best = self._most_separating(candidates, rules, removed)
        return view.submit_action if best is None else best

    def _competitor_designs(
        self, found: Competitors, rules: list[Rule]
    ) -> list[tuple[np.ndarray, int]]:
        """Designs aimed at the bits the competitors dispute: the cheapest design showing
        each disputed bit once and three times (frames), or probes of the most disputed
        bit (statistics), run for one and for two observed frames."""
        view = self.view
        truth = view.space.free_values(self._hidden).astype(bool)
        values = np.array([view.space.free_values(rule) for rule in rules], dtype=bool)
        dispute = (values != truth[None]).T @ found.mass / max(found.mass.sum(), 1e-300)
        if not dispute.max() > 0:
            return []
        designs: list[np.ndarray] = []
        if view.model.stats_sigma is not None:
            bit = int(np.argmax(dispute))
            designs = stats_designs(
                view.space, view.model, bit, dispute, view.smallest_world, view.world, self.rng
            )
        else:
            disputed = (dispute >= 1e-3 * dispute.max()).astype(np.float64)
            for times in (1.0, 3.0):
                cells, _ = cheapest_design(
                    view.space,
                    view.model,
                    times * disputed,
                    view.smallest_world,
                    view.world,
                    self.rng,
                )
                designs.append(cells)
        stride = view.model.stride
        steps = [s for s in (stride, 2 * stride) if s <= view.max_experiment_steps]
        return [(cells, s) for cells in designs for s in steps]
