"""Designed initial conditions: a grid whose 3x3 neighbourhoods show what you want seen.

A cell's next state is the rule's output for its 3x3 neighbourhood, so one step of an
initial condition shows the rule's output for every neighbourhood pattern the grid holds
(in the observed region). A *design* is a grid chosen so that the patterns of chosen rule
bits (classes) occur as often as wanted: ``demand[c]`` sightings of class ``c``.

:func:`design_cells` finds one by simulated annealing over single-cell flips (one numba
kernel; a flip changes the patterns of the 9 cells around it, so a move costs 9 lookups).
It maximises the *covered demand* ``sum_c weight[c] * min(count[c], demand[c])`` and
returns the best grid seen. :func:`class_counts` counts what a grid shows.
:func:`probe_cells` is the design the v1 menus offer per free bit: as many sightings of one
class as a small world can hold, built from a fixed seed so every env offers the same probe.

Pattern indices follow ``lifegym.neighbourhoods`` (cell (r, c) of the patch is bit
``8 - (3r + c)``); grids are tori, at least 3x3.
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
from numba import njit

from lifegym.families import RuleFamily, get_family
from lifegym.neighbourhoods import N_PATTERNS

__all__ = ["class_counts", "covered_demand", "design_cells", "probe_cells"]


@njit(cache=True, nogil=True)
def _patterns(grid, out):
    """``out[r, c]`` = the 3x3 pattern index of cell (r, c) of the torus ``grid``."""
    height, width = grid.shape
    for r in range(height):
        for c in range(width):
            p = 0
            for dr in range(-1, 2):
                for dc in range(-1, 2):
                    p = (p << 1) | grid[(r + dr) % height, (c + dc) % width]
            out[r, c] = p


@njit(cache=True, nogil=True)
def _class_counts(grid, classes, n_classes, rows, cols):
    counts = np.zeros(n_classes, dtype=np.int64)
    patterns = np.empty(grid.shape, dtype=np.int64)
    _patterns(grid, patterns)
    for r in range(rows):
        for c in range(cols):
            k = classes[patterns[r, c]]
            if k >= 0:
                counts[k] += 1
    return counts


@njit(cache=True, nogil=True)
def _gain(count, demand, weight, step):
    """Change of ``weight * min(count, demand)`` when ``count`` moves by ``step`` (+-1)."""
    before = count if count < demand else demand
    after = count + step
    after = after if after < demand else demand
    return weight * (after - before)


@njit(cache=True, nogil=True)
def _anneal(grid, classes, demand, weight, rows, cols, moves, t_start, t_end, rng):
    """Simulated annealing on ``grid`` (modified in place, left at the best state seen);
    ``rng`` is a ``numpy.random.Generator`` (numba draws from it as numpy would)."""
    height, width = grid.shape
    n_classes = demand.shape[0]
    patterns = np.empty((height, width), dtype=np.int64)
    _patterns(grid, patterns)
    counts = np.zeros(n_classes, dtype=np.int64)
    for r in range(rows):
        for c in range(cols):
            k = classes[patterns[r, c]]
            if k >= 0:
                counts[k] += 1
    score = 0.0
    for k in range(n_classes):
        score += weight[k] * min(counts[k], demand[k])
    best = grid.copy()
    best_score = score
    ratio = t_end / t_start
    touched_r = np.empty(9, dtype=np.int64)
    touched_c = np.empty(9, dtype=np.int64)
    touched_bit = np.empty(9, dtype=np.int64)
    for move in range(moves):
        temperature = t_start * ratio ** (move / moves)
        r = rng.integers(0, height)
        c = rng.integers(0, width)
        delta = 0.0
        n = 0
        # The flipped cell sits at offset (-dr, -dc) in the patch of cell (r + dr, c + dc).
        for dr in range(-1, 2):
            for dc in range(-1, 2):
                rr = (r + dr) % height
                cc = (c + dc) % width
                bit = 1 << (8 - (3 * (1 - dr) + (1 - dc)))
                touched_r[n] = rr
                touched_c[n] = cc
                touched_bit[n] = bit
                n += 1
                old = patterns[rr, cc]
                new = old ^ bit
                patterns[rr, cc] = new
                if rr < rows and cc < cols:
                    k_old = classes[old]
                    k_new = classes[new]
                    if k_old != k_new:
                        if k_old >= 0:
                            delta += _gain(counts[k_old], demand[k_old], weight[k_old], -1)
                            counts[k_old] -= 1
                        if k_new >= 0:
                            delta += _gain(counts[k_new], demand[k_new], weight[k_new], 1)
                            counts[k_new] += 1
        if delta >= 0.0 or rng.random() < np.exp(delta / temperature):
            grid[r, c] ^= 1
            score += delta
            if score > best_score + 1e-12:
                best_score = score
                best[:, :] = grid
        else:  # undo
            for i in range(9):
                rr = touched_r[i]
                cc = touched_c[i]
                new = patterns[rr, cc]
                old = new ^ touched_bit[i]
                patterns[rr, cc] = old
                if rr < rows and cc < cols:
                    k_old = classes[old]
                    k_new = classes[new]
                    if k_old != k_new:
                        if k_old >= 0:
                            counts[k_old] += 1
                        if k_new >= 0:
                            counts[k_new] -= 1
    grid[:, :] = best
    return best_score


def _check_shape(shape: tuple[int, ...]) -> tuple[int, int]:
    ok = len(shape) == 2 and all(isinstance(v, int | np.integer) and v >= 3 for v in shape)
    if not ok:
        raise ValueError(
            f"a design's shape must be (height, width) with integers >= 3, got {shape!r}"
        )
    return int(shape[0]), int(shape[1])


def _check_classes(classes: np.ndarray, n_classes: int) -> np.ndarray:
    classes = np.asarray(classes, dtype=np.int64)
    if classes.shape != (N_PATTERNS,):
        raise ValueError(f"classes must have one entry per pattern (512,), got {classes.shape}")
    if classes.max() >= n_classes or classes.min() < -1:
        raise ValueError(f"classes must lie in -1..{n_classes - 1} (-1: not counted)")
    return np.ascontiguousarray(classes)


def _region(shape: tuple[int, int], region: tuple[int, int] | None) -> tuple[int, int]:
    if region is None:
        return shape
    rows, cols = int(region[0]), int(region[1])
    if not (1 <= rows <= shape[0] and 1 <= cols <= shape[1]):
        raise ValueError(f"region {region!r} must fit in the grid {shape}")
    return rows, cols


def class_counts(
    cells: np.ndarray,
    classes: np.ndarray,
    n_classes: int,
    region: tuple[int, int] | None = None,
) -> np.ndarray:
    """int64 (n_classes,): how many cells of ``region`` (top-left rows x cols, default the
    whole torus ``cells``) have a 3x3 pattern of each class (``classes[p]``, -1 uncounted)."""
    grid = np.ascontiguousarray(cells, dtype=np.uint8)
    rows, cols = _region(_check_shape(grid.shape), region)
    return _class_counts(grid, _check_classes(classes, n_classes), n_classes, rows, cols)


def covered_demand(
    counts: np.ndarray, demand: np.ndarray, weight: np.ndarray | None = None
) -> float:
    """``sum_c weight[c] * min(counts[c], demand[c])``: what :func:`design_cells` maximises."""
    demand = np.asarray(demand, dtype=np.float64)
    weight = np.ones_like(demand) if weight is None else np.asarray(weight, dtype=np.float64)
    return float((weight * np.minimum(counts, demand)).sum())


def design_cells(
    classes: np.ndarray,
    demand: np.ndarray,
    shape: tuple[int, int],
    rng: np.random.Generator,
    *,
    weight: np.ndarray | None = None,
    region: tuple[int, int] | None = None,
    sweeps: int = 60,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """A grid (uint8 ``shape``) whose patterns in ``region`` cover ``demand``.

    Args:
        classes: int (512,): the class of each pattern, -1 for patterns that count for nothing.
        demand: float (n_classes,): sightings wanted per class.
        shape: (height, width) of the torus, each >= 3.
        rng: the only source of randomness (the start grid and the annealing seed).
        weight: float (n_classes,): value of one sighting of each class (default 1).
        region: the counted top-left (rows, cols) (an observation window), default all.
        sweeps: annealing moves per cell.
        start: initial grid (default: a random soup at density 0.5).
    """
    height, width = _check_shape(shape)
    demand = np.ascontiguousarray(demand, dtype=np.float64)
    n_classes = len(demand)
    classes = _check_classes(classes, n_classes)
    weight = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if weight.shape != demand.shape:
        raise ValueError(f"weight must have demand's shape {demand.shape}, got {weight.shape}")
    rows, cols = _region((height, width), region)
    if start is None:
        grid = (rng.random((height, width)) < 0.5).astype(np.uint8)
    else:
        grid = np.array(start, dtype=np.uint8)
        if grid.shape != (height, width):
            raise ValueError(f"start must have shape {(height, width)}, got {grid.shape}")
    scale = float(weight.max()) if n_classes and weight.max() > 0 else 1.0
    moves = max(1, int(sweeps) * height * width)
    _anneal(
        grid,
        classes,
        demand,
        np.ascontiguousarray(weight),
        rows,
        cols,
        moves,
        0.6 * scale,
        0.02 * scale,
        np.random.default_rng(rng.integers(2**63)),  # the kernel's own stream, from rng
    )
    return grid


def _probe_seed(family: RuleFamily, bit: int, shape: tuple[int, int]) -> int:
    return zlib.crc32(f"probe:{family.name}:{bit}:{shape[0]}x{shape[1]}".encode())


@functools.lru_cache(maxsize=4096)
def _probe(family_name: str, bit: int, shape: tuple[int, int]) -> np.ndarray:
    family = get_family(family_name)
    target = (np.asarray(family.orbit_of) == bit).astype(np.int64) - 1  # 0 for bit, else -1
    rng = np.random.default_rng(_probe_seed(family, bit, shape))
    demand = np.array([float(shape[0] * shape[1])])
    best: tuple[int, np.ndarray] | None = None
    for _ in range(3):
        grid = design_cells(target, demand, shape, rng, sweeps=80)
        count = class_counts(grid, target, 1)[0]
        if best is None or count > best[0]:
            best = (count, grid)
    assert best is not None  # the loop ran
    cells = best[1]
    cells.setflags(write=False)
    return cells


def probe_cells(family: str | RuleFamily, bit: int, shape: tuple[int, int]) -> np.ndarray:
    """The probe of family bit ``bit``: a read-only uint8 grid of ``shape`` holding as many
    cells whose 3x3 pattern lies in the bit's orbit as annealing finds (deterministic: the
    same arguments give the same grid in every process)."""
    family = get_family(family)
    if not 0 <= int(bit) < family.n_bits:
        raise ValueError(f"bit must be in 0..{family.n_bits - 1} for {family.name}, got {bit!r}")
    return _probe(family.name, int(bit), _check_shape(tuple(shape)))
