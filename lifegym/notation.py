"""Rule notation: parsing rule strings into tables, and writing a table in its family's
canonical notation.

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
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from lifegym.families import (
    HEX,
    ISOTROPIC,
    TOTALISTIC,
    VON_NEUMANN,
    RuleFamily,
    _check_table,
)
from lifegym.neighbourhoods import (
    _HENSEL_INDEX,
    HENSEL_CLASSES,
    HENSEL_LETTERS,
    N_PATTERNS,
)

__all__ = [
    "ACCEPTED_FORMS",
    "RuleStringError",
    "map_to_table",
    "table_to_map",
]


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

# Per count: its letters (sorted) with their bit indices, as the formatter walks them.
_HENSEL_BY_COUNT: tuple[tuple[tuple[str, int], ...], ...] = tuple(
    tuple((x, _HENSEL_INDEX[(n, x)]) for x in sorted(HENSEL_LETTERS[n] or "")) for n in range(9)
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


@functools.lru_cache(maxsize=1 << 14)
def _rule_text(family: str, table: bytes) -> str:
    """``str`` of a rule of ``family`` with this table (as bytes), kept per rule: the
    Hensel notation of a rule takes ~50 us to write, and scoring writes the same rules
    again and again."""
    return _FORMATTERS.get(family, table_to_map)(np.frombuffer(table, dtype=np.uint8))
