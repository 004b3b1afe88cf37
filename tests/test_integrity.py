"""Benchmark integrity: agents hold no path to the env's secrets, their randomness is not
the env's, and ``identified`` is never luck."""

from __future__ import annotations

import gc
import types
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import AGENTS, agent_seed_for, make_agent, run_episode
from lifegym.env import RuleDiscoveryEnv
from lifegym.generator import RulePrior
from lifegym.lab import Lab
from lifegym.scoring import is_identified

POLICIES = Path(__file__).resolve().parent.parent / "benchmarks" / "policies"
POLICY = POLICIES / "noisy-maskable-ppo.zip"


def reachable(root: object):
    """Every object reachable from ``root`` through attributes, containers, closures and
    bound methods (``gc.get_referents``, plus array bases); a function's module globals and
    modules themselves are not followed (they are code, shared by everyone)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, types.ModuleType):
            continue
        if isinstance(obj, types.FunctionType):
            cells = obj.__closure__ or ()
            stack.extend(c.cell_contents for c in cells if c.cell_contents is not None)
            stack.extend(obj.__defaults__ or ())
            stack.extend((obj.__kwdefaults__ or {}).values())
            continue
        if isinstance(obj, np.ndarray) and obj.base is not None:
            stack.append(obj.base)
        stack.extend(gc.get_referents(obj))


def secrets_of(env: gym.Env) -> dict[int, str]:
    """id -> name of everything an agent must not reach in ``env`` (after a reset)."""
    raw = env.unwrapped
    found = {
        id(env): "the env",
        id(raw): "the unwrapped env",
        id(raw.lab): "the Lab",
        id(raw.np_random): "the env's generator",
        id(raw.lab.rng): "the Lab's generator",
        id(raw.lab.hidden_rule): "the hidden rule",
        id(raw.prior): "the prior",
        id(raw.fixed_battery): "the scoring battery",
        id(raw._engine): "the env's engine",
        id(raw.lab.trajectories): "the env's list of trajectories",
    }
    wrapper = env
    while isinstance(wrapper, gym.Wrapper):
        found[id(wrapper)] = f"wrapper {type(wrapper).__name__}"
        wrapper = wrapper.env
    for trajectory in raw.lab.trajectories:
        for array in (trajectory.initial, trajectory.frames, trajectory.stats):
            if array is not None:
                found[id(array)] = "an array of the env's trajectories"
    return found


def assert_sealed(agent: object, env: gym.Env) -> None:
    secrets = secrets_of(env)
    if getattr(agent, "reference", False):  # told the hidden rule, explicitly; nothing else
        secrets.pop(id(env.unwrapped.lab.hidden_rule))
    for obj in reachable(agent):
        assert id(obj) not in secrets, f"{type(agent).__name__} reaches {secrets[id(obj)]}"
        assert not isinstance(obj, RuleDiscoveryEnv | Lab | RulePrior | gym.Wrapper), (
            f"{type(agent).__name__} reaches a {type(obj).__name__}"
        )


def _agent_names() -> list[str]:
    names = list(AGENTS)
    if POLICY.exists():
        names.append(f"maskable-ppo:{POLICY}")
    return names


@pytest.mark.parametrize("name", _agent_names())
def test_no_agent_reaches_the_env_its_lab_generator_or_hidden_rule(name: str) -> None:
    policy = name.startswith("maskable")  # trained on the v0 Discrete face
    env = (
        gym.make("lifegym/LifeLike-Noisy-v0")
        if policy
        else gym.make("lifegym/LifeLike-Noisy-v1", design=True)
    )
    agent = make_agent(name, env)
    checked = []

    def watch(info: dict) -> None:  # mid-episode, with data and caches built
        if len(checked) == 2:
            assert_sealed(agent, env)
        checked.append(True)

    run_episode(env, agent, rule="B36/S23", seed=3, watch=watch)
    assert_sealed(agent, env)


def test_the_view_is_a_copy_the_env_never_reads() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v1")
    env.reset(seed=0)
    env.step(0)
    view = env.unwrapped.agent_view
    seen = view.trajectories[0]
    assert seen.initial is not env.unwrapped.lab.trajectories[0].initial
    with pytest.raises(ValueError):
        seen.initial[0, 0] = 1  # read-only
    with pytest.raises(ValueError):
        view.item_costs[0] = 0
    view.trajectories = ()  # an agent writing its view changes only its copy
    _, _, _, _, info = env.step(env.unwrapped.test_map_action)
    assert len(env.unwrapped.lab.trajectories) == 1 and "test" in info
    assert len(view.trajectories) == 0
    env.step(0)
    assert len(view.trajectories) == 1  # the env pushes only what is new


@pytest.mark.parametrize("env_id", ["lifegym/LifeLike-Noisy-v0", "lifegym/LifeLike-Noisy-v1"])
def test_the_agents_seed_stream_is_not_the_envs(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    for seed in range(5):
        env.reset(seed=seed)
        hidden = env.lab.hidden_rule
        assert agent_seed_for(seed) != seed
        # what broke before: an agent seeded like the env drew the hidden rule from its prior
        assert env.prior.sample(np.random.default_rng(seed)) == hidden
        assert env.prior.sample(np.random.default_rng(agent_seed_for(seed))) != hidden
        env.reset(seed=seed)
        env_draws = env.np_random.random(8)
        agent_draws = np.random.default_rng(agent_seed_for(seed)).random(8)
        assert not np.allclose(env_draws, agent_draws)
    assert agent_seed_for(None) is None
    assert agent_seed_for(7) == agent_seed_for(7)


def test_run_episode_seeds_the_agent_with_its_own_stream() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v1")
    agent = make_agent("random", env)
    given = []
    original = agent.reset

    def reset(seed=None):
        given.append(seed)
        original(seed)

    agent.reset = reset  # type: ignore[method-assign]
    run_episode(env, agent, seed=11)
    assert given == [agent_seed_for(11)]


def test_only_a_reference_agent_is_told_the_hidden_rule() -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v1")
    told = {}
    for name in ("infogain", "oracle"):
        agent = make_agent(name, env)
        original = agent.reveal

        def reveal(rule, name=name, original=original) -> None:
            told[name] = rule
            original(rule)

        agent.reveal = reveal  # type: ignore[method-assign]
        run_episode(env, agent, rule="B3/S23", seed=0)
    assert list(told) == ["oracle"] and str(told["oracle"]) == "B3/S23"
    oracle = make_agent("oracle", env)
    env.reset(seed=0)
    oracle.reset(0)
    with pytest.raises(RuntimeError, match="reveal"):
        oracle.act(*env.reset(seed=0), env.unwrapped.action_masks())


def test_identified_is_never_true_with_undetermined_bits() -> None:
    assert is_identified(True, 0, 0.995)
    assert not is_identified(True, 0, 0.98)  # the engine leaves 2% elsewhere
    assert not is_identified(True, 1, 1.0)  # exact by the tie-break's luck
    assert not is_identified(False, 0, 1.0)  # another class
    assert not is_identified(True, 0, float("nan"))  # no probability: not settled
    with pytest.raises(ValueError, match="delta"):
        is_identified(True, 0, 1.0, delta=0.0)
    env = gym.make("lifegym/LifeLike-Noisy-v1")
    rows = [run_episode(env, make_agent("random", env), seed=s) for s in range(6)]
    for row in rows:
        assert "identified" in row
        assert not (row["identified"] and row["n_undetermined"])
        assert row["identified"] <= row["exact"]


@pytest.mark.parametrize("path", ["attribute", "closure", "bound method", "container"])
def test_the_walk_finds_every_kind_of_path(path: str) -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v1")
    env.reset(seed=0)
    raw = env.unwrapped
    holder = types.SimpleNamespace()
    if path == "attribute":
        holder.generator = raw.np_random
    elif path == "closure":
        holder.peek = lambda: raw.lab.hidden_rule
    elif path == "bound method":
        holder.masks = raw.action_masks
    else:
        holder.saved = {"x": [(raw.lab,)]}
    with pytest.raises(AssertionError, match="reaches"):
        assert_sealed(holder, env)
