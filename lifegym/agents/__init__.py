"""Query policies for the rule-discovery env: one :class:`~lifegym.agents.base.Agent`
interface, a registry by name, and :func:`~lifegym.agents.base.run_episode`.

An agent is named by one of:

* a key of ``AGENTS`` (``random``, ``coverage``, ``infogain``, ``emulator-loop``,
  ``oracle``), each mapped to where its class lives (imported on first use);
* ``ppo:PATH`` or ``maskable-ppo:PATH``: a trained policy (:mod:`lifegym.agents.rl`);
* ``module.path:Class``: any :class:`~lifegym.agents.base.Agent` subclass in an importable
  module (your own agent, with no change to lifegym);
* ``path/to/file.py:Class``: the same from a Python file (loaded under a private module
  name; spawned workers load it again from the same path).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym

from lifegym.agents.base import Agent, agent_seed_for, run_episode, view_of
from lifegym.public import EnvView

__all__ = [
    "AGENTS",
    "AGENT_FORMS",
    "Agent",
    "agent_class",
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


#: What an agent name may be, for error messages.
AGENT_FORMS = "ppo:PATH, maskable-ppo:PATH, module.path:Class, path/to/file.py:Class"
_POLICY_PREFIXES = ("ppo", "maskable-ppo")


def _module_from_file(path: str) -> Any:
    """The module of the Python file ``path`` (loaded once per process, under a private
    name derived from its absolute path)."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise ValueError(f"agent file {path!r} does not exist")
    name = "lifegym_user_agent_" + hashlib.sha1(str(file).encode()).hexdigest()[:12]
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, file)
        if spec is None or spec.loader is None:
            raise ValueError(f"agent file {path!r} is not a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise ValueError(f"agent file {path!r} failed to load: {exc!r}") from exc
    return sys.modules[name]


def agent_class(name: str) -> type[Agent] | None:
    """The class agent ``name`` names (None for a ``ppo:``/``maskable-ppo:`` policy);
    ValueError naming the problem and the accepted forms otherwise."""
    if name in AGENTS:
        module_name, attribute = AGENTS[name].split(":")
        return getattr(importlib.import_module(module_name), attribute)
    where, sep, attribute = name.rpartition(":")
    if not sep or not where or not attribute:
        choices = ", ".join(AGENTS)
        raise ValueError(f"unknown agent {name!r}; choose one of {choices}, or {AGENT_FORMS}")
    if where in _POLICY_PREFIXES:
        return None
    if where.endswith(".py"):
        module = _module_from_file(where)
    else:
        try:
            module = importlib.import_module(where)
        except ImportError as exc:
            raise ValueError(f"agent {name!r}: cannot import module {where!r} ({exc})") from exc
    found = getattr(module, attribute, None)
    if not (isinstance(found, type) and issubclass(found, Agent)):
        raise ValueError(
            f"agent {name!r}: {where} has no Agent subclass named {attribute!r} "
            f"(got {type(found).__name__ if found is not None else 'nothing'})"
        )
    return found


def check_agent_name(name: str) -> None:
    """ValueError unless ``name`` names an agent (see the module doc) that loads: a
    registered agent, a policy zip, or an ``Agent`` subclass in a module or file."""
    prefix, _, path = name.partition(":")
    if path and prefix in _POLICY_PREFIXES:
        from lifegym.agents.rl import load_policy

        load_policy(prefix, path)  # raises ValueError naming what is wrong
        return
    agent_class(name)


def is_reference(name: str) -> bool:
    """Whether agent ``name`` is a reference (it is told the hidden rule: never ranked)."""
    cls = agent_class(name)
    return bool(cls is not None and cls.reference)


def make_agent(name: str, env: gym.Env | EnvView, **kwargs: Any) -> Agent:
    """A fresh agent ``name`` for ``env``; ValueError listing the names otherwise. The agent
    is given only the env's public view (:func:`~lifegym.agents.base.view_of`), never the env."""
    check_agent_name(name)
    view = view_of(env)
    cls = agent_class(name)
    if cls is None:
        from lifegym.agents.rl import PolicyAgent

        prefix, _, path = name.partition(":")
        return PolicyAgent(view, prefix, path, **kwargs)
    return cls(view, **kwargs)
