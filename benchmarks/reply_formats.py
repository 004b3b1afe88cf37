"""How big an experiment's reply is in each frame format: characters and tokens.

The text protocol (``lifegym.protocol``) sends the frames a language model reads. Three
forms of the same frames, each inside the same compact JSON reply (``initial``, ``times``,
``frames``, costs):

* ``rows``: every frame a list of row strings, ``["..o.", "oo.."]`` (the format before
  issue 27);
* ``lines``: every frame one string, rows separated by newlines (``"..o.\\noo.."``: JSON
  writes each newline as the two characters ``\\n``);
* ``rle``: every frame the body of its RLE (``lifegym.io.write_rle`` without the header
  and line breaks: ``2bo$2o!``).

Typical experiments of ``LifeLike-Noisy-v1`` (5% of observed cells flipped; a hidden rule
from ``lifegym.rules.NAMED_RULES``): soups of density 0.2 and 0.5 on 8x8, 16x16, 32x32 and
60x60 worlds for 1 and 16 steps, and the menu's 6x6 probes for 1 step. Tokens are counted
with ``tiktoken``'s ``o200k_base`` (GPT-4o and later) and ``cl100k_base`` (GPT-4, GPT-3.5)
when ``tiktoken`` is importable and has its BPE files (it downloads them on first use, or
reads them from ``TIKTOKEN_CACHE_DIR``); otherwise only characters are reported. It also
measures the task description (``Episode.task``) of every v1 preset in the same way.

Run from the repository root::

    python benchmarks/reply_formats.py     # a few seconds

Prints the tables and writes ``benchmarks/results/reply_formats.md`` and ``.json``. Where
tiktoken cannot download its BPE files, put them in a folder and set
``TIKTOKEN_CACHE_DIR`` (the committed results were measured with tiktoken 0.14.0 and the
files of the ``js-tiktoken`` npm package 1.0.21, whose SHA-256 match tiktoken's).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lifegym.io import write_plaintext, write_rle
from lifegym.observe import ObservationModel
from lifegym.protocol import Episode, compact_json, v1_presets
from lifegym.rules import Rule
from lifegym.sim import simulate

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "reply_formats"
RULES = ("B3/S23", "B36/S23", "B3678/S34678", "B2/S")
CASES = [
    (f"soup {density} {side}x{side} {steps} step{'s' * (steps > 1)}", density, side, steps)
    for side in (8, 16, 32, 60)
    for steps in (1, 16)
    for density in (0.2, 0.5)
]


def _rle_body(grid: np.ndarray) -> str:
    text = write_rle(grid)
    return "".join(text.split("\n", 1)[1].split())


FORMATS = {
    "rows": lambda grid: write_plaintext(grid).split("\n"),
    "lines": write_plaintext,
    "rle": _rle_body,
}


def _reply(initial: np.ndarray, frames: np.ndarray, times: np.ndarray, form: str) -> str:
    encode = FORMATS[form]
    h, w = initial.shape
    return compact_json(
        {
            "initial": encode(initial),
            "times": [int(t) for t in times],
            "frames": [encode(frame) for frame in frames],
            "experiment_cost": int(h * w * len(times)),
            "budget_left": {"experiment": 100_000, "compute": 500_000},
        }
    )


def _encoders() -> dict[str, Any]:
    try:
        import tiktoken

        return {name: tiktoken.get_encoding(name) for name in ("o200k_base", "cl100k_base")}
    except Exception as exc:  # not installed, or no BPE file offline
        print(f"no tokenizer ({type(exc).__name__}: {exc}); characters only")
        return {}


def _trajectories(case: tuple[str, float, int, int], rng: np.random.Generator) -> list:
    _, density, side, steps = case
    model = ObservationModel(noise=0.05)
    runs = []
    for rule in RULES:
        initial = (rng.random((side, side)) < density).astype(np.uint8)
        frames = simulate(Rule.parse(rule), initial, steps)
        times, seen, _ = model.observe(frames, rng)
        runs.append((initial, seen, times))
    return runs


def _probe_trajectories(rng: np.random.Generator) -> list:
    episode = Episode("lifegym/LifeLike-Noisy-v1", seed=0)
    probes = [item for item in episode.env.menu if item.name.startswith("probe-")]
    model = ObservationModel(noise=0.05)
    runs = []
    for item in probes:
        frames = simulate(Rule.parse("B3/S23"), item.cells, 1)
        times, seen, _ = model.observe(frames, rng)
        runs.append((np.array(item.cells), seen, times))
    return runs


def measure_replies(encoders: dict[str, Any]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    cases = [(case[0], _trajectories(case, rng)) for case in CASES]
    cases.append(("probes 6x6 1 step", _probe_trajectories(rng)))
    rows = []
    for label, runs in cases:
        row: dict[str, Any] = {"case": label, "replies": len(runs)}
        for form in FORMATS:
            texts = [_reply(initial, seen, times, form) for initial, seen, times in runs]
            row[f"{form}_chars"] = float(np.mean([len(t) for t in texts]))
            for name, encoding in encoders.items():
                tokens = [len(encoding.encode(t)) for t in texts]
                row[f"{form}_{name}"] = float(np.mean(tokens))
        rows.append(row)
    return rows


def measure_tasks(encoders: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for env_id in v1_presets():
        text = compact_json(Episode(env_id, seed=0).task())
        row: dict[str, Any] = {"env": env_id, "chars": len(text)}
        for name, encoding in encoders.items():
            row[name] = len(encoding.encode(text))
        rows.append(row)
    return rows


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        cells = [
            f"{row[c]:,.0f}" if isinstance(row.get(c), float | int) else str(row.get(c, ""))
            for c in columns
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="writes OUT.md and OUT.json")
    args = parser.parse_args(argv)
    encoders = _encoders()
    replies = measure_replies(encoders)
    tasks = measure_tasks(encoders)
    reply_columns = ["case"] + [
        f"{form}_{unit}" for unit in ("chars", *encoders) for form in FORMATS
    ]
    task_columns = ["env", "chars", *encoders]
    unit = next(iter(encoders), "chars")
    totals = {form: sum(row[f"{form}_{unit}"] for row in replies) for form in FORMATS}
    ratio = [row["chars"] / row[unit] for row in tasks] if encoders else [math.nan]
    text = (
        "# Reply formats and task sizes (`benchmarks/reply_formats.py`)\n\n"
        "Mean size of one `run_experiment` reply (compact JSON) per frame format, over "
        f"{len(RULES)} hidden rules ({', '.join(RULES)}; the probes: every B/S probe of "
        "`LifeLike-Noisy-v1`, rule B3/S23), frames seen through 5% cell noise. Tokens: "
        f"{', '.join(encoders) or 'no tokenizer was available'}.\n\n"
        + _table(replies, reply_columns)
        + f"\n\nSum over the cases ({unit}): "
        + ", ".join(f"{form} {total:,.0f}" for form, total in totals.items())
        + ". Chosen: **rows**, the fewest tokens in total (RLE is the shortest in characters "
        "but not in tokens, and its length depends on the frame, so it could only be bounded "
        "before a run). A rows reply's length is fixed by the world, the steps and the "
        "observation model, so the reply cap is checked exactly before an experiment runs.\n"
        + "\n## Task descriptions (`Episode.task()`, compact JSON)\n\n"
        + _table(tasks, task_columns)
        + f"\n\nCharacters per {unit} token: {min(ratio):.2f} to {max(ratio):.2f} "
        "(tests/test_text_env.py bounds a task at 8,000 characters, under 4,000 tokens at "
        "half the smallest ratio).\n"
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(text)
    data = {"tokenizers": list(encoders), "replies": replies, "tasks": tasks}
    args.out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
