"""benchmarks/vector_speed.py on a tiny sweep: rows for each mode, ratios, the JSON file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import vector_speed


def test_a_tiny_sweep_writes_rows_and_ratios(tmp_path: Path, capsys) -> None:
    out = tmp_path / "speed.json"
    argv = ["--env", "lifegym/LifeLike-Noisy-v1", "--env", "lifegym/LifeLike-Stats-v1"]
    argv += ["--num-envs", "2", "--modes", "vector_entry_point", "sync", "--seconds", "0.2"]
    assert vector_speed.main([*argv, "--min-steps", "1", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    rows = {(r["env"], r["mode"]): r for r in record["rows"]}
    assert rows[("lifegym/LifeLike-Noisy-v1", "vector_entry_point")]["batched"] is True
    assert rows[("lifegym/LifeLike-Stats-v1", "vector_entry_point")]["batched"] is False
    assert all(r["env_steps"] == 2 * r["batch_steps"] > 0 for r in record["rows"])
    assert {e["env"] for e in record["ratios"] if e["vs_sync"] > 0} == {
        "lifegym/LifeLike-Noisy-v1",
        "lifegym/LifeLike-Stats-v1",
    }
    assert "native / sync" in capsys.readouterr().out


def test_bad_options_are_named(capsys) -> None:
    with pytest.raises(SystemExit):
        vector_speed.main(["--env", "lifegym/LifeLike-Noisy-v0"])
    assert "not v1 presets" in capsys.readouterr().err
