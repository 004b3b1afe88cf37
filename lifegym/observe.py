"""Observation models: what the experimenter sees of a trajectory.

The initial condition is set by the experimenter, so it is always known exactly and on the
whole world. Every later frame passes through the observation model, built from parts
that combine with ``+`` (or :func:`compose`):

* :func:`full` sees every cell of every frame;
* :func:`noisy` (``p``) flips each observed cell independently with probability ``p``;
* :func:`strided` (``k``) sees only frames ``k, 2k, ...`` (the states in between are hidden);
* :func:`window` (``h, w``) sees only rows ``0..h-1`` and columns ``0..w-1`` of the torus
  (the world is larger; the experimenter still sets the whole initial condition);
* :func:`stats` (``sigma``) sees only summary statistics per observed frame (``STAT_NAMES``),
  computed on cells perturbed as in the research notes,
  ``x' = clamp01(int(x + 0.5 + sigma * eps))`` with ``eps ~ N(0, 1)``: a symmetric flip with
  probability ``Phi(-0.5 / sigma)`` (:func:`stats_flip_probability`).

A new kind of observation is a subclass of :class:`ObservationModel` (a frozen dataclass
with its own fields) in its own file. It names itself in :attr:`~ObservationModel.features`
(a feature outside :data:`OBSERVATION_FEATURES`) and overrides what it changes of
:meth:`~ObservationModel.observe`, :meth:`~ObservationModel.observed_times`,
:meth:`~ObservationModel.region`, :attr:`~ObservationModel.fewest_steps`,
:attr:`~ObservationModel.smallest_world`, :meth:`~ObservationModel.describe` and
:meth:`~ObservationModel.explain`. Everything outside the inference engines reads a model
through these; every engine (and the native vector env) refuses a model with a feature it
does not declare, so the model runs only with the engines that say they handle it.

The statistics of a frame (each in [0, 1]):

* ``density``: fraction of live cells;
* ``activity``: fraction of cells that differ from the previous observed frame (from the exact
  initial condition for the first one);
* ``block_entropy``: Shannon entropy of the 16 configurations of 2x2 blocks, in bits / 4.
  Blocks wrap around the torus when the window is the whole world and stay inside the
  window otherwise.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, fields, replace
from typing import TypeGuard

import numpy as np
from numba import njit

from lifegym.cells import kernel_input

__all__ = [
    "COUNT_FIELDS",
    "N_STATS",
    "STAT_NAMES",
    "ObservationModel",
    "bernoulli_chunk",
    "bernoulli_positions",
    "bernoulli_rate",
    "block_channel",
    "block_histograms",
    "compose",
    "frame_counts",
    "frame_statistics",
    "full",
    "is_int",
    "noisy",
    "statistics_from_counts",
    "stats",
    "stats_flip_probability",
    "strided",
    "window",
]

STAT_NAMES = ("density", "activity", "block_entropy")
N_STATS = len(STAT_NAMES)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def is_int(value: object) -> TypeGuard[int | np.integer]:
    """Whether ``value`` is an integer (Python or NumPy), a bool not counted."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


#: The features of the built-in observation parts (``ObservationModel.features``). An engine
#: that declares all of them handles every built-in model, and still refuses a model class
#: with a feature of its own.
OBSERVATION_FEATURES = frozenset({"frames", "statistics", "noise", "stride", "window"})


