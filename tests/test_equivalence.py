"""Observational equivalence classes (lifegym.equivalence): complements, the k-step map
check, the classes under every observation model, and the argument for the one kind
checked end to end with the real simulator and the real observation models."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym.equivalence import (
    CLASS_KINDS,
    COMPLEMENT_AT_EVEN_STRIDE,
    SAME_TWO_STEP_MAP,
    TWO_STEP_CLASSES,
    complement,
    is_self_complementary,
    k_step_maps_agree,
    k_step_witness,
    observational_class,
    pair_kind,
    same_class,
)
from lifegym.families import FAMILIES, RuleFamily
from lifegym.neighbourhoods import CENTRE, patch_to_pattern, pattern_to_patch
from lifegym.observe import ObservationModel, full, noisy, stats, strided, window
from lifegym.registration import PRESETS
from lifegym.rules import NAMED_RULES, Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace

TOTALISTIC = FAMILIES["totalistic"]
ISOTROPIC = FAMILIES["isotropic"]
BS = RuleSpace.of("totalistic")
DAY_AND_NIGHT = Rule.parse(NAMED_RULES["Day & Night"])
FREDKIN = Rule.parse(NAMED_RULES["Fredkin"])
LIFE = Rule.parse("B3/S23")

# --------------------------------------------------------------------------- helpers


def flipped(pattern: int) -> int:
    """Every cell of a pattern flipped, through the patch (not through ``^ 511``)."""
    return patch_to_pattern(1 - pattern_to_patch(pattern))


def self_complementary(family: RuleFamily, birth_seed: int) -> Rule:
    """A self-complementary rule of ``family``: the dead-centre entries from a random rule
    of the family, each live-centre entry the opposite of its flipped pattern's."""
    table = Rule.random(family, birth_seed).table.copy()
    for p in range(512):
        if p & CENTRE:
            table[p] = 1 - table[flipped(p)]
    return Rule(table, family)


def not_self_complementary(family: RuleFamily, seed: int) -> Rule:
    """A random rule of ``family`` that is not self-complementary (break one orbit pair)."""
    rule = Rule.random(family, seed)
    if not is_self_complementary(rule):
        return rule
    bits = np.array(rule.bits)
    bits[0] ^= 1  # the pattern pair of bit 0 now breaks the symmetry
    return Rule.from_bits(bits, family)


def two_step_centres(rule: Rule, patterns: np.ndarray) -> np.ndarray:
    """The centre after two steps of each 25-bit 5x5 pattern, by the real simulator: a 5x5
    torus is exactly the centre cell's two-step neighbourhood."""
    grids = ((patterns[:, None] >> (24 - np.arange(25))) & 1).astype(np.uint8)
    return simulate(rule, grids.reshape(-1, 5, 5), 2)[:, 2, 2, 2]


