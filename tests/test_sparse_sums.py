"""The sparse replays of numpy's sums (lifegym.inference.sparse_sums) give numpy's bits.

The exhaustive engine's posterior depends on it: its marginals, entropy and counts must be
the floats the dense computation over 2^18 weights gives, or the released presets' episodes
would change in their last bits. The references here are numpy itself, on the dense array.
"""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lifegym  # noqa: F401  (registers the ids)
from lifegym.inference import sparse_sums
from lifegym.inference.exhaustive import ExhaustiveEngine, map_index


def sparse_array(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray]:
    n_bits = draw(st.integers(1, 18))
    n = 1 << n_bits
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    count = draw(st.integers(0, min(n, 3000)))
    positions = np.sort(rng.choice(n, size=count, replace=False)).astype(np.int64)
    # magnitudes spread over 60 orders, so the order of the additions shows in the bits
    values = np.exp(rng.normal(size=count) * draw(st.sampled_from([0.1, 5.0, 30.0])))
    return n_bits, positions, values


@st.composite
def sparse_arrays(draw: st.DrawFn) -> tuple[int, np.ndarray, np.ndarray]:
    return sparse_array(draw)


def dense(n_bits: int, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    array = np.zeros(1 << n_bits)
    array[positions] = values
    return array


@settings(max_examples=60, deadline=None)
@given(sparse_arrays())
def test_pairwise_sum_is_numpys_sum(case: tuple[int, np.ndarray, np.ndarray]) -> None:
    n_bits, positions, values = case
    expected = dense(n_bits, positions, values).sum()
    assert sparse_sums.pairwise_sum(positions, values, 1 << n_bits) == expected


@settings(max_examples=60, deadline=None)
@given(sparse_arrays())
def test_bit_half_sums_are_numpys_sums(case: tuple[int, np.ndarray, np.ndarray]) -> None:
    n_bits, positions, values = case
    weights = dense(n_bits, positions, values)
    zeros, ones = sparse_sums.bit_half_sums(positions, values, n_bits, sparse_sums.NUMPY_BUFFER)
    for i in range(n_bits):
        halves = weights.reshape(-1, 2, 1 << i)
        assert zeros[i] == halves[:, 0, :].sum(), (i, "zeros")
        assert ones[i] == halves[:, 1, :].sum(), (i, "ones")


def test_sums_of_every_size_and_sparsity() -> None:
    """Dense-ish arrays too (every block has nonzeros), and every small length."""
    rng = np.random.default_rng(3)
    for n in [*range(1, 300), 1000, 4099, 1 << 15]:
        for fill in (0.02, 0.5, 1.0):
            positions = np.flatnonzero(rng.random(n) < fill).astype(np.int64)
            values = np.exp(rng.normal(size=len(positions)) * 30)
            array = np.zeros(n)
            array[positions] = values
            assert sparse_sums.pairwise_sum(positions, values, n) == array.sum(), (n, fill)


def test_posterior_support() -> None:
    rng = np.random.default_rng(0)
    loglik = rng.normal(size=1 << 12) * 400
    exact = rng.random(1 << 12) < 0.7
    best, support = sparse_sums.posterior_support(loglik, exact, 800.0)
    assert best == np.where(exact, loglik, -np.inf).max()
    np.testing.assert_array_equal(support, np.flatnonzero(exact & (loglik >= best - 800.0)))
    best, support = sparse_sums.posterior_support(loglik, np.zeros(1 << 12, bool), 800.0)
    assert best == -np.inf and len(support) == 0


def dense_posterior(engine: ExhaustiveEngine) -> tuple[np.ndarray, float, int, int]:
    """The posterior as the engine computed it before it went sparse: numpy over the dense
    weights of every rule (marginals, entropy, consistent count, MAP index)."""
    scores = engine.scores
    values = np.where(scores.exact, scores.loglik, -np.inf)
    best = float(values.max())
    weights = np.exp(values - best)
    total = float(weights.sum())
    p_one = np.empty(engine.space.n_free)
    for i in range(engine.space.n_free):
        halves = weights.reshape(-1, 2, 1 << i)
        ones = float(halves[:, 1, :].sum())
        p_one[i] = ones / (float(halves[:, 0, :].sum()) + ones)
    nz = weights > 0
    log_w = scores.loglik[nz] - best
    entropy = math.log2(total) - float(weights[nz] @ log_w) / total / math.log(2)
    n_consistent = int((values >= best - math.log(1e6)).sum())
    return p_one, max(0.0, entropy), n_consistent, map_index(values, engine._quiescent_bit)


@pytest.mark.parametrize(
    "env_id",
    ["lifegym/LifeLike-Strided-v1", "lifegym/LifeLike-Stats-v1", "lifegym/LifeLike-Strided-v0"],
)
def test_engine_posterior_equals_the_dense_one(env_id: str) -> None:
    """Random valid actions on the exhaustive presets: after every step the engine's belief
    is, bit for bit, the dense computation's (both branches: many and few live rules)."""
    env = gym.make(env_id)
    rng = np.random.default_rng(5)
    branches = set()
    for seed in (1, 2):
        _, info = env.reset(seed=seed)
        for _ in range(12):
            engine = env.unwrapped._engine
            belief = engine.belief()
            if np.isfinite(engine.scores.loglik[engine.scores.exact].max()):
                p_one, entropy, n_consistent, map_rule = dense_posterior(engine)
                np.testing.assert_array_equal(belief.p_one, p_one)
                assert belief.entropy == entropy
                assert belief.n_consistent == n_consistent
                assert belief.map_rule == engine.rule(map_rule)
                live = int((engine.scores.posterior_support()[2] > 0).sum())
                branches.add(live * 16 > engine.scores.n_rules)
            action = rng.choice(np.flatnonzero(info["action_mask"]))
            _, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
    assert branches == {True, False}
