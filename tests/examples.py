"""Example hidden rules per family, for tests parametrised over the whole registry."""

from __future__ import annotations

#: Three rules of each family whose presets exist (Moore-neighbourhood B/S strings lie in
#: totalistic, isotropic and free alike; hex and von Neumann rules need their own).
_BY_FAMILY = {
    "hex": ["B2/S34H", "B245/S3H", "B/SH"],
    "vonneumann": ["B2/S3V", "B13/S012V", "B/SV"],
}
_MOORE = ["B36/S23", "B3/S23", "B2/S"]


def family_rules(family: str) -> list[str]:
    """Three rule strings that lie in ``family``."""
    return _BY_FAMILY.get(str(family), _MOORE)


def first_rule(family: str) -> str:
    """One rule of ``family`` (``B36/S23`` where it lies in it)."""
    return family_rules(family)[0]
