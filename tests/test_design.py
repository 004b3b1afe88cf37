"""Designed initial conditions (lifegym.design) and the analytic bounds (lifegym.bounds)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym.bounds import capacity_bound, sighting_bound
from lifegym.design import class_counts, covered_demand, design_cells, probe_cells
from lifegym.families import get_family


def numpy_patterns(grid: np.ndarray) -> np.ndarray:
    """Independent: the 3x3 pattern index of every cell of a torus, with np.roll."""
    index = np.zeros(grid.shape, dtype=np.int64)
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            bit = 8 - (3 * (dr + 1) + (dc + 1))
            index |= np.roll(grid, (-dr, -dc), axis=(0, 1)).astype(np.int64) << bit
    return index


@settings(max_examples=40, deadline=None)
@given(
    st.integers(3, 12),
    st.integers(3, 12),
    st.integers(0, 2**32 - 1),
    st.sampled_from(["totalistic", "isotropic", "free"]),
)
def test_class_counts_match_an_independent_count(height, width, seed, family_name):
    rng = np.random.default_rng(seed)
    grid = (rng.random((height, width)) < rng.random()).astype(np.uint8)
    family = get_family(family_name)
    classes = np.asarray(family.orbit_of, dtype=np.int64)
    rows, cols = int(rng.integers(1, height + 1)), int(rng.integers(1, width + 1))
    expected = np.bincount(
        classes[numpy_patterns(grid)[:rows, :cols]].ravel(), minlength=family.n_bits
    )
    got = class_counts(grid, classes, family.n_bits, (rows, cols))
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=15, deadline=None)
@given(st.integers(3, 9), st.integers(3, 9), st.integers(0, 2**32 - 1))
def test_design_reports_what_its_grid_shows(height, width, seed):
    """The annealer's incremental bookkeeping: the grid it returns covers at least what a
    random start did, counted independently."""
    family = get_family("totalistic")
    classes = np.asarray(family.orbit_of, dtype=np.int64)
    rng = np.random.default_rng(seed)
    demand = rng.integers(0, 6, family.n_bits).astype(float)
    start = (rng.random((height, width)) < 0.5).astype(np.uint8)
    grid = design_cells(classes, demand, (height, width), rng, start=start, sweeps=20)
    assert grid.shape == (height, width) and grid.dtype == np.uint8
    assert set(np.unique(grid)) <= {0, 1}
    before = covered_demand(class_counts(start, classes, family.n_bits), demand)
    after = covered_demand(class_counts(grid, classes, family.n_bits), demand)
    assert after >= before


def test_a_14x14_design_shows_every_bs_class_seven_times():
    """196 cells can show each of the 18 classes 7 times (docs/background.md)."""
    family = get_family("totalistic")
    classes = np.asarray(family.orbit_of, dtype=np.int64)
    demand = np.full(family.n_bits, 7.0)
    grid = design_cells(classes, demand, (14, 14), np.random.default_rng(0), sweeps=200)
    assert (class_counts(grid, classes, family.n_bits) >= 7).all()


def test_design_counts_only_the_region():
    family = get_family("totalistic")
    classes = np.asarray(family.orbit_of, dtype=np.int64)
    demand = np.zeros(family.n_bits)
    demand[family.bit_names.index("B0")] = 100.0
    grid = design_cells(classes, demand, (8, 8), np.random.default_rng(1), region=(4, 4))
    assert class_counts(grid, classes, family.n_bits, (4, 4))[0] == 16  # every region cell


def test_design_is_deterministic_given_the_generator():
    classes = np.asarray(get_family("totalistic").orbit_of, dtype=np.int64)
    demand = np.full(18, 3.0)
    a = design_cells(classes, demand, (9, 9), np.random.default_rng(5))
    b = design_cells(classes, demand, (9, 9), np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"shape": (2, 5)}, "integers >= 3"),
        ({"shape": (5,)}, "integers >= 3"),
        ({"region": (9, 2)}, "must fit"),
        ({"weight": np.ones(3)}, "weight"),
        ({"classes": np.zeros(10, dtype=np.int64)}, "512"),
        ({"start": np.zeros((4, 4))}, "start"),
    ],
)
def test_design_arguments_are_checked(kwargs, message):
    arguments = {
        "classes": np.asarray(get_family("totalistic").orbit_of, dtype=np.int64),
        "demand": np.ones(18),
        "shape": (6, 6),
        "rng": np.random.default_rng(0),
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        design_cells(**arguments)


@pytest.mark.parametrize("family_name", ["totalistic", "isotropic"])
def test_probes_are_fixed_read_only_and_dense_in_their_bit(family_name):
    family = get_family(family_name)
    for bit in range(0, family.n_bits, max(1, family.n_bits // 12)):
        probe = probe_cells(family, bit, (6, 6))
        assert not probe.flags.writeable
        target = (np.asarray(family.orbit_of) == bit).astype(np.int64) - 1
        # A 6x6 torus can hold at least 4 disjoint copies of any 3x3 pattern.
        assert class_counts(probe, target, 1)[0] >= 4, family.bit_names[bit]
    assert probe_cells(family, 1, (6, 6)) is probe_cells(family_name, 1, (6, 6))
    with pytest.raises(ValueError, match="bit must be"):
        probe_cells(family, family.n_bits, (6, 6))


# ------------------------------------------------------------------------------ bounds


def _h2(p: float) -> float:
    return 0.0 if p in (0.0, 1.0) else -(p * math.log2(p) + (1 - p) * math.log2(1 - p))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 120), st.floats(0.001, 0.3), st.floats(0.01, 1.0))
def test_sighting_bound_is_the_fewest_balanced_sightings(n_free, flip, target):
    bound = sighting_bound(n_free, flip, target)
    log_odds = math.log((1 - flip) / flip)

    def left(k: float) -> float:
        return _h2(1 / (1 + math.exp(k * log_odds)))

    k, j = divmod(bound, n_free)
    assert (n_free - j) * left(k) + j * left(k + 1) <= target + 1e-9
    if bound:  # one sighting fewer, spread as evenly as possible, leaves too much
        k, j = divmod(bound - 1, n_free)
        assert (n_free - j) * left(k) + j * left(k + 1) > target


def test_bounds_of_the_bs_family_under_five_percent_noise():
    assert sighting_bound(18, 0.05, 0.1) == 52
    assert capacity_bound(18, 0.05, 0.1) == 26
    assert sighting_bound(18, 0.0, 0.1) == capacity_bound(18, 0.0, 0.0) == 18
    with pytest.raises(ValueError, match="flip"):
        sighting_bound(18, 0.5)
