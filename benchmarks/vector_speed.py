"""Speed of the vector envs: native (``vector_entry_point``) vs ``sync`` vs ``async``.

Each Discrete v1 preset is driven through ``gym.make_vec(id, num_envs=N,
vectorization_mode=...)`` with uniformly random *valid* actions (``action_masks()``),
autoresetting (Gymnasium's ``NEXT_STEP`` mode), for N = 1, 16, 64, 256. Env steps/s counts
N per batch step; each configuration runs at least ``--seconds`` (and ``--min-steps`` batch
steps) after a warm-up, and the three modes of one (preset, N) run back to back, so their
ratios come from one run on one machine state. ``async`` starts one process per env: it is
measured up to ``--async-max`` envs (256 processes would not fit in memory here).

``--policies`` adds two ways of acting that end episodes often, so what an episode's end
costs stays visible: ``submit`` submits at every step (every step ends an episode: the
loop of a policy that has learned to stop at once), ``short`` submits with probability
1/4 and otherwise takes a random valid experiment or test (episodes of 4 steps on
average). Their rows carry ``vs_random``: their rate over the random policy's on the same
(preset, N, mode), measured in the same run.

Presets whose engine is not batched (``exhaustive``, ``search``) fall back to single envs
in the native mode; their rows say so.

Run from the repository root:

    python benchmarks/vector_speed.py            # about 15 minutes on 2 cores
    python benchmarks/vector_speed.py --quick    # smoke run
    python benchmarks/vector_speed.py --env lifegym/LifeLike-Noisy-v1 --num-envs 64
    python benchmarks/vector_speed.py --num-envs 32 --modes vector_entry_point \
        --policies random submit short --out benchmarks/results/vector_speed_episode_ends.json

Prints a table and writes ``benchmarks/results/vector_speed.json`` (a run over part of the
sweep writes ``vector_speed_part.json``, a quick one ``vector_speed_quick.json``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import machine
import numpy as np

from lifegym.registration import PRESETS
from lifegym.vector import RuleDiscoveryVectorEnv

OUT = machine.ROOT / "benchmarks" / "results" / "vector_speed.json"
QUICK_OUT = machine.ROOT / "benchmarks" / "results" / "vector_speed_quick.json"
#: A run over part of the sweep (--env, --num-envs, --modes) goes here, not over the full one.
PART_OUT = machine.ROOT / "benchmarks" / "results" / "vector_speed_part.json"
MODES = ("vector_entry_point", "sync", "async")
NUM_ENVS = (1, 16, 64, 256)
#: How the loop acts (module doc).
POLICIES = ("random", "submit", "short")
#: The chance of submitting at each step under the ``short`` policy.
SHORT_SUBMIT = 0.25
#: The done-when target: native >= this x sync at N = 64 on LifeLike-Noisy-v1.
TARGET = ("lifegym/LifeLike-Noisy-v1", 64, 10.0)


def _masks(env: gym.vector.VectorEnv) -> np.ndarray:
    if hasattr(env, "action_masks"):
        return env.action_masks()
    return np.stack(env.call("action_masks"))


def choose(masks: np.ndarray, submit: int, policy: str, rng: np.random.Generator) -> np.ndarray:
    """One action per env under ``policy`` (``POLICIES``) from the valid-action ``masks``
    (N, n_actions); ``submit`` is the submit action's index."""
    if policy == "submit":
        return np.full(len(masks), submit)
    if policy == "random":
        return (rng.random(masks.shape) * masks).argmax(axis=1)
    others = masks.copy()
    others[:, submit] = False
    actions = (rng.random(masks.shape) * others).argmax(axis=1)
    stop = (rng.random(len(masks)) < SHORT_SUBMIT) | ~others.any(axis=1)
    return np.where(stop, submit, actions)


def steps_per_second(
    env_id: str,
    mode: str,
    num_envs: int,
    seconds: float,
    min_steps: int,
    seed: int = 0,
    policy: str = "random",
) -> dict[str, Any]:
    """Env steps/s of ``gym.make_vec(env_id, num_envs, mode)`` under ``policy`` (random
    valid actions by default; the env's step time only: choosing the actions is not
    counted)."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    submit = gym.make(env_id).unwrapped.submit_action
    start = time.perf_counter()
    env = gym.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    built = time.perf_counter() - start
    try:
        env.reset(seed=seed)
        rng = np.random.default_rng(seed)

        def run(batches: int, budget: float | None) -> tuple[int, float]:
            done, spent = 0, 0.0
            while done < batches or (budget is not None and spent < budget):
                actions = choose(_masks(env), submit, policy, rng)
                tick = time.perf_counter()
                env.step(actions)
                spent += time.perf_counter() - tick
                done += 1
            return done, spent

        run(1, 0.5)  # warm caches (and compile, the first time): 1 batch step, >= 0.5 s
        batches, spent = run(min_steps, seconds)
    finally:
        env.close()
    native = type(env.unwrapped) is RuleDiscoveryVectorEnv
    return {
        "env": env_id,
        "mode": mode,
        "policy": policy,
        "num_envs": num_envs,
        "batched": native if mode == "vector_entry_point" else None,
        "batch_steps": batches,
        "env_steps": batches * num_envs,
        "seconds": spent,
        "steps_per_s": batches * num_envs / spent,
        "build_s": built,
    }


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Native steps/s over sync's and async's for each (preset, N) measured, under random
    actions."""
    rate = {
        (r["env"], r["num_envs"], r["mode"]): r["steps_per_s"]
        for r in rows
        if r["policy"] == "random"
    }
    found = []
    for (env_id, n, mode), native in rate.items():
        if mode != "vector_entry_point":
            continue
        entry: dict[str, Any] = {"env": env_id, "num_envs": n}
        for other in ("sync", "async"):
            if (env_id, n, other) in rate:
                entry[f"vs_{other}"] = native / rate[(env_id, n, other)]
        found.append(entry)
    return found


