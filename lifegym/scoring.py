"""Honest end-of-episode metrics (section 5 of the domain notes), ``score_version`` 2.

* **exact**: the submitted rule is the hidden rule up to observational equivalence
  (``lifegym.equivalence``: rules no experiment of the observation model can tell apart
  form one class); ``bits_correct``: the fraction of free bits right against the nearest
  rule of the hidden rule's class;
* **identified** (:func:`is_identified`): exact, no undetermined bit, and the env's engine
  gives the submitted rule's class posterior probability at least ``1 - IDENTIFIED_DELTA``
  (``class_probability``; the engines that cannot compute it give a lower bound: see
  ``InferenceEngine.class_probability``): the luck-free score, one definition for every
  engine and preset;
* **behavioural match** (``lifegym.behaviour``): the evolution statistics of the submitted
  and the hidden rule on a battery of fresh soups, drawn per episode from a stream no agent
  sees (or fixed, on the v0 presets), agree within the soup-to-soup noise; true for every
  rule of the hidden rule's class;
* **undetermined bits**: free bits the visible data could not determine: flipping the bit
  in the submitted rule changes nothing the experimenter saw (the clean observed frames,
  or clean statistics counts, of every visible trajectory) and takes it out of its class
  (:func:`outside_class`: a flip inside the class is settled as far as any experiment
  can). They are reported, not hidden in the accuracy.

:func:`score_episodes` scores the episodes that end in one step of a batch together (the
single env's one episode is a batch of one): their behavioural tests in shared kernel
calls, and each episode's undetermined bits from one occurrence kernel
(``lifegym.patterns.occurring_bits``) or the bit-packed check, with no rule object per bit.

Version 1 (before the measuring-stick issue) required ``n_consistent == 1`` on engines
that count and 0.1 bit of entropy on the others, demanded the very rule even where no
experiment could separate it from its class, and matched behaviour by identical frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np

from lifegym.behaviour import LazyBattery, behavioural_matches
from lifegym.equivalence import observational_class
from lifegym.likelihood import Replay, clean_counts, packed_region, replays
from lifegym.observe import ObservationModel
from lifegym.patterns import RUN_COLUMNS, occurring_bits
from lifegym.rules import Rule
from lifegym.sim import agreeing_rules, bs_rule_words, pack_frames
from lifegym.types import RuleSpace, VisibleTrajectory

__all__ = [
    "IDENTIFIED_DELTA",
    "SCORE_VERSION",
    "Ending",
    "EpisodeResult",
    "PackedGroup",
    "is_identified",
    "outside_class",
    "packed_groups",
    "score_episodes",
    "shows_every_flip",
    "undetermined_bits",
]

#: Frame trajectories sharing world, observed steps and region, as the bit-packed check
#: takes them: (packed initials (B, nw+2, H+2), width, observed steps, region mask).
PackedGroup = tuple[np.ndarray, int, np.ndarray, np.ndarray]


def _observed_view(replay: Replay, trajectory: VisibleTrajectory) -> np.ndarray:
    """What a trajectory would have shown without noise: frames, or statistics counts."""
    if trajectory.frames is not None:
        return replay.frames
    wrap = trajectory.model.wraps(*trajectory.world_shape)
    return clean_counts(replay.initial, replay.frames, wrap)


def _occurring_bits(
    rule: Rule, trajectories: Sequence[VisibleTrajectory], orbit_of: np.ndarray
) -> np.ndarray:
    """bool (n_trajectories, n_bits): whose patterns occur as inputs in ``rule``'s runs
    from the trajectories' initial conditions (one kernel call)."""
    cells = np.concatenate([t.initial.ravel() for t in trajectories])
    sizes = np.array([t.initial.size for t in trajectories], dtype=np.int64)
    runs = np.zeros((len(trajectories), len(RUN_COLUMNS)), dtype=np.int64)
    runs[:, 0] = np.cumsum(sizes) - sizes
    runs[:, 1:3] = [t.initial.shape for t in trajectories]
    runs[:, 3] = [t.steps for t in trajectories]
    runs[:, 4] = np.arange(len(trajectories))
    return occurring_bits(cells, runs, rule.table[None], orbit_of, len(trajectories))


#: The observation features that hide no cell of any frame.
_EVERY_FLIP = frozenset({"frames", "noise"})


def shows_every_flip(model: ObservationModel) -> bool:
    """Whether a trajectory seen through ``model`` shows every cell of every frame (frames,
    perhaps noisy, and nothing else: no stride, window, statistics or any other part):
    then a rule's flipped bit changes what is seen exactly when one of its patterns occurs
    in the rule's run."""
    return model.features <= _EVERY_FLIP


