"""``lifegym bench``: rules, jobs and seeds, local runs, the summary, and the command line."""

from __future__ import annotations

import copy
import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from lifegym import bench
from lifegym.cli import main
from lifegym.intervals import cluster_bootstrap_interval
from lifegym.rules import NAMED_RULES, Rule

NOISY = "lifegym/LifeLike-Noisy-v0"
ISOTROPIC = "lifegym/Isotropic-Noisy-v0"


def test_named_rules_are_those_in_the_env_space() -> None:
    kept, left_out = bench.rules_for("named", NOISY)
    assert "B3/S23" in kept and "B2-a/S12" in left_out
    assert all(Rule.parse(rule).family.name == "totalistic" for rule in kept)
    assert len(kept) + len(left_out) == len({str(Rule.parse(r)) for r in NAMED_RULES.values()})
    iso_kept, iso_left = bench.rules_for("named", ISOTROPIC)
    assert "B2-a/S12" in iso_kept and not iso_left


def test_random_rules_and_files(tmp_path: Path) -> None:
    assert bench.rules_for("random:3", NOISY) == ([None, None, None], [])
    for bad in ("random:0", "random:x"):
        with pytest.raises(ValueError, match="random:N"):
            bench.rules_for(bad, NOISY)
    rules = tmp_path / "rules.txt"
    rules.write_text("# hidden rules\nb3s23\n\nB36/S23  # HighLife\nB2-a/S12\n")
    assert bench.rules_for(str(rules), NOISY) == (["B3/S23", "B36/S23"], ["B2-a/S12"])
    rules.write_text("B3/S23\nB9/S\n")
    with pytest.raises(ValueError, match=r"rules.txt:2: .*'B9/S'"):
        bench.rules_for(str(rules), NOISY)
    with pytest.raises(ValueError, match="cannot read"):
        bench.rules_for(str(tmp_path / "missing.txt"), NOISY)
    with pytest.raises(ValueError, match="unknown env 'lifegym/Nope-v0'"):
        bench.rules_for("named", "lifegym/Nope-v0")


def test_job_seeds_do_not_depend_on_the_other_jobs() -> None:
    def rules(env_id: str) -> list[str | None]:
        return ["B3/S23", "B36/S23"]

    both = bench.make_jobs([NOISY, ISOTROPIC], ["random", "coverage"], rules, 2, seed=7)
    assert len(both) == 2 * 2 * 2 * 2
    alone = bench.make_jobs([NOISY], ["coverage"], rules, 2, seed=7)
    assert [j for j in both if j.agent == "coverage" and j.env_id == NOISY] == alone
    same_episode = [j.seed for j in both if j.env_id == NOISY and j.rule == "B3/S23"]
    assert same_episode[0] == same_episode[1]  # the agents of an episode share its seed
    assert len({j.seed for j in both}) == len(both) // 2
    assert bench.make_jobs([NOISY], ["coverage"], rules, 2, seed=8) != alone
    with pytest.raises(ValueError, match="unknown agent 'genius'"):
        bench.make_jobs([NOISY], ["genius"], rules, 1, seed=0)
    with pytest.raises(ValueError, match="episodes"):
        bench.make_jobs([NOISY], ["coverage"], rules, 0, seed=0)


def _without_timing(rows: list[dict]) -> list[dict]:
    """Rows without the times measured (wall and agent CPU seconds): the rest repeats."""
    return [{k: v for k, v in row.items() if k not in ("wall_s", "agent_cpu_s")} for row in rows]


def test_local_runs_repeat_and_workers_give_the_same_rows() -> None:
    jobs = bench.make_jobs([NOISY], ["random", "coverage"], lambda _: ["B3/S23", None], 1, seed=3)
    serial = bench.run_local(jobs)
    assert _without_timing(serial) == _without_timing(bench.run_local(jobs))
    assert _without_timing(serial) == _without_timing(bench.run_local(jobs, workers=2))
    assert [row["agent"] for row in serial] == ["random", "coverage"] * 2
    assert serial[0]["rule"] == "B3/S23" and serial[2]["rule"] == serial[3]["rule"]
    with pytest.raises(ValueError, match="workers"):
        bench.run_local(jobs, workers=0)


