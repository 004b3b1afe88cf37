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


def test_episode_end_policies_get_rows_beside_random_actions(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ends.json"
    argv = ["--env", "lifegym/LifeLike-Noisy-v1", "--num-envs", "2", "--modes"]
    argv += ["vector_entry_point", "--policies", "random", "submit", "short", "--seconds", "0.2"]
    assert vector_speed.main([*argv, "--min-steps", "1", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    rows = {r["policy"]: r for r in record["rows"]}
    assert set(rows) == {"random", "submit", "short"}
    assert rows["random"]["vs_random"] == 1.0
    assert all(r["vs_random"] > 0 for r in rows.values())
    assert "episode ends" in capsys.readouterr().out


def test_the_policies_act_as_named() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    masks = rng.random((500, 6)) < 0.5
    masks[:, 5] = True  # submit (the last action) is always valid
    submit = vector_speed.choose(masks, 5, "submit", rng)
    assert (submit == 5).all()
    for policy in ("random", "short"):
        actions = vector_speed.choose(masks, 5, policy, rng)
        assert masks[np.arange(500), actions].all()  # only valid actions
    short = vector_speed.choose(masks, 5, "short", rng)
    has_other = masks[:, :5].any(axis=1)
    share = (short[has_other] == 5).mean()
    assert 0.15 < share < 0.35  # submits about SHORT_SUBMIT of the time
