"""Analytic lower bounds on what identification must cost, in observed cell-steps.

Both bounds ask what it takes to bring a belief over ``n_free`` bits that starts uniform
(``n_free`` bits of entropy) down to ``target`` bits, when each observed cell-step is one
cell seen through a symmetric flip of probability ``q`` (cell noise, or the perturbation
behind statistics; ``q = 0`` without noise).

**Capacity bound** (any observation model, any inference; on the *mean* cost). An
observed cell is the clean cell through a binary symmetric channel, which carries at most
``C = 1 - H2(q)`` bits; the flips are independent, so observed cell-steps chosen one after
another (adaptively, with a data-dependent stopping time ``N``) carry at most ``C E[N]``
bits about the rule on average (statistics are functions of the perturbed cells and carry
no more). A policy that always ends at ``target`` bits needs ``E[N] >= (n_free - target) /
C``.

**Sighting bound** (engines that count per-bit evidence from known inputs, such as
``exact``; on *every* episode, even the luckiest). An observed cell whose input pattern
is known is evidence on one bit only, and moves its log-odds by at most
``L = ln((1 - q) / q)``. A bit sighted ``k`` times keeps at
least ``h(k) = H2(1 / (1 + e^(k L)))`` bits of entropy (all sightings agreeing, the best
case), and the belief's entropy is the sum over the (independent) bits. The fewest
sightings with ``sum_i h(k_i) <= target`` put every ``k_i`` at ``k`` or ``k + 1`` (``h`` is
convex and decreasing), so the bound is ``min over k, j of n_free k + j`` such that
``(n_free - j) h(k) + j h(k + 1) <= target``. Each observed cell-step is at most one
sighting. With ``q = 0`` every bit needs one sighting: ``n_free``.

For the 18 B/S bits at ``q = 0.05`` and ``target = 0.1``: capacity 26 cell-steps,
sightings 52 (``h(2) = 0.028``, ``h(3) = 0.0021``: 2 bits at 2 sightings, 16 at 3).
Neither bound implies the other: at high noise the capacity bound is the larger.
"""

from __future__ import annotations

import math

__all__ = ["capacity_bound", "sighting_bound"]


def _h2(p: float) -> float:
    if p <= 0.0 or p >= 1.0:
        return 0.0
    return -(p * math.log2(p) + (1.0 - p) * math.log2(1.0 - p))


def _check(n_free: int, flip: float, target: float) -> None:
    if isinstance(n_free, bool) or not isinstance(n_free, int) or n_free < 0:
        raise ValueError(f"n_free must be an int >= 0, got {n_free!r}")
    if not 0.0 <= flip < 0.5:
        raise ValueError(f"flip must be in [0, 0.5), got {flip!r}")
    if not target >= 0.0:
        raise ValueError(f"target must be >= 0 bits, got {target!r}")


def capacity_bound(n_free: int, flip: float, target: float = 0.1) -> int:
    """Fewest observed cell-steps that can carry ``n_free - target`` bits (module doc)."""
    _check(n_free, flip, target)
    needed = n_free - target
    return 0 if needed <= 0 else math.ceil(needed / (1.0 - _h2(flip)) - 1e-9)


def sighting_bound(n_free: int, flip: float, target: float = 0.1) -> int:
    """Fewest per-bit sightings that can leave at most ``target`` bits (module doc)."""
    _check(n_free, flip, target)
    if n_free == 0 or target >= n_free:
        return 0
    if flip == 0.0:
        return n_free

    def left(k: int) -> float:  # entropy of a bit sighted k times, all agreeing
        return _h2(1.0 / (1.0 + math.exp(k * math.log((1.0 - flip) / flip))))

    k = 0
    while True:
        for j in range(n_free + 1):  # j bits get k + 1 sightings, the rest k
            if (n_free - j) * left(k) + j * left(k + 1) <= target + 1e-12:
                return n_free * k + j
        k += 1
