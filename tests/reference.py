"""Independent, deliberately simple reference simulators used only by tests and benchmarks.

Nothing here imports lifegym: the point is to check lifegym.sim against code that shares
none of its implementation.

Pattern index convention (the project's): cell (r, c) of the 3x3 patch, r = 0 the north row
and c = 0 the west column, is bit ``8 - (3*r + c)`` of the index, so NW=256, N=128, NE=64,
W=32, C=16, E=8, SW=4, S=2, SE=1. A rule table is uint8[512] with table[index] = next state.
"""

from __future__ import annotations

import re

import numpy as np

BOUNDARIES = ("torus", "dead")

# (dr, dc, bit value) for every cell of the patch, in row-major order.
PATCH_OFFSETS: tuple[tuple[int, int, int], ...] = tuple(
    (r - 1, c - 1, 1 << (8 - (3 * r + c))) for r in range(3) for c in range(3)
)


def _check_boundary(boundary: str) -> None:
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {boundary!r}")


def shifted(grid: np.ndarray, dr: int, dc: int, boundary: str) -> np.ndarray:
    """Array S with S[i, j] = grid[i + dr, j + dc] (wrapped, or 0 outside for 'dead').

    Works on the last two axes, so a batch (..., H, W) is handled too.
    """
    _check_boundary(boundary)
    if boundary == "torus":
        return np.roll(grid, shift=(-dr, -dc), axis=(-2, -1))
    h, w = grid.shape[-2:]
    pad = [(0, 0)] * (grid.ndim - 2) + [(1, 1), (1, 1)]
    padded = np.pad(grid, pad, mode="constant", constant_values=0)
    return padded[..., 1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]


def pattern_index(grid: np.ndarray, boundary: str = "torus") -> np.ndarray:
    """The 9-bit neighbourhood index of every cell (int64 array of grid's shape)."""
    g = np.asarray(grid).astype(np.int64)
    index = np.zeros(g.shape, dtype=np.int64)
    for dr, dc, bit in PATCH_OFFSETS:
        index += shifted(g, dr, dc, boundary) * bit
    return index


def reference_step(grid: np.ndarray, table: np.ndarray, boundary: str = "torus") -> np.ndarray:
    """One step of the rule ``table`` (uint8[512]) on ``grid`` ((H, W) or (B, H, W), 0/1)."""
    table = np.asarray(table, dtype=np.uint8)
    if table.shape != (512,):
        raise ValueError(f"table must have shape (512,), got {table.shape}")
    return table[pattern_index(grid, boundary)].astype(np.uint8)


def reference_run(
    grid: np.ndarray, table: np.ndarray, steps: int, boundary: str = "torus"
) -> np.ndarray:
    """All frames 0..steps: shape (steps+1, H, W) for one grid, (B, steps+1, H, W) for a batch."""
    g = np.asarray(grid).astype(np.uint8)
    frames = [g]
    for _ in range(steps):
        g = reference_step(g, table, boundary)
        frames.append(g)
    return np.stack(frames, axis=-3)


# --------------------------------------------------------------------------------------
# An even more naive check for outer-totalistic rules: no pattern index, no table.
# --------------------------------------------------------------------------------------

_BS_RE = re.compile(r"^[Bb]([0-8]*)/[Ss]([0-8]*)$")


def parse_bs(rule: str) -> tuple[frozenset[int], frozenset[int]]:
    """Parse 'B3/S23' into ({3}, {2, 3}). Only the plain B/S form is accepted."""
    m = _BS_RE.match(rule.strip())
    if m is None:
        raise ValueError(f"not a B/S rule string: {rule!r}")
    born, survive = m.group(1), m.group(2)
    for digits in (born, survive):
        if len(set(digits)) != len(digits):
            raise ValueError(f"repeated digit in {rule!r}")
    return frozenset(int(d) for d in born), frozenset(int(d) for d in survive)


def bs_string(born: set[int] | frozenset[int], survive: set[int] | frozenset[int]) -> str:
    """Inverse of parse_bs: ({3}, {2, 3}) -> 'B3/S23'."""
    return "B" + "".join(map(str, sorted(born))) + "/S" + "".join(map(str, sorted(survive)))


def naive_totalistic_step(
    grid: np.ndarray, born: frozenset[int], survive: frozenset[int], boundary: str = "torus"
) -> np.ndarray:
    """Cell-by-cell Python loops: count the 8 neighbours, apply the B and S sets."""
    _check_boundary(boundary)
    g = np.asarray(grid)
    h, w = g.shape
    out = np.zeros((h, w), dtype=np.uint8)
    for i in range(h):
        for j in range(w):
            count = 0
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    if di == 0 and dj == 0:
                        continue
                    ii, jj = i + di, j + dj
                    if boundary == "torus":
                        count += int(g[ii % h, jj % w])
                    elif 0 <= ii < h and 0 <= jj < w:
                        count += int(g[ii, jj])
            alive = bool(g[i, j])
            out[i, j] = (count in survive) if alive else (count in born)
    return out


