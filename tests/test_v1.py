"""The v1 experiment space: menu sizes and probes, the cost model, designed experiments
(``design=True``), the oracle reference and what informed agents must reach on it."""

from __future__ import annotations

import itertools
import re
import warnings

import gymnasium as gym
import numpy as np
import pytest
from examples import first_rule
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import make_agent, run_episode
from lifegym.bounds import sighting_bound
from lifegym.design import class_counts
from lifegym.env import RuleDiscoveryEnv
from lifegym.io import write_rle
from lifegym.registration import PRESETS

V1_IDS = [env_id for env_id in PRESETS if env_id.endswith("-v1")]
NOISY = "lifegym/LifeLike-Noisy-v1"


def raw(env: gym.Env) -> RuleDiscoveryEnv:
    unwrapped = env.unwrapped
    assert isinstance(unwrapped, RuleDiscoveryEnv)
    return unwrapped


def test_every_v0_preset_has_a_v1_twin_and_the_new_presets_exist():
    v0 = [env_id for env_id in PRESETS if env_id.endswith("-v0")]
    assert {env_id.replace("-v0", "-v1") for env_id in v0} <= set(V1_IDS)
    for new in ("Isotropic-Stats", "Free-Noisy", "Hex-Noisy", "VonNeumann-Noisy"):
        assert f"lifegym/{new}-v1" in V1_IDS
    for env_id in v0:  # v0 keeps its menu: every item on the whole world
        assert all(item.world is None for item in raw(gym.make(env_id)).menu)


@pytest.mark.parametrize(
    "env_id",
    ["lifegym/LifeLike-Noisy-v1", "lifegym/LifeLike-Strided-v1", "lifegym/LifeLike-Window-v1"],
)
def test_v1_menu_has_sizes_and_a_probe_per_free_bit(env_id):
    env = raw(gym.make(env_id))
    model = env.model
    shapes = {item.shape_in(env.world) for item in env.menu if item.kind == "soup"}
    assert len(shapes) >= 3 and env.world in shapes
    smallest = model.window or (3, 3)
    assert all(h >= smallest[0] and w >= smallest[1] for h, w in shapes)
    probes = [item for item in env.menu if item.name.startswith("probe-")]
    assert [p.name for p in probes] == [f"probe-{name}" for name in env.space.free_names]
    assert all(p.kind == "design" and p.steps == model.stride for p in probes)
    for item, cost in zip(env.menu, env.item_costs, strict=True):  # the cost model
        h, w = model.region(*item.shape_in(env.world))
        assert cost == h * w * len(range(model.stride, item.steps + 1, model.stride))


def test_probe_shows_its_bit_and_costs_its_cells():
    env = gym.make(NOISY)
    u = raw(env)
    env.reset(seed=0, options={"rule": "B3/S23"})
    index = [item.name for item in u.menu].index("probe-B8")
    _, _, _, _, info = env.step(index)
    assert info["experiment_cost"] == 36
    trajectory = u.trajectories[-1]
    assert trajectory.world_shape == (6, 6)
    classes = np.asarray(u.space.family.orbit_of, dtype=np.int64)
    b8 = u.space.family.bit_names.index("B8")
    assert class_counts(trajectory.initial, classes, 18)[b8] >= 8


# ---------------------------------------------------------------------------- designs


