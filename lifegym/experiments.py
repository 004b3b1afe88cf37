"""The menu of experiments: initial conditions the experimenter may set, each run for some steps.

Three kinds of :class:`Experiment`:

* ``soup``: every cell of the world alive with probability ``density``;
* ``patch``: a ``patch`` x ``patch`` soup at ``density`` in the middle of an empty world
  (sparse conditions exercise the low neighbour counts);
* ``pattern``: one of ``PATTERNS`` (single cell, domino, blinker, glider, R-pentomino, ...)
  in the middle of an empty world.

:func:`default_menu` is the menu the env offers unless given another; :func:`initial_condition`
draws one initial condition from a ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DEFAULT_DENSITIES",
    "DEFAULT_WORLD",
    "PATTERNS",
    "Experiment",
    "default_menu",
    "initial_condition",
]

#: Default world (height, width): not a power of two, so parity rules do not die out.
DEFAULT_WORLD = (60, 60)
#: Densities of the default whole-world soups.
DEFAULT_DENSITIES = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)

_KINDS = ("soup", "patch", "pattern")


def _cells(*rows: str) -> np.ndarray:
    array = np.array([[c == "o" for c in row] for row in rows], dtype=np.uint8)
    array.setflags(write=False)
    return array


#: Named small patterns (rows of ``o`` alive and ``.`` dead).
PATTERNS: dict[str, np.ndarray] = {
    "cell": _cells("o"),
    "domino": _cells("oo"),
    "diagonal": _cells("o.", ".o"),
    "blinker": _cells("ooo"),
    "block": _cells("oo", "oo"),
    "glider": _cells(".o.", "..o", "ooo"),
    "r-pentomino": _cells(".oo", "oo.", ".o."),
    "plus": _cells(".o.", "ooo", ".o."),
}


@dataclass(frozen=True)
class Experiment:
    """One menu item.

    Attributes:
        name: unique label in its menu, e.g. ``"soup-0.50x16"``.
        kind: ``"soup"``, ``"patch"`` or ``"pattern"``.
        steps: number of steps the world is run (>= 1).
        density: live-cell probability of a soup or patch.
        patch: side of the patch (kind ``"patch"``).
        pattern: key of ``PATTERNS`` (kind ``"pattern"``).
    """

    name: str
    kind: str
    steps: int
    density: float = 0.5
    patch: int = 8
    pattern: str = ""

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"experiment kind must be one of {_KINDS}, got {self.kind!r}")
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise ValueError(f"experiment steps must be an int >= 1, got {self.steps!r}")
        number = isinstance(self.density, int | float | np.integer | np.floating)
        if isinstance(self.density, bool) or not number or not 0.0 <= self.density <= 1.0:
            raise ValueError(f"experiment density must be a number in [0, 1], got {self.density!r}")
        patch_ok = isinstance(self.patch, int | np.integer) and not isinstance(self.patch, bool)
        if not patch_ok or self.patch < 1:
            raise ValueError(f"patch side must be an int >= 1, got {self.patch!r}")
        if self.kind == "pattern" and self.pattern not in PATTERNS:
            raise ValueError(
                f"unknown pattern {self.pattern!r}; known patterns: {', '.join(PATTERNS)}"
            )

    def check_world(self, height: int, width: int) -> None:
        """Raise ValueError when the initial condition does not fit in the world."""
        if self.kind == "patch" and (self.patch > height or self.patch > width):
            raise ValueError(
                f"experiment {self.name!r}: patch {self.patch} does not fit in the "
                f"{height}x{width} world"
            )
        if self.kind == "pattern":
            ph, pw = PATTERNS[self.pattern].shape
            if ph > height or pw > width:
                raise ValueError(
                    f"experiment {self.name!r}: pattern {self.pattern} ({ph}x{pw}) does not "
                    f"fit in the {height}x{width} world"
                )


def default_menu(
    densities: Sequence[float] = DEFAULT_DENSITIES,
    soup_steps: Sequence[int] = (2, 16),
    patch_densities: Sequence[float] = (0.25, 0.5, 0.75),
    patch: int = 8,
    patterns: Sequence[str] = tuple(PATTERNS),
    pattern_steps: int = 16,
) -> tuple[Experiment, ...]:
    """Whole-world soups at each density for each of ``soup_steps``, patch soups and patterns."""
    menu = [
        Experiment(f"soup-{d:.2f}x{s}", "soup", s, density=float(d))
        for s in soup_steps
        for d in densities
    ]
    menu += [
        Experiment(f"patch{patch}-{d:.2f}x{pattern_steps}", "patch", pattern_steps, float(d), patch)
        for d in patch_densities
    ]
    menu += [
        Experiment(f"{name}x{pattern_steps}", "pattern", pattern_steps, pattern=name)
        for name in patterns
    ]
    return tuple(menu)


def initial_condition(
    experiment: Experiment, shape: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """A fresh initial condition (uint8 (H, W)) for ``experiment`` in a world of ``shape``."""
    height, width = shape
    experiment.check_world(height, width)
    if experiment.kind == "soup":
        return (rng.random(shape) < experiment.density).astype(np.uint8)
    world = np.zeros(shape, dtype=np.uint8)
    if experiment.kind == "patch":
        block = rng.random((experiment.patch, experiment.patch)) < experiment.density
        block = block.astype(np.uint8)
    else:
        block = PATTERNS[experiment.pattern]
    top = (height - block.shape[0]) // 2
    left = (width - block.shape[1]) // 2
    world[top : top + block.shape[0], left : left + block.shape[1]] = block
    return world
