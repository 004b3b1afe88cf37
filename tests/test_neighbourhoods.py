"""Golly's hexagonal (``H``) and von Neumann (``V``) rules: families, notation, simulation.

The simulator is checked against ``tests/reference.py``'s neighbourhood simulator, which
counts neighbours by shifting the grid (no pattern index, no table, no lifegym code) and
reads the rule from the B/S string with its own parser.
"""

from __future__ import annotations

import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import (
    HEX_OFFSETS,
    MOORE_OFFSETS,
    VON_NEUMANN_OFFSETS,
    neighbourhood_run,
    parse_bs_suffix,
)

import lifegym  # noqa: F401  (registers the envs)
from lifegym.families import FAMILIES, family_contains, get_family, is_subfamily, smallest_family
from lifegym.generator import make_prior
from lifegym.neighbourhoods import (
    CENTRE,
    COMPASS,
    HEX_CELLS,
    VON_NEUMANN_CELLS,
    symmetry_group,
    transform_patterns,
)
from lifegym.notation import RuleStringError
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace

NEW = ("hex", "vonneumann")
SUFFIX = {"hex": "H", "vonneumann": "V"}
N_NEIGHBOURS = {"hex": 6, "vonneumann": 4}
# Cells of the 3x3 patch (row, col), row 0 the north row, that each neighbourhood ignores.
IGNORED = {"hex": [(0, 2), (2, 0)], "vonneumann": [(0, 0), (0, 2), (2, 0), (2, 2)]}
WEIGHTS = np.array([[256, 128, 64], [32, 16, 8], [4, 2, 1]])


def bit_of(row: int, col: int) -> int:
    return int(WEIGHTS[row, col])


def picture(rows: tuple[str, str, str]) -> int:
    """Pattern index of a 3-row ASCII picture ('o' live, '.' dead), north row first."""
    return int(sum(WEIGHTS[r, c] for r in range(3) for c in range(3) if rows[r][c] == "o"))


@st.composite
def family_rules(draw: st.DrawFn) -> Rule:
    name = draw(st.sampled_from(NEW))
    n = FAMILIES[name].n_bits
    bits = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return Rule.from_bits(np.array(bits, dtype=np.uint8), name)


# ---------------------------------------------------------------------------------------------
# The reference simulator itself
# ---------------------------------------------------------------------------------------------


def test_reference_neighbourhoods():
    assert len(MOORE_OFFSETS) == 8 and len(HEX_OFFSETS) == 6 and len(VON_NEUMANN_OFFSETS) == 4
    assert set(MOORE_OFFSETS) - set(HEX_OFFSETS) == {(-1, 1), (1, -1)}  # NE and SW
    # one live cell at (1, 3): which cells of row 2 see it as a neighbour under hex?
    grid = np.zeros((4, 5), dtype=np.uint8)
    grid[1, 3] = 1
    # B1/SH: born where exactly one hex neighbour is alive. The cell (2, 2) has (1, 3) as
    # its top-right neighbour, which hex ignores; (2, 4) has it as its top-left one.
    frame = neighbourhood_run(grid, "B1/SH", 1)[1]
    assert frame[2, 2] == 0 and frame[2, 4] == 1 and frame[2, 3] == 1
    assert frame[0, 2] == 1 and frame[0, 4] == 0  # (0, 4) has it as its bottom-left neighbour