def test_summary_table_and_plot(tmp_path: Path) -> None:
    jobs = bench.make_jobs([NOISY], ["random", "coverage"], lambda _: ["B3/S23"], 2, seed=0)
    rows = bench.run_local(jobs)
    summary = bench.summarise(rows)
    assert [(s["env"], s["agent"], s["episodes"]) for s in summary] == [
        (NOISY, "random", 2),
        (NOISY, "coverage", 2),
    ]
    coverage = summary[1]
    assert coverage["exact"] == 100.0 and coverage["experiment_cost"] > 0
    table = bench.markdown_table(summary)
    header = "| env | inference | design | agent | episodes | rules | score | identified % |"
    assert table.splitlines()[0].startswith(header)
    assert "| env tests (compute) | agent CPU s |" in table.splitlines()[0]
    assert "| reference failed |" in table.splitlines()[0]
    assert "| exact |  | random | 2 | 1 |  |" in table  # no oracle ran: no score
    assert "100 [" in table  # rates carry their interval
    assert len(table.splitlines()) == 4
    plot = tmp_path / "plot.svg"
    bench.plot_accuracy_vs_cost(summary, plot)
    svg = ET.parse(plot).getroot()
    assert svg.tag.endswith("svg") and "random" in plot.read_text()
    bench.plot_accuracy_vs_cost(summary, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"\.svg, \.png, \.pdf"):
        bench.plot_accuracy_vs_cost(summary, tmp_path / "plot.gif")


def test_inference_replaces_the_presets_engine(tmp_path: Path) -> None:
    rule = ["B36/S23"]
    jobs = bench.make_jobs([NOISY], ["coverage"], lambda _: rule, 1, seed=3)
    jobs += bench.make_jobs([NOISY], ["coverage"], lambda _: rule, 1, seed=3, inference="emulator")
    rows = bench.run_local(jobs)
    assert [row["inference"] for row in rows] == ["exact", "emulator"]
    assert rows[0]["seed"] == rows[1]["seed"]
    summary = bench.summarise(rows)
    assert [(s["inference"], s["agent"]) for s in summary] == [
        ("exact", "coverage"),
        ("emulator", "coverage"),
    ]
    plot = tmp_path / "plot.svg"
    bench.plot_accuracy_vs_cost(summary, plot)
    assert "coverage (emulator)" in plot.read_text()
    with pytest.raises(ValueError, match="unknown inference 'oracle'"):
        bench.make_jobs([NOISY], ["coverage"], lambda _: rule, 1, seed=3, inference="oracle")


def test_command_line_writes_rows_summary_and_plot(tmp_path: Path, capsys) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("B3/S23\nB2-a/S12\n")
    names = ("rows.json", "summary.json", "summary.md", "plot.svg")
    out = {name: tmp_path / name for name in names}
    code = main(
        ["bench", "--env", NOISY, "--agent", "coverage", "--agent", "random", "--rules",
         str(rules), "--episodes", "2", "--seed", "4", "--json", str(out["rows.json"]),
         "--summary-json", str(out["summary.json"]), "--markdown", str(out["summary.md"]),
         "--plot", str(out["plot.svg"])]
    )  # fmt: skip
    assert code == 0
    captured = capsys.readouterr()
    assert "| lifegym/LifeLike-Noisy-v0 | exact |  | coverage | 2 | 1 |" in captured.out
    assert "| oracle (reference) | 2 | 1 |" in captured.out
    assert "oracle: added as the reference" in captured.out
    assert "lie outside its rule space and were not played: B2-a/S12" in captured.out
    rows = json.loads(out["rows.json"].read_text())
    fields = {"env", "inference", "agent", "rule", "seed", "wall_s", "exact", "score"}
    assert len(rows) == 6 and fields <= set(rows[0])
    assert [row["agent"] for row in rows[:3]] == ["coverage", "random", "oracle"]
    assert out["summary.md"].read_text() in captured.out
    summary = json.loads(out["summary.json"].read_text())
    assert [(s["agent"], s["episodes"]) for s in summary] == [
        ("coverage", 2),
        ("random", 2),
        ("oracle", 2),
    ]
    assert {"identified_rate", "identified_ci", "experiment_cost_ci"} <= set(summary[0])
    assert {"score_mean", "score_ci", "n_rules", "reference_failed"} <= set(summary[0])
    assert "<svg" in out["plot.svg"].read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--agent", "genius"], "unknown agent 'genius'"),
        (["--env", "lifegym/Nope-v0"], "unknown env"),
        (["--rules", "random:0"], "random:N"),
        (["--episodes", "0"], "episodes"),
        (["--plot", "x.gif"], ".svg, .png, .pdf"),
        (["--inference", "oracle"], "unknown inference 'oracle'"),
        (["--env", "lifegym/Isotropic-Noisy-v0", "--inference", "exhaustive"], "exhaustive"),
    ],
)
def test_command_line_errors_name_the_bad_value(argv: list[str], message: str, capsys) -> None:
    assert main(["bench", *argv]) == 2
    assert message in capsys.readouterr().err


