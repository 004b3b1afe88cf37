"""Query policies for the rule-discovery env: one :class:`~lifegym.agents.base.Agent`
interface, a registry by name, and :func:`~lifegym.agents.base.run_episode`.

``AGENTS`` maps each name to where its class lives (imported on first use); add an agent
by adding an entry.
"""

from __future__ import annotations

import importlib
from typing import Any

import gymnasium as gym

from lifegym.agents.base import Agent, run_episode

__all__ = ["AGENTS", "Agent", "make_agent", "run_episode"]

AGENTS: dict[str, str] = {
    "random": "lifegym.agents.random_agent:RandomAgent",
    "coverage": "lifegym.agents.coverage:CoverageAgent",
}


def make_agent(name: str, env: gym.Env, **kwargs: Any) -> Agent:
    """A fresh agent ``name`` for ``env``; ValueError listing the names otherwise."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}")
    module, attribute = AGENTS[name].split(":")
    return getattr(importlib.import_module(module), attribute)(env, **kwargs)
