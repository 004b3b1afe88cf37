"""Throughput of lifegym.simulate against a numpy baseline (and pyseagull when installed).

Cell updates per second = grids x height x width x steps / wall time. Every configuration
is timed ``--repeats`` times, the repeats interleaved across configurations so that a noisy
neighbour slows all of them alike; the table reports the BEST repeat (highest throughput),
the JSON also keeps every time and the median.

Run from the repository root:

    python benchmarks/sim_speed.py            # about 1-3 minutes on 2 cores
    python benchmarks/sim_speed.py --quick    # smoke run, a few seconds after compilation
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import machine
import numpy as np

from lifegym.rules import Rule
from lifegym.sim import simulate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "sim_speed.json"
QUICK_OUT = ROOT / "benchmarks" / "results" / "sim_speed_quick.json"

# (name, batch, height, width); batch 0 = one (H, W) grid.
CASES: tuple[tuple[str, int, int, int], ...] = (
    ("1 x 2048^2", 0, 2048, 2048),
    ("256 x 64^2", 256, 64, 64),
    ("16 x 256^2", 16, 256, 256),
)
RULES: tuple[tuple[str, str], ...] = (("totalistic", "B3/S23"), ("isotropic", "B2-a/S12"))
# Minimum speed-up over numpy the project aims for: (case name, rule kind) -> ratio.
TARGETS: dict[tuple[str, str], float] = {
    ("1 x 2048^2", "totalistic"): 150.0,
    ("256 x 64^2", "totalistic"): 100.0,
    **{(name, "isotropic"): 10.0 for name, *_ in CASES},
}
RECORD_ALL_CASE = ("16 x 256^2", "totalistic")
RECORD_ALL_MAX_BYTES = 256 * 2**20  # cap on the frames array of the record="all" run
DENSITY = 0.35

# 8 neighbour offsets (dr, dc) and their bit in the 9-bit pattern index (centre = 16).
NEIGHBOURS: tuple[tuple[int, int, int], ...] = tuple(
    (r - 1, c - 1, 1 << (8 - (3 * r + c))) for r in range(3) for c in range(3) if (r, c) != (1, 1)
)


# ---------------------------------------------------------------------------- baselines


def totalistic_lut(table: np.ndarray) -> np.ndarray:
    """uint8[18]: next state at index centre * 9 + neighbour count, from a 512-table."""
    lut = np.zeros(18, dtype=np.uint8)
    for centre in (0, 1):
        for count in range(9):
            pattern = (centre << 4) | sum(bit for _, _, bit in NEIGHBOURS[:count])
            lut[centre * 9 + count] = table[pattern]
    return lut


def neighbour(grid: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """grid[..., i + dr, j + dc] on the torus, over the last two axes (batch-vectorised)."""
    return np.roll(grid, (-dr, -dc), axis=(-2, -1))


def numpy_totalistic_step(grid: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """8 np.roll shifts summed into a uint8 neighbour count, then one lookup."""
    count = np.zeros_like(grid)
    for dr, dc, _ in NEIGHBOURS:
        count += neighbour(grid, dr, dc)
    return lut[grid * np.uint8(9) + count]


def numpy_table_step(grid: np.ndarray, table: np.ndarray) -> np.ndarray:
    """8 np.roll shifts OR-ed into a uint16 9-bit index (centre included), then one lookup."""
    index = grid.astype(np.uint16) << np.uint16(4)
    for dr, dc, bit in NEIGHBOURS:
        index |= neighbour(grid, dr, dc) * np.uint16(bit)
    return table[index]


def numpy_runner(kind: str, rule: Rule) -> Callable[[np.ndarray, int], np.ndarray]:
    if kind == "totalistic":
        lut = totalistic_lut(rule.table)
        step: Callable[[np.ndarray], np.ndarray] = lambda g: numpy_totalistic_step(g, lut)  # noqa: E731
    else:
        table = np.asarray(rule.table, dtype=np.uint8)
        step = lambda g: numpy_table_step(g, table)  # noqa: E731

    def run(init: np.ndarray, steps: int) -> np.ndarray:
        grid = init
        for _ in range(steps):
            grid = step(grid)
        return grid

    return run


def lifegym_runner(rule: Rule, record: str) -> Callable[[np.ndarray, int], np.ndarray]:
    def run(init: np.ndarray, steps: int) -> np.ndarray:
        out = simulate(rule, init, steps, record=record)
        return out[..., -1, :, :]

    return run


def seagull_runner(rulestring: str) -> Callable[[np.ndarray, int], np.ndarray] | None:
    """pyseagull's rule function (scipy convolve2d, wrap boundary), one grid at a time.

    Only the rule function is timed, not seagull's Simulator (which also stores history).
    """
    try:
        os.environ.setdefault("MPLBACKEND", "Agg")
        from seagull.rules import life_rule  # type: ignore[import-not-found]
    except ImportError:
        return None

    def run(init: np.ndarray, steps: int) -> np.ndarray:
        grids = [g for g in (init if init.ndim == 3 else init[None])]
        for _ in range(steps):
            grids = [life_rule(g, rulestring) for g in grids]
        out = np.stack(grids).astype(np.uint8)
        return out if init.ndim == 3 else out[0]

    return run


# ---------------------------------------------------------------------------- timing


@dataclass
class Config:
    case: str
    kind: str
    rule: str
    impl: str  # "lifegym", "lifegym record=all", "numpy", "seagull"
    init: np.ndarray
    run: Callable[[np.ndarray, int], np.ndarray]
    steps: int = 1
    times: list[float] = field(default_factory=list)

    @property
    def cells(self) -> int:
        return int(self.init.size)

    def time_once(self) -> float:
        start = time.perf_counter()
        self.run(self.init, self.steps)
        return time.perf_counter() - start

    def calibrate(self, min_time: float, max_steps: int) -> None:
        """Choose ``steps`` so that one timed run lasts about ``min_time`` seconds."""
        for _ in range(3):
            elapsed = self.time_once()
            if elapsed >= min_time or self.steps >= max_steps:
                break
            scale = min_time / max(elapsed, 1e-6)
            self.steps = min(max_steps, max(self.steps + 1, math.ceil(self.steps * scale)))

    def rates(self) -> list[float]:
        return [self.cells * self.steps / t for t in self.times]

    def best(self) -> float:
        return max(self.rates())

    def median(self) -> float:
        return statistics.median(self.rates())


def make_init(batch: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    shape = (height, width) if batch == 0 else (batch, height, width)
    return (np.random.default_rng(seed).random(shape) < DENSITY).astype(np.uint8)


def check_agreement(config: Config, reference: Config, steps: int = 3) -> None:
    """Fail loudly if an implementation disagrees with the numpy baseline."""
    got = np.asarray(config.run(config.init, steps), dtype=np.uint8)
    want = reference.run(reference.init, steps)
    if not np.array_equal(got, want):
        raise SystemExit(f"{config.impl} disagrees with numpy on {config.case} {config.rule}")


def build_configs(quick: bool) -> list[Config]:
    configs: list[Config] = []
    for case, batch, height, width in CASES:
        init = make_init(batch, height, width)
        for kind, rulestring in RULES:
            rule = Rule.parse(rulestring)
            base = Config(case, kind, rulestring, "numpy", init, numpy_runner(kind, rule))
            fast = Config(case, kind, rulestring, "lifegym", init, lifegym_runner(rule, "last"))
            group = [fast, base]
            if (case, kind) == RECORD_ALL_CASE:
                group.append(
                    Config(
                        case,
                        kind,
                        rulestring,
                        "lifegym record=all",
                        init,
                        lifegym_runner(rule, "all"),
                    )
                )
            sea = seagull_runner(rulestring) if kind == "totalistic" else None
            if sea is not None:
                group.append(Config(case, kind, rulestring, "seagull", init, sea))
            for config in group[:1] + group[2:]:
                check_agreement(config, base, steps=1 if quick else 3)
            configs.extend(group)
    return configs


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel the timed runs use."""
    for _, batch, height, width in CASES:
        init = make_init(batch, min(height, 8), min(width, 130))
        for _, rulestring in RULES:
            for record in ("last", "all"):
                simulate(rulestring, init, 3, record=record)