# ---------------------------------------------------------------------------------------------
# Simulation against the reference
# ---------------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    family_rules(),
    st.integers(3, 40),
    st.integers(3, 40),
    st.integers(1, 6),
    st.sampled_from(("torus", "dead")),
    st.integers(0, 2**32 - 1),
)
def test_simulate_matches_reference(rule, height, width, steps, boundary, seed):
    rng = np.random.default_rng(seed)
    density = rng.uniform(0.1, 0.9)
    grid = (rng.random((height, width)) < density).astype(np.uint8)
    text = str(rule)
    # the reference reads the string with its own parser; its sets are the documented bits
    born, survive, offsets = parse_bs_suffix(text)
    half = rule.family.n_bits // 2
    assert born == {n for n in range(half) if rule.bits[n]}
    assert survive == {n for n in range(half) if rule.bits[half + n]}
    assert len(offsets) == N_NEIGHBOURS[rule.family.name]
    expected = neighbourhood_run(grid, text, steps, boundary)
    np.testing.assert_array_equal(simulate(rule, grid, steps, boundary=boundary), expected)
    np.testing.assert_array_equal(simulate(text, grid, steps, boundary=boundary), expected)


@pytest.mark.parametrize("text", ["B2/S34H", "B2/S3V", "B1/S1V", "B0246/S135H"])
def test_simulate_batch_matches_reference(text):
    rng = np.random.default_rng(7)
    grids = (rng.random((5, 17, 29)) < 0.4).astype(np.uint8)
    np.testing.assert_array_equal(simulate(text, grids, 8), neighbourhood_run(grids, text, 8))


def test_hex_orientation_in_simulate():
    # B1/SH from a single live cell: births at its 6 hex neighbours only, i.e. not at the
    # cells whose top-right or bottom-left neighbour it is: (y+1, x-1) and (y-1, x+1).
    grid = np.zeros((7, 7), dtype=np.uint8)
    grid[3, 3] = 1
    frame = simulate("B1/SH", grid, 1)[1]
    born = {(int(r), int(c)) for r, c in zip(*np.nonzero(frame), strict=True)}
    assert born == {(2, 2), (2, 3), (3, 2), (3, 4), (4, 3), (4, 4)}
    frame = simulate("B1/SV", grid, 1)[1]
    born = {(int(r), int(c)) for r, c in zip(*np.nonzero(frame), strict=True)}
    assert born == {(2, 3), (3, 2), (3, 4), (4, 3)}


# ---------------------------------------------------------------------------------------------
# Notation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "family"),
    [
        ("B2/S34H", "hex"),
        ("B/SH", "hex"),
        ("B0123456/S0123456H", "hex"),
        ("B246/S135H", "hex"),
        ("B2/S3V", "vonneumann"),
        ("B/SV", "vonneumann"),
        ("B01234/S01234V", "vonneumann"),
        ("B13/S024V", "vonneumann"),
    ],
)
def test_canonical_strings_round_trip(text, family):
    rule = Rule.parse(text)
    assert str(rule) == text
    assert rule.family == family and rule.family is get_family(family)
    assert repr(rule) == f"Rule.parse({text!r}, family={family!r})"
    assert eval(repr(rule), {"Rule": Rule}) == rule


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (
            ["B2/S34H", "b2/s34h", "b2s34h", "B2S34H", "S34/B2H", "s34b2h", "34/2H", "B2/S43H"],
            "B2/S34H",
        ),
        (["  B2/S3V\n", "b2s3v", "S3/B2V", "3/2V", "3/2v"], "B2/S3V"),
        (["B/SV", "/V", "S/BV", "bsv"], "B/SV"),
        (["B/SH", "/H"], "B/SH"),
        (["B6/S0H", "0/6H", "b6s0h"], "B6/S0H"),
    ],
)
def test_equivalent_spellings(spellings, canonical):
    rules = [Rule.parse(text) for text in spellings]
    assert all(r == rules[0] and r.family == rules[0].family for r in rules)
    assert {str(r) for r in rules} == {canonical}