# ----------------------------------------------------------------------------------- Ray


def test_ray_backend_gives_the_local_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a fresh local cluster
    jobs = bench.make_jobs(
        [NOISY, ISOTROPIC], ["random", "coverage"], lambda _: ["B3/S23", None], 1, seed=5
    )
    done: list[int] = []
    rows = bench.run_ray(jobs, workers=2, progress=done.append)
    assert _without_timing(rows) == _without_timing(bench.run_local(jobs))
    assert done[-1] == len(jobs) and done == sorted(done)
    assert not ray.is_initialized()  # the cluster it started is shut down


def test_ray_backend_uses_a_running_cluster_and_leaves_it(tmp_path: Path) -> None:
    import ray

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        code = main(
            ["bench", "--backend", "ray", "--agent", "coverage", "--rules", "random:2",
             "--json", str(tmp_path / "rows.json")]
        )  # fmt: skip
        assert code == 0
        assert ray.is_initialized()
    finally:
        ray.shutdown()
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [row["agent"] for row in rows] == ["coverage", "oracle"] * 2  # the reference added


def test_design_jobs_the_oracle_reference_and_cost_vs_oracle() -> None:
    v1 = "lifegym/LifeLike-Noisy-v1"
    jobs = bench.make_jobs(
        [v1], ["oracle", "infogain"], lambda _: ["B3/S23", None], 1, seed=1, design=True
    )
    assert all(job.design for job in jobs)
    rows = bench.run_local(jobs)
    assert [(r["agent"], r["reference"], r["design"]) for r in rows[:2]] == [
        ("oracle", True, True),
        ("infogain", False, True),
    ]
    oracle, infogain = bench.summarise(rows)
    assert all(r["identified"] for r in rows if r["agent"] == "oracle")  # both are yardsticks
    assert oracle["reference"] and oracle["cost_vs_oracle"] == 1.0
    ratio = infogain["experiment_cost"] / oracle["experiment_cost"]
    assert infogain["cost_vs_oracle"] == pytest.approx(ratio)
    assert infogain["cost_vs_oracle_episodes"] == 2 and oracle["score_mean"] == 1.0
    table = bench.markdown_table([oracle, infogain])
    assert "| yes | oracle (reference) |" in table and "| yes | infogain |" in table
    without = bench.summarise([r for r in rows if r["agent"] != "oracle"])
    assert math.isnan(without[0]["cost_vs_oracle"]) and without[0]["cost_vs_oracle_episodes"] == 0
    assert math.isnan(without[0]["score_mean"]) and without[0]["score_episodes"] == 0
    assert bench.bounds(v1) == {"capacity": 26, "sightings": 52}
    assert bench.bounds("lifegym/LifeLike-Stats-v1")["sightings"] is None


