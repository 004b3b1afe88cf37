"""RuleDiscoveryEnv (lifegym.env) against its docstring, for every registered id.

Worlds are shrunk with ``gym.make`` keyword overrides (``world=(20, 20)``, and a 12x12
window for the window preset) except where a test is about a preset's defaults.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from examples import assert_same, family_rules
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import lifegym  # noqa: F401  (registers the ids)
from lifegym.env import RuleDiscoveryEnv
from lifegym.episodes import SUMMARY_FRAMES
from lifegym.experiments import Experiment
from lifegym.families import TOTALISTIC
from lifegym.observe import N_STATS
from lifegym.registration import PRESETS
from lifegym.rules import NAMED_RULES, Rule
from lifegym.types import RuleSpace

ENV_IDS = list(PRESETS)
RESULT_TYPES: dict[str, type] = {
    "true_rule": str,
    "submitted_rule": str,
    "exact": bool,
    "identified": bool,
    "bits_correct": float,
    "behavioural_match": bool,
    "undetermined_bits": list,
    "n_undetermined": int,
    "class_probability": float,
    "identified_delta": float,
    "equivalent_rules": list,
    "score_version": int,
    "experiment_cost": int,
    "compute_cost": int,
    "n_experiments": int,
    "n_tests": int,
    "submitted_by": str,
    "belief_entropy": float,
    "n_consistent": int,
}
TOTALISTIC_NAMED = [
    text
    for text in dict.fromkeys(NAMED_RULES.values())
    if TOTALISTIC.contains(Rule.parse(text).table)
]


def small_kwargs(env_id: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"world": (20, 20)}
    if "window" in PRESETS[env_id][0]:
        kwargs["window"] = (12, 12)
    return kwargs


def make(env_id: str, **overrides: Any) -> gym.Env:
    return gym.make(env_id, **{**small_kwargs(env_id), **overrides})


def make_raw(env_id: str, **overrides: Any) -> RuleDiscoveryEnv:
    env = make(env_id, **overrides).unwrapped
    assert isinstance(env, RuleDiscoveryEnv)
    return env


def index_of(env: RuleDiscoveryEnv, name: str) -> int:
    return [item.name for item in env.menu].index(name)


def world_soup(env: RuleDiscoveryEnv, density: float, steps: int = 16) -> int:
    """The soup at ``density`` run ``steps`` steps on the whole world (v0 and v1 menus)."""
    return next(
        i
        for i, m in enumerate(env.menu)
        if m.kind == "soup"
        and m.density == density
        and m.steps == steps
        and m.shape_in(env.world) == env.world
    )


def soup_at(env: RuleDiscoveryEnv, density: float) -> int:
    """The first soup of the menu at ``density`` (v0: the 2-step whole-world soup)."""
    return next(i for i, m in enumerate(env.menu) if m.kind == "soup" and m.density == density)


def cheapest_item(env: RuleDiscoveryEnv) -> int:
    return int(np.argmin(env.item_costs))


def dearest_item(env: RuleDiscoveryEnv) -> int:
    return int(np.argmax(env.item_costs))


def lab_state(env: RuleDiscoveryEnv) -> tuple:
    lab = env.lab
    return (
        lab.experiment_spent,
        lab.compute_spent,
        len(lab.trajectories),
        env.belief.map_rule,
        env.belief.p_one.tolist(),
    )


# ----------------------------------------------------------------------- env checkers


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_check_env_without_warnings(env_id):
    env = make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)
    env.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_sb3_check_env_without_warnings(env_id):
    env = make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env, warn=True)
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize("render_mode", ["rgb_array", "ansi"])
def test_check_env_with_render_modes(render_mode):
    env = make("lifegym/LifeLike-Noisy-v0", render_mode=render_mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped)


# ------------------------------------------------------------------------- presets


def test_every_preset_is_registered():
    for env_id in ENV_IDS:
        assert env_id in gym.registry
        assert gym.registry[env_id].entry_point == "lifegym.env:RuleDiscoveryEnv"


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_presets_apply_their_arguments(env_id):
    kwargs = PRESETS[env_id][0]
    env = gym.make(env_id).unwrapped
    assert env.world == tuple(kwargs.get("world", (60, 60)))
    assert env.space.family == kwargs.get("family", "totalistic")
    assert env.model.noise == kwargs.get("noise", 0.0)
    assert env.model.stride == kwargs.get("stride", 1)
    assert env.model.window == kwargs.get("window")
    assert env.model.stats_sigma == kwargs.get("sigma")
    engine = env.engine_factory(env.space, env.model)
    assert engine.name == kwargs.get("inference", "exact")


def test_make_with_module_prefix():
    env = gym.make("lifegym:lifegym/LifeLike-Full-v0")
    assert isinstance(env.unwrapped, RuleDiscoveryEnv)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    env.close()


def test_make_keyword_overrides_a_preset():
    env = gym.make("lifegym/LifeLike-Noisy-v0", noise=0.1, world=(30, 31)).unwrapped
    assert env.model.noise == 0.1
    assert env.world == (30, 31)


# -------------------------------------------------------------------- determinism


def play(env: gym.Env, seed: int, episodes: int = 2) -> list[tuple]:
    """Random valid actions (drawn with action_masks from a separate generator) to the end of
    ``episodes`` episodes; the first reset seeded, later ones not."""
    rng = np.random.default_rng(seed + 1000)
    record: list[tuple] = []
    obs, info = env.reset(seed=seed)
    record.append((obs, info))
    raw = env.unwrapped
    for _ in range(episodes):
        for _ in range(500):
            mask = raw.action_masks()
            assert mask.dtype == np.bool_
            assert mask.shape == (raw.action_space.n,)
            choices = np.flatnonzero(mask)
            action = int(rng.choice(choices))
            obs, reward, terminated, truncated, info = env.step(action)
            assert type(reward) is float
            assert type(terminated) is bool
            assert type(truncated) is bool
            assert env.observation_space.contains(obs)
            record.append((action, obs, reward, terminated, truncated, info))
            if terminated or truncated:
                assert "result" in info
                break
        else:
            pytest.fail("episode did not end")
        obs, info = env.reset()
        record.append((obs, info))
    return record


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_seeded_determinism(env_id):
    # The search engine on statistics takes ~0.1 s per experiment: shorter episodes there.
    searched = str(PRESETS[env_id][0].get("inference")).startswith("search")
    short = {"max_steps": 24} if searched else {}
    first = play(make(env_id, **short), seed=3)
    second = play(make(env_id, **short), seed=3)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        assert_same(a, b)
    ends = [entry[-1]["result"] for entry in first if len(entry) == 6 and "result" in entry[-1]]
    assert len(ends) == 2


def test_seeded_reset_does_not_depend_on_the_history():
    played = make_raw("lifegym/LifeLike-Noisy-v0")
    fresh = make_raw("lifegym/LifeLike-Noisy-v0")
    played.reset(seed=9)
    for action in (0, 5, played.test_map_action, 12):
        played.step(action)
    results = [env.reset(seed=3) for env in (played, fresh)]
    assert_same(results[0], results[1])
    assert played.lab.hidden_rule == fresh.lab.hidden_rule
    for action in (3, 20, len(played.menu) + 1, played.submit_action):
        assert_same(played.step(action), fresh.step(action))


def test_action_masks_are_copies():
    env = make_raw("lifegym/LifeLike-Full-v0")
    _, info = env.reset(seed=0)
    mask = env.action_masks()
    mask[:] = False
    info["action_mask"][:] = False
    assert env.action_masks()[env.submit_action]
    assert env.action_masks()[: len(env.menu)].all()
    _, _, _, _, info = env.step(0)
    assert "rejected" not in info


def test_different_seeds_draw_different_rules():
    env = make_raw("lifegym/LifeLike-Full-v0")
    rules = set()
    for seed in range(8):
        env.reset(seed=seed)
        rules.add(env.lab.hidden_rule)
    assert len(rules) > 4


# ---------------------------------------------------------------- reset options


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("which", [0, 1, 2])
def test_reset_option_rule_sets_the_hidden_rule(env_id, which):
    env = make(env_id)
    raw = env.unwrapped
    text = family_rules(raw.space.family.name)[which]
    expected = str(Rule.parse(text).to(raw.space.family))
    for rule in (text, Rule.parse(text)):
        env.reset(seed=0, options={"rule": rule})
        assert raw.lab.hidden_rule == Rule.parse(text)
        _, _, terminated, truncated, info = env.step(raw.submit_action)
        assert terminated and not truncated
        assert info["result"]["true_rule"] == expected
        assert info["result"]["submitted_by"] == "agent"


@pytest.mark.parametrize(
    "options",
    [
        {"rule": "B9/S"},
        {"rule": "hello"},
        {"rule": ""},
        {"rule": 5},
        {"rule": None},
        {"rule": "B3/S23", "noise": 0.1},
        {"seed": 1},
        {"rule": str(Rule.random("free", 0))},  # not in any preset's family
    ],
)
@pytest.mark.parametrize("env_id", ["lifegym/LifeLike-Full-v0", "lifegym/Isotropic-Noisy-v0"])
def test_bad_reset_option_raises_and_the_env_still_works(env_id, options):
    env = make(env_id)
    raw = env.unwrapped
    twin = make(env_id)
    for e in (env, twin):
        e.reset(seed=5)
        e.step(cheapest_item(raw))
    before = lab_state(raw)
    with pytest.raises(ValueError):
        env.reset(seed=1, options=options)
    # the running episode is untouched: it goes on exactly as its twin's
    assert lab_state(raw) == before
    action = index_of(raw, "soup-0.50x2")
    assert_same(env.step(action), twin.step(action))
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    env.step(cheapest_item(raw))


def test_reset_option_rule_must_agree_with_known_bits():
    env = make_raw("lifegym/RuleDiscovery-v0", known={"B3": 0})
    with pytest.raises(ValueError, match="B3/S23"):
        env.reset(options={"rule": "B3/S23"})
    env.reset(options={"rule": "B6/S23"})
    assert env.lab.hidden_rule == Rule.parse("B6/S23")


def test_reset_option_rule_of_another_family_is_rejected_for_totalistic():
    env = make_raw("lifegym/LifeLike-Full-v0")
    with pytest.raises(ValueError, match="rule space"):
        env.reset(options={"rule": NAMED_RULES["tlife"]})
    iso = make_raw("lifegym/Isotropic-Noisy-v0")
    iso.reset(options={"rule": NAMED_RULES["tlife"]})
    assert iso.lab.hidden_rule == Rule.parse(NAMED_RULES["tlife"])


# --------------------------------------------------------------------------- render


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_render_modes_before_and_after_steps(env_id):
    rgb = make(env_id, render_mode="rgb_array")
    ansi = make(env_id, render_mode="ansi")
    none = make(env_id)
    for env in (rgb, ansi, none):
        env.reset(seed=0)
    for step in range(3):
        picture = rgb.render()
        assert isinstance(picture, np.ndarray)
        assert picture.dtype == np.uint8
        assert picture.ndim == 3
        assert picture.shape[2] == 3
        assert picture.shape[0] > 0 and picture.shape[1] > 0
        text = ansi.render()
        assert isinstance(text, str)
        assert text.strip()
        assert none.render() is None
        for env in (rgb, ansi, none):
            env.step(cheapest_item(env.unwrapped) if step < 2 else env.unwrapped.submit_action)
    assert "submitted" in ansi.render()
    assert rgb.render().dtype == np.uint8


def test_render_mode_is_validated():
    with pytest.raises(ValueError, match="'human'"):
        RuleDiscoveryEnv(world=(20, 20), render_mode="human")


# ---------------------------------------------------------------- action validation


def bad_actions(n: int) -> list[tuple[Any, type[Exception]]]:
    return [
        (-1, ValueError),
        (n, ValueError),
        (n + 7, ValueError),
        (np.int64(n), ValueError),
        (np.array(-2), ValueError),
        (1.0, TypeError),
        (0.5, TypeError),
        (np.float64(2.0), TypeError),
        ("0", TypeError),
        ("submit", TypeError),
        (None, TypeError),
        (True, TypeError),
        ([0], TypeError),
        (np.array([0]), TypeError),
        (np.array([[1]]), TypeError),
        (np.array([0, 1]), TypeError),
        (np.array(1.0), TypeError),
    ]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_invalid_actions_raise_and_change_nothing(env_id):
    env = make_raw(env_id)
    twin = make_raw(env_id)
    n = env.action_space.n
    for e in (env, twin):
        e.reset(seed=2)
        e.step(cheapest_item(e))
    before = lab_state(env)
    for action, error in bad_actions(n):
        with pytest.raises(error) as caught:
            env.step(action)
        message = str(caught.value)
        assert re.search(rf"\[0, {n}\)|0\.\.{n - 1}", message), message
        if error is TypeError:
            assert repr(action) in message, message
        else:
            assert str(int(action)) in message, message
        assert lab_state(env) == before
        with pytest.raises(error):
            env.describe_action(action)
    # the next valid step is exactly the twin's
    for action in (soup_at(env, 0.5), env.test_map_action, len(env.menu) + 3):
        assert_same(env.step(action), twin.step(action))


@pytest.mark.parametrize("wrap", [int, np.int64, np.int32, np.uint8, np.array])
def test_numpy_integer_actions_are_accepted(wrap):
    env = make_raw("lifegym/LifeLike-Full-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(wrap(3))
    assert info["action"] == f"request {env.menu[3].name}"
    assert "rejected" not in info


def test_step_before_reset_raises_runtime_error():
    env = RuleDiscoveryEnv(world=(20, 20))
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    env.step(0)


def test_action_masks_before_reset_raises_runtime_error():
    """Like every other use of the env before reset(): RuntimeError("call reset() ...")."""
    env = RuleDiscoveryEnv(world=(20, 20))
    with pytest.raises(RuntimeError, match="reset"):
        env.action_masks()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_after_the_end_raises_until_reset(env_id):
    env = make_raw(env_id)
    env.reset(seed=0)
    env.step(cheapest_item(env))
    _, _, terminated, _, _ = env.step(env.submit_action)
    assert terminated
    before = lab_state(env)
    for action in (env.submit_action, 0, env.test_map_action):
        with pytest.raises(RuntimeError, match="reset"):
            env.step(action)
    assert lab_state(env) == before
    env.reset(seed=1)
    _, _, terminated, truncated, _ = env.step(0)
    assert not terminated and not truncated


# ----------------------------------------------------------------- masked actions


@pytest.mark.parametrize("env_id", ENV_IDS)
@pytest.mark.parametrize("reward", ["info_gain", "terminal"])
def test_tests_before_any_experiment_are_masked_and_rejected(env_id, reward):
    env = make_raw(env_id, reward=reward)
    obs, info = env.reset(seed=0)
    mask = env.action_masks()
    np.testing.assert_array_equal(info["action_mask"], mask)
    assert mask[: len(env.menu)].all()
    assert not mask[len(env.menu) : env.submit_action].any()
    assert mask[env.submit_action]
    before = lab_state(env)
    for action in (len(env.menu), env.test_map_action):
        obs, reward_value, terminated, truncated, info = env.step(action)
        assert isinstance(info["rejected"], str)
        assert info["rejected"]
        assert reward_value == pytest.approx(-0.1)
        assert not terminated and not truncated
        assert info["experiment_cost"] == 0
        assert info["compute_cost"] == 0
        assert "test" not in info
        np.testing.assert_array_equal(obs["budget_left"], [1.0, 1.0])
        assert lab_state(env) == before


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_unaffordable_experiment_is_rejected_with_a_penalty(env_id):
    probe = make_raw(env_id)
    dear, cheap = int(probe.item_costs.max()), int(probe.item_costs.min())
    assert dear > cheap
    env = make_raw(env_id, experiment_budget=dear + cheap)
    env.reset(seed=0)
    _, _, terminated, _, _ = env.step(dearest_item(env))
    assert not terminated
    mask = env.action_masks()
    assert not mask[dearest_item(env)]
    assert mask[cheapest_item(env)]
    before = lab_state(env)
    obs, reward, terminated, truncated, info = env.step(dearest_item(env))
    assert "request" in info["rejected"]
    assert reward == pytest.approx(-0.1)
    assert not terminated and not truncated
    assert lab_state(env) == before
    assert obs["budget_left"][0] == pytest.approx(cheap / (dear + cheap))


def test_unaffordable_tests_are_rejected():
    env = make_raw("lifegym/LifeLike-Noisy-v0", compute_budget=0)
    env.reset(seed=0)
    env.step(0)
    mask = env.action_masks()
    assert not mask[len(env.menu) : env.submit_action].any()
    before = lab_state(env)
    for action in (len(env.menu) + 2, env.test_map_action):
        obs, reward, _, _, info = env.step(action)
        assert "test" in info["rejected"]
        assert reward == pytest.approx(-0.1)
        assert lab_state(env) == before
        assert obs["budget_left"][1] == 0.0


def test_rejected_penalty_of_a_custom_reward():
    from lifegym.reward import InfoGainReward

    env = make_raw("lifegym/LifeLike-Full-v0", reward=InfoGainReward(rejected_penalty=0.5))
    env.reset(seed=0)
    _, reward, _, _, info = env.step(env.test_map_action)
    assert info["rejected"]
    assert reward == pytest.approx(-0.5)


# -------------------------------------------------------------------- episode end


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_auto_submit_when_the_experiment_budget_is_spent(env_id):
    probe = make_raw(env_id)
    budget = int(probe.item_costs.max())
    env = make_raw(env_id, experiment_budget=budget)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(dearest_item(env))
    assert terminated is True
    assert truncated is False
    result = info["result"]
    assert result["submitted_by"] == "budget"
    assert result["n_experiments"] == 1
    assert result["experiment_cost"] == budget
    with pytest.raises(RuntimeError):
        env.step(env.submit_action)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_truncation_at_max_steps(env_id):
    env = make_raw(env_id, max_steps=3)
    env.reset(seed=0)
    for step in range(3):
        _, _, terminated, truncated, info = env.step(cheapest_item(env))
        assert terminated is False
        assert truncated is (step == 2)
    assert info["result"]["submitted_by"] == "truncation"
    assert info["result"]["n_experiments"] == 3
    with pytest.raises(RuntimeError):
        env.step(0)


def test_rejected_actions_count_towards_max_steps():
    env = make_raw("lifegym/LifeLike-Full-v0", max_steps=2)
    env.reset(seed=0)
    _, _, _, truncated, _ = env.step(env.test_map_action)
    assert not truncated
    _, _, terminated, truncated, info = env.step(env.test_map_action)
    assert truncated and not terminated
    assert info["result"]["submitted_by"] == "truncation"
    assert info["result"]["n_experiments"] == 0


def test_submit_on_the_last_step_is_a_termination():
    env = make_raw("lifegym/LifeLike-Full-v0", max_steps=1)
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(env.submit_action)
    assert terminated is True and truncated is False
    assert info["result"]["submitted_by"] == "agent"


def test_budget_end_on_the_last_step_is_a_termination():
    probe = make_raw("lifegym/LifeLike-Full-v0")
    env = make_raw(
        "lifegym/LifeLike-Full-v0", max_steps=1, experiment_budget=int(probe.item_costs.max())
    )
    env.reset(seed=0)
    _, _, terminated, truncated, info = env.step(dearest_item(env))
    assert terminated is True and truncated is False
    assert info["result"]["submitted_by"] == "budget"


# --------------------------------------------------------------------------- infos


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_result_keys_and_types(env_id):
    env = make_raw(env_id)
    env.reset(seed=4)
    names = [item.name for item in env.menu]
    if "gliderx16" in names:
        first, second = index_of(env, "soup-0.50x16"), index_of(env, "gliderx16")
    else:  # a v1 menu: a 16-step soup on the smallest world, and the first probe
        first = next(i for i, m in enumerate(env.menu) if m.kind == "soup" and m.steps == 16)
        second = next(i for i, name in enumerate(names) if name.startswith("probe-"))
    env.step(first)
    env.step(second)
    replay = sum(t.simulation_cost for t in env.trajectories)
    _, _, _, _, info = env.step(len(env.menu) + 4)
    test = info["test"]
    assert test["kind"] == "bit"
    assert test["bit"] == env.space.free_names[4]
    assert type(test["log_odds"]) is float
    assert info["compute_cost"] == 2 * replay
    _, _, _, _, info = env.step(env.test_map_action)
    test = info["test"]
    assert test["kind"] == "map"
    for key in ("loglik", "discrepancy", "expected_discrepancy"):
        assert type(test[key]) is float
    assert type(test["cost"]) is int
    assert info["compute_cost"] == replay
    _, reward, terminated, truncated, info = env.step(env.submit_action)
    assert type(reward) is float
    assert terminated is True and truncated is False
    result = info["result"]
    assert set(result) == set(RESULT_TYPES)
    for key, kind in RESULT_TYPES.items():
        assert type(result[key]) is kind, (key, type(result[key]))
    assert all(type(name) is str for name in result["undetermined_bits"])
    assert set(result["undetermined_bits"]) <= set(env.space.free_names)
    assert result["n_undetermined"] == len(result["undetermined_bits"])
    assert result["experiment_cost"] == int(env.item_costs[first] + env.item_costs[second])
    assert result["compute_cost"] == 3 * replay
    assert result["n_experiments"] == 2
    assert result["n_tests"] == 2
    assert result["submitted_by"] == "agent"
    # the belief at submission is the one the last info reported
    assert result["belief_entropy"] == info["entropy"]
    assert result["n_consistent"] == info["n_consistent"]
    assert result["submitted_rule"] == info["map_rule"]
    assert 0.0 <= result["bits_correct"] <= 1.0
    assert result["exact"] == (result["true_rule"] == result["submitted_rule"])
    if result["exact"]:
        assert result["bits_correct"] == 1.0
        assert result["behavioural_match"]
    Rule.parse(result["true_rule"])
    Rule.parse(result["submitted_rule"])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_step_info_and_observation(env_id):
    env = make_raw(env_id)
    obs, info = env.reset(seed=1)
    n_menu, n_free = len(env.menu), env.space.n_free
    assert set(obs) == {"p_one", "confidence", "budget_left", "last_experiment", "spent_per_item"}
    assert obs["p_one"].shape == (n_free,)
    np.testing.assert_array_equal(obs["p_one"], 0.5)
    np.testing.assert_array_equal(obs["confidence"], 0.0)
    np.testing.assert_array_equal(obs["budget_left"], [1.0, 1.0])
    assert obs["last_experiment"].shape == (N_STATS * SUMMARY_FRAMES,)
    np.testing.assert_array_equal(obs["last_experiment"], 0.0)
    np.testing.assert_array_equal(obs["spent_per_item"], np.zeros(n_menu))
    assert info["entropy"] == pytest.approx(n_free)
    action = world_soup(env, 0.35)
    obs, reward, _, _, info = env.step(action)
    assert type(info["action"]) is str
    assert type(info["experiment_cost"]) is int
    assert type(info["compute_cost"]) is int
    assert type(info["entropy"]) is float
    assert type(info["n_consistent"]) is int
    assert type(info["map_rule"]) is str
    assert info["action_mask"].dtype == np.bool_
    cost = int(env.item_costs[action])
    assert info["experiment_cost"] == cost
    assert obs["spent_per_item"][action] == pytest.approx(cost / env.experiment_budget)
    assert obs["budget_left"][0] == pytest.approx(1 - cost / env.experiment_budget)
    assert obs["last_experiment"].any()
    assert reward == pytest.approx(n_free - info["entropy"] - cost / env.experiment_budget)
    np.testing.assert_allclose(obs["confidence"], np.abs(2 * obs["p_one"] - 1), atol=1e-6)
    for key, value in obs.items():
        assert value.dtype == env.observation_space[key].dtype, key


# --------------------------------------------------------------- constructor errors


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"family": "hexagonal"}, "'hexagonal'"),
        ({"prior": "gaussian"}, "'gaussian'"),
        ({"prior": []}, "empty"),
        ({"prior": ["B3/S23", NAMED_RULES["tlife"]]}, "rule space"),
        ({"prior": 5}, "5"),
        ({"inference": "bayes"}, "'bayes'"),
        ({"reward": "dense"}, "'dense'"),
        ({"observation": "full"}, "'full'"),
        ({"noise": 0.6}, "0.6"),
        ({"noise": -0.1}, "-0.1"),
        ({"stride": 0}, r"stride.*got 0\b"),
        ({"stride": 2, "inference": "exact"}, r"strided\(2\)"),
        ({"sigma": 0.3, "inference": "exact"}, "stats"),
        ({"window": (30, 30)}, "30x30"),
        ({"window": (0, 5)}, r"\(0, 5\)"),
        ({"sigma": 0.0, "inference": "exhaustive"}, "0.0"),
        ({"sigma": -1.0, "inference": "exhaustive"}, "-1.0"),
        ({"sigma": 0.3, "noise": 0.1, "inference": "exhaustive"}, "0.1"),
        ({"experiment_budget": -1}, "-1"),
        ({"compute_budget": -5}, "-5"),
        ({"experiment_budget": 1.5}, "1.5"),
        ({"experiment_budget": 10}, "10"),
        ({"experiment_budget": 799}, "799"),
        ({"menu": []}, "empty menu"),
        ({"frame_observation": True, "sigma": 0.3, "inference": "exhaustive"}, "frame"),
        ({"max_steps": 0}, r"max_steps.*got 0\b"),
        ({"max_steps": 2.0}, "2.0"),
        ({"world": (2, 2)}, r"\(2, 2\)"),
        ({"world": "big"}, "'big'"),
        ({"world": (20, 20.0)}, r"20\.0"),
        ({"known": {"B9": 1}}, "'B9'"),
        ({"known": {"B3": 2}}, "2"),
    ],
)
def test_invalid_constructor_arguments(kwargs, message):
    arguments = {"world": (20, 20), **kwargs}
    with pytest.raises(ValueError, match=message):
        RuleDiscoveryEnv(**arguments)
    with pytest.raises(ValueError, match=message):
        gym.make("lifegym/RuleDiscovery-v0", **arguments)


def test_smallest_budget_that_pays_for_one_experiment():
    env = RuleDiscoveryEnv(world=(20, 20), experiment_budget=800)
    env.reset(seed=0)
    assert env.action_masks()[: len(env.menu)].sum() == 7  # the 7 two-step soups


# ------------------------------------------------------ the sanity check of the issue


@pytest.mark.parametrize("steps", [2, 16])
def test_full_preset_identifies_every_named_totalistic_rule(steps):
    env = gym.make("lifegym/LifeLike-Full-v0")
    raw = env.unwrapped
    assert raw.world == (60, 60)
    soup = [
        i
        for i, item in enumerate(raw.menu)
        if item.kind == "soup" and item.density == 0.5 and item.steps == steps
    ]
    assert len(soup) == 1
    assert raw.menu[soup[0]].name == f"soup-0.50x{steps}"
    failures = []
    for seed, text in enumerate(TOTALISTIC_NAMED):
        env.reset(seed=seed, options={"rule": text})
        env.step(soup[0])
        _, _, terminated, _, info = env.step(raw.submit_action)
        result = info["result"]
        assert terminated
        if not (result["exact"] and result["submitted_rule"] == text):
            failures.append((text, result["submitted_rule"]))
        assert result["behavioural_match"]
        assert result["n_undetermined"] == 0
    assert failures == []


# ------------------------------------------------------------- frame observation


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_frame_observation(env_id):
    if PRESETS[env_id][0].get("sigma") is not None:
        with pytest.raises(ValueError, match="frame"):
            make(env_id, frame_observation=True)
        return
    env = make(env_id, frame_observation=True)
    raw = env.unwrapped
    h, w = raw.model.region(*raw.world)
    space = env.observation_space["frame"]
    assert space.shape == (h, w, 1)
    assert space.dtype == np.uint8
    obs, _ = env.reset(seed=0)
    assert obs["frame"].shape == (h, w, 1)
    assert obs["frame"].dtype == np.uint8
    np.testing.assert_array_equal(obs["frame"], 0)
    obs, *_ = env.step(world_soup(raw, 0.5))
    last = raw.trajectories[-1].frames[-1]
    np.testing.assert_array_equal(obs["frame"][..., 0], last * 255)
    assert set(np.unique(obs["frame"]).tolist()) <= {0, 255}
    assert env.observation_space.contains(obs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(raw)


# ------------------------------------------------------------------------ rewards


def test_terminal_reward_is_one_minus_cost_at_an_exact_submit():
    env = gym.make("lifegym/LifeLike-Full-v0", reward="terminal")
    raw = env.unwrapped
    env.reset(seed=0, options={"rule": "B3/S23"})
    action = world_soup(raw, 0.5)
    _, reward, terminated, _, info = env.step(action)
    cost = int(raw.item_costs[action]) / raw.experiment_budget
    assert not terminated
    assert reward == pytest.approx(-cost)
    _, reward_submit, terminated, _, info = env.step(raw.submit_action)
    assert terminated
    assert info["result"]["exact"]
    assert reward_submit == 1.0
    assert reward + reward_submit == pytest.approx(1.0 - cost)


def test_terminal_reward_without_data_is_the_fraction_of_bits_right():
    env = make_raw("lifegym/LifeLike-Full-v0", reward="terminal")
    env.reset(seed=0, options={"rule": "B3/S23"})
    _, reward, _, _, info = env.step(env.submit_action)
    # MAP with no data is every free bit 0: 15 of Life's 18 bits are 0
    assert info["result"]["submitted_rule"] == "B/S"
    assert reward == pytest.approx(15 / 18)
    assert info["result"]["bits_correct"] == pytest.approx(15 / 18)


def test_info_gain_reward_of_a_test():
    env = make_raw("lifegym/LifeLike-Noisy-v0")
    env.reset(seed=0)
    _, _, _, _, info = env.step(index_of(env, "soup-0.50x2"))
    entropy = info["entropy"]
    replay = sum(t.simulation_cost for t in env.trajectories)
    _, reward, _, _, info = env.step(env.test_map_action)
    assert reward == pytest.approx(entropy - info["entropy"] - replay / env.compute_budget)


def test_known_bits_shrink_the_action_space():
    env = RuleDiscoveryEnv(world=(20, 20), known={"B0": 0, "S8": 1})
    space = RuleSpace.of("totalistic", {"B0": 0, "S8": 1})
    assert env.space.n_free == space.n_free == 16
    assert env.action_space.n == len(env.menu) + 16 + 2
    env.reset(seed=0)
    _, _, _, _, info = env.step(env.submit_action)
    assert Rule.parse(info["result"]["submitted_rule"]) == Rule.parse("B/S8")


def test_menu_experiment_requested_by_name():
    menu = [Experiment("only", "soup", 3)]
    env = RuleDiscoveryEnv(world=(20, 20), menu=menu, experiment_budget=1200)
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(0)
    assert info["action"] == "request only"
    assert terminated
    assert info["result"]["submitted_by"] == "budget"


def test_observation_model_and_its_parts_together_are_refused():
    from lifegym.observe import noisy

    with pytest.raises(ValueError, match="not both"):
        RuleDiscoveryEnv(observation=noisy(0.05), stride=2)
    env = RuleDiscoveryEnv(observation=noisy(0.05))
    assert env.model.noise == 0.05


@pytest.mark.parametrize("env_id", ["lifegym/LifeLike-Noisy-v1", "lifegym/Isotropic-Noisy-v1"])
def test_info_keeps_step_costs_and_totals_apart(env_id):
    env = make_raw(env_id)
    _, info = env.reset(seed=0)
    assert (info["experiment_spent"], info["compute_spent"]) == (0, 0)
    spent = 0
    for item in (0, 1):
        _, _, _, _, info = env.step(item)
        spent += int(env.item_costs[item])
        assert info["experiment_cost"] == int(env.item_costs[item])
        assert info["experiment_spent"] == spent
    _, _, _, _, info = env.step(env.test_map_action)
    assert info["experiment_cost"] == 0 and info["experiment_spent"] == spent
    assert info["compute_spent"] == info["compute_cost"] > 0


def test_pictures_say_what_they_show():
    from lifegym.viewer import caption

    env = make_raw("lifegym/LifeLike-Noisy-v1", render_mode="ansi")
    _, info = env.reset(seed=0)
    assert caption(info, 0).startswith("step 0 (reset)")
    _, _, _, _, info = env.step(0)
    text = caption(info, 1)
    assert text.startswith(f"step 1: {info['action']} (+{info['experiment_cost']:,} observed")
    assert env.render().startswith(text)  # ansi: the caption first
    assert "B3:" in env.render()
    rgb = make_raw("lifegym/LifeLike-Noisy-v1", render_mode="rgb_array")
    rgb.reset(seed=0)
    before = rgb.render()
    rgb.step(0)
    after = rgb.render()
    assert after.shape[0] >= 200 and not np.array_equal(before, after)
    # the key's three colours are drawn at the bottom
    from lifegym.viewer import KEY

    bottom = after[-20:].reshape(-1, 3)
    for colour, _ in KEY:
        assert (bottom == colour).all(axis=1).any(), colour
