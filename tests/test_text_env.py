"""The text protocol (lifegym.protocol) and the Text envs that speak it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from tool_calls import BAD_CALLS

import lifegym  # noqa: F401
from lifegym.bench import make_jobs, rules_for
from lifegym.protocol import (
    TOOL_SCHEMAS,
    Episode,
    EpisodeSchedule,
    ToolError,
    compact_json,
    transcript_rows,
    v1_presets,
)
from lifegym.registration import TEXT_PRESETS

NOISY = "lifegym/Text-LifeLike-Noisy-v1"
#: Every v1 task must stay under 4,000 tokens. CI has no tokenizer offline, so it checks
#: characters: benchmarks/reply_formats.py measured 3.9-4.0 characters per token on every
#: v1 task (o200k_base and cl100k_base), so 8,000 characters leave a factor of 2.
TASK_TOKENS, TASK_CHARS = 4_000, 8_000


def call(env: gym.Env, tool: str, **arguments):
    obs, reward, terminated, truncated, info = env.step(json.dumps({"tool": tool, **arguments}))
    return json.loads(obs), reward, terminated, truncated, info


def test_every_v1_preset_has_a_text_env_that_passes_the_checker() -> None:
    assert sorted(TEXT_PRESETS.values()) == sorted(v1_presets())
    for env_id in TEXT_PRESETS:
        env = gym.make(env_id)
        check_env(env.unwrapped, skip_render_check=True)
        task = json.loads(env.reset(seed=1)[0])
        assert task["env"] == TEXT_PRESETS[env_id] and task["tools"] == TOOL_SCHEMAS


def _tokenizer():
    try:
        import tiktoken

        return tiktoken.get_encoding("o200k_base")
    except Exception:  # not installed, or no BPE file offline
        return None


def test_every_v1_task_fits_the_token_bound_and_explains_itself() -> None:
    encoding = _tokenizer()
    for env_id in v1_presets():
        task = Episode(env_id, seed=0).task()
        text = compact_json(task)
        assert len(text) <= TASK_CHARS, (env_id, len(text))
        if encoding is not None:
            assert len(encoding.encode(text)) < TASK_TOKENS, env_id
        assert "never noisy" in task["experiments"] and "identified" in task["scoring"]
        assert not re.search(r"probability 0\.0\b|\d-th", text), env_id
        assert task["menu"]["items"] == len(Episode(env_id, seed=0).env.menu)
        for tool in TOOL_SCHEMAS.values():  # a description for every parameter
            assert all(p["description"] for p in tool["parameters"]["properties"].values())
    strided = Episode("lifegym/LifeLike-Strided-v1", seed=0).task()["observation"]
    assert "every 2nd step" in strided
    full = Episode("lifegym/LifeLike-Full-v1", seed=0).task()
    assert "no noise" in full["observation"] and "probe-B3: dead cells with 3" in json.dumps(full)


def test_a_scripted_player_plays_through_text_alone() -> None:
    env = gym.make(NOISY)
    obs, _ = env.reset(seed=3, options={"rule": "B36/S23"})
    task = json.loads(obs)
    assert task["family"] == "totalistic" and "B3/S23" in task["notation"]
    assert obs == compact_json(task)  # compact JSON
    probe = task["menu"]["probes"]
    reply, *_ = call(env, "run_experiment", steps=probe["steps"], item="probe-B6")
    assert reply["experiment_cost"] == probe["cost"] and len(reply["frames"]) == 1
    assert set("".join(reply["initial"])) <= {".", "o"}
    blinker = "\n".join(["......", "..o...", "..o...", "..o...", "......", "......"])
    text = env.step(json.dumps({"tool": "run_experiment", "steps": 2, "pattern": blinker}))[0]
    reply = json.loads(text)
    assert reply["times"] == [1, 2] and len(reply["frames"][1]) == 6
    assert reply["reply_chars"] == len(text)
    reply, *_ = call(env, "run_experiment", steps=1, density=0.5, height=8, width=9)
    assert len(reply["initial"]) == 8 and len(reply["initial"][0]) == 9
    spent = task["budget"]["experiment"] - reply["budget_left"]["experiment"]
    assert spent == probe["cost"] + 6 * 6 * 2 + 8 * 9
    page, *_ = call(env, "list_menu", prefix="probe-S", limit=4)
    assert page["total"] == 9 and [i["item"] for i in page["items"]][-1] == "probe-S3"
    assert page["next_offset"] == 4 and page["items"][0]["cost"] == probe["cost"]
    right, *_ = call(env, "test_rule", rule="B36/S23")
    wrong, *_ = call(env, "test_rule", rule="B3/S23")
    assert right["compute_cost"] > 0 and right["loglik"] >= wrong["loglik"]
    reply, reward, terminated, truncated, info = call(env, "submit_rule", rule="b36s23")
    assert terminated and not truncated and reward == 1.0
    assert info["result"]["exact"] and reply["true_rule"] == "B36/S23"
    assert info["result"]["n_tests"] == 2 and info["result"]["submitted_by"] == "agent"
    with pytest.raises(RuntimeError):
        env.step(json.dumps({"tool": "test_rule", "rule": "B3/S23"}))


def _text_error(tool: str, arguments: dict) -> tuple[str, float, dict]:
    env = gym.make(NOISY)
    env.reset(seed=0)
    obs, reward, terminated, truncated, _ = env.step(json.dumps({"tool": tool, **arguments}))
    assert not terminated and not truncated
    reply, *_ = call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
    return json.loads(obs)["error"], reward, reply


@pytest.mark.parametrize(("tool", "arguments", "message"), BAD_CALLS)
def test_bad_calls_get_the_protocol_error_and_the_episode_goes_on(tool, arguments, message):
    error, reward, after = _text_error(tool, arguments)
    assert message in error and reward == -0.01
    assert after["experiment_cost"] == 36  # still usable, nothing charged before
    assert (
        after["budget_left"]["experiment"]
        == Episode("lifegym/LifeLike-Noisy-v1", seed=0).env.experiment_budget - 36
    )
    with pytest.raises(ToolError) as raised:  # the one check, whichever face calls it
        Episode("lifegym/LifeLike-Noisy-v1", seed=0).call(tool, arguments)
    assert str(raised.value) == error


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("not json", "not JSON"),
        ('["run_experiment"]', '"tool" key'),
        ('{"tool": "fly"}', 'unknown tool "fly"'),
        ('{"tool": 3, "steps": 1}', "unknown tool 3"),
    ],
)
def test_actions_that_are_no_tool_call(action, message) -> None:
    env = gym.make(NOISY)
    env.reset(seed=0)
    obs, reward, *_ = env.step(action)
    assert message in json.loads(obs)["error"] and reward == -0.01


def test_reply_sizes_are_predicted_and_capped() -> None:
    for env_id in ("lifegym/LifeLike-Noisy-v1", "lifegym/LifeLike-Window-v1"):
        episode = Episode(env_id, seed=0)
        h, w = episode.env.smallest_world
        for steps in (1, 3):
            predicted = episode._reply_size((h + 2, w + 1), steps)
            reply = episode.run_experiment(steps, density=0.5, height=h + 2, width=w + 1)
            assert reply["reply_chars"] == len(compact_json(reply)) == predicted
    stats = Episode("lifegym/LifeLike-Stats-v1", seed=0)
    bound = stats._reply_size((8, 8), 5)
    reply = stats.run_experiment(5, density=0.5, height=8, width=8)
    assert len(compact_json(reply)) == reply["reply_chars"] <= bound
    assert set(reply["stats"]) == {"density", "activity", "block_entropy"}
    small = Episode("lifegym/LifeLike-Noisy-v1", seed=0, reply_cap=2_000)
    with pytest.raises(ToolError, match=r"cap of 2,000.* Run at most 12 steps on this 10x10"):
        small.run_experiment(20, density=0.5, height=10, width=10)
    with pytest.raises(ToolError, match=r"No number of steps fits on 60x60.*\(29x29 fits 1 step\)"):
        small.run_experiment(1, density=0.5)
    assert not small.env.lab.trajectories and small.env.lab.experiment_spent == 0
    largest = small.run_experiment(12, density=0.5, height=10, width=10)
    assert 1_800 < len(compact_json(largest)) <= 2_000
    with pytest.raises(ToolError, match="reply_cap must be an int >= "):
        Episode("lifegym/LifeLike-Noisy-v1", seed=0, reply_cap=50)


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


def test_harness_schedule_serves_rules_and_bench_seeds_in_order() -> None:
    named, _ = rules_for("named", "lifegym/LifeLike-Noisy-v1")
    schedule = EpisodeSchedule("named", seed=7)
    served = [schedule.next("lifegym/LifeLike-Noisy-v1") for _ in named]
    jobs = make_jobs(["lifegym/LifeLike-Noisy-v1"], ["oracle"], lambda _: named, 1, 7)
    assert served == [(job.rule, job.seed) for job in jobs]
    with pytest.raises(ToolError, match=f"used up: all {len(named)} episodes"):
        schedule.next("lifegym/LifeLike-Noisy-v1")
    assert EpisodeSchedule().next("lifegym/LifeLike-Noisy-v1") == (None, None)
    with pytest.raises(ValueError, match="random:N"):
        EpisodeSchedule("random:x").check(["lifegym/LifeLike-Noisy-v1"])


def test_time_outs_and_transcripts_with_diagnostics(tmp_path: Path) -> None:
    log = tmp_path / "episodes.jsonl"
    env = gym.make(NOISY, max_steps=2, transcript=str(log))
    env.reset(seed=0, options={"rule": "B/S"})  # the empty rule: a time-out must not score it
    call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
    _, reward, terminated, truncated, info = call(env, "test_rule", rule="B3/S23")
    assert truncated and not terminated and reward == 0.0
    result = info["result"]
    assert result["submitted_by"] == "truncation" and result["submitted_rule"] is None
    assert not result["identified"] and not result["exact"] and result["experiment_cost"] == 36
    env.reset(seed=1)
    call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
    timed_out = env.unwrapped.end_episode("timeout")
    assert timed_out["submitted_by"] == "timeout" and not timed_out["identified"]
    env.reset(seed=2)  # left open: abandoned at the next reset
    env.reset(seed=3)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    kinds = [line["kind"] for line in lines]
    assert kinds == [
        "start",
        "call",
        "call",
        "end",
        "start",
        "call",
        "end",
        "start",
        "end",
        "start",
    ]
    assert lines[0]["rule"] == "B/S" and isinstance(lines[0]["seed"], int)
    assert lines[0]["reset_seed"] == 0 and lines[0]["reply_cap"] == 60_000
    diagnostics = lines[1]["diagnostics"]
    assert diagnostics["entropy_before"] > diagnostics["entropy_after"]
    assert diagnostics["best_item"]["expected_gain_per_cost"] > 0
    assert "diagnostics" not in lines[2]  # a test is no experiment
    assert lines[8]["result"]["submitted_by"] == "abandoned"
    rows = transcript_rows(log)
    assert [r["submitted_by"] for r in rows] == ["truncation", "timeout", "abandoned", "unfinished"]
    assert not any(r["identified"] for r in rows)


def test_transcripts_summarise_like_bench_and_count_every_episode(tmp_path: Path, capsys):
    from lifegym.cli import main

    log = tmp_path / "counting.jsonl"
    env = gym.make(NOISY, transcript=str(log))
    for seed, rule in ((0, "B3/S23"), (1, "B36/S23")):
        env.reset(seed=seed, options={"rule": rule})
        call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
        call(env, "submit_rule", rule="B3/S23")
    env.reset(seed=2)  # never ends: the transcript stops after its first call
    call(env, "run_experiment", steps=1, density=0.5, height=6, width=6)
    assert main(["transcripts", str(tmp_path), "--summary-json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "| lifegym/LifeLike-Noisy-v1 | agent |" in out and "| counting | 3 |" in out
    assert "3 episodes from 1 file(s): 2 submitted, 0 ended without a submission" in out
    assert "1 never ended" in out
    (entry,) = json.loads((tmp_path / "s.json").read_text())
    assert entry["exact_rate"] == pytest.approx(1 / 3) and entry["experiment_cost_mean"] == 36
    assert entry["identified_rate"] <= 2 / 3
    assert main(["transcripts", str(tmp_path / "nowhere")]) == 2


def test_episode_api_for_harnesses() -> None:
    episode = Episode("lifegym/LifeLike-Noisy-v1", seed=4, rule="B36/S23", reply_cap=5_000)
    assert (episode.seed, episode.rule, episode.reply_cap) == (4, "B36/S23", 5_000)
    reply = episode.run_experiment(1, density=0.5, height=8, width=8)
    assert episode.env.lab.experiment_spent == reply["experiment_cost"] == 64
    assert episode.submit_rule("B36/S23")["exact"]
