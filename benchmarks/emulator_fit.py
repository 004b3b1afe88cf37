"""Rule extraction by the learned emulator: exact-extraction rate and fit+extract time.

Every trajectory is a density-0.5 soup on a 63x63 torus run 16 steps by the hidden rule.
One fit = ``Emulator(symmetry, seed).fit(trajectories, ...)`` then ``.extract(family)``;
the fit+extract time is measured with ``time.perf_counter`` (data preparation excluded,
one untimed warm-up fit first). Sections (``--sections``):

1. ``bs``: the named B/S rules of ``lifegym.rules.NAMED_RULES`` (the domain notes' table
   plus Vote; Morley = Move counted once) and ``--random`` random B/S rules, ONE
   trajectory each, fitted with every symmetry (none, p4, p4m, ring, totalistic) and
   extracted as a ``totalistic`` rule. The same soup for every symmetry.
2. ``isotropic``: ``--isotropic`` random isotropic rules, symmetry p4m, extracted as an
   ``isotropic`` rule, from 1, 2 and 4 trajectories (each a fresh soup; the first n of 4).
3. ``noisy``: frames 1..16 observed with each cell flipped with probability 0.05 (frame 0
   exact), ``fit(noise=0.05)``: the B/S rules with ``totalistic`` (one trajectory) and the
   isotropic rules with ``p4m`` (4 trajectories).
4. ``stride``: the B/S rules with ``totalistic`` from frames 0, 2, ..., 16 and
   ``fit(stride=2)`` (the default ``strided="search"``), without noise and with frames
   1.. flipped with probability 0.01 (``LifeLike-Strided-v0``'s noise); then, for
   comparison, ``strided="straight-through"`` (the gradient through an unrolled,
   binarised network) on the first ``--st-rules`` named and random rules (default 3 + 3;
   ``--st-epochs`` epochs each, default 300: about 85 ms per epoch on 2 cores).

Each fit is classified, against the clean (noise-free, stride-1) trajectories:

* ``exact``: the extracted rule is the hidden rule;
* ``unidentifiable``: wrong only on classes (B/S counts, or Hensel classes) that the hidden
  dynamics never exercised, i.e. no method could tell from this data (the failure list says
  why: "died out at step t", "static from step t", the classes never seen);
* ``indistinguishable`` (stride 2 only): wrong on exercised classes, yet reproduces every
  observed frame when run from frame 0 (e.g. R and its complement twin at stride 2);
* ``error``: the emulator's fault, the extracted rule contradicts the data.

``consistent`` = exact + unidentifiable + indistinguishable (the extracted rule reproduces
the observed frames of the clean trajectories from frame 0).

Done criteria (printed): exact extraction >= 98% of the B/S rules (named + random) from one
trajectory with median fit+extract <= 2 s (per symmetry), and >= 90% of the isotropic rules
exact from <= 4 trajectories (p4m, 4 trajectories).

Run from the repository root:

    python benchmarks/emulator_fit.py                    # full run, 30-60 min on 2 cores
    python benchmarks/emulator_fit.py --quick            # smoke run, under 2 minutes
    python benchmarks/emulator_fit.py --sections bs,isotropic --random 20

Prints the tables, progress on stderr, and writes ``benchmarks/results/emulator_fit.json``
(``emulator_fit_quick.json`` with ``--quick``) and the tables as markdown next to it
(same name, ``.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import machine
import numpy as np
import torch

from lifegym.emulator import SYMMETRIES, Emulator
from lifegym.rules import NAMED_RULES, Rule, get_family
from lifegym.sim import simulate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "emulator_fit.json"
QUICK_OUT = ROOT / "benchmarks" / "results" / "emulator_fit_quick.json"
SECTIONS = ("bs", "isotropic", "noisy", "stride")
QUICK_SYMMETRIES = ("none", "totalistic")
SIZE = 63
STEPS = 16
DENSITY = 0.5
NOISE = 0.05
STRIDE = 2
STRIDE_NOISE = 0.01
N_TRAJECTORIES = (1, 2, 4)
GOAL_BS_EXACT = 0.98
GOAL_BS_MEDIAN_S = 2.0
GOAL_ISO_EXACT = 0.90
GOAL_ISO_TRAJECTORIES = 4
# Random-number streams: np.random.default_rng([seed, stream, ...]).
_RULES, _SOUP, _FLIPS = 0, 1, 2
_RANDOM_BS_OFFSET = 1000  # soup index of random B/S rule i (named rule i uses i)


@dataclass(frozen=True)
class Case:
    """One hidden rule: its label, where it comes from and its soup index (seeding)."""

    label: str
    rule: Rule
    source: str  # "named" or "random"
    index: int


def named_bs_rules() -> list[Case]:
    """The outer-totalistic rules of ``NAMED_RULES``, one case per distinct rule."""
    names: dict[Rule, list[str]] = {}
    for name, text in NAMED_RULES.items():
        rule = Rule.parse(text)
        if rule.family == "totalistic":
            names.setdefault(rule, []).append(name)
    return [
        Case(f"{' / '.join(n)} {rule}", rule, "named", i)
        for i, (rule, n) in enumerate(names.items())
    ]


def random_rules(family: str, n: int, seed: int, offset: int = 0) -> list[Case]:
    """``n`` random rules of ``family``; rule i is the same whatever ``n`` is."""
    stream = 0 if family == "totalistic" else 1
    cases = []
    for i in range(n):
        rule = Rule.random(family, np.random.default_rng([seed, _RULES, stream, i]))
        cases.append(Case(str(rule), rule, "random", offset + i))
    return cases


def soups(case: Case, n: int, seed: int, stream: int) -> list[np.ndarray]:
    """The first ``n`` clean trajectories (STEPS + 1, SIZE, SIZE) of ``case``."""
    out = []
    for j in range(n):
        rng = np.random.default_rng([seed, _SOUP, stream, case.index, j])
        init = (rng.random((SIZE, SIZE)) < DENSITY).astype(np.uint8)
        out.append(simulate(case.rule, init, STEPS))
    return out


def flipped(traj: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """``traj`` with every cell of frames 1.. flipped with probability ``p``."""
    out = traj.copy()
    out[1:] ^= (rng.random(out[1:].shape) < p).astype(np.uint8)
    return out


# -- what the data shows -----------------------------------------------------------------------


def pattern_indices(frames: np.ndarray) -> np.ndarray:
    """Pattern index (see lifegym.neighbourhoods) of every cell of frames (N, H, W) on the torus."""
    idx = np.zeros(frames.shape, dtype=np.int64)
    for k in range(9):
        r, c = divmod(k, 3)
        idx += np.roll(frames, shift=(1 - r, 1 - c), axis=(1, 2)).astype(np.int64) << (8 - k)
    return idx


def exercised(trajs: Sequence[np.ndarray], family: str) -> np.ndarray:
    """bool[n_bits]: the family's classes met as the input of some clean transition."""
    fam = get_family(family)
    seen = np.zeros(fam.n_bits, dtype=bool)
    for traj in trajs:
        seen[np.unique(np.asarray(fam.orbit_of)[pattern_indices(traj[:-1])])] = True
    return seen


