"""Tests for the rule modules: families (lifegym.families), Hensel letters
(lifegym.neighbourhoods), notations (lifegym.notation) and the Rule type (lifegym.rules)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lifegym.rules
from lifegym import families, neighbourhoods, notation
from lifegym.families import (
    FAMILIES,
    RuleFamily,
    family_contains,
    get_family,
    is_subfamily,
    smallest_family,
)
from lifegym.neighbourhoods import (
    CENTRE,
    HENSEL_CLASSES,
    HENSEL_LETTERS,
    OUTER_MASK,
    hensel_pattern,
    patch_to_pattern,
    pattern_orbits,
    pattern_to_patch,
    symmetry_group,
    transform_patterns,
)
from lifegym.notation import map_to_table, table_to_map
from lifegym.rules import NAMED_RULES, Rule

ISO = FAMILIES["isotropic"]

# Golly's help (Help/Algorithms/QuickLife.html) gives this string for Conway's Life.
LIFE_MAP = (
    "MAPARYXfhZofugWaH7oaIDogBZofuhogOiAaIDogIAAgAAWaH7oaIDogGiA6ICAAIAAaIDogIAAgACAAIAAAAAAAA"
)

# ---------------------------------------------------------------------------------------------
# Independent reference implementations (plain numpy on 3x3 patches, no lifegym code).
# ---------------------------------------------------------------------------------------------

ALL_PATCHES = np.array(
    [[(p >> (8 - k)) & 1 for k in range(9)] for p in range(512)], dtype=np.uint8
).reshape(512, 3, 3)
WEIGHTS = np.array([[256, 128, 64], [32, 16, 8], [4, 2, 1]])


def index_of(patch: np.ndarray) -> int:
    return int((np.asarray(patch) * WEIGHTS).sum())


def picture(rows: tuple[str, str, str]) -> int:
    """Pattern index of a 3-row ASCII picture ('o' live, '.' dead)."""
    return index_of(np.array([[ch == "o" for ch in row] for row in rows], dtype=int))


# The ring of outer cells, clockwise from north, as (row, col).
RING_RC = [(0, 1), (0, 2), (1, 2), (2, 2), (2, 1), (2, 0), (1, 0), (0, 0)]


def ring_shift(patch: np.ndarray) -> np.ndarray:
    out = patch.copy()
    for i, rc in enumerate(RING_RC):
        out[rc] = patch[RING_RC[i - 1]]
    return out


def reference_partition(generators) -> np.ndarray:
    """Orbit label (smallest member) of each pattern under the group the generators span."""
    label = np.arange(512)
    changed = True
    while changed:  # propagate minima along generator edges until stable
        changed = False
        for p in range(512):
            for gen in generators:
                q = index_of(gen(ALL_PATCHES[p]))
                m = min(label[p], label[q])
                if label[p] != m or label[q] != m:
                    label[p] = label[q] = m
                    changed = True
    return label


REFERENCE_GENERATORS = {
    "C4": [np.rot90],
    "D4": [np.rot90, np.fliplr],
    "C8": [ring_shift],
    "D8": [ring_shift, np.fliplr],
}


@pytest.fixture(scope="module")
def reference_orbits() -> dict[str, np.ndarray]:
    return {name: reference_partition(gens) for name, gens in REFERENCE_GENERATORS.items()}


def same_partition(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))


def life_table() -> np.ndarray:
    """Conway's Life by counting neighbours directly."""
    n = ALL_PATCHES.sum(axis=(1, 2)) - ALL_PATCHES[:, 1, 1]
    alive = ALL_PATCHES[:, 1, 1] == 1
    return ((n == 3) | (alive & (n == 2))).astype(np.uint8)


def totalistic_table(birth, survival) -> np.ndarray:
    n = ALL_PATCHES.sum(axis=(1, 2)) - ALL_PATCHES[:, 1, 1]
    alive = ALL_PATCHES[:, 1, 1] == 1
    return np.where(alive, np.isin(n, list(survival)), np.isin(n, list(birth))).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Pattern index convention
# ---------------------------------------------------------------------------------------------


def test_pattern_index_convention():
    assert pattern_to_patch(256).tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 0]]  # NW
    assert pattern_to_patch(16).tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]  # centre
    assert pattern_to_patch(1).tolist() == [[0, 0, 0], [0, 0, 0], [0, 0, 1]]  # SE
    # Golly's help: entry 7 of Life's MAP table (cells 6, 7, 8 = bottom row live) is a birth.
    assert pattern_to_patch(7).tolist() == [[0, 0, 0], [0, 0, 0], [1, 1, 1]]
    assert CENTRE == 16 and OUTER_MASK == 0b111101111
    for p in range(512):
        assert patch_to_pattern(pattern_to_patch(p)) == p == index_of(ALL_PATCHES[p])


