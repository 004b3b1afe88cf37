"""Speed of the ``exhaustive`` engine: seconds for one update over all 2^18 B/S rules.

One update = ``RuleScores.add`` (what ``ExhaustiveEngine.update`` does) with one visible
trajectory of a density-0.5 soup on the torus, run ``steps`` steps by the hidden rule
(B3/S23) and observed through the case's model, starting from no data (or, for the
``+1`` cases, after one earlier trajectory of the same kind). Every case is run once to
compile (or load from numba's cache) and then timed ``--repeats`` times, each on a
fresh engine; the table reports the BEST repeat. The goal: at most 0.5 s for the
64x64 strided(2) + noisy(0.01) 16-step case on a 2-core machine.

Run from the repository root:

    python benchmarks/exhaustive_speed.py            # about a minute, mostly compilation
    python benchmarks/exhaustive_speed.py --repeats 5 --out /tmp/exhaustive.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import machine
import numpy as np

from lifegym.inference.exhaustive import RuleScores
from lifegym.observe import ObservationModel, full, noisy, stats, strided
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace, VisibleTrajectory

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "exhaustive_speed.json"
HIDDEN_RULE = "B3/S23"
DENSITY = 0.5
GOAL_CASE = "64x64 strided(2)+noisy(0.01)"
GOAL_STEPS = 16
GOAL_SECONDS = 0.5


@dataclass(frozen=True)
class Case:
    """One benchmark case: a world, an observation model, a number of steps.

    Attributes:
        name: label in the table.
        size: the world is ``size`` x ``size`` (torus).
        model: a key of ``MODELS``.
        steps: steps the trajectory runs.
        prior: trajectories the engine has seen before the timed update.
    """

    name: str
    size: int
    model: str
    steps: int
    prior: int = 0


MODELS: dict[str, ObservationModel] = {
    "strided(2)+noisy(0.01)": strided(2) + noisy(0.01),
    "stats(0.3)": stats(0.3),
    "full()": full(),
}

CASES: tuple[Case, ...] = (
    *(Case(GOAL_CASE, 64, "strided(2)+noisy(0.01)", steps) for steps in (2, 8, 16)),
    Case("60x60 strided(2)+noisy(0.01)", 60, "strided(2)+noisy(0.01)", 16),
    *(Case("64x64 stats(0.3)", 64, "stats(0.3)", steps) for steps in (2, 8, 16)),
    Case("64x64 full()", 64, "full()", 16),
    Case("64x64 strided(2)+noisy(0.01) +1", 64, "strided(2)+noisy(0.01)", 16, prior=1),
    Case("64x64 stats(0.3) +1", 64, "stats(0.3)", 16, prior=1),
)


def trajectory(case: Case, seed: int) -> VisibleTrajectory:
    """The case's visible trajectory number ``seed`` (soup and noise from ``seed``)."""
    rng = np.random.default_rng(seed)
    init = (rng.random((case.size, case.size)) < DENSITY).astype(np.uint8)
    model = MODELS[case.model]
    frames = simulate(HIDDEN_RULE, init, case.steps)
    times, seen, seen_stats = model.observe(frames, rng)
    return VisibleTrajectory(
        experiment="custom",
        initial=init,
        steps=case.steps,
        times=times,
        frames=seen,
        stats=seen_stats,
        model=model,
        cost=0,
    )


def run_case(case: Case, repeats: int) -> dict[str, Any]:
    """Time one update of ``case``: best of ``repeats`` after one warm-up run."""
    space = RuleSpace.of("totalistic")
    earlier = [trajectory(case, 1000 + i) for i in range(case.prior)]
    timed = trajectory(case, 0)
    times = []
    scores = RuleScores(space)
    for repeat in range(repeats + 1):
        scores = RuleScores(space)
        for item in earlier:
            scores.add(item)
        start = time.perf_counter()
        scores.add(timed)
        if repeat:  # the first run compiles or loads the kernels
            times.append(time.perf_counter() - start)
    info = scores.last_update
    values = np.where(scores.exact, scores.loglik, -np.inf)
    best = int(np.argmax(values))
    found = space.rule((best >> np.arange(space.n_free)) & 1)
    return {
        **asdict(case),
        "seconds": min(times),
        "seconds_all": times,
        "pilot_rules": info.get("pilot_rules"),
        "stage_rules": info.get("stage_rules"),
        "past_first_frame": info.get("past_first_frame"),
        "revived": info.get("revived"),
        "exact_rules": int(scores.exact.sum()),
        "map_is_hidden_rule": found == Rule.parse(HIDDEN_RULE),
    }


def measure(cases: Sequence[Case] = CASES, repeats: int = 3) -> list[dict[str, Any]]:
    """Run every case; one row (dict) per case, see ``run_case``."""
    return [run_case(case, repeats) for case in cases]


def print_table(rows: list[dict[str, Any]]) -> None:
    header = f"{'case':34} {'steps':>5} {'s/update':>9} {'past 1st frame':>14} {'MAP ok':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        goal = ""
        if row["name"] == GOAL_CASE and row["steps"] == GOAL_STEPS:
            goal = f"  goal <= {GOAL_SECONDS} s: " + (
                "ok" if row["seconds"] <= GOAL_SECONDS else "MISS"
            )
        print(
            f"{row['name']:34} {row['steps']:>5} {row['seconds']:>9.3f} "
            f"{row['past_first_frame']:>14} {'yes' if row['map_is_hidden_rule'] else 'no':>6}"
            f"{goal}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per case (best)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output path")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    info = machine.machine_info()
    rows = measure(CASES, args.repeats)
    print(
        f"one update over all 2^18 B/S rules, hidden rule {HIDDEN_RULE}, soup density "
        f"{DENSITY}; best of {args.repeats} after a warm-up run"
    )
    print(
        f"{info['cpu_count']} CPUs ({info['cpu_model']}), {info['numba_threads']} threads, "
        f"load average before the run {info['load_average']}\n"
    )
    print_table(rows)
    payload = {
        "machine": info,
        "settings": {
            "repeats": args.repeats,
            "hidden_rule": HIDDEN_RULE,
            "density": DENSITY,
            "statistic": "best repeat",
            "goal": {"case": GOAL_CASE, "steps": GOAL_STEPS, "seconds": GOAL_SECONDS},
        },
        "rows": rows,
        "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "wall_time_s": time.perf_counter() - start,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {args.out} ({payload['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
