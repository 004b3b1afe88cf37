"""Example hidden rules per family, for tests parametrised over the whole registry, and
an experiment as the experimenter sees it."""

from __future__ import annotations

import numpy as np

from lifegym.observe import ObservationModel, observe
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
    times, frames, stats = observe(
        model, simulate(rule, initial, steps), np.random.default_rng(seed)
    )
    return VisibleTrajectory("custom", initial, steps, times, frames, stats, model, 0)
