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
from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from lifegym.equivalence import observational_class
from lifegym.likelihood import compare
from lifegym.observe import ObservationModel
from lifegym.rules import Rule
from lifegym.types import Belief, RuleSpace, VisibleTrajectory

__all__ = [
    "InferenceEngine",
    "binary_entropy_bits",
    "independent_class_probability",
    "probabilities_from_log_odds",
    "union_bound_class_probability",
]


def probabilities_from_log_odds(log_odds: np.ndarray) -> np.ndarray:
    """P(bit = 1) from natural-log odds, without overflow (``inf`` gives exactly 1)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(log_odds, dtype=np.float64)))


def binary_entropy_bits(p_one: np.ndarray) -> np.ndarray:
    """Entropy in bits of independent bits with these probabilities of being 1."""
    p = np.minimum(np.maximum(np.asarray(p_one, dtype=np.float64), 0.0), 1.0)  # np.clip, faster
    uncertain = (p > 0.0) & (p < 1.0)
    if uncertain.all():  # the common case: no selection needed (the same values per bit)
        q = 1.0 - p
        return -(p * np.log2(p) + q * np.log2(q))
    terms = np.zeros_like(p)
    if uncertain.any():
        pu = p[uncertain]
        qu = 1.0 - pu
        terms[uncertain] = -(pu * np.log2(pu) + qu * np.log2(qu))
    return terms


def _chance_of_values(p_one: np.ndarray, members: Sequence[np.ndarray]) -> np.ndarray:
    """float64 (n_members, n_free): each member's per-bit marginal P(bit = its value)
    (``p_one`` in [0, 1], as engines give it)."""
    p = np.asarray(p_one, dtype=np.float64)
    return np.where(np.asarray(members, dtype=bool), p, 1.0 - p)


def independent_class_probability(p_one: np.ndarray, members: Sequence[np.ndarray]) -> float:
    """P(the hidden rule is one of ``members``) (free-bit vectors, distinct rules) when
    the bits are independent with these marginals: the sum over members of the product of
    their bits' probabilities (exact for the ``exact`` engine, whose posterior factorises)."""
    if not len(members):
        return 0.0
    return float(min(1.0, _chance_of_values(p_one, members).prod(axis=1).sum()))


def union_bound_class_probability(p_one: np.ndarray, members: Sequence[np.ndarray]) -> float:
    """A lower bound on P(the hidden rule is one of ``members``) from per-bit marginals
    alone, whatever their joint law: by Boole's inequality a member has probability at
    least ``1 - sum_i P(bit i differs from it)``; the members are disjoint events, so
    their bounds (each clipped at 0) add up."""
    if not len(members):
        return 0.0
    wrong = (1.0 - _chance_of_values(p_one, members)).sum(axis=1)
    return float(min(1.0, np.clip(1.0 - wrong, 0.0, None).sum()))


class InferenceEngine(ABC):
    """Base of the inference engines (``exact``, ``exhaustive``, ``search``, ...).

    Subclasses set ``name``, declare the observation features they handle in
    ``observes`` (``ObservationModel.features``: an engine is refused any model with a
    feature it does not declare) and implement :meth:`update` and :meth:`belief`; they may
    refuse more settings in :meth:`unsupported` (a family, a combination). The constructor,
    and so ``gym.make``, refuses what :meth:`refusal` names.

    Attributes:
        space: the rules the hidden rule may be.
        model: the observation model the trajectories come through.
        trajectories: the visible trajectories seen so far, oldest first.
        test_from_time: hypothesis tests for this engine score observed steps >= this
            (an engine whose belief already counts some steps exactly sets it past them,
            so a test adds only evidence the belief does not hold yet).
    """

    name: str = ""
    #: The observation features (``ObservationModel.features``) this engine handles.
    observes: ClassVar[frozenset[str]] = frozenset()
    test_from_time: int = 1

    def __init__(self, space: RuleSpace, model: ObservationModel) -> None:
        reason = self.refusal(space, model)
        if reason:
            raise ValueError(
                f"inference {self.name!r} cannot be used with {space.family.name} rules seen "
                f"through {model.describe()}: {reason}"
            )
        self.space = space
        self.model = model
        self.trajectories: list[VisibleTrajectory] = []

    @classmethod
    def unsupported(cls, space: RuleSpace, model: ObservationModel) -> str | None:
        """Why this engine cannot serve ``space`` observed through ``model`` beyond the
        features it declares (its own explanation, a family it cannot serve), or None."""
        return None

    @classmethod
    def refusal(cls, space: RuleSpace, model: ObservationModel) -> str | None:
        """Why this engine cannot serve ``space`` observed through ``model``, or None: its
        own reason (:meth:`unsupported`), else the model's features it does not declare
        in ``observes``."""
        reason = cls.unsupported(space, model)
        if reason:
            return reason
        if not cls.observes:
            return "it declares no observation features it handles (set its `observes`)"
        missing = sorted(model.features - cls.observes)
        if missing:
            return (
                f"it does not handle {' or '.join(missing)} (it handles "
                f"{', '.join(sorted(cls.observes))})"
            )
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

    def class_probability(self, members: Sequence[Rule]) -> float:
        """The posterior probability that the hidden rule is one of ``members`` (distinct
        rules of the space: an observational-equivalence class, ``lifegym.equivalence``),
        or a lower bound on it.

        The default knows only the per-bit marginals of :meth:`belief` and gives Boole's
        lower bound (:func:`union_bound_class_probability`), valid whatever the joint law
        of the bits; it is as good as the marginals are (local ones, for ``search`` and
        ``emulator``). ``exact`` and ``exhaustive`` override it with the probability itself.
        """
        return self.marginal_class_probability(self.belief().p_one, members)

    def marginal_class_probability(self, p_one: np.ndarray, members: Sequence[Rule]) -> float:
        """:meth:`class_probability` from the marginals ``p_one`` (Boole's bound; an engine
        whose bits are independent overrides it with the product)."""
        return union_bound_class_probability(p_one, [self.space.free_values(m) for m in members])

    def map_probability(self, p_one: np.ndarray, map_rule: Rule) -> float:
        """``Belief.map_probability``: :meth:`marginal_class_probability` of the class of
        ``map_rule`` under this engine's observation model."""
        members = observational_class(map_rule, self.space, self.model)
        return self.marginal_class_probability(p_one, members)

    def component_log_odds(self, with_component: Rule, without_component: Rule) -> float:
        """The evidence a hypothesis test of one rule component yields: by default the
        log-likelihood ratio of the two rules over the observed steps >= ``test_from_time``
        of every visible trajectory (NaN when both explain nothing)."""
        logliks = [
            compare(rule, self.trajectories, self.test_from_time).loglik
            for rule in (with_component, without_component)
        ]
        with np.errstate(invalid="ignore"):
            return float(np.subtract(logliks[0], logliks[1]))

    def absorb_test(self, free_index: int, log_odds: float) -> None:
        """Fold in a test of free bit ``free_index``: the log-likelihood ratio
        ``L(MAP with bit = 1) - L(MAP with bit = 0)`` over observed steps >= ``test_from_time``.
        The default ignores it (the belief already holds that evidence)."""
        return None
