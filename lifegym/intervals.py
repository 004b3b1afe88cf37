"""95% confidence intervals for benchmark summaries.

* :func:`cluster_bootstrap_interval`: the percentile bootstrap interval of a mean that
  resamples whole *clusters* (in the benchmark: hidden rules, each keeping all its
  episodes), the interval every summary reports. Seeds are nested in rules: two seeds of
  one rule share its difficulty, so they are not two independent draws, and an interval
  that resampled episodes would be too narrow whenever rules differ more than seeds do.
  For rates (``rate=True``) where the bootstrap is a point (every value 0, every value 1,
  or a single rule) it falls back to the Wilson interval with one trial per cluster;
* :func:`wilson_interval`: the Wilson score interval of a binomial proportion (it stays
  inside [0, 1] and is sensible at 0 or n successes, unlike the normal approximation);
* :func:`bootstrap_interval`: the percentile bootstrap interval of a mean of independent
  values.

Every bootstrap draws from a fixed seed, so a summary is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import numpy as np

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "Z_95",
    "bootstrap_interval",
    "cluster_bootstrap_interval",
    "wilson_interval",
]

#: The standard normal quantile of a two-sided 95% interval.
Z_95 = 1.959963984540054
#: Resamples of :func:`bootstrap_interval` and :func:`cluster_bootstrap_interval`, and the
#: seed they are drawn from.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` of ``successes`` out of ``n`` (rates in
    [0, 1]; ``(nan, nan)`` when ``n`` is 0). ``successes`` may be fractional: ``n`` times
    a rate measured on ``n`` independent units (as :func:`cluster_bootstrap_interval`
    uses it)."""
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends: no
    high = 1.0 if successes == n else min(1.0, centre + half)  # rounding past p
    return (low, high)


def _check_level(level: float) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")


def _percentiles(means: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))


def bootstrap_interval(
    values: Sequence[float],
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """The percentile bootstrap interval ``(low, high)`` of the mean of ``values``
    (``(nan, nan)`` for no values; a point for one value or identical values)."""
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {data.shape}")
    _check_level(level)
    if data.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    return _percentiles(means, level)


def cluster_bootstrap_interval(
    values: Sequence[float],
    clusters: Sequence[Hashable],
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    *,
    rate: bool = False,
) -> tuple[float, float]:
    """The percentile cluster-bootstrap interval ``(low, high)`` of the mean of ``values``.

    ``clusters[i]`` names the cluster of ``values[i]`` (in the benchmark: the hidden rule
    of an episode). Each resample draws as many clusters as there are, with replacement,
    and every drawn cluster brings all its values; the statistic is the mean of the values
    so gathered (each episode weighs the same, as in the point estimate). The resamples are
    drawn at once (no Python loop over them) from ``seed``: the same input gives the same
    interval. The interval lies within the smallest and largest cluster mean; it is a
    point for one cluster, or when every cluster has the same mean (then the data say
    nothing about how rules vary: the ``rules`` count beside it tells).

    ``rate=True`` says the values are rates in [0, 1] (0/1 outcomes, or scores). Where the
    bootstrap would be a point (every cluster has the same mean), e.g. 10 rules each
    identified on every seed, it would claim certainty: ``(1, 1)``. The interval is then
    Wilson's with ``n`` = the number of clusters and ``n`` x the rate successes
    (``[0.72, 1]`` for 10 rules of 10): seeds of one rule are not independent trials, so
    one trial per rule is the honest sample size. That covers every value 0 or every
    value 1, and a single rule (2 seeds of 3 on one rule: Wilson's of 0.67 in 1 trial,
    not the point 0.67). For values between 0 and 1 (scores) it is conservative: a
    variable in [0, 1] with mean p has a variance of at most p (1 - p), a 0/1 outcome's.

    NaN values (an episode without that metric) are left out with their cluster entry;
    ``(nan, nan)`` when no value is left.
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim != 1:
        raise ValueError(f"values must be one-dimensional, got shape {data.shape}")
    if len(clusters) != data.size:
        raise ValueError(f"got {data.size} values but {len(clusters)} cluster labels")
    _check_level(level)
    if isinstance(resamples, bool) or not isinstance(resamples, int) or resamples < 1:
        raise ValueError(f"resamples must be an int >= 1, got {resamples!r}")
    kept = ~np.isnan(data)
    data = data[kept]
    if data.size == 0:
        return (math.nan, math.nan)
    if rate and (data.min() < 0 or data.max() > 1):
        raise ValueError("rate=True needs values in [0, 1]")
    labels = [label for label, keep in zip(clusters, kept, strict=True) if keep]
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(label, len(index)) for label in labels), np.int64)
    k = len(index)
    sums = np.bincount(codes, weights=data, minlength=k)
    sizes = np.bincount(codes, minlength=k).astype(np.float64)
    cluster_means = sums / sizes
    least, most = float(cluster_means.min()), float(cluster_means.max())
    if rate and least == most:  # a point: one trial per cluster instead
        return wilson_interval(min(k * least, k), k)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, k, size=(resamples, k))
    means = sums[drawn].sum(axis=1) / sizes[drawn].sum(axis=1)
    low, high = _percentiles(means, level)
    # Sums in another order can stray past the extremes by an ulp: clip to the cluster means.
    return (min(max(low, least), most), min(max(high, least), most))
