"""The ``emulator-loop`` agent (lifegym.agents.emulator_loop): its schedule, its choices,
and the research loop run with the emulator engine. (Valid actions on every preset and
determinism: tests/test_agents.py, over the whole registry.)"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import run_episode
from lifegym.agents.emulator_loop import EmulatorLoopAgent, density_schedule
from lifegym.experiments import Experiment


def test_density_schedule_sweeps_out_from_one_half() -> None:
    densities = np.round(np.arange(0.05, 1.0, 0.05), 2)
    order = density_schedule(densities)
    assert order[:7] == [0.5, 0.2, 0.8, 0.35, 0.65, 0.1, 0.9]
    assert sorted(order) == sorted(densities.tolist())
    assert density_schedule(np.array([0.3, 0.3, 0.6])) == [0.6, 0.3]


def test_arguments_checked() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0")
    for kwargs, match in (
        ({"tests_per_cycle": -1}, "tests_per_cycle"),
        ({"patience": 0}, "patience"),
        ({"confident": 0.0}, "confident"),
        ({"confident": 1.5}, "confident"),
    ):
        with pytest.raises(ValueError, match=match):
            EmulatorLoopAgent(env, **kwargs)
    patterns_only = gym.make(
        "lifegym/LifeLike-Noisy-v0", menu=[Experiment("glider", "pattern", 8, pattern="glider")]
    )
    with pytest.raises(ValueError, match="soups"):
        EmulatorLoopAgent(patterns_only)


def _first_action(env_id: str, **kwargs: object) -> tuple[EmulatorLoopAgent, str]:
    env = gym.make(env_id, **kwargs)
    agent = EmulatorLoopAgent(env)
    obs, info = env.reset(seed=0)
    agent.reset(0)
    action = agent.act(obs, info, env.unwrapped.action_masks())
    return agent, env.unwrapped.menu[action].name


def test_short_runs_when_every_step_is_seen_long_ones_otherwise() -> None:
    agent, first = _first_action("lifegym/LifeLike-Noisy-v0")
    assert first == "soup-0.50x2" and agent.tests  # the exact engine folds tests in
    agent, first = _first_action("lifegym/LifeLike-Stats-v0")
    assert first == "soup-0.50x16" and not agent.tests  # exhaustive: tests change nothing
    assert _first_action("lifegym/LifeLike-Strided-v0")[1] == "soup-0.50x16"


def test_research_loop_with_the_emulator_engine() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0", inference="emulator")
    agent = EmulatorLoopAgent(env)
    for seed, rule in enumerate(["B3/S23", "B36/S23"]):
        row = run_episode(env, agent, rule, seed=seed)
        assert row["exact"] and row["submitted_by"] == "agent"
        # every cycle: one experiment, bit tests of the least confident bits, one MAP test
        assert row["n_tests"] > row["n_experiments"] >= agent.patience + 1
