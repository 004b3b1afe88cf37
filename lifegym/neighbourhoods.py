"""The 3x3 neighbourhood: pattern indices, cells, symmetry groups, orbits and Hensel classes.

The geometry every rule family is built from (:mod:`lifegym.families`) and every rule
notation reads (:mod:`lifegym.notation`).

Pattern index convention
========================
Everything in lifegym that touches a 3x3 neighbourhood uses this one convention.

A 3x3 neighbourhood (a *pattern*) is an integer ``p`` in ``[0, 512)``. Cell ``(r, c)`` of the
patch (``r = 0`` is the north row, ``c = 0`` the west column) is bit ``8 - (3*r + c)`` of ``p``::

    NW=256  N=128  NE=64
    W=32    C=16   E=8
    SW=4    S=2    SE=1

Read the patch row-major from the north-west corner, most significant bit first. A *rule table*
is a ``uint8[512]`` array: ``table[p]`` is the centre cell's next state (0 or 1) when its
neighbourhood is ``p``. The centre is bit 16, so ``p & 16`` is the cell's own state and the
live-neighbour count is ``popcount(p & 0x1EF)``.

This is exactly the order of Golly's ``MAP`` rules (Golly's help, Algorithms/QuickLife: cells 0..8
row-major, cell 0 the most significant bit; LifeWiki's "MAP" page draws the same weights), so a
``MAP`` string is the table read from ``table[0]`` to ``table[511]``, six bits per base64
character, most significant bit first: 86 characters, the last four bits zero, without the
optional ``==`` padding.

Hensel classes
==============
The Hensel letters (which configuration each letter names) were transcribed from Golly's source
(gollybase/liferules.cpp) and checked against the picture table in Golly's help (hensel.png,
the same table LifeWiki's "Isotropic non-totalistic rule" page draws).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = [
    "CENTRE",
    "COMPASS",
    "HENSEL_CLASSES",
    "HENSEL_LETTERS",
    "HEX_CELLS",
    "N_PATTERNS",
    "OUTER_MASK",
    "RING_CELLS",
    "VON_NEUMANN_CELLS",
    "cell_bit",
    "hensel_pattern",
    "patch_to_pattern",
    "pattern_orbits",
    "pattern_to_patch",
    "symmetry_group",
    "transform_patterns",
]

N_PATTERNS = 512

# --------------------------------------------------------------------------------------------
# Cells and patterns
# --------------------------------------------------------------------------------------------


def cell_bit(row: int, col: int) -> int:
    """The bit of cell ``(row, col)`` of the 3x3 patch in a pattern index (see module doc)."""
    if not (0 <= row < 3 and 0 <= col < 3):
        raise ValueError(f"cell ({row}, {col}) is outside the 3x3 patch")
    return 1 << (8 - (3 * row + col))


COMPASS: Mapping[str, int] = MappingProxyType(
    {
        name: cell_bit(*divmod(k, 3))
        for k, name in enumerate(("NW", "N", "NE", "W", "C", "E", "SW", "S", "SE"))
    }
)
"""Compass name of each cell -> its bit (``C`` is the centre)."""

CENTRE: int = COMPASS["C"]
OUTER_MASK: int = (N_PATTERNS - 1) & ~CENTRE
RING_CELLS: tuple[int, ...] = tuple(
    COMPASS[n] for n in ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
)
"""Bits of the 8 outer cells, clockwise from north (the cycle the ``ring`` family shifts)."""
HEX_CELLS: tuple[int, ...] = tuple(COMPASS[n] for n in ("N", "E", "SE", "S", "W", "NW"))
"""Bits of Golly's 6 hexagonal neighbours, clockwise from north: the outer cells but NE, SW."""
VON_NEUMANN_CELLS: tuple[int, ...] = tuple(COMPASS[n] for n in ("N", "E", "S", "W"))
"""Bits of the 4 von Neumann (orthogonal) neighbours, clockwise from north."""

_PATTERNS = np.arange(N_PATTERNS)
# _PATTERN_CELLS[p, k] = state of cell k = 3*r + c in pattern p.
_PATTERN_CELLS = ((_PATTERNS[:, None] >> (8 - np.arange(9))) & 1).astype(np.uint8)
_CELL_WEIGHTS = 1 << (8 - np.arange(9))


