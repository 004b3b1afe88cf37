"""Your own agent under ``lifegym bench``: ``module.path:Class`` and ``file.py:Class``, local
and Ray, any setting of an id (``env_kwargs``), and the Python API."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import gymnasium as gym
import pytest

from lifegym import bench
from lifegym.agents import make_agent, run_episode
from lifegym.cli import main

NOISY = "lifegym/LifeLike-Noisy-v1"

#: A user's agent, written as a user would: public imports only.
AGENT_SOURCE = textwrap.dedent(
    '''
    import numpy as np

    from lifegym.agents import Agent


    class TwoSoups(Agent):
        """Requests the two cheapest menu items, then submits."""

        def reset(self, seed=None):
            super().reset(seed)
            self.asked = 0

        def act(self, obs, info, action_mask):
            costs = np.where(action_mask[: len(self.view.menu)], self.view.item_costs, np.inf)
            if self.asked < 2 and np.isfinite(costs).any():
                self.asked += 1
                return int(np.argsort(costs, kind="stable")[self.asked - 1])
            return self.view.submit_action


    class NotAnAgent:
        pass
    '''
)


@pytest.fixture
def agent_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_agents.py"
    path.write_text(AGENT_SOURCE)
    return path


def test_a_file_agent_runs_in_spawned_workers(agent_file: Path) -> None:
    name = f"{agent_file}:TwoSoups"
    result = bench.benchmark([NOISY], [name], rules="random:2", workers=2)
    mine = [row for row in result.rows if row["agent"] == name]
    assert len(mine) == 2 and result.reference_added  # the oracle is the score's yardstick
    assert all(row["n_experiments"] == 2 and row["submitted_by"] == "agent" for row in mine)
    (entry,) = [e for e in result.summary if e["agent"] == name]
    assert entry["episodes"] == 2 and not entry["reference"]


def test_a_module_agent_and_env_kwargs(agent_file: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(agent_file.parent))
    rows = bench.benchmark(
        [NOISY], ["my_agents:TwoSoups"], rules="random:2", env_kwargs={"noise": 0.2}, workers=2
    ).rows
    assert {row["agent"] for row in rows} == {"my_agents:TwoSoups", "oracle"}
    assert all(row["env_kwargs"] == {"noise": 0.2} for row in rows)
    summary = bench.summarise(rows)
    assert summary[0]["env"] == NOISY + ' {"noise": 0.2}'


def test_ray_runs_user_agents_too(agent_file: Path, monkeypatch) -> None:
    import ray

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.syspath_prepend(str(agent_file.parent))
    names = ["my_agents:TwoSoups", f"{agent_file}:TwoSoups"]
    jobs = bench.make_jobs([NOISY], names, lambda _: ["B3/S23"], 1, seed=2)
    rows = bench.run_ray(jobs, workers=2)
    local = bench.run_local(jobs)
    keys = ("agent", "experiment_cost", "submitted_rule", "seed")
    assert [{k: r[k] for k in keys} for r in rows] == [{k: r[k] for k in keys} for r in local]
    assert not ray.is_initialized()


def test_bad_agent_names_say_what_is_wrong(agent_file: Path, tmp_path: Path) -> None:
    env = gym.make(NOISY)
    cases = [
        ("genius", "unknown agent 'genius'"),
        (f"{tmp_path / 'missing.py'}:X", "does not exist"),
        (f"{agent_file}:NotAnAgent", "no Agent subclass named 'NotAnAgent'"),
        (f"{agent_file}:Nope", "no Agent subclass named 'Nope'"),
        ("no_such_module_xyz:Agent", "cannot import module 'no_such_module_xyz'"),
    ]
    for name, message in cases:
        with pytest.raises(ValueError, match=message):
            make_agent(name, env)


def test_summarise_takes_run_episode_rows() -> None:
    env = gym.make(NOISY)
    rows = [run_episode(env, make_agent("coverage", env), seed=s) for s in range(2)]
    (entry,) = bench.summarise(rows)
    assert (entry["env"], entry["inference"], entry["agent"], entry["episodes"]) == (
        NOISY,
        "exact",
        "coverage",
        2,
    )


def test_command_line_agent_and_env_kwargs(agent_file: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "rows.json"
    argv = ["bench", "--env", NOISY, "--agent", f"{agent_file}:TwoSoups", "--rules", "random:1"]
    argv += ["--env-kwargs", '{"noise": 0.1}', "--json", str(out)]
    assert main(argv) == 0
    (row,) = [r for r in json.loads(out.read_text()) if r["agent"] != "oracle"]
    assert row["env_kwargs"] == {"noise": 0.1} and row["agent"].endswith(":TwoSoups")
    assert main(["bench", "--env-kwargs", "{noise"]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["bench", "--env-kwargs", '{"loudness": 3}', "--rules", "random:1"]) == 2
    assert "loudness" in capsys.readouterr().err
