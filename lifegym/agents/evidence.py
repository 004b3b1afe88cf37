"""What an experiment shows, seen from the agent's side: sightings per free bit, the
sightings a bit still needs, and the cheapest design that supplies them.

A *sighting* of a free bit is a cell whose 3x3 input pattern lies in the bit's orbit and
whose output the inference engine will see evidence of. Shared by the agents that plan
experiments (``infogain``, ``oracle``).

Statistics only. Under ``stats(sigma)`` a cell is not seen, so a sighting means little; what
the first observed step shows instead is linear in the rule: a cell whose pattern lies in
free bit ``b``'s orbit is live after one step exactly when ``x_b = 1``, so the frame's
density moves by ``s_b = c_b (1 - 2q) / N`` when ``x_b`` flips (``c_b`` such cells of ``N``
observed, ``q`` the perturbation's flip probability) and its activity (cells changed from
the known initial condition) by ``+s_b`` for a birth bit, ``-s_b`` for a survival bit.
:class:`StatsLedger` keeps the linear-Gaussian posterior of the bits under these two
measurements per experiment, with the variances the engine's likelihood gives them
(:func:`lifegym.likelihood.stats_scale`): a bit is *isolated* when its posterior variance
``v_b`` is small, whatever the other bits are, so two bits only ever seen together in the
same proportion stay uncertain there even when the engine's local marginals look certain.
``v_b`` reads as log-odds ``1 / (2 v_b)`` (two Gaussians 1 apart). The block entropy and
later frames (non-linear in the rule) are left out: the ledger is conservative.

Sightings needed. Under cell noise ``q`` one sighting moves a bit's log-odds by
``L = ln((1 - q) / q)`` towards the value it shows. A belief with every bit's log-odds at
least ``lambda*`` towards its value has entropy at most ``n_free * H(1 / (1 + e^lambda*))``;
:func:`target_log_odds` picks ``lambda*`` so that this is half the target entropy. A bit at
log-odds ``s`` towards its value then needs ``ceil((lambda* - s) / L)`` more net sightings;
:func:`sightings_needed` adds the expected flips among them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lifegym.design import class_counts, design_cells
from lifegym.inference.base import binary_entropy_bits
from lifegym.likelihood import stats_scale
from lifegym.observe import ObservationModel
from lifegym.patterns import pattern_histogram
from lifegym.types import RuleSpace, VisibleTrajectory

__all__ = [
    "HIDDEN_WEIGHT",
    "STATS_DESIGN_SIDES",
    "StatsLedger",
    "cheapest_design",
    "evidence_counts",
    "first_step_only",
    "free_classes",
    "log_odds",
    "probability_log_odds",
    "sighting_log_odds",
    "sightings_needed",
    "stats_design",
    "stats_designs",
    "stats_shifts",
    "stats_variances",
    "target_log_odds",
    "variance_entropy",
]

#: Weight of an occurrence whose output frame a stride hides (seen only through later frames).
HIDDEN_WEIGHT = 0.5
#: Log-odds of one sighting when only statistics are observed (a weak, fixed guess).
_STATS_LOG_ODDS = 0.1
#: Log-odds of one sighting without noise: decisive (finite so that arithmetic stays finite).
_NOISELESS_LOG_ODDS = 50.0


def sighting_log_odds(model: ObservationModel) -> float:
    """``L``: how far one sighting moves a bit's log-odds under ``model``."""
    if model.stats_sigma is not None:
        return _STATS_LOG_ODDS
    flip = model.flip_probability
    if flip <= 0.0:
        return _NOISELESS_LOG_ODDS
    return min(_NOISELESS_LOG_ODDS, math.log((1.0 - flip) / flip))


def first_step_only(inference: str, model: ObservationModel) -> bool:
    """Whether the engine scores only the step from the known initial condition (the
    ``exact`` engine under noise): then what an experiment shows does not depend on the rule."""
    return inference == "exact" and model.flip_probability > 0


def log_odds(p_one: np.ndarray) -> np.ndarray:
    """Natural-log odds of ``P(bit = 1)`` (+-inf at 1 and 0)."""
    with np.errstate(divide="ignore"):
        return np.log(p_one) - np.log1p(-p_one)


def target_log_odds(n_free: int, target_entropy: float) -> float:
    """``lambda*``: per-bit log-odds at which ``n_free`` bits hold at most half of
    ``target_entropy`` bits of entropy (bisection on the binary entropy)."""
    budget = 0.5 * target_entropy / max(n_free, 1)
    low, high = 0.0, 60.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        p_wrong = 1.0 / (1.0 + math.exp(middle))
        if binary_entropy_bits(np.array([p_wrong]))[0] > budget:
            low = middle
        else:
            high = middle
    return high


def probability_log_odds(n_free: int, delta: float) -> float:
    """``lambda*`` for a probability target: the per-bit log-odds at which ``n_free``
    independent bits put probability at least ``1 - delta / 2`` on the rule they point to
    (half of ``delta``, as :func:`target_log_odds` keeps half of its target: the slack
    absorbs the noise of the last sightings)."""
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    # n log(1 + e^-lambda) = -log(1 - delta / 2)
    per_bit = -math.log1p(-delta / 2) / max(n_free, 1)
    return -math.log(math.expm1(per_bit))