@settings(max_examples=100, deadline=None)
@given(family_rules(), st.booleans())
def test_random_rules_round_trip(rule, lower):
    name = rule.family.name
    text = str(rule)
    assert text.endswith(SUFFIX[name])
    again = Rule.parse(text.lower() if lower else text)
    assert again == rule and again.family == name
    assert again.bits.tolist() == rule.bits.tolist()
    # the other orders give the same rule
    birth, survival = text[1:-1].split("/S")
    assert Rule.parse(f"S{survival}/B{birth}{SUFFIX[name]}") == rule
    assert Rule.parse(f"{survival}/{birth}{SUFFIX[name]}") == rule
    assert rule.birth == tuple(int(d) for d in birth)
    assert rule.survival == tuple(int(d) for d in survival)
    # the MAP string keeps the table; the family is then inferred from the table
    via_map = Rule.parse(rule.to_map())
    assert via_map == rule and via_map.family == smallest_family(rule.table)
    assert Rule.parse(text, family="free") == rule


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("B7/S2H", ["digit 7", "0-6", "hexagonal"]),
        ("B2/S9H", ["digit 9", "0-6"]),
        ("B5/SV", ["digit 5", "0-4", "von Neumann"]),
        ("B2/S35V", ["digit 5", "0-4"]),
        ("B2a/S3H", ["'a'", "Hensel", "'H'"]),
        ("B2-a/S3H", ["'-'", "Hensel"]),
        ("B2/S2cV", ["'c'", "Hensel", "'V'"]),
        ("B22/S3H", ["2", "repeated"]),
        ("B2H/S3", ["'H'", "end"]),
        ("B2/S3HV", ["'H'", "end"]),
        ("B2V/S3H", ["'V'", "end"]),
        ("H", ["suffix 'H'"]),
        ("V", ["suffix 'V'"]),
        ("34/2aH", ["'a'", "digits only"]),
        ("B2/S3 V", ["' '"]),
        ("B2/S3H:T10,10", [":T10,10"]),
        ("B2H", ["'S'"]),
    ],
)
def test_bad_strings(text, fragments):
    with pytest.raises(RuleStringError) as info:
        Rule.parse(text)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    assert "B2/S34H" in message  # the accepted forms list the H/V notation


def test_parse_with_explicit_family():
    vn = Rule.parse("B2/S3V", "isotropic")
    assert vn == Rule.parse("B2/S3V") and vn.family == "isotropic"
    assert not str(vn).endswith("V")  # printed in Hensel notation
    assert Rule.parse(str(vn), "vonneumann") == vn
    assert str(Rule.parse(str(vn), "vonneumann")) == "B2/S3V"
    hexr = Rule.parse("B2/S34H", "free")
    assert hexr.family == "free" and str(hexr).startswith("MAP")
    assert str(Rule.parse(str(hexr), "hex")) == "B2/S34H"
    with pytest.raises(ValueError, match=r"not in family 'rotation'.*hex rule"):
        Rule.parse("B2/S34H", "rotation")
    with pytest.raises(ValueError, match=r"not in family 'hex'.*totalistic"):
        Rule.parse("B3/S23", "hex")
    with pytest.raises(ValueError, match="hexagonal"):
        Rule.parse("B3/S23").to("hex")


def test_from_table_never_infers_hex_or_von_neumann():
    hexr, vn = Rule.parse("B2/S34H"), Rule.parse("B2/S3V")
    assert Rule.from_table(hexr.table).family == "free"
    assert Rule.from_table(vn.table).family == "isotropic"
    assert Rule.from_table(hexr.table) == hexr  # the same rule: equality compares tables
    # a table that is also Moore-totalistic infers totalistic, but the string keeps its family
    empty = Rule.parse("B/SH")
    assert Rule.from_table(empty.table).family == "totalistic"
    assert empty == Rule.parse("B/S") == Rule.parse("B/SV")
    assert str(empty) == "B/SH" and str(Rule.parse("B/SV")) == "B/SV"


def test_conversions():
    rng = np.random.default_rng(3)
    for name in NEW:
        rule = Rule.random(name, rng)
        assert rule.family == name and rule.bits.shape == (FAMILIES[name].n_bits,)
        free = rule.to("free")
        assert free == rule and free.family == "free"
        assert free.to(name).bits.tolist() == rule.bits.tolist()
        assert Rule.from_bits(rule.bits, name) == rule
    vn = Rule.random("vonneumann", rng)
    assert vn.to("isotropic").to("rotation").to("vonneumann") == vn


