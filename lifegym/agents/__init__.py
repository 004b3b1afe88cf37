"""Query policies for the rule-discovery env: one :class:`~lifegym.agents.base.Agent`
interface, a registry by name, and :func:`~lifegym.agents.base.run_episode`.

``AGENTS`` maps each name to where its class lives (imported on first use); add an agent
by adding an entry. A trained policy is named ``ppo:PATH`` or ``maskable-ppo:PATH``
(:mod:`lifegym.agents.rl`).
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

from lifegym.agents.base import Agent, agent_seed_for, run_episode, view_of

__all__ = [
    "AGENTS",
    "Agent",
    "agent_seed_for",
    "check_agent_name",
    "is_reference",
    "make_agent",
    "run_episode",
    "view_of",
]

AGENTS: dict[str, str] = {
    "random": "lifegym.agents.random_agent:RandomAgent",
    "coverage": "lifegym.agents.coverage:CoverageAgent",
    "infogain": "lifegym.agents.infogain:InfoGainAgent",
    "emulator-loop": "lifegym.agents.emulator_loop:EmulatorLoopAgent",
    # The reference: reads the hidden rule (the only agent that may); never ranked.
    "oracle": "lifegym.agents.oracle:OracleAgent",
}


def check_agent_name(name: str) -> None:
    """ValueError unless ``name`` is a registered agent or ``ppo:PATH`` /
    ``maskable-ppo:PATH`` naming a policy that loads."""
    prefix, _, path = name.partition(":")
    if path and prefix in ("ppo", "maskable-ppo"):
        from lifegym.agents.rl import load_policy

        load_policy(prefix, path)  # raises ValueError naming what is wrong
        return
    if name not in AGENTS:
        choices = ", ".join([*AGENTS, "ppo:PATH", "maskable-ppo:PATH"])
        raise ValueError(f"unknown agent {name!r}; choose one of {choices}")


def is_reference(name: str) -> bool:
    """Whether agent ``name`` is a reference (it reads the hidden rule: never ranked)."""
    if name not in AGENTS:
        return False
    module, attribute = AGENTS[name].split(":")
    return bool(getattr(getattr(importlib.import_module(module), attribute), "reference", False))


def make_agent(name: str, env: gym.Env, **kwargs: Any) -> Agent:
    """A fresh agent ``name`` for ``env``; ValueError listing the names otherwise. The agent
    is given only the env's public view (:func:`~lifegym.agents.base.view_of`), never the env."""
    check_agent_name(name)
    view = view_of(env)
    prefix, _, path = name.partition(":")
    if path:
        from lifegym.agents.rl import PolicyAgent

        return PolicyAgent(view, prefix, path, **kwargs)
    module, attribute = AGENTS[name].split(":")
    return getattr(importlib.import_module(module), attribute)(view, **kwargs)
