"""Episode results of every v1 preset, recorded once so that a change of how results are
computed (batched, kernels) can be checked field for field against the code before it.

``python tests/episode_results.py`` (from the repository root) plays, on each v1 preset,
episodes of random valid actions that submit early (seeded, independent of the env), and
records for each: its seed, its actions, ``info["result"]`` at its end, and the results of
``RuleDiscoveryEnv.score`` for the hidden rule, the hidden rule with one free bit flipped,
another member of the hidden rule's observational class (when there is one) and a random
rule of the space. It writes :data:`RECORD`; ``tests/test_episode_results.py`` replays it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import lifegym  # noqa: F401  (registers the ids)
from lifegym.equivalence import observational_class
from lifegym.registration import PRESETS
from lifegym.rules import Rule

RECORD = Path(__file__).parent / "data" / "episode_results_v1.json"
V1_IDS = [env_id for env_id in PRESETS if env_id.endswith("-v1")]
#: Episodes per preset, and the most steps one takes before it submits.
EPISODES = {"lifegym/Isotropic-Stats-v1": 4, "lifegym/LifeLike-Strided-v1": 6,
            "lifegym/LifeLike-Stats-v1": 6}  # fmt: skip
DEFAULT_EPISODES = 24
#: Settings beyond the presets' (key: a name for the record): frames seen through a window
#: under a table rule, the one path of the undetermined-bit check no v1 preset takes.
EXTRA = {
    "isotropic-window": ("lifegym/RuleDiscovery-v1", {
        "family": "isotropic", "world": (24, 24), "window": (12, 12), "noise": 0.05,
        "inference": "exact"}),
}  # fmt: skip
MAX_STEPS = {"lifegym/Isotropic-Stats-v1": 3, "lifegym/LifeLike-Strided-v1": 4,
             "lifegym/LifeLike-Stats-v1": 4}  # fmt: skip
DEFAULT_MAX_STEPS = 14


def plain(value: Any) -> Any:
    """JSON-ready copy of a result (NaN and infinities as strings)."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)
    return value


def actions_for(env: gym.Env, seed: int) -> list[int]:
    """A policy's actions for one episode, drawn from its own generator (``seed``): random
    valid experiments and tests, then a submission after a random number of steps."""
    rng = np.random.default_rng([seed, 7])
    unwrapped = env.unwrapped
    limit = MAX_STEPS.get(unwrapped.spec.id, DEFAULT_MAX_STEPS)
    length = int(rng.integers(0, limit + 1))
    actions = []
    for _ in range(length):
        masks = unwrapped.action_masks().copy()
        masks[unwrapped.submit_action] = False
        if not masks.any():
            break
        action = int(rng.choice(np.flatnonzero(masks)))
        actions.append(action)
        _, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            return actions
    actions.append(unwrapped.submit_action)
    return actions


def cases() -> dict[str, tuple[str, dict[str, Any]]]:
    """Every recorded setting: name -> (env id, keyword arguments)."""
    return {**{env_id: (env_id, {}) for env_id in V1_IDS}, **EXTRA}


def rules_to_score(env: gym.Env, seed: int) -> dict[str, Rule]:
    """The rules an ended episode is scored for besides its submission: the hidden rule,
    it with one free bit flipped, another member of its class (when there is one) and a
    random rule of the space, drawn from the test's own generator (``seed``)."""
    unwrapped = env.unwrapped
    space, hidden = unwrapped.space, unwrapped.lab.hidden_rule
    rng = np.random.default_rng([seed, 8])
    flipped = space.free_values(hidden)
    flipped[int(rng.integers(space.n_free))] ^= 1
    others = {
        "hidden": hidden,
        "flipped": space.rule(flipped),
        "random": space.rule(rng.integers(0, 2, space.n_free).astype(np.uint8)),
    }
    members = observational_class(hidden, space, unwrapped.model)
    if len(members) > 1:
        others["member"] = members[1]
    return others


def play(env_id: str, kwargs: dict[str, Any], seed: int) -> dict[str, Any]:
    """One recorded episode (module doc)."""
    env = gym.make(env_id, **kwargs)
    env.reset(seed=seed)
    actions = actions_for(env, seed)
    record: dict[str, Any] = {"seed": seed, "actions": actions}
    # replay: the result at the end of the episode
    env.reset(seed=seed)
    for action in actions:
        *_, terminated, truncated, info = env.step(action)
    assert terminated or truncated
    record["result"] = plain(info["result"])
    record["scored"] = {
        name: plain(dataclasses.asdict(env.unwrapped.score(rule)))
        for name, rule in rules_to_score(env, seed).items()
    }
    env.close()
    return record


def main() -> None:
    records = {
        name: [play(env_id, kwargs, 1000 + k)
               for k in range(EPISODES.get(name, DEFAULT_EPISODES))]
        for name, (env_id, kwargs) in cases().items()
    }  # fmt: skip
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text(json.dumps(records, indent=0, sort_keys=True) + "\n")
    print(f"wrote {RECORD}: {sum(map(len, records.values()))} episodes")


if __name__ == "__main__":
    main()
