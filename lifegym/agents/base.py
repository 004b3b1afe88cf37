"""The interface every query policy implements, and one episode run with it.

An agent is built for one env (it may read what the env states publicly: the menu of
experiments and their costs, the rule space, the world) and then acts only through the
env's action space: ``act(obs, info, action_mask)`` returns one action index.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from lifegym.env import RuleDiscoveryEnv
from lifegym.inference.base import InferenceEngine

__all__ = ["Agent", "engine_uses_tests", "run_episode"]


def engine_uses_tests(env: RuleDiscoveryEnv) -> bool:
    """Whether the env's inference engine folds bit tests into its belief (it overrides
    :meth:`~lifegym.inference.base.InferenceEngine.absorb_test`); with any other engine a
    test only reports its log-odds and spends compute."""
    absorb = getattr(env.engine_factory, "absorb_test", None)
    return absorb is not None and absorb is not InferenceEngine.absorb_test


class Agent(ABC):
    """A query policy for :class:`~lifegym.env.RuleDiscoveryEnv`.

    Args:
        env: the env (or a wrapper of it) the agent will act in.
    """

    name: str = ""
    #: True only for a reference that reads the hidden rule (the ``oracle``): shown as the
    #: yardstick in every table, never ranked.
    reference: bool = False

    def __init__(self, env: gym.Env) -> None:
        unwrapped = env.unwrapped
        if not isinstance(unwrapped, RuleDiscoveryEnv):
            raise ValueError(
                f"agents act in lifegym's RuleDiscoveryEnv, got {type(unwrapped).__name__}"
            )
        self.env: RuleDiscoveryEnv = unwrapped
        self.rng = np.random.default_rng()

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; ``seed`` fixes every random choice the agent makes."""
        self.rng = np.random.default_rng(seed)

    @abstractmethod
    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray) -> int:
        """The next action (an index into the env's ``Discrete`` action space) that
        ``action_mask`` allows."""


def run_episode(
    env: gym.Env,
    agent: Agent,
    rule: str | None = None,
    seed: int | None = None,
    watch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Play one episode to its end; returns ``info["result"]`` plus ``rule``, ``seed``,
    ``agent``, ``steps`` and ``wall_s`` (seconds, agent and env together). ``watch``, when
    given, is called with the ``info`` of the reset and of every step (its time counts)."""
    start = time.perf_counter()
    options = None if rule is None else {"rule": rule}
    obs, info = env.reset(seed=seed, options=options)
    agent.reset(seed)
    if watch is not None:
        watch(info)
    unwrapped = env.unwrapped
    steps = 0
    while True:
        action = agent.act(obs, info, unwrapped.action_masks())
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        if watch is not None:
            watch(info)
        if terminated or truncated:
            break
    return {
        **info["result"],
        "agent": agent.name,
        "rule": info["result"]["true_rule"],
        "seed": seed,
        "steps": steps,
        "wall_s": time.perf_counter() - start,
    }
