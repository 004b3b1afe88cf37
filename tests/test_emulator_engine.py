"""The ``emulator`` inference engine inside the env."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from examples import first_rule
from gymnasium.utils.env_checker import check_env

import lifegym  # noqa: F401  (registers the ids)
from lifegym.inference import make_engine
from lifegym.inference.emulator import EmulatorEngine, climb_components, pattern_counts
from lifegym.likelihood import compare, statistics_loglik
from lifegym.observe import ObservationModel
from lifegym.registration import PRESETS
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace, VisibleTrajectory


def _trajectory(rule: str, model: ObservationModel, seed: int = 0) -> VisibleTrajectory:
    rng = np.random.default_rng(seed)
    initial = (rng.random((40, 40)) < 0.5).astype(np.uint8)
    times, frames, stats = model.observe(simulate(rule, initial, 8), rng)
    return VisibleTrajectory("custom", initial, 8, times, frames, stats, model, 0)


def test_pattern_counts_cover_every_seen_transition() -> None:
    model = ObservationModel()
    trajectory = _trajectory("B3/S23", model)
    counts = pattern_counts(trajectory)
    assert counts.shape == (2, 2, 512)
    assert counts[0, 0].sum() == 40 * 40  # from the exact initial condition
    assert counts[1, 0].sum() == 7 * 40 * 40  # between observed frames
    assert (counts[:, 1] <= counts[:, 0]).all()
    windowed = pattern_counts(_trajectory("B3/S23", ObservationModel(window=(10, 12))))
    assert windowed[0, 0].sum() == 10 * 12  # first step: the whole window
    assert windowed[1, 0].sum() == 7 * 8 * 10  # then its interior


@pytest.mark.parametrize("rule", ["B3/S23", "B36/S23", "B2/S", "B1357/S1357"])
def test_full_observation_identifies_the_rule(rule: str) -> None:
    engine = make_engine("emulator", RuleSpace.of("totalistic"), ObservationModel())
    engine.update(_trajectory(rule, ObservationModel()))
    belief = engine.belief()
    assert str(belief.map_rule) == str(Rule.parse(rule))
    assert belief.p_one.shape == belief.determined.shape == (18,)


def test_isotropic_family_uses_p4m() -> None:
    engine = EmulatorEngine(RuleSpace.of("isotropic"), ObservationModel())
    assert engine.emulator.symmetry == "p4m"
    engine.update(_trajectory("B2-a/S12", ObservationModel()))
    assert engine.belief().map_rule == Rule.parse("B2-a/S12")


def test_statistics_observation_climbs_to_a_local_optimum() -> None:
    model = ObservationModel(stats_sigma=0.3)
    space = RuleSpace.of("totalistic")
    engine = EmulatorEngine(space, model)
    for seed in range(2):
        engine.update(_trajectory("B3/S23", model, seed))
    belief = engine.belief()
    found = compare(belief.map_rule, engine.trajectories).loglik
    values = space.free_values(belief.map_rule)
    for i in range(space.n_free):  # no single component flip explains the statistics better
        flipped = values.copy()
        flipped[i] ^= 1
        assert compare(space.rule(flipped), engine.trajectories).loglik <= found
        assert (engine.climb_log_odds[i] > 0) == bool(values[i])
    assert engine.emulator.extract("totalistic")[0] == belief.map_rule  # taught back
    assert belief.determined.all()


def test_climb_from_one_flip_away_returns_to_the_rule() -> None:
    space = RuleSpace.of("totalistic")
    model = ObservationModel(stride=2)
    trajectories = [_trajectory("B36/S23", model, seed) for seed in range(2)]
    truth = space.free_values(Rule.parse("B36/S23"))
    for i in (0, 3, 9, 17):
        start = truth.copy()
        start[i] ^= 1
        values, key = climb_components(space, start, np.arange(18), trajectories)
        assert np.array_equal(values, truth)
        assert key == (0.0, -0.0)


def test_component_test_compares_statistics() -> None:
    model = ObservationModel(noise=0.05)
    engine = EmulatorEngine(RuleSpace.of("totalistic"), model)
    engine.update(_trajectory("B3/S23", model))
    life, highlife = Rule.parse("B3/S23"), Rule.parse("B36/S23")
    expected = statistics_loglik(highlife, engine.trajectories) - statistics_loglik(
        life, engine.trajectories
    )
    assert engine.component_log_odds(highlife, life) == pytest.approx(expected)
    assert engine.component_log_odds(highlife, life) < 0


@pytest.mark.parametrize("env_id", sorted(PRESETS))
def test_every_preset_runs_with_the_emulator_engine(env_id: str) -> None:
    env = gym.make(env_id, inference="emulator")
    unwrapped = env.unwrapped
    family = unwrapped.space.family
    rule = first_rule(family.name)
    env.reset(seed=1, options={"rule": rule})
    names = [unwrapped.describe_action(a) for a in range(unwrapped.n_actions)]
    soup = next(  # the 16-step soup at density 0.5 on the whole world (v0 and v1 menus)
        i
        for i, item in enumerate(unwrapped.menu)
        if item.kind == "soup"
        and item.density == 0.5
        and item.steps == 16
        and item.shape_in(unwrapped.world) == unwrapped.world
    )
    test_bit = next(a for a, name in enumerate(names) if name.startswith("test B"))
    env.step(soup)
    _, _, _, _, info = env.step(test_bit)
    assert not np.isnan(info["test"]["log_odds"])
    *_, info = env.step(unwrapped.submit_action)
    assert info["result"]["true_rule"] == str(Rule.parse(rule).to(family))


@pytest.mark.parametrize(
    "model",
    [
        ObservationModel(noise=0.05),
        ObservationModel(stride=2, noise=0.01),
        ObservationModel(stats_sigma=0.3),
    ],
    ids=["noisy", "strided", "stats"],
)
def test_same_seed_same_belief(model: ObservationModel) -> None:
    beliefs = []
    for _ in range(2):
        engine = EmulatorEngine(RuleSpace.of("totalistic"), model, seed=3)
        engine.update(_trajectory("B36/S23", model))
        beliefs.append(engine.belief().p_one)
    assert np.array_equal(*beliefs)


@pytest.mark.parametrize("env_id", sorted(PRESETS))
def test_env_with_the_emulator_engine_passes_the_checker(env_id: str) -> None:
    env = gym.make(env_id, inference="emulator")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