def undetermined_bits(
    rule: Rule,
    space: RuleSpace,
    trajectories: Sequence[VisibleTrajectory],
    groups: Sequence[PackedGroup] | None = None,
) -> list[int]:
    """Free-bit indices (into ``space.free_bits``) whose flip in ``rule`` changes nothing seen.

    Frames seen under outer-totalistic rules: ``rule`` and the flipped rule are stepped
    side by side bit-packed, trajectory after trajectory, until an observed cell differs
    (``groups``: the trajectories as :func:`packed_groups` gives them, when the caller
    keeps them packed; ``trajectories`` are then not read). Otherwise: a bit changes
    nothing in a trajectory where its patterns never occur in ``rule``'s run
    (:func:`lifegym.patterns.occurring_bits`, one kernel call); where they do, it changes
    what is seen if every cell of every frame is (:func:`shows_every_flip`), and
    elsewhere the flipped rule is replayed and compared.
    """
    values = space.free_values(rule)
    # Flipping a bit keeps a rule outer-totalistic only in the totalistic family.
    packed = space.family == "totalistic" and (
        groups is not None or all(t.frames is not None for t in trajectories)
    )
    if packed:  # the flipped rules as the bit-packed kernel's words: no rule objects
        bits = space.bits(values)
        flipped = np.repeat(bits[None], space.n_free, axis=0)
        flipped[np.arange(space.n_free), space.free_bits] ^= 1
        base, (born, flip) = bs_rule_words(bits), bs_rule_words(flipped)
        undetermined = np.ones(space.n_free, dtype=bool)
        for group in packed_groups(trajectories) if groups is None else groups:
            still = np.flatnonzero(undetermined)
            if not len(still):
                break
            undetermined[still] = agreeing_rules(base, (born[still], flip[still]), *group)
        return np.flatnonzero(undetermined).tolist()
    if not trajectories:
        return list(range(space.n_free))
    occurring = _occurring_bits(rule, trajectories, space.family.orbit_of)[:, space.free_bits]
    every = np.array([shows_every_flip(t.model) for t in trajectories])
    undetermined = ~occurring[every].any(axis=0)
    # elsewhere a flip whose patterns occur may still change nothing seen: replay it
    rest = np.flatnonzero(~every)
    rest_list = rest.tolist()
    replayed = dict(
        zip(rest_list, replays(rule, [trajectories[t] for t in rest_list]), strict=True)
    )
    for index in np.flatnonzero(undetermined & occurring[rest].any(axis=0)):
        flipped = values.copy()
        flipped[index] ^= 1
        other = space.rule(flipped)
        undetermined[index] = all(
            _same_replay(other, trajectories[t], replayed[t]) for t in rest[occurring[rest, index]]
        )
    return np.flatnonzero(undetermined).tolist()


def outside_class(
    bits: Sequence[int], rule: Rule, space: RuleSpace, members: Sequence[Rule]
) -> list[int]:
    """The free-bit indices of ``bits`` whose flip takes ``rule`` out of its observational
    class ``members`` (a flip inside the class changes nothing any experiment can show:
    such a bit is settled up to the class, as ``exact`` and ``identified`` ask)."""
    if len(members) < 2:
        return list(bits)
    values = space.free_values(rule)
    inside = {space.free_values(member).tobytes() for member in members}
    kept = []
    for index in bits:
        flipped = values.copy()
        flipped[index] ^= 1
        if flipped.tobytes() not in inside:
            kept.append(int(index))
    return kept


def packed_groups(trajectories: Sequence[VisibleTrajectory]) -> list[PackedGroup]:
    """The frame trajectories as groups sharing world and observed steps, one
    ``agreeing_rules`` call each (see ``PackedGroup``)."""
    groups: dict[tuple, list[VisibleTrajectory]] = {}
    for t in trajectories:
        if len(t.times):
            groups.setdefault((t.world_shape, t.times.tobytes(), t.model), []).append(t)
    found = []
    for members in groups.values():
        first = members[0]
        world = first.world_shape
        initials = pack_frames(np.stack([t.initial for t in members]), world)
        assert first.frames is not None  # packed groups hold frame trajectories
        mask = packed_region(*first.frames.shape[1:], world)
        found.append((initials, world[1], first.times, mask))
    return found


def _same_replay(other: Rule, trajectory: VisibleTrajectory, base: Replay) -> bool:
    replay = replays(other, [trajectory])[0]
    return np.array_equal(_observed_view(base, trajectory), _observed_view(replay, trajectory))


#: The one tolerance of ``identified``, for every engine and preset: the engine must give
#: the submitted rule's class posterior probability at least ``1 - IDENTIFIED_DELTA``.
IDENTIFIED_DELTA = 0.01
#: The version of the scoring rules (``identified``, ``exact``, ``behavioural_match`` and the
#: benchmark's ``score``): 1 until the measuring-stick issue; 2 since.
SCORE_VERSION = 2


