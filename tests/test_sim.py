"""Independent checks of lifegym.sim.simulate against tests/reference.py.

The reference simulators share no code with lifegym.sim; the totalistic tables used here are
built from B/S strings by tests/reference.py's own parser, so the pattern-index convention
itself is under test, not only agreement between two implementations of it.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import (
    bs_string,
    naive_totalistic_run,
    parse_bs,
    reference_run,
    totalistic_table,
)

from lifegym.rules import Rule
from lifegym.sim import simulate

# 26 named rules as LifeWiki gives them, written out here (not taken from lifegym).
DOMAIN_RULES: dict[str, str] = {
    "Life": "B3/S23",
    "HighLife": "B36/S23",
    "Day & Night": "B3678/S34678",
    "Seeds": "B2/S",
    "Replicator": "B1357/S1357",
    "Fredkin": "B1357/S02468",
    "Maze": "B3/S12345",
    "Mazectric": "B3/S1234",
    "Life without Death": "B3/S012345678",
    "Live Free or Die": "B2/S0",
    "Serviettes": "B234/S",
    "Gnarl": "B1/S1",
    "DotLife": "B3/S023",
    "LowLife": "B3/S13",
    "Coral": "B3/S45678",
    "2x2": "B36/S125",
    "34 Life": "B34/S34",
    "Amoeba": "B357/S1358",
    "Assimilation": "B345/S4567",
    "Coagulations": "B378/S235678",
    "Diamoeba": "B35678/S5678",
    "Long Life": "B345/S5",
    "Morley (Move)": "B368/S245",
    "Pseudo Life": "B357/S238",
    "Anneal": "B4678/S35678",
    "Walled Cities": "B45678/S2345",
}
B0_RULES = ("B0/S8", "B0123/S", "B01/S012345678", "B0/S", "B08/S4")
# Word boundaries of a 64-bit packing: 63, 64, 65, 130, 321; degenerate 1x1, 1xN, 2xN.
SIZES: tuple[tuple[int, int], ...] = (
    (1, 1),
    (1, 7),
    (3, 5),
    (37, 91),
    (63, 63),
    (64, 64),
    (65, 130),
    (2, 200),
    (9, 321),  # > 4 words a row: a batch of these takes the one-grid-per-thread path
)
DENSITIES = (0.15, 0.5, 0.8)
BOUNDARIES = ("torus", "dead")
NON_TOTALISTIC = ("ring", "isotropic", "rotation", "free")
Transform = Callable[[np.ndarray], np.ndarray]


def soup(rng: np.random.Generator, shape: tuple[int, ...], density: float) -> np.ndarray:
    return (rng.random(shape) < density).astype(np.uint8)


def batch_soup(rng: np.random.Generator, b: int, h: int, w: int) -> np.ndarray:
    """b grids whose densities cycle through DENSITIES."""
    return np.stack([soup(rng, (h, w), DENSITIES[i % len(DENSITIES)]) for i in range(b)])


def ref_batch(grids: np.ndarray, table: np.ndarray, steps: int, boundary: str) -> np.ndarray:
    return np.stack([reference_run(g, table, steps, boundary) for g in grids])


def assert_agrees(
    rule: Rule | str,
    table: np.ndarray,
    rng: np.random.Generator,
    *,
    boundary: str,
    batch: int,
    kernel: str = "auto",
    sizes: tuple[tuple[int, int], ...] = SIZES,
) -> None:
    """simulate == reference on every size, as one grid (batch=0) or a batch of grids."""
    for k, (h, w) in enumerate(sizes):
        steps = 5 + (k * 3) % 8  # 5..12
        if batch == 0:
            init = soup(rng, (h, w), DENSITIES[k % len(DENSITIES)])
            expected = reference_run(init, table, steps, boundary)
        else:
            init = batch_soup(rng, batch, h, w)
            expected = ref_batch(init, table, steps, boundary)
        got = simulate(rule, init, steps, boundary=boundary, kernel=kernel)
        assert got.dtype == np.uint8
        assert got.shape == expected.shape, (h, w, batch)
        np.testing.assert_array_equal(got, expected, err_msg=f"{rule} {h}x{w} b={batch}")


def rng_for(*key: object) -> np.random.Generator:
    """A generator seeded from ``key`` (crc32: stable across processes, unlike hash())."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