def history(traj: np.ndarray) -> str | None:
    """How the trajectory stops showing anything new (dies out, fills up, or repeats with a
    period seen at least twice), else None."""
    n = len(traj)
    for t in range(n):
        if not traj[t].any():
            return f"died out at step {t}"
        if traj[t].all():
            return f"all alive from step {t}"
        for period in range(1, (n - t) // 2 + 1):
            if all(np.array_equal(traj[u], traj[u + period]) for u in range(t, n - period)):
                kind = "static" if period == 1 else f"period {period}"
                return f"{kind} from step {t}"
    return None


def _names(family: str, mask: np.ndarray, limit: int = 12) -> str:
    names = [get_family(family).bit_names[i] for i in np.flatnonzero(mask)]
    more = f" +{len(names) - limit} more" if len(names) > limit else ""
    return ",".join(names[:limit]) + more


# -- one fit -----------------------------------------------------------------------------------


def fit_one(
    case: Case,
    symmetry: str,
    family: str,
    clean: list[np.ndarray],
    *,
    seed: int,
    noise: float = 0.0,
    stride: int = 1,
    strided: str = "search",
    epochs: int | None = None,
    flip_seed: Sequence[int] = (),
) -> dict[str, Any]:
    """Fit and extract once; classify the result (module doc). Returns one JSON row."""
    if noise > 0:
        data = [
            flipped(c, noise, np.random.default_rng([*flip_seed, j])) for j, c in enumerate(clean)
        ]
    else:
        data = list(clean)
    data = [d[::stride] for d in data]
    start = time.perf_counter()
    extra = {} if epochs is None else {"epochs": epochs}
    emulator = Emulator(symmetry, seed=seed).fit(
        data, stride=stride, noise=noise, strided=strided, **extra
    )
    found, confidence = emulator.extract(family)
    seconds = time.perf_counter() - start

    fam = get_family(family)
    wrong = fam.bits_from_table(found.table) != fam.bits_from_table(case.rule.table)
    seen = exercised(clean, family)
    consistent = all(
        np.array_equal(simulate(found, c[0], STEPS)[::stride], c[::stride]) for c in clean
    )
    endings = [h for h in (history(c) for c in clean) if h]
    if not wrong.any():
        status, reason = "exact", ""
    elif not (wrong & seen).any():
        status = "unidentifiable"
        reason = "; ".join(
            [*endings, f"never seen {_names(family, ~seen)}", f"wrong {_names(family, wrong)}"]
        )
    else:
        status = "indistinguishable" if consistent else "error"
        bad = wrong & seen
        worst = float(confidence[bad].max())
        reason = f"wrong on seen {_names(family, bad)} (confidence up to {worst:.2f})"
        if (wrong & ~seen).any():
            reason += f", and on unseen {_names(family, wrong & ~seen)}"
        if endings:
            reason += "; " + "; ".join(endings)
    return {
        "rule": str(case.rule),
        "label": case.label,
        "source": case.source,
        "symmetry": symmetry,
        "family": family,
        "trajectories": len(clean),
        "noise": noise,
        "stride": stride,
        "strided": strided if stride > 1 else None,
        "found": str(found),
        "seconds": seconds,
        "status": status,
        "exact": status == "exact",
        "consistent": consistent,
        "reason": reason,
        "classes_seen": int(seen.sum()),
        "classes": int(fam.n_bits),
        "min_confidence": float(confidence.min()),
    }


_STATUSES = ("exact", "unidentifiable", "indistinguishable", "error")


def summarise(variant: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts, rates and times of one variant (one line of a table)."""
    times = np.array([r["seconds"] for r in rows])
    count = {s: sum(r["status"] == s for r in rows) for s in _STATUSES}
    n = len(rows)
    identifiable = n - count["unidentifiable"]
    return {
        "variant": variant,
        "rules": n,
        **count,
        "exact_rate": count["exact"] / n if n else float("nan"),
        "exact_rate_identifiable": count["exact"] / identifiable if identifiable else None,
        "consistent": sum(r["consistent"] for r in rows),
        "median_s": float(np.median(times)) if n else float("nan"),
        "p90_s": float(np.percentile(times, 90)) if n else float("nan"),
        "failures": [
            {k: r[k] for k in ("label", "source", "found", "status", "reason")}
            for r in rows
            if r["status"] != "exact"
        ],
    }


# -- sections ----------------------------------------------------------------------------------


def _progress(section: str, i: int, n: int, case: Case, rows: list[dict[str, Any]]) -> None:
    parts = ", ".join(
        f"{r['symmetry']}{'' if r['trajectories'] == 1 else 'x' + str(r['trajectories'])} "
        f"{'ok' if r['exact'] else r['status']} {r['seconds']:.2f}s"
        for r in rows
    )
    print(f"[{section}] {i + 1}/{n} {case.label}: {parts}", file=sys.stderr, flush=True)


def section_bs(cases: list[Case], symmetries: Sequence[str], seed: int) -> dict[str, Any]:
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in symmetries}
    for i, case in enumerate(cases):
        clean = soups(case, 1, seed, stream=0)
        done = [fit_one(case, s, "totalistic", clean, seed=seed) for s in symmetries]
        for row in done:
            rows[row["symmetry"]].append(row)
        _progress("bs", i, len(cases), case, done)
    summaries = []
    for s in symmetries:
        summary = summarise(s, rows[s])
        summary["goal_ok"] = bool(
            summary["exact_rate"] >= GOAL_BS_EXACT and summary["median_s"] <= GOAL_BS_MEDIAN_S
        )
        summaries.append(summary)
    return {"summaries": summaries, "rows": [r for s in symmetries for r in rows[s]]}


def section_isotropic(cases: list[Case], seed: int) -> dict[str, Any]:
    rows: dict[int, list[dict[str, Any]]] = {n: [] for n in N_TRAJECTORIES}
    for i, case in enumerate(cases):
        clean = soups(case, max(N_TRAJECTORIES), seed, stream=1)
        done = [fit_one(case, "p4m", "isotropic", clean[:n], seed=seed) for n in N_TRAJECTORIES]
        for n, row in zip(N_TRAJECTORIES, done, strict=True):
            rows[n].append(row)
        _progress("isotropic", i, len(cases), case, done)
    summaries = []
    for n in N_TRAJECTORIES:
        summary = summarise(f"p4m, {n} trajector{'y' if n == 1 else 'ies'}", rows[n])
        summary["trajectories"] = n
        if n == GOAL_ISO_TRAJECTORIES:
            summary["goal_ok"] = bool(summary["exact_rate"] >= GOAL_ISO_EXACT)
        summaries.append(summary)
    return {"summaries": summaries, "rows": [r for n in N_TRAJECTORIES for r in rows[n]]}


def _noisy_rows(
    cases: list[Case], symmetry: str, family: str, n: int, stream: int, seed: int
) -> list[dict[str, Any]]:
    """One noisy fit per case, from ``n`` soups of soup stream ``stream``."""
    rows = []
    for i, case in enumerate(cases):
        clean = soups(case, n, seed, stream=stream)
        flip_seed = (seed, _FLIPS, stream, case.index)
        rows.append(
            fit_one(case, symmetry, family, clean, seed=seed, noise=NOISE, flip_seed=flip_seed)
        )
        _progress("noisy", i, len(cases), case, rows[-1:])
    return rows


def section_noisy(bs: list[Case], iso: list[Case], seed: int) -> dict[str, Any]:
    n = GOAL_ISO_TRAJECTORIES
    bs_rows = _noisy_rows(bs, "totalistic", "totalistic", 1, 0, seed)
    iso_rows = _noisy_rows(iso, "p4m", "isotropic", n, 1, seed)
    summaries = []
    if bs:
        summaries.append(summarise(f"B/S, totalistic, 1 trajectory, p={NOISE}", bs_rows))
    if iso:
        summaries.append(summarise(f"isotropic, p4m, {n} trajectories, p={NOISE}", iso_rows))
    return {"summaries": summaries, "rows": bs_rows + iso_rows}


def section_stride(
    cases: list[Case], compared: list[Case], seed: int, epochs: int
) -> dict[str, Any]:
    summaries, all_rows = [], []
    variants = [
        (cases, 0.0, "search", None),
        (cases, STRIDE_NOISE, "search", None),
        (compared, 0.0, "straight-through", epochs),
    ]
    for rules, noise, method, fit_epochs in variants:
        rows = []
        for i, case in enumerate(rules):
            clean = soups(case, 1, seed, stream=0)
            row = fit_one(
                case,
                "totalistic",
                "totalistic",
                clean,
                seed=seed,
                noise=noise,
                stride=STRIDE,
                strided=method,
                epochs=fit_epochs,
                flip_seed=(seed, _FLIPS, 2, case.index),
            )
            rows.append(row)
            _progress(f"stride ({method}, p={noise})", i, len(rules), case, [row])
        label = f"B/S, totalistic, 1 trajectory, stride {STRIDE}, {method}"
        label += f", p={noise}" if noise else ""
        label += f", {fit_epochs} epochs" if fit_epochs else ""
        if rows:
            summaries.append(summarise(label, rows))
        all_rows += rows
    return {"summaries": summaries, "rows": all_rows}


# -- output ------------------------------------------------------------------------------------

_COLUMNS = (
    "variant",
    "rules",
    "exact",
    "rate",
    "rate (identifiable)",
    "unident.",
    "indist.",
    "error",
    "consistent",
    "median s",
    "p90 s",
    "goal",
)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _table_rows(summaries: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for s in summaries:
        goal = "" if "goal_ok" not in s else ("ok" if s["goal_ok"] else "MISS")
        out.append(
            [
                s["variant"],
                str(s["rules"]),
                f"{s['exact']}/{s['rules']}",
                _pct(s["exact_rate"]),
                _pct(s["exact_rate_identifiable"]),
                str(s["unidentifiable"]),
                str(s["indistinguishable"]),
                str(s["error"]),
                f"{s['consistent']}/{s['rules']}",
                f"{s['median_s']:.2f}",
                f"{s['p90_s']:.2f}",
                goal,
            ]
        )
    return out


def _failures(summaries: list[dict[str, Any]]) -> list[str]:
    lines = []
    for s in summaries:
        for f in s["failures"]:
            lines.append(
                f"{s['variant']}: {f['label']} ({f['source']}) -> {f['found']}: "
                f"{f['status']}: {f['reason']}"
            )
    return lines


def text_table(title: str, summaries: list[dict[str, Any]]) -> str:
    body = [list(_COLUMNS), *_table_rows(summaries)]
    widths = [max(len(row[k]) for row in body) for k in range(len(_COLUMNS))]
    lines = [title]
    for j, row in enumerate(body):
        cells = [
            c.ljust(w) if k == 0 else c.rjust(w)
            for k, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if j == 0:
            lines.append("-" * len(lines[-1]))
    fails = _failures(summaries)
    if fails:
        lines.append("not exact:")
        lines += [f"  {f}" for f in fails]
    return "\n".join(lines)


def markdown_table(title: str, summaries: list[dict[str, Any]]) -> str:
    lines = [f"## {title}", "", "| " + " | ".join(_COLUMNS) + " |"]
    lines.append("|" + "|".join("---" if k == 0 else "---:" for k in range(len(_COLUMNS))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in _table_rows(summaries)]
    fails = _failures(summaries)
    if fails:
        lines += ["", "Not exact:", ""] + [f"* {f.replace('|', '/')}" for f in fails]
    return "\n".join(lines)


TITLES = {
    "bs": "1. B/S rules, one trajectory, totalistic extraction, per symmetry",
    "isotropic": "2. Random isotropic rules, p4m, isotropic extraction, vs trajectories",
    "noisy": f"3. Noisy frames 1..{STEPS} (flip probability {NOISE})",
    "stride": f"4. Stride {STRIDE}: frames 0, {STRIDE}, ..., {STEPS}",
}


def goal_lines(results: dict[str, Any]) -> list[str]:
    lines = []
    if "bs" in results:
        for s in results["bs"]["summaries"]:
            lines.append(
                f"B/S from one trajectory, {s['variant']}: exact {_pct(s['exact_rate'])} "
                f"(goal >= {_pct(GOAL_BS_EXACT)}), median {s['median_s']:.2f} s (goal <= "
                f"{GOAL_BS_MEDIAN_S} s): {'ok' if s['goal_ok'] else 'MISSED'}"
            )
    if "isotropic" in results:
        for s in results["isotropic"]["summaries"]:
            if "goal_ok" in s:
                lines.append(
                    f"isotropic, p4m, {s['trajectories']} trajectories: exact "
                    f"{_pct(s['exact_rate'])} (goal >= {_pct(GOAL_ISO_EXACT)}): "
                    f"{'ok' if s['goal_ok'] else 'MISSED'}"
                )
    return lines


# -- main --------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 3+3 B/S, 3 isotropic")
    parser.add_argument("--random", type=int, default=None, help="random B/S rules (50)")
    parser.add_argument("--isotropic", type=int, default=None, help="random isotropic rules (30)")
    parser.add_argument("--named", type=int, default=None, help="at most this many named rules")
    parser.add_argument(
        "--st-rules",
        type=int,
        default=None,
        help="stride section: straight-through on the first N named and N random B/S rules "
        "(default 3; quick 1)",
    )
    parser.add_argument(
        "--st-epochs",
        type=int,
        default=300,
        help="stride section: epochs of each straight-through fit (default 300)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seeds rules, soups, flips, weights")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}"
    )
    parser.add_argument(
        "--symmetries", default=None, help="section 1 symmetries (all 5; quick: none,totalistic)"
    )
    parser.add_argument("--json", type=Path, default=None, help="JSON output path")
    args = parser.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad:
        parser.error(f"unknown sections {bad}; choose from {SECTIONS}")
    if args.symmetries is None:
        args.symmetries = list(QUICK_SYMMETRIES if args.quick else SYMMETRIES)
    else:
        args.symmetries = [s.strip() for s in args.symmetries.split(",") if s.strip()]
        if not args.symmetries or any(s not in SYMMETRIES for s in args.symmetries):
            parser.error(f"--symmetries: choose from {SYMMETRIES}")
    default = 3 if args.quick else None
    args.named = args.named if args.named is not None else default
    args.random = args.random if args.random is not None else (3 if args.quick else 50)
    args.isotropic = args.isotropic if args.isotropic is not None else (3 if args.quick else 30)
    if args.st_rules is None:
        args.st_rules = 1 if args.quick else 3
    if args.quick:
        args.st_epochs = min(args.st_epochs, 50)
    args.json = args.json or (QUICK_OUT if args.quick else DEFAULT_OUT)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    info = machine.machine_info()
    named = named_bs_rules()[: args.named]
    randoms = random_rules("totalistic", args.random, args.seed, offset=_RANDOM_BS_OFFSET)
    bs = named + randoms
    iso = random_rules("isotropic", args.isotropic, args.seed)
    compared = named[: args.st_rules] + randoms[: args.st_rules]

    warm = Case("warm-up", Rule.parse("B3/S23"), "named", 0)
    fit_one(warm, "totalistic", "totalistic", soups(warm, 1, args.seed, 9), seed=args.seed)

    results: dict[str, Any] = {}
    for section in args.sections:
        if section == "bs":
            results[section] = section_bs(bs, args.symmetries, args.seed)
        elif section == "isotropic":
            results[section] = section_isotropic(iso, args.seed)
        elif section == "noisy":
            results[section] = section_noisy(bs, iso, args.seed)
        else:
            results[section] = section_stride(bs, compared, args.seed, args.st_epochs)

    threads = torch.get_num_threads()
    print(
        f"\nemulator fit+extract: {SIZE}x{SIZE} torus, soups of density {DENSITY}, {STEPS} "
        f"steps; {len(named)} named + {len(randoms)} random B/S rules, {len(iso)} isotropic; "
        f"seed {args.seed}"
    )
    print(
        f"{info['cpu_count']} CPUs ({info['cpu_model']}), torch {torch.__version__} with "
        f"{threads} threads, load average before the run {info['load_average']}\n"
    )
    markdown = [
        "# emulator_fit",
        "",
        f"{SIZE}x{SIZE} torus, density {DENSITY}, {STEPS} steps, seed {args.seed}; "
        f"{info['date']}, {info['cpu_count']} CPUs ({info['cpu_model']}), torch "
        f"{torch.__version__} with {threads} threads, load average {info['load_average']}.",
    ]
    for section, result in results.items():
        print(text_table(TITLES[section], result["summaries"]) + "\n")
        markdown += ["", markdown_table(TITLES[section], result["summaries"])]
    goals = goal_lines(results)
    if goals:
        print("done criteria:")
        print("\n".join(f"  {g}" for g in goals))
        markdown += ["", "## Done criteria", "", *(f"* {g}" for g in goals)]

    wall = time.perf_counter() - start
    payload = {
        "machine": info,
        "torch": {"version": torch.__version__, "num_threads": threads},
        "settings": {
            "size": SIZE,
            "steps": STEPS,
            "density": DENSITY,
            "noise": NOISE,
            "stride": STRIDE,
            "seed": args.seed,
            "quick": args.quick,
            "sections": args.sections,
            "symmetries": args.symmetries,
            "named_rules": len(named),
            "random_bs_rules": len(randoms),
            "isotropic_rules": len(iso),
            "stride_noise": [0.0, STRIDE_NOISE],
            "straight_through_rules": [c.label for c in compared],
            "straight_through_epochs": args.st_epochs,
            "trajectories": list(N_TRAJECTORIES),
            "fit": "Emulator(symmetry, seed=seed).fit(data, stride=..., noise=...) defaults",
            "goals": {
                "bs_exact_rate": GOAL_BS_EXACT,
                "bs_median_s": GOAL_BS_MEDIAN_S,
                "isotropic_exact_rate": GOAL_ISO_EXACT,
                "isotropic_trajectories": GOAL_ISO_TRAJECTORIES,
            },
        },
        "sections": results,
        "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "wall_time_s": wall,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    md_path = args.json.with_suffix(".md")
    md_path.write_text("\n".join(markdown) + "\n")
    print(f"\nwrote {args.json} and {md_path} ({wall:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
