"""``lifegym.settings``: one checked settings object behind the single env, the native
vector env and the harnesses, and the env's attributes read from it."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.env import RuleDiscoveryEnv, action_space, observation_space
from lifegym.registration import PRESETS
from lifegym.settings import EnvSettings, env_settings
from lifegym.vector import RuleDiscoveryVectorEnv, make_vector_env


@pytest.mark.parametrize("env_id", [e for e in PRESETS if e.endswith("-v1")][:6])
def test_the_env_reads_every_setting_from_its_settings(env_id: str) -> None:
    env = gym.make(env_id).unwrapped
    settings = env.settings
    assert isinstance(settings, EnvSettings)
    for field in dataclasses.fields(EnvSettings):
        assert getattr(env, field.name) is getattr(settings, field.name), field.name
    assert env.smallest_world == settings.limits.smallest_world
    assert env.n_actions == settings.layout.n_actions == env.action_space.n
    assert env.submit_action == settings.layout.submit
    assert not settings.item_costs.flags.writeable
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.max_steps = 3  # type: ignore[misc]
    with pytest.raises(AttributeError, match="no attribute 'no_such_setting'"):
        _ = env.no_such_setting


def test_the_vector_env_and_the_single_env_read_the_same_settings() -> None:
    kwargs = {**PRESETS["lifegym/Isotropic-Noisy-v1"][0], "world": (16, 16)}
    single = RuleDiscoveryEnv(**kwargs)
    native = RuleDiscoveryVectorEnv(3, **kwargs)
    a, b = single.settings, native.settings
    assert a.layout == b.layout and a.menu == b.menu and a.budgets == b.budgets
    assert np.array_equal(a.item_costs, b.item_costs)
    assert native.single_action_space == action_space(a) == single.action_space
    assert native.single_observation_space == observation_space(a) == single.observation_space
    native.close()


def test_bad_arguments_are_named_the_same_by_every_face() -> None:
    for make in (
        lambda **kw: RuleDiscoveryEnv(**kw),
        lambda **kw: RuleDiscoveryVectorEnv(2, **kw),
        lambda **kw: make_vector_env(2, **kw),
        lambda **kw: env_settings(**kw),
    ):
        with pytest.raises(ValueError, match=r"max_steps must be an int >= 1, got 0"):
            make(max_steps=0)
        with pytest.raises(ValueError, match=r"battery must be one of fixed, episode, got 'x'"):
            make(battery="x")
        with pytest.raises(TypeError, match="no_such_argument"):
            make(no_such_argument=1)
    for make in (
        lambda **kw: RuleDiscoveryEnv(**kw),
        lambda **kw: make_vector_env(2, **kw),
    ):
        with pytest.raises(ValueError, match=r"render_mode must be None or one of .*'human'"):
            make(render_mode="human")
    with pytest.raises(ValueError, match=r"cannot run render_mode='ansi'"):
        RuleDiscoveryVectorEnv(2, render_mode="ansi")
