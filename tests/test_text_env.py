"""The text protocol (lifegym.protocol) and the Text envs that speak it."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import lifegym  # noqa: F401
from lifegym.protocol import Episode, ToolError, v1_presets
from lifegym.registration import TEXT_PRESETS

NOISY = "lifegym/Text-LifeLike-Noisy-v1"


def call(env: gym.Env, tool: str, **arguments):
    obs, reward, terminated, truncated, info = env.step(json.dumps({"tool": tool, **arguments}))
    return json.loads(obs), reward, terminated, truncated, info


def test_every_v1_preset_has_a_text_env_that_passes_the_checker() -> None:
    assert sorted(TEXT_PRESETS.values()) == sorted(v1_presets())
    for env_id in TEXT_PRESETS:
        env = gym.make(env_id)
        check_env(env.unwrapped, skip_render_check=True)
        task = json.loads(env.reset(seed=1)[0])
        assert task["env"] == TEXT_PRESETS[env_id] and task["tools"]


def test_a_scripted_player_plays_through_text_alone() -> None:
    env = gym.make(NOISY)
    task = json.loads(env.reset(seed=3, options={"rule": "B36/S23"})[0])
    assert task["family"] == "totalistic" and "B3/S23" in task["notation"]
    probe = next(m for m in task["menu"] if m["item"] == "probe-B6")
    reply, *_ = call(env, "run_experiment", steps=probe["steps"], item="probe-B6")
    assert reply["experiment_cost"] == probe["cost"] and len(reply["frames"]) == 1
    assert set("".join(reply["initial"])) <= {".", "o"}
    blinker = "\n".join(["......", "..o...", "..o...", "..o...", "......", "......"])
    reply, *_ = call(env, "run_experiment", steps=2, pattern=blinker)
    assert reply["times"] == [1, 2] and len(reply["frames"][1]) == 6
    reply, *_ = call(env, "run_experiment", steps=1, density=0.5, height=8, width=9)
    assert len(reply["initial"]) == 8 and len(reply["initial"][0]) == 9
    spent = task["experiment_budget"] - reply["budget_left"]["experiment"]
    assert spent == probe["cost"] + 6 * 6 * 2 + 8 * 9
    right, *_ = call(env, "test_rule", rule="B36/S23")
    wrong, *_ = call(env, "test_rule", rule="B3/S23")
    assert right["compute_cost"] > 0 and right["loglik"] >= wrong["loglik"]
    reply, reward, terminated, truncated, info = call(env, "submit_rule", rule="b36s23")
    assert terminated and not truncated and reward == 1.0
    assert info["result"]["exact"] and reply["true_rule"] == "B36/S23"
    assert info["result"]["n_tests"] == 2 and info["result"]["submitted_by"] == "agent"
    with pytest.raises(RuntimeError):
        env.step(json.dumps({"tool": "test_rule", "rule": "B3/S23"}))


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("not json", "not JSON"),
        ('["run_experiment"]', '"tool" key'),
        ('{"tool": "fly"}', "unknown tool 'fly'"),
        ('{"tool": "run_experiment", "steps": 1}', "exactly one of item, pattern or density"),
        ('{"tool": "run_experiment", "steps": 1, "colour": 3}', "unknown argument"),
        ('{"tool": "run_experiment", "steps": "1", "density": 0.5}', "steps must be an int"),
        ('{"tool": "run_experiment", "steps": 999, "pattern": "ooo"}', "too small"),
        ('{"tool": "run_experiment", "steps": 1, "pattern": "o?o"}', "?"),
        ('{"tool": "run_experiment", "steps": 1, "density": 2.0}', "density"),
        ('{"tool": "run_experiment", "steps": 1, "density": 0.5, "height": 900}', "height"),
        ('{"tool": "test_rule", "rule": "B3/S23"}', "nothing observed yet"),
        ('{"tool": "submit_rule", "rule": "B2-a/S12"}', "not in the totalistic family"),
        ('{"tool": "submit_rule", "rule": "B9"}', "does not parse"),
    ],
)
def test_junk_actions_get_an_error_a_penalty_and_the_episode_goes_on(action, message) -> None:
    env = gym.make(NOISY)
    env.reset(seed=0)
    obs, reward, terminated, truncated, _ = env.step(action)
    assert message in json.loads(obs)["error"]
    assert reward == -0.01 and not terminated and not truncated
    reply, *_ = call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
    assert reply["experiment_cost"] == 36  # still usable


def test_over_budget_is_an_error_not_a_silent_clip() -> None:
    episode = Episode("lifegym/LifeLike-Noisy-v1", seed=0)
    episode.env.lab.experiment_spent = episode.env.experiment_budget - 10
    with pytest.raises(ToolError, match="exceeds the 10 left"):
        episode.run_experiment(1, density=0.5, height=6, width=6)
    assert not episode.env.lab.trajectories


def test_same_seed_same_text_episode_and_nothing_reveals_the_rule() -> None:
    texts = []
    for _ in range(2):
        env = gym.make(NOISY)
        obs, _ = env.reset(seed=11)
        reply, *_ = call(env, "run_experiment", steps=2, density=0.4, height=10, width=10)
        texts.append((obs, json.dumps(reply)))
        hidden = str(env.unwrapped._episode.env.lab.hidden_rule)
        assert hidden not in obs and "true_rule" not in json.dumps(reply)
    assert texts[0] == texts[1]


def test_truncation_scores_nothing_submitted_and_transcripts_are_json_lines(tmp_path: Path):
    log = tmp_path / "episodes.jsonl"
    env = gym.make(NOISY, max_steps=2, transcript=str(log))
    env.reset(seed=0)
    call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
    _, reward, terminated, truncated, info = call(env, "test_rule", rule="B3/S23")
    assert truncated and not terminated and reward == 0.0
    assert info["result"]["submitted_by"] == "truncation"
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["start", "call", "call", "end"]
    assert lines[-1]["result"]["experiment_cost"] == 36


def test_transcripts_summarise_like_bench(tmp_path: Path, capsys) -> None:
    from lifegym.cli import main

    log = tmp_path / "counting.jsonl"
    env = gym.make(NOISY, transcript=str(log))
    for seed, rule in ((0, "B3/S23"), (1, "B36/S23")):
        env.reset(seed=seed, options={"rule": rule})
        call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
        call(env, "submit_rule", rule="B3/S23")
    assert main(["transcripts", str(tmp_path), "--summary-json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "| lifegym/LifeLike-Noisy-v1 | agent |" in out and "| counting | 2 |" in out
    (entry,) = json.loads((tmp_path / "s.json").read_text())
    assert entry["exact_rate"] == 0.5 and entry["experiment_cost_mean"] == 36
    assert main(["transcripts", str(tmp_path / "nowhere")]) == 2
