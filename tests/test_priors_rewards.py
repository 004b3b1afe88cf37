"""Hidden-rule priors, reward functions and the registration table in the README."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lifegym  # noqa: F401  (registers the ids)
from lifegym.generator import FixedPrior, ListPrior, UniformPrior, make_prior
from lifegym.registration import PRESETS
from lifegym.reward import InfoGainReward, StepOutcome, StepOutcomes, TerminalReward, make_reward
from lifegym.rules import NAMED_RULES, Rule
from lifegym.types import RuleSpace

ROOT = Path(__file__).resolve().parent.parent


def test_uniform_prior_respects_known_bits_and_is_deterministic() -> None:
    space = RuleSpace.of("totalistic", {"B0": 0, "S8": 1})
    prior = make_prior("uniform", space)
    assert isinstance(prior, UniformPrior)
    rules = [prior.sample(np.random.default_rng(seed)) for seed in range(40)]
    assert all(space.contains(r) for r in rules)
    assert len(set(rules)) > 30
    again = [prior.sample(np.random.default_rng(seed)) for seed in range(40)]
    assert rules == again


def test_named_prior_holds_the_named_rules_of_the_family_once_each() -> None:
    prior = make_prior("named", RuleSpace.of("totalistic"))
    assert isinstance(prior, ListPrior)
    totalistic = {
        Rule(Rule.parse(t).table, "totalistic")
        for t in NAMED_RULES.values()
        if Rule.parse(t).family == "totalistic"
    }
    assert set(prior.rules) == totalistic
    assert len(prior.rules) == len(totalistic)
    isotropic = make_prior("named", RuleSpace.of("isotropic"))
    assert Rule.parse("B2-a/S12") in isotropic.rules


def test_list_and_fixed_priors() -> None:
    space = RuleSpace.of("totalistic")
    prior = make_prior(["B3/S23", "B36/S23"], space)
    drawn = {str(prior.sample(np.random.default_rng(s))) for s in range(30)}
    assert drawn == {"B3/S23", "B36/S23"}
    fixed = make_prior(Rule.parse("B2/S"), space)
    assert isinstance(fixed, FixedPrior)
    assert str(fixed.sample(np.random.default_rng(0))) == "B2/S"


@pytest.mark.parametrize(
    ("prior", "message"),
    [
        ("unifrom", "unknown prior 'unifrom'"),
        ([], "empty list"),
        (["B2-a/S12"], "not in the rule space"),
        (["B3/S23x"], "B3/S23x"),
    ],
)
def test_bad_priors_name_the_problem(prior: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_prior(prior, RuleSpace.of("totalistic"))  # type: ignore[arg-type]


def test_known_bit_conflicting_with_a_listed_rule_is_refused() -> None:
    space = RuleSpace.of("totalistic", {"B3": 0})
    with pytest.raises(ValueError, match="not in the rule space"):
        FixedPrior(space, "B3/S23")


def _outcome(**changes: object) -> StepOutcome:
    base = {
        "entropy_before": 10.0,
        "entropy_after": 4.0,
        "experiment_cost": 100,
        "compute_cost": 0,
        "experiment_budget": 1000,
        "compute_budget": 1000,
    }
    base.update(changes)
    return StepOutcome(**base)  # type: ignore[arg-type]


def test_info_gain_reward_is_entropy_drop_minus_budget_fractions() -> None:
    reward = make_reward("info_gain")
    assert isinstance(reward, InfoGainReward)
    value = reward(_outcome(compute_cost=500))
    assert isinstance(value, float)
    assert value == pytest.approx(6.0 - 0.1 - 0.5)
    assert reward(_outcome(rejected=True, experiment_cost=0)) == pytest.approx(6.0 - 0.1)


def test_terminal_reward_pays_only_at_the_end() -> None:
    reward = make_reward("terminal")
    assert isinstance(reward, TerminalReward)
    assert reward(_outcome()) == pytest.approx(-0.1)
    assert reward(_outcome(finished=True, exact=True, experiment_cost=0)) == pytest.approx(1.0)
    partial = _outcome(finished=True, bits_correct=0.75, experiment_cost=0)
    assert reward(partial) == pytest.approx(0.75)
    weighted = TerminalReward(experiment_weight=2.0)
    assert weighted(_outcome()) == pytest.approx(-0.2)


def test_identified_bonus_is_paid_once_at_an_identified_end() -> None:
    for kind in (InfoGainReward, TerminalReward):
        plain, bonus = kind(), kind(identified_bonus=4.0)
        for changes in (
            {},
            {"finished": True, "exact": True},
            {"identified": True},  # not finished: no bonus
            {"finished": True, "exact": True, "identified": True},
        ):
            paid = 4.0 if changes.get("finished") and changes.get("identified") else 0.0
            outcome = _outcome(**changes)
            assert bonus(outcome) == pytest.approx(plain(outcome) + paid), (kind, changes)
    with pytest.raises(ValueError, match="identified_bonus"):
        InfoGainReward(identified_bonus=-1)


def test_envs_pay_the_identified_bonus_of_their_results() -> None:
    """The single env and the native vector env pass the result's ``identified`` on."""
    from lifegym.agents import make_agent

    rewards = {}
    for bonus in (0.0, 3.0):
        env = gym.make("lifegym/LifeLike-Noisy-v1", reward=InfoGainReward(identified_bonus=bonus))
        vector = gym.make_vec(
            "lifegym/LifeLike-Noisy-v1", 1, reward=InfoGainReward(identified_bonus=bonus)
        )
        agent = make_agent("infogain", env)
        agent.reset(0)
        obs, info = env.reset(seed=4)
        vector.reset(seed=4)
        got, vector_got = [], []
        done = False
        while not done:
            action = agent.act(obs, info, info["action_mask"])
            obs, reward, terminated, truncated, info = env.step(action)
            vector_reward = vector.step(np.array([action]))[1]
            got.append(reward)
            vector_got.append(float(vector_reward[0]))
            done = terminated or truncated
        assert info["result"]["identified"]
        assert got == vector_got
        rewards[bonus] = got
    assert rewards[3.0][:-1] == rewards[0.0][:-1]
    assert rewards[3.0][-1] == pytest.approx(rewards[0.0][-1] + 3.0)


