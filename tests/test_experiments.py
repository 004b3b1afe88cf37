"""The experiment menu (lifegym.experiments): validation, initial conditions, determinism, and
the env's checks of a menu."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym.env import RuleDiscoveryEnv
from lifegym.experiments import (
    DEFAULT_DENSITIES,
    DEFAULT_WORLD,
    PATTERNS,
    Experiment,
    default_menu,
    initial_condition,
)

# ------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "blob"}, "'blob'"),
        ({"kind": "Soup"}, "'Soup'"),
        ({"steps": 0}, "0"),
        ({"steps": -3}, "-3"),
        ({"steps": 1.0}, "1.0"),
        ({"steps": True}, "True"),
        ({"steps": "4"}, "'4'"),
        ({"density": 1.5}, "1.5"),
        ({"density": -0.1}, "-0.1"),
        ({"density": float("nan")}, "nan"),
        ({"kind": "patch", "patch": 0}, "0"),
        ({"kind": "patch", "patch": 2.5}, "2.5"),
        ({"kind": "pattern", "pattern": "spaceship"}, "'spaceship'"),
        ({"kind": "pattern"}, "''"),
        # wrong types must be refused here, not crash initial_condition later
        ({"density": "0.5"}, "'0.5'"),
        ({"density": None}, "None"),
        ({"kind": "patch", "patch": True}, "True"),
    ],
)
def test_experiment_validation_names_the_bad_value(kwargs, message):
    arguments = {"name": "x", "kind": "soup", "steps": 4, **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        Experiment(**arguments)


def test_unknown_pattern_error_lists_the_known_ones():
    with pytest.raises(ValueError, match="glider"):
        Experiment("x", "pattern", 4, pattern="nope")


@pytest.mark.parametrize(
    ("experiment", "world"),
    [
        (Experiment("p", "patch", 4, patch=9), (8, 20)),
        (Experiment("p", "patch", 4, patch=9), (20, 8)),
        (Experiment("g", "pattern", 4, pattern="glider"), (2, 10)),
        (Experiment("b", "pattern", 4, pattern="blinker"), (5, 2)),
    ],
)
def test_experiment_that_does_not_fit_the_world(experiment, world):
    with pytest.raises(ValueError, match=re.escape(f"{world[0]}x{world[1]}")):
        experiment.check_world(*world)
    with pytest.raises(ValueError, match=experiment.name):
        initial_condition(experiment, world, np.random.default_rng(0))


def test_experiment_that_just_fits():
    Experiment("p", "patch", 4, patch=9).check_world(9, 9)
    grid = initial_condition(
        Experiment("b", "pattern", 4, pattern="blinker"), (1, 3), np.random.default_rng(0)
    )
    np.testing.assert_array_equal(grid, [[1, 1, 1]])


# ------------------------------------------------------------------------ default menu


def test_default_menu():
    menu = default_menu()
    names = [item.name for item in menu]
    assert len(names) == len(set(names))
    soups = [item for item in menu if item.kind == "soup"]
    assert {item.density for item in soups} == set(DEFAULT_DENSITIES)
    assert {item.steps for item in soups} == {2, 16}
    assert len(soups) == 2 * len(DEFAULT_DENSITIES)
    assert {item.pattern for item in menu if item.kind == "pattern"} == set(PATTERNS)
    assert len([item for item in menu if item.kind == "patch"]) == 3
    assert "soup-0.50x16" in names
    assert "soup-0.50x2" in names
    assert "gliderx16" in names
    assert all(isinstance(item, Experiment) for item in menu)
    for item in menu:
        item.check_world(*DEFAULT_WORLD)


def test_default_menu_arguments():
    menu = default_menu(densities=(0.3,), soup_steps=(5,), patch_densities=(), patterns=("cell",))
    assert [item.name for item in menu] == ["soup-0.30x5", "cellx16"]
    with pytest.raises(ValueError, match="nope"):
        default_menu(patterns=("nope",))


def test_patterns_are_read_only_cells():
    for name, cells in PATTERNS.items():
        assert cells.dtype == np.uint8, name
        assert set(np.unique(cells).tolist()) <= {0, 1}
        assert cells.any()
        assert not cells.flags.writeable


# ------------------------------------------------------------------ initial conditions


@pytest.mark.parametrize("density", [0.05, 0.3, 0.5, 0.95])
def test_soup_density(density):
    shape = (300, 310)
    grid = initial_condition(
        Experiment("s", "soup", 2, density=density), shape, np.random.default_rng(1)
    )
    assert grid.shape == shape
    assert grid.dtype == np.uint8
    n = grid.size
    assert abs(grid.mean() - density) < 5 * math.sqrt(density * (1 - density) / n)
    # no spatial structure: the four quadrants agree
    for quadrant in (grid[:150, :155], grid[150:, 155:]):
        sigma = math.sqrt(density * (1 - density) / quadrant.size)
        assert abs(quadrant.mean() - density) < 5 * sigma


@pytest.mark.parametrize(("density", "value"), [(0.0, 0), (1.0, 1)])
def test_soup_extreme_densities(density, value):
    grid = initial_condition(
        Experiment("s", "soup", 2, density=density), (13, 17), np.random.default_rng(2)
    )
    assert np.all(grid == value)


@pytest.mark.parametrize(
    ("shape", "side"), [((20, 21), 6), ((21, 20), 7), ((9, 9), 9), ((8, 30), 3)]
)
def test_patch_is_centred(shape, side):
    full_patch = Experiment("p", "patch", 4, density=1.0, patch=side)
    grid = initial_condition(full_patch, shape, np.random.default_rng(3))
    top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
    expected = np.zeros(shape, dtype=np.uint8)
    expected[top : top + side, left : left + side] = 1
    np.testing.assert_array_equal(grid, expected)
    assert grid.dtype == np.uint8


def test_patch_soup_stays_inside_the_patch_at_its_density():
    shape, side, density = (40, 41), 30, 0.3
    experiment = Experiment("p", "patch", 4, density=density, patch=side)
    grid = initial_condition(experiment, shape, np.random.default_rng(4))
    top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
    inside = grid[top : top + side, left : left + side]
    assert grid.sum() == inside.sum()
    assert abs(inside.mean() - density) < 5 * math.sqrt(density * (1 - density) / inside.size)


@pytest.mark.parametrize("name", list(PATTERNS))
@pytest.mark.parametrize("shape", [(11, 12), (12, 11), (7, 7)])
def test_pattern_is_placed_in_the_middle(name, shape):
    pattern = PATTERNS[name]
    grid = initial_condition(
        Experiment("x", "pattern", 4, pattern=name), shape, np.random.default_rng(5)
    )
    top = (shape[0] - pattern.shape[0]) // 2
    left = (shape[1] - pattern.shape[1]) // 2
    expected = np.zeros(shape, dtype=np.uint8)
    expected[top : top + pattern.shape[0], left : left + pattern.shape[1]] = pattern
    np.testing.assert_array_equal(grid, expected)
    assert grid.flags.writeable  # a fresh array, not the shared pattern


def test_pattern_condition_needs_no_randomness():
    rng = np.random.default_rng(6)
    state = rng.bit_generator.state
    initial_condition(Experiment("g", "pattern", 4, pattern="glider"), (9, 9), rng)
    assert rng.bit_generator.state == state


@settings(max_examples=40, deadline=None)
@given(
    index=st.integers(0, len(default_menu()) - 1),
    height=st.integers(9, 40),
    width=st.integers(9, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_initial_conditions_are_deterministic_given_the_generator(index, height, width, seed):
    experiment = default_menu()[index]
    a = initial_condition(experiment, (height, width), np.random.default_rng(seed))
    b = initial_condition(experiment, (height, width), np.random.default_rng(seed))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (height, width)
    assert a.dtype == np.uint8
    assert set(np.unique(a).tolist()) <= {0, 1}


def test_different_seeds_give_different_soups():
    experiment = Experiment("s", "soup", 2, density=0.5)
    a = initial_condition(experiment, (30, 30), np.random.default_rng(7))
    b = initial_condition(experiment, (30, 30), np.random.default_rng(8))
    assert not np.array_equal(a, b)


# ------------------------------------------------------------------- menus in the env


def test_env_rejects_an_empty_menu():
    with pytest.raises(ValueError, match="empty menu"):
        RuleDiscoveryEnv(world=(20, 20), menu=[])


def test_env_rejects_duplicate_names():
    item = Experiment("same", "soup", 2)
    with pytest.raises(ValueError, match="'same'"):
        RuleDiscoveryEnv(world=(20, 20), menu=[item, Experiment("same", "soup", 4)])


def test_env_rejects_non_experiments():
    with pytest.raises(ValueError, match="'soup'"):
        RuleDiscoveryEnv(world=(20, 20), menu=["soup"])


def test_env_rejects_items_that_do_not_fit_the_world():
    with pytest.raises(ValueError, match="'big'"):
        RuleDiscoveryEnv(world=(20, 20), menu=[Experiment("big", "patch", 4, patch=21)])


def test_env_rejects_items_shorter_than_the_stride():
    menu = [Experiment("short", "soup", 2), Experiment("long", "soup", 4)]
    with pytest.raises(ValueError, match="'short'"):
        RuleDiscoveryEnv(world=(20, 20), menu=menu, stride=3, inference="exhaustive")


def test_env_menu_layout_and_costs():
    menu = [Experiment("a", "soup", 3), Experiment("b", "pattern", 5, pattern="glider")]
    env = RuleDiscoveryEnv(world=(20, 20), menu=menu, window=(10, 12))
    assert env.menu == tuple(menu)
    assert env.action_space.n == 2 + 18 + 2
    assert env.item_costs.tolist() == [120 * 3, 120 * 5]
    env.reset(seed=0)
    assert env.describe_action(0) == "request a"
    assert env.describe_action(1) == "request b"
    assert env.describe_action(2) == "test B0"
    assert env.describe_action(env.test_map_action) == "test MAP"
    assert env.describe_action(env.submit_action) == "submit"
