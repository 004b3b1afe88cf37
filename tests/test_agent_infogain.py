"""The ``infogain`` agent (lifegym.agents.infogain) in the real env: its helpers, exact
identification of named rules, cheaper than random, giving up when nothing helps. (Valid
actions on every preset and determinism: tests/test_agents.py, over the whole registry.)"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import make_agent, run_episode
from lifegym.agents.infogain import InfoGainAgent, decided
from lifegym.inference.base import binary_entropy_bits


def test_helpers() -> None:
    np.testing.assert_allclose(binary_entropy_bits(np.array([0.0, 0.5, 1.0])), [0, 1, 0], atol=1e-9)
    np.testing.assert_allclose(decided(np.array([0.0, 1.0]), np.log(2.0)), [0.0, 0.5])


def test_arguments_checked() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0")
    for kwargs, match in (
        ({"n_rules": 0}, "n_rules"),
        ({"target_entropy": -1.0}, "target_entropy"),
        ({"min_gain": 0.0}, "min_gain"),
        ({"patience": 0}, "patience"),
    ):
        with pytest.raises(ValueError, match=match):
            InfoGainAgent(env, **kwargs)


def test_tests_bits_only_where_the_engine_uses_tests() -> None:
    assert InfoGainAgent(gym.make("lifegym/LifeLike-Noisy-v0")).tests
    assert not InfoGainAgent(gym.make("lifegym/LifeLike-Strided-v0")).tests


def test_identifies_named_rules_and_beats_random_on_cost() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0")
    infogain, random = InfoGainAgent(env), make_agent("random", env)
    rules = ["B3/S23", "B36/S23", "B3678/S34678", "B2/S", "B35678/S5678"]
    chosen = [run_episode(env, infogain, rule, seed=i) for i, rule in enumerate(rules)]
    randomly = [run_episode(env, random, rule, seed=i) for i, rule in enumerate(rules)]
    assert all(row["exact"] for row in chosen)
    assert all(row["submitted_by"] == "agent" for row in chosen)
    cost = np.mean([row["experiment_cost"] for row in chosen])
    assert 2 * cost <= np.mean([row["experiment_cost"] for row in randomly])


def test_stops_when_the_menu_cannot_decide() -> None:
    # Under strided(2) the self-complementary Day & Night and its complement give the same
    # observed frames: the belief keeps 1 bit whatever is run, so the agent must give up.
    env = gym.make("lifegym/LifeLike-Strided-v0")
    row = run_episode(env, InfoGainAgent(env), rule="B3678/S34678", seed=2)
    assert row["submitted_by"] == "agent"
    assert row["n_experiments"] <= 4