def test_transform_patterns_matches_numpy():
    rot = transform_patterns(symmetry_group("C4")[1])  # some 90-degree rotation
    cw = [index_of(np.rot90(ALL_PATCHES[p], -1)) for p in range(512)]
    ccw = [index_of(np.rot90(ALL_PATCHES[p], 1)) for p in range(512)]
    assert rot.tolist() in (cw, ccw)
    assert transform_patterns(range(9)).tolist() == list(range(512))
    with pytest.raises(ValueError, match="permutation"):
        transform_patterns([0] * 9)


# ---------------------------------------------------------------------------------------------
# Orbits and families
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "order", "n_orbits"),
    [("C1", 1, 512), ("C4", 4, 140), ("D4", 8, 102), ("C8", 8, 72), ("D8", 16, 60)],
)
def test_group_orders_and_orbit_counts(group, order, n_orbits):
    assert symmetry_group(group).shape == (order, 9)
    assert len(set(pattern_orbits(group).tolist())) == n_orbits


def test_orbits_match_independent_reference(reference_orbits):
    for group, ref in reference_orbits.items():
        assert pattern_orbits(group).tolist() == ref.tolist(), group


@pytest.mark.parametrize(
    ("name", "n_bits"),
    [
        ("vonneumann", 10),
        ("hex", 14),
        ("totalistic", 18),
        ("ring", 72),
        ("isotropic", 102),
        ("rotation", 140),
        ("free", 512),
    ],
)
def test_family_sizes(name, n_bits):
    fam = FAMILIES[name]
    assert fam.n_bits == n_bits == len(fam.bit_names) == len(fam.representatives)
    assert fam.orbit_of.shape == (512,)
    assert sorted(set(fam.orbit_of.tolist())) == list(range(n_bits))
    assert not fam.orbit_of.flags.writeable and not fam.representatives.flags.writeable
    # representatives are the smallest members of their orbits
    for bit in range(n_bits):
        members = np.flatnonzero(fam.orbit_of == bit)
        assert fam.representatives[bit] == members.min()


def test_family_partitions_match_groups(reference_orbits):
    assert same_partition(FAMILIES["rotation"].orbit_of, reference_orbits["C4"])
    assert same_partition(FAMILIES["isotropic"].orbit_of, reference_orbits["D4"])
    assert same_partition(FAMILIES["ring"].orbit_of, reference_orbits["C8"])
    assert FAMILIES["free"].orbit_of.tolist() == list(range(512))
    counts = ALL_PATCHES.sum(axis=(1, 2)) - ALL_PATCHES[:, 1, 1]
    assert FAMILIES["totalistic"].orbit_of.tolist() == (ALL_PATCHES[:, 1, 1] * 9 + counts).tolist()


@pytest.mark.parametrize("name", ["ring", "isotropic", "rotation", "free"])
def test_orbits_closed_under_group(name):
    fam = FAMILIES[name]
    for g in symmetry_group(fam.symmetry):
        assert fam.orbit_of[transform_patterns(g)].tolist() == fam.orbit_of.tolist()


def test_totalistic_orbits_closed_under_any_outer_permutation():
    fam = FAMILIES["totalistic"]
    # a transposition and an 8-cycle of the outer cells generate all of S8
    swap = list(range(9))
    swap[0], swap[1] = 1, 0
    for perm in (swap, symmetry_group("C8")[1]):
        assert fam.orbit_of[transform_patterns(perm)].tolist() == fam.orbit_of.tolist()


@pytest.mark.parametrize("name", ["ring", "rotation"])
def test_ring_and_rotation_bit_order(name):
    reps = FAMILIES[name].representatives.tolist()
    assert reps == sorted(reps, key=lambda p: (p & 16, p))
    assert FAMILIES[name].bit_names[:2] == ("B:000", "B:001")
    assert FAMILIES[name].bit_names[-1] == "S:1ff"


def test_bit_names():
    assert FAMILIES["totalistic"].bit_names == tuple(
        [f"B{n}" for n in range(9)] + [f"S{n}" for n in range(9)]
    )
    assert FAMILIES["free"].bit_names[7] == "B:007"
    assert FAMILIES["free"].bit_names[16] == "S:010"


HENSEL_ORDER = (
    "0 1c 1e 2c 2e 2k 2a 2i 2n 3c 3e 3k 3a 3i 3n 3y 3q 3j 3r "
    "4c 4e 4k 4a 4i 4n 4y 4q 4j 4r 4t 4w 4z 5c 5e 5k 5a 5i 5n 5y 5q 5j 5r "
    "6c 6e 6k 6a 6i 6n 7c 7e 8"
).split()


