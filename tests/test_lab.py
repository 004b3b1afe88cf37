"""The lab (lifegym.lab): costs, budgets, run_array validation, determinism."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifegym.experiments import Experiment, default_menu
from lifegym.lab import BudgetError, Lab
from lifegym.observe import ObservationModel, full, noisy, stats, strided, window
from lifegym.rules import Rule
from lifegym.sim import simulate

LIFE = Rule.parse("B3/S23")
WORLD = (20, 24)
SOUP16 = Experiment("soup-0.50x16", "soup", 16, density=0.5)
FULL = full()
SOUP2 = Experiment("soup-0.50x2", "soup", 2, density=0.5)


def make_lab(
    model: ObservationModel = FULL,
    experiment_budget: int = 10**9,
    compute_budget: int = 10**9,
    seed: int = 0,
    world: tuple[int, int] = WORLD,
    rule: Rule = LIFE,
) -> Lab:
    return Lab(rule, model, world, experiment_budget, compute_budget, np.random.default_rng(seed))


def lab_state(lab: Lab) -> tuple:
    return (
        lab.experiment_spent,
        lab.compute_spent,
        len(lab.trajectories),
        copy.deepcopy(lab.rng.bit_generator.state),
    )


# ------------------------------------------------------------------------------ costs


@pytest.mark.parametrize(
    ("model", "steps", "cells", "frames"),
    [
        (full(), 16, 20 * 24, 16),
        (full(), 1, 20 * 24, 1),
        (noisy(0.1), 5, 20 * 24, 5),
        (strided(3), 10, 20 * 24, 3),
        (strided(3), 2, 20 * 24, 0),
        (window(7, 9), 4, 63, 4),
        (window(7, 9) + strided(2), 5, 63, 2),
        (stats(0.3) + strided(4), 16, 20 * 24, 4),
    ],
)
def test_cost_is_observed_cells_times_observed_frames(model, steps, cells, frames):
    lab = make_lab(model)
    assert lab.observation_cost(steps) == cells * frames
    if frames == 0:
        return
    trajectory = lab.run(Experiment("s", "soup", steps, density=0.4))
    assert trajectory.cost == cells * frames
    assert lab.experiment_spent == cells * frames
    assert lab.experiment_left == 10**9 - cells * frames
    assert len(trajectory.times) == frames
    assert trajectory.simulation_cost == 20 * 24 * steps
    assert lab.replay_cost() == 20 * 24 * steps
    assert lab.compute_spent == 0  # experiments never charge the compute budget


def test_costs_add_up_over_experiments():
    lab = make_lab(noisy(0.05) + window(10, 10))
    menu = default_menu()
    for item in menu[:6]:
        lab.run(item)
    assert lab.experiment_spent == sum(100 * item.steps for item in menu[:6])
    assert lab.experiment_spent == sum(t.cost for t in lab.trajectories)
    assert lab.replay_cost() == sum(20 * 24 * item.steps for item in menu[:6])
    assert [t.experiment for t in lab.trajectories] == [item.name for item in menu[:6]]


# ---------------------------------------------------------------------------- budgets


def test_budget_error_is_a_value_error():
    assert issubclass(BudgetError, ValueError)


def test_experiment_budget_is_enforced_and_a_refused_experiment_changes_nothing():
    budget = 20 * 24 * 16 + 20 * 24 * 2  # one x16 and one x2
    lab = make_lab(experiment_budget=budget)
    lab.run(SOUP16)
    before = lab_state(lab)
    with pytest.raises(BudgetError, match=str(20 * 24 * 2)):
        lab.run(SOUP16)
    with pytest.raises(BudgetError):
        lab.run_array(np.zeros(WORLD, dtype=np.uint8), 3)
    assert lab_state(lab) == before
    lab.run(SOUP2)  # exactly what is left
    assert lab.experiment_left == 0
    before = lab_state(lab)
    with pytest.raises(BudgetError):
        lab.run(Experiment("one", "soup", 1))
    assert lab_state(lab) == before


def test_a_refused_experiment_does_not_change_later_draws():
    """The rng is not touched by a refused experiment: what follows is the same."""
    a = make_lab(experiment_budget=20 * 24 * 4, seed=3)
    b = make_lab(experiment_budget=20 * 24 * 4, seed=3)
    with pytest.raises(BudgetError):
        a.run(SOUP16)
    ta, tb = a.run(SOUP2), b.run(SOUP2)
    np.testing.assert_array_equal(ta.initial, tb.initial)
    np.testing.assert_array_equal(ta.frames, tb.frames)


def test_compute_budget():
    lab = make_lab(compute_budget=1000)
    lab.charge_compute(400)
    assert (lab.compute_spent, lab.compute_left) == (400, 600)
    with pytest.raises(BudgetError, match="601"):
        lab.charge_compute(601)
    assert lab.compute_spent == 400
    lab.charge_compute(600)
    assert lab.compute_left == 0
    lab.charge_compute(0)
    with pytest.raises(BudgetError):
        lab.charge_compute(1)
    assert lab.experiment_spent == 0


def test_zero_budgets_are_allowed_but_pay_for_nothing():
    lab = make_lab(experiment_budget=0, compute_budget=0)
    with pytest.raises(BudgetError):
        lab.run(SOUP2)
    with pytest.raises(BudgetError):
        lab.charge_compute(1)
    assert lab.trajectories == []


@pytest.mark.parametrize("budget", [-1, 1.5, "100", True, None])
@pytest.mark.parametrize("which", ["experiment_budget", "compute_budget"])
def test_bad_budgets_are_rejected(which, budget):
    kwargs = {"experiment_budget": 100, "compute_budget": 100, which: budget}
    with pytest.raises(ValueError, match=which):
        make_lab(**kwargs)


def test_window_larger_than_world_is_rejected():
    with pytest.raises(ValueError, match="30x10"):
        make_lab(window(30, 10))


@settings(max_examples=30, deadline=None)
@given(
    steps=st.lists(st.integers(1, 6), min_size=1, max_size=6),
    budget=st.integers(0, 3000),
    k=st.integers(1, 3),
)
def test_spending_never_exceeds_the_budget(steps, budget, k):
    lab = Lab(LIFE, strided(k), (8, 9), budget, 0, np.random.default_rng(0))
    for s in steps:
        cost = lab.observation_cost(s)
        before = lab.experiment_spent
        if cost <= lab.experiment_left:
            lab.run(Experiment("s", "soup", s))
            assert lab.experiment_spent == before + cost
        else:
            with pytest.raises(BudgetError):
                lab.run(Experiment("s", "soup", s))
            assert lab.experiment_spent == before
        assert 0 <= lab.experiment_spent <= budget


# ------------------------------------------------------------------------- run_array


def test_run_array_runs_the_given_initial_condition():
    rng = np.random.default_rng(4)
    initial = (rng.random(WORLD) < 0.4).astype(np.uint8)
    lab = make_lab()
    trajectory = lab.run_array(initial, 5)
    assert trajectory.experiment == "custom"
    assert trajectory.steps == 5
    np.testing.assert_array_equal(trajectory.initial, initial)
    np.testing.assert_array_equal(trajectory.frames, simulate(LIFE, initial, 5)[1:])
    assert trajectory.cost == 20 * 24 * 5
    # the lab keeps its own read-only copy
    initial[:] = 0
    assert trajectory.initial.any()
    assert not trajectory.initial.flags.writeable
    with pytest.raises(ValueError):
        trajectory.initial[0, 0] = 1


@pytest.mark.parametrize("dtype", [bool, np.int64, np.uint8, np.int8])
def test_run_array_accepts_bool_and_integer_cells(dtype):
    initial = np.zeros(WORLD, dtype=dtype)
    initial[5, 5:8] = 1
    trajectory = make_lab().run_array(initial, 2)
    assert trajectory.initial.dtype == np.uint8
    assert trajectory.frames[0].sum() == 3  # a blinker


@pytest.mark.parametrize(
    ("initial", "error", "message"),
    [
        (np.zeros((20, 25), dtype=np.uint8), ValueError, r"20x25 is outside.*3\.\.24"),
        (np.zeros((24, 20), dtype=np.uint8), ValueError, r"24x20 is outside.*3\.\.20"),
        (np.zeros((2, 20), dtype=np.uint8), ValueError, r"2x20 is outside.*3\.\.20"),
        (np.zeros((1, 20, 24), dtype=np.uint8), ValueError, "shape"),
        (np.zeros(480, dtype=np.uint8), ValueError, "shape"),
        (np.zeros(WORLD, dtype=np.float64), TypeError, "float64"),
        (np.full(WORLD, 2, dtype=np.uint8), ValueError, "2"),
        (np.full(WORLD, -1, dtype=np.int64), ValueError, "-1"),
    ],
)
def test_run_array_validates_the_initial_condition(initial, error, message):
    lab = make_lab()
    before = lab_state(lab)
    with pytest.raises(error, match=message):
        lab.run_array(initial, 3)
    assert lab_state(lab) == before


@pytest.mark.parametrize("steps", [0, -2, 1.0, True, "3", None])
def test_run_array_validates_steps(steps):
    lab = make_lab()
    before = lab_state(lab)
    with pytest.raises(ValueError, match="steps"):
        lab.run_array(np.zeros(WORLD, dtype=np.uint8), steps)
    assert lab_state(lab) == before


def test_run_array_accepts_numpy_integer_steps():
    trajectory = make_lab().run_array(np.zeros(WORLD, dtype=np.uint8), np.int32(3))
    assert trajectory.steps == 3
    assert type(trajectory.steps) is int


# ----------------------------------------------------------------------- trajectories


@pytest.mark.parametrize("model", [full(), window(8, 11), strided(2) + window(8, 11)])
def test_noise_free_trajectory_shows_the_hidden_rule(model):
    lab = make_lab(model, rule=Rule.parse("B36/S125"))
    trajectory = lab.run(Experiment("s", "soup", 6, density=0.35))
    clean = simulate(Rule.parse("B36/S125"), trajectory.initial, 6)
    h, w = model.region(*WORLD)
    np.testing.assert_array_equal(trajectory.times, model.observed_times(6))
    np.testing.assert_array_equal(trajectory.frames, clean[trajectory.times, :h, :w])
    assert trajectory.stats is None
    assert trajectory.initial.shape == WORLD  # always the whole world
    assert trajectory.world_shape == WORLD
    assert trajectory.model is model


def test_stats_trajectory_has_no_frames():
    lab = make_lab(stats(0.3))
    trajectory = lab.run(SOUP16)
    assert trajectory.frames is None
    assert trajectory.stats.shape == (16, 3)


# ------------------------------------------------------------------------ determinism


@pytest.mark.parametrize("model", [noisy(0.1), stats(0.4), noisy(0.05) + strided(2) + window(9, 9)])
def test_same_seed_same_trajectories(model):
    menu = default_menu()
    labs = [make_lab(model, seed=21), make_lab(model, seed=21), make_lab(model, seed=22)]
    runs = [[lab.run(item) for item in menu[:8]] for lab in labs]
    for a, b in zip(runs[0], runs[1], strict=True):
        np.testing.assert_array_equal(a.initial, b.initial)
        np.testing.assert_array_equal(a.times, b.times)
        if model.stats_sigma is None:
            np.testing.assert_array_equal(a.frames, b.frames)
        else:
            np.testing.assert_array_equal(a.stats, b.stats)
    assert any(
        not np.array_equal(a.initial, c.initial) for a, c in zip(runs[0], runs[2], strict=True)
    )
