"""Confidence intervals of the benchmark summary (lifegym.intervals)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifegym.intervals import bootstrap_interval, wilson_interval


@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_holds_the_rate_inside_zero_one(case: tuple[int, int]) -> None:
    successes, n = case
    low, high = wilson_interval(successes, n)
    assert 0.0 <= low <= successes / n <= high <= 1.0
    assert low < high  # never a point, not even at 0 or n successes


def test_wilson_matches_known_values() -> None:
    # 20 successes of 20: the normal approximation gives [1, 1]; Wilson does not.
    assert wilson_interval(20, 20)[0] == pytest.approx(0.8389, abs=1e-4)
    assert wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(5, 3)


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=60))
def test_bootstrap_lies_between_the_extremes_and_is_reproducible(values: list[float]) -> None:
    low, high = bootstrap_interval(values)
    assert min(values) - 1e-6 <= low <= high <= max(values) + 1e-6
    assert bootstrap_interval(values) == (low, high)


def test_bootstrap_covers_the_mean_of_a_known_distribution() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(200):
        sample = rng.exponential(100.0, size=40)
        low, high = bootstrap_interval(sample, seed=int(rng.integers(1 << 31)))
        covered += low <= 100.0 <= high
    assert 0.88 <= covered / 200 <= 0.99  # about 95% (the percentile method runs a bit low)
    assert bootstrap_interval([5.0, 5.0]) == (5.0, 5.0)
    assert all(math.isnan(v) for v in bootstrap_interval([]))
