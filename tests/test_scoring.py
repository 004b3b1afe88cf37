"""End-of-episode metrics: the result's fields and undetermined bits (the battery and
behavioural match: tests/test_behaviour.py)."""

from __future__ import annotations

import numpy as np
from examples import seen

from lifegym.behaviour import battery
from lifegym.equivalence import observational_class
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.scoring import Ending, EpisodeResult, outside_class, score_episodes, undetermined_bits
from lifegym.sim import same_trajectories, simulate
from lifegym.types import RuleSpace, VisibleTrajectory


def test_undetermined_bits_are_exactly_the_bits_a_flip_cannot_show() -> None:
    space = RuleSpace.of("totalistic")
    life = Rule.parse("B3/S23")
    blinker = np.zeros((12, 12), dtype=np.uint8)
    blinker[5, 4:7] = 1
    trajectory = seen(life, blinker, 4, ObservationModel())
    unknown = {space.free_names[i] for i in undetermined_bits(life, space, [trajectory])}
    # A blinker in Life shows neighbour counts 0..3 for dead cells and 1..2 for live ones.
    assert unknown == {"B4", "B5", "B6", "B7", "B8", "S0", "S3", "S4", "S5", "S6", "S7", "S8"}
    for name in space.free_names:
        bits = space.free_values(life)
        bits[space.free_names.index(name)] ^= 1
        flipped = space.rule(bits)
        same = np.array_equal(simulate(flipped, blinker, 4), simulate(life, blinker, 4))
        assert same == (name in unknown), name


def test_undetermined_bits_with_statistics_and_a_window() -> None:
    space = RuleSpace.of("totalistic")
    life = Rule.parse("B3/S23")
    soup = (np.random.default_rng(3).random((40, 40)) < 0.5).astype(np.uint8)
    for model in (ObservationModel(stats_sigma=0.3), ObservationModel(window=(10, 10))):
        trajectory = seen(life, soup, 6, model)
        unknown = undetermined_bits(life, space, [trajectory])
        assert len(unknown) < space.n_free
    assert undetermined_bits(life, space, []) == list(range(space.n_free))


def test_episode_result_fields() -> None:
    space = RuleSpace.of("totalistic")
    soup = (np.random.default_rng(4).random((30, 30)) < 0.5).astype(np.uint8)
    life = Rule.parse("B3/S23")
    trajectory = seen(life, soup, 3, ObservationModel())
    result = _scored(life, Rule.parse("B36/S23"), space, ObservationModel(), [trajectory], 0.25)
    assert result.true_rule == "B3/S23" and result.submitted_rule == "B36/S23"
    assert result.exact is False and result.behavioural_match is False
    assert result.bits_correct == 17 / 18
    assert result.n_undetermined == len(result.undetermined_bits)
    assert result.class_probability == 0.25 and result.identified is False
    assert result.identified_delta == 0.01 and result.score_version == 2
    assert result.equivalent_rules == []


def test_same_trajectories_agrees_with_full_simulation() -> None:
    rng = np.random.default_rng(11)
    for _ in range(60):
        height, width = (int(v) for v in rng.integers(1, 70, size=2))
        a = Rule.random("totalistic", rng)
        bits = a.bits.copy()
        bits[rng.integers(18)] ^= 1
        b = Rule.from_bits(bits, "totalistic")
        grids = (rng.random((2, height, width)) < rng.random()).astype(np.uint8)
        steps = int(rng.integers(0, 10))
        want = np.array_equal(simulate(a, grids, steps), simulate(b, grids, steps))
        assert same_trajectories(a, b, grids, steps) == want
    iso = Rule.parse("B2-a/S12")
    grids = battery((20, 20)).reshape(-1, 20, 20)
    assert same_trajectories(iso, iso, grids, 5)
    assert not same_trajectories(iso, Rule.parse("B2/S12"), grids, 5)


def test_undetermined_bits_of_a_totalistic_table_in_a_larger_family() -> None:
    # The submitted rule's table is outer-totalistic, but its single-bit flips in the
    # isotropic family are not: they must be compared by replay.
    space = RuleSpace.of("isotropic")
    rule = Rule(Rule.parse("B01/S").table, "isotropic")
    soup = (np.random.default_rng(5).random((20, 20)) < 0.3).astype(np.uint8)
    trajectory = seen(rule, soup, 3, ObservationModel(noise=0.05))
    unknown = undetermined_bits(rule, space, [trajectory])
    assert 0 < len(unknown) < space.n_free


def test_a_flip_inside_the_class_is_not_an_undetermined_bit() -> None:
    """Under stride 2, B/S, B7/S, B8/S and B78/S share one two-step map: B7 and B8 are
    settled up to the class, so only flips that leave the class can be undetermined."""
    space = RuleSpace.of("totalistic")
    model = ObservationModel(stride=2)
    empty = Rule.parse("B/S")
    members = observational_class(empty, space, model)
    assert {str(m) for m in members} == {"B/S", "B7/S", "B8/S", "B78/S"}
    names = list(space.free_names)
    bits = [names.index(n) for n in ("B6", "B7", "B8", "S0")]
    assert [names[i] for i in outside_class(bits, empty, space, members)] == ["B6", "S0"]
    assert outside_class(bits, empty, space, members[:1]) == bits  # a singleton keeps all
    soup = (np.random.default_rng(2).random((10, 10)) < 0.5).astype(np.uint8)
    result = _scored(empty, Rule.parse("B78/S"), space, model, [seen(empty, soup, 2, model)], 1.0)
    assert result.exact and result.bits_correct == 1.0
    assert not {"B7", "B8"} & set(result.undetermined_bits)


def _scored(
    truth: Rule,
    submitted: Rule,
    space: RuleSpace,
    model: ObservationModel,
    trajectories: list[VisibleTrajectory],
    probability: float,
) -> EpisodeResult:
    """``submitted`` scored against ``truth`` by an engine giving every class
    ``probability``, on a battery of the first trajectory's world."""
    ending = Ending(
        truth,
        submitted,
        trajectories,
        battery(trajectories[0].world_shape),
        lambda members: probability,
        costs={
            "experiment_cost": 5,
            "compute_cost": 7,
            "n_experiments": len(trajectories),
            "n_tests": 0,
            "submitted_by": "agent",
            "belief_entropy": 0.0,
            "n_consistent": 1,
        },
    )
    return score_episodes([ending], space, model)[0]