# --------------------------------------------------------------------------------------
# The reference itself and the table convention
# --------------------------------------------------------------------------------------


def test_reference_convention_on_hand_patterns() -> None:
    """The bit convention, checked on single live cells around a centre."""
    names = {
        (0, 0): 256,
        (0, 1): 128,
        (0, 2): 64,
        (1, 0): 32,
        (1, 1): 16,
        (1, 2): 8,
        (2, 0): 4,
        (2, 1): 2,
        (2, 2): 1,
    }
    for (r, c), bit in names.items():
        grid = np.zeros((5, 5), dtype=np.uint8)
        grid[1 + r, 1 + c] = 1  # the patch of cell (2, 2) is grid[1:4, 1:4]
        table = np.zeros(512, dtype=np.uint8)
        table[bit] = 1
        out = reference_run(grid, table, 1)[1]
        assert out[2, 2] == 1
        assert out.sum() == 1  # no other cell sees exactly this pattern


@pytest.mark.parametrize("rule", [*DOMAIN_RULES.values(), *B0_RULES])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_table_reference_equals_naive_counting(rule: str, boundary: str) -> None:
    rng = rng_for("naive", rule, boundary)
    init = soup(rng, (9, 13), 0.45)
    table = totalistic_table(*parse_bs(rule))
    np.testing.assert_array_equal(
        reference_run(init, table, 4, boundary), naive_totalistic_run(init, rule, 4, boundary)
    )


@pytest.mark.parametrize("rule", [*DOMAIN_RULES.values(), *B0_RULES])
def test_rule_tables_match_bs_convention(rule: str) -> None:
    born, survive = parse_bs(rule)
    expected = totalistic_table(born, survive)
    np.testing.assert_array_equal(Rule.parse(rule).table, expected)
    bits = np.zeros(18, dtype=np.uint8)  # bit n: born with n; bit 9 + n: survive with n
    bits[list(born)] = 1
    bits[[9 + n for n in survive]] = 1
    np.testing.assert_array_equal(Rule.from_bits(bits, "totalistic").table, expected)


def test_named_rules_cover_domain_table() -> None:
    from lifegym.rules import NAMED_RULES

    named_tables = {Rule.parse(s).table.tobytes() for s in NAMED_RULES.values()}
    for name, rule in DOMAIN_RULES.items():
        assert totalistic_table(*parse_bs(rule)).tobytes() in named_tables, name


# --------------------------------------------------------------------------------------
# Agreement with the reference
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(DOMAIN_RULES))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_named_rules_agree_with_reference(name: str, boundary: str) -> None:
    rule = DOMAIN_RULES[name]
    table = totalistic_table(*parse_bs(rule))
    rng = rng_for("named", name, boundary)
    assert_agrees(rule, table, rng, boundary=boundary, batch=0)
    assert_agrees(rule, table, rng, boundary=boundary, batch=3)


