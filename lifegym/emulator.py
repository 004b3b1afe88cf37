"""A learned, exactly symmetric one-step model of a Life-like rule (torch).

The emulator is a small CNN on the torus: a 3x3 "front" (the 9 cells of each cell's
neighbourhood, circular padding) followed by 1x1 layers, giving the logit of the cell's next
state. Because its receptive field is exactly the 3x3 patch, the network *is* a function of the
pattern index (see :mod:`lifegym.neighbourhoods` for the convention: cell ``(r, c)`` is bit
``8 - (3r + c)``), so everything is computed on the 512 patterns fed as unfolded 3x3 patches
(9 input channels, no padding issues), and a grid is advanced by looking each cell's pattern up
in the resulting table (:meth:`Emulator.rollout`).

Exact symmetry
==============
``symmetry`` picks a group ``G`` acting on the 9 cells of the patch:

============  =====  ===========================================================
symmetry      group  acts on the patch by
============  =====  ===========================================================
none          C1     nothing (translation equivariance only, from the convolution)
p4            C4     90-degree rotations
p4m           D4     rotations and reflections
ring          C8     cyclic shifts of the 8 outer cells (45-degree "rotations")
totalistic    S8     any permutation of the 8 outer cells (40320 elements)
============  =====  ===========================================================

The symmetric logit is the group average of the shared MLP ``f``::

    z(x) = 1/|G| * sum_{g in G} f(g . x)

which is invariant under ``G`` by construction, for every weight setting, so the symmetry is
exact (up to float rounding, ~1e-7), not learned. On binary patches the multiset
``{g . x : g in G}`` covers the orbit of ``x`` evenly (each orbit element ``|Stab(x)|`` times),
so the group average equals the plain average of ``f`` over the orbit of ``x``. That is how it
is computed: one ``(512, 512)`` orbit-averaging matrix applied to ``f`` on the 512 patterns. It
is cheap for every group, including S8, whose 40320 permutations are never enumerated.
:meth:`Emulator.group_average` also runs the literal construction (permute the 9 input
channels, run the MLP, average the logits) for the groups with explicit permutation lists (C1,
C4, D4, C8); the tests check both agree. Growing the group (:meth:`Emulator.grow`) only changes
the averaging matrix: the MLP and its trained weights stay the same.

Training
========
:meth:`Emulator.fit` fits the next-state probability of every pattern to the data of every
cell of every transition (stride 1), each trajectory's cells weighted by its trajectory weight.
Since the model output depends on a cell only through its pattern, the full-batch loss is
computed from sufficient statistics: for each pattern ``p``, the weighted number of cells
``n_p`` showing it and the weighted number ``k_p`` of those alive next:
``loss = sum_p n_p softplus(z_p) - k_p z_p`` (divided by ``sum_p n_p``), the exact
binary cross-entropy of all the cells. An epoch costs one MLP pass over 512 patterns,
whatever the amount of data. Optimiser: Adam, full batch. (Weighting each pattern by
``sqrt(n_p)`` instead, which has the same minimiser, was measured: faster on average, but
on some rules the network then never fits a common pattern, e.g. ``ring`` on ``B13/S0238``
kept ``B0`` wrong after 2000 epochs in 3 of 6 seeds, against 0 of 6 with counts.)

Noisy frames (``noise=p``: each observed cell flipped with probability p) are not trained on
at face value: a flipped cell corrupts the 9 input patterns around it as well as a target,
and in a soup that has settled, most observations of a rare pattern are corrupted copies of
common ones, which is how face-value training gets rare classes such as ``B8`` or ``S0``
wrong. Instead :func:`expected_true_counts` runs EM over the hidden true inputs and outputs
(the true-pattern prior of the noisy inputs estimated by EM as well,
:func:`noisy_input_posterior`), and the network is fitted to the resulting expected true
counts with the same loss. Measured at p = 0.05, the initial condition exact: the 77 B/S
rules of ``benchmarks/emulator_fit.py`` all exact from one 63x63 soup of 16 steps with
``totalistic`` (face value: 17/20 random rules), 30/30 random isotropic rules with ``p4m``
from 4 soups (face value, one soup: 0/10).

Strided frames
==============
With ``stride=k > 1`` (frames ``k`` steps apart) the states in between are hidden and the data
constrain only the ``k``-fold composition of the table. ``strided="straight-through"`` unrolls
``k`` steps of the table model on the grids, binarising the hidden states with a
straight-through estimator (the gradient of the next-state probability with respect to the 9
input cells is that of the table's multilinear extension, ``P(x with x_j = 1) - P(x with
x_j = 0)``, exact at binary states). Its loss has poor local minima: it recovers Life from
stride-2 data but none of 10 random B/S rules in a measurement. The default,
``strided="search"`` (:mod:`lifegym.unroll`), searches the binary tables of the group's
orbits directly with the simulator and teaches the best one to the network: 30/30 random B/S
and 30/30 random isotropic rules exact from one 63x63 stride-2 trajectory of 16 steps, and
74/77 of ``benchmarks/emulator_fit.py``'s B/S rules (the 3 misses are self-complementary
rules, which stride-2 frames cannot tell from their complement twins).

Determinism: weights are drawn from a ``torch.Generator`` seeded with ``seed`` and training is
full batch with no sampling, so the same seed, data and thread count give bit-identical
results. Only deterministic CPU kernels are used (dense matmuls, gathers; no ``index_add`` or
``scatter_add``), so no global torch flag is changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from lifegym.families import RuleFamily, get_family
from lifegym.neighbourhoods import pattern_orbits, symmetry_group
from lifegym.observe import frame_statistics
from lifegym.rules import Rule
from lifegym.unroll import FIT_TOL, unrolled_table

__all__ = [
    "FAMILY_OF",
    "GROUP_OF",
    "SYMMETRIES",
    "Emulator",
    "confusion_matrix",
    "denoised_counts",
    "expected_true_counts",
    "extract_rule",
    "noisy_input_posterior",
    "orbit_labels",
    "subgroup",
]

N_PATTERNS = 512
SYMMETRIES: tuple[str, ...] = ("none", "p4", "p4m", "ring", "totalistic")
STRIDED_METHODS: tuple[str, ...] = ("search", "straight-through")
GROUP_OF = {"none": "C1", "p4": "C4", "p4m": "D4", "ring": "C8", "totalistic": "S8"}
FAMILY_OF = {
    "none": "free",
    "p4": "rotation",
    "p4m": "isotropic",
    "ring": "ring",
    "totalistic": "totalistic",
}
"""Symmetry name -> the rule family whose rules are exactly the tables with that symmetry."""
"""Symmetry name -> group acting on the 3x3 patch (names of
:func:`lifegym.neighbourhoods.symmetry_group`; ``S8`` = any permutation of the outer cells)."""

_BITS = 1 << (8 - np.arange(9))  # weight of cell k = 3r + c in a pattern index
_PATTERN_CELLS = ((np.arange(N_PATTERNS)[:, None] >> (8 - np.arange(9))) & 1).astype(np.float32)
_RESTARTS = 3  # fresh initialisations when a fit ends contradicting its data
_EM_ITERATIONS = 500  # noisy data: the most EM iterations of expected_true_counts


def _check_symmetry(symmetry: Any) -> str:
    if not isinstance(symmetry, str) or symmetry not in SYMMETRIES:
        raise ValueError(f"unknown symmetry {symmetry!r}; expected one of {list(SYMMETRIES)}")
    return symmetry


def orbit_labels(symmetry: str) -> np.ndarray:
    """``int64[512]``: an orbit label per pattern under the group of ``symmetry``."""
    symmetry = _check_symmetry(symmetry)
    if symmetry == "totalistic":
        return np.asarray(get_family("totalistic").orbit_of, dtype=np.int64)
    return np.asarray(pattern_orbits(GROUP_OF[symmetry]), dtype=np.int64)


def subgroup(small: str, big: str) -> bool:
    """Whether the group of symmetry ``small`` is contained in that of ``big``.

    Decided on the orbit partitions: every ``small`` orbit must lie inside one ``big`` orbit
    (none < p4 < p4m < totalistic, p4 < ring < totalistic).
    """
    a, b = orbit_labels(small), orbit_labels(big)
    first: dict[int, int] = {}
    for p in range(N_PATTERNS):
        if first.setdefault(int(a[p]), int(b[p])) != int(b[p]):
            return False
    return True


def _averaging_matrix(symmetry: str) -> np.ndarray | None:
    """``(512, 512)`` float32 matrix averaging over orbits, or None for the trivial group."""
    if symmetry == "none":
        return None
    labels = orbit_labels(symmetry)
    same = (labels[:, None] == labels[None, :]).astype(np.float64)
    return (same / same.sum(axis=1, keepdims=True)).astype(np.float32)


def extract_rule(probabilities: Any, family: str | RuleFamily) -> tuple[Rule, np.ndarray]:
    """A rule of ``family`` from next-state probabilities of the 512 patterns.

    The probabilities are averaged within each orbit of the family (one orbit per free bit),
    the mean thresholded at 0.5 (a bit is 1 when the mean is strictly above 0.5). Returns the
    rule and ``float64[n_bits]`` confidences ``|2 * mean - 1|`` in [0, 1], in the family's bit
    order.
    """
    fam = get_family(family)
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.shape != (N_PATTERNS,):
        raise ValueError(f"probabilities must have shape (512,), got {probs.shape}")
    if not np.all((probs >= 0) & (probs <= 1)):
        raise ValueError("probabilities must lie in [0, 1]")
    orbit = np.asarray(fam.orbit_of, dtype=np.int64)
    sums = np.bincount(orbit, weights=probs, minlength=fam.n_bits)
    counts = np.bincount(orbit, minlength=fam.n_bits)
    mean = sums / counts
    bits = (mean > 0.5).astype(np.uint8)
    confidence = np.clip(np.abs(2.0 * mean - 1.0), 0.0, 1.0)
    return Rule.from_bits(bits, fam, check=False), confidence


def _check_noise(noise: Any) -> float:
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)):
        raise ValueError(f"noise must be a number in [0, 0.5), got {noise!r}")
    if not 0 <= noise < 0.5:
        raise ValueError(f"noise must be in [0, 0.5), got {noise!r}")
    return float(noise)


def _check_counts(seen: Any, alive: Any, seen_name: str, alive_name: str) -> np.ndarray:
    n = np.asarray(seen, dtype=np.float64)
    k = np.asarray(alive, dtype=np.float64)
    if n.shape != (N_PATTERNS,) or k.shape != (N_PATTERNS,):
        raise ValueError(
            f"{seen_name} and {alive_name} must have shape ({N_PATTERNS},), got {n.shape} "
            f"and {k.shape}"
        )
    if not (np.isfinite(n).all() and np.isfinite(k).all()):
        raise ValueError(f"{seen_name} and {alive_name} must be finite")
    if (n < 0).any() or (k < 0).any() or (k > n * (1 + 1e-9)).any():
        raise ValueError(f"counts must be >= 0 with {alive_name} <= {seen_name}")
    return np.stack([n, k])


def confusion_matrix(noise: float) -> np.ndarray:
    """``float64 (512, 512)``: ``[a, b]`` = P(pattern ``b`` is observed | true pattern ``a``)
    when each of the 9 cells is flipped independently with probability ``noise``."""
    noise = _check_noise(noise)
    differ = np.arange(N_PATTERNS)[:, None] ^ np.arange(N_PATTERNS)[None, :]
    flips = _PATTERN_CELLS[differ].sum(axis=-1).astype(np.int64)  # Hamming distance
    return noise**flips * (1 - noise) ** (9 - flips)


def noisy_input_posterior(observed: Any, noise: float, iterations: int = 200) -> np.ndarray:
    """``float64 (512, 512)``: ``[b, a]`` = P(true input pattern ``a`` | observed ``b``).

    ``observed`` (512,) counts the observed input patterns. The prior over true patterns is
    their maximum-likelihood distribution given those counts and the flip model (EM on the
    mixture ``P(b) = sum_a prior(a) confusion[a, b]``), so the posterior adapts to whatever
    states the trajectories pass through. Rows no true pattern can explain are uniform.
    """
    counts = np.asarray(observed, dtype=np.float64)
    confusion = confusion_matrix(noise)
    if counts.sum() <= 0:
        return np.full((N_PATTERNS, N_PATTERNS), 1.0 / N_PATTERNS)
    prior = (counts + 1e-3) / (counts + 1e-3).sum()
    freq = counts / counts.sum()
    for _ in range(iterations):
        marginal = prior @ confusion
        ratio = np.divide(freq, marginal, out=np.zeros_like(freq), where=marginal > 0)
        prior = prior * (confusion @ ratio)
    joint = prior[:, None] * confusion  # [a, b]
    total = joint.sum(axis=0)
    posterior = np.full((N_PATTERNS, N_PATTERNS), 1.0 / N_PATTERNS)
    possible = total > 0  # an observed pattern no true pattern explains: keep uniform
    posterior[possible] = (joint[:, possible] / total[possible]).T
    return posterior


def denoised_counts(
    exact: np.ndarray, noisy: np.ndarray, mixing: np.ndarray, probs: np.ndarray, noise: float
) -> np.ndarray:
    """Expected ``(seen, alive)`` counts of the TRUE transitions, given the observed ones.

    ``exact`` and ``noisy`` are (2, 512) ``(seen, observed alive)`` counts by input pattern,
    known exactly or itself observed through flips of probability ``noise``; ``mixing`` is
    :func:`noisy_input_posterior`; ``probs`` (512,) the current P(true next = 1 | true input).
    The E-step of EM: each observation is spread over the true (input, output) pairs that
    could have produced it, in proportion to their probability under ``probs``.
    """
    p = float(noise)
    q = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1 - 1e-12)
    r = p + (1 - 2 * p) * q  # P(observed alive | true input)
    n_e, k_e = exact
    alive = k_e * q * (1 - p) / r + (n_e - k_e) * q * p / (1 - r)
    n_o, k_o = noisy
    up = mixing.T @ (k_o / np.maximum(mixing @ r, 1e-300))
    down = mixing.T @ ((n_o - k_o) / np.maximum(mixing @ (1 - r), 1e-300))
    seen = n_e + r * up + (1 - r) * down
    alive = alive + q * (1 - p) * up + q * p * down
    return np.stack([seen, np.minimum(alive, seen)])


def expected_true_counts(
    exact: np.ndarray, noisy: np.ndarray, noise: float, pool: np.ndarray | None = None
) -> np.ndarray:
    """``(seen, alive)`` (2, 512): the true transitions behind noisy observed counts.

    EM for the table ``q`` (P(true next = 1 | true input)) that maximises the likelihood of
    the observations, the true inputs and outputs hidden: it starts from ``q = 1/2``
    everywhere, alternates :func:`denoised_counts` (E) with ``q = alive / seen`` (M,
    averaged over orbits with the ``pool`` matrix, e.g. the emulator's group average), and
    returns the last E-step's counts. The log-likelihood is concave in ``q``, so EM from an
    interior start reaches its maximum. Patterns with no evidence keep ``q = 1/2``.
    """
    mixing = noisy_input_posterior(noisy[0], noise)
    q = np.full(N_PATTERNS, 0.5)
    for _ in range(_EM_ITERATIONS):
        counts = denoised_counts(exact, noisy, mixing, q, noise)
        seen, alive = counts if pool is None else (pool @ counts[0], pool @ counts[1])
        new = np.where(seen > 0, alive / np.maximum(seen, 1e-300), 0.5)
        if np.abs(new - q).max() < 1e-7:
            break
        q = new
    return counts


def _check_trajectories(trajectories: Any) -> list[np.ndarray]:
    if isinstance(trajectories, np.ndarray) and trajectories.ndim == 3:
        trajectories = [trajectories]
    if not isinstance(trajectories, (list, tuple)) or len(trajectories) == 0:
        raise ValueError(
            "trajectories must be a non-empty list of uint8 arrays (T+1, H, W), got "
            f"{type(trajectories).__name__}"
        )
    out = []
    for i, traj in enumerate(trajectories):
        arr = np.asarray(traj)
        if arr.dtype != np.uint8 and arr.dtype != np.bool_:
            raise ValueError(f"trajectories[{i}] must be a uint8 array, got dtype {arr.dtype}")
        if arr.ndim != 3 or arr.shape[0] < 2 or 0 in arr.shape:
            raise ValueError(
                f"trajectories[{i}] must have shape (T+1, H, W) with T >= 1 and H, W >= 1, "
                f"got shape {arr.shape}"
            )
        if arr.dtype == np.uint8 and arr.max() > 1:
            raise ValueError(
                f"trajectories[{i}] must hold only 0 and 1, found value {int(arr.max())}"
            )
        out.append(np.ascontiguousarray(arr, dtype=np.uint8))
    return out


def _check_weights(weights: Any, n: int, decay: float) -> np.ndarray:
    if weights is None:
        w = decay ** np.arange(n - 1, -1, -1, dtype=np.float64)  # newest (last) weight 1
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"weights must have one value per trajectory ({n}), got {w.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"weights must be finite, >= 0 and not all 0, got {w.tolist()}")
    return w / w.sum()


def _pattern_indices(frames: np.ndarray) -> np.ndarray:
    """Pattern index (int64) of every cell of frames (N, H, W) on the torus."""
    idx = np.zeros(frames.shape, dtype=np.int64)
    for k in range(9):
        r, c = divmod(k, 3)
        idx += np.roll(frames, shift=(1 - r, 1 - c), axis=(1, 2)).astype(np.int64) * int(_BITS[k])
    return idx


class Emulator:
    """An exactly ``symmetry``-invariant one-step CNN emulator of a Life-like rule.

    Args:
        symmetry: "none", "p4", "p4m", "ring" or "totalistic" (see the module doc).
        seed: seed of the weight initialisation (and of everything random here).
        device: "cpu" (default) or "cuda"/"cuda:N" when CUDA is available.
        width: hidden channels of the MLP (the 3x3 front and the 1x1 layer).
        depth: number of hidden layers (>= 1): the 3x3 front plus ``depth - 1`` 1x1 layers.
        decay: default trajectory weights in :meth:`fit` are ``decay ** age`` (age 0 = the
            newest, last trajectory), normalised to sum 1.
    """

    def __init__(
        self,
        symmetry: str = "none",
        seed: int = 0,
        device: str = "cpu",
        width: int = 64,
        *,
        depth: int = 2,
        decay: float = 0.5,
    ) -> None:
        self.symmetry = _check_symmetry(symmetry)
        self.device = self._check_device(device)
        if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
            raise ValueError(f"width must be an int >= 1, got {width!r}")
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
            raise ValueError(f"depth must be an int >= 1, got {depth!r}")
        if not 0 < decay <= 1:
            raise ValueError(f"decay must be in (0, 1], got {decay!r}")
        self.seed = int(seed)
        self.width = int(width)
        self.decay = float(decay)
        self.generator = torch.Generator().manual_seed(self.seed)
        layers: list[nn.Module] = [nn.Linear(9, self.width), nn.SiLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(self.width, self.width), nn.SiLU()]
        layers.append(nn.Linear(self.width, 1))
        self.net = nn.Sequential(*layers)
        self._initialise()
        self.net.to(self.device)
        self._patterns = torch.tensor(_PATTERN_CELLS, device=self.device)
        self._set_group(self.symmetry)

    # -- construction helpers -----------------------------------------------------------------

    def _initialise(self) -> None:
        """Fresh weights: PyTorch's default init, drawn from the emulator's own generator."""
        with torch.no_grad():
            for layer in self.net:
                if isinstance(layer, nn.Linear):
                    bound = 1.0 / np.sqrt(layer.in_features)
                    for p in (layer.weight, layer.bias):
                        draw = torch.rand(p.shape, generator=self.generator)
                        p.copy_((draw * 2 * bound - bound).to(p.device))

    @staticmethod
    def _check_device(device: Any) -> torch.device:
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from exc
        if dev.type == "cpu":
            return dev
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise ValueError(f"device {device!r} requested but CUDA is not available")
            return dev
        raise ValueError(f"unsupported device {device!r}; use 'cpu' or 'cuda'")

    def _set_group(self, symmetry: str) -> None:
        self.symmetry = symmetry
        avg = _averaging_matrix(symmetry)
        self._avg = None if avg is None else torch.tensor(avg, device=self.device)

    # -- the model ----------------------------------------------------------------------------

    def mlp(self, cells: torch.Tensor) -> torch.Tensor:
        """The shared (unsymmetrised) MLP: cells (..., 9) in {0, 1} -> logits (...)."""
        return self.net(2.0 * cells - 1.0).squeeze(-1)

    def _logits(self) -> torch.Tensor:
        """Symmetrised logits of the 512 patterns (differentiable)."""
        base = self.mlp(self._patterns)
        return base if self._avg is None else self._avg @ base

    def group_average(self, cells: torch.Tensor) -> torch.Tensor:
        """The literal group average ``mean_g f(g . x)`` over explicit permutations.

        ``cells`` (..., 9) unfolded 3x3 patches. Available for none, p4, p4m and ring (the
        groups with a permutation list); for totalistic it raises ValueError (use the orbit
        average, :meth:`logits`, which equals it on binary patches).
        """
        if self.symmetry == "totalistic":
            raise ValueError("group_average: the S8 group of 'totalistic' is not enumerated")
        perms = torch.as_tensor(
            np.asarray(symmetry_group(GROUP_OF[self.symmetry]), dtype=np.int64),
            device=cells.device,
        )
        permuted = cells[..., perms]  # (..., |G|, 9): permuted channel orders
        return self.mlp(permuted).mean(dim=-1)

    def logits(self) -> np.ndarray:
        """``float64[512]``: the symmetric next-state logit of every pattern."""
        with torch.no_grad():
            return self._logits().double().cpu().numpy()

    def probabilities(self) -> np.ndarray:
        """``float64[512]``: P(next state = 1) for every pattern index."""
        with torch.no_grad():
            return torch.sigmoid(self._logits().double()).cpu().numpy()

    def predict(self, patterns: Any) -> np.ndarray:
        """P(next state = 1) for pattern indices (any shape, values in [0, 512))."""
        idx = np.asarray(patterns)
        if not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"patterns must be integer pattern indices, got dtype {idx.dtype}")
        if idx.size and (idx.min() < 0 or idx.max() >= N_PATTERNS):
            raise ValueError(
                f"pattern indices must be in [0, 512), got range [{idx.min()}, {idx.max()}]"
            )
        return self.probabilities()[idx]

    def extract(self, family: str | RuleFamily = "totalistic") -> tuple[Rule, np.ndarray]:
        """The rule of ``family`` closest to the emulator, and per-bit confidence.

        See :func:`extract_rule` (orbit-mean probability thresholded at 0.5, confidence
        ``|2 * mean - 1|``).
        """
        return extract_rule(self.probabilities(), family)

    # -- training -----------------------------------------------------------------------------

    def fit(
        self,
        trajectories: Sequence[np.ndarray],
        weights: Any = None,
        epochs: int = 2000,
        lr: float = 0.02,
        stride: int = 1,
        tol: float | None = 0.1,
        *,
        noise: float = 0.0,
        noisy_initial: bool = False,
        strided: str = "search",
    ) -> Emulator:
        """Train on every consecutive pair of frames of each trajectory; returns ``self``.

        Args:
            trajectories: list of uint8 arrays (T+1, H, W) of 0/1 cells on the torus (a single
                3-D array counts as a list of one).
            weights: one per trajectory (normalised to sum 1); default ``decay ** age``, the
                last trajectory the newest (age 0). Each trajectory's mean cell loss is
                weighted, so grid size and length do not change a trajectory's weight.
            epochs: the most full-batch Adam steps to take.
            lr: Adam learning rate.
            stride: frames are ``stride`` steps apart; with ``stride > 1`` the states in
                between are hidden (see ``strided``).
            tol: stop early (checked every 10 steps) once the model is within ``tol`` of the
                data everywhere: for every orbit of the current group that occurs in the data,
                ``|P(next = 1) - observed frequency| < tol`` (for deterministic data, every
                observed pattern is predicted right with probability > 1 - tol). With
                ``noise`` > 0 the frequencies are those of the expected true counts. A fit
                that ends short of ``tol`` contradicting its data restarts from fresh weights
                (see ``_train_on_counts``). ``None`` runs all ``epochs``, once.
            noise: the probability p in [0, 0.5) with which each cell of frames 1.. was
                flipped when observed (frame 0, the initial condition an experimenter sets,
                is exact unless ``noisy_initial``). The loss is then the likelihood of the
                observed data under the flips: targets are alive with probability
                ``p + (1 - 2p) P(alive)``, and a noisy input pattern is a mixture of the true
                patterns that could have produced it (:func:`noisy_input_posterior`).
            noisy_initial: frame 0 was observed through the same noise.
            strided: how to fit frames ``stride > 1`` apart: ``"search"`` (default) finds
                the table whose ``stride``-step map explains the frames by a search over
                binary tables and teaches it to the network (:mod:`lifegym.unroll`);
                ``"straight-through"`` unrolls ``stride`` steps of the network with
                straight-through binarisation of the hidden states and descends the
                gradient (all ``epochs``; it recovers Life but rarely a random rule, see
                the module doc). ``noise`` enters the search's likelihood; the
                straight-through loss takes frames at face value.

        Calling ``fit`` again continues from the current weights (a fresh Adam state).
        """
        trajs = _check_trajectories(trajectories)
        w = _check_weights(weights, len(trajs), self.decay)
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be an int >= 0, got {epochs!r}")
        if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
            raise ValueError(f"stride must be an int >= 1, got {stride!r}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        if tol is not None and not 0 < tol <= 1:
            raise ValueError(f"tol must be in (0, 1] or None, got {tol!r}")
        noise = _check_noise(noise)
        if strided not in STRIDED_METHODS:
            raise ValueError(f"unknown strided {strided!r}; expected one of {STRIDED_METHODS}")
        if stride == 1:
            self._fit_counts(trajs, w, int(epochs), lr, tol, noise, bool(noisy_initial))
        elif strided == "search":
            target = unrolled_table(
                trajs,
                w,
                stride=int(stride),
                noise=noise,
                family=FAMILY_OF[self.symmetry],
                labels=orbit_labels(self.symmetry),
                warm_start=(self.probabilities() > 0.5).astype(np.uint8),
                generator=self.generator,
            )
            self.fit_counts(np.ones(N_PATTERNS), target, int(epochs), lr, tol=FIT_TOL)
        else:
            opt = torch.optim.Adam(self.net.parameters(), lr=lr)
            self._fit_unrolled(trajs, w, int(epochs), opt, int(stride))
        return self

    def _fit_counts(
        self,
        trajs: list[np.ndarray],
        w: np.ndarray,
        epochs: int,
        lr: float,
        tol: float | None,
        noise: float,
        noisy_initial: bool,
    ) -> None:
        exact = np.zeros((2, N_PATTERNS))  # (seen, alive) per input pattern known exactly
        noisy = np.zeros((2, N_PATTERNS))  # ... per input pattern itself observed noisily
        for traj, wt in zip(trajs, w, strict=True):
            scale = wt / (traj[0].size * (len(traj) - 1))
            for t in range(len(traj) - 1):
                idx = _pattern_indices(traj[t : t + 1]).ravel()
                nxt = traj[t + 1].ravel().astype(np.float64)
                into = noisy if noise > 0 and (t > 0 or noisy_initial) else exact
                into[0] += np.bincount(idx, minlength=N_PATTERNS) * scale
                into[1] += np.bincount(idx, weights=nxt, minlength=N_PATTERNS) * scale
        self._train_on_counts(exact, noisy, noise, epochs, lr, tol)

    def fit_counts(
        self,
        seen: Any,
        alive: Any,
        epochs: int = 2000,
        lr: float = 0.02,
        tol: float | None = 0.1,
        *,
        noise: float = 0.0,
        noisy_seen: Any = None,
        noisy_alive: Any = None,
    ) -> Emulator:
        """Train from per-pattern sufficient statistics; returns ``self``.

        ``seen[p]`` is the (weighted) number of transitions whose input pattern ``p`` is
        known exactly, ``alive[p]`` how many of those were observed alive next (float arrays
        (512,), ``alive <= seen``). This is what :meth:`fit` computes from whole trajectories;
        a caller that sees only part of each grid (a window) counts only cells whose 3x3
        input it saw. With ``noise`` = p > 0 the observed next states are flipped with
        probability p, and ``noisy_seen`` / ``noisy_alive`` (optional) count transitions
        whose input pattern was itself observed through that noise (see :meth:`fit`).
        ``epochs``, ``lr`` and ``tol`` as in :meth:`fit`.
        """
        noise = _check_noise(noise)
        exact = _check_counts(seen, alive, "seen", "alive")
        if noisy_seen is None and noisy_alive is None:
            noisy = np.zeros_like(exact)
        else:
            noisy = _check_counts(noisy_seen, noisy_alive, "noisy_seen", "noisy_alive")
            if noise == 0 and noisy.any():
                raise ValueError("noisy_seen/noisy_alive need noise > 0 (use seen/alive)")
        if exact[0].sum() + noisy[0].sum() <= 0:
            raise ValueError("counts must have some pattern seen")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        self._train_on_counts(exact, noisy, noise, int(epochs), lr, tol)
        return self

    def _train_on_counts(
        self,
        exact: np.ndarray,
        noisy: np.ndarray,
        noise: float,
        epochs: int,
        lr: float,
        tol: float | None,
    ) -> None:
        """Full-batch training on (seen, alive) counts; see the module doc for the loss.

        A network sometimes fails to fit (Springer & Kenyon 2020): if training ends without
        reaching ``tol`` while some observed orbit is still on the wrong side of 1/2, the
        weights are drawn afresh from the generator and training restarts (at most
        ``_RESTARTS`` times; deterministic, as the draws come from the seeded generator).
        """
        if noise > 0:
            avg = None if self._avg is None else self._avg.double().cpu().numpy()
            exact = expected_true_counts(exact, noisy, noise, avg)
        seen, freq = self._pooled(exact)
        for attempt in range(_RESTARTS + 1):
            opt = torch.optim.Adam(self.net.parameters(), lr=lr)
            if self._descend(exact, epochs, opt, tol, seen, freq) or tol is None:
                return
            wrong = (self.probabilities() > 0.5) != (freq > 0.5)
            if attempt == _RESTARTS or not (wrong & seen).any():
                return
            self._initialise()

    def _pooled(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which patterns' orbits were seen, and the orbit-pooled frequency of alive next
        (what a model with the current symmetry can match)."""
        n, k = counts
        if self._avg is not None:
            avg = self._avg.double().cpu().numpy()
            n, k = avg @ n, avg @ k
        return n > 0, k / np.maximum(n, 1e-300)

    def _descend(
        self,
        counts: np.ndarray,
        epochs: int,
        opt: torch.optim.Optimizer,
        tol: float | None,
        seen: np.ndarray,
        freq: np.ndarray,
    ) -> bool:
        """Adam on ``sum_p n_p softplus(z_p) - k_p z_p`` for ``counts = (n, k)``; stops once
        every seen orbit is within ``tol`` of its frequency (checked every 10 steps) and
        returns whether it did."""
        n_t, k_t = (
            torch.tensor(c / counts[0].sum(), dtype=torch.float32, device=self.device)
            for c in counts
        )
        seen_t = torch.tensor(seen, device=self.device)
        freq_t = torch.tensor(freq, dtype=torch.float32, device=self.device)
        for epoch in range(epochs):
            opt.zero_grad()
            z = self._logits()
            if tol is not None and epoch % 10 == 0:
                gap = (torch.sigmoid(z.detach()) - freq_t).abs()[seen_t]
                if gap.numel() == 0 or bool(gap.max() < tol):
                    return True
            loss = (n_t * F.softplus(z) - k_t * z).sum()
            loss.backward()
            opt.step()
        return False

    def _step_st(self, state: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """P(next = 1) of every cell of ``state`` (B, H, W), binary-valued with gradients.

        Value: the table lookup. Gradient w.r.t. the 9 input cells: the multilinear
        extension's, ``probs[p | bit] - probs[p & ~bit]``.
        """
        hard = state.detach().round().long()
        idx = torch.zeros_like(hard)
        shifted = []
        for j in range(9):
            r, c = divmod(j, 3)
            shift = (1 - r, 1 - c)
            idx = idx + torch.roll(hard, shifts=shift, dims=(1, 2)) * int(_BITS[j])
            shifted.append(torch.roll(state, shifts=shift, dims=(1, 2)))
        out = probs[idx]
        if state.requires_grad:
            for j, x in enumerate(shifted):
                bit = int(_BITS[j])
                slope = probs[idx | bit] - probs[idx & ~bit]
                out = out + (x - x.detach()) * slope
        return out

    def _fit_unrolled(
        self,
        trajs: list[np.ndarray],
        w: np.ndarray,
        epochs: int,
        opt: torch.optim.Optimizer,
        stride: int,
    ) -> None:
        data = []
        for traj, wt in zip(trajs, w, strict=True):
            src = torch.tensor(traj[:-1], dtype=torch.float32, device=self.device)
            dst = torch.tensor(traj[1:], dtype=torch.float32, device=self.device)
            data.append((src, dst, float(wt)))
        eps = 1e-6
        for _ in range(epochs):
            opt.zero_grad()
            probs = torch.sigmoid(self._logits())
            loss = torch.zeros((), device=self.device)
            for src, dst, wt in data:
                state = src.requires_grad_(False)
                p = state
                for step in range(stride):
                    p = self._step_st(state, probs)
                    if step < stride - 1:
                        state = p + ((p > 0.5).float() - p).detach()  # straight-through
                p = p.clamp(eps, 1 - eps)
                bce = -(dst * torch.log(p) + (1 - dst) * torch.log(1 - p)).mean()
                loss = loss + wt * bce
            loss.backward()
            opt.step()

    # -- use ----------------------------------------------------------------------------------

    def rollout(self, init: Any, steps: int) -> np.ndarray:
        """Run the binarised emulator (P > 0.5) from ``init`` (H, W) on the torus.

        Returns uint8 (steps + 1, H, W), frame 0 = ``init``.
        """
        grid = np.asarray(init)
        if grid.ndim != 2 or 0 in grid.shape:
            raise ValueError(f"init must be a 2-D (H, W) array, got shape {grid.shape}")
        if grid.dtype != np.bool_ and not np.issubdtype(grid.dtype, np.integer):
            raise ValueError(f"init must be an integer or bool 0/1 array, got {grid.dtype}")
        if grid.size and (grid.min() < 0 or grid.max() > 1):
            raise ValueError("init must hold only 0 and 1")
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError(f"steps must be an int >= 0, got {steps!r}")
        table = torch.tensor(self.probabilities() > 0.5, dtype=torch.float32, device=self.device)
        frames = [torch.tensor(grid.astype(np.float32), device=self.device)[None]]
        with torch.no_grad():
            for _ in range(int(steps)):
                frames.append(self._step_st(frames[-1], table))
        return torch.cat(frames).round().to(torch.uint8).cpu().numpy()

    def rollout_statistics(self, init: Any, steps: int) -> np.ndarray:
        """The evolution statistics of :meth:`rollout`: float64 (steps, 3), per step the
        density, activity (fraction of cells changed) and 2x2 block entropy of
        :func:`lifegym.observe.frame_statistics`, what the env's ``stats`` observation shows
        (without its noise). Compare them with the black box's to test a candidate."""
        frames = self.rollout(init, steps)
        return frame_statistics(frames[0], frames[1:], wrap=True)

    def grow(self, symmetry: str) -> Emulator:
        """Enlarge the symmetry group, keeping the trained MLP; returns ``self``.

        Only the averaging group changes. If the learned function already has the new
        symmetry, every output (hence every extraction) is unchanged. ``symmetry`` must
        contain the current group (see :func:`subgroup`), else ValueError.
        """
        symmetry = _check_symmetry(symmetry)
        if not subgroup(self.symmetry, symmetry):
            raise ValueError(
                f"cannot grow from {self.symmetry!r} to {symmetry!r}: the group of "
                f"{symmetry!r} does not contain that of {self.symmetry!r}"
            )
        self._set_group(symmetry)
        return self

    def __repr__(self) -> str:
        return (
            f"Emulator(symmetry={self.symmetry!r}, seed={self.seed}, device={str(self.device)!r}, "
            f"width={self.width})"
        )