def test_isotropic_bit_order_is_hensel_order():
    assert len(HENSEL_ORDER) == 51
    assert ISO.bit_names == tuple(["B" + c for c in HENSEL_ORDER] + ["S" + c for c in HENSEL_ORDER])
    assert [f"{n}{x}" for n, x in HENSEL_CLASSES] == HENSEL_ORDER
    assert HENSEL_LETTERS[4] == "cekainyqjrtwz" and HENSEL_LETTERS[6] == "cekain"


INCLUSIONS = {
    ("totalistic", "ring"),
    ("totalistic", "isotropic"),
    ("totalistic", "rotation"),
    ("totalistic", "free"),
    ("ring", "rotation"),
    ("ring", "free"),
    ("isotropic", "rotation"),
    ("isotropic", "free"),
    ("rotation", "free"),
    ("vonneumann", "isotropic"),
    ("vonneumann", "rotation"),
    ("vonneumann", "free"),
    ("hex", "free"),
}


def test_families_ordered_by_size():
    sizes = [fam.n_bits for fam in FAMILIES.values()]
    assert sizes == sorted(sizes)


@pytest.mark.parametrize("small", list(FAMILIES))
@pytest.mark.parametrize("big", list(FAMILIES))
def test_containment(small, big):
    expected = small == big or (small, big) in INCLUSIONS
    assert is_subfamily(small, big) is expected
    rule = Rule.random(small, rng=1234)
    # a (seeded) random rule of a family that is not a subfamily of big is not in big
    if expected:
        assert family_contains(big, rule.table)
    else:
        assert not family_contains(big, rule.table)


def test_family_lookup_and_equality():
    assert get_family("isotropic") is ISO
    assert get_family(ISO) is ISO
    assert str(ISO) == "isotropic" and ISO == "isotropic" and ISO != "ring"
    assert ISO != FAMILIES["ring"] and hash(ISO) == hash("isotropic")
    assert isinstance(ISO, RuleFamily) and repr(ISO) == "RuleFamily('isotropic', n_bits=102)"
    assert pickle.loads(pickle.dumps(ISO)) is ISO
    with pytest.raises(ValueError, match="'hexagonal'") as info:
        get_family("hexagonal")
    for name in FAMILIES:
        assert name in str(info.value)
    with pytest.raises(TypeError):
        get_family(3)


# The public names of lifegym.rules before it was split into neighbourhoods, families and notation.
RULES_NAMES_BEFORE_THE_SPLIT = (
    "ACCEPTED_FORMS CENTRE COMPASS FAMILIES FREE HENSEL_CLASSES HENSEL_LETTERS HEX HEX_CELLS "
    "ISOTROPIC NAMED_RULES N_PATTERNS OUTER_MASK RING RING_CELLS ROTATION TOTALISTIC VON_NEUMANN "
    "VON_NEUMANN_CELLS Rule RuleFamily RuleStringError cell_bit family_contains get_family "
    "hensel_pattern is_subfamily map_to_table patch_to_pattern pattern_orbits pattern_to_patch "
    "smallest_family symmetry_group table_to_map transform_patterns"
).split()


def test_rules_still_exports_the_objects_that_moved():
    """``from lifegym.rules import X`` keeps working, and gives the owner module's object."""
    assert sorted(lifegym.rules.__all__) == sorted(RULES_NAMES_BEFORE_THE_SPLIT)
    for module in (neighbourhoods, families, notation):
        for name in module.__all__:
            assert getattr(lifegym.rules, name) is getattr(module, name), name
    assert pickle.loads(pickle.dumps(families.TOTALISTIC)) is lifegym.rules.TOTALISTIC


# ---------------------------------------------------------------------------------------------
# Hensel letters
# ---------------------------------------------------------------------------------------------

