"""Rules of Life-like cellular automata: rule families, rule tables and rule notations.

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

Rule families
=============
A family is a set of rules that are invariant under a symmetry: the 512 patterns split into
orbits and a rule of the family is a table that is constant on every orbit. Each orbit is one
*free bit* of the family; ``RuleFamily.orbit_of[p]`` is the free-bit index of pattern ``p``.

==========  ====  ========  ==========================================================
family      bits  notation  a rule may depend on (besides the cell's own state)
==========  ====  ========  ==========================================================
vonneumann  10    B/S...V   the number of live cells among N, E, S, W (Golly's ``V``)
hex         14    B/S...H   the number of live cells among the 6 hexagonal neighbours
totalistic  18    B/S       the number of live neighbours ("outer-totalistic")
ring        72    MAP       the 8 outer cells up to cyclic shift (C8 acting on the ring)
isotropic   102   Hensel    the neighbourhood up to rotation and reflection (D4)
rotation    140   MAP       the neighbourhood up to 90-degree rotation (C4)
free        512   MAP       the whole 3x3 pattern
==========  ====  ========  ==========================================================

``hex`` and ``vonneumann`` are Golly's outer-totalistic rules on smaller neighbourhoods, embedded
in the 3x3 block as Golly does. The hexagonal neighbourhood is the Moore one without the NE and
SW cells (rows grow downwards, so the NE cell of ``(y, x)`` is ``(y - 1, x + 1)``)::

    NW  N  .          .  N  .
    W   C  E          W  C  E
    .   S  SE         .  S  .
    hex (6 cells)     vonneumann (4 cells)

The cells marked ``.`` do not matter: a rule of these families is a 512-entry table like any
other, constant on each set of patterns with the same centre and the same count.

Inclusions: totalistic < ring < rotation < free, totalistic < isotropic < rotation,
vonneumann < isotropic and hex < free. A hex table is symmetric under the 180-degree rotation
and the two diagonal reflections (the ones that swap or fix NE and SW), not under the
90-degree rotation, so hex lies in neither rotation nor ring; vonneumann is not in ring (a
ring shift moves N to NE) and neither of hex, vonneumann, totalistic contains another.

Bit order inside each family:

* ``totalistic``: bit ``n`` (0..8) is birth with ``n`` live neighbours (centre dead), bit
  ``9 + n`` survival with ``n``. Bit names ``B0``..``B8``, ``S0``..``S8``.
* ``hex`` and ``vonneumann`` likewise with counts of their own neighbourhoods: ``B0``..``B6``,
  ``S0``..``S6`` (14 bits) and ``B0``..``B4``, ``S0``..``S4`` (10 bits).
* ``isotropic``: Hensel order. The 51 birth classes ``0, 1c, 1e, 2c, 2e, 2k, 2a, 2i, 2n, 3c, 3e,
  3k, 3a, 3i, 3n, 3y, 3q, 3j, 3r, 4c, 4e, 4k, 4a, 4i, 4n, 4y, 4q, 4j, 4r, 4t, 4w, 4z, 5c .. 5r (as
  3), 6c .. 6n (as 2), 7c, 7e, 8``, then the same 51 for survival. Bit names ``B0``, ``B1c``, ...,
  ``S8``.
* ``ring`` and ``rotation``: orbits with a dead centre first, then those with a live centre; within
  each half by the orbit's smallest pattern index. Bit name ``"B:"`` or ``"S:"`` followed by that
  smallest pattern index as three hex digits, e.g. ``"B:007"``.
* ``free``: bit ``i`` is ``table[i]`` (pattern order, *not* centre-first); bit name as for ring.

Notations
=========
``Rule.parse`` accepts (whitespace around the string is ignored, letters in any case):

* B/S: ``B3/S23``, ``B/S`` (empty sets), ``S23/B3``, Golly's ``b3s23``;
* MCell S/B: ``23/3`` (digits only);
* Hensel isotropic: ``B2-a/S12``, ``B3/S2-i34q``: letters after a count select configurations,
  ``-`` negates the letters that follow it, a bare count means all configurations;
* Golly ``MAP`` + 86 base64 characters (optionally followed by ``==``; as in Golly the prefix
  is case-insensitive and the four unused bits of the last character are ignored);
* Golly's hexagonal and von Neumann rules: a B/S or MCell S/B string of plain counts followed
  by the suffix ``H`` (hexagonal, counts 0-6) or ``V`` (von Neumann, counts 0-4):
  ``B2/S34H``, ``b2s34h``, ``S34/B2H``, ``34/2H``, ``B2/S3V``, ``B/SV``. The suffix ends the
  string; Hensel letters are not allowed with it (Golly's hexagonal isotropic letters are
  not supported).

Stricter than Golly: a count digit may appear once per part, ``-`` must be followed by letters
(Golly reads ``B2-3/S`` as ``B23/S``) and a ``:T64,64`` bounded-grid suffix is rejected.

``str(rule)`` is canonical for the rule's family: ``B36/S23`` for totalistic rules, ``B2/S34H``
and ``B2/S3V`` (``B/SV`` when empty) for hex and von Neumann ones, canonical Hensel for
isotropic ones (which is plain B/S when the table happens to be totalistic) and ``MAP...``
for ring, rotation and free rules. Canonical Hensel follows Golly (its help,
Algorithms/QuickLife, "Non-totalistic rules"): letters in alphabetical order, a count with all
letters becomes the bare digit, a count with none is omitted, and otherwise the shorter of the
positive list and ``-`` + the missing letters is used, the positive list on a tie.

Family inference: ``Rule.from_table`` and ``Rule.parse`` without a family pick the first family
that contains the table in the order totalistic, isotropic, ring, rotation, free. That is the
smallest of these five by number of free bits, except that a table in both ring and isotropic
gets isotropic (so it prints in Hensel notation rather than as a ``MAP`` string). ``hex`` and
``vonneumann`` are never inferred from a table: only a string with the ``H`` or ``V`` suffix
(or an explicit ``family``) gives them. So ``Rule.parse("B2/S34H").family`` is ``hex``, while
``Rule.from_table`` of its table gives the first family of the order above that contains it
(free for most hex tables, isotropic for most von Neumann ones); equality compares tables
only, so both are the same rule.

The Hensel letters (which configuration each letter names) were transcribed from Golly's source
(gollybase/liferules.cpp) and checked against the picture table in Golly's help (hensel.png,
the same table LifeWiki's "Isotropic non-totalistic rule" page draws).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

__all__ = [
    "ACCEPTED_FORMS",
    "CENTRE",
    "COMPASS",
    "FAMILIES",
    "HENSEL_CLASSES",
    "HENSEL_LETTERS",
    "HEX_CELLS",
    "NAMED_RULES",
    "OUTER_MASK",
    "RING_CELLS",
    "VON_NEUMANN_CELLS",
    "Rule",
    "RuleFamily",
    "RuleStringError",
    "cell_bit",
    "family_contains",
    "get_family",
    "hensel_pattern",
    "is_subfamily",
    "map_to_table",
    "patch_to_pattern",
    "pattern_orbits",
    "pattern_to_patch",
    "smallest_family",
    "symmetry_group",
    "table_to_map",
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
# Per count: its letters (sorted) with their bit indices, as the formatter walks them.
_HENSEL_BY_COUNT: tuple[tuple[tuple[str, int], ...], ...] = tuple(
    tuple((x, _HENSEL_INDEX[(n, x)]) for x in sorted(HENSEL_LETTERS[n] or "")) for n in range(9)
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


# --------------------------------------------------------------------------------------------
# Families
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class RuleFamily:
    """A family of rules: the 512 patterns split into orbits, one free bit per orbit.

    ``str(family)`` is its name and a family compares equal to its name, so both
    ``rule.family == "isotropic"`` and ``rule.family is FAMILIES["isotropic"]`` work.
    """

    name: str
    symmetry: str
    """Its symmetry group: "C8", "D4", "C4", "C1" (see :func:`symmetry_group`), or, not
    enumerated by symmetry_group, "S8" for totalistic (any permutation of the outer cells),
    "S6" for hex (any permutation of the 6 hex neighbours; the NE and SW cells are ignored)
    and "S4" for vonneumann (any permutation of N, E, S, W; the corners are ignored)."""
    orbit_of: np.ndarray
    """Read-only ``int16[512]``: free-bit index of each pattern."""
    representatives: np.ndarray
    """Read-only ``int16[n_bits]``: smallest pattern index of each orbit."""
    bit_names: tuple[str, ...]
    """Human-readable name of each free bit."""

    @property
    def n_bits(self) -> int:
        """Number of free bits (orbits)."""
        return len(self.bit_names)

    @property
    def centres(self) -> np.ndarray:
        """``uint8[n_bits]``: the centre cell's state in each orbit's patterns (0: a birth
        bit, 1: a survival bit); every symmetry keeps the centre."""
        return ((np.asarray(self.representatives) & CENTRE) > 0).astype(np.uint8)

    def table_from_bits(self, bits: Any) -> np.ndarray:
        """The rule table (``uint8[512]``) of a bit vector; no validation (see Rule.from_bits)."""
        return np.asarray(bits, dtype=np.uint8)[self.orbit_of]

    def bits_from_table(self, table: Any) -> np.ndarray:
        """The family's bits (``uint8[n_bits]``) of a table; meaningful if the family has it."""
        return np.asarray(table, dtype=np.uint8)[self.representatives]

    def contains(self, table: Any) -> bool:
        """Whether ``table`` (0/1 values, shape (512,)) is constant on every orbit."""
        return family_contains(self, table)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"RuleFamily({self.name!r}, n_bits={self.n_bits})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RuleFamily):
            return self.name == other.name
        if isinstance(other, str):
            return self.name == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.name)

    def __reduce__(self) -> tuple[Any, ...]:
        return (get_family, (self.name,))


