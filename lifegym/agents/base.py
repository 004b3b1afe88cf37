"""The interface every query policy implements, and one episode run with it.

An agent is built for one env but never holds it: it holds the env's
:class:`~lifegym.public.EnvView` (``self.view``), a read-only copy of what the env states
publicly (menu and costs, rule space, world limits, budgets, visible trajectories, the
engine's belief) that the env keeps current. It acts only through the env's action space:
``act(obs, info, action_mask)`` returns one action.

Randomness: :func:`run_episode` seeds the env with ``seed`` and the agent with
:func:`agent_seed_for` ``(seed)``, a stream spawned from ``numpy.random.SeedSequence(seed)``
that is independent of the env's (the env's generator is ``SeedSequence(seed)`` itself);
the agent is never given the env's seed.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from lifegym.env import RuleDiscoveryEnv
from lifegym.public import EnvView
from lifegym.rules import Rule
from lifegym.seeding import AGENT_STREAM, stream

__all__ = ["Agent", "agent_seed_for", "run_episode", "view_of"]


def agent_seed_for(seed: int | None) -> int | None:
    """The seed ``run_episode`` gives the agent for an episode the env plays with ``seed``:
    128 bits drawn from the child ``AGENT_STREAM`` of ``numpy.random.SeedSequence(seed)``
    (``lifegym.seeding``), independent of the env's stream (``None`` stays ``None``)."""
    if seed is None:
        return None
    child = stream(seed, AGENT_STREAM)
    return int.from_bytes(child.generate_state(4, np.uint32).tobytes(), "little")


def view_of(env: gym.Env | EnvView) -> EnvView:
    """The :class:`~lifegym.public.EnvView` of ``env`` (a lifegym env, any wrapper of one,
    or a view already); ValueError for anything else."""
    if isinstance(env, EnvView):
        return env
    unwrapped = getattr(env, "unwrapped", None)
    if not isinstance(unwrapped, RuleDiscoveryEnv):
        raise ValueError(
            f"agents act in lifegym's RuleDiscoveryEnv, got {type(unwrapped or env).__name__}"
        )
    return unwrapped.agent_view


class Agent(ABC):
    """A query policy for :class:`~lifegym.env.RuleDiscoveryEnv`.

    Args:
        env: the env's :class:`~lifegym.public.EnvView` (what ``make_agent`` passes), or the
            env itself (or a wrapper), of which only the view is kept.
    """

    name: str = ""
    #: True only for a reference that is told the hidden rule (the ``oracle``): shown as the
    #: yardstick in every table, never ranked. ``run_episode`` calls :meth:`reveal` on it.
    reference: bool = False

    def __init__(self, env: gym.Env | EnvView) -> None:
        self.view: EnvView = view_of(env)
        self.rng = np.random.default_rng()

    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; ``seed`` fixes every random choice the agent makes
        (``run_episode`` passes :func:`agent_seed_for` of the env's seed)."""
        self.rng = np.random.default_rng(seed)

    def reveal(self, hidden_rule: Rule) -> None:
        """Reference agents only: the hidden rule of the episode just reset (``run_episode``
        calls this only when ``reference`` is True). Others ignore it."""
        return None

    @abstractmethod
    def act(
        self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray
    ) -> int | dict[str, Any]:
        """The next action (an index into the env's ``Discrete`` action space) that
        ``action_mask`` allows, or, in a ``design=True`` env, a designed experiment's dict
        action."""


def run_episode(
    env: gym.Env,
    agent: Agent,
    rule: str | None = None,
    seed: int | None = None,
    watch: Callable[[dict[str, Any]], None] | None = None,
    agent_seed: int | None = None,
) -> dict[str, Any]:
    """Play one episode to its end; returns ``info["result"]`` plus ``env`` (the id),
    ``inference`` (the engine), ``design``, ``agent``, ``rule``, ``seed``, ``agent_seed``,
    ``steps``, ``wall_s`` (seconds, agent and env together) and ``agent_cpu_s`` (CPU
    seconds of this process spent in the agent's ``act``, its own simulation included:
    what the env's compute budget does not meter): a row that
    ``lifegym.bench.summarise`` takes as it is. ``watch``, when
    given, is called with the ``info`` of the reset and of every step (its time counts).

    The env is reset with ``seed``, the agent with ``agent_seed`` (default
    :func:`agent_seed_for` ``(seed)``, a stream independent of the env's; the row records
    it as ``agent_seed``); a ``reference`` agent is then told the hidden rule
    (:meth:`Agent.reveal`)."""
    start = time.perf_counter()
    options = None if rule is None else {"rule": rule}
    obs, info = env.reset(seed=seed, options=options)
    if agent_seed is None:
        agent_seed = agent_seed_for(seed)
    agent.reset(agent_seed)
    unwrapped = env.unwrapped
    assert isinstance(unwrapped, RuleDiscoveryEnv)  # agents play lifegym's env (view_of)
    if agent.reference:
        agent.reveal(unwrapped.lab.hidden_rule)
    if watch is not None:
        watch(info)
    steps = 0
    agent_cpu = 0.0
    while True:
        mask = unwrapped.action_masks()
        cpu = time.process_time()
        action = agent.act(obs, info, mask)
        agent_cpu += time.process_time() - cpu
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        if watch is not None:
            watch(info)
        if terminated or truncated:
            break
    return {
        "env": env.spec.id if env.spec is not None else type(unwrapped).__name__,
        "inference": unwrapped.inference,
        "design": unwrapped.design,
        **info["result"],
        "agent": agent.name or type(agent).__name__,
        "rule": info["result"]["true_rule"],
        "seed": seed,
        "agent_seed": agent_seed,
        "steps": steps,
        "wall_s": time.perf_counter() - start,
        "agent_cpu_s": agent_cpu,
    }