def add_vs_random(rows: list[dict[str, Any]]) -> None:
    """Set ``vs_random`` on every row: its rate over the random policy's on the same
    (preset, N, mode) in the same run (None without such a row)."""
    random_rate = {
        (r["env"], r["num_envs"], r["mode"]): r["steps_per_s"]
        for r in rows
        if r["policy"] == "random"
    }
    for row in rows:
        base = random_rate.get((row["env"], row["num_envs"], row["mode"]))
        row["vs_random"] = None if base is None else row["steps_per_s"] / base


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    v1_ids = [env_id for env_id in PRESETS if env_id.endswith("-v1")]
    parser.add_argument("--env", action="append", metavar="ID", help="preset (repeatable)")
    parser.add_argument("--num-envs", type=int, action="append", help="N (repeatable)")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument(
        "--policies", nargs="+", default=["random"], choices=POLICIES, help="how to act"
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="least time per config")
    parser.add_argument("--min-steps", type=int, default=5, help="least batch steps per config")
    parser.add_argument("--async-max", type=int, default=64, help="most async envs")
    parser.add_argument("--quick", action="store_true", help="smoke run: N <= 16, 0.5 s")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    env_ids = args.env or v1_ids
    unknown = sorted(set(env_ids) - set(v1_ids))
    if unknown:
        parser.error(f"not v1 presets: {unknown}; choose among {v1_ids}")
    sizes = args.num_envs or ([1, 16] if args.quick else list(NUM_ENVS))
    if min(sizes) < 1:
        parser.error(f"--num-envs must be >= 1, got {min(sizes)}")
    seconds = 0.5 if args.quick else args.seconds
    rows: list[dict[str, Any]] = []
    print(f"{'env':30s} {'N':>4s} {'mode':>18s} {'policy':>7s} {'steps/s':>9s}  batched")
    for env_id in env_ids:
        for n in sizes:
            for mode in args.modes:
                if mode == "async" and n > args.async_max:
                    continue
                for policy in args.policies:
                    row = steps_per_second(env_id, mode, n, seconds, args.min_steps, policy=policy)
                    rows.append(row)
                    print(
                        f"{env_id:30s} {n:4d} {mode:>18s} {policy:>7s} "
                        f"{row['steps_per_s']:9.0f}  "
                        f"{'' if row['batched'] is None else row['batched']}",
                        flush=True,
                    )
    add_vs_random(rows)
    ends = [r for r in rows if r["policy"] != "random" and r["vs_random"] is not None]
    if ends:
        print("\nepisode ends: rate / random actions' rate (same run):")
        for row in ends:
            print(
                f"  {row['env']:30s} N={row['num_envs']:<4d} {row['mode']:>18s} "
                f"{row['policy']:>7s} {row['vs_random']:.2f}x"
            )
    found = ratios(rows)
    if any(len(entry) > 2 for entry in found):
        print("\nnative / sync, native / async (same run):")
    for entry in found:
        parts = [f"{k[3:]} {v:.1f}x" for k, v in entry.items() if k.startswith("vs_")]
        if not parts:  # only the native mode was measured
            continue
        print(f"  {entry['env']:30s} N={entry['num_envs']:<4d} {', '.join(parts)}")
    env_id, n, target = TARGET
    hit = next((e for e in found if (e["env"], e["num_envs"]) == (env_id, n)), None)
    if hit is not None and "vs_sync" in hit:
        verdict = "ok" if hit["vs_sync"] >= target else "MISSED"
        print(
            f"\n{env_id} N={n}: native {hit['vs_sync']:.1f}x sync (target >= {target}): {verdict}"
        )
    whole = (
        not (args.env or args.num_envs)
        and set(args.modes) == set(MODES)
        and args.policies == ["random"]
    )
    out = args.out or (QUICK_OUT if args.quick else OUT if whole else PART_OUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "seconds": seconds,
        "min_steps": args.min_steps,
        "async_max": args.async_max,
        "policies": args.policies,
        "short_submit": SHORT_SUBMIT,
    }
    out.write_text(
        json.dumps(
            {
                "machine": machine.machine_info(),
                "settings": settings,
                "rows": rows,
                "ratios": found,
            },
            indent=1,
        )
        + "\n"
    )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