def naive_totalistic_run(
    grid: np.ndarray, rule: str, steps: int, boundary: str = "torus"
) -> np.ndarray:
    """(steps+1, H, W) frames of the B/S ``rule`` by naive_totalistic_step."""
    born, survive = parse_bs(rule)
    g = np.asarray(grid).astype(np.uint8)
    frames = [g]
    for _ in range(steps):
        g = naive_totalistic_step(g, born, survive, boundary)
        frames.append(g)
    return np.stack(frames)


def totalistic_table(born: frozenset[int], survive: frozenset[int]) -> np.ndarray:
    """uint8[512] table of a B/S rule, built straight from the bit convention."""
    table = np.zeros(512, dtype=np.uint8)
    for p in range(512):
        centre = (p >> 4) & 1
        count = bin(p & ~0b000010000).count("1")
        table[p] = (count in survive) if centre else (count in born)
    return table


# --------------------------------------------------------------------------------------
# Golly's hexagonal and von Neumann neighbourhoods: neighbour counts by shifting the grid
# (np.roll on the torus), no pattern index, no table.
# --------------------------------------------------------------------------------------

# (dr, dc) of each neighbour of cell (i, j), i.e. the cell (i + dr, j + dc); rows grow
# downwards, so dr = -1 is the row above and (-1, +1) the top-right (NE) cell.
MOORE_OFFSETS: tuple[tuple[int, int], ...] = tuple(
    (dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)
)
# Golly emulates the hexagonal grid with the Moore neighbourhood minus the top-right and
# bottom-left cells.
HEX_OFFSETS: tuple[tuple[int, int], ...] = tuple(
    o for o in MOORE_OFFSETS if o not in ((-1, 1), (1, -1))
)
VON_NEUMANN_OFFSETS: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
# Rule-string suffix -> neighbour offsets ("" is the Moore neighbourhood).
NEIGHBOURHOODS: dict[str, tuple[tuple[int, int], ...]] = {
    "": MOORE_OFFSETS,
    "H": HEX_OFFSETS,
    "V": VON_NEUMANN_OFFSETS,
}

_BS_SUFFIX_RE = re.compile(r"^[Bb]([0-9]*)/[Ss]([0-9]*)([HhVv]?)$")


def parse_bs_suffix(
    rule: str,
) -> tuple[frozenset[int], frozenset[int], tuple[tuple[int, int], ...]]:
    """Parse 'B2/S34H' into ({2}, {3, 4}, HEX_OFFSETS); 'V' gives VON_NEUMANN_OFFSETS and
    no suffix MOORE_OFFSETS. Only the plain 'B.../S...' form (with an optional suffix)."""
    m = _BS_SUFFIX_RE.match(rule.strip())
    if m is None:
        raise ValueError(f"not a B/S rule string with an optional H/V suffix: {rule!r}")
    offsets = NEIGHBOURHOODS[m.group(3).upper()]
    sets = []
    for digits in (m.group(1), m.group(2)):
        if len(set(digits)) != len(digits):
            raise ValueError(f"repeated digit in {rule!r}")
        if any(int(d) > len(offsets) for d in digits):
            raise ValueError(f"count above {len(offsets)} in {rule!r}")
        sets.append(frozenset(int(d) for d in digits))
    return sets[0], sets[1], offsets


def neighbour_count(
    grid: np.ndarray, offsets: tuple[tuple[int, int], ...], boundary: str = "torus"
) -> np.ndarray:
    """Live neighbours of every cell among ``offsets`` (int64, grid's shape; batches too)."""
    g = np.asarray(grid).astype(np.int64)
    count = np.zeros(g.shape, dtype=np.int64)
    for dr, dc in offsets:
        count += shifted(g, dr, dc, boundary)
    return count


def neighbourhood_step(
    grid: np.ndarray,
    born: frozenset[int],
    survive: frozenset[int],
    offsets: tuple[tuple[int, int], ...],
    boundary: str = "torus",
) -> np.ndarray:
    """One step of the outer-totalistic rule (born, survive) on the neighbourhood ``offsets``."""
    g = np.asarray(grid)
    count = neighbour_count(g, offsets, boundary)
    births = np.isin(count, sorted(born))
    survivals = np.isin(count, sorted(survive))
    return np.where(g == 1, survivals, births).astype(np.uint8)


def neighbourhood_run(
    grid: np.ndarray, rule: str, steps: int, boundary: str = "torus"
) -> np.ndarray:
    """All frames 0..steps of a 'B.../S...[H|V]' rule: (steps+1, H, W), or (B, steps+1, H, W)."""
    born, survive, offsets = parse_bs_suffix(rule)
    g = np.asarray(grid).astype(np.uint8)
    frames = [g]
    for _ in range(steps):
        g = neighbourhood_step(g, born, survive, offsets, boundary)
        frames.append(g)
    return np.stack(frames, axis=-3)
