"""The menu of experiments: initial conditions the experimenter may set, each run for some steps.

An experiment is a world (a torus of ``height`` x ``width`` cells), an initial condition and a
number of steps. Four kinds of :class:`Experiment`:

* ``soup``: every cell of the world alive with probability ``density``;
* ``patch``: a ``patch`` x ``patch`` soup at ``density`` in the middle of an empty world
  (sparse conditions exercise the low neighbour counts);
* ``pattern``: one of ``PATTERNS`` (single cell, domino, blinker, glider, R-pentomino, ...)
  in the middle of an empty world;
* ``design``: a fixed initial condition given cell by cell (``cells``); the v1 menus'
  *probes* are designs (:func:`lifegym.design.probe_cells`).

An item's ``world`` is the size of the torus it runs on; ``None`` means the env's world (the
largest it allows). :func:`default_menu` is the v0 menu (every item on the env's world);
:func:`sized_menu` the v1 menu (soups on several world sizes, and a probe per free bit);
:func:`initial_condition` draws one initial condition from a ``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lifegym.design import probe_cells
from lifegym.families import RuleFamily

__all__ = [
    "DEFAULT_DENSITIES",
    "DEFAULT_WORLD",
    "MENU_SIDES",
    "PATTERNS",
    "PROBE_SIDE",
    "Experiment",
    "default_menu",
    "draw_soup",
    "initial_condition",
    "probe_menu",
    "sized_menu",
    "world_sizes",
]

#: Default world (height, width): not a power of two, so parity rules do not die out.
DEFAULT_WORLD = (60, 60)
#: Densities of the default whole-world soups.
DEFAULT_DENSITIES = (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)

#: Square world sides the v1 menu offers below the env's world (clipped to it).
MENU_SIDES = (8, 16, 32)
#: Side of the v1 probes' worlds (raised to the observation window when that is larger).
PROBE_SIDE = 6

_KINDS = ("soup", "patch", "pattern", "design")


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
        name: unique label in its menu, e.g. ``"soup-0.50x16"``, ``"soup-0.50x1@16x16"``.
        kind: ``"soup"``, ``"patch"``, ``"pattern"`` or ``"design"``.
        steps: number of steps the world is run (>= 1).
        density: live-cell probability of a soup or patch.
        patch: side of the patch (kind ``"patch"``).
        pattern: key of ``PATTERNS`` (kind ``"pattern"``).
        world: (height, width) of the torus it runs on, or None for the env's world.
        cells: uint8 (height, width) initial condition (kind ``"design"``; read-only).
    """

    name: str
    kind: str
    steps: int
    density: float = 0.5
    patch: int = 8
    pattern: str = ""
    world: tuple[int, int] | None = None
    cells: np.ndarray | None = field(default=None, compare=False, repr=False)

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
        if self.world is not None:
            ok = (
                isinstance(self.world, tuple | list)
                and len(self.world) == 2
                and all(
                    isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 3
                    for v in self.world
                )
            )
            if not ok:
                raise ValueError(
                    f"experiment world must be (height, width) with integers >= 3, "
                    f"got {self.world!r}"
                )
            object.__setattr__(self, "world", (int(self.world[0]), int(self.world[1])))
        if self.kind == "design":
            cells = np.array(self.cells, dtype=np.uint8) if self.cells is not None else None
            if cells is None or cells.ndim != 2 or ((cells != 0) & (cells != 1)).any():
                raise ValueError(
                    f"experiment {self.name!r}: a design needs cells, a 2-D array of 0/1"
                )
            if self.world is not None and cells.shape != self.world:
                raise ValueError(
                    f"experiment {self.name!r}: cells {cells.shape} differ from world {self.world}"
                )
            cells.setflags(write=False)
            object.__setattr__(self, "cells", cells)
            object.__setattr__(self, "world", (int(cells.shape[0]), int(cells.shape[1])))
        elif self.cells is not None:
            raise ValueError(f"experiment {self.name!r}: only a design has cells")

    def shape_in(self, world: tuple[int, int]) -> tuple[int, int]:
        """The (height, width) this item runs on in an env whose world is ``world``."""
        return self.world if self.world is not None else (int(world[0]), int(world[1]))

    def check_world(self, height: int, width: int) -> None:
        """Raise ValueError when the initial condition does not fit in the world."""
        if self.world is not None and self.world != (height, width):
            raise ValueError(
                f"experiment {self.name!r} runs on a {self.world[0]}x{self.world[1]} world, "
                f"not {height}x{width}"
            )
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


