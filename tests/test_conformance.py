"""One conformance test for every registered ``lifegym/...`` id (as Pgx's ``api_test`` holds
every Pgx env to one API): single and batched, each id passes the same checks.

* **API**: Gymnasium's ``check_env``; observations in the observation space; a batch of
  ``gym.make_vec`` returns arrays of the batch's size.
* **Determinism**: two envs with the same seed and the same actions give the same
  observations, rewards, ends and infos, bit for bit (errors included).
* **Bad input**: an action outside the action space is refused with an error naming it,
  and changes nothing (the env then plays on as an env that never saw it); on a Text id a
  call that is no tool call gets the protocol's error reply and the penalty, and the
  episode goes on (the model is told, as over MCP).
* **Results**: the episode's end carries ``info["result"]`` with every field of
  ``lifegym.scoring.EpisodeResult``, of its type, consistent (identified implies exact,
  exact implies a behavioural match, the undetermined bits are counted, costs are counts).

Actions come from the test's own generator: random valid ones (by the action masks), then
a submission; Text ids get tool calls (a menu page, a soup, a malformed call, a rule).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from examples import assert_same
from gymnasium.utils.env_checker import check_env

import lifegym  # noqa: F401  (registers the ids)
from lifegym.registration import TEXT_PRESETS
from lifegym.scoring import IDENTIFIED_DELTA, SCORE_VERSION, EpisodeResult

ALL_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("lifegym/"))
#: Steps before the submission: few on the presets whose engine rescores many rules a step.
STEPS = {"Strided": 3, "Stats": 3}
DEFAULT_STEPS = 8
#: The type of each result field.
FIELD_TYPES = {
    "true_rule": str, "submitted_rule": str, "exact": bool, "identified": bool,
    "bits_correct": float, "behavioural_match": bool, "undetermined_bits": list,
    "n_undetermined": int, "class_probability": float, "identified_delta": float,
    "equivalent_rules": list, "score_version": int, "experiment_cost": int,
    "compute_cost": int, "n_experiments": int, "n_tests": int, "submitted_by": str,
    "belief_entropy": float, "n_consistent": int,
}  # fmt: skip


def steps_for(env_id: str) -> int:
    return next((n for key, n in STEPS.items() if key in env_id), DEFAULT_STEPS)


def check_result(result: dict[str, Any]) -> None:
    """``info["result"]``: every field, of its type, consistent."""
    assert set(result) == {field.name for field in dataclasses.fields(EpisodeResult)}
    for name, kind in FIELD_TYPES.items():
        assert isinstance(result[name], kind), (name, result[name])
    assert all(isinstance(x, str) for x in result["undetermined_bits"])
    assert all(isinstance(x, str) for x in result["equivalent_rules"])
    assert result["score_version"] == SCORE_VERSION
    assert result["identified_delta"] == IDENTIFIED_DELTA
    assert result["n_undetermined"] == len(result["undetermined_bits"])
    assert 0.0 <= result["bits_correct"] <= 1.0
    if result["identified"]:
        assert result["exact"] and not result["n_undetermined"]
        assert result["class_probability"] >= 1.0 - IDENTIFIED_DELTA
    if result["exact"]:
        assert result["behavioural_match"] and result["bits_correct"] == 1.0
    for cost in ("experiment_cost", "compute_cost", "n_experiments", "n_tests"):
        assert result[cost] >= 0, cost
    assert result["submitted_by"] in {"agent", "budget", "truncation", "timeout", "abandoned"}


#: A Text action that is no tool call.
MALFORMED = "not a tool call"
#: A rule to submit in each family's notation.
SUBMISSIONS = {"hex": "B2/S34H", "vonneumann": "B2/S3V"}


def text_actions(task: dict[str, Any], rng: np.random.Generator) -> list[str]:
    """Tool calls for a Text id: a menu page, a soup, a malformed call, a submission."""
    size = int(rng.integers(4, 9))
    return [
        json.dumps({"tool": "list_menu", "limit": 3}),
        json.dumps(
            {"tool": "run_experiment", "steps": 1, "density": 0.5, "height": size, "width": size}
        ),
        MALFORMED,
        json.dumps({"tool": "submit_rule", "rule": SUBMISSIONS.get(task["family"], "B3/S23")}),
    ]


def discrete_action(env: gym.Env, rng: np.random.Generator, submit: bool) -> int:
    unwrapped = env.unwrapped
    if submit:
        return int(unwrapped.submit_action)
    masks = unwrapped.action_masks().copy()
    masks[unwrapped.submit_action] = False
    if not masks.any():
        return int(unwrapped.submit_action)
    return int(rng.choice(np.flatnonzero(masks)))


def bad_action(env: gym.Env) -> int:
    """An action outside a Discrete action space."""
    return int(env.action_space.n)


@pytest.mark.parametrize("env_id", ALL_IDS)
def test_every_id_single(env_id: str) -> None:
    text = env_id in TEXT_PRESETS
    env, twin = gym.make(env_id), gym.make(env_id)
    check_env(gym.make(env_id).unwrapped, skip_render_check=True)
    rng = np.random.default_rng(0)
    for seed in (3, 4):
        got = env.reset(seed=seed)
        assert_same(got, twin.reset(seed=seed), f"reset {seed}")
        assert env.observation_space.contains(got[0])
        actions = text_actions(json.loads(got[0]), rng) if text else []
        steps = len(actions) - 1 if text else steps_for(env_id)
        for t in range(steps + 1):
            if t == 1 and not text:  # bad input: refused, named, and nothing changes
                bad = bad_action(env)
                with pytest.raises(ValueError, match=str(bad)):
                    env.step(bad)
            action = actions[t] if text else discrete_action(env, rng, submit=t == steps)
            out = env.step(action)
            assert_same(out, twin.step(action), f"step {t}")
            assert env.observation_space.contains(out[0])
            if text and action == MALFORMED:  # the protocol's error reply; the episode goes on
                assert json.loads(out[0]) == {"error": "the action is not JSON (Expecting "
                                              "value at character 0)"}  # fmt: skip
                assert out[1] < 0 and not (out[2] or out[3])
            if out[2] or out[3]:
                check_result(out[4]["result"])
                break
        else:
            raise AssertionError(f"{env_id}: the submission did not end the episode")
    env.close()
    twin.close()


BATCHED_IDS = [env_id for env_id in ALL_IDS if env_id not in TEXT_PRESETS]


@pytest.mark.parametrize("env_id", BATCHED_IDS)
def test_every_id_batched(env_id: str) -> None:
    n = 3
    envs = [gym.make_vec(env_id, num_envs=n) for _ in range(2)]
    submit = gym.make(env_id).unwrapped.submit_action
    rng = np.random.default_rng(1)
    for bad in (True, "5", [5, 6]):  # refused alike, natively and in the fallback
        with pytest.raises(ValueError, match=f"seed.*{n}"):
            envs[0].reset(seed=bad)
    obs, infos = envs[0].reset(seed=[5, 6, 7])
    assert_same((obs, infos), envs[1].reset(seed=[5, 6, 7]), "reset")
    assert envs[0].observation_space.contains(obs)
    ended = np.zeros(n, dtype=bool)
    for t in range(steps_for(env_id) + 2):
        masks = envs[0].call("action_masks") if not hasattr(envs[0], "action_masks") else None
        masks = np.stack(masks) if masks is not None else envs[0].action_masks()
        assert masks.shape == (n, envs[0].single_action_space.n) and masks.dtype == bool
        if t == 1:  # an action out of range is refused, named, and the batch plays on
            bad = np.full(n, submit)
            bad[1] = envs[0].single_action_space.n
            with pytest.raises((ValueError, IndexError, AssertionError), match=str(bad[1])):
                envs[0].step(bad)
        others = masks.copy()
        others[:, submit] = False
        actions = np.where(
            others.any(axis=1), (rng.random(masks.shape) * others).argmax(axis=1), submit
        )
        if t >= steps_for(env_id):
            actions[:] = submit
        out = envs[0].step(actions)
        assert_same(out, envs[1].step(actions), f"step {t}")
        obs, rewards, terminated, truncated, infos = out
        assert envs[0].observation_space.contains(obs)
        assert rewards.shape == terminated.shape == truncated.shape == (n,)
        for i in np.flatnonzero(terminated | truncated):
            result = {
                key: value[i].item() if isinstance(value[i], np.generic) else value[i]
                for key, value in infos["result"].items()
                if not key.startswith("_")
            }
            check_result(result)
            ended[i] = True
    assert ended.all()
    for env in envs:
        env.close()
