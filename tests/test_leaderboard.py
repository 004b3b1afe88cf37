"""benchmarks/leaderboard.py on a tiny sweep: every preset x agent, both rule sets, files."""

from __future__ import annotations

import json
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
    argv = ["--quick", "--random", "1", "--random-v1", "1", "--workers", "1", "--policy", ""]
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
    table = (tmp_path / "leaderboard_quick.md").read_text()
    assert "## Targets (v0)" in table
    assert "| LifeLike-Noisy-v0 | best agent exact >= 99% |" in table
    assert table.count("| lifegym/Isotropic-Noisy-v0 | exact |  | infogain | 1 |") == 2
    target = "| LifeLike-Noisy-v1 | design | infogain exact at mean cost <= 2x the oracle's |"
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
        leaderboard.main(["--policy", policy, "--policy-envs", "lifegym/Isotropic-Noisy-v0"])
    assert "action space" in capsys.readouterr().err


def test_policy_target_compares_with_the_best_heuristic_and_random() -> None:
    env = "lifegym/LifeLike-Noisy-v0"

    def entry(agent: str, exact: float, cost: float) -> dict[str, object]:
        return {"env": env, "agent": agent, "exact": exact, "experiment_cost": cost}

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