def sightings_needed(
    toward: np.ndarray, per_sighting: float, target: float, flip: float
) -> np.ndarray:
    """float (n_free,): sightings each bit still needs, from its log-odds ``toward`` the
    value it is believed (or known) to have: ``ceil((target - toward) / L)`` net sightings
    plus the flips expected among them (``flip`` each), 0 when already there."""
    toward = np.asarray(toward, dtype=np.float64)
    net = np.ceil(np.maximum(target - toward, 0.0) / per_sighting - 1e-9)
    if flip <= 0.0:
        return net
    # n sightings with flips f give n - 2f net; E[f] = flip * n, so n = net / (1 - 2 flip).
    return np.ceil(net / (1.0 - 2.0 * flip))


def free_classes(space: RuleSpace) -> np.ndarray:
    """int64 (512,): each pattern's free-bit index, -1 for patterns of known bits."""
    position = np.full(space.family.n_bits, -1, dtype=np.int64)
    position[space.free_bits] = np.arange(space.n_free)
    return position[np.asarray(space.family.orbit_of, dtype=np.int64)]


def evidence_counts(
    frames: np.ndarray, space: RuleSpace, model: ObservationModel, first: int, last: int
) -> np.ndarray:
    """float (n_free,): occurrences per free bit as inputs of steps ``first .. last - 1`` of
    ``frames`` (clean, (T + 1, H, W), frame 0 the initial state) in the observed region,
    counted in full when the output frame is observed and ``HIDDEN_WEIGHT`` otherwise."""
    h, w = model.region(*frames.shape[1:])
    inputs = np.arange(first, last)
    seen = (inputs + 1) % model.stride == 0
    total = np.zeros(space.n_free)
    for mask, weight in ((seen, 1.0), (~seen, HIDDEN_WEIGHT)):
        if mask.any():
            histogram = pattern_histogram(frames[inputs[mask], :h, :w])
            total += weight * space.free_bit_counts(histogram)
    return total


def stats_shifts(initial: np.ndarray, space: RuleSpace, model: ObservationModel) -> np.ndarray:
    """float (n_free, 2): how far the density and the activity of the step from ``initial``
    (H, W) move when each free bit flips, under a ``stats`` model at stride 1."""
    h, w = model.region(*initial.shape)
    counts = class_counts(initial, free_classes(space), space.n_free, (h, w))
    density = counts * (1.0 - 2.0 * model.flip_probability) / (h * w)
    return np.stack([density, density * _activity_sign(space)], axis=-1)


def _activity_sign(space: RuleSpace) -> np.ndarray:
    """+1 for a free bit whose patterns have a dead centre (a birth: live after = changed),
    -1 for a live centre (a survival: live after = unchanged)."""
    return 1.0 - 2.0 * space.family.centres[space.free_bits]


def stats_variances(
    initial: np.ndarray, following: np.ndarray, model: ObservationModel
) -> np.ndarray:
    """float (2,): the variances the engine's likelihood gives the density and the activity
    of the step from ``initial`` to its clean next state ``following`` (both (H, W))."""
    h, w = model.region(*initial.shape)
    q = model.flip_probability
    seen, before = following[:h, :w], initial[:h, :w]
    clean = np.array([seen.mean(), np.count_nonzero(seen != before) / (h * w)])
    expected = clean * (1.0 - q) + (1.0 - clean) * q
    return stats_scale(np.array([*expected, 0.5]), h * w)[:2] ** 2


class StatsLedger:
    """The linear-Gaussian posterior of the free bits from the first observed step of each
    experiment under statistics (see the module doc), for planning with.

    Args:
        space: the rule space.
        model: a ``stats`` observation model at stride 1.
        prior_variance: each bit's variance before any data (vague: 4).
    """

    def __init__(
        self, space: RuleSpace, model: ObservationModel, prior_variance: float = 4.0
    ) -> None:
        self.space = space
        self.model = model
        self.precision: np.ndarray = np.eye(space.n_free) / prior_variance
        self.covariance = np.eye(space.n_free) * prior_variance
        self._folded = 0

    def update(self, trajectories: Sequence[VisibleTrajectory]) -> None:
        """Fold in the trajectories not yet seen (``trajectories`` only grows): each one's
        first observed statistics, with the variances the engine gives them."""
        for trajectory in trajectories[self._folded :]:
            if trajectory.stats is not None and len(trajectory.stats):
                h, w = self.model.region(*trajectory.initial.shape)
                variances = stats_scale(trajectory.stats[0], h * w)[:2] ** 2
                shifts = stats_shifts(trajectory.initial, self.space, self.model)
                self.precision += (shifts / variances) @ shifts.T
        if len(trajectories) > self._folded:
            self.covariance = np.linalg.inv(self.precision)
        self._folded = len(trajectories)

    def entropy(self) -> np.ndarray:
        """float (n_free,): the binary entropy each bit keeps in the ledger."""
        return variance_entropy(np.diag(self.covariance))

    def shares(self, shifts: np.ndarray, variances: np.ndarray, entropy: np.ndarray) -> np.ndarray:
        """float (K, n_free): the share of each bit's ``entropy`` (the entropy planned with,
        at least the ledger's) each of K candidate experiments is expected to remove
        (``stats_shifts`` (K, n_free, 2), ``stats_variances`` (K, 2))."""
        spread = np.einsum("nm,kmi->kni", self.covariance, shifts)
        inner = np.einsum("kni,knj->kij", shifts, spread)
        inner[:, [0, 1], [0, 1]] += variances
        solved = np.linalg.solve(inner, np.swapaxes(spread, 1, 2))
        after = np.diag(self.covariance)[None] - np.einsum("kni,kin->kn", spread, solved)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(entropy > 0, 1.0 - variance_entropy(after) / entropy, 0.0)
        return np.clip(share, 0.0, 1.0)


