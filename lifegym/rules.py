"""The ``Rule`` type (an immutable rule table and the family it is considered in) and
``NAMED_RULES``.

What a rule is made of lives in three modules beside this one:

* :mod:`lifegym.neighbourhoods`: the pattern index convention (which bit of a 3x3 pattern is
  which cell), the symmetry groups of the patch, their orbits and the Hensel classes;
* :mod:`lifegym.families`: ``RuleFamily``, the built families, the order of each family's
  free bits and the family ``Rule.from_table`` infers;
* :mod:`lifegym.notation`: the rule strings ``Rule.parse`` accepts and ``str(rule)`` writes.

Every public name that lived here before that split is still importable from
``lifegym.rules`` (``__all__``); new code imports it from the module that owns it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from lifegym.families import (
    FAMILIES,
    FREE,
    HEX,
    ISOTROPIC,
    RING,
    ROTATION,
    TOTALISTIC,
    VON_NEUMANN,
    RuleFamily,
    _binary_vector,
    _check_table,
    _orbit_violation,
    family_contains,
    get_family,
    is_subfamily,
    smallest_family,
)
from lifegym.neighbourhoods import (
    CENTRE,
    COMPASS,
    HENSEL_CLASSES,
    HENSEL_LETTERS,
    HEX_CELLS,
    N_PATTERNS,
    OUTER_MASK,
    RING_CELLS,
    VON_NEUMANN_CELLS,
    cell_bit,
    hensel_pattern,
    patch_to_pattern,
    pattern_orbits,
    pattern_to_patch,
    symmetry_group,
    transform_patterns,
)
from lifegym.notation import (
    _COUNTING,
    ACCEPTED_FORMS,
    RuleStringError,
    _parse_table,
    _rule_text,
    map_to_table,
    table_to_map,
)

__all__ = [
    "ACCEPTED_FORMS",
    "CENTRE",
    "COMPASS",
    "FAMILIES",
    "FREE",
    "HENSEL_CLASSES",
    "HENSEL_LETTERS",
    "HEX",
    "HEX_CELLS",
    "ISOTROPIC",
    "NAMED_RULES",
    "N_PATTERNS",
    "OUTER_MASK",
    "RING",
    "RING_CELLS",
    "ROTATION",
    "TOTALISTIC",
    "VON_NEUMANN",
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

_SYMMETRY_TEXT: Mapping[str, str] = MappingProxyType(
    {
        "S6": "S6 on the 6 hexagonal neighbours, the NE and SW cells ignored",
        "S4": "S4 on N, E, S, W, the corners ignored",
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

    def _init_checked(
        self, table: np.ndarray, family: RuleFamily, bits: np.ndarray | None = None
    ) -> None:
        """Set the fields from a table already known to be a valid member of ``family`` (and
        its uint8 ``bits`` in that family, when the caller has them)."""
        if bits is None:
            bits = family.bits_from_table(table)
        # Read-only views of bytes (their WRITEABLE flag cannot be switched back on); the
        # table's bytes are the key too.
        key = np.ascontiguousarray(table, dtype=np.uint8).tobytes()
        setter = object.__setattr__
        setter(self, "_table", np.frombuffer(key, dtype=np.uint8))
        setter(self, "_family", family)
        setter(self, "_bits", np.frombuffer(np.asarray(bits, dtype=np.uint8).tobytes(), np.uint8))
        setter(self, "_key", key)
        setter(self, "_hash", hash(key))

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str, family: str | RuleFamily | None = None) -> Rule:
        """Parse a rule string (forms in :mod:`lifegym.notation`).

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
        """Rule of a 0/1 table of shape (512,), indexed as in :mod:`lifegym.neighbourhoods`.

        Without ``family`` the first family containing the table in the order totalistic,
        isotropic, ring, rotation, free is used.
        """
        return cls(table, family)

    @classmethod
    def from_bits(cls, bits: Any, family: str | RuleFamily, *, check: bool = True) -> Rule:
        """Rule of a family's free bits (0/1, length ``family.n_bits``, order in
        :mod:`lifegym.families`).

        ``check=False`` skips validating ``bits`` (for hot loops that build them as uint8
        0/1 arrays of the right length themselves).
        """
        fam = family if isinstance(family, RuleFamily) else get_family(family)
        if check:
            b = _binary_vector(bits, fam.n_bits, f"bits of family {fam.name!r}")
        else:
            b = bits
        rule = cls.__new__(cls)
        rule._init_checked(fam.table_from_bits(b), fam, b)  # constant on orbits by construction
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