# One picture per count and letter, transcribed from the table in Golly's help
# (Help/Algorithms/hensel.png; LifeWiki's "Isotropic non-totalistic rule" page draws the same
# table). 'o' = live neighbour, '.' = dead; the centre is drawn dead (birth). The module's own
# representatives come from a different place (gollybase/liferules.cpp), so this is a cross-check.
HENSEL_PICTURES = {
    "1c": ("o..", "...", "..."),
    "1e": (".o.", "...", "..."),
    "2c": ("o.o", "...", "..."),
    "2e": (".o.", "o..", "..."),
    "2k": ("o..", "..o", "..."),
    "2a": ("oo.", "...", "..."),
    "2i": (".o.", "...", ".o."),
    "2n": ("o..", "...", "..o"),
    "3c": ("o.o", "...", "o.."),
    "3e": (".o.", "o.o", "..."),
    "3k": ("o..", "..o", ".o."),
    "3a": ("oo.", "o..", "..."),
    "3i": ("ooo", "...", "..."),
    "3n": ("o.o", "..o", "..."),
    "3y": ("o.o", "...", ".o."),
    "3q": ("oo.", "...", "..o"),
    "3j": ("oo.", "..o", "..."),
    "3r": ("oo.", "...", ".o."),
    "4c": ("o.o", "...", "o.o"),
    "4e": (".o.", "o.o", ".o."),
    "4k": ("o.o", "o..", ".o."),
    "4a": ("ooo", "..o", "..."),
    "4i": ("o.o", "o.o", "..."),
    "4n": ("ooo", "...", "o.."),
    "4y": ("o.o", "..o", "o.."),
    "4q": ("oo.", "o..", "..o"),
    "4j": ("oo.", "..o", ".o."),
    "4r": ("oo.", "o.o", "..."),
    "4t": ("ooo", "...", ".o."),
    "4w": ("oo.", "..o", "..o"),
    "4z": ("oo.", "...", ".oo"),
    "5c": (".o.", "o.o", ".oo"),
    "5e": ("o.o", "...", "ooo"),
    "5k": (".oo", "o..", "o.o"),
    "5a": ("..o", "..o", "ooo"),
    "5i": ("...", "o.o", "ooo"),
    "5n": (".o.", "o..", "ooo"),
    "5y": (".o.", "o.o", "o.o"),
    "5q": ("..o", "o.o", "oo."),
    "5j": ("..o", "o..", "ooo"),
    "5r": ("..o", "o.o", "o.o"),
    "6c": (".o.", "o.o", "ooo"),
    "6e": ("o.o", "..o", "ooo"),
    "6k": (".oo", "o..", "ooo"),
    "6a": ("..o", "o.o", "ooo"),
    "6i": ("o.o", "o.o", "o.o"),
    "6n": (".oo", "o.o", "oo."),
    "7c": (".oo", "o.o", "ooo"),
    "7e": ("o.o", "o.o", "ooo"),
}


def test_pictures_cover_every_lettered_class():
    expected = {f"{n}{x}" for n, x in HENSEL_CLASSES if x}
    assert set(HENSEL_PICTURES) == expected
    assert len(expected) == 49


@pytest.mark.parametrize("name", sorted(HENSEL_PICTURES))
def test_hensel_letter_matches_picture(name):
    count, letter = int(name[0]), name[1]
    pattern = picture(HENSEL_PICTURES[name])
    assert bin(pattern).count("1") == count
    assert pattern & CENTRE == 0
    assert ISO.bit_names[ISO.orbit_of[pattern]] == "B" + name
    assert ISO.bit_names[ISO.orbit_of[pattern | CENTRE]] == "S" + name
    # the module's representative is a rotation/reflection of the picture
    d4 = pattern_orbits("D4")
    assert d4[hensel_pattern(count, letter)] == d4[pattern]
    # the parser agrees: B<count><letter> is born exactly on this class
    table = Rule.parse(f"B{name}/S").table
    assert table[pattern] == 1
    assert table.sum() == np.count_nonzero(ISO.orbit_of == ISO.orbit_of[pattern])


@pytest.mark.parametrize("name", sorted(HENSEL_PICTURES))
def test_hensel_complement_property(name):
    count, letter = int(name[0]), name[1]
    if count == 4:
        return
    flipped = picture(HENSEL_PICTURES[name]) ^ OUTER_MASK
    assert ISO.bit_names[ISO.orbit_of[flipped]] == f"B{8 - count}{letter}"
    assert ISO.orbit_of[hensel_pattern(8 - count, letter)] == ISO.orbit_of[flipped]


def test_every_outer_configuration_in_exactly_one_class():
    for centre, offset in ((0, 0), (CENTRE, 51)):
        patterns = [p for p in range(512) if p & CENTRE == centre]
        assert len(patterns) == 256
        bits = ISO.orbit_of[patterns] - offset
        assert bits.min() == 0 and bits.max() == 50
        sizes = np.bincount(bits, minlength=51)
        assert (sizes > 0).all() and sizes.sum() == 256
        for p in patterns:  # each class has a single neighbour count
            count, _ = HENSEL_CLASSES[ISO.orbit_of[p] - offset]
            assert bin(p & OUTER_MASK).count("1") == count
    # class sizes: C(8, n) configurations per count; 4c and 4e are single patterns; 2k has no
    # symmetry (8 images), 3k is symmetric about a diagonal (4 images)
    size = {
        f"{n}{x}": np.count_nonzero(ISO.orbit_of == i) for i, (n, x) in enumerate(HENSEL_CLASSES)
    }
    assert size["4c"] == size["4e"] == size["0"] == size["8"] == 1
    assert size["2k"] == 8 and size["3k"] == 4 and size["2i"] == size["2n"] == 2
    for n in range(9):
        total = sum(v for k, v in size.items() if int(k[0]) == n)
        assert total == math.comb(8, n)