# ---------------------------------------------------------------------------------------------
# Family facts
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_family_shape(name):
    fam = get_family(name)
    n = N_NEIGHBOURS[name]
    assert fam.n_bits == 2 * (n + 1) == {"hex": 14, "vonneumann": 10}[name]
    assert fam.bit_names == tuple([f"B{k}" for k in range(n + 1)] + [f"S{k}" for k in range(n + 1)])
    sizes = np.bincount(fam.orbit_of, minlength=fam.n_bits)
    assert sizes.sum() == 512 and (sizes > 0).all()
    # C(n, k) live configurations of the counted cells, times any state of the ignored ones
    ignored = 8 - n
    expected = [math.comb(n, k) * 2**ignored for k in range(n + 1)] * 2
    assert sizes.tolist() == expected
    assert name in FAMILIES and list(FAMILIES).index(name) < list(FAMILIES).index("totalistic")


@pytest.mark.parametrize("name", NEW)
def test_orbits_are_centre_and_count(name):
    fam = get_family(name)
    n = N_NEIGHBOURS[name]
    counted = [
        (r, c)
        for r in range(3)
        for c in range(3)
        if (r, c) != (1, 1) and (r, c) not in IGNORED[name]
    ]
    assert len(counted) == n
    for p in range(512):
        count = sum(1 for r, c in counted if p & bit_of(r, c))
        centre = 1 if p & bit_of(1, 1) else 0
        assert fam.orbit_of[p] == centre * (n + 1) + count
    cells = HEX_CELLS if name == "hex" else VON_NEUMANN_CELLS
    assert sorted(cells) == sorted(bit_of(r, c) for r, c in counted)


@settings(max_examples=30, deadline=None)
@given(family_rules())
def test_ignored_cells_do_not_matter(rule):
    table = rule.table
    patterns = np.arange(512)
    for r, c in IGNORED[rule.family.name]:
        assert (table[patterns ^ bit_of(r, c)] == table).all()


def test_inclusions():
    assert is_subfamily("vonneumann", "isotropic") and is_subfamily("vonneumann", "rotation")
    assert is_subfamily("hex", "free") and is_subfamily("vonneumann", "free")
    for big in ("totalistic", "ring", "isotropic", "rotation"):
        assert not is_subfamily("hex", big), big
    for other in ("totalistic", "ring"):
        assert not is_subfamily("vonneumann", other)
        assert not is_subfamily(other, "vonneumann") and not is_subfamily(other, "hex")
    assert not is_subfamily("hex", "vonneumann") and not is_subfamily("vonneumann", "hex")
    rng = np.random.default_rng(11)
    for _ in range(20):
        assert family_contains("isotropic", Rule.random("vonneumann", rng).table)


def test_hex_symmetries():
    # a hex table is invariant under exactly 4 of the 8 elements of D4: the identity, the
    # 180-degree rotation and the two diagonal reflections (they map {NE, SW} to itself)
    rule = Rule.parse("B2/S34H")
    keeps = [
        g for g in symmetry_group("D4") if (rule.table[transform_patterns(g)] == rule.table).all()
    ]
    assert len(keeps) == 4
    ne_sw = {2, 6}  # flat positions of NE and SW in the 3x3 patch
    for g in symmetry_group("D4"):
        preserves = {int(g[k]) for k in ne_sw} == ne_sw
        assert preserves == any((g == k).all() for k in keeps)