def pattern_to_patch(pattern: int) -> np.ndarray:
    """The 3x3 ``uint8`` patch of a pattern index."""
    if not 0 <= pattern < N_PATTERNS:
        raise ValueError(f"pattern index {pattern} is outside [0, 512)")
    return _PATTERN_CELLS[pattern].reshape(3, 3).copy()


def patch_to_pattern(patch: Any) -> int:
    """The pattern index of a 3x3 patch of 0/1 values (the inverse of :func:`pattern_to_patch`)."""
    arr = np.asarray(patch)
    if arr.shape != (3, 3):
        raise ValueError(f"a patch has shape (3, 3), got {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("patch values must be 0 or 1")
    return int(arr.reshape(9).astype(np.int64) @ _CELL_WEIGHTS)


def _frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only copy whose WRITEABLE flag cannot be switched back on (it wraps bytes)."""
    arr = np.ascontiguousarray(arr)
    return np.frombuffer(arr.tobytes(), dtype=arr.dtype).reshape(arr.shape)


# --------------------------------------------------------------------------------------------
# Symmetry groups acting on the 3x3 patch
# --------------------------------------------------------------------------------------------
# A transformation is a permutation ``perm`` of the 9 cell positions k = 3*r + c meaning
# ``out.flat[k] = in.flat[perm[k]]``.

_IDENTITY = tuple(range(9))
# Rotate the patch 90 degrees clockwise: out[r][c] = in[2 - c][r].
_ROTATE_90 = tuple(3 * (2 - c) + r for r, c in (divmod(k, 3) for k in range(9)))
# Mirror left-right: out[r][c] = in[r][2 - c].
_MIRROR = tuple(3 * r + (2 - c) for r, c in (divmod(k, 3) for k in range(9)))
_RING_POSITIONS = (1, 2, 5, 8, 7, 6, 3, 0)  # N, NE, E, SE, S, SW, W, NW as k = 3*r + c


def _ring_shift() -> tuple[int, ...]:
    """Shift the outer ring one step (45 degrees) clockwise; the centre stays."""
    perm = list(_IDENTITY)
    for i, k in enumerate(_RING_POSITIONS):
        perm[k] = _RING_POSITIONS[i - 1]
    return tuple(perm)


_GROUP_GENERATORS: Mapping[str, tuple[tuple[int, ...], ...]] = MappingProxyType(
    {
        "C1": (),
        "C4": (_ROTATE_90,),
        "D4": (_ROTATE_90, _MIRROR),
        "C8": (_ring_shift(),),
        "D8": (_ring_shift(), _MIRROR),
    }
)


def _compose(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """The permutation 'apply b, then a'."""
    return tuple(b[a[k]] for k in range(9))


@functools.cache
def symmetry_group(name: str) -> np.ndarray:
    """All elements of a symmetry group of the 3x3 patch as cell permutations.

    ``name`` is ``"C1"`` (identity), ``"C4"`` (90-degree rotations), ``"D4"`` (rotations and
    reflections), ``"C8"`` (cyclic shifts of the outer ring) or ``"D8"`` (ring shifts and
    reflections). Returns a read-only ``int8`` array of shape ``(order, 9)``, identity first;
    row ``g`` maps a patch ``x`` (flattened row-major) to ``x.flat[g]``.
    """
    if name not in _GROUP_GENERATORS:
        raise ValueError(
            f"unknown symmetry group {name!r}; expected one of {list(_GROUP_GENERATORS)}"
        )
    elements = {_IDENTITY}
    frontier = [_IDENTITY]
    while frontier:
        g = frontier.pop()
        for gen in _GROUP_GENERATORS[name]:
            h = _compose(gen, g)
            if h not in elements:
                elements.add(h)
                frontier.append(h)
    ordered = [_IDENTITY, *sorted(elements - {_IDENTITY})]
    return _frozen(np.array(ordered, dtype=np.int8))


def transform_patterns(perm: Iterable[int]) -> np.ndarray:
    """The image of every pattern under a cell permutation (``out.flat[k] = in.flat[perm[k]]``).

    Returns ``int16[512]``: entry ``p`` is the pattern index of the transformed patch of ``p``.
    """
    perm_arr = np.asarray(list(perm), dtype=np.int64)
    if sorted(perm_arr.tolist()) != list(range(9)):
        raise ValueError(f"not a permutation of the 9 cells: {perm_arr.tolist()}")
    return (_PATTERN_CELLS[:, perm_arr].astype(np.int64) @ _CELL_WEIGHTS).astype(np.int16)


@functools.cache
def pattern_orbits(group: str) -> np.ndarray:
    """For each pattern, the smallest pattern index in its orbit under ``group``.

    ``group`` as in :func:`symmetry_group`. Read-only ``int16[512]``; the number of distinct
    values is the number of orbits (C1 512, C4 140, D4 102, C8 72, D8 60).
    """
    images = np.stack([transform_patterns(g) for g in symmetry_group(group)])
    return _frozen(images.min(axis=0).astype(np.int16))


# --------------------------------------------------------------------------------------------
# Hensel letters
# --------------------------------------------------------------------------------------------

HENSEL_LETTERS: Mapping[int, str] = MappingProxyType(
    {
        0: "",
        1: "ce",
        2: "cekain",
        3: "cekainyqjr",
        4: "cekainyqjrtwz",
        5: "cekainyqjr",
        6: "cekain",
        7: "ce",
        8: "",
    }
)
"""Valid letters per live-neighbour count, in Hensel order."""

# One representative set of live outer cells for each count 1-4 and letter, up to D4.
# Transcribed from Golly's gollybase/liferules.cpp (its per-count neighbourhood tables);
# counts 5-7 are the complements: letter x at count n is x at count 8 - n with the outer
# cells inverted.
_HENSEL_REPRESENTATIVES: Mapping[str, str] = MappingProxyType(
    {
        "1c": "SE",
        "1e": "S",
        "2c": "SW SE",
        "2e": "E S",
        "2k": "W SE",
        "2a": "S SE",
        "2i": "W E",
        "2n": "NE SW",
        "3c": "NE SW SE",
        "3e": "W E S",
        "3k": "NE W S",
        "3a": "E S SE",
        "3i": "SW S SE",
        "3n": "E SW SE",
        "3y": "NE W SE",
        "3q": "NE SW S",
        "3j": "E SW S",
        "3r": "W E SE",
        "4c": "NW NE SW SE",
        "4e": "N W E S",
        "4k": "NE W S SE",
        "4a": "E SW S SE",
        "4i": "W E SW SE",
        "4n": "NE SW S SE",
        "4y": "NE W SW SE",
        "4q": "NE W SW S",
        "4j": "NE W E S",
        "4r": "W E S SE",
        "4t": "NE W E SE",
        "4w": "NE E SW S",
        "4z": "NE W E SW",
    }
)

HENSEL_CLASSES: tuple[tuple[int, str], ...] = tuple(
    item
    for n in range(9)
    for item in ([(n, "")] if not HENSEL_LETTERS[n] else [(n, x) for x in HENSEL_LETTERS[n]])
)
"""The 51 (count, letter) classes per centre state in Hensel bit order; letter ``""`` for 0, 8."""

_HENSEL_INDEX: Mapping[tuple[int, str], int] = MappingProxyType(
    {cls: i for i, cls in enumerate(HENSEL_CLASSES)}
)


def hensel_pattern(count: int, letter: str = "") -> int:
    """A representative pattern (centre dead) of Hensel class ``count`` + ``letter``.

    ``letter`` is ``""`` for counts 0 and 8. Every pattern of the class is a rotation or
    reflection of this one; add :data:`CENTRE` for the survival class.
    """
    if (count, letter) not in _HENSEL_INDEX:
        valid = HENSEL_LETTERS.get(count) if isinstance(count, int) else None
        raise ValueError(
            f"no Hensel class {count}{letter!s}: counts are 0-8, valid letters for count "
            f"{count}: {valid!r}"
        )
    if count == 0:
        return 0
    if count == 8:
        return OUTER_MASK
    if count > 4:
        return OUTER_MASK ^ hensel_pattern(8 - count, letter)
    return sum(COMPASS[name] for name in _HENSEL_REPRESENTATIVES[f"{count}{letter}"].split())
