"""The RL path: a tiny MaskablePPO training run, the saved policy as an agent, its errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from lifegym.agents import make_agent, run_episode
from lifegym.agents.train_rl import main as train_main
from lifegym.cli import main


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    argv = ["--steps", "128", "--envs", "2", "--n-steps", "32", "--checkpoint-every", "64"]
    assert train_main([*argv, "--seed", "1", "--out", str(out)]) == 0
    return out


def test_training_writes_policy_curve_checkpoints_and_settings(policy: Path) -> None:
    assert (policy / "policy.zip").is_file()
    with open(policy / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and int(rows[-1]["time/total_timesteps"]) == 128
    assert sorted(p.name for p in (policy / "checkpoints").iterdir())  # at least one
    settings = json.loads((policy / "train.json").read_text())
    assert settings["algorithm"] == "maskable-ppo" and settings["steps"] == 128
    assert settings["env"] == "lifegym/LifeLike-Noisy-v0" and settings["wall_s"] > 0


def test_policy_agent_plays_only_allowed_actions(policy: Path) -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0", max_steps=40)
    agent = make_agent(f"maskable-ppo:{policy / 'policy.zip'}", env)
    obs, info = env.reset(seed=2, options={"rule": "B3/S23"})
    agent.reset(2)
    for _ in range(40):
        mask = env.unwrapped.action_masks()
        action = agent.act(obs, info, mask)
        assert mask[action]
        probs = agent.probabilities(obs)
        assert probs.shape == mask.shape and np.isclose(probs.sum(), 1.0)
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    assert "result" in info
    again = run_episode(env, agent, "B3/S23", seed=2)
    times = {"wall_s": again["wall_s"], "agent_cpu_s": again["agent_cpu_s"]}
    assert again == {**run_episode(env, agent, "B3/S23", seed=2), **times}


def test_policy_errors_name_the_problem(policy: Path, tmp_path: Path) -> None:
    env = gym.make("lifegym/LifeLike-Noisy-v0")
    path = policy / "policy.zip"
    with pytest.raises(ValueError, match="no saved policy"):
        make_agent(f"ppo:{tmp_path / 'missing.zip'}", env)
    with pytest.raises(ValueError, match="is a maskable-ppo policy, not ppo"):
        make_agent(f"ppo:{path}", env)
    with pytest.raises(ValueError, match="action space"):
        make_agent(f"maskable-ppo:{path}", gym.make("lifegym/Isotropic-Noisy-v0"))


def test_bench_runs_a_saved_policy(policy: Path, capsys) -> None:
    name = f"maskable-ppo:{policy / 'policy.zip'}"
    noisy = ["--env", "lifegym/LifeLike-Noisy-v0"]  # the env the policy was trained on
    assert main(["bench", *noisy, "--agent", name, "--rules", "random:2"]) == 0
    assert f"| {name} | 2 |" in capsys.readouterr().out
    assert main(["bench", *noisy, "--agent", f"ppo:{policy / 'policy.zip'}"]) == 2
    assert "is a maskable-ppo policy, not ppo" in capsys.readouterr().err


def test_wall_clock_stops_training_early(tmp_path: Path) -> None:
    argv = ["--steps", "100000", "--envs", "1", "--n-steps", "32", "--minutes", "0.001"]
    assert train_main([*argv, "--out", str(tmp_path)]) == 0
    settings = json.loads((tmp_path / "train.json").read_text())
    assert settings["max_minutes"] == 0.001
    command = ["python", "-m", "lifegym.agents.train_rl", *argv, "--out", str(tmp_path)]
    assert settings["command"] == " ".join(command)
    assert (settings["reward"], settings["experiment_weight"]) == ("info_gain", 1.0)
    assert settings["ent_coef"] == 0.0
    assert 1 <= settings["steps_done"] < 100_000


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--minutes", "0"),
        ("--steps", "0"),
        ("--envs", "-1"),
        ("--reward", "oracle"),
        ("--experiment-weight", "-1"),
        ("--ent-coef", "-0.5"),
        ("--ent-coef", "nan"),
    ],
)
def test_bad_training_settings_are_named(flag: str, value: str, tmp_path: Path, capsys) -> None:
    assert train_main([flag, value, "--out", str(tmp_path)]) == 2
    assert flag.lstrip("-").replace("-", "_").split("_")[0] in capsys.readouterr().err


def test_tensorboard_event_files(tmp_path: Path) -> None:
    argv = ["--steps", "64", "--envs", "1", "--n-steps", "32", "--tensorboard"]
    assert train_main([*argv, "--out", str(tmp_path)]) == 0
    assert list(tmp_path.glob("events.out.tfevents.*"))


def _committed_policy_rows(name: str, env_id: str) -> list[dict]:
    """Episodes of the committed policy ``benchmarks/policies/<name>`` on B3/S23 and
    B36/S23 (seeds 0 and 1)."""
    path = Path(__file__).resolve().parent.parent / "benchmarks/policies" / name
    env = gym.make(env_id)
    agent = make_agent(f"maskable-ppo:{path}", env)
    return [run_episode(env, agent, rule, seed=i) for i, rule in enumerate(["B3/S23", "B36/S23"])]


def test_the_committed_policy_still_plays_its_env() -> None:
    # The policy in benchmarks/policies/ must keep loading as the env evolves (its
    # observation and action spaces are part of the saved model).
    rows = _committed_policy_rows("noisy-maskable-ppo.zip", "lifegym/LifeLike-Noisy-v0")
    assert all(row["exact"] and row["submitted_by"] == "agent" for row in rows)


def test_the_committed_v1_policy_still_plays_its_env() -> None:
    # The v1 policy (benchmarks/policies/README.md) identifies these rules on Noisy-v1;
    # a change of the env's spaces or of what its observations mean shows here first.
    rows = _committed_policy_rows("noisy-v1-maskable-ppo.zip", "lifegym/LifeLike-Noisy-v1")
    assert all(row["identified"] and row["submitted_by"] == "agent" for row in rows)
    assert all(row["n_experiments"] >= 3 and row["compute_cost"] == 0 for row in rows)


def test_reward_goes_through_its_own_arguments(tmp_path: Path) -> None:
    from lifegym.agents.train_rl import train

    with pytest.raises(ValueError, match="reward="):
        train("lifegym/LifeLike-Noisy-v0", tmp_path, steps=8, env_kwargs={"reward": "terminal"})


def test_a_policy_named_with_the_wrong_algorithm_says_which_it_is() -> None:
    from lifegym.agents.rl import load_policy

    path = Path(__file__).resolve().parent.parent / "benchmarks/policies/noisy-maskable-ppo.zip"
    with pytest.raises(ValueError, match="is a maskable-ppo policy, not ppo: name it maskable"):
        load_policy("ppo", path)
