"""What an experiment would separate: competitor rules against a reference rule, in the
engine's own likelihood.

Used by the ``oracle`` on engines that hold a posterior over whole rules (``exhaustive``):
it plans with exactly the evidence the engine can use, whatever the observation model
(hidden intermediate frames under a stride, statistics only), instead of counting
sightings the engine may never see.

*Separation.* Run the reference rule (the hidden one, for the oracle) and a competitor
from an initial condition and look at the clean observations the model would show (the
observed region of the observed frames, or their statistics). Under cell noise ``p`` each
observed cell where the two differ moves the log-likelihood ratio by
``ln((1 - p) / p)`` towards the truth with probability ``1 - p`` and away with ``p``: an
expected ``(1 - 2p) ln((1 - p) / p)`` nats per differing cell (without noise, one
differing cell rules the competitor out: ``NOISELESS_NATS``). Under statistics only, the
engine scores ``-z^2 / 2`` per statistic (``lifegym.likelihood.stats_loglik``); scoring
the competitor against the reference's expected statistics gives ``sum z^2 / 2``, the
expected log-likelihood ratio (the Gaussians' KL divergence).

*Competitors.* The posterior's live rules outside the reference's observational class
(``lifegym.equivalence``), weighed by their posterior ratio to the reference. When there
are many (the first experiment: every rule), the heaviest are kept and the rest are
represented by a sample drawn in proportion to weight, each standing for an equal share
of the rest's mass: :func:`competitor_sample`. The mass left after an experiment is then
estimated by ``sum_j mass_j exp(-separation_j)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lifegym.likelihood import clean_counts, expected_statistics, stats_scale
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.sim import simulate

__all__ = ["NOISELESS_NATS", "Competitors", "competitor_sample", "separation"]

#: Nats one differing noise-free observed cell is worth (it rules a competitor out; finite
#: so that sums stay finite).
NOISELESS_NATS = 50.0


def _clean_observations(
    frames: np.ndarray, model: ObservationModel, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """The observed region of the clean initial conditions and of the observed frames:
    (B, h, w) and (B, n, h, w) from ``frames`` (B, steps + 1, H, W)."""
    h, w = model.region(*frames.shape[-2:])
    times = model.observed_times(steps)
    return frames[:, 0, :h, :w], frames[:, times, :h, :w]


def separation(
    reference: Rule,
    competitors: Sequence[Rule],
    initials: np.ndarray,
    steps: int,
    model: ObservationModel,
) -> np.ndarray:
    """float64 (n_competitors, B): expected log-likelihood ratio (nats) for ``reference``
    against each competitor of one experiment from each of ``initials`` (B, H, W) run for
    ``steps`` steps and seen through ``model`` (module doc)."""
    initials = np.asarray(initials, dtype=np.uint8)
    if initials.ndim != 3:
        raise ValueError(f"initials must be (B, H, W), got shape {initials.shape}")
    times = model.observed_times(steps)
    out = np.zeros((len(competitors), len(initials)))
    if not len(times) or not len(competitors):
        return out
    start, seen = _clean_observations(simulate(reference, initials, steps), model, steps)
    cells = seen.shape[-1] * seen.shape[-2]
    if model.stats_sigma is not None:
        wrap = model.wraps(*initials.shape[1:])
        q = model.flip_probability
        truth = expected_statistics(clean_counts(start, seen, wrap), cells, q)  # (B, n, S)
        scale = stats_scale(truth, cells)
        for j, rule in enumerate(competitors):
            _, theirs = _clean_observations(simulate(rule, initials, steps), model, steps)
            z = (expected_statistics(clean_counts(start, theirs, wrap), cells, q) - truth) / scale
            out[j] = 0.5 * (z * z).sum(axis=(1, 2))
        return out
    p = model.noise
    per_cell = NOISELESS_NATS if p == 0 else (1 - 2 * p) * math.log((1 - p) / p)
    for j, rule in enumerate(competitors):
        _, theirs = _clean_observations(simulate(rule, initials, steps), model, steps)
        out[j] = per_cell * np.count_nonzero(theirs != seen, axis=(1, 2, 3))
    return out


@dataclass(frozen=True)
class Competitors:
    """Competitor rules (indices into the engine's rule indices) with the posterior mass
    each stands for, relative to the reference's class mass; ``total``: the mass of every
    competitor (the sampled ones included), in the same unit."""

    indices: np.ndarray
    mass: np.ndarray
    total: float


def competitor_sample(
    rules: np.ndarray,
    log_weights: np.ndarray,
    exclude: np.ndarray,
    reference_log_weight: float,
    rng: np.random.Generator,
    top: int = 32,
    sampled: int = 64,
) -> Competitors:
    """The competitors of a posterior's live ``rules`` (int64 indices) with log weights
    ``log_weights`` (any common offset), leaving out ``exclude`` (the reference's class),
    relative to ``reference_log_weight`` (the class's log mass): the ``top`` heaviest kept,
    the rest represented by ``sampled`` draws in proportion to weight (module doc)."""
    keep = ~np.isin(rules, exclude)
    rules, log_weights = rules[keep], log_weights[keep] - reference_log_weight
    if not len(rules):
        return Competitors(np.zeros(0, dtype=np.int64), np.zeros(0), 0.0)
    order = np.argsort(-log_weights, kind="stable")
    rules, log_weights = rules[order], log_weights[order]
    mass = np.exp(np.minimum(log_weights, 700.0))
    total = float(mass.sum())
    if len(rules) <= top + sampled:
        return Competitors(rules, mass, total)
    rest = mass[top:]
    rest_total = float(rest.sum())
    picks = rng.choice(len(rest), size=sampled, p=rest / rest_total)
    indices = np.concatenate([rules[:top], rules[top:][picks]])
    shares = np.concatenate([mass[:top], np.full(sampled, rest_total / sampled)])
    return Competitors(indices, shares, total)
