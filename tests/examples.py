"""Example hidden rules per family, for tests parametrised over the whole registry, an
experiment as the experimenter sees it, and one deep equality of episodes' outputs."""

from __future__ import annotations

from typing import Any

import numpy as np

from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.sim import simulate
from lifegym.types import VisibleTrajectory

#: Three rules of each family whose presets exist (Moore-neighbourhood B/S strings lie in
#: totalistic, isotropic and free alike; hex and von Neumann rules need their own).
_BY_FAMILY = {
    "hex": ["B2/S34H", "B245/S3H", "B/SH"],
    "vonneumann": ["B2/S3V", "B13/S012V", "B/SV"],
}
_MOORE = ["B36/S23", "B3/S23", "B2/S"]


def family_rules(family: str) -> list[str]:
    """Three rule strings that lie in ``family``."""
    return _BY_FAMILY.get(str(family), _MOORE)


def first_rule(family: str) -> str:
    """One rule of ``family`` (``B36/S23`` where it lies in it)."""
    return family_rules(family)[0]


def seen(
    rule: Rule, initial: np.ndarray, steps: int, model: ObservationModel, seed: int = 0
) -> VisibleTrajectory:
    """``rule`` run from ``initial`` for ``steps`` steps, seen through ``model`` (its noise
    drawn from ``seed``), as a visible trajectory."""
    times, frames, stats = model.observe(
        simulate(rule, initial, steps), np.random.default_rng(seed)
    )
    return VisibleTrajectory("custom", initial, steps, times, frames, stats, model, 0)


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Equal values of equal types, arrays of equal dtype and shape, NaN equal to NaN."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (path, set(a) ^ set(b))
        for key in a:
            assert_same(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, tuple | list):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray) and a.dtype == object:
        assert isinstance(b, np.ndarray) and a.shape == b.shape, path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), path
        assert (a.dtype, a.shape) == (b.dtype, b.shape), (path, a.dtype, b.dtype)
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), path
    elif isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), path
    else:
        assert type(a) is type(b) and a == b, (path, a, b)
