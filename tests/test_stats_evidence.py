"""What statistics reveal per bit (lifegym.agents.evidence: stats_shifts, StatsLedger) and
the agents and engine that use it on lifegym/Isotropic-Stats-v1."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import make_agent
from lifegym.agents.base import run_episode
from lifegym.agents.evidence import (
    STATS_DESIGN_SIDES,
    StatsLedger,
    free_classes,
    stats_designs,
    stats_shifts,
    stats_variances,
)
from lifegym.design import class_counts, probe_cells
from lifegym.observe import frame_statistics, stats
from lifegym.sim import simulate
from lifegym.types import RuleSpace


@settings(max_examples=30, deadline=None)
@given(
    st.sampled_from(["totalistic", "isotropic", "hex", "free"]),
    st.integers(3, 10),
    st.integers(3, 10),
    st.integers(0, 2**32 - 1),
)
def test_a_bit_moves_density_and_activity_by_its_shift(family, height, width, seed):
    """Flipping free bit b changes the first step's clean density and activity by exactly
    the shifts stats_shifts states (no perturbation: q -> 0 as sigma -> 0)."""
    rng = np.random.default_rng(seed)
    space = RuleSpace.of(family)
    model = stats(1e-6)
    initial = (rng.random((height, width)) < rng.random()).astype(np.uint8)
    values = (rng.random(space.n_free) < 0.5).astype(np.uint8)
    bit = int(rng.integers(space.n_free))
    shifts = stats_shifts(initial, space, model)
    observed = []
    for value in (0, 1):
        values[bit] = value
        frames = simulate(space.rule(values), initial, 1)
        observed.append(frame_statistics(initial, frames[1:], wrap=True)[0, :2])
    np.testing.assert_allclose(observed[1] - observed[0], shifts[bit], atol=1e-9)


def test_ledger_keeps_bits_seen_only_together_uncertain():
    """Two bits seen in equal numbers in every experiment cannot be told apart by sums:
    the ledger keeps both uncertain (the engine's local marginals may not) until a probe of
    one of them is folded in."""
    env = gym.make("lifegym/LifeLike-Stats-v1", design=True).unwrapped
    env.reset(seed=0, options={"rule": "B3/S23"})
    space, model = env.space, env.model
    b2, b3 = space.free_names.index("B2"), space.free_names.index("B3")
    rng = np.random.default_rng(0)
    together = None
    for _ in range(5000):  # a small soup whose dead cells see 2 and 3 neighbours equally
        grid = (rng.random((6, 6)) < 0.3).astype(np.uint8)
        shifts = stats_shifts(grid, space, model)
        if shifts[b2, 0] > 0 and np.isclose(shifts[b2, 0], shifts[b3, 0]):
            together = grid
            break
    assert together is not None
    ledger = StatsLedger(space, model)
    for _ in range(3):
        env.step(env.design_action(together, 1))
    ledger.update(env.trajectories)
    before = ledger.entropy()
    assert before[b2] > 0.5 and before[b3] > 0.5
    probe = np.array(probe_cells(space.family, int(space.free_bits[b2]), (6, 6)))
    shifts = stats_shifts(probe, space, model)[None]
    variances = stats_variances(probe, simulate(env.lab.hidden_rule, probe, 1)[1], model)[None]
    share = ledger.shares(shifts, variances, before)[0]
    assert share[b2] > 0.9 and share[b3] > 0  # settles B2, and so helps B3 apart from it
    env.step(env.design_action(probe, 1))
    ledger.update(env.trajectories)
    after = ledger.entropy()
    assert after[b2] < 0.05 and after[b3] < before[b3]


def test_stats_designs_hold_their_bit_on_each_allowed_size():
    space = RuleSpace.of("isotropic")
    model = stats(0.3)
    bit = space.free_names.index("S6n")
    uncertainty = np.ones(space.n_free)
    rng = np.random.default_rng(0)
    designs = stats_designs(space, model, bit, uncertainty, (5, 5), (10, 10), rng)
    shapes = [cells.shape for cells in designs]
    assert shapes == [(5, 5), (6, 6), (9, 9), (10, 10)]  # 4 raised to 5, 12 clipped to 10
    assert len(shapes) == len(STATS_DESIGN_SIDES)
    for cells in designs:
        counts = class_counts(cells, free_classes(space), space.n_free)
        assert counts[bit] >= 0.1 * cells.size  # S6n is rare in soups (under 1%)


def test_linear_start_solves_a_round_of_probes():
    """After one probe of every bit, the engine's linear system determines the bits it
    claims to, with the hidden values (signs of births and survivals, known bits)."""
    env = gym.make(
        "lifegym/RuleDiscovery-v1",
        family="totalistic",
        sigma=0.3,
        inference="search-pairs",
        design=True,
        known={"B0": 0},
    ).unwrapped
    env.reset(seed=2, options={"rule": "B36/S23"})
    space = env.space
    for bit in space.free_bits:
        env.step(env.design_action(probe_cells(space.family, int(bit), (6, 6)), 1))
    engine = env._engine
    covariance = np.linalg.inv(engine._normal)
    solution = covariance @ engine._rhs
    determined = np.diag(covariance) < 0.25**2
    truth = space.free_values(env.lab.hidden_rule)
    assert determined.sum() >= 6  # a 6x6 probe mixes its bit with others
    assert np.array_equal(solution[determined] > 0.5, truth[determined].astype(bool))
    assert env.belief.map_rule == env.lab.hidden_rule


def test_infogain_identifies_an_isotropic_rule_from_statistics():
    """Isotropic-Stats-v1 with designs: probes, the ledger and the search-pairs engine
    settle a random rule (the oracle plays it in test_agents and the leaderboard)."""
    env = gym.make("lifegym/Isotropic-Stats-v1", design=True)
    assert env.unwrapped.inference == "search-pairs"
    row = run_episode(env, make_agent("infogain", env), None, seed=1)
    assert row["exact"] and row["behavioural_match"] and row["belief_entropy"] <= 0.1, row


@pytest.mark.parametrize(("design", "seed"), [(True, 3475033624), (False, 5012)])
def test_oracle_gets_the_search_engine_out_of_compensating_errors(design: bool, seed: int):
    """Episodes where the search-pairs engine's MAP sat on compensating wrong bits (held by
    tens of nats, the truth 20-70 nats better) while the oracle kept buying soups until it
    gave up: its flip planner now buys the evidence that makes the engine's climb flip
    them, and the episode is identified well within the step limit."""
    env = gym.make("lifegym/Isotropic-Stats-v1", design=design)
    row = run_episode(env, make_agent("oracle", env), None, seed=seed)
    assert row["identified"] and row["steps"] < 200, row
