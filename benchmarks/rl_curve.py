"""The learning curve of a trained policy, in the benchmark's own terms.

Reads a training folder written by ``python -m lifegym.agents.train_rl`` (``train.json``,
``progress.csv``, ``checkpoints/``, ``policy.zip``) and measures every checkpoint and the
final policy with ``lifegym.bench`` on the env it was trained on: exact %, mean experiment
cost, on the named rules and ``--random`` rules from the prior (the same seeds for every
checkpoint), next to ``infogain`` and ``random`` measured in the same run. Also lists SB3's
training curve (mean episode reward and length) at the checkpoints. Writes
``OUT.md`` and ``OUT.json``::

    python benchmarks/rl_curve.py /work/rl/noisy --out benchmarks/results/rl_curve
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path
from typing import Any

import lifegym  # noqa: F401  (registers the ids)
from lifegym import bench


def checkpoints(folder: Path) -> list[tuple[int, Path]]:
    """(training steps, zip) of every checkpoint and of the final policy, by steps."""
    found = []
    for path in (folder / "checkpoints").glob("*_steps.zip"):
        match = re.search(r"_(\d+)_steps\.zip$", path.name)
        if match:
            found.append((int(match.group(1)), path))
    settings = json.loads((folder / "train.json").read_text())
    found.append((int(settings.get("steps_done", settings["steps"])), folder / "policy.zip"))
    return sorted(found)


def training_curve(folder: Path, at_steps: list[int]) -> dict[int, dict[str, float]]:
    """SB3's mean episode reward and length at the last log line before each step count."""
    with open(folder / "progress.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("rollout/ep_rew_mean")]
    out = {}
    for steps in at_steps:
        before = [r for r in rows if int(r["time/total_timesteps"]) <= steps] or rows[:1]
        last = before[-1]
        out[steps] = {
            "ep_rew_mean": float(last["rollout/ep_rew_mean"]),
            "ep_len_mean": float(last["rollout/ep_len_mean"]),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a train_rl output folder")
    parser.add_argument("--random", type=int, default=100, help="random rules")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", required=True, help="output path without suffix")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    settings = json.loads((folder / "train.json").read_text())
    env_id = settings["env"]
    points = checkpoints(folder)
    agents = ["random", "infogain", *(f"maskable-ppo:{path}" for _, path in points)]
    named = bench.rules_for("named", env_id)[0]
    summaries: dict[str, list[dict[str, Any]]] = {}
    for name, rules in (("named", named), ("random", [None] * args.random)):
        jobs = bench.make_jobs([env_id], agents, lambda _, r=rules: r, 1, args.seed)
        summaries[name] = bench.summarise(bench.run_local(jobs, args.workers))
    curve = training_curve(folder, [steps for steps, _ in points])
    label = {f"maskable-ppo:{path}": f"{steps:,} steps" for steps, path in points}
    lines = [
        f"# Learning curve: {settings['algorithm']} on {env_id}",
        "",
        f"Training: `{settings['command']}` ({settings['wall_s'] / 60:.1f} min, "
        f"{settings.get('steps_done', settings['steps']):,} steps, reward "
        f"{settings.get('reward', 'info_gain')}, experiment weight "
        f"{settings.get('experiment_weight', 1.0)}).",
        "",
        "| agent | train reward | train episode length | named exact % | named experiment "
        "cost | random exact % | random experiment cost |",
        "|---|---|---|---|---|---|---|",
    ]
    records = []
    for agent in agents:
        steps = next((s for s, p in points if f"maskable-ppo:{p}" == agent), None)
        trained = curve.get(steps, {}) if steps is not None else {}
        cells = {
            name: next(e for e in summaries[name] if e["agent"] == agent) for name in summaries
        }
        records.append({"agent": label.get(agent, agent), **trained, **cells})
        reward = f"{trained['ep_rew_mean']:.2f}" if trained else "-"
        length = f"{trained['ep_len_mean']:.2f}" if trained else "-"
        lines.append(
            f"| {label.get(agent, agent)} | {reward} | {length} | "
            f"{cells['named']['exact']:.1f} | {cells['named']['experiment_cost']:,.0f} | "
            f"{cells['random']['exact']:.1f} | {cells['random']['experiment_cost']:,.0f} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    payload = {"settings": settings, "random": args.random, "rows": records}
    out.with_suffix(".json").write_text(json.dumps(payload, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