def test_design_space_and_both_checkers():
    env = gym.make(NOISY, design=True)
    space = env.action_space
    assert isinstance(space, gym.spaces.Dict)
    assert set(space) == {"design", "action", "cells", "size", "steps"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(gym.make(NOISY, design=True), warn=True)
    # SB3 states that it cannot train on Dict actions (nor on non-zero starts); nothing else.
    assert all("not supported" in str(w.message) for w in caught), [str(w) for w in caught]


def test_design_action_is_in_the_space_and_runs_exactly_those_cells():
    env = gym.make(NOISY, design=True)
    u = raw(env)
    env.reset(seed=1, options={"rule": "B36/S23"})
    cells = (np.random.default_rng(0).random((7, 11)) < 0.5).astype(np.uint8)
    action = u.design_action(cells, 3)
    assert env.action_space.contains(action)
    _, _, _, _, info = env.step(action)
    assert info["action"] == "design 7x11 x3"
    assert info["experiment_cost"] == 7 * 11 * 3
    trajectory = u.trajectories[-1]
    np.testing.assert_array_equal(trajectory.initial, cells)
    assert trajectory.steps == 3 and trajectory.frames.shape == (3, 7, 11)
    for text in (write_rle(cells), "\n".join("".join(".o"[c] for c in row) for row in cells)):
        env.step({"design": 1, "cells": text, "steps": 1})
        np.testing.assert_array_equal(u.trajectories[-1].initial, cells)
    _, _, _, _, info = env.step(0)  # a plain int is the Discrete face
    assert info["action"].startswith("request ")


def lab_state(env: RuleDiscoveryEnv) -> tuple:
    lab = env.lab
    return (lab.experiment_spent, len(lab.trajectories), env.belief.p_one.tolist())


@pytest.mark.parametrize(
    ("cells", "steps", "message"),
    [
        (np.zeros((2, 5), dtype=np.uint8), 1, "world 2x5 is outside the allowed sizes: height 3"),
        (np.zeros((61, 5), dtype=np.uint8), 1, "(61, 5)"),
        (np.full((4, 4), 2), 1, "found 2"),
        (np.zeros((4, 4), dtype=np.float64) + 0.5, 1, "0.5"),
        (np.zeros((4, 4, 1), dtype=np.uint8), 1, "(4, 4, 1)"),
        (".o.\n.x.\nooo", 1, "'x'"),
        ("bo$2bo$3q!", 1, "q"),
        (np.zeros((4, 4), dtype=np.uint8), 0, "1..64, got 0"),
        (np.zeros((4, 4), dtype=np.uint8), 65, "1..64, got 65"),
        (np.zeros((4, 4), dtype=np.uint8), 1.0, "got 1.0"),
    ],
)
def test_bad_designs_name_the_value_and_the_limit_and_leave_the_env_usable(cells, steps, message):
    env = gym.make(NOISY, design=True)
    u = raw(env)
    env.reset(seed=2)
    env.step(u.design_action(np.ones((3, 3), dtype=np.uint8), 1))
    before = lab_state(u)
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        env.step({"design": 1, "cells": cells, "steps": steps})
    assert lab_state(u) == before
    _, _, terminated, _, info = env.step(u.design_action(np.ones((3, 3), dtype=np.uint8), 1))
    assert not terminated and "rejected" not in info


def test_window_preset_designs_must_hold_the_window():
    env = gym.make("lifegym/LifeLike-Window-v1", design=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"20x40 is outside the allowed sizes: height 30.*window"):
        env.step({"design": 1, "cells": np.zeros((20, 40), dtype=np.uint8), "steps": 1})
    _, _, _, _, info = env.step(raw(env).design_action(np.zeros((31, 40), np.uint8), 2))
    assert info["experiment_cost"] == 30 * 30 * 2  # only the window is observed


def test_strided_design_costs_only_the_observed_frames():
    env = gym.make("lifegym/LifeLike-Strided-v1", design=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="stride 2"):
        env.step({"design": 1, "cells": np.zeros((5, 5), dtype=np.uint8), "steps": 1})
    _, _, _, _, info = env.step(raw(env).design_action(np.zeros((5, 5), np.uint8), 5))
    assert info["experiment_cost"] == 25 * 2  # frames 2 and 4


def test_unaffordable_design_is_rejected_not_raised():
    env = gym.make(NOISY, design=True, experiment_budget=100)
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(raw(env).design_action(np.ones((10, 11)), 1))
    assert "cannot pay" in info["rejected"] and reward < 0 and not terminated
    assert raw(env).lab.experiment_spent == 0


def test_designed_episodes_are_deterministic():
    def play(seed: int) -> list:
        env = gym.make(NOISY, design=True)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        out = []
        for _ in range(6):
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            out.append((obs["p_one"].tolist(), reward, info["map_rule"], info["action"]))
            if terminated or truncated:
                break
        return out

    assert play(4) == play(4)


# ------------------------------------------------------------------- oracle, agents


def test_only_the_oracle_is_a_reference():
    from lifegym.agents import AGENTS, is_reference

    assert [name for name in AGENTS if is_reference(name)] == ["oracle"]


RULES = ["B3/S23", "B36/S23", "B2/S", "B3678/S34678", "B0125/S1478"]


def test_oracle_and_infogain_on_designed_noisy_experiments():
    env = gym.make(NOISY, design=True)
    oracle, infogain = make_agent("oracle", env), make_agent("infogain", env)
    rows = {
        agent.name: [run_episode(env, agent, rule, seed=i) for i, rule in enumerate(RULES)]
        for agent in (oracle, infogain)
    }
    assert all(row["exact"] and row["belief_entropy"] <= 0.1 for row in rows["oracle"])
    assert all(row["exact"] for row in rows["infogain"])
    oracle_costs = [row["experiment_cost"] for row in rows["oracle"]]
    assert np.median(oracle_costs) <= 400
    assert min(oracle_costs) >= sighting_bound(18, 0.05, 0.1)
    mean = {name: np.mean([r["experiment_cost"] for r in group]) for name, group in rows.items()}
    assert mean["infogain"] <= 2 * mean["oracle"]


@pytest.mark.parametrize("env_id", ["lifegym/Hex-Noisy-v1", "lifegym/VonNeumann-Noisy-v1"])
def test_infogain_identifies_hex_and_von_neumann_rules_with_designs(env_id):
    env = gym.make(env_id, design=True)
    agent = make_agent("infogain", env)
    family = raw(env).space.family.name
    for seed in range(2):
        row = run_episode(env, agent, first_rule(family) if seed == 0 else None, seed=seed)
        assert row["exact"], row


def test_emulator_loop_starts_small_and_grows_the_world_while_the_rule_moves():
    env = gym.make(NOISY)
    agent = make_agent("emulator-loop", env)
    shapes = []

    def watch(info):
        if info["action"].startswith("request "):
            item = next(i for i in raw(env).menu if i.name == info["action"][8:])
            shapes.append(item.shape_in(raw(env).world))

    row = run_episode(env, agent, rule="B3/S23", seed=0, watch=watch)
    assert row["exact"]
    assert shapes[0] == (16, 16)  # the smallest world with 8 cells per free bit
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(shapes))
    assert row["experiment_cost"] < 7200  # v0's cheapest whole-world soup


