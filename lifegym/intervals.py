"""95% confidence intervals for benchmark summaries: Wilson for rates, bootstrap for means.

* :func:`wilson_interval`: the Wilson score interval of a binomial proportion (it stays
  inside [0, 1] and is sensible at 0 or n successes, unlike the normal approximation);
* :func:`bootstrap_interval`: the percentile bootstrap interval of a mean, from a fixed
  seed so a summary is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["BOOTSTRAP_RESAMPLES", "BOOTSTRAP_SEED", "Z_95", "bootstrap_interval", "wilson_interval"]

#: The standard normal quantile of a two-sided 95% interval.
Z_95 = 1.959963984540054
#: Resamples of :func:`bootstrap_interval`, and the seed they are drawn from.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` of ``successes`` out of ``n`` (rates in
    [0, 1]; ``(nan, nan)`` when ``n`` is 0)."""
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
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if data.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return (float(low), float(high))