def test_hensel_pattern_errors():
    assert hensel_pattern(0) == 0 and hensel_pattern(8) == OUTER_MASK
    with pytest.raises(ValueError, match="2z"):
        hensel_pattern(2, "z")
    with pytest.raises(ValueError):
        hensel_pattern(9)


# ---------------------------------------------------------------------------------------------
# Parsing and canonical strings
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["B3/S23", "b3/s23", "b3s23", "B3S23", "S23/B3", "s23b3", "23/3", "  B3/S23\n", "B3/S32"],
)
def test_life_forms(text):
    rule = Rule.parse(text)
    assert rule.table.tolist() == life_table().tolist()
    assert rule.family is FAMILIES["totalistic"] and rule.family == "totalistic"
    assert str(rule) == "B3/S23"
    assert rule.birth == (3,) and rule.survival == (2, 3)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("B63/S32", "B36/S23"),
        ("b3s23", "B3/S23"),
        ("23/3", "B3/S23"),
        ("/2", "B2/S"),
        ("/", "B/S"),
        ("B/S", "B/S"),
        ("B3/S", "B3/S"),
        ("S/B3", "B3/S"),
        ("B0/S8", "B0/S8"),
        ("012345678/", "B/S012345678"),
    ],
)
def test_totalistic_canonical(text, canonical):
    assert str(Rule.parse(text)) == canonical
    assert Rule.parse(text).family == "totalistic"


def test_empty_sets_and_b0():
    assert Rule.parse("B/S").table.sum() == 0
    assert Rule.parse("B012345678/S012345678").table.sum() == 512
    b0 = Rule.parse("B0/S")
    assert b0.table[0] == 1 and b0.table.sum() == 1


@pytest.mark.parametrize(("name", "text"), sorted(NAMED_RULES.items()))
def test_named_rules_are_canonical(name, text):
    rule = Rule.parse(text)
    assert str(rule) == text, name
    if "-" in text:
        assert rule.family == "isotropic"
    else:
        assert rule.family == "totalistic"
        birth, survival = text[1:].split("/S")
        expected = totalistic_table([int(c) for c in birth], [int(c) for c in survival])
        assert rule.table.tolist() == expected.tolist()


def test_named_rules_include_domain_table():
    assert NAMED_RULES["Life"] == "B3/S23"
    assert NAMED_RULES["Day & Night"] == "B3678/S34678"
    assert NAMED_RULES["Walled Cities"] == "B45678/S2345"
    assert NAMED_RULES["Morley"] == NAMED_RULES["Move"] == "B368/S245"
    assert len(NAMED_RULES) >= 26
    # Vote: the next state is the majority of the 9 cells
    majority = (ALL_PATCHES.sum(axis=(1, 2)) >= 5).astype(np.uint8)
    assert Rule.parse(NAMED_RULES["Vote"]).table.tolist() == majority.tolist()


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # examples from Golly's help (Algorithms/QuickLife, "Non-totalistic rules")
        ("B2cekin/S12", "B2-a/S12"),
        ("B2nic/S", "B2cin/S"),
        ("B2ceikn/S", "B2-a/S"),
        ("B4-qjrtwz/S", "B4aceikny/S"),
        ("B2aceikn3/S", "B23/S"),
        ("B2-aceikn3/S", "B3/S"),
        # more
        ("B2cekain/S", "B2/S"),
        ("b2-as12", "B2-a/S12"),
        ("B3/S2-i34q", "B3/S2-i34q"),
        ("B3/S2cekan34q", "B3/S2-i34q"),
        ("B2ce3/S", "B2ce3/S"),
        ("B2cek/S", "B2cek/S"),  # 3 of 6 letters: tie between 'cek' and '-ain' -> positive
        ("B2ceka/S", "B2-in/S"),  # 4 of 6 letters: '-in' is shorter
        ("B1c/S", "B1c/S"),
        ("B1ce/S", "B1/S"),
        ("B7-e/S", "B7c/S"),
        ("B4cekainyqjrtwz/S", "B4/S"),
        ("B4-cekainyqjrtwz/S", "B/S"),
        ("B2A-/S", None),  # '-' after letters is not a letter: error (checked below)
    ],
)
def test_hensel_canonical(text, canonical):
    if canonical is None:
        with pytest.raises(ValueError):
            Rule.parse(text)
        return
    rule = Rule.parse(text)
    assert str(rule) == canonical
    assert Rule.parse(canonical) == rule
    assert rule.family == (
        "totalistic" if all(c not in canonical for c in "-ceaiknyqjrtwz") else "isotropic"
    )