def _make_family(name: str, symmetry: str, orbit_of: np.ndarray, names: list[str]) -> RuleFamily:
    n_bits = len(names)
    reps = np.full(n_bits, N_PATTERNS, dtype=np.int64)
    np.minimum.at(reps, orbit_of, _PATTERNS)
    if reps.max() >= N_PATTERNS:  # an orbit without patterns: a bug in the builder
        raise RuntimeError(f"family {name}: some bit has no pattern")
    return RuleFamily(
        name=name,
        symmetry=symmetry,
        orbit_of=_frozen(orbit_of.astype(np.int16)),
        representatives=_frozen(reps.astype(np.int16)),
        bit_names=tuple(names),
    )


def _bs_letter(pattern: int) -> str:
    return "S" if pattern & CENTRE else "B"


def _build_counting(name: str, symmetry: str, cells: tuple[int, ...]) -> RuleFamily:
    """Outer-totalistic on ``cells``: bit ``n`` birth with ``n`` of them live, then survival."""
    mask = sum(cells)
    counts = np.array([bin(p & mask).count("1") for p in range(N_PATTERNS)])
    centre = (_PATTERNS & CENTRE) > 0
    names = [f"{bs}{n}" for bs in "BS" for n in range(len(cells) + 1)]
    return _make_family(name, symmetry, centre * (len(cells) + 1) + counts, names)