@pytest.mark.parametrize("rule", ["B3/S23", "B36/S23", "B1357/S02468", "B2/S"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_totalistic_table_kernel_agrees_with_reference(rule: str, boundary: str) -> None:
    table = totalistic_table(*parse_bs(rule))
    rng = rng_for("tablekernel", rule, boundary)
    assert_agrees(rule, table, rng, boundary=boundary, batch=0, kernel="table")
    assert_agrees(rule, table, rng, boundary=boundary, batch=3, kernel="table")


@pytest.mark.parametrize("rule", B0_RULES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("kernel", ["auto", "table"])
def test_b0_rules_agree_with_reference(rule: str, boundary: str, kernel: str) -> None:
    table = totalistic_table(*parse_bs(rule))
    rng = rng_for("b0", rule, boundary, kernel)
    assert_agrees(rule, table, rng, boundary=boundary, batch=0, kernel=kernel)
    assert_agrees(rule, table, rng, boundary=boundary, batch=3, kernel=kernel)


def test_b0_dead_boundary_only_acts_inside() -> None:
    """B0/S on an all-dead grid: torus -> all alive; dead boundary -> alive too (count 0)
    but B0/S8 then only keeps cells with 8 live neighbours: the interior."""
    empty = np.zeros((4, 6), dtype=np.uint8)
    for boundary in BOUNDARIES:
        out = simulate("B0/S", empty, 1, boundary=boundary)
        np.testing.assert_array_equal(out[1], np.ones((4, 6), dtype=np.uint8))
    out = simulate("B0/S8", empty, 2, boundary="dead")
    interior = np.zeros((4, 6), dtype=np.uint8)
    interior[1:-1, 1:-1] = 1
    np.testing.assert_array_equal(out[2], interior)
    out = simulate("B0/S8", empty, 2, boundary="torus")
    np.testing.assert_array_equal(out[2], np.ones((4, 6), dtype=np.uint8))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_random_totalistic_rules_agree_with_reference(seed: int, boundary: str) -> None:
    rng = np.random.default_rng(1000 + seed)
    rule = Rule.random("totalistic", rng)
    assert str(rule.family) == "totalistic"
    assert_agrees(rule, rule.table, rng, boundary=boundary, batch=0)
    assert_agrees(rule, rule.table, rng, boundary=boundary, batch=3)


@pytest.mark.parametrize("family", NON_TOTALISTIC)
@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_random_family_rules_agree_with_reference(family: str, seed: int, boundary: str) -> None:
    rng = np.random.default_rng(2000 + seed)
    rule = Rule.random(family, rng)
    assert str(rule.family) == family
    assert_agrees(rule, rule.table, rng, boundary=boundary, batch=0)
    assert_agrees(rule, rule.table, rng, boundary=boundary, batch=3)


@pytest.mark.parametrize("rule", ["B2-a/S12", "B3/S2-i34q"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_hensel_rules_agree_with_reference(rule: str, boundary: str) -> None:
    parsed = Rule.parse(rule)
    rng = rng_for("hensel", rule, boundary)
    assert_agrees(rule, parsed.table, rng, boundary=boundary, batch=0)
    assert_agrees(parsed, parsed.table, rng, boundary=boundary, batch=3)


@pytest.mark.parametrize("family", ["totalistic", "isotropic", "free"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_large_batch_parallel_path(family: str, boundary: str) -> None:
    """17 grids: more than enough work items to spread over every thread."""
    rng = np.random.default_rng(3000)
    rule = Rule.random(family, rng)
    sizes = ((1, 7), (37, 91), (64, 64), (65, 130), (9, 321))
    assert_agrees(rule, rule.table, rng, boundary=boundary, batch=17, sizes=sizes)
    if family == "totalistic":
        assert_agrees(
            rule, rule.table, rng, boundary=boundary, batch=17, sizes=sizes, kernel="table"
        )


def test_batch_equals_individual_runs() -> None:
    rng = np.random.default_rng(7)
    grids = batch_soup(rng, 17, 33, 70)
    for rule in ("B3/S23", Rule.random("isotropic", rng)):
        together = simulate(rule, grids, 9)
        for b, grid in enumerate(grids):
            np.testing.assert_array_equal(together[b], simulate(rule, grid, 9))


# --------------------------------------------------------------------------------------
# Both kernels agree (property test)
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    born=st.sets(st.integers(0, 8)),
    survive=st.sets(st.integers(0, 8)),
    h=st.integers(1, 100),
    w=st.integers(1, 330),
    batch=st.sampled_from([0, 1, 3]),
    steps=st.integers(0, 10),
    density=st.floats(0.0, 1.0),
    boundary=st.sampled_from(BOUNDARIES),
    seed=st.integers(0, 2**32 - 1),
)
def test_bitpacked_and_table_kernels_agree(
    born: set[int],
    survive: set[int],
    h: int,
    w: int,
    batch: int,
    steps: int,
    density: float,
    boundary: str,
    seed: int,
) -> None:
    rule = bs_string(born, survive)
    rng = np.random.default_rng(seed)
    shape = (h, w) if batch == 0 else (batch, h, w)
    init = soup(rng, shape, density)
    fast = simulate(rule, init, steps, boundary=boundary)
    slow = simulate(rule, init, steps, boundary=boundary, kernel="table")
    np.testing.assert_array_equal(fast, slow)
    first = init if batch == 0 else init[0]
    first_fast = fast if batch == 0 else fast[0]
    table = totalistic_table(*parse_bs(rule))
    np.testing.assert_array_equal(first_fast, reference_run(first, table, steps, boundary))


def test_bitpacked_kernel_is_explicitly_selectable() -> None:
    init = soup(np.random.default_rng(3), (40, 70), 0.4)
    np.testing.assert_array_equal(
        simulate("B3/S23", init, 6, kernel="bitpacked"), simulate("B3/S23", init, 6)
    )


# --------------------------------------------------------------------------------------
# Symmetry
# --------------------------------------------------------------------------------------


def _patch(p: int) -> np.ndarray:
    return np.array([(p >> (8 - k)) & 1 for k in range(9)], dtype=np.uint8).reshape(3, 3)


def _index(patch: np.ndarray) -> int:
    return int(sum(int(v) << (8 - k) for k, v in enumerate(patch.ravel())))


def pattern_permutation(transform: Transform) -> np.ndarray:
    return np.array([_index(transform(_patch(p))) for p in range(512)])


ROT90 = pattern_permutation(np.rot90)
FLIP_LR = pattern_permutation(np.fliplr)
TRANSPOSE = pattern_permutation(np.transpose)

# Transforms of a frames array (..., H, W), acting on the last two axes.
ROTATIONS = {f"rot{k * 90}": (lambda a, k=k: np.rot90(a, k, axes=(-2, -1))) for k in (1, 2, 3)}
REFLECTIONS = {
    "flip_ud": lambda a: np.flip(a, axis=-2),
    "flip_lr": lambda a: np.flip(a, axis=-1),
    "transpose": lambda a: np.swapaxes(a, -2, -1),
    "anti_transpose": lambda a: np.rot90(np.swapaxes(a, -2, -1), 2, axes=(-2, -1)),
}


def assert_commutes(rule: Rule, transform: Transform, init: np.ndarray, steps: int) -> None:
    direct = transform(simulate(rule, init, steps))
    moved = simulate(rule, np.ascontiguousarray(transform(init)), steps)
    np.testing.assert_array_equal(moved, direct)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shape", [(32, 32), (20, 33), (3, 70, 65)])
def test_isotropic_rules_commute_with_d4(seed: int, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(4000 + seed)
    rule = Rule.random("isotropic", rng)
    for perm in (ROT90, FLIP_LR, TRANSPOSE):
        np.testing.assert_array_equal(rule.table[perm], rule.table)
    init = soup(rng, shape, 0.4)
    for transform in (*ROTATIONS.values(), *REFLECTIONS.values()):
        assert_commutes(rule, transform, init, 8)


@pytest.mark.parametrize("rule", ["B2-a/S12", "B3/S2-i34q"])
def test_hensel_rules_commute_with_d4(rule: str) -> None:
    parsed = Rule.parse(rule)
    init = soup(np.random.default_rng(5), (24, 41), 0.35)
    for transform in (*ROTATIONS.values(), *REFLECTIONS.values()):
        assert_commutes(parsed, transform, init, 10)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shape", [(32, 32), (20, 33)])
def test_rotation_rules_commute_with_rot90(seed: int, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(5000 + seed)
    rule = Rule.random("rotation", rng)
    np.testing.assert_array_equal(rule.table[ROT90], rule.table)
    init = soup(rng, shape, 0.4)
    for transform in ROTATIONS.values():
        assert_commutes(rule, transform, init, 8)


def chiral_rotation_table() -> np.ndarray:
    """Born exactly on the C4 orbit of 'N and NE alive, all else dead'; nothing survives.

    Invariant under rot90 by construction, but its mirror image (N and NW) is not in it.
    """
    table = np.zeros(512, dtype=np.uint8)
    p = 128 + 64
    for _ in range(4):
        table[p] = 1
        p = int(ROT90[p])
    return table


def test_rotation_rule_need_not_commute_with_flips() -> None:
    table = chiral_rotation_table()
    np.testing.assert_array_equal(table[ROT90], table)
    assert not np.array_equal(table[FLIP_LR], table)
    rule = Rule.from_table(table)
    grid = np.zeros((7, 7), dtype=np.uint8)
    grid[2, 2] = grid[2, 3] = 1  # a horizontal domino
    out = simulate(rule, grid, 1)[1]
    expected = np.zeros((7, 7), dtype=np.uint8)
    expected[3, 2] = 1  # sees N + NE
    expected[1, 3] = 1  # sees S + SW (N + NE turned by 180 degrees)
    # (3, 3) sees N + NW and (1, 2) sees S + SE: mirror images, not born; the domino dies.
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(out, reference_run(grid, table, 1)[1])
    # Rotations commute, the left-right mirror does not.
    for transform in ROTATIONS.values():
        assert_commutes(rule, transform, grid, 3)
    mirrored_first = simulate(rule, np.fliplr(grid).copy(), 1)[1]
    assert not np.array_equal(mirrored_first, np.fliplr(out))


# --------------------------------------------------------------------------------------
# Known behaviour of named rules
# --------------------------------------------------------------------------------------

GLIDER = np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=np.uint8)  # moves down-right


def place(shape: tuple[int, int], pattern: np.ndarray, r: int, c: int) -> np.ndarray:
    grid = np.zeros(shape, dtype=np.uint8)
    grid[r : r + pattern.shape[0], c : c + pattern.shape[1]] = pattern
    return grid


@pytest.mark.parametrize("kernel", ["auto", "table"])
def test_life_glider_moves_diagonally(kernel: str) -> None:
    shape = (10, 12)
    init = place(shape, GLIDER, 1, 2)
    out = simulate("B3/S23", init, 40, kernel=kernel)
    for n in (1, 2, 10):  # after 4, 8 and 40 steps (40 steps wraps around both edges)
        np.testing.assert_array_equal(out[4 * n], np.roll(init, (n, n), axis=(0, 1)))
    assert all(out[t].sum() == 5 for t in range(41))
    # Exact position after 8 steps: rows 3..5, columns 4..6.
    np.testing.assert_array_equal(out[8][3:6, 4:7], GLIDER)
    # Partly wrapped: after 32 steps the glider straddles both edges.
    expected = np.roll(init, (8, 8), axis=(0, 1))
    np.testing.assert_array_equal(out[32], expected)
    assert expected[0].any() and expected[-1].any()
    assert expected[:, 0].any() and expected[:, -1].any()


def test_life_blinker_and_block() -> None:
    blinker = place((5, 5), np.ones((1, 3), dtype=np.uint8), 2, 1)
    out = simulate("B3/S23", blinker, 4)
    np.testing.assert_array_equal(out[1], blinker.T)
    np.testing.assert_array_equal(out[2], blinker)
    np.testing.assert_array_equal(out[4], blinker)
    block = place((6, 6), np.ones((2, 2), dtype=np.uint8), 2, 2)
    out = simulate("B3/S23", block, 5)
    assert all(np.array_equal(f, block) for f in out)


def test_glider_dies_at_dead_boundary_but_not_on_torus() -> None:
    init = place((8, 8), GLIDER, 0, 0)
    torus = simulate("B3/S23", init, 64, boundary="torus")
    dead = simulate("B3/S23", init, 64, boundary="dead")
    np.testing.assert_array_equal(torus[32], init)  # 8x8 torus: back home after 32 steps
    np.testing.assert_array_equal(torus[64], init)
    assert not np.array_equal(dead[32], init)  # it ran into the corner instead
    table = totalistic_table(*parse_bs("B3/S23"))
    np.testing.assert_array_equal(dead, reference_run(init, table, 64, "dead"))


@pytest.mark.parametrize("seed", range(3))
def test_replicator_and_fredkin_on_power_of_two_torus(seed: int) -> None:
    init = soup(np.random.default_rng(6000 + seed), (64, 64), 0.5)
    replicator = simulate("B1357/S1357", init, 32)
    assert replicator[32].sum() == 0
    assert replicator[31].sum() > 0 and replicator[16].sum() > 0
    fredkin = simulate("B1357/S02468", init, 32)
    np.testing.assert_array_equal(fredkin[32], init)
    assert not np.array_equal(fredkin[16], init)


# --------------------------------------------------------------------------------------
# record=, dtypes, shapes, views, determinism
# --------------------------------------------------------------------------------------


def expected_frame_indices(steps: int, k: int) -> list[int]:
    idx = list(range(0, steps + 1, k))
    if idx[-1] != steps:
        idx.append(steps)
    return idx


@pytest.mark.parametrize("rule", ["B3/S23", "B2-a/S12"])
@pytest.mark.parametrize("batch", [0, 3])
def test_record_modes_are_slices_of_all(rule: str, batch: int) -> None:
    rng = np.random.default_rng(8)
    shape = (21, 67) if batch == 0 else (batch, 21, 67)
    init = soup(rng, shape, 0.4)
    for steps in (0, 1, 9, 10, 12):
        full = simulate(rule, init, steps, record="all")
        assert full.shape == (*shape[:-2], steps + 1, *shape[-2:])
        last = simulate(rule, init, steps, record="last")
        assert last.dtype == np.uint8
        np.testing.assert_array_equal(last, full[..., steps : steps + 1, :, :])
        for k in (1, 2, 3, 5, 20):
            sub = simulate(rule, init, steps, record=k)
            idx = expected_frame_indices(steps, k)
            assert sub.dtype == np.uint8
            np.testing.assert_array_equal(sub, full[..., idx, :, :])


def test_expected_frame_indices() -> None:
    assert expected_frame_indices(10, 3) == [0, 3, 6, 9, 10]
    assert expected_frame_indices(9, 3) == [0, 3, 6, 9]
    assert expected_frame_indices(4, 20) == [0, 4]
    assert expected_frame_indices(0, 2) == [0]


@pytest.mark.parametrize("rule", ["B3/S23", "B2-a/S12"])
def test_init_dtypes_give_same_result_and_are_not_mutated(rule: str) -> None:
    base = soup(np.random.default_rng(9), (2, 30, 70), 0.5)
    expected = simulate(rule, base.astype(bool), 7)
    assert expected.dtype == np.uint8
    for dtype in (np.int8, np.uint8, np.int16, np.int32, np.int64, np.uint64):
        init = base.astype(dtype)
        before = init.copy()
        got = simulate(rule, init, 7)
        np.testing.assert_array_equal(init, before)
        assert init.dtype == dtype
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(expected[:, 0], base)


@pytest.mark.parametrize("rule", ["B3/S23", "B2-a/S12"])
def test_non_contiguous_init(rule: str) -> None:
    rng = np.random.default_rng(10)
    big = soup(rng, (80, 150), 0.45)
    table = Rule.parse(rule).table
    views = [
        big.T,  # Fortran-ordered
        big[::2, 1::3],
        big[5:70, 7:140],
        big[::-1, ::-1],
        np.asfortranarray(big),
    ]
    for view in views:
        before = view.copy()
        got = simulate(rule, view, 6)
        np.testing.assert_array_equal(got, reference_run(np.ascontiguousarray(view), table, 6))
        np.testing.assert_array_equal(view, before)
    stack = soup(rng, (70, 66, 4), 0.5)  # batch along the last axis, moved to the front
    batch_view = np.moveaxis(stack, -1, 0)
    got = simulate(rule, batch_view, 5)
    np.testing.assert_array_equal(
        got, ref_batch(np.ascontiguousarray(batch_view), table, 5, "torus")
    )


def test_output_is_fresh_memory() -> None:
    init = soup(np.random.default_rng(11), (16, 16), 0.5)
    out = simulate("B3/S23", init, 3)
    assert not np.shares_memory(out, init)
    out[0, 0, 0] ^= 1
    assert out[0, 0, 0] != init[0, 0]


@pytest.mark.parametrize("family", ["totalistic", "isotropic", "free"])
def test_deterministic(family: str) -> None:
    rng = np.random.default_rng(12)
    rule = Rule.random(family, rng)
    init = soup(rng, (17, 64, 65), 0.5)
    first = simulate(rule, init, 11)
    second = simulate(rule, init, 11)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(simulate(rule, init[4], 11), first[4])


def test_rule_string_and_rule_object_agree() -> None:
    init = soup(np.random.default_rng(13), (3, 40, 40), 0.4)
    for s in ("B36/S23", "B2-a/S12"):
        np.testing.assert_array_equal(simulate(s, init, 8), simulate(Rule.parse(s), init, 8))


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------

GOOD = np.zeros((4, 5), dtype=np.uint8)


@pytest.mark.parametrize(
    ("init", "pattern"),
    [
        (np.zeros((4, 5), dtype=np.float64), "float64"),
        (np.zeros((4, 5), dtype=np.float32), "float32"),
        (np.zeros((4, 5), dtype=np.complex128), "complex128"),
        (np.zeros((4, 5), dtype=object), "object"),
    ],
)
def test_bad_dtype_raises_type_error(init: np.ndarray, pattern: str) -> None:
    with pytest.raises(TypeError, match=pattern):
        simulate("B3/S23", init, 1)


@pytest.mark.parametrize("bad", [2, -1, 255])
def test_values_other_than_0_1_raise(bad: int) -> None:
    init = np.zeros((4, 5), dtype=np.int64)
    init[1, 2] = bad
    with pytest.raises(ValueError, match=re.escape(str(bad))):
        simulate("B3/S23", init, 1)


@pytest.mark.parametrize(
    ("shape", "pattern"),
    [((5,), r"1|\(5,\)"), ((2, 2, 3, 4), r"4|\(2, 2, 3, 4\)"), ((), r"0|\(\)")],
)
def test_wrong_ndim_raises(shape: tuple[int, ...], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        simulate("B3/S23", np.zeros(shape, dtype=np.uint8), 1)


@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (0, 4, 5), (2, 0, 5), (2, 4, 0)])
def test_empty_dims_raise(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=re.escape(str(shape))):
        simulate("B3/S23", np.zeros(shape, dtype=np.uint8), 1)


def test_negative_steps_raise() -> None:
    with pytest.raises(ValueError, match="-3"):
        simulate("B3/S23", GOOD, -3)


@pytest.mark.parametrize("boundary", ["mirror", "Torus", ""])
def test_bad_boundary_raises(boundary: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(boundary)) + "|torus"):
        simulate("B3/S23", GOOD, 1, boundary=boundary)


@pytest.mark.parametrize(("record", "pattern"), [(0, "0"), (-2, "-2"), ("first", "first")])
def test_bad_record_raises(record: object, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        simulate("B3/S23", GOOD, 1, record=record)


@pytest.mark.parametrize("rule", ["B9/S23", "B3/S23x", "hello", "B33/S23"])
def test_bad_rule_string_raises(rule: str) -> None:
    with pytest.raises(ValueError, match=re.escape(rule)):
        simulate(rule, GOOD, 1)


def test_bitpacked_kernel_rejects_non_totalistic_rule() -> None:
    with pytest.raises(ValueError, match="bitpacked"):
        simulate("B2-a/S12", GOOD, 1, kernel="bitpacked")


def test_unknown_kernel_raises() -> None:
    with pytest.raises(ValueError, match="fastest"):
        simulate("B3/S23", GOOD, 1, kernel="fastest")


def test_simulate_is_exported_from_package() -> None:
    import lifegym

    assert lifegym.simulate is simulate


# --------------------------------------------------------------------------------------
# Execution paths chosen by size: row-split single grids, serial and parallel batches
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("rule", ["B3/S23", "B0/S8", "B2-a/S12", "B36/S125"])
def test_row_split_path_agrees(rule: str, boundary: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """One grid split over threads (bands of rows for the bit-packed kernel, rows for the
    table kernel), normally only from 2^20 cells: forced on small odd grids by lowering the
    thresholds and the band halo; runs longer than a halo and every record mode."""
    import lifegym.sim as sim

    monkeypatch.setattr(sim, "_ROW_SPLIT_MIN_CELLS", 1)
    monkeypatch.setattr(sim, "_BAND_HALO", 3)
    table = Rule.parse(rule).table
    rng = rng_for("split", rule, boundary)
    for h, w in ((24, 3), (25, 91), (40, 64), (70, 130)):
        init = soup(rng, (h, w), 0.4)
        expected = reference_run(init, table, 11, boundary)
        for record, rows in (("all", slice(None)), (4, [0, 4, 8, 11]), ("last", [11])):
            got = simulate(rule, init, 11, boundary=boundary, record=record)
            np.testing.assert_array_equal(got, expected[rows], err_msg=f"{h}x{w} {record}")


def test_row_split_path_on_a_grid_past_the_threshold() -> None:
    """A 1024x1030 grid (over 2^20 cells) takes the split path by default."""
    rng = rng_for("big")
    init = soup(rng, (1024, 1030), 0.35)
    for rule in ("B3/S23", "B2-a/S12"):
        for boundary in BOUNDARIES:
            expected = reference_run(init, Rule.parse(rule).table, 3, boundary)
            np.testing.assert_array_equal(simulate(rule, init, 3, boundary=boundary), expected)


@pytest.mark.parametrize("serial_max", [0, 1 << 40])
@pytest.mark.parametrize("shape", [(5, 20, 20), (3, 11, 300), (70, 9, 9)])
def test_serial_and_parallel_runs_agree(
    shape: tuple[int, int, int], serial_max: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small calls run on the calling thread, large ones on all: both give the reference."""
    import lifegym.sim as sim

    monkeypatch.setattr(sim, "_SERIAL_MAX_PACKED_WORK", serial_max)
    monkeypatch.setattr(sim, "_SERIAL_MAX_TABLE_WORK", serial_max)
    rng = rng_for("serial", shape, serial_max)
    init = batch_soup(rng, *shape)
    for rule in ("B3/S23", "B2-a/S12"):
        expected = ref_batch(init, Rule.parse(rule).table, 6, "torus")
        np.testing.assert_array_equal(simulate(rule, init, 6), expected)


def _simulate_in_child(queue: object, rule: str, init: np.ndarray) -> None:
    queue.put(simulate(rule, init, 40, record="last"))  # type: ignore[attr-defined]


def test_forked_process_can_simulate_after_parent_ran_threads() -> None:
    """Vector environments fork workers: a child forked after the parent ran a parallel
    kernel must still simulate (numba's GNU OpenMP layer would kill it)."""
    import multiprocessing

    init = batch_soup(rng_for("fork"), 64, 64, 64)
    expected = simulate("B3/S23", init, 40, record="last")  # 64 grids: the parallel kernel
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_simulate_in_child, args=(queue, "B3/S23", init))
    child.start()
    got = queue.get(timeout=120)
    child.join(timeout=60)
    assert child.exitcode == 0
    np.testing.assert_array_equal(got, expected)


def test_concurrent_calls_from_threads() -> None:
    """simulate from several Python threads at once, parallel and serial paths alike."""
    from concurrent.futures import ThreadPoolExecutor

    rng = rng_for("threads")
    inits = [batch_soup(rng, n, 40, 40) for n in (64, 1, 64, 2, 64, 1)]
    expected = [simulate("B36/S23", init, 30, record="last") for init in inits]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda init: simulate("B36/S23", init, 30, record="last"), inits))
    for g, e in zip(got, expected, strict=True):
        np.testing.assert_array_equal(g, e)


def test_read_only_inputs_compile_no_other_kernel() -> None:
    """Read-only or strided inputs are other numba types: the wrappers hand the kernels
    writable C-contiguous arrays, so each kernel compiles once (CI time)."""
    import lifegym.sim as sim

    world = (6, 7)
    init = (np.random.default_rng(0).random((1, *world)) < 0.5).astype(np.uint8)
    packed = sim.pack_frames(init, world)
    mask = sim.pack_frames(np.ones((1, *world), dtype=np.uint8), world)[0]
    times = np.arange(1, 4)
    observed = np.stack(
        [sim.pack_frames(sim.simulate(Rule.parse("B3/S23"), init[0], 3)[1:], world)]
    )
    for writable in (True, False):
        mask_in, times_in = mask.copy(), times.copy()
        mask_in.setflags(write=writable)
        times_in.setflags(write=writable)
        sim.count_mismatches(Rule.parse("B36/S23"), packed, world[1], times_in, observed, mask_in)
        sim.same_observations(
            Rule.parse("B3/S23"), Rule.parse("B36/S23"), packed, world[1], times_in, mask_in
        )
    assert len(sim._mismatch_blocks.signatures) == 1
    assert len(sim._agreeing.signatures) == 1
