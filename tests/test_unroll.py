"""Tests for lifegym.unroll through ``Emulator.fit(stride=2)``: rules recovered from stride-2
frames, with and without noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifegym.emulator import Emulator
from lifegym.rules import Rule
from lifegym.sim import simulate

LIFE = Rule.parse("B3/S23")


def _frames(rule: Rule, seed: int, size: int = 48, steps: int = 16, stride: int = 2):
    """A soup at density 1/2 run ``steps`` steps; frames 0, stride, 2 stride, ..."""
    init = (np.random.default_rng(seed).random((size, size)) < 0.5).astype(np.uint8)
    return simulate(rule, init, steps)[::stride].copy()


def _flip(frames: np.ndarray, noise: float, seed: int) -> np.ndarray:
    """Frames 1.. with each cell flipped with probability ``noise`` (frame 0 exact)."""
    out = frames.copy()
    flips = np.random.default_rng(seed).random(out[1:].shape) < noise
    out[1:] ^= flips.astype(np.uint8)
    return out


def _fit(frames: np.ndarray, symmetry: str = "totalistic", noise: float = 0.0) -> Emulator:
    return Emulator(symmetry, seed=0, width=32).fit([frames], stride=2, noise=noise)


def _reproduces(rule: Rule, frames: np.ndarray, stride: int = 2) -> bool:
    run = simulate(rule, frames[0], stride * (len(frames) - 1))[::stride]
    return bool(np.array_equal(run, frames))


def test_life_is_recovered_from_stride_two() -> None:
    rule, confidence = _fit(_frames(LIFE, seed=0)).extract("totalistic")
    assert rule == LIFE
    assert confidence.min() > 0.5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_bs_rules_are_recovered_or_consistent(seed: int) -> None:
    truth = Rule.random("totalistic", np.random.default_rng(seed))
    frames = _frames(truth, seed=seed)
    rule, _ = _fit(frames).extract("totalistic")
    assert rule == truth or _reproduces(rule, frames)


def test_isotropic_rule_with_p4m() -> None:
    truth = Rule.random("isotropic", np.random.default_rng(7))
    frames = _frames(truth, seed=7)
    rule, _ = _fit(frames, symmetry="p4m").extract("isotropic")
    assert rule == truth or _reproduces(rule, frames)


def test_noisy_frames_still_give_life() -> None:
    frames = _flip(_frames(LIFE, seed=4), noise=0.01, seed=5)
    rule, _ = _fit(frames, noise=0.01).extract("totalistic")
    assert rule == LIFE


def test_fit_is_deterministic() -> None:
    truth = Rule.random("totalistic", np.random.default_rng(11))
    frames = _flip(_frames(truth, seed=11), noise=0.01, seed=12)
    a, b = _fit(frames, noise=0.01), _fit(frames, noise=0.01)
    for p, q in zip(a.net.parameters(), b.net.parameters(), strict=True):
        assert torch.equal(p, q)


def test_warm_start_keeps_a_consistent_rule() -> None:
    frames = _frames(LIFE, seed=8)
    em = _fit(frames)
    em.fit([frames], stride=2)
    assert em.extract("totalistic")[0] == LIFE


def test_bad_arguments_through_fit() -> None:
    em = Emulator("totalistic", seed=0, width=8)
    frames = _frames(LIFE, seed=0, size=8, steps=4)
    with pytest.raises(ValueError, match="stride"):
        em.fit([frames], stride=0)
    with pytest.raises(ValueError, match="noise"):
        em.fit([frames], stride=2, noise=0.5)
    with pytest.raises(ValueError, match="weights"):
        em.fit([frames], weights=[1.0, 1.0], stride=2)
    with pytest.raises(ValueError, match="trajectories"):
        em.fit([frames[:1]], stride=2)
