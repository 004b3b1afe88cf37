"""``python -m lifegym.agents.train_rl`` and ``lifegym train`` as a user runs them:
progress, Ctrl-C, bad ids, and the two command lines doing the same."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifegym import cli
from lifegym.agents import train_rl
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


# ------------------------------------------------------------------ lifegym train


def _options(help_text: str) -> str:
    """The options section of an argparse help (the usage line names the program)."""
    return help_text[help_text.index("\noptions:") :]


def test_lifegym_train_help_lists_the_module_options(capsys: pytest.CaptureFixture[str]) -> None:
    """``lifegym train`` declares its options through the module's
    ``add_training_arguments``: the same options, defaults and help lines."""
    with pytest.raises(SystemExit) as exit_info:
        train_rl.main(["--help"])
    assert exit_info.value.code == 0
    module_help = capsys.readouterr().out
    assert cli.main(["train", "--help"]) == 0
    cli_help = capsys.readouterr().out
    assert cli_help.startswith("usage: lifegym train")
    assert _options(cli_help) == _options(module_help)
    for option in ("--env", "--algo", "--steps", "--out", "--minutes", "--ent-coef"):
        assert option in _options(cli_help)


def test_lifegym_train_writes_what_the_module_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A tiny run (64 env steps) through ``lifegym train`` and through the module: the same
    files, the same settings in train.json (but the command that ran), the same learning
    curve but its timings, and the same trained weights."""
    import torch
    from sb3_contrib import MaskablePPO

    options = ["--env", "lifegym/LifeLike-Noisy-v1", "--steps", "64", "--envs", "2"]
    options += ["--n-steps", "32"]
    module_out, cli_out = tmp_path / "module", tmp_path / "cli"
    assert train_rl.main([*options, "--out", str(module_out)]) == 0
    assert "after 64 of 64 steps: reached --steps" in capsys.readouterr().out
    assert cli.main(["train", *options, "--out", str(cli_out)]) == 0
    assert "after 64 of 64 steps: reached --steps" in capsys.readouterr().out

    for name in ("policy.zip", "train.json", "progress.csv"):
        assert (module_out / name).is_file() and (cli_out / name).is_file(), name
    module_record = json.loads((module_out / "train.json").read_text())
    cli_record = json.loads((cli_out / "train.json").read_text())
    assert module_record.pop("command").startswith("python -m lifegym.agents.train_rl --env")
    assert cli_record.pop("command").startswith("lifegym train --env")
    del module_record["wall_s"], cli_record["wall_s"]
    assert cli_record == module_record and cli_record["steps_done"] == 64

    def curve(path: Path) -> list[dict[str, str]]:  # the learning curve without its timings
        timings = {"time/fps", "time/time_elapsed"}
        with path.open() as file:
            rows = list(csv.DictReader(file))
        return [{key: value for key, value in row.items() if key not in timings} for row in rows]

    assert curve(cli_out / "progress.csv") == curve(module_out / "progress.csv")
    assert curve(cli_out / "progress.csv")[-1]["time/total_timesteps"] == "64"
    module_weights = MaskablePPO.load(module_out / "policy.zip").policy.state_dict()
    cli_weights = MaskablePPO.load(cli_out / "policy.zip").policy.state_dict()
    assert module_weights.keys() == cli_weights.keys()
    assert all(torch.equal(module_weights[key], cli_weights[key]) for key in module_weights)


def test_lifegym_train_refuses_a_wrong_env_id_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["train", "--env", "LifeLike-Noisy-v0", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("lifegym train: error: unknown env 'LifeLike-Noisy-v0'")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()