def is_identified(
    in_class: bool, n_undetermined: int, class_probability: float, delta: float = IDENTIFIED_DELTA
) -> bool:
    """The luck-free score: the submitted rule is the hidden one up to observational
    equivalence (``in_class``), the env's engine gives that class posterior probability at
    least ``1 - delta`` (a lower bound where the engine cannot compute it; NaN counts as
    none), and no free bit is left undetermined by the data (a flip of the bit changes
    nothing seen: no engine may claim such a bit settled). A rule whose undetermined bits
    merely match a tie-break is exact, not identified."""
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    return bool(in_class and not n_undetermined and class_probability >= 1.0 - delta)


@dataclass(frozen=True)
class EpisodeResult:
    """What ``info["result"]`` holds at the end of an episode (as a dict of plain values)."""

    true_rule: str
    submitted_rule: str
    exact: bool
    identified: bool
    bits_correct: float
    behavioural_match: bool
    undetermined_bits: list[str]
    n_undetermined: int
    class_probability: float
    identified_delta: float
    equivalent_rules: list[str]
    score_version: int
    experiment_cost: int
    compute_cost: int
    n_experiments: int
    n_tests: int
    submitted_by: str
    belief_entropy: float
    n_consistent: int

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict of plain values (``dataclasses.asdict``, without its
        recursive deep copy: the lists hold strings)."""
        return {
            name: list(value) if isinstance(value, list) else value
            for name, value in self.__dict__.items()
        }


class EpisodeCosts(TypedDict):
    """The cost fields of an :class:`EpisodeResult` (``Ending.costs``)."""

    experiment_cost: int
    compute_cost: int
    n_experiments: int
    n_tests: int
    submitted_by: str
    belief_entropy: float
    n_consistent: int


@dataclass(frozen=True)
class Ending:
    """What scoring one episode's end reads (see :func:`score_episodes`).

    ``class_probability(members)`` is the env's engine's posterior probability (or bound)
    of a class; ``costs`` fills the cost fields of the result (``experiment_cost``,
    ``compute_cost``, ``n_experiments``, ``n_tests``, ``submitted_by``,
    ``belief_entropy``, ``n_consistent``); ``groups``: the trajectories as
    :func:`undetermined_bits` takes them when the caller keeps them packed;
    ``undetermined``: :func:`undetermined_bits`'s answer, when the caller found it for many
    episodes at once (``trajectories`` are then not read)."""

    true_rule: Rule
    submitted: Rule
    trajectories: Sequence[VisibleTrajectory]
    battery: np.ndarray | LazyBattery
    class_probability: Callable[[Sequence[Rule]], float]
    costs: EpisodeCosts
    groups: Sequence[PackedGroup] | None = None
    undetermined: Sequence[int] | None = None


def score_episodes(
    endings: Sequence[Ending], space: RuleSpace, model: ObservationModel
) -> list[EpisodeResult]:
    """Score each episode's submitted rule against its hidden rule seen through ``model``
    (the module doc gives the fields): the episodes ending in one step of a batch
    together (their behavioural tests screened in one kernel call per density group), or
    one. Per episode only small lookups remain (its observational class, cached)."""
    classes = [observational_class(e.submitted, space, model) for e in endings]
    in_class = [
        any(e.true_rule == member for member in members)
        for e, members in zip(endings, classes, strict=True)
    ]
    # rules of one class behave alike wherever the model can look
    testing = [k for k, inside in enumerate(in_class) if not inside]
    behaves = np.array(in_class, dtype=bool)
    behaves[testing] = behavioural_matches(
        [endings[k].true_rule for k in testing],
        [endings[k].submitted for k in testing],
        [endings[k].battery for k in testing],
    )
    names = space.free_names
    results = []
    for ending, members, inside, alike in zip(endings, classes, in_class, behaves, strict=True):
        submitted = ending.submitted
        truth = space.free_values(ending.true_rule)
        closest = max(  # bits correct against the class member nearest the truth
            (space.free_values(member) for member in members),
            key=lambda values: int(np.sum(values == truth)),
        )
        undetermined = ending.undetermined
        if undetermined is None:
            undetermined = undetermined_bits(submitted, space, ending.trajectories, ending.groups)
        unknown = outside_class(undetermined, submitted, space, members)
        probability = float(ending.class_probability(members))
        results.append(
            EpisodeResult(
                true_rule=str(ending.true_rule),
                submitted_rule=str(submitted),
                exact=inside,
                identified=is_identified(inside, len(unknown), probability),
                bits_correct=float(np.mean(truth == closest)) if len(truth) else 1.0,
                behavioural_match=bool(alike),
                undetermined_bits=[names[i] for i in unknown],
                n_undetermined=len(unknown),
                class_probability=probability,
                identified_delta=IDENTIFIED_DELTA,
                equivalent_rules=[str(member) for member in members[1:]],
                score_version=SCORE_VERSION,
                **ending.costs,
            )
        )
    return results
