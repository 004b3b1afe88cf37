"""Search all 2^18 B/S rules for observational equivalences other than the complement kind.

``lifegym.equivalence`` started from one kind of class of rules no experiment can tell
apart: under an even stride, a self-complementary rule R and its output complement NOT.R.
This script looks for others by brute force, and writes down what it checked:

(a) **Two-step maps (frames at stride 2).** Every B/S rule gets a signature: the centre
    cell after two steps on a fixed sample of 5x5 patterns (the same number for each
    live count 0..25, so every density is in it), computed for 64 rules at a time by a
    bit-sliced numba kernel and hashed to two 64-bit words per rule. Rules with equal
    two-step maps have equal signatures, hence equal hashes; every group of equal hashes
    is then split into exact classes with ``k_step_maps_agree(a, b, 2)`` (all 2^25 5x5
    patterns), so the classes reported are proved and none is missed. Each class is
    compared with the complement kind, and the classes beyond it with
    ``lifegym.equivalence.TWO_STEP_CLASSES``. The same for all 2^14 hex and 2^10 von
    Neumann rules (the sampled two-step maps themselves as signatures, from the tables).
    The kernel is checked against ``lifegym.simulate`` first (5x5 tori are exactly the
    centre's two-step neighbourhood), and the bit transpose of the hashing on random data.
(b) **One-step maps (frames at stride 1).** Any 3x3 pattern can be placed in the initial
    condition, so frame 1 shows every table entry: distinct tables are never equivalent.
    Confirmed: for all 2^18 B/S rules, frame 1 of a few soups that hold every one of the
    18 (state, count) classes gives back every bit of the rule (the multi-rule kernel of
    the ``exhaustive`` engine); for random rules of every family, frame 1 of the 512 3x3
    tori gives back the whole table (``lifegym.simulate``); and ``k_step_maps_agree(a, b,
    1)`` is table equality on random pairs, near misses included.
(c) **Statistics (``stats(sigma)``, what ``LifeLike-Stats-v*`` shows).** What the
    likelihood sees of an observed frame is its clean counts
    (``lifegym.likelihood.clean_counts``: live cells, cells changed since the previous
    observed frame, the 16 2x2-block counts, blocks wrapping on the torus); the
    perturbation only adds noise around them. At stride 1 the live count of frame 1 is
    ``sum_j n_j(x) bit_j``, linear in the 18 bits with the class counts of the initial
    condition x as coefficients: the exact null space of those count vectors over 24
    small soups decides whether frame 1's density alone separates every pair. Then every
    rule is fingerprinted by its clean counts on a battery of small soups (several sizes
    and densities, a few steps), at stride 1 and also at stride 2 (frames 2, 4, ...; no
    preset has it, it is cheap here), by a numba kernel checked against ``clean_counts``.
    Rules with equal fingerprints are compared again on more and larger soups with
    ``lifegym.simulate`` + ``clean_counts``; classes that survive but hold rules with
    different two-step maps are then tried on initial conditions built around a 5x5
    witness of the difference (``k_step_witness``) on small tori with dead, live and
    random backgrounds.

Results: ``benchmarks/results/equivalence_search.json`` (settings, counts, every class,
timings, the machine) and ``.md`` (a short summary, also printed).

Run from the repository root:

    python benchmarks/equivalence_search.py           # about 30 s on 2 cores (+ compiling)
    python benchmarks/equivalence_search.py --quick   # smaller samples; writes *_quick.*
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import machine
import numba
import numpy as np
from numba import njit, prange

from lifegym.equivalence import (
    TWO_STEP_CLASSES,
    complement,
    is_self_complementary,
    k_step_maps_agree,
    k_step_witness,
)
from lifegym.inference._multirule import pattern_classes, simulate_group
from lifegym.likelihood import clean_counts
from lifegym.rules import FAMILIES, TOTALISTIC, Rule
from lifegym.sim import simulate

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
N_BITS = 18
N_RULES = 1 << N_BITS
LANE_BITS = 6  # the low 6 bits of a rule index (B0..B5) are the 64 lanes of a word
N_GROUPS = N_RULES >> LANE_BITS
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
# Word j (j < 6): bit ``lane`` set iff bit j of the lane index is: the lanes' own bits.
LANE_WORDS = np.array(
    [sum(1 << lane for lane in range(64) if (lane >> j) & 1) for j in range(LANE_BITS)],
    dtype=np.uint64,
)
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xC2B2AE3D27D4EB4F)

# Clean-count quantities per frame in the fingerprint kernel: live, changed since the
# previous step, changed since two steps before, and the blocks holding each subset of
# the 2x2 block's cells a b / c d (a torus: the subsets not listed repeat these counts).
Q_LIVE, Q_CHANGED1, Q_CHANGED2 = 0, 1, 2
SUBSETS = ("ab", "ac", "ad", "bc", "abc", "abd", "acd", "bcd", "abcd")
N_QUANTITIES = 3 + len(SUBSETS)
PLANES = 16  # per-lane counters up to 65535 cells


# ------------------------------------------------------------------------------ helpers


def rule_of(index: int) -> Rule:
    """The B/S rule whose totalistic bit j (B0..B8, S0..S8) is bit j of ``index``."""
    bits = ((index >> np.arange(N_BITS)) & 1).astype(np.uint8)
    return Rule.from_bits(bits, TOTALISTIC)


def index_of(rule: Rule) -> int:
    return int((TOTALISTIC.bits_from_table(rule.table).astype(np.int64) << np.arange(18)).sum())


def group_words(g: int) -> np.ndarray:
    """The 18 rule words of group ``g``: rules ``64 g .. 64 g + 63`` (lane = low 6 bits)."""
    words = np.zeros(N_BITS, dtype=np.uint64)
    words[:LANE_BITS] = LANE_WORDS
    for j in range(LANE_BITS, N_BITS):
        words[j] = _ALL if (g >> (j - LANE_BITS)) & 1 else 0
    return words


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def null_space(rows: np.ndarray) -> list[list[Fraction]]:
    """A basis of the rational null space of an integer matrix (reduced row echelon)."""
    m = [[Fraction(int(v)) for v in row] for row in rows]
    cols = rows.shape[1]
    pivots: list[int] = []
    r = 0
    for c in range(cols):
        pivot = next((i for i in range(r, len(m)) if m[i][c] != 0), None)
        if pivot is None:
            continue
        m[r], m[pivot] = m[pivot], m[r]
        m[r] = [v / m[r][c] for v in m[r]]
        for i in range(len(m)):
            if i != r and m[i][c] != 0:
                f = m[i][c]
                m[i] = [a - f * b for a, b in zip(m[i], m[r], strict=True)]
        pivots.append(c)
        r += 1
    basis = []
    for free in (c for c in range(cols) if c not in pivots):
        v = [Fraction(0)] * cols
        v[free] = Fraction(1)
        for i, c in enumerate(pivots):
            v[c] = -m[i][free]
        basis.append(v)
    return basis


def group_runs(h1: np.ndarray, h2: np.ndarray) -> list[np.ndarray]:
    """The groups (rule indices, ascending) of more than one rule with equal (h1, h2)."""
    order = np.lexsort((h2, h1))
    a, b = h1[order], h2[order]
    breaks = np.flatnonzero((a[1:] != a[:-1]) | (b[1:] != b[:-1])) + 1
    runs = np.split(order, breaks)
    return [np.sort(run) for run in runs if len(run) > 1]


def split_exact(members: np.ndarray, same: Callable[[Rule, Rule], bool]) -> list[list[int]]:
    """Split a candidate group into exact classes under the equivalence ``same``."""
    classes: list[list[int]] = []
    for index in members.tolist():
        rule = rule_of(index)
        for cls in classes:
            if same(rule_of(cls[0]), rule):
                cls.append(index)
                break
        else:
            classes.append([index])
    return classes


def known_kind(cls: list[int]) -> bool:
    """Whether a class is {R, NOT.R} with R self-complementary (the known kind)."""
    if len(cls) != 2:
        return False
    a, b = rule_of(cls[0]), rule_of(cls[1])
    return is_self_complementary(a) and complement(a) == b


# ------------------------------------------------------------- (a) two-step signatures


def sample_patterns(n: int, rng: np.random.Generator) -> np.ndarray:
    """About ``n`` distinct 25-bit 5x5 patterns (cell (r, c) at bit 24 - 5 r - c), the same
    number for each live count 0..25 (fewer where fewer exist), ascending."""
    per_count = -(-n // 26)
    found: set[int] = set()
    for count in range(26):
        for _ in range(per_count):
            cells = rng.choice(25, size=count, replace=False)
            found.add(int(np.sum(1 << (24 - cells))) if count else 0)
    return np.array(sorted(found), dtype=np.int64)


def intermediate_classes(patterns: np.ndarray) -> np.ndarray:
    """uint8 (P, 9): for each 5x5 pattern and each cell k = 3 i + j of its middle 3x3, the
    totalistic bit that decides the cell's state after one step (9 * alive + count)."""
    cells = ((patterns[:, None] >> (24 - np.arange(25))) & 1).reshape(-1, 5, 5)
    out = np.empty((len(patterns), 9), dtype=np.uint8)
    for i in range(3):
        for j in range(3):
            block = cells[:, i : i + 3, j : j + 3]
            alive = block[:, 1, 1]
            count = block.sum(axis=(1, 2)) - alive
            out[:, 3 * i + j] = 9 * alive + count
    return out


