"""Confidence intervals of the benchmark summary (lifegym.intervals)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifegym.intervals import bootstrap_interval, cluster_bootstrap_interval, wilson_interval


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


# ------------------------------------------------------------------ cluster bootstrap

#: Episodes as (cluster, value): up to 12 clusters of up to 6 values each.
clustered = st.lists(st.tuples(st.integers(0, 11), st.floats(0, 1e6)), min_size=1, max_size=60)


@given(clustered)
def test_cluster_bootstrap_lies_between_the_cluster_means_and_is_reproducible(
    episodes: list[tuple[int, float]],
) -> None:
    clusters = [c for c, _ in episodes]
    values = [v for _, v in episodes]
    low, high = cluster_bootstrap_interval(values, clusters)
    means = [np.mean([v for c, v in episodes if c == k]) for k in set(clusters)]
    assert min(means) <= low <= high <= max(means)
    assert cluster_bootstrap_interval(values, clusters) == (low, high)
    if len(set(clusters)) == 1:
        assert low == high == pytest.approx(np.mean(values))


@given(st.lists(st.integers(0, 1), min_size=1, max_size=40), st.integers(1, 10))
def test_cluster_bootstrap_of_a_rate_stays_in_zero_one(outcomes: list[int], size: int) -> None:
    clusters = [i // size for i in range(len(outcomes))]  # clusters of `size` episodes
    low, high = cluster_bootstrap_interval(outcomes, clusters, rate=True)
    assert 0.0 <= low <= high <= 1.0
    means = [np.mean(outcomes[k * size : (k + 1) * size]) for k in set(clusters)]
    if min(means) < max(means):  # the rules differ: the bootstrap speaks
        assert min(means) <= low <= high <= max(means)
    else:  # it would be a point: Wilson's, one trial per rule
        assert (low, high) == pytest.approx(wilson_interval(len(means) * means[0], len(means)))
        assert low < high


def test_a_rate_of_all_successes_or_failures_falls_back_to_wilson_per_cluster() -> None:
    # 10 rules x 3 seeds, every episode a success: not certainty, and 10 trials, not 30.
    clusters = [rule for rule in range(10) for _ in range(3)]
    assert cluster_bootstrap_interval([1] * 30, clusters, rate=True) == wilson_interval(10, 10)
    assert cluster_bootstrap_interval([0] * 30, clusters, rate=True) == wilson_interval(0, 10)
    assert cluster_bootstrap_interval([1.0] * 30, clusters, rate=True)[0] < 0.75
    # One rule: the widest honest interval from one trial, whatever its seeds say.
    assert cluster_bootstrap_interval([1, 1, 1], ["B3/S23"] * 3, rate=True) == wilson_interval(1, 1)
    low, high = cluster_bootstrap_interval([1, 1, 0], ["B3/S23"] * 3, rate=True)
    assert (low, high) == wilson_interval(2 / 3, 1) and low < 0.2 and high > 0.95
    # Not a rate: all-equal values are a point (a cost of 0 is 0).
    assert cluster_bootstrap_interval([0.0] * 30, clusters) == (0.0, 0.0)
    # A mixed rate is bootstrapped: one rule of two always fails.
    low, high = cluster_bootstrap_interval([1, 1, 0, 0], ["a", "a", "b", "b"], rate=True)
    assert (low, high) == (0.0, 1.0)


def test_singleton_clusters_give_the_iid_bootstrap() -> None:
    values = np.random.default_rng(3).exponential(10.0, size=25)
    clustered_interval = cluster_bootstrap_interval(values, list(range(25)))
    assert clustered_interval == pytest.approx(bootstrap_interval(values), rel=1e-12)


def test_correlated_seeds_widen_the_interval() -> None:
    # 10 rules, 5 seeds each; the rule decides the value (seeds barely differ). The i.i.d.
    # bootstrap counts 50 draws where there are 10 and is about sqrt(5) too narrow.
    rng = np.random.default_rng(7)
    rule_effect = rng.normal(0.0, 1.0, size=10)
    clusters = [rule for rule in range(10) for _ in range(5)]
    values = rule_effect[clusters] + rng.normal(0.0, 0.05, size=50)
    low, high = cluster_bootstrap_interval(values, clusters)
    iid_low, iid_high = bootstrap_interval(values)
    assert high - low > 1.8 * (iid_high - iid_low)
    assert low <= np.mean(values) <= high


def test_cluster_bootstrap_covers_the_mean_where_the_iid_one_does_not() -> None:
    rng = np.random.default_rng(11)
    clusters = [rule for rule in range(20) for _ in range(5)]
    covered = {"cluster": 0, "iid": 0}
    for _ in range(200):
        values = rng.normal(0.0, 1.0, size=20)[clusters] + rng.normal(0.0, 0.3, size=100)
        low, high = cluster_bootstrap_interval(values, clusters, seed=int(rng.integers(1 << 31)))
        covered["cluster"] += low <= 0.0 <= high
        low, high = bootstrap_interval(values, seed=int(rng.integers(1 << 31)))
        covered["iid"] += low <= 0.0 <= high
    assert covered["cluster"] / 200 >= 0.86  # about 95% (percentile, 20 clusters: a bit low)
    assert covered["iid"] / 200 <= 0.75


def test_cluster_bootstrap_edges() -> None:
    assert all(math.isnan(v) for v in cluster_bootstrap_interval([], []))
    # NaN values (episodes without the metric) are left out with their cluster entry.
    assert cluster_bootstrap_interval([math.nan, 4.0, 4.0], ["a", "b", "b"]) == (4.0, 4.0)
    assert all(math.isnan(v) for v in cluster_bootstrap_interval([math.nan], ["a"]))
    with pytest.raises(ValueError, match="cluster labels"):
        cluster_bootstrap_interval([1.0, 2.0], ["a"])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        cluster_bootstrap_interval([2.0], ["a"], rate=True)
    with pytest.raises(ValueError, match="level"):
        cluster_bootstrap_interval([1.0], ["a"], level=1.0)
    with pytest.raises(ValueError, match="resamples"):
        cluster_bootstrap_interval([1.0], ["a"], resamples=0)
    values = np.random.default_rng(5).normal(size=40)  # the seed picks the resamples
    clusters = [i // 4 for i in range(40)]
    one, other = (cluster_bootstrap_interval(values, clusters, seed=s) for s in (1, 2))
    assert one != other and one == pytest.approx(other, abs=0.2)
