"""Agents (lifegym.agents): the registry, valid actions on every preset, determinism, and
what the coverage agent must beat."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from examples import first_rule

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import AGENTS, Agent, make_agent, run_episode
from lifegym.registration import PRESETS
from lifegym.rules import Rule

RESULT_KEYS = {"true_rule", "submitted_rule", "exact", "bits_correct", "experiment_cost"}


class _Checked(Agent):
    """Wraps an agent and asserts that each action it picks is allowed by the mask."""

    def __init__(self, inner: Agent) -> None:
        super().__init__(inner.view)
        self.inner = inner
        self.name = inner.name
        self.reference = inner.reference

    def reveal(self, hidden_rule) -> None:
        self.inner.reveal(hidden_rule)

    def reset(self, seed: int | None = None) -> None:
        self.inner.reset(seed)

    def act(self, obs, info, action_mask):
        action = self.inner.act(obs, info, action_mask)
        assert isinstance(action, int) and action_mask[action], (action, action_mask)
        return action


def test_unknown_agent_names_the_choices() -> None:
    env = gym.make("lifegym/LifeLike-Full-v0")
    with pytest.raises(ValueError, match=r"'greedy'.*random, coverage"):
        make_agent("greedy", env)


def test_agents_need_the_rule_discovery_env() -> None:
    with pytest.raises(ValueError, match="CartPoleEnv"):
        make_agent("random", gym.make("CartPole-v1"))


def test_coverage_arguments_checked() -> None:
    env = gym.make("lifegym/LifeLike-Full-v0")
    with pytest.raises(ValueError, match="confident"):
        make_agent("coverage", env, confident=0.0)
    with pytest.raises(ValueError, match="min_count"):
        make_agent("coverage", env, min_count=0)
    with pytest.raises(ValueError, match="patience"):
        make_agent("coverage", env, patience=0)
    with pytest.raises(ValueError, match="min_gain"):
        make_agent("coverage", env, min_gain=-1.0)


def test_coverage_stops_when_experiments_stop_helping() -> None:
    # Seed 0 draws an isotropic rule with one bit the menu's soups leave at ~0.3 bits of
    # uncertainty; without the no-progress rule the agent spent the whole budget on it.
    env = gym.make("lifegym/Isotropic-Noisy-v0")
    row = run_episode(env, make_agent("coverage", env), seed=0)
    assert row["submitted_by"] == "agent"
    assert row["n_experiments"] <= 4


@pytest.mark.parametrize("name", sorted(AGENTS))
@pytest.mark.parametrize("env_id", sorted(PRESETS))
def test_agent_plays_valid_actions_to_the_end(env_id: str, name: str) -> None:
    # 32 steps at most: the random agent would otherwise spend minutes on the slow presets
    env = gym.make(env_id, experiment_budget=3 * 60 * 60 * 16, max_steps=32)
    agent = _Checked(make_agent(name, env))
    family = env.unwrapped.space.family
    rule = first_rule(family.name)
    row = run_episode(env, agent, rule=rule, seed=5)
    assert RESULT_KEYS <= set(row)
    canonical = str(Rule.parse(rule).to(family))
    assert row["agent"] == name and row["rule"] == canonical and row["seed"] == 5
    assert row["steps"] >= 1 and row["wall_s"] > 0


@pytest.mark.parametrize("name", sorted(AGENTS))
def test_same_seed_same_episode(name: str) -> None:
    rows = []
    for _ in range(2):
        env = gym.make("lifegym/LifeLike-Noisy-v0")
        row = run_episode(env, make_agent(name, env), rule="B3/S23", seed=11)
        row.pop("wall_s")
        row.pop("agent_cpu_s")  # times, not outcomes
        rows.append(row)
    assert rows[0] == rows[1]


def test_coverage_identifies_cheaply_and_beats_random_on_cost() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0")
    coverage, random = make_agent("coverage", env), make_agent("random", env)
    rules = ["B3/S23", "B36/S23", "B3678/S34678", "B2/S", "B35678/S5678"]
    covered = [run_episode(env, coverage, rule, seed=i) for i, rule in enumerate(rules)]
    randomly = [run_episode(env, random, rule, seed=i) for i, rule in enumerate(rules)]
    assert all(row["exact"] for row in covered)
    cost = np.mean([row["experiment_cost"] for row in covered])
    assert 2 * cost <= np.mean([row["experiment_cost"] for row in randomly])


def test_watch_sees_the_reset_and_every_step() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0")
    seen: list[dict] = []
    row = run_episode(env, make_agent("random", env), "B3/S23", seed=4, watch=seen.append)
    assert len(seen) == row["steps"] + 1
    assert seen[0]["action"] == "reset" and seen[-1]["result"]["true_rule"] == "B3/S23"
    assert all("action" in info for info in seen)
