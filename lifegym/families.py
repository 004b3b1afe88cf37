"""Rule families: the orbits and free bits of each family, the built families, lookup and
containment.

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

Family inference
================
``Rule.from_table`` and ``Rule.parse`` without a family pick the first family that contains the
table in the order totalistic, isotropic, ring, rotation, free. That is the smallest of these
five by number of free bits, except that a table in both ring and isotropic gets isotropic (so
it prints in Hensel notation rather than as a ``MAP`` string). ``hex`` and ``vonneumann`` are
never inferred from a table: only a string with the ``H`` or ``V`` suffix (or an explicit
``family``) gives them. So ``Rule.parse("B2/S34H").family`` is ``hex``, while
``Rule.from_table`` of its table gives the first family of the order above that contains it
(free for most hex tables, isotropic for most von Neumann ones); equality compares tables
only, so both are the same rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from lifegym.neighbourhoods import (
    _PATTERNS,
    CENTRE,
    HENSEL_CLASSES,
    HEX_CELLS,
    N_PATTERNS,
    RING_CELLS,
    VON_NEUMANN_CELLS,
    _frozen,
    hensel_pattern,
    pattern_orbits,
)

__all__ = [
    "FAMILIES",
    "FREE",
    "HEX",
    "ISOTROPIC",
    "RING",
    "ROTATION",
    "TOTALISTIC",
    "VON_NEUMANN",
    "RuleFamily",
    "family_contains",
    "get_family",
    "is_subfamily",
    "smallest_family",
]


@dataclass(frozen=True, eq=False, repr=False)
class RuleFamily:
    """A family of rules: the 512 patterns split into orbits, one free bit per orbit.

    ``str(family)`` is its name and a family compares equal to its name, so both
    ``rule.family == "isotropic"`` and ``rule.family is FAMILIES["isotropic"]`` work.
    """

    name: str
    symmetry: str
    """Its symmetry group: "C8", "D4", "C4", "C1" (see
    :func:`lifegym.neighbourhoods.symmetry_group`), or, not enumerated by symmetry_group, "S8"
    for totalistic (any permutation of the outer cells), "S6" for hex (any permutation of the
    6 hex neighbours; the NE and SW cells are ignored) and "S4" for vonneumann (any
    permutation of N, E, S, W; the corners are ignored)."""
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