def test_summary_json_carries_rates_means_and_intervals(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("B3/S23\nB36/S23\n")
    result = bench.benchmark([NOISY], ["random"], rules=str(rules), episodes=2, seed=1)
    assert result.reference_added
    rows = [row for row in result.rows if row["agent"] == "random"]
    path = tmp_path / "summary.json"
    bench.write_summary_json(result.summary, path)
    entry, oracle = json.loads(path.read_text())
    assert (entry["agent"], oracle["agent"], oracle["reference"]) == ("random", "oracle", True)
    assert entry["episodes"] == 4 and entry["n_rules"] == 2
    clusters = [row["true_rule"] for row in rows]
    for metric in bench.RATES:
        successes = sum(bool(row[metric]) for row in rows)
        assert entry[f"{metric}_rate"] == successes / 4
        low, high = entry[f"{metric}_ci"]
        assert 0 <= low <= high <= 1
        outcomes = [float(bool(row[metric])) for row in rows]
        assert (low, high) == cluster_bootstrap_interval(outcomes, clusters, rate=True)
    for metric in bench.MEANS:
        assert f"{metric}_mean" in entry and f"{metric}_ci" in entry
    for metric in ("experiment_cost", "compute_cost", "bits_correct", "n_undetermined"):
        values = [row[metric] for row in rows]
        assert entry[f"{metric}_mean"] == pytest.approx(sum(values) / 4)
        low, high = entry[f"{metric}_ci"]
        by_rule = [np.mean([r[metric] for r in rows if r["true_rule"] == c]) for c in set(clusters)]
        assert min(by_rule) - 1e-9 <= low <= high <= max(by_rule) + 1e-9
    scored = [row["score"] for row in rows if row["score"] is not None]
    assert entry["score_episodes"] == len(scored) == 4 - entry["reference_failed"]
    if scored:
        assert entry["score_mean"] == pytest.approx(sum(scored) / len(scored))
        assert 0 <= entry["score_ci"][0] <= entry["score_ci"][1] <= 1
    if "agent_cpu_s" not in rows[0]:  # rows from before the field: NaN, written as null
        assert entry["agent_cpu_s_mean"] is None and entry["agent_cpu_s_ci"] == [None, None]
    old = [{k: v for k, v in row.items() if k != "identified"} for row in rows]
    assert math.isnan(bench.summarise(old)[0]["identified_rate"])  # rows from before: no rate


# ------------------------------------------------------------------------ the score


def _row(agent: str, seed: int, identified: bool | None, cost: int, **more) -> dict:
    """A minimal episode row, as a scored env writes it."""
    row = {
        "env": NOISY,
        "inference": "exact",
        "design": False,
        "agent": agent,
        "reference": agent == "oracle",
        "rule": "B3/S23",
        "true_rule": "B3/S23",
        "seed": seed,
        "identified": identified,
        "exact": identified,
        "experiment_cost": cost,
        **more,
    }
    return {k: v for k, v in row.items() if v is not None}


def test_scores_pair_with_the_oracle_of_the_same_episode() -> None:
    rows = [
        _row("oracle", 1, True, 100),
        _row("infogain", 1, True, 200),  # twice the oracle's cost: 0.5 (linear, not 0.25)
        _row("coverage", 1, True, 50),  # cheaper than the oracle: 1, not 2
        _row("random", 1, False, 20),  # not identified: 0 however cheap
        _row("oracle", 2, True, 300),
        _row("infogain", 2, True, 0),  # nothing spent: the ratio is 1
        _row("coverage", 2, None, 300),  # no verdict (a row from before the field): no score
        _row("infogain", 3, True, 100),  # no oracle played seed 3
        _row("infogain", 1, True, 100, rule="B36/S23", true_rule="B36/S23"),  # nor this rule
        _row("infogain", 1, True, 100, env_kwargs={"noise": 0.1}),  # nor these settings
        _row("infogain", 1, True, 100, design=True),  # nor this face
    ]
    before = copy.deepcopy(rows)
    scored = bench.attach_scores(rows)
    assert rows == before  # pure: new dicts
    assert [r["score"] for r in scored] == [1.0, 0.5, 1.0, 0.0, 1.0, 1.0, None] + [None] * 4
    assert [r["reference_failed"] for r in scored] == [False] * 7 + [None] * 4
    assert [r["oracle_cost"] for r in scored] == [100] * 4 + [300] * 3 + [None] * 4
    assert all({k: r[k] for k in before[i]} == before[i] for i, r in enumerate(scored))


def test_another_engine_pairs_with_the_oracle_of_its_own_engine_else_any() -> None:
    rows = [
        _row("oracle", 1, True, 100),
        _row("emulator-loop", 1, True, 400, inference="emulator"),  # only an exact oracle
        _row("oracle", 2, True, 100),
        _row("oracle", 2, True, 200, inference="emulator"),
        _row("emulator-loop", 2, True, 400, inference="emulator"),  # its own engine's
        _row("coverage", 2, True, 400),
    ]
    scored = bench.attach_scores(rows)
    assert [r["score"] for r in scored] == [1.0, 0.25, 1.0, 1.0, 0.5, 0.25]
    summary = bench.summarise(scored)
    emulator = next(e for e in summary if e["agent"] == "emulator-loop")
    assert emulator["cost_vs_oracle"] == pytest.approx(800 / 300)
    assert emulator["cost_vs_oracle_episodes"] == 2


def test_a_reference_failed_episode_has_no_score_and_is_counted() -> None:
    rows = [
        _row("oracle", 1, True, 100),
        _row("infogain", 1, True, 200),
        _row("oracle", 2, False, 100),  # the reference failed: no yardstick for seed 2
        _row("infogain", 2, True, 150),
        _row("oracle", 3, True, 100),
        _row("infogain", 3, False, 1000),
    ]
    scored = bench.attach_scores(rows)
    assert [r["score"] for r in scored] == [1.0, 0.5, None, None, 1.0, 0.0]
    assert [r["reference_failed"] for r in scored] == [False, False, True, True, False, False]
    oracle, infogain = bench.summarise(scored)
    assert (infogain["score_mean"], infogain["score_episodes"]) == (0.25, 2)
    assert infogain["reference_failed"] == oracle["reference_failed"] == 1
    assert (oracle["score_mean"], oracle["score_episodes"]) == (1.0, 2)
    # cost / oracle only over the episodes the oracle identified: (200 + 1000) / (100 + 100).
    assert infogain["cost_vs_oracle"] == pytest.approx(6.0)
    assert infogain["cost_vs_oracle_episodes"] == 2
    assert infogain["identified_rate"] == pytest.approx(2 / 3)  # rates keep every episode
    bare, given = (json.dumps(bench.summarise(r), sort_keys=True) for r in (rows, scored))
    assert bare == given  # summarise scores bare rows itself
    table = bench.markdown_table([infogain, oracle])
    assert "| infogain | 3 | 1 | 0.25 [" in table and "| 6 (n=2) |" in table
    assert "| oracle (reference) | 3 | 1 | 1 [" in table
    cells = table.splitlines()[2].split(" | ")
    headings = table.splitlines()[0].split(" | ")
    assert cells[headings.index("reference failed")] == "1"


def test_summaries_of_sparse_rows_are_nan_not_errors(tmp_path: Path) -> None:
    rows = [_row("infogain", seed, True, 100 * seed) for seed in (1, 2, 3)]
    (entry,) = bench.summarise(rows)  # no oracle, no compute, no bits, no wall time
    assert entry["experiment_cost_mean"] == 200 and entry["n_rules"] == 1
    for key in ("score_mean", "compute_cost_mean", "agent_cpu_s_mean", "wall_s_mean"):
        assert math.isnan(entry[key]), key
    assert entry["score_episodes"] == 0 and entry["reference_failed"] == 0
    # one rule, identified every time: Wilson's interval of one success in one trial
    assert entry["identified_ci"] == pytest.approx([0.2065, 1.0], abs=1e-4)
    assert "| infogain | 3 | 1 |  | 100 [" in bench.markdown_table([entry])
    bench.write_summary_json([entry], tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())[0]["score_mean"] is None
    bench.plot_accuracy_vs_cost([entry], tmp_path / "plot.svg")


def test_benchmark_adds_the_oracle_on_the_presets_own_engine(tmp_path: Path) -> None:
    rules = tmp_path / "rules.txt"
    rules.write_text("B36/S23\n")
    result = bench.benchmark([NOISY], ["coverage"], rules=str(rules), inference="emulator")
    assert result.reference_added
    coverage, oracle = result.rows
    assert (coverage["agent"], coverage["inference"]) == ("coverage", "emulator")
    assert (oracle["agent"], oracle["inference"]) == ("oracle", "exact")
    assert coverage["seed"] == oracle["seed"] and coverage["rule"] == oracle["rule"]
    assert coverage["oracle_cost"] == oracle["experiment_cost"]
    assert coverage["reference_failed"] is (not oracle["identified"])
    assert [e["agent"] for e in result.summary] == ["coverage", "oracle"]
    assert result.summary[1]["reference"]
    given = bench.benchmark([NOISY], ["oracle", "coverage"], rules=str(rules), episodes=2)
    assert not given.reference_added
    assert [row["agent"] for row in given.rows] == ["oracle", "coverage"] * 2
