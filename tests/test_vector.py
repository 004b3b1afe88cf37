"""The env under vectorisation: gymnasium.make_vec (sync, async), SB3's DummyVecEnv and
SubprocVecEnv (fork, spawn), and sb3-contrib's MaskablePPO reading ``action_masks()``."""

from __future__ import annotations

import functools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import lifegym  # noqa: F401  (registers the ids)
from lifegym.registration import PRESETS

ENV_IDS = list(PRESETS)
#: One preset with the exact engine, one with the exhaustive one.
VEC_IDS = ["lifegym/LifeLike-Noisy-v0", "lifegym/LifeLike-Stats-v0"]
STEPS = 20


def small_kwargs(env_id: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"world": (20, 20)}
    if "window" in PRESETS[env_id][0]:
        kwargs["window"] = (12, 12)
    return kwargs


def env_fn(env_id: str, **overrides: Any):
    """A picklable env factory (the ``lifegym:`` prefix imports lifegym in a fresh process)."""
    return functools.partial(gym.make, f"lifegym:{env_id}", **small_kwargs(env_id), **overrides)


def pick(masks, rng: np.random.Generator) -> np.ndarray:
    return np.array([int(rng.choice(np.flatnonzero(mask))) for mask in masks])


# -------------------------------------------------------------------- gymnasium make_vec


def run_make_vec(env_id: str, mode: str) -> list[tuple]:
    envs = gym.make_vec(
        env_id, num_envs=2, vectorization_mode=mode, max_steps=6, **small_kwargs(env_id)
    )
    try:
        rng = np.random.default_rng(0)
        obs, _ = envs.reset(seed=[7, 8])
        assert envs.observation_space.contains(obs)
        record: list[tuple] = [obs]
        ended = 0
        for _ in range(STEPS):
            masks = envs.call("action_masks")
            assert len(masks) == 2
            assert all(m.dtype == np.bool_ and m[-1] for m in masks)
            actions = pick(masks, rng)
            obs, rewards, terminated, truncated, infos = envs.step(actions)
            assert envs.observation_space.contains(obs)
            assert rewards.shape == (2,)
            assert terminated.dtype == np.bool_ and truncated.dtype == np.bool_
            done = terminated | truncated
            if done.any():
                assert "result" in infos
                for i in np.flatnonzero(done):
                    assert infos["_result"][i]
                    assert infos["result"]["submitted_by"][i] in ("agent", "budget", "truncation")
                ended += int(done.sum())
            record.append((actions, obs, rewards, terminated, truncated))
        assert ended >= 4  # max_steps=6: each sub-env ends at least twice in 20 steps
        return record
    finally:
        envs.close()


def assert_records_equal(a: list[tuple], b: list[tuple]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            for key in x:
                np.testing.assert_array_equal(x[key], y[key])
        else:
            for u, v in zip(x[:1] + x[2:], y[:1] + y[2:], strict=True):
                np.testing.assert_array_equal(u, v)
            for key in x[1]:
                np.testing.assert_array_equal(x[1][key], y[1][key])


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("env_id", VEC_IDS)
def test_make_vec_random_steps_with_autoreset(env_id, mode):
    run_make_vec(env_id, mode)


@pytest.mark.parametrize("env_id", VEC_IDS)
def test_make_vec_sync_and_async_agree(env_id):
    assert_records_equal(run_make_vec(env_id, "sync"), run_make_vec(env_id, "async"))


def test_make_vec_with_submit_and_requests_only():
    envs = gym.make_vec("lifegym/LifeLike-Noisy-v0", num_envs=2, world=(20, 20))
    try:
        envs.reset(seed=0)
        submit = envs.single_action_space.n - 1
        for step in range(STEPS):
            action = submit if step % 3 == 2 else 0
            _, _, terminated, truncated, _ = envs.step(np.array([action, submit]))
            if step % 2 == 0:
                # the second env submits every other step (the step after is its reset)
                assert terminated[1] and not truncated[1]
    finally:
        envs.close()


# ---------------------------------------------------------------------- SB3 vec envs


def run_sb3(venv) -> None:
    try:
        rng = np.random.default_rng(1)
        venv.seed(3)
        obs = venv.reset()
        assert venv.observation_space.contains({k: v[0] for k, v in obs.items()})
        ended = 0
        for _ in range(STEPS):
            masks = venv.env_method("action_masks")
            assert len(masks) == 2
            np.testing.assert_array_equal(get_action_masks(venv), np.stack(masks))
            obs, rewards, dones, infos = venv.step(pick(masks, rng))
            assert rewards.shape == (2,)
            for i in np.flatnonzero(dones):
                assert infos[i]["result"]["submitted_by"] in ("agent", "budget", "truncation")
                assert "terminal_observation" in infos[i]
                ended += 1
        assert ended >= 4
    finally:
        venv.close()


def test_dummy_vec_env():
    run_sb3(DummyVecEnv([env_fn("lifegym/LifeLike-Noisy-v0", max_steps=6)] * 2))


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_subproc_vec_env(start_method):
    fns = [env_fn("lifegym/LifeLike-Noisy-v0", max_steps=6)] * 2
    run_sb3(SubprocVecEnv(fns, start_method=start_method))


def test_subproc_vec_env_exhaustive_preset():
    fns = [env_fn("lifegym/LifeLike-Stats-v0", max_steps=6)] * 2
    run_sb3(SubprocVecEnv(fns, start_method="fork"))


# ------------------------------------------------------------------------ MaskablePPO


# A short MaskablePPO run on every preset: one rollout of 2 x 128 steps on the presets with
# the exact engine, of 2 x 64 where the engine simulates many rules per experiment
# (exhaustive, search), to keep CI short.
def ppo_steps(env_id: str) -> int:
    slow = str(PRESETS[env_id][0].get("inference")).startswith(("exhaustive", "search"))
    return 128 if slow else 256


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_maskable_ppo_runs_on_a_dummy_vec_env(env_id):
    venv = DummyVecEnv([env_fn(env_id)] * 2)
    assert is_masking_supported(venv)
    steps = ppo_steps(env_id)
    model = MaskablePPO(
        "MultiInputPolicy",
        venv,
        n_steps=steps // 2,
        batch_size=64,
        seed=0,
        device="cpu",
        verbose=0,
    )
    model.learn(total_timesteps=steps)
    assert model.num_timesteps >= steps
    obs = venv.reset()
    masks = get_action_masks(venv)
    actions, _ = model.predict(obs, action_masks=masks, deterministic=True)
    assert all(masks[i, a] for i, a in enumerate(actions))
    venv.close()


def test_maskable_ppo_runs_on_a_single_env():
    env = env_fn("lifegym/LifeLike-Noisy-v0")()
    model = MaskablePPO(
        "MultiInputPolicy", env, n_steps=64, batch_size=64, seed=0, device="cpu", verbose=0
    )
    model.learn(total_timesteps=512)
    obs, _ = env.reset(seed=0)
    mask = env.unwrapped.action_masks()
    action, _ = model.predict(obs, action_masks=mask, deterministic=True)
    assert mask[int(action)]
    env.step(int(action))
