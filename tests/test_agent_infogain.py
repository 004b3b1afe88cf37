"""The ``infogain`` agent (lifegym.agents.infogain) in the real env: valid actions on every
preset, determinism, exact identification of named rules, and cheaper than random."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import Agent, make_agent, run_episode
from lifegym.agents.infogain import InfoGainAgent, binary_entropy, decided
from lifegym.registration import PRESETS


class _Checked(Agent):
    """Wraps an agent and asserts that each action it picks is allowed by the mask."""

    def __init__(self, inner: Agent) -> None:
        super().__init__(inner.env)
        self.inner = inner
        self.name = inner.name

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray) -> int:
        action = self.inner.act(obs, info, action_mask)
        assert isinstance(action, int) and action_mask[action], (action, action_mask)
        return action


def test_helpers() -> None:
    np.testing.assert_allclose(binary_entropy(np.array([0.0, 0.5, 1.0])), [0, 1, 0], atol=1e-9)
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


@pytest.mark.parametrize("env_id", sorted(PRESETS))
def test_valid_actions_to_the_end(env_id: str) -> None:
    env = gym.make(env_id, experiment_budget=3 * 60 * 60 * 16)
    agent = _Checked(InfoGainAgent(env))
    row = run_episode(env, agent, rule="B36/S23", seed=5)
    assert row["agent"] == "infogain" and row["rule"] == "B36/S23"
    assert row["steps"] >= 1 and row["n_experiments"] >= 1


@pytest.mark.parametrize("env_id", ["lifegym/LifeLike-Noisy-v0", "lifegym/LifeLike-Strided-v0"])
def test_same_seed_same_episode(env_id: str) -> None:
    rows = []
    for _ in range(2):
        env = gym.make(env_id)
        row = run_episode(env, InfoGainAgent(env, n_rules=8), rule="B3/S23", seed=11)
        row.pop("wall_s")
        rows.append(row)
    assert rows[0] == rows[1]


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
