"""The interface every inference engine implements, and helpers they share.

An engine holds the env's belief about the hidden rule. It is built for one
:class:`~lifegym.types.RuleSpace` and one observation model, is told about each new
visible trajectory with :meth:`InferenceEngine.update`, and reports a
:class:`~lifegym.types.Belief`. Hypothesis tests computed by the env are handed to
:meth:`InferenceEngine.absorb_test`; an engine whose belief already uses all the data
ignores them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from lifegym.likelihood import compare
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = ["InferenceEngine", "binary_entropy_bits", "probabilities_from_log_odds"]


def probabilities_from_log_odds(log_odds: np.ndarray) -> np.ndarray:
    """P(bit = 1) from natural-log odds, without overflow (``inf`` gives exactly 1)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(log_odds, dtype=np.float64)))


def binary_entropy_bits(p_one: np.ndarray) -> np.ndarray:
    """Entropy in bits of independent bits with these probabilities of being 1."""
    p = np.clip(np.asarray(p_one, dtype=np.float64), 0.0, 1.0)
    terms = np.zeros_like(p)
    uncertain = (p > 0.0) & (p < 1.0)
    if uncertain.any():
        pu = p[uncertain]
        qu = 1.0 - pu
        terms[uncertain] = -(pu * np.log2(pu) + qu * np.log2(qu))
    return terms


class InferenceEngine(ABC):
    """Base of the inference engines (``exact``, ``exhaustive``, ``search``, ...).

    Subclasses set ``name`` and implement :meth:`update` and :meth:`belief`; they may
    refuse a setting in :meth:`unsupported` (called by the constructor).

    Attributes:
        space: the rules the hidden rule may be.
        model: the observation model the trajectories come through.
        trajectories: the visible trajectories seen so far, oldest first.
        test_from_time: hypothesis tests for this engine score observed steps >= this
            (an engine whose belief already counts some steps exactly sets it past them,
            so a test adds only evidence the belief does not hold yet).
    """

    name: str = ""
    test_from_time: int = 1

    def __init__(self, space: RuleSpace, model: ObservationModel) -> None:
        reason = self.unsupported(space, model)
        if reason:
            raise ValueError(f"inference {self.name!r} cannot be used here: {reason}")
        self.space = space
        self.model = model
        self.trajectories: list[VisibleTrajectory] = []

    @classmethod
    def unsupported(cls, space: RuleSpace, model: ObservationModel) -> str | None:
        """Why this engine cannot serve ``space`` observed through ``model``, or None."""
        return None

    def update(self, trajectory: VisibleTrajectory) -> None:
        """Take one more visible trajectory into the belief."""
        self.trajectories.append(trajectory)
        self._absorb(trajectory)

    @abstractmethod
    def _absorb(self, trajectory: VisibleTrajectory) -> None:
        """Update the belief with ``trajectory`` (already appended to ``trajectories``)."""

    @abstractmethod
    def belief(self) -> Belief:
        """The current belief (a new object; the engine keeps no reference to it)."""

    def component_log_odds(self, with_component: Rule, without_component: Rule) -> float:
        """The evidence a hypothesis test of one rule component yields: by default the
        log-likelihood ratio of the two rules over the observed steps >= ``test_from_time``
        of every visible trajectory (NaN when both explain nothing)."""
        logliks = [
            compare(rule, self.trajectories, self.test_from_time).loglik
            for rule in (with_component, without_component)
        ]
        with np.errstate(invalid="ignore"):
            return float(np.subtract(*logliks))

    def absorb_test(self, free_index: int, log_odds: float) -> None:
        """Fold in a test of free bit ``free_index``: the log-likelihood ratio
        ``L(MAP with bit = 1) - L(MAP with bit = 0)`` over observed steps >= ``test_from_time``.
        The default ignores it (the belief already holds that evidence)."""
        return None
