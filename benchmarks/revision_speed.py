"""Speed of this checkout against an earlier commit, side by side: no preset slower.

For every registered preset it times the single env (``gym.make``) and, for the ids with a
vector entry point, the batched env (``gym.make_vec``, ``--num-envs`` episodes), each driven
by the same random valid actions (``action_masks()``; seeded, so both revisions play the
same episodes when their semantics agree). The two revisions run in turns, in fresh
processes (``--rounds`` turns each, the order alternating), so a noisy machine slows both
alike; the table gives each one's best steps/s once warm and their ratio (this checkout /
base). Warm means as in ``env_speed.py``: every kernel a step can reach has been called
(the scoring at an episode's end included). The time of the first 50 steps of a process,
when the compiled kernels are loaded on first use, is compared on its own
(``first_ratio``, base time / this checkout's: above 1 is faster).

Run from the repository root:

    python benchmarks/revision_speed.py --base HEAD~1          # about 15 minutes
    python benchmarks/revision_speed.py --base HEAD~1 --quick  # smoke run

The base is checked out with ``git worktree`` in a temporary folder and imported from
there (its own ``lifegym``; numba caches are per folder, so the first turn of each
revision compiles: the best of the turns is reported). Writes
``benchmarks/results/revision_speed.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh process of either revision: times one preset, prints JSON.
TIMER = r"""
import json, sys, time
import gymnasium as gym
import numpy as np
import lifegym

FIRST = 50
env_id, kind = sys.argv[1], sys.argv[2]
steps, num_envs, world = (int(v) for v in sys.argv[3:6])
kwargs = {"world": (world, world)} if world else {}
rng = np.random.default_rng(0)
if kind == "single":
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)
    def step():
        mask = env.unwrapped.action_masks()
        action = int((rng.random(mask.shape) * mask).argmax())
        _, _, term, trunc, _ = env.step(action)
        if term or trunc:
            env.reset()
        return term or trunc
    count = 1
else:
    env = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    env.reset(seed=0)
    def step():
        masks = env.action_masks()
        _, _, term, trunc, _ = env.step((rng.random(masks.shape) * masks).argmax(axis=1))
        return bool((term | trunc).any())
    count = num_envs
# Warm up as env_speed.py does: every kernel a step can reach (the first calls load the
# compiled kernels), the scoring at an episode's end included.
# The first FIRST steps (kernels loaded on first use) are timed on their own.
ended, start = False, time.perf_counter()
for i in range(20 * max(FIRST, steps // 10)):
    ended = step() or ended
    if i == FIRST - 1:
        first = time.perf_counter() - start
    if ended and i >= max(FIRST, steps // 10):
        break
start = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - start
print(json.dumps({"steps_per_s": steps * count / elapsed, "first_s": first}))
"""


def git(*args: str) -> str:
    """``git args`` in this checkout: its output, stripped."""
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def presets(kind: str) -> list[str]:
    """Registered lifegym ids (``kind`` "vector": those with a vector entry point)."""
    import gymnasium as gym

    import lifegym  # noqa: F401  (registers the ids)

    found = []
    for env_id, spec in sorted(gym.registry.items()):
        if not env_id.startswith("lifegym/") or "Text" in env_id:
            continue
        if kind == "vector" and spec.vector_entry_point is None:
            continue
        found.append(env_id)
    return found


def time_once(
    root: Path, env_id: str, kind: str, steps: int, num_envs: int, world: int
) -> tuple[float, float]:
    """(steps/s once warm, seconds of the first 50 steps) of one fresh process."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", TIMER, env_id, kind, str(steps), str(num_envs), str(world)],
        cwd=root, env=environment, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found = json.loads(out.stdout.strip().splitlines()[-1])
    return float(found["steps_per_s"]), float(found["first_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--env", action="append", metavar="ID", help="preset (repeatable)")
    parser.add_argument("--kinds", nargs="+", default=["single", "vector"])
    parser.add_argument("--steps", type=int, default=300, help="single-env steps per turn")
    parser.add_argument("--batch-steps", type=int, default=60, help="vector steps per turn")
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--world", type=int, default=0, help="square world side (0: preset's)")
    parser.add_argument("--rounds", type=int, default=3, help="turns of each revision")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 presets, 1 turn")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/revision_speed.json")
    args = parser.parse_args()
    started = time.perf_counter()
    if args.quick:
        args.steps, args.batch_steps, args.rounds = 30, 5, 1
    base_commit = git("rev-parse", args.base)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as folder:
        base_root = Path(folder) / "base"
        git("worktree", "add", "--detach", str(base_root), base_commit)
        try:
            for kind in args.kinds:
                ids = args.env or presets(kind)
                if args.quick and not args.env:
                    ids = ids[:2]
                for env_id in ids:
                    if kind == "vector" and env_id not in presets("vector"):
                        continue
                    steps = args.steps if kind == "single" else args.batch_steps
                    best = {"head": 0.0, "base": 0.0}
                    first = {"head": float("inf"), "base": float("inf")}
                    for turn in range(args.rounds):
                        order = ("head", "base") if turn % 2 == 0 else ("base", "head")
                        for name in order:
                            root = ROOT if name == "head" else base_root
                            rate, seconds = time_once(
                                root, env_id, kind, steps, args.num_envs, args.world
                            )
                            best[name] = max(best[name], rate)
                            first[name] = min(first[name], seconds)
                    row = {
                        "env_id": env_id,
                        "kind": kind,
                        "head": round(best["head"], 1),
                        "base": round(best["base"], 1),
                        "ratio": round(best["head"] / best["base"], 3),
                        "first_head_s": round(first["head"], 4),
                        "first_base_s": round(first["base"], 4),
                        "first_ratio": round(first["base"] / first["head"], 3),
                    }
                    rows.append(row)
                    print(
                        f"{kind:6s} {env_id:42s} head {row['head']:>9.1f}  "
                        f"base {row['base']:>9.1f}  ratio {row['ratio']:.3f}  "
                        f"first 50 steps {row['first_ratio']:.3f}",
                        flush=True,
                    )
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(base_root)],
                cwd=ROOT, capture_output=True, check=False,
            )  # fmt: skip
    head_commit = git("rev-parse", "HEAD")
    record = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "head": head_commit,
        "head_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "base": base_commit,
        "settings": {k: v for k, v in vars(args).items() if k != "out"} | {"out": None},
        "rows": rows,
        "slowest_ratio": min((r["ratio"] for r in rows), default=None),
        "slowest_first_ratio": min((r["first_ratio"] for r in rows), default=None),
        "seconds": round(time.perf_counter() - started),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"slowest ratio {record['slowest_ratio']}; wrote {args.out}")


if __name__ == "__main__":
    main()
