"""lifegym: active rule discovery for Life-like cellular automata.

The pieces a user meets first are re-exported here: ``Rule`` (families and notations,
see ``lifegym.rules`` for the pattern-index convention) and ``simulate`` (the numba
simulator, see ``lifegym.sim``). RLE input and output live in ``lifegym.io``.
"""

from lifegym.rules import FAMILIES, NAMED_RULES, Rule, RuleFamily
from lifegym.sim import simulate

__all__ = ["FAMILIES", "NAMED_RULES", "Rule", "RuleFamily", "simulate"]
__version__ = "0.1.0"