def measure(configs: list[Config], repeats: int, min_time: float) -> None:
    for config in configs:
        max_steps = 100_000
        if config.impl == "lifegym record=all":
            max_steps = max(1, RECORD_ALL_MAX_BYTES // config.cells - 1)
        config.calibrate(min_time, max_steps)
    for rep in range(repeats):
        order = configs if rep % 2 == 0 else configs[::-1]
        for config in order:
            config.times.append(config.time_once())


# ---------------------------------------------------------------------------- report


def machine_info() -> dict[str, Any]:
    return {**machine.machine_info(), "seagull": _seagull_version()}


def _seagull_version() -> str | None:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("pyseagull")
    except (ImportError, PackageNotFoundError):
        return None


def find(configs: list[Config], case: str, kind: str, impl: str) -> Config | None:
    for c in configs:
        if (c.case, c.kind, c.impl) == (case, kind, impl):
            return c
    return None


def report_rows(configs: list[Config]) -> list[dict[str, Any]]:
    rows = []
    for case, *_ in CASES:
        for kind, rulestring in RULES:
            base = find(configs, case, kind, "numpy")
            assert base is not None
            for impl in ("lifegym", "lifegym record=all"):
                fast = find(configs, case, kind, impl)
                if fast is None:
                    continue
                sea = find(configs, case, kind, "seagull")
                target = TARGETS.get((case, kind)) if impl == "lifegym" else None
                ratio = fast.best() / base.best()
                rows.append(
                    {
                        "case": case,
                        "rule": rulestring,
                        "kind": kind,
                        "impl": impl,
                        "lifegym_cells_per_s": fast.best(),
                        "numpy_cells_per_s": base.best(),
                        "ratio": ratio,
                        "target": target,
                        "meets_target": None if target is None else bool(ratio >= target),
                        "seagull_cells_per_s": sea.best() if sea else None,
                        "ratio_vs_seagull": fast.best() / sea.best() if sea else None,
                    }
                )
    return rows


def print_table(rows: list[dict[str, Any]], seagull: bool) -> None:
    head = f"{'case':<12} {'rule':<9} {'record':<7} {'lifegym c/s':>11} {'numpy c/s':>9} "
    head += f"{'ratio':>8} {'target':>11}"
    if seagull:
        head += f" {'seagull c/s':>11} {'vs seagull':>10}"
    print(head)
    print("-" * len(head))
    for r in rows:
        impl = "last" if r["impl"] == "lifegym" else "all"
        target = "" if r["target"] is None else f">={r['target']:.0f}x "
        target += "" if r["meets_target"] is None else ("ok" if r["meets_target"] else "MISS")
        line = f"{r['case']:<12} {r['rule']:<9} {impl:<7} {r['lifegym_cells_per_s']:>11.2e} "
        line += f"{r['numpy_cells_per_s']:>9.2e} {r['ratio']:>7.1f}x {target:>11}"
        if seagull:
            if r["seagull_cells_per_s"] is None:
                line += f" {'-':>11} {'-':>10}"
            else:
                line += f" {r['seagull_cells_per_s']:>11.2e} {r['ratio_vs_seagull']:>9.1f}x"
        print(line)


def config_record(c: Config) -> dict[str, Any]:
    return {
        "case": c.case,
        "rule": c.rule,
        "kind": c.kind,
        "impl": c.impl,
        "cells_per_step": c.cells,
        "steps": c.steps,
        "times_s": c.times,
        "best_cells_per_s": c.best(),
        "median_cells_per_s": c.median(),
    }


# ---------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run (1 repeat)")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5)")
    parser.add_argument(
        "--min-time",
        type=float,
        default=None,
        help="seconds one timed run should last (default 0.4)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"JSON path (default {DEFAULT_OUT.relative_to(ROOT)}; "
        f"--quick: {QUICK_OUT.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 5
    if args.min_time is None:
        args.min_time = 0.01 if args.quick else 0.4
    if args.out is None:
        args.out = QUICK_OUT if args.quick else DEFAULT_OUT
    return args


def busy_cpu_seconds(interval: float = 0.5) -> float | None:
    """CPU time other processes used during ``interval`` s, in cores (Linux /proc/stat)."""
    try:
        before = _proc_stat_busy()
        time.sleep(interval)
        after = _proc_stat_busy()
    except (OSError, ValueError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    return (after - before) / hz / interval


def _proc_stat_busy() -> int:
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    return user + nice + system + irq + softirq + steal


def warn_if_busy() -> float | None:
    busy = busy_cpu_seconds()
    if busy is not None and busy > 0.25:
        print(
            f"WARNING: {busy:.1f} cores were busy before the run started; the parallel "
            "kernels lose most of their speed when a core is taken. Numbers are unreliable.\n"
        )
    return busy


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    busy_before = warn_if_busy()
    warm_up()
    configs = build_configs(args.quick)
    seagull = any(c.impl == "seagull" for c in configs)
    if not seagull:
        print(
            "note: pyseagull is not importable; its column is skipped (optional, not a "
            "dependency: pip install pyseagull to compare)\n"
        )
    measure(configs, args.repeats, args.min_time)
    rows = report_rows(configs)
    info = machine_info()
    info["busy_cores_before_run"] = busy_before
    print(
        f"best of {args.repeats} interleaved repeats; cells/s = cell updates per second; "
        f"ratio = lifegym / numpy"
    )
    print(
        f"{info['cpu_count']} CPUs ({info['cpu_model']}), numba threads "
        f"{info['numba_threads']} ({info['numba_threading_layer']}), load average "
        f"{info['load_average']}\n"
    )
    print_table(rows, seagull)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": info,
        "settings": {
            "repeats": args.repeats,
            "min_time_s": args.min_time,
            "quick": args.quick,
            "density": DENSITY,
            "statistic": "best repeat",
        },
        "rows": rows,
        "configs": [config_record(c) for c in configs],
        "wall_time_s": time.perf_counter() - start,
    }
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {args.out} ({payload['wall_time_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
