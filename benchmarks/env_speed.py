"""Speed of the environment: env steps per second per preset, and the exhaustive posterior.

1. **Env steps/s**: each registered preset driven by uniformly random *valid* actions
   (``action_masks()``), single process, resetting when an episode ends; the mean time of
   each kind of action (an episode's first request, the other requests, test a bit, test
   the MAP, the step that ends the episode) and its share of the time are reported too,
   and each v1 preset's rate over its v0 twin's, measured in the same run. (On the
   exhaustive presets an episode's first request scores all 2^18 rules: with nothing
   known yet, only the new data can put a rule out of reach.)
2. **Exhaustive B/S posterior**: the time of one ``exhaustive`` update over all 262,144
   B/S rules for one 64x64 soup (density 0.5, 16 steps) observed through strided(2) +
   noisy(0.01), next to a naive baseline timed in the same run: scoring rules one at a
   time with ``lifegym.likelihood.compare`` (a sample of rules, extrapolated to all).

Run from the repository root:

    python benchmarks/env_speed.py            # about 10 minutes on 2 cores
    python benchmarks/env_speed.py --quick    # smoke run

Prints a table and writes ``benchmarks/results/env_speed.json``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import platform
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import lifegym
from lifegym.inference.exhaustive import ExhaustiveEngine
from lifegym.likelihood import compare
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import RuleSpace, VisibleTrajectory

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "env_speed.json"
QUICK_OUT = ROOT / "benchmarks" / "results" / "env_speed_quick.json"
STEPS_TARGET = 2000.0  # env steps/s on LifeLike-Noisy-v0
V1_TARGET = 1500.0  # env steps/s on the v1 presets with exact-counting engines
EXHAUSTIVE_TARGET_S = 0.5
#: The exhaustive v1 presets' steps/s over LifeLike-Noisy-v1's, in the same run (issue 14).
EXHAUSTIVE_PRESETS = ("lifegym/LifeLike-Strided-v1", "lifegym/LifeLike-Stats-v1")
EXHAUSTIVE_OVER_NOISY_TARGET = 0.1


def _action_kind(env: Any, action: int) -> str:
    if action < len(env.menu):
        return "request"
    if action < env.test_map_action:
        return "test bit"
    return "test MAP" if action == env.test_map_action else "submit"


def env_steps(env_id: str, n_steps: int, repeats: int, seed: int = 0) -> dict[str, Any]:
    """Steps/s of ``env_id`` under random valid actions (best and median of ``repeats``
    runs of ``n_steps``: the machines are noisy), and the mean time and share of the time
    of each action kind."""
    env = gym.make(env_id).unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    requested = False  # whether this episode has had a request

    def run(n: int, times: dict[str, list[float]]) -> None:
        nonlocal requested
        for _ in range(n):
            action = int(rng.choice(np.flatnonzero(env.action_masks())))
            kind = _action_kind(env, action)
            if kind == "request" and not requested:
                kind, requested = "first request", True
            start = time.perf_counter()
            _, _, terminated, truncated, info = env.step(action)
            times["end" if "result" in info else kind].append(time.perf_counter() - start)
            if terminated or truncated:
                env.reset()
                requested = False

    # Compile and warm caches: every kernel a step can reach, including the scoring at an
    # episode's end, is compiled before the clock starts (a compile is not a step's cost).
    warm: dict[str, list[float]] = collections.defaultdict(list)
    run(max(50, n_steps // 10), warm)
    while not warm["end"] and sum(map(len, warm.values())) < 20 * max(50, n_steps // 10):
        run(10, warm)
    times: dict[str, list[float]] = collections.defaultdict(list)
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(n_steps, times)
        rates.append(n_steps / (time.perf_counter() - start))
    timed = sum(map(sum, times.values()))
    return {
        "env": env_id,
        "steps": n_steps,
        "repeats": repeats,
        "steps_per_s": max(rates),
        "steps_per_s_median": float(np.median(rates)),
        "steps_per_s_all": rates,
        "mean_us": {kind: 1e6 * float(np.mean(t)) for kind, t in times.items()},
        "count": {kind: len(t) for kind, t in times.items()},
        "time_share": {kind: float(np.sum(t)) / timed for kind, t in times.items()},
    }


def v1_against_v0(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Steps/s of each v1 twin / its v0 preset's, both measured in this run (best of runs)."""
    rate = {row["env"]: row["steps_per_s"] for row in rows}
    return {
        env_id: rate[env_id] / rate[env_id.replace("-v1", "-v0")]
        for env_id in rate
        if env_id.endswith("-v1") and env_id.replace("-v1", "-v0") in rate
    }