def world_sizes(
    world: tuple[int, int], smallest: tuple[int, int] = (3, 3), sides: Sequence[int] = MENU_SIDES
) -> tuple[tuple[int, int], ...]:
    """The world sizes of a v1 menu, smallest first: squares of ``sides`` clipped to ``world``
    and raised to ``smallest`` (e.g. an observation window), then ``world`` itself."""
    height, width = world
    sizes = {
        (max(min(side, height), smallest[0]), max(min(side, width), smallest[1])) for side in sides
    }
    sizes.add((int(height), int(width)))
    return tuple(sorted(sizes, key=lambda s: (s[0] * s[1], s)))


def probe_menu(
    family: RuleFamily,
    bits: Sequence[int] | np.ndarray,
    steps: int,
    shape: tuple[int, int],
    bit_names: Sequence[str],
) -> tuple[Experiment, ...]:
    """One ``design`` item per family bit of ``bits``: its probe (:func:`probe_cells`) on a
    torus of ``shape``, run ``steps`` steps, named ``probe-<bit name>``."""
    return tuple(
        Experiment(
            f"probe-{name}", "design", steps, world=shape, cells=probe_cells(family, bit, shape)
        )
        for bit, name in zip(bits, bit_names, strict=True)
    )


def sized_menu(
    world: tuple[int, int],
    smallest: tuple[int, int] = (3, 3),
    densities: Sequence[float] = DEFAULT_DENSITIES,
    soup_steps: Sequence[int] = (1, 16),
    sides: Sequence[int] = MENU_SIDES,
) -> tuple[Experiment, ...]:
    """Soups at each density for each of ``soup_steps`` on each of :func:`world_sizes`, named
    ``soup-<density>x<steps>@<height>x<width>`` (the v1 menu without its probes)."""
    return tuple(
        Experiment(f"soup-{d:.2f}x{s}@{h}x{w}", "soup", s, density=float(d), world=(h, w))
        for h, w in world_sizes(world, smallest, sides)
        for s in soup_steps
        for d in densities
    )


def draw_soup(rng: np.random.Generator, density: float, out: np.ndarray) -> np.ndarray:
    """Fill the bool array ``out`` with a soup: each cell alive with probability
    ``density``, one uniform draw per cell in ``out``'s order (what every soup of an
    episode draws, in the single env's lab and in the native vector env alike)."""
    return np.less(rng.random(out.shape), density, out=out)


def initial_condition(
    experiment: Experiment, shape: tuple[int, int], rng: np.random.Generator | None
) -> np.ndarray:
    """A fresh initial condition (uint8 (H, W)) for ``experiment`` in a world of ``shape``
    (``experiment.shape_in(env_world)``); a design's is a copy of its cells. ``rng`` may be
    None for the kinds that draw nothing (designs and patterns)."""
    height, width = shape
    experiment.check_world(height, width)
    if experiment.kind == "design":
        return np.array(experiment.cells, dtype=np.uint8)
    if experiment.kind == "soup":
        assert rng is not None  # a soup is drawn
        return draw_soup(rng, experiment.density, np.empty(shape, dtype=bool)).view(np.uint8)
    world = np.zeros(shape, dtype=np.uint8)
    if experiment.kind == "patch":
        assert rng is not None  # a patch is drawn
        block = rng.random((experiment.patch, experiment.patch)) < experiment.density
        block = block.astype(np.uint8)
    else:
        block = PATTERNS[experiment.pattern]
    top = (height - block.shape[0]) // 2
    left = (width - block.shape[1]) // 2
    world[top : top + block.shape[0], left : left + block.shape[1]] = block
    return world
