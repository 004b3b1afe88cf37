"""What an experiment may be, checked in one place: its world, its steps, the budgets.

The env (its designed experiments), the ``Lab`` (every experiment it runs) and the text
protocol ask :class:`ExperimentLimits`; each check raises a ValueError naming the bad
value and what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lifegym.observe import ObservationModel

__all__ = ["ExperimentLimits", "check_budget", "fewest_in_words"]


def check_budget(value: object, name: str) -> int:
    """A budget ``name`` (cell-steps) as an int >= 0, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an int >= 0 (cell-steps), got {value!r}")
    return int(value)


@dataclass(frozen=True)
class ExperimentLimits:
    """The worlds and lengths experiments may have: worlds from the model's
    ``smallest_world`` up to ``world``, steps from its ``fewest_steps`` (fewer show nothing)
    up to ``max_steps`` (None: no limit)."""

    model: ObservationModel
    world: tuple[int, int]
    max_steps: int | None = None

    @property
    def smallest_world(self) -> tuple[int, int]:
        return self.model.smallest_world

    def check_shape(self, shape: tuple[int, ...], what: str = "world") -> None:
        """ValueError naming ``shape`` (``what``) and the limits unless an experiment may
        run on it."""
        low, high = self.smallest_world, self.world
        if not (low[0] <= shape[0] <= high[0] and low[1] <= shape[1] <= high[1]):
            cropped = low != (3, 3) or self.model.window is not None
            why = " (the observation window must fit)" if cropped else ""
            raise ValueError(
                f"{what} {shape[0]}x{shape[1]} is outside the allowed sizes: height "
                f"{low[0]}..{high[0]}, width {low[1]}..{high[1]}{why}"
            )

    def check_steps(self, steps: object, what: str = "steps") -> int:
        """``steps`` as an int, or ValueError naming it (``what``) and the allowed range."""
        fewest = self.model.fewest_steps
        high = self.max_steps
        allowed = f"{fewest}..{high}" if high is not None else f">= {fewest}"
        if (
            isinstance(steps, bool)
            or not isinstance(steps, int | np.integer)
            or steps < fewest
            or (high is not None and steps > high)
        ):
            why = (
                f" (fewer than {fewest_in_words(self.model)} would show nothing)"
                if fewest > 1
                else ""
            )
            raise ValueError(f"{what} must be an int in {allowed}{why}, got {steps!r}")
        return int(steps)


def fewest_in_words(model: ObservationModel) -> str:
    """``model.fewest_steps`` in words: "the stride k" where the stride sets it."""
    fewest = model.fewest_steps
    return f"the stride {fewest}" if fewest == model.stride else str(fewest)