def _build_from_group(name: str, group: str) -> RuleFamily:
    """Orbits of ``group``, dead-centre orbits first, then by smallest pattern index."""
    smallest = pattern_orbits(group).astype(np.int64)
    reps = sorted(set(smallest.tolist()), key=lambda p: (bool(p & CENTRE), p))
    index = np.zeros(N_PATTERNS, dtype=np.int64)
    index[reps] = np.arange(len(reps))
    names = [f"{_bs_letter(p)}:{p:03x}" for p in reps]
    return _make_family(name, group, index[smallest], names)


def _build_free() -> RuleFamily:
    names = [f"{_bs_letter(p)}:{p:03x}" for p in range(N_PATTERNS)]
    return _make_family("free", "C1", _PATTERNS.copy(), names)


def _build_isotropic() -> RuleFamily:
    smallest = pattern_orbits("D4")
    bit_of_orbit: dict[int, int] = {}
    names: list[str] = []
    for centre in (0, CENTRE):
        for count, letter in HENSEL_CLASSES:
            orbit = int(smallest[hensel_pattern(count, letter) | centre])
            if orbit in bit_of_orbit:
                raise RuntimeError(f"Hensel classes share a D4 orbit: {count}{letter}")
            bit_of_orbit[orbit] = len(names)
            names.append(f"{_bs_letter(centre)}{count}{letter}")
    missing = set(smallest.tolist()) - set(bit_of_orbit)
    if missing:
        raise RuntimeError(f"D4 orbits without a Hensel class: {sorted(missing)}")
    orbit_of = np.array([bit_of_orbit[int(o)] for o in smallest])
    return _make_family("isotropic", "D4", orbit_of, names)


VON_NEUMANN = _build_counting("vonneumann", "S4", VON_NEUMANN_CELLS)
HEX = _build_counting("hex", "S6", HEX_CELLS)
TOTALISTIC = _build_counting("totalistic", "S8", RING_CELLS)
RING = _build_from_group("ring", "C8")
ISOTROPIC = _build_isotropic()
ROTATION = _build_from_group("rotation", "C4")
FREE = _build_free()

FAMILIES: Mapping[str, RuleFamily] = MappingProxyType(
    {f.name: f for f in (VON_NEUMANN, HEX, TOTALISTIC, RING, ISOTROPIC, ROTATION, FREE)}
)
"""All families by name, in order of increasing number of free bits (vonneumann 10, hex 14,
totalistic 18, ring 72, isotropic 102, rotation 140, free 512), so every family comes after
all of its subfamilies."""

# Order in which Rule.from_table looks for the family of a table (see module docstring).
_INFERENCE_ORDER = (TOTALISTIC, ISOTROPIC, RING, ROTATION, FREE)


_SYMMETRY_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "S6": "S6 on the 6 hexagonal neighbours, the NE and SW cells ignored",
        "S4": "S4 on N, E, S, W, the corners ignored",
    }
)