def exhaustive_against_noisy(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Steps/s of each exhaustive v1 preset / LifeLike-Noisy-v1's, both in this run."""
    rate = {row["env"]: row["steps_per_s"] for row in rows}
    noisy = rate.get("lifegym/LifeLike-Noisy-v1")
    if not noisy:
        return {}
    return {env_id: rate[env_id] / noisy for env_id in EXHAUSTIVE_PRESETS if env_id in rate}


def _trajectory(rule: Rule, size: int, steps: int, model: ObservationModel, seed: int):
    rng = np.random.default_rng(seed)
    initial = (rng.random((size, size)) < 0.5).astype(np.uint8)
    times, frames, stats = model.observe(simulate(rule, initial, steps), rng)
    return VisibleTrajectory("custom", initial, steps, times, frames, stats, model, 0)


def exhaustive(repeats: int, baseline_rules: int) -> dict[str, Any]:
    """One exhaustive update (all B/S rules) vs one-rule-at-a-time scoring, same data."""
    model = ObservationModel(noise=0.01, stride=2)
    space = RuleSpace.of("totalistic")
    trajectory = _trajectory(Rule.parse("B36/S23"), 64, 16, model, seed=1)
    ExhaustiveEngine(space, model).update(trajectory)  # compile
    best = float("inf")
    for _ in range(repeats):
        engine = ExhaustiveEngine(space, model)
        start = time.perf_counter()
        engine.update(trajectory)
        engine.belief()
        best = min(best, time.perf_counter() - start)
    rng = np.random.default_rng(2)
    sample = [Rule.random("totalistic", rng) for _ in range(baseline_rules)]
    compare(sample[0], [trajectory])
    start = time.perf_counter()
    for rule in sample:
        compare(rule, [trajectory])
    per_rule = (time.perf_counter() - start) / baseline_rules
    baseline = per_rule * 2**18
    return {
        "case": "64x64 soup, 16 steps, strided(2)+noisy(0.01), all 262144 B/S rules",
        "exhaustive_s": best,
        "baseline_s_extrapolated": baseline,
        "baseline_rules_timed": baseline_rules,
        "ratio": baseline / best,
        "map_rule": str(engine.belief().map_rule),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--steps", type=int, default=None, help="env steps per preset")
    parser.add_argument(
        "--env",
        action="append",
        metavar="ID",
        help="measure only this preset (repeatable; default every preset)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    n_steps = args.steps or (200 if args.quick else 3000)
    repeats = 1 if args.quick else 5
    rows = []
    print(f"{'env':32s} {'best':>8s} {'median':>8s}  steps/s   (mean time per action kind)")
    unknown = set(args.env or ()) - set(lifegym.PRESETS)
    if unknown:
        parser.error(f"unknown preset(s) {sorted(unknown)}; choose among {list(lifegym.PRESETS)}")
    for env_id in args.env or lifegym.PRESETS:
        # The exhaustive presets take ~10 ms per experiment, the search presets ~100 ms:
        # fewer steps and runs.
        inference = gym.spec(env_id).kwargs.get("inference") or ""
        if inference == "exhaustive":
            steps, runs = max(100, n_steps // 5), min(3, repeats)
        elif inference.startswith("search"):
            steps, runs = max(100, n_steps // 20), 1
        else:
            steps, runs = n_steps, repeats
        rows.append(env_steps(env_id, steps, runs))
        row = rows[-1]
        kinds = ", ".join(f"{k} {v:.0f}us" for k, v in sorted(row["mean_us"].items()))
        print(
            f"{env_id:32s} {row['steps_per_s']:8.0f} {row['steps_per_s_median']:8.0f}  ({kinds})",
            flush=True,
        )
    v1_ratios = v1_against_v0(rows)
    for env_id, ratio in v1_ratios.items():
        v1 = next(r for r in rows if r["env"] == env_id)
        target = ""
        if gym.spec(env_id).kwargs.get("inference") == "exact":
            target = f" (target >= {V1_TARGET:.0f} steps/s on the exact-counting presets)"
        print(
            f"{env_id}: {v1['steps_per_s']:.0f} steps/s = {ratio:.2f}x its v0 twin in this run"
            f"{target}"
        )
    exhaustive_ratios = exhaustive_against_noisy(rows)
    for env_id, ratio in exhaustive_ratios.items():
        row = next(r for r in rows if r["env"] == env_id)
        first = row["time_share"].get("first request", 0.0)
        print(
            f"{env_id}: {ratio:.3f}x LifeLike-Noisy-v1's steps/s in this run (1/{1 / ratio:.1f}; "
            f"target >= {EXHAUSTIVE_OVER_NOISY_TARGET}: "
            f"{'ok' if ratio >= EXHAUSTIVE_OVER_NOISY_TARGET else 'MISSED'}); "
            f"episodes' first requests: {row['count'].get('first request', 0)} steps, "
            f"{100 * first:.0f}% of the time"
        )
    noisy = next((r for r in rows if r["env"] == "lifegym/LifeLike-Noisy-v0"), None)
    if noisy is not None:
        print(
            f"\nLifeLike-Noisy-v0: {noisy['steps_per_s']:.0f} steps/s (best of "
            f"{noisy['repeats']}; median {noisy['steps_per_s_median']:.0f}), target >= "
            f"{STEPS_TARGET:.0f}: {'ok' if noisy['steps_per_s'] >= STEPS_TARGET else 'MISSED'}"
        )
    result = exhaustive(repeats=1 if args.quick else 5, baseline_rules=50 if args.quick else 300)
    print(
        f"exhaustive posterior ({result['case']}): {result['exhaustive_s']:.3f} s, "
        f"one-rule-at-a-time baseline {result['baseline_s_extrapolated']:.1f} s "
        f"(x{result['ratio']:.0f}); target <= {EXHAUSTIVE_TARGET_S} s: "
        f"{'ok' if result['exhaustive_s'] <= EXHAUSTIVE_TARGET_S else 'MISSED'}"
    )
    out = args.out or (QUICK_OUT if args.quick else DEFAULT_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine": platform.processor() or platform.machine(),
                "python": platform.python_version(),
                "envs": rows,
                "v1_over_v0": v1_ratios,
                "exhaustive_over_noisy_v1": exhaustive_ratios,
                "exhaustive": result,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
