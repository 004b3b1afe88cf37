"""Episode results equal the recorded ones (``tests/episode_results.py``), field for field:
on every v1 preset, through the single env (its own results and ``score`` of other rules)
and, where the preset is batched, through the native vector env, several episodes ending
in the same step."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from episode_results import RECORD, cases, plain, rules_to_score

import lifegym  # noqa: F401  (registers the ids)
from lifegym.vector import RuleDiscoveryVectorEnv

RECORDED: dict[str, list[dict[str, Any]]] = json.loads(RECORD.read_text())
CASES = cases()


def as_recorded(value: Any) -> Any:
    return json.loads(json.dumps(plain(value)))


def test_the_record_covers_every_case() -> None:
    assert set(RECORDED) == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_single_env_results_equal_the_record(name: str) -> None:
    env_id, kwargs = CASES[name]
    env = gym.make(env_id, **kwargs)
    for record in RECORDED[name]:
        env.reset(seed=record["seed"])
        for action in record["actions"]:
            *_, terminated, truncated, info = env.step(action)
        assert terminated or truncated
        assert as_recorded(info["result"]) == record["result"], (name, record["seed"])
        others = rules_to_score(env, record["seed"])
        assert set(others) == set(record["scored"])
        for key, rule in others.items():
            got = as_recorded(dataclasses.asdict(env.unwrapped.score(rule)))
            assert got == record["scored"][key], (name, record["seed"], key)
    env.close()


BATCHED = [
    name for name, (env_id, kwargs) in CASES.items()
    if isinstance(gym.make_vec(env_id, num_envs=1, **kwargs).unwrapped, RuleDiscoveryVectorEnv)
]  # fmt: skip


@pytest.mark.parametrize("name", BATCHED)
def test_vector_env_results_equal_the_record(name: str) -> None:
    """Episodes played four at a time; each one's first result is compared."""
    env_id, kwargs = CASES[name]
    records = RECORDED[name]
    n = 4
    env = gym.make_vec(env_id, num_envs=n, **kwargs)
    submit = gym.make(env_id, **kwargs).unwrapped.submit_action
    for start in range(0, len(records), n):
        batch = records[start : start + n]
        seeds = [r["seed"] for r in batch] + [0] * (n - len(batch))
        plays = [r["actions"] for r in batch] + [[submit]] * (n - len(batch))
        env.reset(seed=seeds)
        found: dict[int, Any] = {}
        for t in range(max(map(len, plays))):
            actions = np.array([p[t] if t < len(p) else submit for p in plays])
            *_, terminated, truncated, info = env.step(actions)
            for i in np.flatnonzero(terminated | truncated):
                if i not in found and t == len(plays[i]) - 1:
                    found[int(i)] = {
                        key: value[i].item() if isinstance(value[i], np.generic) else value[i]
                        for key, value in info["result"].items()
                        if not key.startswith("_")
                    }
        assert sorted(found) == list(range(n))
        for i, record in enumerate(batch):
            assert as_recorded(found[i]) == record["result"], (name, record["seed"])
    env.close()