def get_family(family: str | RuleFamily) -> RuleFamily:
    """The family with this name (a RuleFamily is returned as is)."""
    if isinstance(family, RuleFamily):
        return family
    if not isinstance(family, str):
        raise TypeError(f"family must be a name or a RuleFamily, got {type(family).__name__}")
    try:
        return FAMILIES[family]
    except KeyError:
        raise ValueError(
            f"unknown rule family {family!r}; expected one of {', '.join(FAMILIES)}"
        ) from None


def _check_table(table: Any, what: str = "rule table") -> np.ndarray:
    return _binary_vector(table, N_PATTERNS, what)


def _binary_vector(values: Any, length: int, what: str) -> np.ndarray:
    """``values`` as a uint8 vector of the given length, or ValueError naming what is wrong."""
    arr = np.asarray(values)
    if arr.shape != (length,):
        raise ValueError(f"{what}: expected shape ({length},), got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{what}: expected 0/1 numbers, got dtype {arr.dtype}")
    bad = np.flatnonzero((arr != 0) & (arr != 1))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{what}: values must be 0 or 1, got {arr[i]!r} at index {i}")
    return arr.astype(np.uint8)


def _orbit_violation(family: RuleFamily, values: np.ndarray) -> int | None:
    """A pattern whose value differs from its orbit representative's, or None."""
    diff = np.flatnonzero(values != values[family.representatives[family.orbit_of]])
    return int(diff[0]) if diff.size else None


def family_contains(family: str | RuleFamily, table: Any) -> bool:
    """Whether the rule table is in the family, i.e. constant on each of its orbits."""
    fam = get_family(family)
    return _orbit_violation(fam, _check_table(table)) is None


def is_subfamily(small: str | RuleFamily, big: str | RuleFamily) -> bool:
    """Whether every rule of ``small`` is also a rule of ``big``.

    True iff every orbit of ``big`` lies inside one orbit of ``small``.
    """
    small_f, big_f = get_family(small), get_family(big)
    return _orbit_violation(big_f, np.asarray(small_f.orbit_of)) is None


def smallest_family(table: Any) -> RuleFamily:
    """The family ``Rule.from_table`` picks: the first of totalistic, isotropic, ring, rotation,
    free that contains the table."""
    t = _check_table(table)
    return next(f for f in _INFERENCE_ORDER if _orbit_violation(f, t) is None)