def soups(seed: int, n: int = 6, size: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    densities = np.linspace(0.1, 0.9, n)[:, None, None]
    return (rng.random((n, size, size)) < densities).astype(np.uint8)


# ------------------------------------------------------------------------- complement


@pytest.mark.parametrize("name", list(FAMILIES))
def test_every_family_is_closed_under_complement(name):
    family = FAMILIES[name]
    for seed in range(5):
        rule = Rule.random(family, seed)
        other = complement(rule)
        assert other.family is family
        assert family.contains(other.table)
        np.testing.assert_array_equal(other.table, 1 - rule.table)
        np.testing.assert_array_equal(other.bits, 1 - rule.bits)
        assert complement(other) == rule
        assert other != rule


def test_complement_in_bs_notation_complements_birth_and_survival():
    assert str(complement(DAY_AND_NIGHT)) == "B01245/S0125"
    assert str(complement(FREDKIN)) == "B02468/S1357"
    assert str(complement(LIFE)) == "B01245678/S0145678"
    assert str(complement(Rule.parse("B2-a/S12"))) == str(
        Rule.from_table(1 - Rule.parse("B2-a/S12").table, "isotropic")
    )


def test_complement_rejects_a_non_rule():
    with pytest.raises(TypeError, match=r"lifegym\.Rule"):
        complement("B3/S23")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_is_self_complementary_is_the_definition_on_patches(name):
    family = FAMILIES[name]
    for seed in range(3):
        for rule in (Rule.random(family, seed), self_complementary(family, seed)):
            expected = all(rule.table[flipped(p)] == 1 - rule.table[p] for p in range(512))
            assert is_self_complementary(rule) == expected
    assert is_self_complementary(self_complementary(family, 7))


def test_the_named_self_complementary_rules():
    found = {name for name, text in NAMED_RULES.items() if is_self_complementary(Rule.parse(text))}
    assert {"Day & Night", "Fredkin"} <= found
    assert found == {"Day & Night", "Fredkin", "Anneal", "Vote"}
    # For B/S rules: S(8 - n) = not B(n) for every n.
    for name in found:
        rule = Rule.parse(NAMED_RULES[name])
        assert all((8 - n in rule.survival) != (n in rule.birth) for n in range(9))


def test_the_complement_of_a_self_complementary_rule_is_self_complementary():
    for family in (TOTALISTIC, ISOTROPIC, FAMILIES["free"]):
        rule = self_complementary(family, 3)
        assert is_self_complementary(complement(rule))


# ------------------------------------------------------------------------ k-step maps


@pytest.mark.parametrize("name", ["Day & Night", "Fredkin", "Anneal", "Vote"])
def test_named_self_complementary_rules_share_the_two_step_map_with_their_complement(name):
    rule = Rule.parse(NAMED_RULES[name])
    assert k_step_maps_agree(rule, complement(rule), 2)
    assert not k_step_maps_agree(rule, complement(rule), 1)


@settings(max_examples=15, deadline=None)
@given(birth=st.integers(0, 2**9 - 1))
def test_random_self_complementary_bs_rules_share_the_two_step_map(birth):
    bits = np.zeros(18, dtype=np.uint8)
    bits[:9] = (birth >> np.arange(9)) & 1
    bits[9:] = 1 - bits[8::-1]  # S(n) = not B(8 - n)
    rule = Rule.from_bits(bits, TOTALISTIC)
    assert is_self_complementary(rule)
    assert k_step_maps_agree(rule, complement(rule), 2)
    assert k_step_maps_agree(complement(rule), rule, 2)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_self_complementary_isotropic_rules_share_the_two_step_map(seed):
    rule = self_complementary(ISOTROPIC, seed)
    assert rule.family is ISOTROPIC
    assert k_step_maps_agree(rule, complement(rule), 2)


@settings(max_examples=30, deadline=None)
@given(
    family=st.sampled_from(["totalistic", "isotropic", "hex", "free"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_other_rules_do_not_share_the_two_step_map_with_their_complement(family, seed):
    rule = not_self_complementary(FAMILIES[family], seed)
    assert not is_self_complementary(rule)
    witness = k_step_witness(rule, complement(rule), 2)
    assert witness is not None
    # The witness is real: the simulator's two steps differ on it.
    pattern = np.array([witness])
    assert two_step_centres(rule, pattern)[0] != two_step_centres(complement(rule), pattern)[0]


@settings(max_examples=40, deadline=None)
@given(
    family=st.sampled_from(list(FAMILIES)),
    seed=st.integers(0, 2**32 - 1),
    flips=st.sets(st.integers(0, 511), max_size=3),
)
def test_one_step_maps_agree_exactly_when_the_tables_are_equal(family, seed, flips):
    a = Rule.random(family, seed)
    table = a.table.copy()
    table[sorted(flips)] ^= 1
    b = Rule.from_table(table)
    assert k_step_maps_agree(a, b, 1) == bool(np.array_equal(a.table, b.table))
    witness = k_step_witness(a, b, 1)
    assert witness == (min(flips) if flips else None)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), family=st.sampled_from(["totalistic", "isotropic"]))
def test_two_step_check_matches_the_simulator(seed, family):
    """The kernel's two-step map is the simulator's: on random 5x5 patterns for a pair of
    rules one bit apart, and on its witness when it finds one."""
    rng = np.random.default_rng(seed)
    a = Rule.random(family, rng)
    bits = np.array(a.bits)
    bits[rng.integers(len(bits))] ^= 1
    b = Rule.from_bits(bits, family)
    patterns = rng.integers(0, 1 << 25, size=300)
    sim_a, sim_b = two_step_centres(a, patterns), two_step_centres(b, patterns)
    witness = k_step_witness(a, b, 2)
    if witness is None:
        np.testing.assert_array_equal(sim_a, sim_b)
    else:
        pattern = np.array([witness])
        assert two_step_centres(a, pattern)[0] != two_step_centres(b, pattern)[0]
        # The witness is the first difference: none among the sampled patterns below it.
        below = patterns < witness
        np.testing.assert_array_equal(sim_a[below], sim_b[below])


def test_k_step_maps_agree_of_a_rule_with_itself():
    for rule in (LIFE, DAY_AND_NIGHT, Rule.random("free", 1)):
        assert k_step_maps_agree(rule, rule, 1)
        assert k_step_maps_agree(rule, rule, 2)


@pytest.mark.parametrize("steps", [0, 3, -1, 2.0, True, "2", None])
def test_bad_steps_are_rejected_naming_the_value_and_what_is_allowed(steps):
    with pytest.raises(ValueError, match=re.escape(repr(steps))) as info:
        k_step_maps_agree(LIFE, DAY_AND_NIGHT, steps)  # type: ignore[arg-type]
    assert "1" in str(info.value) and "2" in str(info.value)
    with pytest.raises(ValueError, match="steps must be 1"):
        k_step_witness(LIFE, DAY_AND_NIGHT, steps)  # type: ignore[arg-type]


# ------------------------------------------------------------ end to end: the simulator


@pytest.mark.parametrize("family", ["totalistic", "isotropic", "free"])
def test_a_self_complementary_rule_and_its_complement_in_the_simulator(family):
    """Identical frames at even steps, complementary (so different) frames at odd ones."""
    for seed in range(3):
        rule = self_complementary(FAMILIES[family], seed)
        grids = soups(seed)
        ours = simulate(rule, grids, 9)
        theirs = simulate(complement(rule), grids, 9)
        np.testing.assert_array_equal(ours[:, 0::2], theirs[:, 0::2])
        np.testing.assert_array_equal(ours[:, 1::2], 1 - theirs[:, 1::2])


def test_named_pairs_in_the_simulator():
    for rule in (DAY_AND_NIGHT, FREDKIN):
        grids = soups(11, n=4, size=33)
        ours, theirs = simulate(rule, grids, 12), simulate(complement(rule), grids, 12)
        np.testing.assert_array_equal(ours[:, 2::2], theirs[:, 2::2])
        assert (ours[:, 1::2] != theirs[:, 1::2]).all()


def test_a_non_self_complementary_rule_separates_from_its_complement_at_even_steps():
    grids = soups(5)
    ours, theirs = simulate(LIFE, grids, 4), simulate(complement(LIFE), grids, 4)
    assert not np.array_equal(ours[:, 2], theirs[:, 2])


def test_the_argument_needs_the_torus():
    """With a dead border the outside stays 0 under both rules (not complemented), so the
    pair separates near the border: the env's worlds are tori."""
    grids = soups(3, n=4)
    ours = simulate(DAY_AND_NIGHT, grids, 4, boundary="dead")
    theirs = simulate(complement(DAY_AND_NIGHT), grids, 4, boundary="dead")
    assert not np.array_equal(ours[:, 2], theirs[:, 2])


# -------------------------------------------------- end to end: the observation models

EVEN_MODELS = [
    strided(2),
    strided(2) + noisy(0.05),
    strided(2) + window(7, 5),
    strided(2) + stats(0.3),
    strided(2) + window(9, 9) + stats(0.5),
    strided(2) + noisy(0.2) + window(3, 11),
    strided(4) + noisy(0.01),
    strided(6) + stats(0.3),
]
OTHER_MODELS = [
    full(),
    noisy(0.05),
    window(7, 5),
    stats(0.3),
    window(9, 9) + stats(0.3),
    strided(3),
    strided(3) + noisy(0.01),
    strided(5) + stats(0.3),
]


def observations(rule: Rule, model: ObservationModel, grids: np.ndarray, steps: int, seed: int):
    """What ``model`` shows of each run, through the env's own ``observe``."""
    out = []
    for i, frames in enumerate(simulate(rule, grids, steps)):
        times, seen, seen_stats = model.observe(frames, np.random.default_rng([seed, i]))
        out.append((times, seen, seen_stats))
    return out


def same_observations(left, right) -> bool:
    for (t1, f1, s1), (t2, f2, s2) in zip(left, right, strict=True):
        np.testing.assert_array_equal(t1, t2)
        if f1 is not None and not np.array_equal(f1, f2):
            return False
        if s1 is not None and not np.array_equal(s1, s2):
            return False
    return True


@pytest.mark.parametrize("model", EVEN_MODELS, ids=lambda m: m.describe())
def test_every_model_at_even_stride_shows_the_pair_the_same_observations(model):
    """Draw for draw from the same random stream: every part of the model at an even
    stride (noise, window, statistics) sees only the initial condition and the frames
    at multiples of the stride (activity too is measured between observed frames)."""
    rule = self_complementary(TOTALISTIC, 4)
    k = model.stride
    for steps in (k, 2 * k + 1, 3 * k):  # the lab allows no fewer steps than the stride
        grids = soups(steps, n=4, size=16)
        ours = observations(rule, model, grids, steps, seed=steps)
        theirs = observations(complement(rule), model, grids, steps, seed=steps)
        assert same_observations(ours, theirs)


@pytest.mark.parametrize("model", OTHER_MODELS, ids=lambda m: m.describe())
def test_models_at_odd_stride_show_the_pair_different_observations(model):
    rule = DAY_AND_NIGHT
    grids = soups(1, n=4, size=16)
    ours = observations(rule, model, grids, 6, seed=2)
    theirs = observations(complement(rule), model, grids, 6, seed=2)
    assert not same_observations(ours, theirs)


def test_the_audited_observation_model_fields():
    """The argument of the module docstring covers exactly these parts; a new part of
    ObservationModel must be checked (does it show anything of the odd frames?) and
    added to ``_AUDITED_MODEL_FIELDS`` before the complement kind applies to it again."""
    names = {f.name for f in dataclasses.fields(ObservationModel)}
    assert names == {"noise", "stride", "window", "stats_sigma"}


# --------------------------------------------------------------------------- classes


@pytest.mark.parametrize("model", EVEN_MODELS, ids=lambda m: m.describe())
def test_the_class_at_even_stride_is_the_complement_pair(model):
    for rule in (DAY_AND_NIGHT, FREDKIN, self_complementary(TOTALISTIC, 9)):
        members = observational_class(rule, BS, model)
        assert members == (rule, complement(rule))
        assert members[0] is rule
        assert same_class(rule, complement(rule), BS, model)
        assert same_class(complement(rule), rule, BS, model)
        assert pair_kind(rule, complement(rule), BS, model) == COMPLEMENT_AT_EVEN_STRIDE
        assert observational_class(complement(rule), BS, model) == (complement(rule), rule)


@pytest.mark.parametrize("model", OTHER_MODELS, ids=lambda m: m.describe())
def test_the_class_under_every_other_model_is_the_singleton(model):
    for rule in (DAY_AND_NIGHT, FREDKIN, LIFE):
        assert observational_class(rule, BS, model) == (rule,)
        assert not same_class(rule, complement(rule), BS, model)
        assert pair_kind(rule, complement(rule), BS, model) is None
        assert same_class(rule, rule, BS, model)


@pytest.mark.parametrize("text", ["B3/S23", "B36/S23", "B1357/S1357", "B2/S"])
def test_the_class_of_a_non_self_complementary_rule_is_the_singleton(text):
    rule = Rule.parse(text)
    for model in EVEN_MODELS:
        assert observational_class(rule, BS, model) == (rule,)
        assert not same_class(rule, complement(rule), BS, model)


def test_the_pair_needs_the_complement_in_the_space():
    # The complement flips every bit, so it leaves a space with any known bit: Day & Night
    # has B0 = 0 and S8 = 1, its complement B0 = 1 and S8 = 0, and so on.
    model = strided(2) + noisy(0.01)
    for known in ({"B0": 0}, {"S8": 1}, {"B3": 1}, {"B1": 0}, {"B0": 0, "S0": 0}):
        space = RuleSpace.of("totalistic", known)
        assert space.contains(DAY_AND_NIGHT)
        assert not space.contains(complement(DAY_AND_NIGHT))
        assert observational_class(DAY_AND_NIGHT, space, model) == (DAY_AND_NIGHT,)
        assert not same_class(DAY_AND_NIGHT, complement(DAY_AND_NIGHT), space, model)
        assert pair_kind(DAY_AND_NIGHT, complement(DAY_AND_NIGHT), space, model) is None
    members = observational_class(DAY_AND_NIGHT, RuleSpace.of("totalistic", {}), model)
    assert members == (DAY_AND_NIGHT, complement(DAY_AND_NIGHT))
    # The complement must be in the family too: an isotropic rule's complement is not B/S.
    rule = self_complementary(ISOTROPIC, 2)
    assert not TOTALISTIC.contains(rule.table)
    assert observational_class(rule, BS, model) == (rule,)
    iso = RuleSpace.of("isotropic")
    assert observational_class(rule, iso, model) == (rule, complement(rule))


def test_class_members_are_rules_of_the_space_family():
    model = strided(2)
    space = RuleSpace.of("isotropic")
    members = observational_class(DAY_AND_NIGHT, space, model)
    assert members[0] is DAY_AND_NIGHT
    assert members[1].family is ISOTROPIC
    assert members[1] == complement(DAY_AND_NIGHT)
    assert str(members[1]) == "B01245/S0125"


def test_the_class_does_not_depend_on_object_identity():
    model = strided(2) + noisy(0.01)
    first = observational_class(DAY_AND_NIGHT, BS, model)
    # Another space object with the same content and an equal rule hit the same entry.
    again = observational_class(Rule.parse("B3678/S34678"), RuleSpace.of("totalistic"), model)
    assert first == again


def test_pure_noise_is_not_a_class():
    """Under noisy(0.5) nothing is identifiable, and nothing is credited: singletons."""
    assert observational_class(DAY_AND_NIGHT, BS, noisy(0.5)) == (DAY_AND_NIGHT,)
    assert not same_class(LIFE, DAY_AND_NIGHT, BS, noisy(0.5))
    assert not same_class(DAY_AND_NIGHT, complement(DAY_AND_NIGHT), BS, strided(2) + noisy(0.5))


def test_rules_outside_the_space():
    space = RuleSpace.of("totalistic", {"B0": 1})  # neither Day & Night nor Life
    model = strided(2)
    assert observational_class(LIFE, space, model) == (LIFE,)
    assert same_class(LIFE, LIFE.to("free"), space, model)  # equal tables, whatever the space
    assert not same_class(DAY_AND_NIGHT, complement(DAY_AND_NIGHT), space, model)
    members = observational_class(DAY_AND_NIGHT, space, model)  # the complement has B0
    assert members == (DAY_AND_NIGHT, complement(DAY_AND_NIGHT))


def test_bad_arguments_are_rejected():
    with pytest.raises(TypeError, match="RuleSpace"):
        observational_class(LIFE, "totalistic", strided(2))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ObservationModel"):
        observational_class(DAY_AND_NIGHT, BS, 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"lifegym\.Rule"):
        same_class("B3/S23", LIFE, BS, strided(2))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the table


def test_class_kinds_name_the_presets_where_they_apply():
    """The presets in CLASS_KINDS are the registered ones whose model makes the kind apply."""
    even = sorted(k for k, (kw, _) in PRESETS.items() if kw.get("stride", 1) % 2 == 0)
    assert even == ["lifegym/LifeLike-Strided-v0", "lifegym/LifeLike-Strided-v1"]
    assert sorted(CLASS_KINDS[COMPLEMENT_AT_EVEN_STRIDE].presets) == even
    assert sorted(CLASS_KINDS[SAME_TWO_STEP_MAP].presets) == even
    for name, kind in CLASS_KINDS.items():
        assert kind.name == name
        assert kind.applies and kind.members and kind.argument
        assert set(kind.presets) <= set(PRESETS)


# ------------------------------------------------------------ the same two-step map


def listed(family: str) -> list[tuple[Rule, ...]]:
    return [tuple(Rule.parse(text) for text in c) for c in TWO_STEP_CLASSES[family]]


def dual(rule: Rule) -> Rule:
    """``x -> NOT R(NOT x)``: conjugation by the complement (keeps two-step coincidences)."""
    return Rule(1 - rule.table[np.arange(512) ^ 511], rule.family)


@pytest.mark.parametrize("family", ["totalistic", "hex"])
def test_every_listed_class_shares_one_two_step_map(family):
    """Each listed class is proved again: every member has the first one's two-step map
    (all 2^25 5x5 patterns), and a different table."""
    classes = listed(family)
    seen: set[Rule] = set()
    for members in classes:
        assert 2 <= len(members) <= 4
        assert all(m.family is FAMILIES[family] for m in members)
        for other in members[1:]:
            assert k_step_maps_agree(members[0], other, 2)
            assert not k_step_maps_agree(members[0], other, 1)
        assert not seen & set(members)
        seen |= set(members)
    # Conjugating by the complement maps two-step classes to two-step classes, and a
    # listed class holds no complement pair but one: the lists are closed under it.
    as_sets = {frozenset(c) for c in classes}
    assert all(frozenset(dual(m) for m in c) in as_sets for c in as_sets)
    with_pair = [c for c in classes if any(complement(m) in c for m in c)]
    assert len(with_pair) == 1 and len(with_pair[0]) == 4
    assert TWO_STEP_CLASSES["vonneumann"] == ()


def test_a_listed_class_is_the_same_frames_at_even_steps():
    rules = listed("totalistic")[0]
    assert [str(r) for r in rules] == ["B/S", "B7/S", "B8/S", "B78/S"]
    grids = soups(8, n=6, size=12)
    runs = [simulate(r, grids, 6) for r in rules]
    for run in runs:
        assert not run[:, 2:].any()  # nothing alive from step 2 on
    assert any(run[:, 1].any() for run in runs[1:])  # step 1 shows births
    model = strided(2) + noisy(0.05)
    first = observations(rules[0], model, grids, 6, seed=1)
    for rule in rules[1:]:
        assert same_observations(first, observations(rule, model, grids, 6, seed=1))


def test_the_class_of_a_listed_rule_at_even_stride():
    b8 = Rule.parse("B8/S")
    members = observational_class(b8, BS, strided(2))
    assert members[0] is b8
    assert {str(m) for m in members} == {"B/S", "B7/S", "B8/S", "B78/S"}
    assert list(members[1:]) == sorted(members[1:])
    for other in members[1:]:
        assert pair_kind(b8, other, BS, strided(4) + stats(0.3)) == SAME_TWO_STEP_MAP
        assert same_class(other, b8, BS, strided(2) + window(5, 5))
    for model in OTHER_MODELS:
        assert observational_class(b8, BS, model) == (b8,)
    # Known bits keep the members that agree with them.
    space = RuleSpace.of("totalistic", {"B8": 0})
    assert [str(m) for m in observational_class(Rule.parse("B/S"), space, strided(2))] == [
        "B/S",
        "B7/S",
    ]
    b78 = Rule.parse("B78/S")
    space = RuleSpace.of("totalistic", {"B7": 1})
    assert observational_class(b78, space, strided(2)) == (b78, Rule.parse("B7/S"))
    # A rule outside the space comes first all the same, then its class in the space.
    assert not space.contains(b8)
    assert observational_class(b8, space, strided(2)) == (b8, Rule.parse("B7/S"), b78)
    assert not same_class(b8, b78, space, strided(2))
    # In a larger family the listed members are still one class (maybe not all of it).
    iso = RuleSpace.of("isotropic")
    assert [m.family for m in observational_class(b8, iso, strided(2))] == [TOTALISTIC] + [
        ISOTROPIC
    ] * 3
    # Hex rules in a hex space.
    hex_rule = Rule.parse("B5/S1H")
    assert observational_class(hex_rule, RuleSpace.of("hex"), strided(2)) == (
        hex_rule,
        Rule.parse("B56/S1H"),
    )


def test_the_class_with_a_complement_pair_and_more():
    rule = Rule.parse("B01234567/S0")
    assert is_self_complementary(rule)
    members = observational_class(rule, BS, strided(2))
    assert {str(m) for m in members} == {
        "B01234567/S",
        "B01234567/S0",
        "B012345678/S0",
        "B8/S12345678",
    }
    assert pair_kind(rule, complement(rule), BS, strided(2)) == COMPLEMENT_AT_EVEN_STRIDE
    assert pair_kind(rule, Rule.parse("B01234567/S"), BS, strided(2)) == SAME_TWO_STEP_MAP
    # A known bit removes the complement (it flips every bit), not the others.
    space = RuleSpace.of("totalistic", {"S0": 1})
    assert {str(m) for m in observational_class(rule, space, strided(2))} == {
        "B01234567/S0",
        "B012345678/S0",
    }


def test_classes_of_two_families_that_share_a_rule_are_one_class():
    """B/S and B/SH are the same table (nothing is ever born or survives), so the B/S
    class and the hex class of that rule are one class where both families' rules lie."""
    assert Rule.parse("B/S") == Rule.parse("B/SH")
    members = observational_class(Rule.parse("B/S"), RuleSpace.of("free"), strided(2))
    expected = {"B/S", "B7/S", "B8/S", "B78/S", "B5/SH", "B6/SH", "B56/SH"}
    assert {Rule.parse(t) for t in expected} == set(members)
    hex_class = observational_class(Rule.parse("B/SH"), RuleSpace.of("hex"), strided(2))
    assert {str(m) for m in hex_class} == {"B/SH", "B5/SH", "B6/SH", "B56/SH"}
    full = Rule.parse("B012345678/S012345678")
    assert full == Rule.parse("B0123456/S0123456H")
    assert len(observational_class(full, RuleSpace.of("free"), strided(2))) == 7
