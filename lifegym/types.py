"""The plain data the lab, the inference engines and the env pass around.

* :class:`RuleSpace`: the family searched, with the bits known from the start;
* :class:`VisibleTrajectory`: one experiment as the experimenter saw it;
* :class:`Belief`: an inference engine's state of knowledge about the hidden rule.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from lifegym.families import RuleFamily, get_family
from lifegym.observe import ObservationModel
from lifegym.rules import Rule

__all__ = ["Belief", "RuleSpace", "VisibleTrajectory"]


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.array(array, copy=True)
    array.setflags(write=False)
    return array


def _zeros_and_ones(values: np.ndarray) -> bool:
    """Whether every entry of ``values`` is 0 or 1 (a uint8 or bool vector, the common case
    of the hot paths, is read as bytes: no array passes)."""
    if values.dtype == np.uint8 or values.dtype == np.bool_:
        return not values.tobytes().translate(None, b"\x00\x01")
    return not ((values != 0) & (values != 1)).any()


@dataclass(frozen=True, eq=False)
class RuleSpace:
    """The rules an agent may submit: a family, some of whose bits may be known.

    Attributes:
        family: the rule family (its ``n_bits`` bits, order as in ``lifegym.families``).
        known_mask: bool (n_bits,): which bits are known from the start.
        known_values: uint8 (n_bits,): their values (0 where not known).
    """

    family: RuleFamily
    known_mask: np.ndarray
    known_values: np.ndarray

    @classmethod
    def of(cls, family: str | RuleFamily, known: dict[int | str, int] | None = None) -> RuleSpace:
        """The space of ``family`` with ``known`` bits (index or bit name -> 0/1) fixed."""
        fam = get_family(family)
        mask = np.zeros(fam.n_bits, dtype=bool)
        values = np.zeros(fam.n_bits, dtype=np.uint8)
        for key, value in (known or {}).items():
            if isinstance(key, str):
                if key not in fam.bit_names:
                    raise ValueError(
                        f"unknown bit name {key!r} for family {fam.name!r}; "
                        f"bit names are {', '.join(fam.bit_names[:20])}..."
                    )
                index = fam.bit_names.index(key)
            elif isinstance(key, int | np.integer) and 0 <= key < fam.n_bits:
                index = int(key)
            else:
                raise ValueError(
                    f"known bit {key!r} must be a bit index 0..{fam.n_bits - 1} or a bit name"
                )
            if value not in (0, 1):
                raise ValueError(f"known bit {key!r} must be 0 or 1, got {value!r}")
            mask[index] = True
            values[index] = int(value)
        return cls(fam, _readonly(mask), _readonly(values))

    @functools.cached_property
    def free_bits(self) -> np.ndarray:
        """int64 (n_free,): indices of the bits to discover, ascending (read-only)."""
        return _readonly(np.flatnonzero(~self.known_mask))

    @functools.cached_property
    def n_free(self) -> int:
        return len(self.free_bits)

    @functools.cached_property
    def free_names(self) -> tuple[str, ...]:
        return tuple(self.family.bit_names[i] for i in self.free_bits)

    def free_bit_counts(self, pattern_counts: np.ndarray) -> np.ndarray:
        """float64 (n_free,): how often each free bit's patterns occur, from counts of the
        512 3x3 patterns (e.g. ``lifegym.patterns.pattern_histogram``)."""
        family = self.family
        per_bit = np.bincount(family.orbit_of, weights=pattern_counts, minlength=family.n_bits)
        return per_bit[self.free_bits]

    def bits(self, free_values: np.ndarray) -> np.ndarray:
        """The family's full bit vector (uint8 (n_bits,)) with the free bits set to these."""
        values = np.asarray(free_values)
        if values.shape != (self.n_free,) or not _zeros_and_ones(values):
            raise ValueError(
                f"free values must be {self.n_free} bits of 0/1, got shape {values.shape}"
            )
        bits = self.known_values.copy()
        bits[self.free_bits] = values
        return bits

    def rule(self, free_values: np.ndarray) -> Rule:
        """The rule whose free bits are ``free_values`` (known bits as known)."""
        return Rule.from_bits(self.bits(free_values), self.family, check=False)

    def free_values(self, rule: Rule) -> np.ndarray:
        """The free bits (uint8 (n_free,)) of ``rule``, which must lie in the family."""
        if rule.family is not self.family and not self.family.contains(rule.table):
            raise ValueError(f"rule {rule} is not in family {self.family.name!r}")
        return self.family.bits_from_table(rule.table)[self.free_bits]

    def contains(self, rule: Rule) -> bool:
        """Whether ``rule`` is in the family and agrees with every known bit."""
        if not self.family.contains(rule.table):
            return False
        bits = self.family.bits_from_table(rule.table)
        return bool(np.all(bits[self.known_mask] == self.known_values[self.known_mask]))


@dataclass(frozen=True, eq=False)
class VisibleTrajectory:
    """One experiment as seen by the experimenter.

    Attributes:
        experiment: name of the menu item, or ``"custom"`` for an array given directly.
        initial: uint8 (H, W): the exactly known initial condition of the whole world.
        steps: number of steps the world was run.
        times: int64 (n,): the observed steps.
        frames: uint8 (n, h, w) observed frames, or None when only statistics are seen.
        stats: float64 (n, N_STATS) observed statistics, or None when frames are seen.
        model: the observation model that produced them.
        cost: observed cell-steps charged for it.
    """

    experiment: str
    initial: np.ndarray
    steps: int
    times: np.ndarray
    frames: np.ndarray | None
    stats: np.ndarray | None
    model: ObservationModel
    cost: int

    @property
    def world_shape(self) -> tuple[int, int]:
        return (int(self.initial.shape[0]), int(self.initial.shape[1]))

    @property
    def simulation_cost(self) -> int:
        """Cell-steps needed to simulate this experiment once (charged to compute)."""
        return int(self.initial.size) * int(self.steps)


@dataclass(frozen=True, eq=False)
class Belief:
    """What an inference engine believes about the free bits of the hidden rule.

    Attributes:
        p_one: float64 (n_free,): P(bit = 1) for each free bit.
        map_rule: the most probable rule (the one the env submits).
        entropy: entropy of the belief in bits.
        n_consistent: rules still consistent with the data (see the engine's doc), or
            None where the engine cannot count them.
        determined: bool (n_free,): whether the data so far have any bearing on each bit.
        map_probability: the engine's posterior probability of the MAP rule's
            observational-equivalence class (``lifegym.equivalence``), or the lower bound
            the engine gives for it (see the engine's ``class_probability``); NaN where
            the engine gave none.
    """

    p_one: np.ndarray
    map_rule: Rule
    entropy: float
    n_consistent: int | None
    determined: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    map_probability: float = math.nan

    @property
    def confidence(self) -> np.ndarray:
        """float64 (n_free,): ``|2 P(bit = 1) - 1|``, 0 for a coin flip, 1 for certainty."""
        return np.abs(2.0 * self.p_one - 1.0)
