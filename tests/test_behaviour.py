"""Behavioural match by evolution statistics (lifegym.behaviour), on real simulations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym.behaviour import (
    BATTERY_DENSITIES,
    BATTERY_REPLICATES,
    BATTERY_SEED,
    BATTERY_STEPS,
    MATCH_Z,
    LazyBattery,
    battery,
    behaviour_gap,
    behavioural_match,
    behavioural_matches,
    evolution_statistics,
    one_cell,
    standardised_gaps,
)
from lifegym.families import get_family
from lifegym.observe import frame_statistics
from lifegym.patterns import pattern_histogram
from lifegym.rules import Rule
from lifegym.sim import simulate

WORLD = (60, 60)  # the env's default world
LIFE = Rule.parse("B3/S23")

rules = st.builds(
    Rule.random,
    st.sampled_from(["totalistic", "isotropic"]),
    st.integers(0, 2**32 - 1),
)
worlds = st.tuples(st.integers(3, 20), st.integers(3, 20))


@pytest.fixture(scope="module")
def fixed() -> np.ndarray:
    return battery(WORLD)


def _flip(rule: Rule, name: str) -> Rule:
    """``rule`` with one free bit of its family (by name) flipped."""
    bits = rule.family.bits_from_table(rule.table)
    bits[rule.family.bit_names.index(name)] ^= 1
    return Rule(rule.family.table_from_bits(bits), rule.family)


def _share(rule: Rule, grids: np.ndarray, bit: str) -> float:
    """Fraction of the cell updates of ``rule``'s battery trajectories whose neighbourhood
    is the isotropic configuration ``bit``."""
    family = get_family("isotropic")
    frames = simulate(rule, grids.reshape(-1, *grids.shape[2:]), BATTERY_STEPS)
    histogram = pattern_histogram(frames[:, :-1].reshape(-1, *grids.shape[2:]))
    return float(histogram[family.orbit_of == family.bit_names.index(bit)].sum() / histogram.sum())


# ------------------------------------------------------------------------------- battery


def test_battery_is_reproducible_shaped_and_at_its_densities() -> None:
    grids = battery((30, 40))
    assert grids.shape == (len(BATTERY_DENSITIES), BATTERY_REPLICATES, 30, 40)
    assert grids.dtype == np.uint8
    assert np.array_equal(grids, battery((30, 40)))
    assert np.array_equal(grids, battery((30, 40), np.random.default_rng(BATTERY_SEED)))
    # Each soup is near its density (1,200 cells: the binomial sd is at most 0.015).
    assert np.allclose(grids.mean(axis=(2, 3)), np.array(BATTERY_DENSITIES)[:, None], atol=0.06)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
@settings(max_examples=20, deadline=None)
def test_battery_differs_per_rng(seed_a: int, seed_b: int) -> None:
    a = battery((12, 9), np.random.default_rng(seed_a))
    b = battery((12, 9), np.random.default_rng(seed_b))
    assert np.array_equal(a, b) == (seed_a == seed_b)
    assert np.array_equal(a, battery((12, 9), np.random.default_rng(seed_a)))


# ---------------------------------------------------------------------------- statistics


@given(rules, worlds, st.integers(1, 6), st.integers(0, 2**32 - 1))
@settings(max_examples=25, deadline=None)
def test_evolution_statistics_are_frame_statistics_per_soup(
    rule: Rule, world: tuple[int, int], steps: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    soups = (rng.random((2, 3, *world)) < rng.random((2, 3, 1, 1))).astype(np.uint8)
    stats = evolution_statistics(rule, soups, steps)
    assert stats.shape == (2, 3, steps, 3) and stats.dtype == np.float64
    assert np.all((stats >= 0) & (stats <= 1))
    for index in np.ndindex(2, 3):
        frames = simulate(rule, soups[index], steps)
        expected = frame_statistics(frames[0], frames[1:], wrap=True)
        assert np.array_equal(stats[index], expected)  # the same counts, the same floats
    # Other leading shapes: one soup, a flat batch.
    assert np.array_equal(evolution_statistics(rule, soups[1, 2], steps), stats[1, 2])
    assert np.array_equal(evolution_statistics(rule, soups[1], steps), stats[1])


def test_one_cell_is_one_cell_of_density_and_activity() -> None:
    floor = one_cell((10, 12))
    assert floor[0] == floor[1] == 1 / 120
    assert 1 / 120 < floor[2] < 1


# ---------------------------------------------------------------------------- the match


@given(rules, worlds, st.integers(0, 2**32 - 1), st.integers(1, 12))
@settings(max_examples=30, deadline=None)
def test_identical_rules_match_on_any_battery(
    rule: Rule, world: tuple[int, int], seed: int, steps: int
) -> None:
    grids = battery(world, np.random.default_rng(seed))
    same = Rule.from_table(rule.table)  # another object, maybe another family: same table
    assert behavioural_match(rule, same, grids, steps)
    assert behaviour_gap(rule, same, grids, steps) == 0.0
    # Without the short-cut too: equal statistics give zero gaps.
    stats = evolution_statistics(rule, grids, steps)
    assert standardised_gaps(stats, stats.copy(), world).max() == 0.0


@given(rules, st.integers(0, 101), st.integers(0, 2**32 - 1), st.integers(1, 20))
@settings(max_examples=30, deadline=None)
def test_the_staged_match_is_the_gap_against_match_z(
    rule: Rule, bit: int, seed: int, steps: int
) -> None:
    # The other rule: one configuration of ``rule`` flipped (often a match), or a random
    # rule of the same family (almost never one).
    family = rule.family
    values = family.bits_from_table(rule.table)
    values[bit % family.n_bits] ^= 1
    for other in (Rule(family.table_from_bits(values), family), Rule.random(family, seed)):
        grids = battery((16, 16), np.random.default_rng(seed))
        gap = behaviour_gap(rule, other, grids, steps)
        assert behavioural_match(rule, other, grids, steps) == (gap <= MATCH_Z)
        lazy = LazyBattery((16, 16), np.random.default_rng(seed))
        assert behavioural_match(rule, other, lazy, steps) == (gap <= MATCH_Z)
        assert behaviour_gap(other, rule, grids, steps) == pytest.approx(gap)


def test_zero_noise_series_must_agree_within_one_cell() -> None:
    dead = np.zeros((2, 3, 8, 8), dtype=np.uint8)
    # From dead worlds: every rule without B0 stays dead (different rules, same frames) ...
    assert behavioural_match(Rule.parse("B1/S"), Rule.parse("B3/S23"), dead, 5)
    # ... and a B0 rule fills them: deterministic, no noise, a difference of every cell.
    assert not behavioural_match(Rule.parse("B0/S"), Rule.parse("B/S"), dead, 5)
    # Zero variance: a difference of one cell passes, of two cells does not.
    world = (8, 8)
    base = np.zeros((2, 3, 4, 3))
    assert standardised_gaps(base, base + one_cell(world), world).max() <= MATCH_Z
    assert standardised_gaps(base, base + 2 * one_cell(world), world).max() > MATCH_Z


def test_rules_that_differ_strongly_do_not_match(fixed: np.ndarray) -> None:
    for other in ("B36/S23", "B2/S", "B3/S236", "B3/S238"):
        assert not behavioural_match(LIFE, Rule.parse(other), fixed), other
        assert behaviour_gap(LIFE, Rule.parse(other), fixed) > 2 * MATCH_Z, other
    # Every single B/S bit flip of Life shows: each neighbour count is common in the first
    # step at some battery density.
    for name in LIFE.family.bit_names:
        assert not behavioural_match(LIFE, _flip(LIFE, name), fixed), name


# Life with one rare isotropic configuration flipped, each of orbit size 1 (the
# neighbourhood is its own rotations and reflections):
#   B4c: a dead cell whose four diagonal neighbours live and four orthogonal ones do not;
#   S4e: a live cell whose four orthogonal neighbours live and four diagonal ones do not.
# A soup shows each at most ~0.2% of its cells (d^4 (1 - d)^4 at d = 1/2) and Life's ash
# almost never, so the trajectories differ (the rules are not equivalent) but no statistic
# moves beyond the soup-to-soup noise. Found by flipping each of Life's 102 isotropic bits
# on the fixed 60x60 battery and 10 per-episode ones: these two match on all of them with
# the largest gap below 4.5 (51 of the 102 flips match on the fixed battery).
RARE = (("B4c", "B34c/S23"), ("S4e", "B3/S234e"))
# Life with one common configuration flipped: S3a is the neighbourhood of every cell of a
# block, Life's commonest still life, and of many cells of its soups; a Life without S3a
# has no blocks. Gap 25 on the fixed battery, over 20 on each of 10 per-episode ones.
COMMON = ("S3a", "B3/S23-a")


def test_rules_that_differ_only_on_rare_neighbourhoods_match(fixed: np.ndarray) -> None:
    for bit, text in RARE:
        other = _flip(LIFE.to("isotropic"), bit)
        assert other == Rule.parse(text) and other != LIFE
        assert _share(LIFE, fixed, bit) < 0.0005  # of all cell updates
        assert not np.array_equal(simulate(LIFE, fixed[3], 8), simulate(other, fixed[3], 8))
        assert behavioural_match(LIFE, other, fixed)
        assert behaviour_gap(LIFE, other, fixed) < 0.5 * MATCH_Z
        for seed in range(2):  # and on per-episode batteries
            assert behavioural_match(LIFE, other, battery(WORLD, np.random.default_rng(seed)))


def test_a_rule_that_differs_on_a_common_neighbourhood_does_not_match(
    fixed: np.ndarray,
) -> None:
    bit, text = COMMON
    other = _flip(LIFE.to("isotropic"), bit)
    assert other == Rule.parse(text)
    assert _share(LIFE, fixed, bit) > 0.005
    assert not behavioural_match(LIFE, other, fixed)
    assert behaviour_gap(LIFE, other, fixed) > 2 * MATCH_Z
    for seed in range(2):
        assert not behavioural_match(LIFE, other, battery(WORLD, np.random.default_rng(seed)))


# ------------------------------------------------------------------------------ bad input


def test_bad_input_is_a_value_error_naming_it(fixed: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"grids must be a 4-D .*got shape \(4, 60, 60\)"):
        behavioural_match(LIFE, LIFE, fixed[0])
    with pytest.raises(ValueError, match=r"got shape \(7, 4, 60, 60, 1\)"):
        behaviour_gap(LIFE, LIFE, fixed[..., None])
    with pytest.raises(ValueError, match=r"at least 2 replicates.*\(7, 1, 60, 60\)"):
        behavioural_match(LIFE, Rule.parse("B36/S23"), fixed[:, :1])
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        behavioural_match(LIFE, LIFE, fixed, 0)
    with pytest.raises(ValueError, match=r"soups must be .*got shape \(60,\)"):
        evolution_statistics(LIFE, fixed[0, 0, 0], 4)
    with pytest.raises(ValueError, match=r"grids must hold only 0 \(dead\) and 1"):
        behavioural_match(LIFE, LIFE, fixed * 2)


@given(worlds, st.integers(0, 2**32 - 1), st.lists(st.integers(0, 6), max_size=4))
@settings(max_examples=30, deadline=None)
def test_a_lazy_battery_draws_the_battery_s_soups_in_any_order_of_asking(
    world: tuple[int, int], seed: int, asked: list[int]
) -> None:
    grids = battery(world, np.random.default_rng(seed))
    lazy = LazyBattery(world, np.random.default_rng(seed))
    for d in asked:
        assert np.array_equal(lazy[d], grids[d])
    assert lazy.shape == grids.shape and len(lazy) == len(BATTERY_DENSITIES)
    assert np.array_equal(np.asarray(lazy), grids)
    with pytest.raises(IndexError, match=r"density group must be in 0\.\.6, got 7"):
        lazy[7]


@given(
    st.lists(
        st.tuples(rules, st.integers(0, 101), st.booleans(), st.sampled_from([(12, 12), (9, 14)])),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 2**32 - 1),
    st.integers(1, 12),
)
@settings(max_examples=15, deadline=None)
def test_matches_of_many_pairs_are_each_pair_s_gap_against_match_z(
    pairs: list[tuple[Rule, int, bool, tuple[int, int]]], seed: int, steps: int
) -> None:
    """Pairs of two world sizes, equal and unequal rules, lazy and drawn batteries,
    screened and tested together: each answer is the pair's own gap against MATCH_Z."""
    a, b, grids, gaps = [], [], [], []
    for k, (rule, bit, lazy, world) in enumerate(pairs):
        family = rule.family
        values = family.bits_from_table(rule.table)
        values[bit % family.n_bits] ^= 1
        other = Rule(family.table_from_bits(values), family) if k % 3 else rule
        drawn = battery(world, np.random.default_rng(seed + k))
        a.append(rule)
        b.append(other)
        grids.append(LazyBattery(world, np.random.default_rng(seed + k)) if lazy else drawn)
        gaps.append(behaviour_gap(rule, other, drawn, steps))
    got = behavioural_matches(a, b, grids, steps)
    assert got.dtype == bool and got.tolist() == [gap <= MATCH_Z for gap in gaps]
