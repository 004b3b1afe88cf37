"""Observational equivalence: rules that no experiment can tell apart under an observation model.

An experiment is an initial condition (known exactly to the agent, any size the env
allows) run on a torus; the agent sees what the observation model
(:class:`lifegym.observe.ObservationModel`) shows of the frames. Two rules are
*observationally equivalent* under a model when, for every initial condition, what the
model shows has the same distribution under both rules. The benchmark must score the
rules of one class as one answer: no agent can do better than a coin flip between them.

Kinds of class
==============
:data:`CLASS_KINDS` lists them (when each applies, which presets it affects);
:func:`observational_class`, :func:`same_class` and :func:`pair_kind` apply them.

**complement at even stride.** The *output complement* of a rule R is ``NOT.R``: the
table ``1 - R.table`` (:func:`complement`; in B/S notation the birth and survival sets
complemented, ``B3678/S34678`` -> ``B01245/S0125``). R is *self-complementary* when
``R(NOT x) = NOT R(x)`` for every 3x3 pattern x (:func:`is_self_complementary`; for B/S
rules: ``S(8 - n) = not B(n)`` for every n, e.g. Day & Night ``B3678/S34678``, Fredkin
``B1357/S02468``). Let F be one synchronous step of R on a whole torus configuration
and G one step of NOT.R; then ``G(x) = NOT F(x)``, and a self-complementary R gives
``F(NOT y) = NOT F(y)`` cell by cell. So::

    G(G(x)) = NOT F(NOT F(x)) = NOT NOT F(F(x)) = F(F(x)),

the two rules have the same two-step map, hence the same k-step map for every even k,
and the frames at steps 0, k, 2k, ... are identical for every initial condition. Under
``strided(k)`` with k even, every model of :mod:`lifegym.observe` shows only the exactly
known initial condition and the frames at multiples of k:

* ``observe`` selects ``frames[k], frames[2k], ...`` (``observed_times``), crops them to
  the window, then either flips cells (``noisy``: the random draws depend only on the
  number of observed cells and ``p``, not on the frames) or perturbs them and takes
  statistics (``stats``: the perturbation draws depend only on the shape;
  ``frame_statistics`` compares the first observed frame with the initial condition and
  every later one with the previous *observed* frame, so ``activity`` is measured
  between observed frames, never against a hidden one);
* the cost of an experiment depends only on its shape and steps;
* what the env adds (the statistics summary of the last experiment, the optional last
  observed frame, the ``test`` actions' log-likelihoods) is computed from those visible
  trajectories. The native vector env's kernels do treat the frames as consecutive, but
  it runs only the ``exact`` engine, which refuses ``stride > 1``.

So under such a model both rules give the same observations, draw for draw from the same
random stream: the pair is one class. The argument needs the torus (every world of the
env is one): with a dead border the cells outside stay 0 under both rules, and 0 is not
the complement of 0, so the pair separates near the border. It needs an *even* stride:
at odd k, ``G^k = NOT F^k`` (the frames are complements of each other). The complement
of a self-complementary rule is self-complementary, no rule is its own complement, and
the complement flips *every* bit of the family, so the pair lies in a space only when no
bit is known. Of the named rules, Day & Night, Fredkin, Anneal and Vote are
self-complementary; there are 2^9 self-complementary B/S rules (256 pairs).

**same two-step map.** Other rules share their two-step map too: the rules of a class of
:data:`TWO_STEP_CLASSES`, e.g. ``B/S``, ``B7/S``, ``B8/S`` and ``B78/S``, which all leave
nothing alive at step 2 (with no survival every live cell dies; a cell born at step 1
had at most one dead neighbour, so two born cells that are neighbours of each other
each had exactly one, and no cell can have 7 born neighbours, since one of them would be
flanked on its ring by two born cells). Mostly the members differ only in ``B8`` or
``S0`` (``B6``/``S0`` for hex): the second step erases what the first did differently.
Equal two-step maps give equal frames at every even step, so the argument above, from
"Under strided(k)" on, applies word for word. The classes were found by
``benchmarks/equivalence_search.py``, which computes the two-step map of every B/S, hex
and von Neumann rule on a sample of 5x5 patterns and proves every candidate class with
:func:`k_step_maps_agree` (all 2^25 patterns): among the 2^18 B/S rules there are 282
classes of more than one rule, 255 of them exactly a complement pair and 27 listed here
(64 rules; one holds a complement pair and two more rules); among the 2^14 hex rules 82
(63 pairs, 19 listed); among the 2^10 von Neumann rules 16, all complement pairs.

**Not a kind: pure noise.** Under ``noisy(0.5)`` every observed cell is a fair coin
whatever the frames are, so every rule of the space is observationally equivalent to
every other. It is deliberately left out: crediting any submission as "exact" when the
data settle nothing would make the setting's score meaningless; there the hidden rule
simply cannot be identified (its identifiability ceiling is 0). No preset uses it.

What is not a class, and what was not searched
==============================================
Everything else is a singleton here. Where that is the whole truth:

* frames at stride 1 (``full``, ``noisy(p < 0.5)``, ``window``; every preset but the
  Strided and Stats ones): the agent can place any 3x3 pattern x in the initial
  condition with its centre inside the window; frame 1 shows ``R.table[x]`` there
  (through noise ``p < 1/2``, which repeated experiments average out). Different tables
  give different one-step maps (``k_step_maps_agree(a, b, 1)`` is table equality), so no
  two rules collide;
* frames at stride 2 (``LifeLike-Strided-v*``) for B/S, hex and von Neumann rules: the
  two kinds above are every class (the exhaustive search);
* statistics at stride 1 for B/S rules (``LifeLike-Stats-v*``): the clean live count of
  frame 1 is ``sum_j n_j(x) bit_j``, linear in the 18 bits with the number ``n_j(x)`` of
  cells of the initial condition in class j (state, live neighbours) as coefficients.
  On a few small soups these count vectors have rank 17, and the one linear relation
  left holds for every x (each live-dead adjacency is counted from both sides:
  ``sum_n n * n_Bn = sum_n (8 - n) * n_Sn``). No difference of two B/S rules (entries
  -1, 0, 1) is a multiple of it, so the expected density of frame 1 separates every
  pair; the search also finds no two rules with the same clean counts on its soups.
  The same argument works for any family whose class counts span all bits but one such
  relation (not checked here for ``Isotropic-Stats-v1``).

Where the true class may be larger than :func:`observational_class` says: strides of 4
or more (rules may agree on their k-step map without agreeing on their two-step map;
not searched), odd strides of 3 or more (not searched), statistics at an even stride (the
search's random soups and designed initial conditions separated every other candidate
among the B/S rules, which does not prove there is none), and families too large to
search (ring, isotropic, rotation, free: their classes include the listed B/S ones, and
their own rules may form more classes of the second kind).

Checking maps
=============
:func:`k_step_maps_agree` decides whether two rules have the same k-step map for k = 1
(every 3x3 pattern: the tables) or k = 2 (every one of the 2^25 5x5 patterns, the centre
cell after two steps): a numba kernel over the two 512-entry tables, any family, about
25 ms when they agree and microseconds when they differ early. :func:`k_step_witness`
gives a pattern on which they differ.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numba import njit

from lifegym.cells import kernel_input
from lifegym.families import RuleFamily, get_family
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.types import RuleSpace

__all__ = [
    "CLASS_KINDS",
    "COMPLEMENT_AT_EVEN_STRIDE",
    "SAME_TWO_STEP_MAP",
    "TWO_STEP_CLASSES",
    "ClassKind",
    "complement",
    "is_self_complementary",
    "k_step_maps_agree",
    "k_step_witness",
    "observational_class",
    "pair_kind",
    "same_class",
]

N_PATTERNS = 512
_ALL_CELLS = N_PATTERNS - 1
#: ``_COMPLEMENTED[p]`` = the pattern with every cell of ``p`` flipped.
_COMPLEMENTED = np.arange(N_PATTERNS) ^ _ALL_CELLS

COMPLEMENT_AT_EVEN_STRIDE = "complement at even stride"
SAME_TWO_STEP_MAP = "same two-step map"

#: Family -> the classes of rules of the family that share their two-step map for another
#: reason than the complement kind (each listed class is a whole class among the rules of
#: its family), for the families searched exhaustively by
#: ``benchmarks/equivalence_search.py``: all 2^18 B/S, 2^14 hex and 2^10 von Neumann rules
#: (a signature of every rule's two-step map, then every candidate proved with
#: :func:`k_step_maps_agree`); the script also checks that the lists are complete and
#: ``tests/test_equivalence.py`` proves each class again. In each of the two non-empty
#: lists one class also holds a complement pair (``B01234567/S0`` and ``B8/S12345678``;
#: ``B012345/S0H`` and ``B6/S123456H``). Two rules are in both lists (the same table
#: under two names: ``B/S`` = ``B/SH``, ``B012345678/S012345678`` = ``B0123456/S0123456H``),
#: so their two classes are one: in a space holding both families' rules (e.g. ``free``)
#: the class of ``B/S`` has 7 rules.
TWO_STEP_CLASSES: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "totalistic": (
            ("B/S", "B7/S", "B8/S", "B78/S"),
            ("B/S1", "B8/S1"),
            ("B/S8", "B7/S8", "B8/S8", "B78/S8"),
            ("B6/S", "B68/S"),
            ("B/S18", "B8/S18"),
            ("B6/S1", "B68/S1"),
            ("B67/S", "B678/S"),
            ("B7/S1", "B78/S1"),
            ("B67/S1", "B678/S1"),
            ("B7/S18", "B78/S18"),
            ("B1234567/S", "B1234567/S0"),
            ("B0123456/S0", "B01234568/S0"),
            ("B01234567/S", "B01234567/S0", "B012345678/S0", "B8/S12345678"),
            ("B1234567/S1", "B1234567/S01"),
            ("B0123456/S08", "B01234568/S08"),
            ("B01234567/S1", "B01234567/S01"),
            ("B01234567/S08", "B012345678/S08"),
            ("B01234568/S345678", "B01234568/S0345678"),
            ("B1234568/S2345678", "B1234568/S02345678"),
            ("B012345678/S345678", "B012345678/S0345678"),
            ("B01234568/S1345678", "B01234568/S01345678"),
            ("B01234568/S2345678", "B01234568/S02345678"),
            (
                "B12345678/S2345678",
                "B12345678/S02345678",
                "B12345678/S12345678",
                "B12345678/S012345678",
            ),
            ("B1234568/S12345678", "B1234568/S012345678"),
            ("B012345678/S1345678", "B012345678/S01345678"),
            (
                "B012345678/S2345678",
                "B012345678/S02345678",
                "B012345678/S12345678",
                "B012345678/S012345678",
            ),
            ("B01234568/S12345678", "B01234568/S012345678"),
        ),
        "hex": (
            ("B/SH", "B5/SH", "B6/SH", "B56/SH"),
            ("B/S1H", "B6/S1H"),
            ("B/S6H", "B5/S6H", "B6/S6H", "B56/S6H"),
            ("B/S16H", "B6/S16H"),
            ("B5/S1H", "B56/S1H"),
            ("B5/S16H", "B56/S16H"),
            ("B12345/SH", "B12345/S0H"),
            ("B01234/S0H", "B012346/S0H"),
            ("B012345/SH", "B012345/S0H", "B0123456/S0H", "B6/S123456H"),
            ("B12345/S1H", "B12345/S01H"),
            ("B01234/S06H", "B012346/S06H"),
            ("B012345/S1H", "B012345/S01H"),
            ("B012345/S06H", "B0123456/S06H"),
            ("B12346/S23456H", "B12346/S023456H"),
            ("B012346/S23456H", "B012346/S023456H"),
            ("B123456/S23456H", "B123456/S023456H", "B123456/S123456H", "B123456/S0123456H"),
            ("B12346/S123456H", "B12346/S0123456H"),
            ("B0123456/S23456H", "B0123456/S023456H", "B0123456/S123456H", "B0123456/S0123456H"),
            ("B012346/S123456H", "B012346/S0123456H"),
        ),
        "vonneumann": (),
    }
)

#: The ObservationModel fields whose effect the module docstring's argument covers. A
#: model class with other fields is not trusted to hide the odd frames: its classes are
#: singletons until someone checks it (and a test fails to say so).
_AUDITED_MODEL_FIELDS = frozenset({"noise", "stride", "window", "stats_sigma"})


@dataclass(frozen=True)
class ClassKind:
    """One kind of observational equivalence class (see the module docstring).

    Attributes:
        name: the kind's key in :data:`CLASS_KINDS`.
        applies: when the kind applies (the observation model, the rule, the space).
        members: which rules a class of this kind holds.
        argument: why no experiment separates them, in one line.
        presets: the registered presets (``lifegym.registration.PRESETS``) where it
            applies, for some of their rules.
    """

    name: str
    applies: str
    members: str
    argument: str
    presets: tuple[str, ...]


CLASS_KINDS: Mapping[str, ClassKind] = MappingProxyType(
    {
        COMPLEMENT_AT_EVEN_STRIDE: ClassKind(
            name=COMPLEMENT_AT_EVEN_STRIDE,
            applies=(
                "the model's stride is even and its noise below 0.5 (any window, noise or "
                "stats); the rule is self-complementary (R(NOT x) = NOT R(x) for every 3x3 "
                "pattern x) and its complement lies in the space (the complement flips every "
                "bit, so only a space with no known bit holds both)"
            ),
            members="R and its output complement NOT.R (table 1 - R.table): a pair",
            argument=(
                "NOT.R(NOT.R(x)) = NOT R(NOT R(x)) = R(R(x)): the same 2-step map, so the same "
                "frames at every even step from every initial condition on the torus"
            ),
            presets=("lifegym/LifeLike-Strided-v0", "lifegym/LifeLike-Strided-v1"),
        ),
        SAME_TWO_STEP_MAP: ClassKind(
            name=SAME_TWO_STEP_MAP,
            applies=(
                "the model's stride is even and its noise below 0.5 (any window, noise or "
                "stats); the rule is in one of TWO_STEP_CLASSES (64 B/S rules in 27 classes, "
                "e.g. B/S, B7/S, B8/S, B78/S; 48 hex rules in 19 classes); the other "
                "members that lie in the space"
            ),
            members=(
                "the rule's listed class within the space: 2 to 4 rules of one family, 7 where "
                "the B/S and hex classes of the empty rule (or of the full one) meet"
            ),
            argument=(
                "the same 2-step map on all 2^25 5x5 patterns (k_step_maps_agree), so the same "
                "frames at every even step; e.g. B/S, B7/S, B8/S and B78/S all leave nothing "
                "alive at step 2"
            ),
            presets=("lifegym/LifeLike-Strided-v0", "lifegym/LifeLike-Strided-v1"),
        ),
    }
)
"""Kind name -> :class:`ClassKind`: every kind of class :func:`observational_class` knows.
Any rule and model not covered by a kind has the singleton class ``(rule,)``."""


# --------------------------------------------------------------------------- complements


def complement(rule: Rule) -> Rule:
    """The output complement NOT.R of ``rule``: table ``1 - rule.table``, in ``rule.family``.

    Every family is closed under it: a family's rules are the tables constant on its
    orbits of patterns, and so is ``1 - table`` (its bits are ``1 - rule.bits``).
    """
    if not isinstance(rule, Rule):
        raise TypeError(f"complement takes a lifegym.Rule, got {type(rule).__name__}")
    return Rule.from_bits(1 - rule.bits, rule.family, check=False)


@functools.lru_cache(maxsize=4096)
def _self_complementary(key: bytes) -> bool:
    table = np.frombuffer(key, dtype=np.uint8)
    return bool(np.all(table[_COMPLEMENTED] != table))


def is_self_complementary(rule: Rule) -> bool:
    """Whether ``R(NOT x) = NOT R(x)`` for every 3x3 pattern x, i.e. ``table[p ^ 511] =
    1 - table[p]`` for all 512 pattern indices p (``lifegym.neighbourhoods``' convention:
    flipping every cell of a pattern is ``p ^ 511``). Cached per table."""
    if not isinstance(rule, Rule):
        raise TypeError(f"is_self_complementary takes a lifegym.Rule, got {type(rule).__name__}")
    return _self_complementary(rule.table.tobytes())


# ----------------------------------------------------------------------- k-step maps


@njit(cache=True, nogil=True)
def _row_images(table):
    """uint8 (2^15,): for three 5-cell rows (``top << 10 | mid << 5 | bottom``, each with
    column 0 as its highest bit), the 3 middle-row cells of columns 1..3 after one step
    under ``table``, column 1 as the highest of the 3 bits."""
    out = np.empty(1 << 15, dtype=np.uint8)
    for code in range(1 << 15):
        top = code >> 10
        mid = (code >> 5) & 31
        bottom = code & 31
        value = 0
        for j in range(3):  # the 3x3 window over columns j..j+2
            shift = 2 - j
            pattern = (((top >> shift) & 7) << 6) | (((mid >> shift) & 7) << 3)
            pattern |= (bottom >> shift) & 7
            value = (value << 1) | table[pattern]
        out[code] = value
    return out


@njit(cache=True, nogil=True)
def _first_difference(table_a, table_b, steps):
    """The first pattern on which the ``steps``-step maps of two tables differ, or -1.

    steps 1: the 3x3 pattern index. steps 2: the 25-bit 5x5 pattern, cell (r, c) at bit
    ``24 - (5 r + c)`` (``lifegym.neighbourhoods``' order on the larger patch); the rows are
    run from the top, so ``r0 r1 r2`` pick the first intermediate row, ``r1 r2 r3`` the
    second, ``r2 r3 r4`` the third, and the centre's next state is a table lookup of them.
    """
    if steps == 1:
        for p in range(512):
            if table_a[p] != table_b[p]:
                return p
        return -1
    rows_a = _row_images(table_a)
    rows_b = _row_images(table_b)
    for r012 in range(1 << 15):
        top_a = np.int64(rows_a[r012]) << 6
        top_b = np.int64(rows_b[r012]) << 6
        r12 = (r012 & 1023) << 5
        for r3 in range(32):
            r123 = r12 | r3
            mid_a = top_a | (np.int64(rows_a[r123]) << 3)
            mid_b = top_b | (np.int64(rows_b[r123]) << 3)
            r23 = (r123 & 1023) << 5
            for r4 in range(32):
                r234 = r23 | r4
                if table_a[mid_a | rows_a[r234]] != table_b[mid_b | rows_b[r234]]:
                    return (np.int64(r012) << 10) | (r3 << 5) | r4
    return -1


def _check_steps(steps: object) -> int:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps not in (1, 2):
        raise ValueError(
            f"steps must be 1 (the one-step map on 3x3 patterns) or 2 (the two-step map on "
            f"5x5 patterns), got {steps!r}"
        )
    return int(steps)


def _check_rule(rule: object, name: str) -> Rule:
    if not isinstance(rule, Rule):
        raise TypeError(f"{name} must be a lifegym.Rule, got {type(rule).__name__}")
    return rule


def k_step_witness(a: Rule, b: Rule, steps: int) -> int | None:
    """A pattern on which the ``steps``-step maps of ``a`` and ``b`` differ, or None.

    ``steps`` 1: a 3x3 pattern index (``lifegym.neighbourhoods``); 2: a 5x5 pattern as 25
    bits, cell (r, c) at bit ``24 - (5 r + c)``, whose centre differs after two steps (the
    first such in increasing order). ValueError for any other ``steps``.
    """
    k = _check_steps(steps)
    table_a = kernel_input(_check_rule(a, "a").table)
    table_b = kernel_input(_check_rule(b, "b").table)
    found = int(_first_difference(table_a, table_b, k))
    return None if found < 0 else found


def k_step_maps_agree(a: Rule, b: Rule, steps: int) -> bool:
    """Whether ``a`` and ``b`` (any families) have the same ``steps``-step map.

    ``steps`` 1: the same table (every 3x3 pattern). ``steps`` 2: the same centre cell
    after two steps on every one of the 2^25 5x5 patterns, hence the same two-step map
    on every torus and the same frames at every even step. A numba kernel; a full check
    (when they agree) takes about 0.1 s. ValueError for any other ``steps``.
    """
    return k_step_witness(a, b, steps) is None


# ---------------------------------------------------------------------------- classes


def _audited(model: ObservationModel) -> bool:
    """Whether the module docstring's argument covers every part of ``model``: the built-in
    model with the audited fields (a subclass may change what is seen, new fields or not)."""
    if not isinstance(model, ObservationModel):
        raise TypeError(f"model must be a lifegym.observe.ObservationModel, got {model!r}")
    fields = {f.name for f in dataclasses.fields(model)}
    return type(model) is ObservationModel and fields == _AUDITED_MODEL_FIELDS


def _space_key(space: RuleSpace) -> tuple[str, bytes, bytes]:
    if not isinstance(space, RuleSpace):
        raise TypeError(f"space must be a lifegym.types.RuleSpace, got {type(space).__name__}")
    return (
        space.family.name,
        np.asarray(space.known_mask, dtype=bool).tobytes(),
        np.asarray(space.known_values, dtype=np.uint8).tobytes(),
    )


def _in_space(table: np.ndarray, space_key: tuple[str, bytes, bytes]) -> bool:
    """``RuleSpace.contains`` from the space's key (family name, known mask and values)."""
    family = get_family(space_key[0])
    if not family.contains(table):
        return False
    bits = family.bits_from_table(table)
    mask = np.frombuffer(space_key[1], dtype=bool)
    values = np.frombuffer(space_key[2], dtype=np.uint8)
    return not np.any(bits[mask] != values[mask])


@functools.cache
def _listed_classes() -> Mapping[bytes, frozenset[bytes]]:
    """Table of each rule of :data:`TWO_STEP_CLASSES` -> the tables of its class. Classes
    of two families that share a rule are one class (equal two-step maps are an
    equivalence): ``B/S`` is ``B/SH`` (the table of zeros) and ``B012345678/S012345678``
    is ``B0123456/S0123456H`` (the table of ones)."""
    out: dict[bytes, frozenset[bytes]] = {}
    for members in (c for classes in TWO_STEP_CLASSES.values() for c in classes):
        merged = frozenset(Rule.parse(text).table.tobytes() for text in members)
        for table in list(merged):
            merged |= out.get(table, frozenset())
        for table in merged:
            out[table] = merged
    return MappingProxyType(out)


@functools.lru_cache(maxsize=4096)
def _partners(
    key: bytes, space_key: tuple[str, bytes, bytes], model: ObservationModel
) -> tuple[tuple[bytes, str], ...]:
    """The other rules (tables, ascending) of the class of the rule with table ``key`` in
    the space, each with the kind that puts it there; () for a singleton (always under
    noisy(0.5): module doc)."""
    if not _audited(model) or model.stride % 2 or model.noise >= 0.5:
        return ()
    found: dict[bytes, str] = {}
    if _self_complementary(key):
        partner = 1 - np.frombuffer(key, dtype=np.uint8)
        if _in_space(partner, space_key):
            found[partner.tobytes()] = COMPLEMENT_AT_EVEN_STRIDE
    for table in _listed_classes().get(key, ()):
        if table != key and table not in found:
            if _in_space(np.frombuffer(table, dtype=np.uint8), space_key):
                found[table] = SAME_TWO_STEP_MAP
    return tuple(sorted(found.items()))


def _in_family(table: bytes, family: RuleFamily) -> Rule:
    array = np.frombuffer(table, dtype=np.uint8)
    return Rule.from_bits(family.bits_from_table(array), family, check=False)


def pair_kind(a: Rule, b: Rule, space: RuleSpace, model: ObservationModel) -> str | None:
    """The key of :data:`CLASS_KINDS` that puts the distinct rules ``a`` and ``b`` of
    ``space`` in one class under ``model``, or None (also when ``a == b``, or either rule
    is outside the space)."""
    _check_rule(a, "a")
    _check_rule(b, "b")
    space_key = _space_key(space)
    if a == b or not (space.contains(a) and space.contains(b)):
        return None
    other = b.table.tobytes()
    for table, kind in _partners(a.table.tobytes(), space_key, model):
        if table == other:
            return kind
    return None


def same_class(a: Rule, b: Rule, space: RuleSpace, model: ObservationModel) -> bool:
    """Whether no experiment under ``model`` tells ``a`` from ``b``: the same rule (equal
    tables), or two rules of ``space`` in one class of a kind of :data:`CLASS_KINDS`.
    Microseconds (cached per table, space and model), whatever the kind."""
    _check_rule(a, "a")
    _check_rule(b, "b")
    return a == b or pair_kind(a, b, space, model) is not None


def observational_class(rule: Rule, space: RuleSpace, model: ObservationModel) -> tuple[Rule, ...]:
    """The rules of ``space`` that no experiment under ``model`` tells from ``rule``, as
    far as the kinds of :data:`CLASS_KINDS` know (see "What is not a class" in the module
    docstring for where that is all of them, and where the true class may be larger).

    ``rule`` first (even when it is outside ``space``), then the others in increasing
    order (``Rule`` ordering: by table), each in ``space.family``; ``(rule,)`` when no kind
    applies. Microseconds (cached per table, space and model).
    """
    _check_rule(rule, "rule")
    space_key = _space_key(space)
    partners = _partners(rule.table.tobytes(), space_key, model)
    return (rule, *(_in_family(table, space.family) for table, _ in partners))
