"""``python -m lifegym.agents.train_rl`` as a user runs it: progress, Ctrl-C, bad ids."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from lifegym.agents.rl import load_policy

TRAIN = [sys.executable, "-m", "lifegym.agents.train_rl"]


def test_ctrl_c_saves_a_loadable_policy_and_train_json(tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = [*TRAIN, "--env", "lifegym/LifeLike-Noisy-v1", "--steps", "10000000", "--envs", "2"]
    argv += ["--n-steps", "64", "--out", str(out)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "progress.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.5)  # until the first rollout has been learned from
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert " steps" in stderr  # the progress bar
    record = json.loads((out / "train.json").read_text())
    assert record["stopped_by"] == "interrupt" and 0 < record["steps_done"] < 10_000_000
    assert record["env"] == "lifegym/LifeLike-Noisy-v1" and record["n_envs"] == 2
    assert record["vectorize"] == "native"  # the v1 ids train on the native vector env
    assert "interrupted (Ctrl-C)" in stdout
    load_policy("maskable-ppo", out / "policy.zip")


def test_a_wrong_env_id_fails_in_a_few_lines(tmp_path: Path) -> None:
    argv = [*TRAIN, "--env", "LifeLike-Noisy-v0", "--out", str(tmp_path / "run")]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 4 and "unknown env 'LifeLike-Noisy-v0'" in result.stderr
    assert not (tmp_path / "run").exists()  # nothing started, nothing written


def test_help_shows_defaults_and_the_real_program_name() -> None:
    result = subprocess.run([*TRAIN, "--help"], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("usage: python -m lifegym.agents.train_rl")
    assert "(default: lifegym/LifeLike-Noisy-v0)" in result.stdout


def test_normalized_observations_are_saved_and_applied_when_the_policy_plays(
    tmp_path: Path,
) -> None:
    """--normalize-obs: the running statistics are saved beside the policy and each
    checkpoint, recorded in train.json, and a PolicyAgent feeds the policy what training
    fed it; without the statistics a normalised policy refuses to load."""
    import gymnasium as gym
    import numpy as np
    import pytest

    import lifegym  # noqa: F401
    from lifegym.agents.rl import PolicyAgent
    from lifegym.agents.train_rl import observation_statistics, train

    out = tmp_path / "run"
    path = train(
        "lifegym/LifeLike-Noisy-v1", out, steps=128, n_envs=2, n_steps=32,
        checkpoint_every=64, normalize_obs=True,
    )  # fmt: skip
    assert json.loads((out / "train.json").read_text())["normalize_obs"] is True
    assert observation_statistics(path) == out / "policy_vecnormalize.pkl"
    assert observation_statistics(path).exists()
    checkpoints = sorted((out / "checkpoints").glob("policy_*_steps.zip"))
    assert checkpoints and all(observation_statistics(c).exists() for c in checkpoints)

    env = gym.make("lifegym/LifeLike-Noisy-v1")
    obs, _ = env.reset(seed=3)
    obs, *_ = env.step(0)
    agent = PolicyAgent(env, "maskable-ppo", path)
    seen = agent.normalizer.normalize_obs(obs)
    assert not np.allclose(seen["spent_per_item"], obs["spent_per_item"])
    policy = agent.model.policy
    tensor, _ = policy.obs_to_tensor(seen)
    expected = policy.get_distribution(tensor).distribution.probs[0].detach().double().numpy()
    np.testing.assert_allclose(agent.probabilities(obs), expected)

    observation_statistics(path).unlink()
    with pytest.raises(ValueError, match=r"policy_vecnormalize\.pkl"):
        PolicyAgent(env, "maskable-ppo", path)