def test_negation_equals_explicit_letters():
    assert Rule.parse("B2-a/S12") == Rule.parse("B2cekin/S12") == Rule.parse("B2ceikn/S12")
    assert Rule.parse("B3/S2-i34q") == Rule.parse("B3/S2acekn34q")
    assert Rule.parse("B4-z/S") == Rule.parse("B4cekainyqjrtw/S")
    assert str(Rule.parse("B4-z/S")) == "B4-z/S"


def test_isotropic_rule_with_totalistic_table_prints_bs():
    rule = Rule.parse("B3/S23", family="isotropic")
    assert rule.family == "isotropic" and str(rule) == "B3/S23"
    assert rule.bits.shape == (102,)


def test_life_map_vector():
    life = Rule.parse(LIFE_MAP)
    assert life == Rule.parse("B3/S23") and life.family == "totalistic"
    assert str(life) == "B3/S23"
    assert str(life.to("free")) == LIFE_MAP
    assert life.to_map() == LIFE_MAP
    assert len(LIFE_MAP) == 3 + 86
    assert Rule.parse(LIFE_MAP + "==") == life
    assert Rule.parse("map" + LIFE_MAP[3:]) == life
    assert table_to_map(life_table()) == LIFE_MAP
    assert map_to_table(LIFE_MAP).tolist() == life_table().tolist()


def test_map_bit_order_hand_computed():
    # Only the lone NW neighbour (pattern 256) gives birth: bit 256 is bit 4 (of 0..5, MSB
    # first) of character 42, i.e. value 2 = 'C'.
    table = np.zeros(512, dtype=np.uint8)
    table[256] = 1
    expected = "MAP" + "A" * 42 + "C" + "A" * 43
    assert table_to_map(table) == expected
    rule = Rule.parse(expected)
    assert rule.table.tolist() == table.tolist() and rule.family == "free"
    # pattern 0 is the most significant bit of the first character (32 = 'g')
    table = np.zeros(512, dtype=np.uint8)
    table[0] = 1
    assert table_to_map(table) == "MAPg" + "A" * 85
    # the four unused bits of the last character are ignored, as in Golly
    assert Rule.parse("MAP" + "A" * 85 + "P").table.sum() == 0


def test_map_infers_smallest_family():
    assert Rule.parse(Rule.parse("B2-a/S12").to_map()).family == "isotropic"
    ring = Rule.random("ring", rng=5)
    assert Rule.parse(ring.to_map()).family == "ring"
    rot = Rule.random("rotation", rng=5)
    assert Rule.parse(str(rot)).family == "rotation"


def test_parse_with_family():
    assert Rule.parse("B3/S23", family="free").family == "free"
    assert Rule.parse("B3/S23", family=FAMILIES["ring"]).family is FAMILIES["ring"]
    assert str(Rule.parse("B3/S23", family="rotation")) == LIFE_MAP
    with pytest.raises(ValueError, match="totalistic"):
        Rule.parse("B2-a/S12", family="totalistic")
    with pytest.raises(ValueError, match="nope"):
        Rule.parse("B3/S23", family="nope")


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("B9/S23", ["9", "0-8"]),
        ("B33/S23", ["3", "repeated"]),
        ("B3/S2-z", ["'z'", "cekain"]),
        ("B3/S2z", ["'z'", "cekain"]),
        ("B5z/S", ["'z'", "cekainyqjr"]),
        ("B3/S23/X", ["'X'"]),
        ("", ["empty"]),
        ("   ", ["empty"]),
        ("B3/S23junk", ["23junk"]),
        ("B3/S23!", ["'!'"]),
        ("B0c/S", ["0", "'c'"]),
        ("B3/S8e", ["8", "'e'"]),
        ("B2-/S", ["'-'", "2"]),
        ("B-2/S", ["'-'"]),
        ("B2aa/S", ["'a'", "repeated"]),
        ("B3", ["'S'"]),
        ("S23", ["'B'"]),
        ("B3/B4", ["'B'"]),
        ("3/3a", ["'a'", "MCell"]),
        ("1/2/3", ["'3'"]),
        ("23", ["'B'"]),
        ("B3/23", ["'23'"]),
        ("xB3/S23", ["'xB3'"]),
        ("B3/S23:T64,64", [":T64,64"]),
        ("MAPabc", ["86", "3"]),
        ("MAP" + "A" * 85 + "*", ["'*'"]),
        ("MAP" + "A" * 87, ["86", "87"]),
    ],
)
def test_bad_strings(text, fragments):
    with pytest.raises(ValueError) as info:
        Rule.parse(text)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "accepted forms" in message and "B3/S23" in message and "MAP" in message


@pytest.mark.parametrize("value", [None, 3, b"B3/S23", ["B3/S23"]])
def test_parse_non_string(value):
    with pytest.raises(TypeError):
        Rule.parse(value)