# --------------------------------------------------------------------------------------------
# Notations
# --------------------------------------------------------------------------------------------

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_INDEX = MappingProxyType({ch: i for i, ch in enumerate(_B64)})
_MAP_CHARS = -(-N_PATTERNS // 6)  # 86

ACCEPTED_FORMS = (
    "accepted forms: B/S like 'B3/S23', 'B/S', 'S23/B3' or Golly's 'b3s23'; MCell S/B like "
    "'23/3'; Hensel isotropic like 'B2-a/S12' or 'B3/S2-i34q' (counts 0-8, letters after a "
    "count select configurations, '-' negates them); Golly 'MAP' + 86 base64 characters; "
    "Golly hexagonal or von Neumann like 'B2/S34H' or 'B2/S3V' (plain counts 0-6 or 0-4, "
    "the suffix 'H' or 'V' last)"
)


@dataclass(frozen=True)
class _Neighbourhood:
    """A neighbourhood suffix of Golly's rule strings and the family it names."""

    suffix: str
    label: str
    family: RuleFamily

    @property
    def max_count(self) -> int:
        return self.family.n_bits // 2 - 1


_SUFFIXES: Mapping[str, _Neighbourhood] = MappingProxyType(
    {
        "H": _Neighbourhood("H", "hexagonal", HEX),
        "V": _Neighbourhood("V", "von Neumann", VON_NEUMANN),
    }
)
"""Rule-string suffix (upper case) -> its neighbourhood."""


class RuleStringError(ValueError):
    """A rule string could not be parsed; the message names the offending part."""


def _error(text: str, detail: str) -> RuleStringError:
    return RuleStringError(f"invalid rule string {text!r}: {detail}. {ACCEPTED_FORMS}")


def table_to_map(table: Any) -> str:
    """Golly ``MAP`` string of a rule table (86 base64 characters, no padding)."""
    t = _check_table(table)
    bits = np.zeros(_MAP_CHARS * 6, dtype=np.int64)
    bits[:N_PATTERNS] = t
    values = bits.reshape(_MAP_CHARS, 6) @ (1 << np.arange(5, -1, -1))
    return "MAP" + "".join(_B64[v] for v in values)


def map_to_table(text: str) -> np.ndarray:
    """Rule table (``uint8[512]``) of a Golly ``MAP`` string.

    The prefix is case-insensitive, ``==`` padding is optional and, as in Golly, the four
    unused bits of the last character are ignored.
    """
    if not isinstance(text, str):
        raise TypeError(f"a MAP string must be str, got {type(text).__name__}")
    s = text.strip()
    if s[:3].upper() != "MAP":
        raise _error(text, "a MAP rule starts with 'MAP'")
    body = s[3:]
    if body.endswith("=="):
        body = body[:-2]
    if len(body) != _MAP_CHARS:
        raise _error(
            text,
            f"MAP needs {_MAP_CHARS} base64 characters after 'MAP' (optionally followed by "
            f"'=='), got {len(body)}",
        )
    bad = [ch for ch in body if ch not in _B64_INDEX]
    if bad:
        raise _error(text, f"invalid base64 character {bad[0]!r} in the MAP string")
    values = np.array([_B64_INDEX[ch] for ch in body], dtype=np.int64)
    bits = (values[:, None] >> np.arange(5, -1, -1)) & 1
    return bits.reshape(-1)[:N_PATTERNS].astype(np.uint8)


def _parse_conditions(spec: str, label: str, text: str) -> np.ndarray:
    """Bool[51] over HENSEL_CLASSES of one B or S part (without its 'B'/'S' letter)."""
    chosen = np.zeros(len(HENSEL_CLASSES), dtype=bool)
    where = f"{label} part {spec!r}"
    seen: set[int] = set()
    i = 0
    while i < len(spec):
        ch = spec[i]
        if ch not in "0123456789":
            if ch == "-":
                raise _error(text, f"'-' must directly follow a count digit in {where}")
            raise _error(text, f"unexpected {spec[i:]!r} in {where}: expected a count digit 0-8")
        count = int(ch)
        if count > 8:
            raise _error(text, f"digit {count} out of range 0-8 in {where}")
        if count in seen:
            raise _error(text, f"count {count} repeated in {where}")
        seen.add(count)
        i += 1
        negate = spec[i : i + 1] == "-"
        i += negate
        j = i
        while j < len(spec) and spec[j].isalpha():
            j += 1
        letters = spec[i:j].lower()
        i = j
        valid = HENSEL_LETTERS[count]
        if letters and not valid:
            raise _error(text, f"count {count} takes no letters, got {letters!r} in {where}")
        if negate and not letters:
            raise _error(
                text, f"'-' after {count} in {where} must be followed by letters from {valid!r}"
            )
        for k, letter in enumerate(letters):
            if letter not in valid:
                raise _error(
                    text,
                    f"letter {letter!r} is not valid for count {count} in {where} "
                    f"(valid letters for {count}: {valid})",
                )
            if letter in letters[:k]:
                raise _error(text, f"letter {letter!r} repeated after {count} in {where}")
        if not valid:
            selected: Iterable[str] = [""]
        elif negate:
            selected = [x for x in valid if x not in letters]
        else:
            selected = letters or valid
        for letter in selected:
            chosen[_HENSEL_INDEX[(count, letter)]] = True
    return chosen


def _split_bs(s: str, text: str) -> tuple[str, str]:
    """The birth and survival specs of a B/S string (with 'B' and 'S' letters)."""
    parts = s.split("/")
    if len(parts) > 2:
        raise _error(text, f"more than one '/': extra part {'/'.join(parts[2:])!r}")
    if len(parts) == 2:
        for part in parts:
            if not part or part[0].lower() not in "bs":
                raise _error(text, f"part {part!r} must start with 'B' or 'S'")
        heads = [part[0].lower() for part in parts]
        bodies = [part[1:] for part in parts]
    else:
        heads_at = [i for i, ch in enumerate(s) if ch.lower() in "bs"]
        if heads_at[0] != 0:
            raise _error(text, f"{s[: heads_at[0]]!r} before the first 'B' or 'S'")
        if len(heads_at) == 1:
            missing = "S" if s[0].lower() == "b" else "B"
            raise _error(
                text, f"missing the {missing!r} part (write {s + '/' + missing!r} if empty)"
            )
        if len(heads_at) > 2:
            raise _error(text, f"unexpected {s[heads_at[2] :]!r}: only one 'B' and one 'S' allowed")
        k = heads_at[1]
        heads = [s[0].lower(), s[k].lower()]
        bodies = [s[1:k], s[k + 1 :]]
    if heads[0] == heads[1]:
        raise _error(text, f"two {heads[0].upper()!r} parts; expected one 'B' and one 'S'")
    specs = dict(zip(heads, bodies, strict=True))
    return specs["b"], specs["s"]


def _parse_counts(spec: str, label: str, text: str, hood: _Neighbourhood) -> np.ndarray:
    """Bool[max_count + 1] of one B or S part of a hexagonal / von Neumann rule string."""
    n = hood.max_count
    chosen = np.zeros(n + 1, dtype=bool)
    where = f"{label} part {spec!r}"
    for i, ch in enumerate(spec):
        if ch in "0123456789":
            count = int(ch)
            if count > n:
                raise _error(
                    text,
                    f"digit {count} out of range 0-{n} in {where}: the {hood.label} "
                    f"neighbourhood (suffix {hood.suffix!r}) has {n} neighbours",
                )
            if chosen[count]:
                raise _error(text, f"count {count} repeated in {where}")
            chosen[count] = True
        elif ch == "-" or (ch.isascii() and ch.isalpha()):
            raise _error(
                text,
                f"Hensel letters and '-' are not allowed with the {hood.label} suffix "
                f"{hood.suffix!r}: got {ch!r} in {where} (only counts 0-{n})",
            )
        else:
            raise _error(text, f"unexpected {spec[i:]!r} in {where}: expected a count digit 0-{n}")
    return chosen


def _split_mcell(s: str, text: str, hood: _Neighbourhood | None) -> tuple[str, str]:
    """The birth and survival specs of an MCell S/B string (digits only)."""
    parts = s.split("/")
    if len(parts) > 2:
        raise _error(text, f"more than one '/': extra part {'/'.join(parts[2:])!r}")
    for part in parts:
        bad = [ch for ch in part if ch not in "0123456789"]
        if bad:
            hint = "" if hood is not None else " (use B/S notation for Hensel letters)"
            raise _error(
                text, f"MCell S/B form takes digits only, got {bad[0]!r} in {part!r}{hint}"
            )
    survival, birth = parts
    return birth, survival


def _parse_table(text: str) -> tuple[np.ndarray, RuleFamily | None]:
    """Rule table of any accepted rule string (see module docstring), and the family its
    notation names (hex or vonneumann for an 'H' or 'V' suffix, else None)."""
    if not isinstance(text, str):
        raise TypeError(f"a rule string must be str, got {type(text).__name__}")
    s = text.strip()
    if not s:
        raise _error(text, "empty rule string")
    if s[:3].upper() == "MAP":
        return map_to_table(s), None
    if ":" in s:
        suffix = s[s.index(":") :]
        raise _error(text, f"{suffix!r} (a Golly bounded-grid suffix?) is not part of a rule")
    hood = _SUFFIXES.get(s[-1].upper())
    if hood is not None:
        s = s[:-1]
        if not s:
            raise _error(text, f"no birth and survival counts before the suffix {hood.suffix!r}")
    stray = next((ch for ch in s if ch.upper() in _SUFFIXES), None)
    if stray is not None:
        raise _error(
            text,
            f"{stray!r}: a neighbourhood suffix ('H' hexagonal, 'V' von Neumann) may only "
            "end the rule string, as in 'B2/S34H' or 'B2/S3V'",
        )
    if any(ch in "bBsS" for ch in s):
        birth, survival = _split_bs(s, text)
    elif "/" in s:
        birth, survival = _split_mcell(s, text, hood)
    else:
        raise _error(text, "no 'B', 'S', '/' or 'MAP' found")
    if hood is not None:
        bits = np.concatenate(
            [_parse_counts(birth, "B", text, hood), _parse_counts(survival, "S", text, hood)]
        )
        return hood.family.table_from_bits(bits), hood.family
    bits = np.concatenate(
        [_parse_conditions(birth, "B", text), _parse_conditions(survival, "S", text)]
    )
    return ISOTROPIC.table_from_bits(bits), None


def _format_counts(table: np.ndarray, family: RuleFamily, suffix: str = "") -> str:
    """``B<counts>/S<counts><suffix>`` of a rule of an outer-totalistic family."""
    bits = family.bits_from_table(table)
    half = family.n_bits // 2
    birth = "".join(str(n) for n in range(half) if bits[n])
    survival = "".join(str(n) for n in range(half) if bits[half + n])
    return f"B{birth}/S{survival}{suffix}"


def _format_hensel_part(bits: Sequence[int]) -> str:
    """Canonical Hensel text of one centre state (51 bits), Golly's canonical form."""
    out = []
    for count in range(9):
        valid = HENSEL_LETTERS[count]
        if not valid:
            if bits[_HENSEL_INDEX[(count, "")]]:
                out.append(str(count))
            continue
        letters = _HENSEL_BY_COUNT[count]
        present = [x for x, index in letters if bits[index]]
        if not present:
            continue
        if len(present) == len(valid):
            out.append(str(count))
            continue
        positive = "".join(present)
        negative = "-" + "".join(x for x, index in letters if not bits[index])
        out.append(str(count) + (negative if len(negative) < len(positive) else positive))
    return "".join(out)


def _format_hensel(table: np.ndarray) -> str:
    bits = ISOTROPIC.bits_from_table(table).tolist()  # Python ints: indexed one by one
    half = len(HENSEL_CLASSES)
    return f"B{_format_hensel_part(bits[:half])}/S{_format_hensel_part(bits[half:])}"


# The outer-totalistic families: name -> (family, rule-string suffix).
_COUNTING: Mapping[str, tuple[RuleFamily, str]] = MappingProxyType(
    {
        "totalistic": (TOTALISTIC, ""),
        **{hood.family.name: (hood.family, hood.suffix) for hood in _SUFFIXES.values()},
    }
)

_FORMATTERS: Mapping[str, Callable[[np.ndarray], str]] = MappingProxyType(
    {
        **{
            name: functools.partial(_format_counts, family=fam, suffix=suffix)
            for name, (fam, suffix) in _COUNTING.items()
        },
        "isotropic": _format_hensel,
        "ring": table_to_map,
        "rotation": table_to_map,
        "free": table_to_map,
    }
)


# --------------------------------------------------------------------------------------------
# Rule
# --------------------------------------------------------------------------------------------


@functools.total_ordering
class Rule:
    """An immutable rule: a 512-entry table and the family it is considered in.

    Equality, hashing and ordering use the table only: rules with the same table are equal
    (they behave the same) even if their families differ. ``Rule(table, family=None)`` is
    ``Rule.from_table``.
    """

    __slots__ = ("_bits", "_family", "_hash", "_key", "_table")

    _table: np.ndarray
    _family: RuleFamily
    _bits: np.ndarray
    _key: bytes
    _hash: int

    def __init__(self, table: Any, family: str | RuleFamily | None = None) -> None:
        t = _check_table(table)
        fam = smallest_family(t) if family is None else get_family(family)
        bad = _orbit_violation(fam, t)
        if bad is not None:
            rep = int(fam.representatives[fam.orbit_of[bad]])
            raise ValueError(
                f"rule {table_to_map(t)} is not in family {fam.name!r}: patterns {rep} and {bad} "
                f"are in the same orbit ({fam.bit_names[fam.orbit_of[bad]]}) but have next "
                f"states {t[rep]} and {t[bad]}"
            )
        self._init_checked(t, fam)

    def _init_checked(self, table: np.ndarray, family: RuleFamily) -> None:
        """Set the fields from a table already known to be a valid member of ``family``."""
        object.__setattr__(self, "_table", _frozen(table))
        object.__setattr__(self, "_family", family)
        object.__setattr__(self, "_bits", _frozen(family.bits_from_table(table)))
        object.__setattr__(self, "_key", self._table.tobytes())
        object.__setattr__(self, "_hash", hash(self._key))

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, family: str | RuleFamily | None = None) -> Rule:
        """Parse a rule string (forms in the module docstring).

        Without ``family`` the family is the one the notation names (``hex`` for an ``H``
        suffix, ``vonneumann`` for ``V``), else inferred as in :meth:`from_table`; with it,
        the result is in that family (ValueError if the rule is not).
        """
        table, named = _parse_table(text)
        if family is None:
            return cls(table, named)
        fam = get_family(family)
        if not fam.contains(table):
            kind = named.name if named is not None else smallest_family(table).name
            raise ValueError(
                f"rule {text.strip()!r} is not in family {fam.name!r}; it is a {kind} rule"
            )
        return cls(table, fam)

    @classmethod
    def from_table(cls, table: Any, family: str | RuleFamily | None = None) -> Rule:
        """Rule of a 0/1 table of shape (512,), indexed as in the module docstring.

        Without ``family`` the first family containing the table in the order totalistic,
        isotropic, ring, rotation, free is used.
        """
        return cls(table, family)

    @classmethod
    def from_bits(cls, bits: Any, family: str | RuleFamily, *, check: bool = True) -> Rule:
        """Rule of a family's free bits (0/1, length ``family.n_bits``, order in module doc).

        ``check=False`` skips validating ``bits`` (for hot loops that build them as uint8
        0/1 arrays of the right length themselves).
        """
        fam = get_family(family)
        if check:
            b = _binary_vector(bits, fam.n_bits, f"bits of family {fam.name!r}")
        else:
            b = bits
        rule = cls.__new__(cls)
        rule._init_checked(fam.table_from_bits(b), fam)  # constant on orbits by construction
        return rule

    @classmethod
    def random(
        cls,
        family: str | RuleFamily,
        rng: np.random.Generator | int | None = None,
    ) -> Rule:
        """A rule with independent uniform bits in the family (rng: Generator, seed or None)."""
        fam = get_family(family)
        bits = np.random.default_rng(rng).integers(0, 2, size=fam.n_bits, dtype=np.uint8)
        return cls(fam.table_from_bits(bits), fam)

    # -- accessors ---------------------------------------------------------------------------

    @property
    def table(self) -> np.ndarray:
        """Read-only ``uint8[512]`` table (``table[p]`` = next state of the centre)."""
        return self._table

    @property
    def bits(self) -> np.ndarray:
        """Read-only ``uint8[family.n_bits]``: the family's free bits."""
        return self._bits

    @property
    def family(self) -> RuleFamily:
        """The family the rule is considered in (decides ``str`` and ``bits``)."""
        return self._family

    def to(self, family: str | RuleFamily) -> Rule:
        """The same table in another family; ValueError if the table is not in it."""
        fam = get_family(family)
        if fam is self._family:
            return self
        if not fam.contains(self._table):
            raise ValueError(
                f"cannot convert {self} to family {fam.name!r}: its table is not invariant "
                f"under that family's symmetry ({_SYMMETRY_TEXT.get(fam.symmetry, fam.symmetry)}"
                f"); it is a {smallest_family(self._table)} rule"
            )
        return Rule(self._table, fam)

    def _counts(self, survival: bool) -> tuple[int, ...]:
        fam = _COUNTING.get(self._family.name, (TOTALISTIC, ""))[0]
        if not fam.contains(self._table):
            raise ValueError(f"rule {self} is not totalistic: it has no plain B/S counts")
        bits = fam.bits_from_table(self._table)
        half = fam.n_bits // 2
        return tuple(n for n in range(half) if bits[survival * half + n])

    @property
    def birth(self) -> tuple[int, ...]:
        """Birth counts of a totalistic rule (ValueError for other rules).

        Counts of the rule's own neighbourhood for a hex or vonneumann rule (``B2/S34H``
        -> ``(2,)``), else Moore counts (also of a table in the totalistic family that was
        given another family, e.g. ``Rule.parse("B3/S23", "free")``).
        """
        return self._counts(False)

    @property
    def survival(self) -> tuple[int, ...]:
        """Survival counts of a totalistic rule (ValueError for other rules; neighbourhood
        as for :attr:`birth`)."""
        return self._counts(True)

    def to_map(self) -> str:
        """Golly ``MAP`` string of the table, whatever the family."""
        return table_to_map(self._table)

    # -- protocol ----------------------------------------------------------------------------

    def __str__(self) -> str:
        return _rule_text(self._family.name, self._key)

    def __repr__(self) -> str:
        return f"Rule.parse({str(self)!r}, family={self._family.name!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self is other or self._key == other._key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Rule):
            return NotImplemented
        return self._key < other._key

    def __hash__(self) -> int:
        return self._hash

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Rule is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Rule is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Rule, (np.array(self._table), self._family.name))


