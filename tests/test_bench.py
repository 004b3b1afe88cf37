"""``lifegym bench``: rules, jobs and seeds, local runs, the summary, and the command line."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lifegym import bench
from lifegym.cli import main
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


def _without_wall(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "wall_s"} for row in rows]


def test_local_runs_repeat_and_workers_give_the_same_rows() -> None:
    jobs = bench.make_jobs([NOISY], ["random", "coverage"], lambda _: ["B3/S23", None], 1, seed=3)
    serial = bench.run_local(jobs)
    assert _without_wall(serial) == _without_wall(bench.run_local(jobs))
    assert _without_wall(serial) == _without_wall(bench.run_local(jobs, workers=2))
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
    header = "| env | inference | design | agent | episodes | identified % | exact % |"
    assert table.splitlines()[0].startswith(header)
    assert "| exact |  | random |" in table
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
    assert "| lifegym/LifeLike-Noisy-v0 | exact |  | coverage | 2 |" in captured.out
    assert "lie outside its rule space and were not played: B2-a/S12" in captured.out
    rows = json.loads(out["rows.json"].read_text())
    fields = {"env", "inference", "agent", "rule", "seed", "wall_s", "exact"}
    assert len(rows) == 4 and fields <= set(rows[0])
    assert out["summary.md"].read_text() in captured.out
    summary = json.loads(out["summary.json"].read_text())
    assert [(s["agent"], s["episodes"]) for s in summary] == [("coverage", 2), ("random", 2)]
    assert {"identified_rate", "identified_ci", "experiment_cost_ci"} <= set(summary[0])
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
    assert _without_wall(rows) == _without_wall(bench.run_local(jobs))
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
    assert [row["agent"] for row in rows] == ["coverage", "coverage"]


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
    assert oracle["reference"] and oracle["cost_vs_oracle"] == 1.0
    ratio = infogain["experiment_cost"] / oracle["experiment_cost"]
    assert infogain["cost_vs_oracle"] == pytest.approx(ratio)
    table = bench.markdown_table([oracle, infogain])
    assert "| yes | oracle (reference) |" in table and "| yes | infogain |" in table
    without = bench.summarise([r for r in rows if r["agent"] != "oracle"])
    assert math.isnan(without[0]["cost_vs_oracle"])
    assert bench.bounds(v1) == {"capacity": 26, "sightings": 52}
    assert bench.bounds("lifegym/LifeLike-Stats-v1")["sightings"] is None


def test_summary_json_carries_rates_means_and_intervals(tmp_path: Path) -> None:
    jobs = bench.make_jobs([NOISY], ["random"], lambda _: ["B3/S23", "B36/S23"], 2, seed=1)
    rows = bench.run_local(jobs)
    summary = bench.summarise(rows)
    path = tmp_path / "summary.json"
    bench.write_summary_json(summary, path)
    (entry,) = json.loads(path.read_text())
    assert entry["episodes"] == 4
    for metric in ("identified", "exact", "behavioural_match"):
        successes = sum(bool(row[metric]) for row in rows)
        assert entry[f"{metric}_rate"] == successes / 4
        low, high = entry[f"{metric}_ci"]
        assert 0 <= low <= entry[f"{metric}_rate"] <= high <= 1
    for metric in ("experiment_cost", "compute_cost"):
        mean = sum(row[metric] for row in rows) / 4
        assert entry[f"{metric}_mean"] == pytest.approx(mean)
        low, high = entry[f"{metric}_ci"]
        assert min(row[metric] for row in rows) <= low <= mean <= high
    old = [{k: v for k, v in row.items() if k != "identified"} for row in rows]
    assert math.isnan(bench.summarise(old)[0]["identified_rate"])  # rows from before: no rate