# ---------------------------------------------------------------------------------------------
# Rule construction, conversion, identity
# ---------------------------------------------------------------------------------------------


def test_from_table_family_inference():
    assert Rule.from_table(life_table()).family == "totalistic"
    assert Rule.from_table(Rule.parse("B2-a/S12").table).family == "isotropic"
    # a table that is both ring and isotropic (ring-D8 symmetric) prefers isotropic
    d8 = pattern_orbits("D8")
    # the D8 orbit of pattern 5 (SW, SE: two cells two steps apart on the ring) is 2c + 2e
    both = (d8 == d8[5]).astype(np.uint8)
    assert family_contains("ring", both) and family_contains("isotropic", both)
    assert not family_contains("totalistic", both)
    assert Rule.from_table(both).family == "isotropic" and smallest_family(both) == "isotropic"
    assert str(Rule.from_table(both)) == "B2ce/S"
    assert Rule.parse("B2-a/S12").to("ring").family == "ring"  # Just Friends is ring-symmetric
    assert not family_contains("ring", Rule.parse("B2c/S").table)
    # ring but not isotropic
    c8 = pattern_orbits("C8")
    # N, NE, SE: ring gaps 1, 2, 5 clockwise; its mirror image has gaps 2, 1, 5 (chiral)
    ring_only = (c8 == c8[128 + 64 + 1]).astype(np.uint8)
    assert family_contains("ring", ring_only) and not family_contains("isotropic", ring_only)
    assert Rule.from_table(ring_only).family == "ring"
    assert Rule.from_table(np.arange(512) % 2).family == "free"
    assert Rule.from_table(np.zeros(512, dtype=bool)) == Rule.parse("B/S")


def test_to_up_and_down():
    life = Rule.parse("B3/S23")
    for name in FAMILIES:
        if name in ("hex", "vonneumann"):  # Life counts all 8 neighbours
            with pytest.raises(ValueError, match=name):
                life.to(name)
            continue
        up = life.to(name)
        assert up == life and up.family == name and up.bits.shape == (FAMILIES[name].n_bits,)
        assert up.to("totalistic").family == "totalistic"
    jf = Rule.parse("B2-a/S12")
    assert jf.to("rotation").to("isotropic") == jf
    with pytest.raises(ValueError, match="totalistic") as info:
        jf.to("totalistic")
    assert "B2-a/S12" in str(info.value)
    with pytest.raises(ValueError, match="ring"):
        Rule.parse("B2c/S12").to("ring")
    rot = Rule.random("rotation", rng=3)
    with pytest.raises(ValueError, match="isotropic"):
        rot.to("isotropic")


def test_from_bits():
    bits = np.zeros(18, dtype=np.uint8)
    bits[[3, 11, 12]] = 1  # B3, S2, S3
    assert Rule.from_bits(bits, "totalistic") == Rule.parse("B3/S23")
    assert Rule.from_bits([True] * 18, "totalistic") == Rule.parse("B012345678/S012345678")
    iso = np.zeros(102, dtype=np.uint8)
    iso[HENSEL_ORDER.index("2a")] = 1
    assert str(Rule.from_bits(iso, "isotropic")) == "B2a/S"
    free = Rule.from_bits(life_table(), "free")
    assert free.bits.tolist() == life_table().tolist() and free.family == "free"
    with pytest.raises(ValueError, match="102") as info:
        Rule.from_bits(bits, "isotropic")
    assert "(18,)" in str(info.value)
    bad = bits.copy()
    bad[5] = 2
    with pytest.raises(ValueError, match="index 5"):
        Rule.from_bits(bad, "totalistic")
    with pytest.raises(ValueError, match=r"0\.5"):
        Rule.from_bits([0.5] * 18, "totalistic")


def test_from_table_validation():
    with pytest.raises(ValueError, match=r"\(511,\)"):
        Rule.from_table(np.zeros(511))
    with pytest.raises(ValueError, match=r"\(2, 256\)"):
        Rule.from_table(np.zeros((2, 256)))
    table = np.zeros(512, dtype=int)
    table[7] = -1
    with pytest.raises(ValueError, match="index 7"):
        Rule.from_table(table)
    with pytest.raises(ValueError, match="ring"):
        Rule.from_table(np.arange(512) % 2, family="ring")


def test_random():
    a = Rule.random("isotropic", rng=42)
    assert a == Rule.random("isotropic", rng=np.random.default_rng(42))
    assert a != Rule.random("isotropic", rng=43)
    assert a.family == "isotropic" and family_contains("isotropic", a.table)
    free = Rule.random("free", rng=0)
    assert 0.4 < free.bits.mean() < 0.6
    assert isinstance(Rule.random("free"), Rule)


