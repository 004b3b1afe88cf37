"""benchmarks/leaderboard.py on a tiny sweep: every preset x agent, both rule sets, files."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pytest

from lifegym.agents import AGENTS
from lifegym.registration import PRESETS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import leaderboard

ENVS = [
    "lifegym/LifeLike-Full-v0",
    "lifegym/LifeLike-Noisy-v0",
    "lifegym/Isotropic-Noisy-v0",
    "lifegym/LifeLike-Noisy-v1",
    "lifegym/Hex-Noisy-v1",
]


def test_quick_leaderboard_writes_rows_tables_targets_and_plot(tmp_path: Path, capsys) -> None:
    argv = ["--quick", "--random", "1", "--random-v1", "1", "--workers", "1", "--policy", "none"]
    argv += ["--seeds", "1"]
    argv += ["--out", str(tmp_path), "--envs", *ENVS]
    assert leaderboard.main([*argv, "--emulator-envs", "lifegym/LifeLike-Full-v0"]) == 0
    data = json.loads((tmp_path / "leaderboard_quick.json").read_text())
    rows = data["rows"]
    # The v1 presets play on both faces; Hex-Noisy-v1 has no named rule.
    named, random = (3 + 2 * 1) * len(AGENTS), (3 + 2 * 2) * len(AGENTS)
    assert len(rows) == named + random + 1  # and emulator-loop on the emulator
    assert {(r["env"], r["design"]) for r in rows if r["env"].endswith("-v1")} == {
        (env, design) for env in ENVS[3:] for design in (False, True)
    }
    assert {r["env"] for r in rows} == set(ENVS) and set(ENVS) <= set(PRESETS)
    assert {row["rule_set"] for row in rows} == {"named", "random"}
    on_emulator = [row for row in rows if row["inference"] == "emulator"]
    assert [(r["env"], r["agent"]) for r in on_emulator] == [
        ("lifegym/LifeLike-Full-v0", "emulator-loop")
    ]
    # Every row is scored against the oracle of its episode; the emulator row against the
    # oracle on the preset's own engine (no oracle plays on the emulator).
    assert all({"score", "reference_failed", "oracle_cost"} <= set(row) for row in rows)
    (emulator,) = on_emulator
    (yardstick,) = [
        r
        for r in rows
        if r["agent"] == "oracle"
        and (r["env"], r["design"], r["rule"], r["seed"])
        == (emulator["env"], emulator["design"], emulator["rule"], emulator["seed"])
    ]
    assert yardstick["inference"] == "exact"
    assert emulator["oracle_cost"] == yardstick["experiment_cost"]
    assert emulator["reference_failed"] is (not yardstick["identified"])
    table = (tmp_path / "leaderboard_quick.md").read_text()
    assert "## Targets (v0)" in table
    header = "| agent | episodes | rules | score | identified % |"
    assert header in table and "| reference failed |" in table
    assert "| LifeLike-Noisy-v0 | best agent identified >= 99% |" in table
    assert table.count("| lifegym/Isotropic-Noisy-v0 | exact |  | infogain | 1 |") == 2
    target = "| LifeLike-Noisy-v1 | design | infogain identified at mean cost <= 2x the oracle's |"
    assert target in table
    assert "oracle (reference)" in table and "| Hex-Noisy-v1 | 20 | 40 |" in table
    assert "<svg" in (tmp_path / "leaderboard_quick.svg").read_text()
    assert "episodes in" in capsys.readouterr().out


def test_bad_settings_are_named(capsys) -> None:
    with pytest.raises(SystemExit):
        leaderboard.main(["--emulator-envs", "lifegym/Nope-v0"])
    assert "Nope-v0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        leaderboard.main(["--random", "0"])
    assert "--random" in capsys.readouterr().err


def test_a_policy_for_another_env_is_refused(tmp_path: Path, capsys) -> None:
    from lifegym.agents.train_rl import main as train_main

    argv = ["--steps", "64", "--envs", "1", "--n-steps", "32", "--out", str(tmp_path)]
    assert train_main(argv) == 0  # trained on LifeLike-Noisy-v0 (18 bits)
    policy = f"maskable-ppo:{tmp_path / 'policy.zip'}"
    with pytest.raises(SystemExit):
        leaderboard.main(["--policy", f"lifegym/Isotropic-Noisy-v0={policy}"])
    assert "action space" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        leaderboard.main(["--policy", policy])  # no ENV=
    assert "ENV=maskable-ppo:PATH" in capsys.readouterr().err


def test_seeds_per_rule_give_independent_episodes(tmp_path: Path) -> None:
    argv = ["--quick", "--random", "1", "--random-v1", "1", "--workers", "1", "--policy", "none"]
    argv += ["--seeds", "3", "--out", str(tmp_path), "--envs", "lifegym/LifeLike-Full-v0"]
    assert leaderboard.main([*argv, "--emulator-envs"]) == 0
    rows = json.loads((tmp_path / "leaderboard_quick.json").read_text())["rows"]
    infogain = [r for r in rows if r["agent"] == "infogain" and r["rule_set"] == "named"]
    assert len(infogain) == 3 and len({r["seed"] for r in infogain}) == 3
    table = (tmp_path / "leaderboard_quick.md").read_text()
    assert "3 episodes (seeds) per rule" in table
    assert "| infogain | 3 | 1 | 1 [0.207, 1] | 100 [20.7, 100] |" in table  # 1 rule: 1 trial


def test_resume_takes_the_logged_episodes_and_refuses_another_source(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    argv = ["--quick", "--random", "1", "--workers", "1", "--policy", "none", "--seeds", "1"]
    argv += ["--out", str(tmp_path), "--envs", "lifegym/LifeLike-Full-v0", "--emulator-envs"]
    assert leaderboard.main(argv) == 0
    first = json.loads((tmp_path / "leaderboard_quick.json").read_text())["rows"]
    log = tmp_path / "leaderboard_quick.rows.jsonl"
    lines = log.read_text().splitlines()
    assert len(lines) == len(first)
    log.write_text("\n".join(lines[:-3]) + "\n")  # interrupted: the last 3 episodes missing
    capsys.readouterr()
    played = []
    real = leaderboard.bench.iter_local
    monkeypatch.setattr(
        leaderboard.bench,
        "iter_local",
        lambda jobs, workers: played.extend(jobs) or real(jobs, workers),
    )
    assert leaderboard.main([*argv, "--resume"]) == 0
    assert len(played) == 3
    again = json.loads((tmp_path / "leaderboard_quick.json").read_text())["rows"]
    keys = ["env", "agent", "rule", "seed", "exact", "identified", "experiment_cost", "steps"]
    assert [{k: r[k] for k in keys} for r in again] == [{k: r[k] for k in keys} for r in first]
    monkeypatch.setattr(leaderboard, "source_digest", lambda: "0" * 64)
    with pytest.raises(SystemExit):
        leaderboard.main([*argv, "--resume"])
    assert "another lifegym source" in capsys.readouterr().err


def test_v1_policy_target_against_infogain() -> None:
    env = "lifegym/LifeLike-Noisy-v1"

    def entry(agent: str, identified: float, cost: float, compute: float, truncated: int = 0):
        return {
            "env": env,
            "design": False,
            "agent": agent,
            "identified": identified,
            "identified_ci": [identified / 100 - 0.1, identified / 100],
            "experiment_cost": cost,
            "compute_cost": compute,
            "truncated": truncated,
        }

    infogain = entry("infogain", 100.0, 240, 0)
    met = {n: [infogain, entry("maskable-ppo:p.zip", 100.0, 350, 400)] for n in ("named", "random")}
    assert leaderboard.v1_policy_target_line(met, env).endswith("| yes |")
    for policy in (
        entry("maskable-ppo:p.zip", 95.0, 300, 0),  # identifies less
        entry("maskable-ppo:p.zip", 100.0, 361, 0),  # > 1.5x infogain's experiment cost
        entry("maskable-ppo:p.zip", 100.0, 300, 481),  # > 2x infogain's cost
        entry("maskable-ppo:p.zip", 100.0, 300, 0, truncated=1),
    ):
        missed = {**met, "random": [infogain, policy]}
        assert leaderboard.v1_policy_target_line(missed, env).endswith("| no |")
    assert leaderboard.v1_policy_target_line({"named": [infogain], "random": []}, env) is None


def test_policy_target_compares_with_the_best_heuristic_and_random() -> None:
    env = "lifegym/LifeLike-Noisy-v0"

    def entry(agent: str, identified: float, cost: float) -> dict[str, object]:
        return {"env": env, "agent": agent, "identified": identified, "experiment_cost": cost}

    heuristics = [entry("random", 90.0, 300_000), entry("coverage", 100.0, 9_000)]
    heuristics.append(entry("infogain", 100.0, 7_000))
    met = {
        name: [*heuristics, entry("maskable-ppo:p.zip", 100.0, 7_000)]
        for name in ("named", "random")
    }
    line = leaderboard.policy_target_line(met, env)
    assert line is not None and line.endswith("| yes |") and "infogain 100.0% at 7,000" in line
    dearer = {**met, "random": [*heuristics, entry("maskable-ppo:p.zip", 100.0, 8_000)]}
    assert leaderboard.policy_target_line(dearer, env).endswith("| no |")
    assert leaderboard.policy_target_line({"named": heuristics, "random": heuristics}, env) is None


def _summary(agent: str, score: float, identified: float, cost: float, **more) -> dict:
    return {
        "env": "lifegym/LifeLike-Noisy-v0",
        "design": False,
        "inference": "exact",
        "agent": agent,
        "score_mean": score,
        "score_ci": [score - 0.1, score + 0.1],
        "identified": identified,
        "identified_ci": [identified / 100 - 0.1, identified / 100],
        "experiment_cost": cost,
        **more,
    }


def test_the_best_agent_is_the_one_of_highest_score() -> None:
    cheap = _summary("cheap", 0.9, 98.0, 100)  # misses the 99% target, but scores best
    dear = _summary("dear", 0.4, 100.0, 400)
    oracle = _summary("oracle", 1.0, 100.0, 90, reference=True)
    unscored = _summary("unscored", math.nan, 100.0, 50)  # every reference failed
    summaries = {"named": [dear, unscored, oracle, cheap], "random": [dear, cheap]}
    line = next(line for line in leaderboard.target_lines(summaries) if "LifeLike-Noisy-v0" in line)
    assert "98.0% [88, 98] (cheap, exact, score 0.90 [0.80, 1.00])" in line
    assert line.endswith("| no |")  # the target keeps its own metric, on the best agent
    assert [e["agent"] for e in leaderboard.ranked(summaries["named"])] == [
        "cheap",
        "dear",
        "unscored",
        "oracle",
    ]
    # Equal scores: the higher metric, then the cheaper.
    tied = [_summary("a", 0.5, 90.0, 100), _summary("b", 0.5, 95.0, 200)]
    tied.append(_summary("c", 0.5, 95.0, 150))
    assert leaderboard.best_agent(tied)["agent"] == "c"
    # Summaries from before the score rank as before: identified, then cost.
    old = [{k: v for k, v in e.items() if k != "score_mean"} for e in (dear, cheap)]
    assert leaderboard.best_agent(old)["agent"] == "dear"


def test_emulator_loop_plays_the_named_rules_of_v1_presets_by_default() -> None:
    v1 = ["lifegym/LifeLike-Noisy-v1", "lifegym/Isotropic-Noisy-v1", "lifegym/LifeLike-Stats-v1"]
    assert set(v1) < set(leaderboard.DEFAULT_EMULATOR_ENVS)
    args = argparse.Namespace(
        envs=v1,
        quick=False,
        policies={},
        random=1,
        random_v1=1,
        named_v1=2,
        seeds=2,
        seed=0,
        emulator_envs=list(leaderboard.DEFAULT_EMULATOR_ENVS),
    )
    named = leaderboard.build_jobs(args)["named"]
    emulator = [job for job in named if job.inference == "emulator"]
    assert {job.agent for job in emulator} == {"emulator-loop"}
    assert {job.env_id for job in emulator} == set(v1) and not any(j.design for j in emulator)
    assert len(emulator) == len(v1) * 2 * 2  # the named rules the others play: 2, 2 seeds
    references = {
        (job.env_id, job.rule, job.seed)
        for job in named
        if job.agent == "oracle" and not job.design and job.inference is None
    }
    assert {(job.env_id, job.rule, job.seed) for job in emulator} <= references
