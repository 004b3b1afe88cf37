"""The native vector env (``gym.make_vec`` of a v1 id): the same episodes as single envs for
the same seeds and actions, its errors, partial resets, its trajectory arena and kernels,
and MaskablePPO training on it through the SB3 adapter."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from examples import assert_same
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import lifegym  # noqa: F401  (registers the ids)
from lifegym.registration import PRESETS
from lifegym.rules import Rule
from lifegym.sim import bs_rule_words, simulate
from lifegym.vector import MaskedSyncVectorEnv, RuleDiscoveryVectorEnv, make_vector_env
from lifegym.vector.arena import Arena
from lifegym.vector.kernels import _narrow_step

V1_IDS = [env_id for env_id in PRESETS if env_id.endswith("-v1")]
#: Presets whose engine is slow per step: fewer steps in the comparison.
SLOW = {
    "lifegym/Isotropic-Stats-v1": 4,
    "lifegym/LifeLike-Strided-v1": 6,
    "lifegym/LifeLike-Stats-v1": 5,
}


def small(env_id: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"world": (16, 16), "max_steps": 20}
    if "window" in PRESETS[env_id][0]:
        kwargs.update(world=(24, 24), window=(10, 10))
    return kwargs


def play_both(env_id: str, steps: int, mode: AutoresetMode, n: int = 3, **kwargs: Any) -> int:
    """Drive the vector entry point's env and a SyncVectorEnv of single envs with the same
    seeds and actions (random valid ones, and now and then a masked one); returns the
    number of episodes that ended."""
    kwargs = {**small(env_id), **kwargs}
    native = gym.make_vec(env_id, num_envs=n, autoreset_mode=mode, **kwargs)
    single = gym.vector.SyncVectorEnv([lambda: gym.make(env_id, **kwargs)] * n, autoreset_mode=mode)
    ended = 0
    try:
        assert_same(native.reset(seed=11), single.reset(seed=11), "reset")
        rng = np.random.default_rng(0)
        for t in range(steps):
            masks = native.action_masks()
            assert masks.shape == (n, native.single_action_space.n) and masks.dtype == bool
            assert_same(masks, np.stack(single.call("action_masks")), f"mask {t}")
            actions = (rng.random(masks.shape) * masks).argmax(axis=1)
            if t % 5 == 2:
                actions[0] = rng.integers(masks.shape[1])  # maybe masked: rejected alike
            got, want = native.step(actions), single.step(actions)
            for name, x, y in zip(
                ("obs", "reward", "term", "trunc", "info"), got, want, strict=True
            ):
                assert_same(x, y, f"step {t} {name}")
            ended += int((got[2] | got[3]).sum())
    finally:
        native.close()
        single.close()
    return ended


@pytest.mark.parametrize("env_id", V1_IDS)
def test_every_v1_preset_plays_the_single_envs_episodes(env_id: str) -> None:
    ended = play_both(env_id, SLOW.get(env_id, 40), AutoresetMode.NEXT_STEP)
    assert env_id in SLOW or ended > 0  # episodes ended and the next ones started alike


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("lifegym/LifeLike-Noisy-v1", {}),
        ("lifegym/LifeLike-Full-v1", {"reward": "terminal", "max_steps": 7}),
        ("lifegym/Isotropic-Noisy-v1", {"max_steps": 9}),
    ],
)
def test_same_step_autoreset_plays_the_same_episodes(env_id: str, kwargs: dict) -> None:
    assert play_both(env_id, 50, AutoresetMode.SAME_STEP, **kwargs) > 0


@pytest.mark.parametrize(
    ("world", "window"), [((20, 70), None), ((24, 130), (12, 100)), ((18, 64), None)]
)
def test_worlds_wider_than_a_word_play_the_same_episodes(world: tuple, window: tuple) -> None:
    # Grids over 64 cells wide take the kernels' general path, 64 the one-word path's edge.
    kwargs = {"world": world, "menu": "v0", "max_steps": 12, "window": window}
    env_id = "lifegym/LifeLike-Window-v1" if window else "lifegym/LifeLike-Noisy-v1"
    assert play_both(env_id, 30, AutoresetMode.NEXT_STEP, **kwargs) > 0


def test_the_exact_presets_are_batched_and_the_rest_fall_back() -> None:
    batched = [e for e in V1_IDS if PRESETS[e][0].get("inference", "exact") == "exact"]
    assert len(batched) >= 8
    for env_id in V1_IDS:
        env = gym.make_vec(env_id, num_envs=2, **small(env_id))  # the default mode
        kind = RuleDiscoveryVectorEnv if env_id in batched else MaskedSyncVectorEnv
        assert type(env) is kind, env_id
        assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
        env.close()
    designed = make_vector_env(2, **PRESETS["lifegym/LifeLike-Noisy-v1"][0], design=True)
    assert type(designed) is MaskedSyncVectorEnv
    with pytest.raises(ValueError, match="design=True"):
        RuleDiscoveryVectorEnv(2, **PRESETS["lifegym/LifeLike-Noisy-v1"][0], design=True)
    # the v0 ids batch single envs, as Gymnasium's SyncVectorEnv would (same episodes)
    v0 = gym.make_vec("lifegym/LifeLike-Noisy-v0", 2, vectorization_mode="vector_entry_point")
    v0.reset(seed=0)
    assert type(v0) is MaskedSyncVectorEnv and v0.action_masks().shape[0] == 2
    v0.close()


def test_bad_actions_are_named_and_leave_the_batch_usable() -> None:
    env = gym.make_vec(
        "lifegym/LifeLike-Noisy-v1", num_envs=3, **small("lifegym/LifeLike-Noisy-v1")
    )
    env.reset(seed=0)
    n_actions = env.single_action_space.n
    before = env.action_masks()
    with pytest.raises(ValueError, match=rf"actions\[1\] = {n_actions} .* 0\.\.{n_actions - 1}"):
        env.step(np.array([0, n_actions, 0]))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        env.step(np.array([0, 0]))
    with pytest.raises(ValueError, match="ints"):
        env.step(np.array([0.5, 0, 0]))
    assert np.array_equal(env.action_masks(), before)
    _, _, _, _, info = env.step(np.zeros(3, dtype=int))
    assert list(info["experiment_cost"]) == [int(env.settings.item_costs[0])] * 3
    for bad, match in (
        ({"num_envs": 0}, "num_envs"),
        ({"num_envs": 2, "autoreset_mode": "Disabled"}, "autoreset_mode"),
    ):
        with pytest.raises(ValueError, match=match):
            RuleDiscoveryVectorEnv(**bad, **PRESETS["lifegym/LifeLike-Noisy-v1"][0])
    with pytest.raises(ValueError, match="num_envs=3"):
        env.reset(seed=[1, 2])
    with pytest.raises(RuntimeError, match="reset"):
        RuleDiscoveryVectorEnv(2, world=(8, 8)).step(np.zeros(2, dtype=int))


def test_reset_mask_restarts_only_the_chosen_episodes() -> None:
    kwargs = small("lifegym/LifeLike-Noisy-v1")
    env = gym.make_vec("lifegym/LifeLike-Noisy-v1", num_envs=3, **kwargs)
    env.reset(seed=[5, 6, 7])
    env.step(np.zeros(3, dtype=int))
    obs, info = env.reset(seed=[9, None, None], options={"reset_mask": np.array([1, 0, 0], bool)})
    assert list(info["_action"]) == [True, False, False] and info["action"][0] == "reset"
    assert obs["budget_left"][0, 0] == 1.0 and obs["budget_left"][1, 0] < 1.0
    single = gym.make("lifegym/LifeLike-Noisy-v1", **kwargs)
    assert_same({k: v[0] for k, v in obs.items()}, single.reset(seed=9)[0])
    with pytest.raises(ValueError, match="reset_mask"):
        env.reset(options={"reset_mask": np.zeros(3, bool)})


def test_maskable_ppo_trains_on_the_native_env_through_the_sb3_adapter() -> None:
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
    from stable_baselines3.common.vec_env import VecMonitor

    from lifegym.vector.sb3 import SB3VecEnv

    with pytest.raises(ValueError, match="SAME_STEP"):
        SB3VecEnv(gym.make_vec("lifegym/LifeLike-Noisy-v1", num_envs=2))
    native = gym.make_vec(
        "lifegym/LifeLike-Noisy-v1", num_envs=4, autoreset_mode="SameStep", world=(12, 12),
        max_steps=6,
    )  # fmt: skip
    venv = VecMonitor(SB3VecEnv(native))
    venv.seed(3)
    venv.reset()
    assert is_masking_supported(venv) and get_action_masks(venv).shape == (
        4,
        native.single_action_space.n,
    )
    model = MaskablePPO("MultiInputPolicy", venv, n_steps=16, batch_size=32, seed=0)
    model.learn(64)
    assert model.num_timesteps >= 64
    # An ended episode's info: SB3's keys and the single env's result.
    venv.reset()
    for _ in range(6):
        _, rewards, dones, infos = venv.step(np.full(4, native.settings.layout.submit))
        assert rewards.dtype == np.float32 and dones.all()
        for info in infos:
            assert {"terminal_observation", "TimeLimit.truncated", "result", "episode"} <= set(info)
            assert info["result"]["submitted_by"] == "agent"
    venv.close()


def test_noise_past_the_first_draws_draws_again_as_the_single_env_does(monkeypatch) -> None:
    import lifegym.observe
    import lifegym.vector.env

    def few(n: int, p: float) -> int:  # far fewer draws than cells need: draw again
        return 3

    monkeypatch.setattr(lifegym.observe, "bernoulli_chunk", few)
    monkeypatch.setattr(lifegym.vector.env, "bernoulli_chunk", few)
    assert play_both("lifegym/LifeLike-Noisy-v1", 12, AutoresetMode.NEXT_STEP, max_steps=6) > 0


@given(
    sizes=st.lists(st.integers(1, 40), min_size=1, max_size=30),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_the_arena_keeps_the_trajectories_it_is_told_to_keep(sizes: list[int], data) -> None:
    arena = Arena(np.uint8)
    arena.cells = np.zeros(8, dtype=np.uint8)  # small: reserve must grow it
    arena.layout = np.zeros((2, 6), dtype=np.int64)
    contents = []
    ids = []
    for start in range(0, len(sizes), 3):  # batches of up to three trajectories
        batch = np.array(sizes[start : start + 3], dtype=np.int64)
        shapes = np.arange(len(batch) * 5).reshape(len(batch), 5) + start
        first, offsets = arena.reserve(batch, shapes)
        for k, (offset, size) in enumerate(zip(offsets.tolist(), batch.tolist(), strict=True)):
            values = (np.arange(size) * 7 + first + k) % 251
            arena.cells[offset : offset + size] = values
            contents.append((values, shapes[k]))
            ids.append(first + k)
    assert ids == list(range(len(sizes)))
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True))  # kept, in any order
    owner = data.draw(st.lists(st.integers(0, 3), min_size=len(chosen), max_size=len(chosen)))
    keep = [[t for t, e in zip(chosen, owner, strict=True) if e == episode] for episode in range(4)]
    flat = [t for episode in keep for t in episode]
    renamed = arena.compact(keep)
    assert arena.count == len(flat)
    assert sorted(t for episode in renamed for t in episode) == list(range(len(flat)))
    for old_ids, new_ids in zip(keep, renamed, strict=True):
        for old, new in zip(old_ids, new_ids, strict=True):
            values, shape = contents[old]
            offset = int(arena.layout[new, 0])
            assert np.array_equal(arena.cells[offset : offset + len(values)], values)
            assert np.array_equal(arena.layout[new, 1:], shape)
    assert arena.used == sum(len(contents[t][0]) for t in flat)


@given(
    height=st.integers(1, 12),
    width=st.integers(1, 64),
    bits=st.lists(st.booleans(), min_size=18, max_size=18),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=80, deadline=None)
def test_the_one_word_row_step_is_the_simulator_s(
    height: int, width: int, bits: list[bool], seed: int
) -> None:
    rule = Rule.from_bits(np.array(bits, dtype=np.uint8), "totalistic")
    grid = (np.random.default_rng(seed).random((height, width)) < 0.5).astype(np.uint8)
    want = simulate(rule, grid[None], 3, kernel="bitpacked")[0]
    place = np.uint64(1) << np.arange(width, dtype=np.uint64)
    rows = (grid.astype(np.uint64) * place).sum(axis=1, dtype=np.uint64)
    after, halo = np.empty_like(rows), np.empty((3, height + 2), dtype=np.uint64)
    born, flip = bs_rule_words(np.array(bits, dtype=np.uint8))
    for step in range(1, 4):
        _narrow_step(rows, after, halo, width, born, flip)
        rows, after = after, rows
        got = ((rows[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8)
        assert np.array_equal(got, want[step]), step


def test_noiseless_counts_beyond_int64_play_the_single_envs_episodes() -> None:
    """Noiseless data on 102 free bits count up to 2^102 consistent rules: the native env
    keeps them as Python ints (it once raised OverflowError at reset) and reports each
    episode's count as the single env does."""
    kwargs: dict[str, Any] = {"family": "isotropic", "menu": "v1", "world": (16, 16)}
    native = RuleDiscoveryVectorEnv(2, **kwargs)
    singles = [gym.make("lifegym/RuleDiscovery-v1", **kwargs) for _ in range(2)]
    _, infos = native.reset(seed=3)
    for i, env in enumerate(singles):
        assert infos["n_consistent"][i] == env.reset(seed=3 + i)[1]["n_consistent"] == 2**102
    rng = np.random.default_rng(1)
    playing = [True, True]  # compared until the episode ends (the native env restarts it)
    for _ in range(6):
        masks = native.action_masks()
        actions = (rng.random(masks.shape) * masks).argmax(axis=1)
        _, rewards, ended, cut, infos = native.step(actions)
        for i, env in enumerate(singles):
            if playing[i]:
                _, reward, *_, info = env.step(int(actions[i]))
                assert (rewards[i], infos["n_consistent"][i]) == (reward, info["n_consistent"])
                playing[i] = not (ended[i] or cut[i])
    native.close()


def test_a_bad_design_anywhere_in_the_batch_changes_no_episode() -> None:
    """The design face's fallback checks every env's action before any env steps."""
    env = make_vector_env(2, **PRESETS["lifegym/LifeLike-Noisy-v1"][0], design=True)
    assert isinstance(env, MaskedSyncVectorEnv)
    env.reset(seed=0)
    good = env.envs[0].unwrapped.design_action(np.ones((4, 4), dtype=np.uint8), 2)
    bad = {**good, "steps": 10_000}
    actions = {key: np.stack([good[key], bad[key]]) for key in good}
    with pytest.raises(ValueError, match=r"actions\[1\]: .*steps"):
        env.step(actions)
    assert [len(e.unwrapped.lab.trajectories) for e in env.envs] == [0, 0]
    actions = {key: np.stack([good[key], good[key]]) for key in good}
    env.step(actions)  # still usable
    assert [len(e.unwrapped.lab.trajectories) for e in env.envs] == [1, 1]
    env.close()