def test_immutability():
    rule = Rule.parse("B3/S23")
    assert rule.table.dtype == np.uint8 and rule.table.shape == (512,)
    with pytest.raises(ValueError):
        rule.table[0] = 1
    with pytest.raises(ValueError):
        rule.table.setflags(write=True)
    with pytest.raises(ValueError):
        rule.bits[0] = 1
    with pytest.raises(AttributeError):
        rule.family = FAMILIES["free"]
    with pytest.raises(AttributeError):
        rule._table = np.zeros(512)
    # the table passed in is copied
    table = life_table()
    r = Rule.from_table(table)
    table[0] = 1
    assert r.table[0] == 0


def test_equality_hash_order():
    life = Rule.parse("B3/S23")
    assert life == life.to("free") and hash(life) == hash(life.to("free"))
    assert len({life, life.to("free"), life.to("isotropic"), Rule.parse("B36/S23")}) == 2
    assert life != "B3/S23"
    rules = [Rule.parse(t) for t in ("B36/S23", "B3/S23", "B/S", "B2/S")]
    ordered = sorted(rules)
    assert ordered[0] == Rule.parse("B/S")
    assert [r.table.tobytes() for r in ordered] == sorted(r.table.tobytes() for r in rules)
    assert Rule.parse("B/S") < Rule.parse("B3/S23") <= Rule.parse("B3/S23")


def test_repr_and_pickle():
    for rule in (Rule.parse("B2-a/S12"), Rule.parse("B3/S23").to("ring")):
        assert eval(repr(rule), {"Rule": Rule}) == rule
        assert repr(rule).endswith(f"family={rule.family.name!r})")
        clone = pickle.loads(pickle.dumps(rule))
        assert clone == rule and clone.family is rule.family
    assert repr(Rule.parse("B3/S23")) == "Rule.parse('B3/S23', family='totalistic')"


def test_birth_survival_requires_totalistic():
    assert Rule.parse("B36/S23").birth == (3, 6)
    assert Rule.parse("B/S").survival == ()
    assert Rule.parse("B3/S23", family="free").survival == (2, 3)
    with pytest.raises(ValueError, match="totalistic"):
        _ = Rule.parse("B2-a/S12").birth


# ---------------------------------------------------------------------------------------------
# Round trips
# ---------------------------------------------------------------------------------------------


@st.composite
def family_and_bits(draw):
    name = draw(st.sampled_from(list(FAMILIES)))
    n = FAMILIES[name].n_bits
    bits = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return name, np.array(bits, dtype=np.uint8)


@settings(max_examples=150, deadline=None)
@given(family_and_bits())
def test_round_trip_through_string(case):
    name, bits = case
    rule = Rule.from_bits(bits, name)
    assert rule.bits.tolist() == bits.tolist() and rule.family == name
    text = str(rule)
    again = Rule.parse(text, family=name)
    assert again == rule and again.family == name and str(again) == text
    inferred = Rule.parse(text)
    # an 'H' or 'V' suffix names its family; other strings infer it from the table
    named = name if name in ("hex", "vonneumann") else smallest_family(rule.table)
    assert inferred == rule and inferred.family == named
    assert Rule.parse(rule.to_map()) == rule
    if name == "isotropic":
        assert not text.startswith("MAP")
    elif name in ("ring", "rotation", "free"):
        assert text.startswith("MAP") and len(text) == 89


@settings(max_examples=100, deadline=None)
@given(family_and_bits())
def test_from_table_round_trip(case):
    name, bits = case
    rule = Rule.from_bits(bits, name)
    inferred = Rule.from_table(rule.table)
    assert inferred == rule
    # hex and vonneumann are never inferred: a table of theirs gets a Moore family
    assert inferred.family not in ("hex", "vonneumann")
    assert (
        is_subfamily(inferred.family, name)
        or (inferred.family == "isotropic" and name == "ring")
        or (name in ("hex", "vonneumann") and inferred.family == smallest_family(rule.table))
    )
    assert rule.to(inferred.family).to(name).bits.tolist() == bits.tolist()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 8), unique=True),
    st.lists(st.integers(0, 8), unique=True),
    st.booleans(),
)
def test_totalistic_strings(birth, survival, lower):
    text = "B" + "".join(map(str, birth)) + "/S" + "".join(map(str, survival))
    rule = Rule.parse(text.lower() if lower else text)
    assert rule.birth == tuple(sorted(birth)) and rule.survival == tuple(sorted(survival))
    assert str(rule) == "B" + "".join(map(str, sorted(birth))) + "/S" + "".join(
        map(str, sorted(survival))
    )
    assert rule.table.tolist() == totalistic_table(birth, survival).tolist()
    mcell = "".join(map(str, survival)) + "/" + "".join(map(str, birth))
    assert Rule.parse(mcell) == rule
