"""The ``emulator`` inference engine inside the env (first part of issue 4)."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import lifegym  # noqa: F401  (registers the ids)
from lifegym.inference import make_engine
from lifegym.inference.emulator import EmulatorEngine, pattern_counts
from lifegym.observe import ObservationModel, observe
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace, VisibleTrajectory


def _trajectory(rule: str, model: ObservationModel, seed: int = 0) -> VisibleTrajectory:
    rng = np.random.default_rng(seed)
    initial = (rng.random((40, 40)) < 0.5).astype(np.uint8)
    times, frames, stats = observe(model, simulate(rule, initial, 8), rng)
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


def test_strided_and_stats_are_refused_with_a_reason() -> None:
    space = RuleSpace.of("totalistic")
    with pytest.raises(ValueError, match="strided"):
        EmulatorEngine(space, ObservationModel(stride=2))
    with pytest.raises(ValueError, match="statistics"):
        EmulatorEngine(space, ObservationModel(stats_sigma=0.3))


def test_same_seed_same_belief() -> None:
    beliefs = []
    for _ in range(2):
        engine = EmulatorEngine(RuleSpace.of("totalistic"), ObservationModel(noise=0.05))
        engine.update(_trajectory("B3/S23", ObservationModel(noise=0.05)))
        beliefs.append(engine.belief().p_one)
    assert np.array_equal(*beliefs)


def test_env_with_the_emulator_engine_passes_the_checker() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0", inference="emulator", world=(24, 24))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0, options={"rule": "B3/S23"})
    *_, info = env.step(env.unwrapped.submit_action)
    assert info["result"]["true_rule"] == "B3/S23"