weights = st.floats(0.0, 1e4, allow_nan=False)


@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(0, 40),
    budgets=st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
    reward_weights=st.tuples(weights, weights, weights, weights),
)
@settings(max_examples=80, deadline=None)
def test_batched_rewards_are_the_step_rewards_float_for_float(
    seed: int, size: int, budgets: tuple[int, int], reward_weights: tuple[float, ...]
) -> None:
    rng = np.random.default_rng(seed)
    flags = rng.random((5, size)) < 0.5
    outcomes = StepOutcomes(
        entropy_before=rng.random(size) * 18,
        entropy_after=rng.random(size) * 18,
        experiment_cost=rng.integers(0, 10**5, size),
        compute_cost=rng.integers(0, 10**5, size),
        experiment_budget=budgets[0],
        compute_budget=budgets[1],
        rejected=flags[0],
        finished=flags[1],
        exact=flags[2] & flags[1],
        bits_correct=rng.random(size),
        identified=flags[3] & flags[2] & flags[1],
    )

    class Doubled(InfoGainReward):  # overrides the step reward only: batched step by step
        def __call__(self, outcome: StepOutcome) -> float:
            return 2.0 * super().__call__(outcome)

    for kind in (InfoGainReward, TerminalReward, Doubled):
        reward = kind(*reward_weights)
        batched = reward.batch(outcomes)
        stepwise = np.array([reward(outcome) for outcome in outcomes], dtype=np.float64)
        assert batched.dtype == np.float64 and batched.shape == (size,)
        assert np.array_equal(batched.view(np.int64), stepwise.view(np.int64)), kind


@pytest.mark.parametrize("bad", ["infogain", 3, None])
def test_unknown_reward_names_the_choices(bad: object) -> None:
    with pytest.raises(ValueError, match="info_gain, terminal"):
        make_reward(bad)  # type: ignore[arg-type]


def test_negative_weight_is_refused() -> None:
    with pytest.raises(ValueError, match="experiment_weight"):
        InfoGainReward(experiment_weight=-1)


@pytest.mark.parametrize("doc", ["README.md", "docs/environments.md"])
def test_docs_list_every_preset(doc: str) -> None:
    text = (ROOT / doc).read_text()
    for env_id, (_, what) in PRESETS.items():
        assert f"`{env_id}`" in text, env_id
        assert what in text, env_id