@njit(inline="always")
def _mux(a, b, s):
    return a ^ ((a ^ b) & s)


@njit(cache=True, nogil=True)
def _two_step_words(words, classes, out):
    """``out[p]``: the centre of 5x5 pattern p after two steps under the group's 64 rules
    (lane j: rule j), from its intermediate cells' classes ``classes[p]`` (uint8 (P, 9))."""
    leaves = np.empty(9, dtype=np.uint64)
    for p in range(classes.shape[0]):
        cls = classes[p]
        centre = words[cls[4]]
        t0 = np.uint64(0)
        t1 = np.uint64(0)
        t2 = np.uint64(0)
        t3 = np.uint64(0)
        for k in range(9):
            if k == 4:
                continue
            x = words[cls[k]]
            c = t0 & x
            t0 ^= x
            d = t1 & c
            t1 ^= c
            e = t2 & d
            t2 ^= d
            t3 |= e
        for n in range(9):  # B(n) for a dead centre, S(n) for a live one
            leaves[n] = _mux(words[n], words[9 + n], centre)
        l01 = _mux(leaves[0], leaves[1], t0)
        l23 = _mux(leaves[2], leaves[3], t0)
        l45 = _mux(leaves[4], leaves[5], t0)
        l67 = _mux(leaves[6], leaves[7], t0)
        l03 = _mux(l01, l23, t1)
        l47 = _mux(l45, l67, t1)
        out[p] = _mux(_mux(l03, l47, t2), leaves[8], t3)


@njit(cache=True, nogil=True)
def _transpose64(a):
    """In place: bit j of ``a[i]`` <-> bit i of ``a[j]`` (a 64x64 bit matrix)."""
    j = 32
    m = np.uint64(0x00000000FFFFFFFF)
    while j != 0:
        k = 0
        while k < 64:
            t = ((a[k] >> np.uint64(j)) ^ a[k + j]) & m
            a[k] ^= t << np.uint64(j)
            a[k + j] ^= t
            k = (k + j + 1) & ~j
        j >>= 1
        m ^= m << np.uint64(j)


@njit(inline="always")
def _mix(h, x, mult):
    h = (h ^ x) * mult
    return h ^ (h >> np.uint64(31))


