"""One ``identified`` for every engine: class probabilities, observational classes in the
result, and a reference that reaches it (issue: the measuring stick)."""

from __future__ import annotations

import itertools

import gymnasium as gym
import numpy as np
import pytest
from examples import seen
from hypothesis import given, settings
from hypothesis import strategies as st

import lifegym  # noqa: F401
from lifegym.agents import make_agent, run_episode
from lifegym.equivalence import complement
from lifegym.inference.base import (
    independent_class_probability,
    union_bound_class_probability,
)
from lifegym.inference.exact import ExactEngine
from lifegym.inference.exhaustive import ExhaustiveEngine
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.scoring import IDENTIFIED_DELTA, SCORE_VERSION
from lifegym.types import RuleSpace


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 5),
    st.integers(0, 2**32 - 1),
)
def test_boole_bound_never_exceeds_the_probability_of_any_joint_law(n_bits: int, seed: int):
    """The default class probability (per-bit marginals only) is a lower bound whatever the
    bits' joint law: checked against random joint laws over all 2^n rules."""
    rng = np.random.default_rng(seed)
    rules = np.array(list(itertools.product((0, 1), repeat=n_bits)), dtype=np.uint8)
    law = rng.dirichlet(np.full(len(rules), 0.3))
    p_one = law @ rules
    members = rules[rng.choice(len(rules), size=rng.integers(1, 3), replace=False)]
    truth = sum(law[np.flatnonzero((rules == m).all(axis=1))[0]] for m in members)
    bound = union_bound_class_probability(p_one, list(members))
    assert bound <= truth + 1e-12
    # under independence the product is the probability itself, and the bound below it
    product = independent_class_probability(p_one, list(members))
    assert bound <= product + 1e-12 and 0.0 <= product <= 1.0


def test_exact_engine_class_probability_is_the_product_of_its_marginals() -> None:
    space = RuleSpace.of("totalistic")
    model = ObservationModel(noise=0.05)
    soup = (np.random.default_rng(3).random((16, 16)) < 0.4).astype(np.uint8)
    engine = ExactEngine(space, model)
    engine.update(seen(Rule.parse("B3/S23"), soup, 2, model))
    belief = engine.belief()
    chance = np.where(space.free_values(belief.map_rule) == 1, belief.p_one, 1 - belief.p_one)
    assert belief.map_probability == pytest.approx(float(np.prod(chance)), rel=1e-12)
    assert engine.class_probability([belief.map_rule]) == belief.map_probability


def test_exhaustive_class_probability_is_the_posterior_mass_of_the_class() -> None:
    """Under stride 2 a self-complementary rule and its complement share all the mass the
    data give them; the engine's class probability is their normalised posterior weight."""
    life_like = Rule.parse("B3678/S34678")  # Day & Night, self-complementary
    known = {i: int(b) for i, b in enumerate(life_like.bits) if i not in (3, 4, 6, 12, 13)}
    space = RuleSpace.of("totalistic", known)
    model = ObservationModel(noise=0.01, stride=2)
    assert not space.contains(complement(life_like))  # known bits: the pair is split
    full = RuleSpace.of("totalistic")
    engine = ExhaustiveEngine(full, model, prune=False)
    soup = (np.random.default_rng(1).random((12, 12)) < 0.5).astype(np.uint8)
    engine.update(seen(life_like, soup, 4, model))
    loglik = engine.loglik
    weights = np.exp(loglik - loglik.max())
    pair = [life_like, complement(life_like)]
    expected = weights[[engine.index_of(r) for r in pair]].sum() / weights.sum()
    assert engine.class_probability(pair) == pytest.approx(expected, rel=1e-9)
    assert engine.class_probability(pair[:1]) == pytest.approx(expected / 2, rel=1e-6)
    small = ExhaustiveEngine(space, model, prune=False)
    small.update(seen(life_like, soup, 4, model))
    assert small.class_probability([life_like]) == small.belief().map_probability


def test_day_and_night_is_identified_on_strided_by_an_agent_that_settles_its_class() -> None:
    env = gym.make("lifegym/LifeLike-Strided-v1")
    day_and_night = Rule.parse("B3678/S34678")
    row = run_episode(env, make_agent("oracle", env), str(day_and_night), seed=0)
    assert row["identified"] and row["exact"] and row["submitted_by"] == "agent"
    assert row["equivalent_rules"] == [str(complement(day_and_night))]
    assert row["class_probability"] >= 1 - IDENTIFIED_DELTA
    assert row["score_version"] == SCORE_VERSION
    # the complement is the same class: submitting it scores the same
    other = env.unwrapped.score(complement(day_and_night))
    assert other.exact and other.identified and other.bits_correct == 1.0
    assert other.class_probability == row["class_probability"]
    # a rule that is not self-complementary has no twin: its complement is wrong
    env.reset(seed=1, options={"rule": "B3/S23"})
    result = env.unwrapped.score(complement(Rule.parse("B3/S23")))
    assert not result.exact and not result.identified and result.equivalent_rules == []


@pytest.mark.parametrize("rule", ["B0458/S578", "B2/S", "B3678/S34678", "B1357/S02468"])
def test_the_reference_no_longer_loops_on_strided(rule: str) -> None:
    """Rules on which the v1 reference asked for the same probe until truncation."""
    env = gym.make("lifegym/LifeLike-Strided-v1")
    row = run_episode(env, make_agent("oracle", env), rule, seed=2)
    assert row["identified"] and row["submitted_by"] == "agent"
    assert row["steps"] <= 20 and row["experiment_cost"] < 2000


def test_identified_is_one_rule_on_every_engine() -> None:
    """The same definition on the engines that compute, count or bound: a row is
    identified exactly when it is exact, no bit is undetermined and the engine's class
    probability reaches 1 - delta; rows carry the tolerance and the score version."""
    rows = []
    for inference in ("exact", "exhaustive", "search"):
        env = gym.make("lifegym/LifeLike-Noisy-v1", inference=inference)
        for agent in ("oracle", "random"):
            rows.append(run_episode(env, make_agent(agent, env), "B36/S23", seed=5))
    for row in rows:
        settled = row["class_probability"] >= 1 - row["identified_delta"]
        assert row["identified"] == (row["exact"] and not row["n_undetermined"] and settled)
        assert row["identified_delta"] == IDENTIFIED_DELTA
        assert 0.0 <= row["agent_cpu_s"]
    assert all(r["identified"] for r in rows if r["agent"] == "oracle")