@dataclass(frozen=True)
class ObservationModel:
    """A combination of the observation parts (see the module docstring).

    Attributes:
        noise: probability ``p`` in [0, 0.5] that an observed cell is flipped.
        stride: ``k >= 1``: frames ``k, 2k, ...`` up to the last step are observed.
        window: ``(h, w)`` crop at the top-left corner of the world, or None for all of it.
        stats_sigma: ``sigma > 0``: observe statistics only, cells perturbed with this scale;
            None to observe the frames themselves.
    """

    noise: float = 0.0
    stride: int = 1
    window: tuple[int, int] | None = None
    stats_sigma: float | None = None

    def __post_init__(self) -> None:
        if not _is_number(self.noise) or not 0.0 <= float(self.noise) <= 0.5:
            raise ValueError(f"noise p must be a number in [0, 0.5], got {self.noise!r}")
        if not is_int(self.stride) or self.stride < 1:
            raise ValueError(f"stride k must be an int >= 1, got {self.stride!r}")
        if self.window is not None:
            ok = (
                isinstance(self.window, tuple | list)
                and len(self.window) == 2
                and all(is_int(v) and v >= 1 for v in self.window)
            )
            if not ok:
                raise ValueError(
                    f"window must be (h, w) with integers h, w >= 1, got {self.window!r}"
                )
            object.__setattr__(self, "window", (int(self.window[0]), int(self.window[1])))
        if self.stats_sigma is not None:
            if not _is_number(self.stats_sigma) or not float(self.stats_sigma) > 0:
                raise ValueError(f"stats sigma must be a number > 0, got {self.stats_sigma!r}")
            if self.noise:
                raise ValueError(
                    "stats(sigma) perturbs the cells itself; it cannot be combined with "
                    f"noisy(p) (got p = {self.noise})"
                )
            object.__setattr__(self, "stats_sigma", float(self.stats_sigma))
        object.__setattr__(self, "noise", float(self.noise))
        object.__setattr__(self, "stride", int(self.stride))

    def __add__(self, other: ObservationModel) -> ObservationModel:
        return compose(self, other)

    @functools.cached_property  # the model is frozen: its features never change
    def features(self) -> frozenset[str]:
        """What this model is, as the inference engines declare what they handle
        (``InferenceEngine.observes``): ``"frames"`` or ``"statistics"`` (what is seen), and
        ``"noise"``, ``"stride"``, ``"window"`` for each part in use (the built-in
        :data:`OBSERVATION_FEATURES`); a subclass adds its own."""
        found = {"statistics" if self.stats_sigma is not None else "frames"}
        if self.noise:
            found.add("noise")
        if self.stride != 1:
            found.add("stride")
        if self.window is not None:
            found.add("window")
        return frozenset(found)

    @property
    def flip_probability(self) -> float:
        """Probability that an observed cell is flipped (the stats perturbation included)."""
        if self.stats_sigma is not None:
            return stats_flip_probability(self.stats_sigma)
        return self.noise

    @property
    def shows_frames(self) -> bool:
        """Whether the observed frames are seen (rather than statistics of them)."""
        return "frames" in self.features

    @property
    def fewest_steps(self) -> int:
        """The fewest steps an experiment must run to show anything (its first observed
        step: the stride)."""
        return self.stride

    @property
    def smallest_world(self) -> tuple[int, int]:
        """The smallest (height, width) an experiment may use: 3x3 (a cell and its whole
        neighbourhood), or the window (it must fit)."""
        return self.window if self.window is not None else (3, 3)

    def observed_times(self, steps: int) -> np.ndarray:
        """The steps whose frames are observed in a run of ``steps`` steps: k, 2k, ... <= steps."""
        return np.arange(self.stride, steps + 1, self.stride, dtype=np.int64)

    def observe(
        self, frames: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """This model applied to one clean trajectory ``frames`` (T+1, H, W), frame 0 the
        initial state.

        Returns ``(times, observed_frames, observed_stats)``: the observed steps (int64
        (n,)), and either the observed frames (uint8 (n, h, w), stats None) or the statistics
        (float64 (n, N_STATS), frames None). Randomness comes only from ``rng``.
        """
        steps = frames.shape[0] - 1
        height, width = frames.shape[1:]
        h, w = self.region(height, width)
        times = self.observed_times(steps)
        seen = np.ascontiguousarray(frames[times, :h, :w])
        if self.stats_sigma is not None:
            eps = rng.standard_normal(seen.shape)
            perturbed = np.clip(np.trunc(seen + 0.5 + self.stats_sigma * eps), 0, 1)
            perturbed = perturbed.astype(np.uint8)
            initial = frames[0, :h, :w]
            return times, None, frame_statistics(initial, perturbed, self.wraps(height, width))
        if self.noise:
            flat = seen.reshape(-1)
            flat[bernoulli_positions(flat.size, self.noise, rng)] ^= 1
        return times, seen, None

    def cost(self, height: int, width: int, steps: int) -> int:
        """Observed cell-steps of a ``steps``-step experiment in a ``height`` x ``width`` world:
        observed cells per frame times observed frames."""
        h, w = self.region(height, width)
        return h * w * len(self.observed_times(steps))

    def check_world(self, height: int, width: int) -> None:
        """Raise ValueError when the window does not fit in a world of this size."""
        if self.window is not None and (self.window[0] > height or self.window[1] > width):
            raise ValueError(
                f"window {self.window[0]}x{self.window[1]} is larger than the world "
                f"{height}x{width}; the window must fit inside it"
            )

    def region(self, height: int, width: int) -> tuple[int, int]:
        """Shape (h, w) of the observed region in a world of this size."""
        self.check_world(height, width)
        return self.window if self.window is not None else (height, width)

    def wraps(self, height: int, width: int) -> bool:
        """Whether the observed region is the whole torus (2x2 blocks then wrap)."""
        return self.region(height, width) == (height, width)

    def describe(self) -> str:
        """Short text, e.g. ``"noisy(0.05) + strided(2)"``."""
        parts = []
        if self.noise:
            parts.append(f"noisy({self.noise:g})")
        if self.stride != 1:
            parts.append(f"strided({self.stride})")
        if self.window is not None:
            parts.append(f"window({self.window[0]}, {self.window[1]})")
        if self.stats_sigma is not None:
            parts.append(f"stats({self.stats_sigma:g})")
        return " + ".join(parts) if parts else "full()"

    def explain(self) -> str:
        """What an agent sees under this model, in words (the text protocol's
        ``observation`` rule, for language-model agents)."""
        if self.stats_sigma is not None:
            seen = (
                "only statistics of each observed frame: density (fraction of live cells), "
                "activity (fraction of cells changed since the previous observed frame, or "
                "the initial condition), block_entropy (entropy of the 2x2 blocks, bits/4), "
                "computed after each cell is flipped with probability "
                f"{self.flip_probability:.3g} (sigma {self.stats_sigma:g})"
            )
        elif self.noise:
            seen = (
                "the frames, each observed cell flipped independently with probability "
                f"{self.noise:g}"
            )
        else:
            seen = "the frames, every observed cell exactly (no noise)"
        if self.stride > 1:
            k = self.stride
            seen += (
                f"; only every {_ordinal(k)} step is observed ({k}, {2 * k}, {3 * k}, ...): "
                "the states in between are hidden"
            )
        if self.window is not None:
            h, w = self.window
            seen += (
                f"; only the top-left {h}x{w} window (rows 0..{h - 1}, columns 0..{w - 1}) of "
                "each frame is observed, while the initial condition covers the whole world"
            )
        return seen


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def full() -> ObservationModel:
    """Every cell of every frame, no noise."""
    return ObservationModel()


def noisy(p: float) -> ObservationModel:
    """Each observed cell flipped independently with probability ``p`` in [0, 0.5]."""
    return ObservationModel(noise=p)


def strided(k: int) -> ObservationModel:
    """Only every ``k``-th frame is observed."""
    return ObservationModel(stride=k)


def window(h: int, w: int) -> ObservationModel:
    """Only the top-left ``h`` x ``w`` crop of the world is observed."""
    return ObservationModel(window=(h, w))


def stats(sigma: float) -> ObservationModel:
    """Only the statistics ``STAT_NAMES`` of each observed frame, cells perturbed by ``sigma``."""
    return ObservationModel(stats_sigma=sigma)


def compose(*models: ObservationModel) -> ObservationModel:
    """One model doing what each of ``models`` does; a part set twice raises ValueError.

    The result is of the most derived class among ``models`` (a subclass with parts of its
    own composes with the built-in parts); a field left at its default is a part not in use.
    """
    for model in models:
        if not isinstance(model, ObservationModel):
            raise TypeError(f"can only compose ObservationModel, got {type(model).__name__}")
    kinds = {type(model) for model in models} or {ObservationModel}
    derived = [kind for kind in kinds if all(issubclass(kind, other) for other in kinds)]
    if not derived:
        names = ", ".join(sorted(kind.__name__ for kind in kinds))
        raise TypeError(f"cannot compose models of unrelated classes: {names}")
    default = derived[0]()
    result = default
    for model in models:
        changes = {}
        for part in fields(model):
            value = getattr(model, part.name)
            if value == getattr(default, part.name):
                continue
            if getattr(result, part.name) != getattr(default, part.name):
                raise ValueError(f"observation part {part.name!r} is set twice when composing")
            changes[part.name] = value
        result = replace(result, **changes)
    return result


def stats_flip_probability(sigma: float) -> float:
    """P(``clamp01(int(x + 0.5 + sigma * eps)) != x``) for x in {0, 1}: ``Phi(-0.5 / sigma)``."""
    return 0.5 * math.erfc(0.5 / (sigma * math.sqrt(2.0)))


# ------------------------------------------------------------------------------ statistics


#: What :func:`frame_counts` counts per frame: live cells, cells changed since the previous
#: frame, and the 16 2x2-block configurations (code ``8a + 4b + 2c + d`` for ``a b`` over
#: ``c d``).
COUNT_FIELDS = ("live", "changed", *(f"block{code:x}" for code in range(16)))

_CODES = np.arange(16)
_BLOCK_DISTANCE = np.array([[bin(a ^ b).count("1") for b in _CODES] for a in _CODES])


@njit(cache=True, nogil=True)
def _counts_kernel(initial, frames, wrap, counts, blocks=True):
    """``counts[i]`` = the ``COUNT_FIELDS`` of ``frames[i]`` after the frame before it
    (``initial`` first); without ``blocks`` only live and changed cells (the behaviour
    test's cheap screen)."""
    n, height, width = frames.shape
    rows = height if wrap else height - 1
    cols = width if wrap else width - 1
    codes = np.empty(width, dtype=np.int64)
    # Four interleaved histograms: consecutive increments rarely hit the same counter.
    histograms = np.zeros((4, 16), dtype=np.int64)
    for i in range(n):
        cells = frames[i].ravel()
        previous = initial.ravel() if i == 0 else frames[i - 1].ravel()
        live = 0
        changed = 0
        for j in range(cells.shape[0]):  # vectorises
            live += cells[j]
            changed += cells[j] ^ previous[j]
        counts[i, 0] = live
        counts[i, 1] = changed
        if not blocks:
            continue
        frame = frames[i]
        histograms[:] = 0
        for r in range(rows):
            top = frame[r]
            bottom = frame[(r + 1) % height]
            for c in range(width - 1):  # no modulo: vectorises
                codes[c] = (
                    8 * np.int64(top[c])
                    + 4 * np.int64(top[c + 1])
                    + 2 * np.int64(bottom[c])
                    + np.int64(bottom[c + 1])
                )
            last = width - 1
            codes[last] = (
                8 * np.int64(top[last])
                + 4 * np.int64(top[0])
                + 2 * np.int64(bottom[last])
                + np.int64(bottom[0])
            )
            for c in range(cols):
                histograms[c & 3, codes[c]] += 1
        for code in range(16):
            counts[i, 2 + code] = (
                histograms[0, code]
                + histograms[1, code]
                + histograms[2, code]
                + histograms[3, code]
            )


def frame_counts(initial: np.ndarray, frames: np.ndarray, wrap: bool) -> np.ndarray:
    """``COUNT_FIELDS`` of each of ``frames`` (n, h, w) after ``initial`` (h, w): int64 (n, 18).
    A batch, ``initial`` (..., h, w) with ``frames`` (..., n, h, w), gives (..., n, 18).

    2x2 blocks wrap around when ``wrap`` (the region is the whole torus), else stay inside.
    """
    lead = np.shape(frames)[:-3]
    if np.ndim(frames) < 3 or np.shape(initial) != lead + np.shape(frames)[-2:]:
        raise ValueError(
            f"initial {np.shape(initial)} does not match frames {np.shape(frames)}: "
            "expected (..., h, w) with (..., n, h, w)"
        )
    flat = kernel_input(np.reshape(frames, (-1, *np.shape(frames)[-3:])))
    starts = kernel_input(np.reshape(initial, (-1, *np.shape(initial)[-2:])))
    counts = np.zeros((*flat.shape[:2], len(COUNT_FIELDS)), dtype=np.int64)
    _batch_counts_kernel(starts, flat, bool(wrap), counts)
    return counts.reshape(*lead, *counts.shape[1:])


@njit(cache=True, nogil=True)
def _batch_counts_kernel(initials, frames, wrap, counts):
    for b in range(frames.shape[0]):
        _counts_kernel(initials[b], frames[b], wrap, counts[b])


def block_histograms(frames: np.ndarray, wrap: bool) -> np.ndarray:
    """Counts of the 16 2x2-block configurations of each frame: int64 (n, 16)."""
    frames = np.asarray(frames, dtype=np.uint8)
    return frame_counts(frames[0], frames, wrap)[:, 2:]


@njit(cache=True, nogil=True)
def _statistics_kernel(counts, cells, q, channel, out):
    """``out[r, i]`` = the statistics of ``counts[r, i]`` (see statistics_from_counts)."""
    flip_first = q
    flip_later = 2.0 * q * (1.0 - q)
    blocks = np.empty(16)
    for r in range(counts.shape[0]):
        for i in range(counts.shape[1]):
            live = counts[r, i, 0] / cells
            changed = counts[r, i, 1] / cells
            flips = flip_first if i == 0 else flip_later
            out[r, i, 0] = live * (1.0 - q) + (1.0 - live) * q
            out[r, i, 1] = changed * (1.0 - flips) + (1.0 - changed) * flips
            total = 0.0
            for code in range(16):
                value = 0.0
                for source in range(16):
                    value += counts[r, i, 2 + source] * channel[source, code]
                blocks[code] = value
                total += value
            entropy = 0.0
            if total > 0:
                for code in range(16):
                    if blocks[code] > 0:
                        prob = blocks[code] / total
                        entropy -= prob * np.log2(prob)
            out[r, i, 2] = entropy / 4.0


def block_channel(q: float) -> np.ndarray:
    """float64 (16, 16): the probability that each cell flipped with probability ``q`` turns
    2x2 block configuration ``a`` into ``b`` (``_statistics_kernel``'s ``channel``)."""
    return q**_BLOCK_DISTANCE * (1 - q) ** (4 - _BLOCK_DISTANCE)


@functools.lru_cache(maxsize=64)
def _kernel_channel(q: float) -> np.ndarray:
    """``block_channel(q)`` for the kernels, kept per ``q`` (the kernels only read it; it
    stays writable so that they compile once)."""
    return block_channel(q)


def statistics_from_counts(counts: np.ndarray, cells: int, q: float = 0.0) -> np.ndarray:
    """``STAT_NAMES`` (..., n, N_STATS) from ``frame_counts`` (..., n, 18) of ``cells``-cell
    frames; with ``q`` > 0, their expectation when each cell is flipped with probability q.

    The first frame on the frame axis is compared with an exact initial condition (its
    cells flip with probability q), later ones with a flipped previous frame (2q(1-q));
    the block entropy is that of the expected block histogram.
    """
    counts = np.asarray(counts, dtype=np.float64)
    lead = counts.shape[:-2]
    flat = np.ascontiguousarray(counts.reshape(-1, *counts.shape[-2:]))
    out = np.empty((*flat.shape[:2], N_STATS))
    _statistics_kernel(flat, float(cells), float(q), _kernel_channel(float(q)), out)
    return out.reshape(*lead, *out.shape[1:])


def frame_statistics(initial: np.ndarray, frames: np.ndarray, wrap: bool) -> np.ndarray:
    """``STAT_NAMES`` of each frame: float64 (n, N_STATS).

    ``initial`` (h, w) is the exactly known previous state of the first frame; ``frames``
    (n, h, w) are the observed (perturbed) frames of the same region.
    """
    frames = np.asarray(frames, dtype=np.uint8)
    cells = frames.shape[1] * frames.shape[2]
    return statistics_from_counts(frame_counts(initial, frames, wrap), cells)


# ------------------------------------------------------------------------------ noise draws


def bernoulli_chunk(n: int, p: float) -> int:
    """Exponential draws :func:`bernoulli_positions` makes at a time for ``n`` cells at ``p``."""
    return int(n * p + 6 * np.sqrt(n * p) + 16)


def bernoulli_rate(p: float) -> float:
    """The rate that turns a standard exponential draw into a geometric(p) gap."""
    return -math.log1p(-p)


def bernoulli_positions(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Indices in ``range(n)`` each included independently with probability ``p``.

    Exact (the gaps between successive indices of a Bernoulli process are geometric) and
    O(n p) rather than O(n) random draws.
    """
    if p <= 0.0 or n <= 0:
        return np.zeros(0, dtype=np.int64)
    if p >= 0.5:  # dense: direct draws are as cheap
        return np.flatnonzero(rng.random(n) < p)
    chunk = bernoulli_chunk(n, p)
    rate = bernoulli_rate(p)

    def gaps() -> np.ndarray:
        # floor(E / rate) + 1 with E ~ Exp(1) is geometric(p) (and faster to draw than
        # rng.geometric); a gap past n ends the run anyway, so capping avoids overflow.
        geometric = np.floor(rng.standard_exponential(chunk) / rate) + 1.0
        return np.cumsum(np.minimum(geometric, n + 1.0).astype(np.int64))

    positions = gaps() - 1
    while positions[-1] < n:
        positions = np.concatenate([positions, gaps() + positions[-1]])
    return positions[positions < n]