@njit(cache=True, nogil=True)
def _hash_lanes(words, h1, h2):
    """Fold ``words`` (n,) of 64 lanes each into per-lane hashes ``h1``, ``h2`` (64,), 64
    words at a time transposed so that lane ``l`` contributes one word per 64."""
    block = np.empty(64, dtype=np.uint64)
    n = words.shape[0]
    for start in range(0, n, 64):
        for i in range(64):
            block[i] = words[start + i] if start + i < n else np.uint64(0)
        _transpose64(block)
        for lane in range(64):
            h1[lane] = _mix(h1[lane], block[lane], _M1)
            h2[lane] = _mix(h2[lane], block[lane], _M2)


@njit(inline="always")
def _words_of_group(g, lane_words, words):
    for j in range(6):
        words[j] = lane_words[j]
    for j in range(6, 18):
        words[j] = np.uint64(0xFFFFFFFFFFFFFFFF) if (g >> (j - 6)) & 1 else np.uint64(0)


@njit(parallel=True, cache=True)
def _two_step_signatures(classes, lane_words, h1, h2):
    """Per-rule hashes of the two-step signature of every B/S rule (index 64 g + lane)."""
    n_groups = h1.shape[0] // 64
    for g in prange(n_groups):
        words = np.empty(18, dtype=np.uint64)
        _words_of_group(g, lane_words, words)
        out = np.empty(classes.shape[0], dtype=np.uint64)
        _two_step_words(words, classes, out)
        a = np.zeros(64, dtype=np.uint64)
        b = np.full(64, np.uint64(0x123456789ABCDEF))
        _hash_lanes(out, a, b)
        for lane in range(64):
            h1[64 * g + lane] = a[lane]
            h2[64 * g + lane] = b[lane]


