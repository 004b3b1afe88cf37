"""Hidden-rule priors: where the rule of each episode comes from.

A prior is injected into the env (``prior=``), so a study swaps the distribution of hidden
rules without subclassing anything. Each prior draws only from the Generator it is given.

* :class:`UniformPrior`: every free bit of the rule space a fair coin;
* :class:`ListPrior`: uniform over a list of rules (e.g. the named ones);
* :class:`FixedPrior`: always the same rule.

:func:`make_prior` turns the env's ``prior`` argument into one of these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from lifegym.rules import NAMED_RULES, Rule
from lifegym.types import RuleSpace

__all__ = ["FixedPrior", "ListPrior", "RulePrior", "UniformPrior", "make_prior"]


class RulePrior(ABC):
    """Draws hidden rules that lie in ``space``."""

    def __init__(self, space: RuleSpace) -> None:
        self.space = space

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Rule:
        """One hidden rule."""


class UniformPrior(RulePrior):
    """Each free bit of the space independently 0 or 1 with probability 1/2."""

    def sample(self, rng: np.random.Generator) -> Rule:
        return self.space.rule(rng.integers(0, 2, size=self.space.n_free, dtype=np.uint8))

    def __repr__(self) -> str:
        return f"UniformPrior({self.space.family.name})"


def _in_space(rule: Rule, space: RuleSpace) -> Rule:
    converted = Rule(rule.table, space.family) if space.family.contains(rule.table) else None
    if converted is None or not space.contains(converted):
        raise ValueError(
            f"rule {rule} is not in the rule space (family {space.family.name!r} with the "
            "known bits); the hidden rule must be one the agent can submit"
        )
    return converted


class ListPrior(RulePrior):
    """Uniform over ``rules`` (Rule objects or strings), each of which must lie in the space."""

    def __init__(self, space: RuleSpace, rules: Sequence[Rule | str]) -> None:
        super().__init__(space)
        if len(rules) == 0:
            raise ValueError("a list prior needs at least one rule, got an empty list")
        parsed = [r if isinstance(r, Rule) else Rule.parse(r) for r in rules]
        self.rules = tuple(_in_space(r, space) for r in parsed)

    def sample(self, rng: np.random.Generator) -> Rule:
        return self.rules[int(rng.integers(len(self.rules)))]

    def __repr__(self) -> str:
        return f"ListPrior({len(self.rules)} rules)"


class FixedPrior(RulePrior):
    """Always ``rule``."""

    def __init__(self, space: RuleSpace, rule: Rule | str) -> None:
        super().__init__(space)
        self.rule = _in_space(rule if isinstance(rule, Rule) else Rule.parse(rule), space)

    def sample(self, rng: np.random.Generator) -> Rule:
        return self.rule

    def __repr__(self) -> str:
        return f"FixedPrior({self.rule})"


def make_prior(prior: str | Sequence[Rule | str] | Rule | RulePrior, space: RuleSpace) -> RulePrior:
    """The prior named by ``prior``.

    ``"uniform"``; ``"named"`` (the named rules of ``lifegym.rules.NAMED_RULES`` that lie in
    the space); a list of rules or rule strings; one ``Rule`` (fixed); or a RulePrior.
    A single string other than those names is rejected (wrap it in a list or a Rule) so a
    typo is never read as a rule.
    """
    if isinstance(prior, RulePrior):
        return prior
    if isinstance(prior, Rule):
        return FixedPrior(space, prior)
    if isinstance(prior, str):
        if prior == "uniform":
            return UniformPrior(space)
        if prior == "named":
            rules = [Rule.parse(text) for text in NAMED_RULES.values()]
            fitting = [r for r in rules if space.family.contains(r.table)]
            fitting = [Rule(r.table, space.family) for r in fitting]
            fitting = list(dict.fromkeys(r for r in fitting if space.contains(r)))
            if not fitting:
                known = " with its known bits" if space.known_mask.any() else ""
                raise ValueError(
                    f"no named rule lies in this rule space (family {space.family.name!r}"
                    f"{known}; lifegym.rules.NAMED_RULES holds Moore-neighbourhood rules "
                    "only); use prior='uniform' or a list of rules"
                )
            return ListPrior(space, fitting)
        raise ValueError(
            f"unknown prior {prior!r}; use 'uniform', 'named', a list of rule strings, "
            "a Rule, or a RulePrior"
        )
    if isinstance(prior, Sequence):
        return ListPrior(space, list(prior))
    raise ValueError(f"unknown prior {prior!r}; use 'uniform', 'named', a list of rules or a Rule")