# --------------------------------------------------------------------------------------------
# Named rules
# --------------------------------------------------------------------------------------------

NAMED_RULES: Mapping[str, str] = MappingProxyType(
    {
        "Life": "B3/S23",
        "HighLife": "B36/S23",
        "Day & Night": "B3678/S34678",
        "Seeds": "B2/S",
        "Replicator": "B1357/S1357",
        "Fredkin": "B1357/S02468",
        "Maze": "B3/S12345",
        "Mazectric": "B3/S1234",
        "Life without Death": "B3/S012345678",
        "Live Free or Die": "B2/S0",
        "Serviettes": "B234/S",
        "Gnarl": "B1/S1",
        "DotLife": "B3/S023",
        "LowLife": "B3/S13",
        "Coral": "B3/S45678",
        "2x2": "B36/S125",
        "34 Life": "B34/S34",
        "Amoeba": "B357/S1358",
        "Assimilation": "B345/S4567",
        "Coagulations": "B378/S235678",
        "Diamoeba": "B35678/S5678",
        "Long Life": "B345/S5",
        "Morley": "B368/S245",
        "Move": "B368/S245",
        "Pseudo Life": "B357/S238",
        "Anneal": "B4678/S35678",
        "Walled Cities": "B45678/S2345",
        # Gerard Vichniac's majority vote (MCell's "Vote": alive iff >= 5 of the 9 cells are).
        "Vote": "B5678/S45678",
        # Isotropic examples from LifeWiki's "Isotropic non-totalistic rule" page.
        "tlife": "B3/S2-i34q",
        "Just Friends": "B2-a/S12",
    }
)
"""Rule name -> canonical rule string: the domain notes' table ("Morley (Move)" appears under
both names), Vote, and two Hensel examples."""


@functools.lru_cache(maxsize=1 << 14)
def _rule_text(family: str, table: bytes) -> str:
    """``str`` of a rule of ``family`` with this table (as bytes), kept per rule: the
    Hensel notation of a rule takes ~50 us to write, and scoring writes the same rules
    again and again."""
    return _FORMATTERS.get(family, table_to_map)(np.frombuffer(table, dtype=np.uint8))