def check_transpose(rng: np.random.Generator) -> None:
    a = rng.integers(0, 2**63, size=64, dtype=np.int64).astype(np.uint64)
    a ^= rng.integers(0, 2, size=64).astype(np.uint64) << np.uint64(63)
    bits = (a[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    b = a.copy()
    _transpose64(b)
    bits_t = (b[:, None] >> np.arange(64, dtype=np.uint64)) & np.uint64(1)
    assert np.array_equal(bits_t, bits.T), "64x64 bit transpose is wrong"


def search_two_step(n_patterns: int, seed: int, rng: np.random.Generator) -> dict[str, Any]:
    patterns = sample_patterns(n_patterns, np.random.default_rng(seed))
    classes = intermediate_classes(patterns)
    live = np.array([bin(int(p)).count("1") for p in patterns])
    # Check the kernel against the simulator: 5x5 tori are exactly the centre's two-step
    # neighbourhood.
    grids = ((patterns[:, None] >> (24 - np.arange(25))) & 1).astype(np.uint8).reshape(-1, 5, 5)
    checked = 0
    for g in rng.choice(N_GROUPS, size=4, replace=False).tolist():
        out = np.empty(len(patterns), dtype=np.uint64)
        _two_step_words(group_words(g), classes, out)
        for lane in rng.choice(64, size=4, replace=False).tolist():
            expected = simulate(rule_of(64 * g + lane), grids, 2)[:, 2, 2, 2]
            got = ((out >> np.uint64(lane)) & np.uint64(1)).astype(np.uint8)
            assert np.array_equal(got, expected), f"two-step kernel differs for rule {g}/{lane}"
            checked += 1
    h1 = np.empty(N_RULES, dtype=np.uint64)
    h2 = np.empty(N_RULES, dtype=np.uint64)
    _, seconds = timed(lambda: _two_step_signatures(classes, LANE_WORDS, h1, h2))
    runs = group_runs(h1, h2)

    def same(a: Rule, b: Rule) -> bool:
        return k_step_maps_agree(a, b, 2)

    proved, verify_seconds = timed(lambda: [c for run in runs for c in split_exact(run, same)])
    found = [c for c in proved if len(c) > 1]
    self_comp = [i for i in range(N_RULES) if _self_complementary_bs(i)]
    paired = sorted(i for c in found for i in c if _self_complementary_bs(i))
    kinds = {kind: [c for c in found if class_category(c) == kind] for kind in CATEGORIES}
    # A rule's class as lifegym.equivalence gives it at stride 2 vs the class proved here.
    missed = [i for c in found for i in c if len(c) != (2 if _self_complementary_bs(i) else 1)]
    varying: dict[str, int] = {}
    for c in found:
        if class_category(c) != "complement pair":
            key = varying_bits(c)
            varying[key] = varying.get(key, 0) + 1
    listed = {frozenset(Rule.parse(t) for t in c) for c in TWO_STEP_CLASSES["totalistic"]}
    beyond = {frozenset(rule_of(i) for i in c) for c in found if class_category(c) != CATEGORIES[0]}
    return {
        "patterns": len(patterns),
        "patterns_per_live_count": np.bincount(live, minlength=26).tolist(),
        "kernel_checked_rules": checked,
        "signature_seconds": round(seconds, 3),
        "candidate_groups": len(runs),
        "candidate_rules": int(sum(len(r) for r in runs)),
        "candidate_group_sizes": _histogram([len(r) for r in runs]),
        "verify_seconds": round(verify_seconds, 3),
        "classes": len(found),
        "rules_in_classes": int(sum(len(c) for c in found)),
        "class_sizes": _histogram([len(c) for c in found]),
        "classes_per_category": {kind: len(cs) for kind, cs in kinds.items()},
        "all_known_kind": all(known_kind(c) for c in found),
        "self_complementary_rules": len(self_comp),
        "every_self_complementary_rule_in_a_class": paired == self_comp,
        "rules_whose_class_is_larger_than_the_complement_kind_gives": len(missed),
        "bs_two_step_classes_of_lifegym_equivalence_match": listed == beyond,
        "varying_bits_of_other_classes": dict(sorted(varying.items(), key=lambda kv: -kv[1])),
        "dead_at_step_2": [str(rule_of(i)) for c in found if 0 in c for i in c],
        "classes_by_category": {
            kind: [[str(rule_of(i)) for i in c] for c in cs] for kind, cs in kinds.items()
        },
    }


CATEGORIES = (
    "complement pair",
    "complement pair and more",
    "complement pair of a non-self-complementary rule",
    "other",
)


def class_category(cls: list[int]) -> str:
    """Which of CATEGORIES a class of size > 1 is (the first is the known kind)."""
    rules = [rule_of(i) for i in cls]
    members = set(rules)
    with_complement = [r for r in rules if complement(r) in members]
    if any(is_self_complementary(r) for r in with_complement):
        return "complement pair" if len(cls) == 2 else "complement pair and more"
    if with_complement:
        return "complement pair of a non-self-complementary rule"
    return "other"


def varying_bits(cls: list[int]) -> str:
    """The B/S bits that differ between the members of a class, e.g. ``"B8 S0"``."""
    names = [f"B{n}" for n in range(9)] + [f"S{n}" for n in range(9)]
    diff = 0
    for i in cls[1:]:
        diff |= i ^ cls[0]
    return " ".join(names[j] for j in range(N_BITS) if (diff >> j) & 1)


def _self_complementary_bs(index: int) -> bool:
    """S(8 - n) = not B(n) for every n: the B/S form of self-complementarity."""
    return all(((index >> n) & 1) != ((index >> (9 + 8 - n)) & 1) for n in range(9))


def _histogram_str(keys: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key in keys:
        out[key] = out.get(key, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def _histogram(sizes: list[int]) -> dict[str, int]:
    values, counts = np.unique(np.array(sizes, dtype=np.int64), return_counts=True)
    return {str(v): int(c) for v, c in zip(values.tolist(), counts.tolist(), strict=True)}


# ------------------------------------------- (a') two-step maps of the small families


def sub_patterns(patterns: np.ndarray) -> np.ndarray:
    """int64 (P, 9): the 3x3 pattern index of the sub-block of each 5x5 pattern centred on
    each cell k = 3 i + j of its middle 3x3."""
    cells = ((patterns[:, None] >> (24 - np.arange(25))) & 1).reshape(-1, 5, 5)
    weights = 1 << (8 - np.arange(9))
    out = np.empty((len(patterns), 9), dtype=np.int64)
    for i in range(3):
        for j in range(3):
            out[:, 3 * i + j] = cells[:, i : i + 3, j : j + 3].reshape(-1, 9) @ weights
    return out


@njit(parallel=True, cache=True)
def _table_signatures(tables, subs, out):
    """``out[r]`` (words): bit p of the two-step centre of 5x5 pattern p under table r."""
    for r in prange(tables.shape[0]):
        table = tables[r]
        for w in range(out.shape[1]):
            out[r, w] = 0
        for p in range(subs.shape[0]):
            middle = 0
            for k in range(9):
                middle = (middle << 1) | table[subs[p, k]]
            if table[middle]:
                out[r, p >> 6] |= np.uint64(1) << np.uint64(p & 63)


def search_small_family(name: str, n_patterns: int, seed: int) -> dict[str, Any]:
    """(a) for every rule of a family with few bits (hex: 2^14, vonneumann: 2^10): exact
    signatures (the sampled two-step maps themselves), then proofs."""
    family = FAMILIES[name]
    n = family.n_bits
    index = np.arange(1 << n)
    bits = ((index[:, None] >> np.arange(n)) & 1).astype(np.uint8)
    tables = np.ascontiguousarray(bits[:, family.orbit_of])
    patterns = sample_patterns(n_patterns, np.random.default_rng(seed))
    subs = sub_patterns(patterns)
    signatures = np.empty((len(tables), -(-len(patterns) // 64)), dtype=np.uint64)
    _, seconds = timed(lambda: _table_signatures(tables, subs, signatures))
    rows = np.ascontiguousarray(signatures).view(f"V{signatures.shape[1] * 8}").ravel()
    _, inverse, counts = np.unique(rows, return_inverse=True, return_counts=True)
    runs = [np.flatnonzero(inverse == g) for g in np.flatnonzero(counts > 1)]
    rules = [Rule.from_bits(b, family) for b in bits]

    def exact(run: np.ndarray) -> list[list[int]]:
        classes: list[list[int]] = []
        for i in run.tolist():
            for cls in classes:
                if k_step_maps_agree(rules[cls[0]], rules[i], 2):
                    cls.append(i)
                    break
            else:
                classes.append([i])
        return [c for c in classes if len(c) > 1]

    found, verify_seconds = timed(lambda: [c for run in runs for c in exact(run)])

    def pair(c: list[int]) -> bool:
        a, b = rules[c[0]], rules[c[-1]]
        return len(c) == 2 and is_self_complementary(a) and complement(a) == b

    self_comp = [i for i, r in enumerate(rules) if is_self_complementary(r)]
    listed = {frozenset(Rule.parse(t) for t in c) for c in TWO_STEP_CLASSES[name]}
    beyond = {frozenset(rules[i] for i in c) for c in found if not pair(c)}
    return {
        "rules": len(rules),
        "patterns": len(patterns),
        "signature_seconds": round(seconds, 3),
        "verify_seconds": round(verify_seconds, 3),
        "candidate_groups": len(runs),
        "classes": len(found),
        "class_sizes": _histogram([len(c) for c in found]) if found else {},
        "self_complementary_rules": len(self_comp),
        "complement_pairs": sum(pair(c) for c in found),
        "other_classes": [[str(rules[i]) for i in c] for c in found if not pair(c)],
        "two_step_classes_of_lifegym_equivalence_match": listed == beyond,
    }


# --------------------------------------------------------------------- (b) one step


def one_step(rng: np.random.Generator, n_family_rules: int, n_pairs: int) -> dict[str, Any]:
    # All 2^18 B/S rules: frame 1 of soups holding every class gives back every bit.
    soups = [
        (np.random.default_rng([seed, 1]).random((16, 16)) < d).astype(np.uint8)
        for seed, d in enumerate((0.05, 0.3, 0.5, 0.7, 0.95))
    ]
    idx0s = [pattern_classes(s) for s in soups]
    covered = sorted(set(np.concatenate([i.ravel() for i in idx0s]).tolist()))
    assert covered == list(range(18)), f"the soups miss classes: {covered}"

    def all_bs() -> int:
        bad = 0
        for g in range(N_GROUPS):
            words = group_words(g)
            for idx0 in idx0s:
                frame = simulate_group(words, idx0, 1)[0]
                bad += int(np.any(frame != words[idx0.astype(np.int64)]))
        return bad

    bad, seconds = timed(all_bs)
    # Every family: frame 1 of the 512 3x3 tori (the centre's neighbourhood is the torus)
    # is the table.
    tori = ((np.arange(512)[:, None] >> (8 - np.arange(9))) & 1).astype(np.uint8)
    tori = tori.reshape(512, 3, 3)
    per_family = {}
    for name, family in FAMILIES.items():
        ok = 0
        for _ in range(n_family_rules):
            rule = Rule.random(family, rng)
            ok += bool(np.array_equal(simulate(rule, tori, 1)[:, 1, 1, 1], rule.table))
        agree_is_equal = 0
        for _ in range(n_pairs):
            a = Rule.random(family, rng)
            table = a.table.copy()
            if rng.random() < 0.5:  # a near miss: one entry changed
                table[rng.integers(512)] ^= 1
            b = Rule.from_table(table) if rng.random() < 0.8 else a
            agree_is_equal += k_step_maps_agree(a, b, 1) == np.array_equal(a.table, b.table)
        per_family[name] = {
            "rules_whose_frame_1_on_the_512_tori_is_their_table": f"{ok}/{n_family_rules}",
            "pairs_where_one_step_agreement_is_table_equality": f"{agree_is_equal}/{n_pairs}",
        }
    return {
        "bs_rules_checked": N_RULES,
        "bs_rules_whose_frame_1_misses_a_bit": bad,
        "bs_seconds": round(seconds, 3),
        "families": per_family,
    }


# ------------------------------------------------------------------ (c) statistics


def battery(spec: list[tuple[int, int, float]], seed: int) -> list[np.ndarray]:
    return [
        (np.random.default_rng([seed, i]).random((h, w)) < d).astype(np.uint8)
        for i, (h, w, d) in enumerate(spec)
    ]


def flatten(soups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Soups and their pattern classes as flat arrays, with shapes and offsets."""
    shapes = np.array([s.shape for s in soups], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum([s.size for s in soups])]).astype(np.int64)
    cells = np.concatenate([s.ravel() for s in soups]).astype(np.uint8)
    classes = np.concatenate([pattern_classes(s).ravel() for s in soups]).astype(np.uint8)
    return cells, classes, shapes, offsets


@njit(inline="always")
def _add(planes, q, x):
    k = 0
    while x != np.uint64(0):
        carry = planes[q, k] & x
        planes[q, k] ^= x
        x = carry
        k += 1


@njit(cache=True, nogil=True)
def _group_counts(words, cells, classes, shapes, offsets, steps, out):
    """``out[s, t, q, lane]`` (int64): quantity q of soup s after step t + 1 under the
    group's rule ``lane``: live, changed since step t, changed since step t - 1 (the
    initial condition for t < 2), and the number of 2x2 blocks (torus) holding each
    subset of SUBSETS live."""
    planes = np.zeros((out.shape[2], PLANES), dtype=np.uint64)
    for s in range(shapes.shape[0]):
        h = shapes[s, 0]
        w = shapes[s, 1]
        start = offsets[s]
        init = cells[start : start + h * w].reshape((h, w))
        idx0 = classes[start : start + h * w].reshape((h, w))
        states = simulate_group(words, idx0, steps)
        for t in range(steps):
            cur = states[t]
            planes[:] = 0
            for r in range(h):
                r1 = (r + 1) % h
                for c in range(w):
                    c1 = (c + 1) % w
                    a = cur[r, c]
                    b = cur[r, c1]
                    cc = cur[r1, c]
                    d = cur[r1, c1]
                    if t >= 1:
                        before = states[t - 1, r, c]
                    else:
                        before = np.uint64(0) - np.uint64(init[r, c])
                    if t >= 2:
                        before2 = states[t - 2, r, c]
                    else:
                        before2 = np.uint64(0) - np.uint64(init[r, c])
                    _add(planes, 0, a)
                    _add(planes, 1, a ^ before)
                    _add(planes, 2, a ^ before2)
                    ab = a & b
                    ad = a & d
                    bc = b & cc
                    _add(planes, 3, ab)
                    _add(planes, 4, a & cc)
                    _add(planes, 5, ad)
                    _add(planes, 6, bc)
                    _add(planes, 7, ab & cc)
                    _add(planes, 8, ab & d)
                    _add(planes, 9, ad & cc)
                    _add(planes, 10, bc & d)
                    _add(planes, 11, ab & cc & d)
            for q in range(out.shape[2]):
                for lane in range(64):
                    value = 0
                    for k in range(PLANES):
                        value += np.int64((planes[q, k] >> np.uint64(lane)) & np.uint64(1)) << k
                    out[s, t, q, lane] = value


@njit(parallel=True, cache=True)
def _stats_fingerprints(cells, classes, shapes, offsets, steps, lane_words, f1, f2):
    """Per-rule hashes (``f1``/``f2``: (2, N) uint64, row 0 stride 1, row 1 stride 2) of
    the clean counts of every B/S rule on the battery."""
    n_groups = f1.shape[1] // 64
    n_soups = shapes.shape[0]
    for g in prange(n_groups):
        words = np.empty(18, dtype=np.uint64)
        _words_of_group(g, lane_words, words)
        out = np.empty((n_soups, steps, N_QUANTITIES, 64), dtype=np.int64)
        _group_counts(words, cells, classes, shapes, offsets, steps, out)
        for lane in range(64):
            a1 = np.uint64(0)
            b1 = np.uint64(0x123456789ABCDEF)
            a2 = np.uint64(0)
            b2 = np.uint64(0x123456789ABCDEF)
            for s in range(n_soups):
                for t in range(steps):
                    for q in range(N_QUANTITIES):
                        v = np.uint64(out[s, t, q, lane])
                        if q != 2:  # stride 1: every step, changed since the step before
                            a1 = _mix(a1, v, _M1)
                            b1 = _mix(b1, v, _M2)
                        if t % 2 == 1 and q != 1:  # stride 2: steps 2, 4, ...
                            a2 = _mix(a2, v, _M1)
                            b2 = _mix(b2, v, _M2)
            f1[0, 64 * g + lane] = a1
            f2[0, 64 * g + lane] = b1
            f1[1, 64 * g + lane] = a2
            f2[1, 64 * g + lane] = b2


def frame_one_density_argument(counts: np.ndarray) -> dict[str, Any]:
    """Whether the live counts at step 1 of the battery separate every pair of B/S rules.

    The live count of frame 1 from x is ``counts[x] @ bits`` (``counts[x, j]``: cells of x
    in class j = 9 * alive + live neighbours). Two rules collide on every soup iff the
    difference of their bits (entries -1, 0, 1, not all 0) lies in the null space of
    ``counts``. Every soup has one such relation: each live-dead adjacency is counted
    once from each side, so ``sum_n n * counts[B n] = sum_n (8 - n) * counts[S n]``. A
    one-dimensional null space spanned by it holds no -1/0/1 vector (its entries have
    magnitudes 1..8), which proves that frame 1's density separates every pair."""
    basis = null_space(counts)
    adjacency = [Fraction(n) for n in range(9)] + [Fraction(n - 8) for n in range(9)]
    out: dict[str, Any] = {
        "rank": f"{18 - len(basis)}/18",
        "null_space_dimension": len(basis),
    }
    if len(basis) == 1:
        v = basis[0]
        scale = next(x for x in v if x != 0)
        u = [x / scale for x in v]
        ref_scale = next(x for x in adjacency if x != 0)
        out["null_space_is_the_adjacency_identity"] = u == [x / ref_scale for x in adjacency]
        magnitudes = {abs(x) for x in u if x != 0}
        out["separates_every_pair"] = len(magnitudes) > 1
    else:
        out["separates_every_pair"] = len(basis) == 0 or None  # None: not decided here
    return out


def counts_from_kernel(raw: np.ndarray, cells: int) -> np.ndarray:
    """The 16 2x2-block counts (``clean_counts``' last fields) from the kernel's quantities
    ``raw`` (..., N_QUANTITIES): Moebius inversion of the subset counts (a torus: each of
    a, b, c, d is live in ``live`` blocks; cd repeats ab, bd repeats ac)."""
    live = raw[..., Q_LIVE]
    subset = {0: np.full_like(live, cells), 8: live, 4: live, 2: live, 1: live}
    names = {"a": 8, "b": 4, "c": 2, "d": 1}
    for i, name in enumerate(SUBSETS):
        subset[sum(names[ch] for ch in name)] = raw[..., 3 + i]
    subset[2 | 1] = subset[8 | 4]  # cd = ab
    subset[4 | 1] = subset[8 | 2]  # bd = ac
    blocks = []
    for code in range(16):
        total = np.zeros_like(live)
        for s in range(16):
            if s & code == code:
                sign = -1 if bin(s ^ code).count("1") % 2 else 1
                total = total + sign * subset[s]
        blocks.append(total)
    return np.stack(blocks, axis=-1)


def exact_counts(rule: Rule, soups: list[np.ndarray], steps: int, stride: int) -> list[np.ndarray]:
    """``clean_counts`` of the frames at ``stride, 2 stride, ...`` of each soup."""
    out = []
    for soup in soups:
        frames = simulate(rule, soup, steps)
        out.append(clean_counts(soup, frames[stride::stride], True))
    return out


def check_fingerprint_kernel(
    spec: list[tuple[int, int, float]],
    soups: list[np.ndarray],
    steps: int,
    rng: np.random.Generator,
) -> int:
    cells, classes, shapes, offsets = flatten(soups)
    checked = 0
    for g in rng.choice(N_GROUPS, size=3, replace=False).tolist():
        out = np.empty((len(soups), steps, N_QUANTITIES, 64), dtype=np.int64)
        _group_counts(group_words(g), cells, classes, shapes, offsets, steps, out)
        for lane in rng.choice(64, size=3, replace=False).tolist():
            rule = rule_of(64 * g + lane)
            for s, soup in enumerate(soups):
                raw = out[s, :, :, lane]
                blocks = counts_from_kernel(raw, soup.size)
                for stride, changed in ((1, Q_CHANGED1), (2, Q_CHANGED2)):
                    (want,) = exact_counts(rule, [soup], steps, stride)
                    rows = slice(stride - 1, None, stride)
                    got = np.column_stack([raw[rows, Q_LIVE], raw[rows, changed], blocks[rows]])
                    assert np.array_equal(got, want), f"count kernel differs: {rule}, {spec[s]}"
            checked += 1
    return checked


def recheck(
    runs: list[np.ndarray], soups: list[np.ndarray], steps: int, stride: int
) -> list[list[int]]:
    """Split fingerprint collisions into classes of equal ``clean_counts`` (at ``stride``)
    on ``soups`` run ``steps`` steps, by ``lifegym.simulate``."""
    cache: dict[int, list[np.ndarray]] = {}

    def counts_of(rule: Rule) -> list[np.ndarray]:
        key = index_of(rule)
        if key not in cache:
            cache[key] = exact_counts(rule, soups, steps, stride)
        return cache[key]

    def same(a: Rule, b: Rule) -> bool:
        pairs = zip(counts_of(a), counts_of(b), strict=True)
        return all(np.array_equal(x, y) for x, y in pairs)

    return [c for run in runs for c in split_exact(run, same)]


def designed_separation(a: Rule, b: Rule, stride: int, rng: np.random.Generator) -> str | None:
    """An initial condition built around a witness of the two rules' different two-step
    maps on which their clean counts (at ``stride``) differ, described; None if none of
    those tried separates them."""
    witness = k_step_witness(a, b, 2)
    if witness is None:
        return None
    patch = ((witness >> (24 - np.arange(25))) & 1).astype(np.uint8).reshape(5, 5)
    steps = 4 * stride
    for size in (5, 6, 7, 8, 10, 12, 16):
        backgrounds = [("dead", np.zeros((size, size), np.uint8))]
        backgrounds.append(("live", np.ones((size, size), np.uint8)))
        for d in (0.2, 0.5, 0.8):
            backgrounds.append((f"soup {d}", (rng.random((size, size)) < d).astype(np.uint8)))
        for label, grid in backgrounds:
            grid = grid.copy()
            grid[:5, :5] = patch
            (x,) = exact_counts(a, [grid], steps, stride)
            (y,) = exact_counts(b, [grid], steps, stride)
            if not np.array_equal(x, y):
                return f"witness {witness} on a {size}x{size} torus, background {label}"
    return None


def search_stats(
    spec: list[tuple[int, int, float]],
    steps: int,
    more_spec: list[tuple[int, int, float]],
    more_steps: int,
    seed: int,
    rng: np.random.Generator,
) -> dict[str, Any]:
    soups = battery(spec, seed)
    # The linear argument on its own 24 small soups (at least 18 are needed).
    small = battery([(h, h + 1, d) for h in (6, 8, 10) for d in np.linspace(0.1, 0.9, 8)], seed)
    counts = np.array([np.bincount(pattern_classes(s).ravel(), minlength=18) for s in small])
    linear = frame_one_density_argument(counts)
    checked = check_fingerprint_kernel(spec, soups, steps, rng)
    cells, classes, shapes, offsets = flatten(soups)
    f1 = np.empty((2, N_RULES), dtype=np.uint64)
    f2 = np.empty((2, N_RULES), dtype=np.uint64)
    _, seconds = timed(
        lambda: _stats_fingerprints(cells, classes, shapes, offsets, steps, LANE_WORDS, f1, f2)
    )
    more = battery(more_spec, seed + 1)
    result: dict[str, Any] = {
        "battery": [list(s) for s in spec],
        "battery_steps": steps,
        "frame_1_live_count": linear,
        "kernel_checked_rules": checked,
        "fingerprint_seconds": round(seconds, 3),
        "recheck_battery": [list(s) for s in more_spec],
        "recheck_steps": more_steps,
    }
    for row, stride in ((0, 1), (1, 2)):
        runs = group_runs(f1[row], f2[row])
        surviving, verify_seconds = timed(
            lambda runs=runs, k=stride: recheck(runs, more, more_steps, k)
        )
        surviving = [c for c in surviving if len(c) > 1]
        two_step = [
            c
            for c in surviving
            if all(k_step_maps_agree(rule_of(c[0]), rule_of(i), 2) for i in c[1:])
        ]
        stats_only = [c for c in surviving if c not in two_step]
        # Split each stats-only class into its two-step classes (proved) and try to
        # separate every two of those with a designed initial condition.
        unresolved = []
        for c in stats_only:
            parts = split_exact(np.array(c), lambda a, b: k_step_maps_agree(a, b, 2))
            reps = [rule_of(p[0]) for p in parts]
            if any(
                designed_separation(reps[i], reps[j], stride, rng) is None
                for i in range(len(reps))
                for j in range(i + 1, len(reps))
            ):
                unresolved.append(c)
        result[f"stride_{stride}"] = {
            "collision_groups": len(runs),
            "collision_rules": int(sum(len(r) for r in runs)),
            "recheck_seconds": round(verify_seconds, 3),
            "surviving_classes": len(surviving),
            "surviving_rules": int(sum(len(c) for c in surviving)),
            "surviving_class_sizes": _histogram([len(c) for c in surviving]),
            "surviving_per_category": {
                kind: sum(class_category(c) == kind for c in surviving) for kind in CATEGORIES
            },
            "surviving_with_equal_two_step_maps": len(two_step),
            "surviving_stats_only": len(stats_only),
            "stats_only_varying_bits": _histogram_str([varying_bits(c) for c in stats_only]),
            "stats_only_separated_by_a_designed_initial_condition": len(stats_only)
            - len(unresolved),
            "stats_only_unresolved": [[str(rule_of(i)) for i in c] for c in unresolved],
            "stats_only_classes": [[str(rule_of(i)) for i in c] for c in stats_only],
        }
    return result


# ------------------------------------------------------------------------------ main


FULL = {
    "patterns": 8192,
    "battery": [
        (h, w, d)
        for (h, w) in ((8, 8), (9, 11), (16, 16), (13, 20))
        for d in (0.15, 0.35, 0.5, 0.65, 0.85)
    ],
    "steps": 6,
    "recheck": [
        (h, w, d)
        for (h, w) in ((32, 32), (40, 57), (64, 64))
        for d in (0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95)
    ],
    "recheck_steps": 16,
    "family_rules": 20,
    "pairs": 200,
    "small_families": ("vonneumann", "hex"),
}
QUICK = {
    "patterns": 1024,
    "battery": [(h, w, d) for (h, w) in ((8, 8), (9, 11)) for d in (0.2, 0.5, 0.8)],
    "steps": 4,
    "recheck": [(32, 32, d) for d in (0.3, 0.6)],
    "recheck_steps": 8,
    "family_rules": 4,
    "pairs": 40,
    "small_families": ("vonneumann",),
}


def summary(payload: dict[str, Any]) -> list[str]:
    a, b, c = payload["two_step"], payload["one_step"], payload["stats"]
    s1, s2 = c["stride_1"], c["stride_2"]
    lin = c["frame_1_live_count"]
    cat = a["classes_per_category"]
    top = list(a["varying_bits_of_other_classes"].items())[:6]
    lines = [
        "# equivalence_search",
        "",
        f"All {N_RULES} B/S rules; {payload['date']}, {payload['cpus']} CPUs, "
        f"{'quick' if payload['quick'] else 'full'} run, {payload['seconds']:.0f} s "
        "(`benchmarks/equivalence_search.py`; every class in the JSON beside this file).",
        "",
        "| check | result |",
        "|---|---|",
        f"| (a) stride 2: B/S rules with the same two-step map | {a['classes']} classes of "
        f"size > 1 ({a['rules_in_classes']} rules; sizes {a['class_sizes']}), each proved "
        f"with `k_step_maps_agree(..., 2)` (candidates: equal signatures on "
        f"{a['patterns']} 5x5 patterns) |",
        f"| (a) of which the complement kind {{R, NOT.R}}, R self-complementary | "
        f"{cat['complement pair']} are exactly such a pair; "
        f"{cat['complement pair and more']} hold such a pair and more rules; "
        f"{cat['complement pair of a non-self-complementary rule']} hold R and NOT.R with R "
        f"not self-complementary; {cat['other']} hold no complement pair |",
        f"| (a) self-complementary B/S rules | {a['self_complementary_rules']}, every one in "
        f"a class with its complement: {a['every_self_complementary_rule_in_a_class']} |",
        f"| (a) rules whose stride-2 class is larger than the complement kind gives | "
        f"{a['rules_whose_class_is_larger_than_the_complement_kind_gives']} of {N_RULES}; "
        "`lifegym.equivalence.TWO_STEP_CLASSES` lists exactly these classes: "
        f"{a['bs_two_step_classes_of_lifegym_equivalence_match']} |",
    ]
    for name, f in payload["two_step_small_families"].items():
        lines.append(
            f"| (a) stride 2, all {f['rules']} {name} rules | {f['classes']} classes of size "
            f"> 1 (sizes {f['class_sizes']}): {f['complement_pairs']} complement pairs "
            f"({f['self_complementary_rules']} self-complementary rules), "
            f"{len(f['other_classes'])} others; `TWO_STEP_CLASSES` lists exactly these: "
            f"{f['two_step_classes_of_lifegym_equivalence_match']} |"
        )
    lines += [
        f"| (b) stride 1 frames: frame 1 gives back every bit | "
        f"{b['bs_rules_checked'] - b['bs_rules_whose_frame_1_misses_a_bit']}/"
        f"{b['bs_rules_checked']} B/S rules; random rules of every family: frame 1 of the "
        "512 3x3 tori is the table; one-step agreement is table equality |",
        f"| (c) stats, stride 1: frame 1's live counts on 24 small soups | rank "
        f"{lin['rank']}; the null space is the live-dead adjacency identity: "
        f"{lin.get('null_space_is_the_adjacency_identity')}; so they separate every pair: "
        f"{lin['separates_every_pair']} |",
        f"| (c) stats, stride 1: clean-count fingerprints ({len(c['battery'])} soups x "
        f"{c['battery_steps']} steps) | {s1['collision_groups']} collisions; "
        f"{s1['surviving_classes']} survive {len(c['recheck_battery'])} larger soups x "
        f"{c['recheck_steps']} steps |",
        f"| (c) stats, stride 2 (no preset has it) | {s2['collision_groups']} collision "
        f"groups; {s2['surviving_classes']} classes ({s2['surviving_rules']} rules) survive "
        f"the larger soups: {s2['surviving_with_equal_two_step_maps']} have equal two-step "
        f"maps (proved classes), {s2['surviving_stats_only']} only equal clean counts, of "
        f"which {s2['stats_only_separated_by_a_designed_initial_condition']} are separated "
        "by an initial condition built around a witness of their different two-step maps "
        f"(so what is left is the two-step classes: {not s2['stats_only_unresolved']}) |",
        "",
        "Bits that vary inside the two-step classes of (a) other than the plain complement "
        "pairs (bits: classes): " + "; ".join(f"{k or '-'}: {v}" for k, v in top) + ".",
    ]
    unresolved = s2["stats_only_unresolved"] + s1["stats_only_unresolved"]
    if unresolved:
        lines += ["", "Unresolved statistics candidates: " + "; ".join(
            " ~ ".join(x) for x in unresolved
        ) + "."]  # fmt: skip
    lines += [
        "",
        f"Timings (s): two-step signatures {a['signature_seconds']} + proofs "
        f"{a['verify_seconds']}; one step {b['bs_seconds']}; fingerprints "
        f"{c['fingerprint_seconds']} + rechecks {s1['recheck_seconds']} / "
        f"{s2['recheck_seconds']}; sections {payload['section_seconds']}.",
    ]
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON path (default benchmarks/results/equivalence_search.json, or "
        "equivalence_search_quick.json with --quick); the Markdown goes beside it",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    out = args.out or RESULTS / (
        "equivalence_search_quick.json" if args.quick else "equivalence_search.json"
    )
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()
    check_transpose(rng)
    two_step, seconds_a = timed(lambda: search_two_step(settings["patterns"], args.seed, rng))
    small, seconds_small = timed(
        lambda: {
            name: search_small_family(name, settings["patterns"], args.seed)
            for name in settings["small_families"]
        }
    )
    one, seconds_b = timed(lambda: one_step(rng, settings["family_rules"], settings["pairs"]))
    stats, seconds_c = timed(
        lambda: search_stats(
            settings["battery"],
            settings["steps"],
            settings["recheck"],
            settings["recheck_steps"],
            args.seed,
            rng,
        )
    )
    info = machine.machine_info()
    payload = {
        "quick": args.quick,
        "seed": args.seed,
        "settings": settings,
        "date": info["date"],
        "cpus": info["cpu_count"],
        "seconds": time.perf_counter() - start,
        "section_seconds": {
            "two_step": round(seconds_a, 2),
            "two_step_small_families": round(seconds_small, 2),
            "one_step": round(seconds_b, 2),
            "stats": round(seconds_c, 2),
        },
        "numba_threads": numba.get_num_threads(),
        "two_step": two_step,
        "two_step_small_families": small,
        "one_step": one,
        "stats": stats,
        "machine": info,
    }
    lines = summary(payload)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