def test_hand_checked_table_entries():
    hexr = Rule.parse("B2/S34H")
    # NE and SW alive, centre dead: both ignored, 0 hex neighbours -> no birth (B2 needs 2),
    # although Moore B2 would be born here.
    p = picture(("..o", "...", "o.."))
    assert p == COMPASS["NE"] + COMPASS["SW"] == 68 and hexr.table[p] == 0
    # N and E alive, centre dead: 2 hex neighbours -> born.
    p = picture((".o.", "..o", "..."))
    assert p == 136 and hexr.table[p] == 1
    # centre alive with NW, N, NE, W: NE ignored, so 3 hex neighbours -> survives (S3).
    p = picture(("ooo", "oo.", "..."))
    assert p == 256 + 128 + 64 + 32 + CENTRE == 496 and hexr.table[p] == 1
    # centre alive with N, W, E, S, SE: 5 hex neighbours -> dies (S34).
    p = picture((".o.", "ooo", ".oo"))
    assert p == 128 + 32 + CENTRE + 8 + 2 + 1 and hexr.table[p] == 0

    vn = Rule.parse("B2/S3V")
    # four corners alive, centre dead: 0 von Neumann neighbours -> no birth.
    assert vn.table[picture(("o.o", "...", "o.o"))] == 0
    # N and S alive: 2 -> born, whatever the corners (add NE and SE).
    assert vn.table[picture((".o.", "...", ".o."))] == 1
    assert vn.table[picture((".oo", "...", ".oo"))] == 1
    # centre alive with N, E, S and the NW corner: 3 -> survives; with W too: 4 -> dies.
    assert vn.table[picture(("oo.", ".oo", ".o."))] == 1
    assert vn.table[picture(("oo.", "ooo", ".o."))] == 0


# ---------------------------------------------------------------------------------------------
# Priors and the env
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NEW)
def test_named_prior_has_clear_error(name):
    with pytest.raises(ValueError, match=rf"family '{name}'.*uniform"):
        make_prior("named", RuleSpace.of(name))
    prior = make_prior("uniform", RuleSpace.of(name))
    assert prior.sample(np.random.default_rng(0)).family == name
    listed = make_prior([f"B2/S3{SUFFIX[name]}"], RuleSpace.of(name))
    assert str(listed.sample(np.random.default_rng(0))) == f"B2/S3{SUFFIX[name]}"


@pytest.mark.parametrize("name", NEW)
def test_env_episode(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # gymnasium may warn that a newer version exists
        env = gym.make("lifegym/RuleDiscovery-v0", family=name, noise=0.05, inference="exact")
    try:
        env.reset(seed=0)
        base = env.unwrapped
        assert base.space.family == name and base.space.n_free == FAMILIES[name].n_bits
        for action in range(3):
            _, _, terminated, truncated, _ = env.step(action)
            assert not (terminated or truncated)
        _, _, terminated, _, info = env.step(base.submit_action)
        assert terminated
        result = info["result"]
        assert result["true_rule"].endswith(SUFFIX[name])
        assert result["submitted_rule"].endswith(SUFFIX[name])
        # a fixed hidden rule in the notation of the family
        env.reset(seed=1, options={"rule": f"B2/S3{SUFFIX[name]}"})
        _, _, terminated, _, info = env.step(base.submit_action)
        assert terminated and info["result"]["true_rule"] == f"B2/S3{SUFFIX[name]}"
    finally:
        env.close()


def test_emulator_engine_symmetry():
    # deferred import: torch is heavy
    from lifegym.inference.emulator import SYMMETRY_OF_FAMILY, EmulatorEngine
    from lifegym.observe import ObservationModel

    assert SYMMETRY_OF_FAMILY["vonneumann"] == "p4m"  # von Neumann rules are isotropic
    assert SYMMETRY_OF_FAMILY["hex"] == "none"  # hex has no 90-degree symmetry
    assert set(SYMMETRY_OF_FAMILY) == set(FAMILIES)
    for name in NEW:
        engine = EmulatorEngine(RuleSpace.of(name), ObservationModel())
        assert engine.belief().map_rule.family == name