def variance_entropy(variance: np.ndarray) -> np.ndarray:
    """Binary entropy (bits) of a bit whose ledger variance is ``variance``: the chance of
    the wrong value at log-odds ``1 / (2 variance)``."""
    odds = 0.5 / np.maximum(variance, 1e-12)
    return binary_entropy_bits(1.0 / (1.0 + np.exp(np.minimum(odds, 700.0))))


#: Sides of the square worlds :func:`stats_designs` tries (clipped to the env's limits).
STATS_DESIGN_SIDES = (4, 6, 9, 12)


def stats_designs(
    space: RuleSpace,
    model: ObservationModel,
    bit: int,
    uncertainty: np.ndarray,
    low: tuple[int, int],
    high: tuple[int, int],
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """:func:`stats_design` of ``bit`` on each of ``STATS_DESIGN_SIDES`` (square worlds
    clipped to ``low``..``high``, each size once): small worlds are cheap, larger ones can
    set a bit's patterns among settled bits where a small torus cannot."""
    shapes = dict.fromkeys(
        (min(max(side, low[0]), high[0]), min(max(side, low[1]), high[1]))
        for side in STATS_DESIGN_SIDES
    )
    return [stats_design(space, model, bit, uncertainty, shape, rng) for shape in shapes]


def stats_design(
    space: RuleSpace,
    model: ObservationModel,
    bit: int,
    uncertainty: np.ndarray,
    shape: tuple[int, int],
    rng: np.random.Generator,
) -> np.ndarray:
    """A probe of free bit ``bit`` for statistics (uint8 ``shape``): as many cells of its
    orbit as annealing finds, the other cells' patterns kept away from bits by their
    ``uncertainty`` (float (n_free,), e.g. their entropy), whose unknown outputs would blur
    the statistics."""
    cells = shape[0] * shape[1]
    weight = -np.asarray(uncertainty, dtype=np.float64)
    weight[bit] = 1.0 + float(np.abs(weight).max())
    demand = np.full(space.n_free, float(cells))
    return design_cells(
        free_classes(space), demand, shape, rng, weight=weight, region=model.region(*shape)
    )


def _shapes(area: int, low: tuple[int, int], high: tuple[int, int]) -> tuple[int, int]:
    """The most nearly square (height, width) within ``low``..``high`` of at least ``area``
    cells (or the largest allowed)."""
    height = min(max(low[0], math.isqrt(max(area, 1))), high[0])
    width = min(max(low[1], -(-area // height)), high[1])
    if height * width < area and height < high[0]:
        height = min(high[0], -(-area // width))
    return height, width


def cheapest_design(
    space: RuleSpace,
    model: ObservationModel,
    demand: np.ndarray,
    low: tuple[int, int],
    high: tuple[int, int],
    rng: np.random.Generator,
    *,
    enough: float = 0.97,
) -> tuple[np.ndarray, float]:
    """A design (uint8 (h, w)) covering at least ``enough`` of ``demand`` (sightings per free
    bit, in the observed region of its first step) on the smallest world found between
    ``low`` and ``high``, and the fraction of the demand it covers. Worlds grow by about
    12% in area from ``sum(demand)`` cells until a design covers enough (or the largest is
    reached; the best covered-per-cell design is returned then)."""
    demand = np.asarray(demand, dtype=np.float64)
    total = float(demand.sum())
    if total <= 0:
        raise ValueError("cheapest_design needs a positive demand")
    classes = free_classes(space)
    area = max(int(total), low[0] * low[1])
    best: tuple[float, np.ndarray, float] | None = None
    while True:
        shape = _shapes(area, low, high)
        region = model.region(*shape)
        cells = design_cells(classes, demand, shape, rng, region=region)
        counts = class_counts(cells, classes, space.n_free, region)
        covered = float(np.minimum(counts, demand).sum()) / total
        per_cell = covered / (region[0] * region[1])
        if best is None or per_cell > best[0]:
            best = (per_cell, cells, covered)
        if covered >= enough:
            return cells, covered
        if shape == high or (shape[0] * shape[1] >= high[0] * high[1]):
            return best[1], best[2]
        area = max(area + 1, int(area * 1.12))