@pytest.mark.parametrize("env_id", V1_IDS)
def test_every_v1_id_with_designs_passes_the_gymnasium_checker(env_id):
    kwargs = {"world": (20, 20), "design": True, "max_experiment_steps": 8}
    if "window" in PRESETS[env_id][0]:
        kwargs["window"] = (12, 12)
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.reset(seed=0)
    action = raw(env).design_action(np.eye(12, dtype=np.uint8), raw(env).model.stride)
    assert env.action_space.contains(action)
    _, _, _, _, info = env.step(action)
    assert info["experiment_cost"] > 0


def test_v0_ids_reproduce_the_committed_leaderboard():
    """v1 changed nothing of v0: committed v0 episodes replay to the same results (rows
    written before agents had a stream of their own seeded the agent with the env's seed)."""
    import json
    from pathlib import Path

    from lifegym import bench

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "leaderboard.json"
    rows = json.loads(path.read_text())["rows"]
    picked = {}
    for row in rows:  # the first coverage and infogain episode of each v0 env
        key = (row["env"], row["agent"])
        if row["agent"] in ("coverage", "infogain") and row["inference"] != "emulator":
            picked.setdefault(key, row)
    assert len(picked) >= 10
    keys = ["true_rule", "submitted_rule", "exact", "experiment_cost", "compute_cost", "steps"]
    for row in picked.values():
        rule = row["rule"] if row["rule_set"] == "named" else None
        agent_seed = row.get("agent_seed", row["seed"])
        job = bench.Job(row["env"], row["agent"], rule, row["seed"], agent_seed=agent_seed)
        new = bench.run_job(job)
        assert {k: new[k] for k in keys} == {k: row[k] for k in keys}, row["env"]
