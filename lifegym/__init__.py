"""lifegym: active rule discovery for Life-like cellular automata.

The pieces a user meets first are re-exported here: ``Rule`` (families and notations,
see ``lifegym.rules`` for the pattern-index convention), ``simulate`` (the numba
simulator, see ``lifegym.sim``) and ``RuleDiscoveryEnv`` (the Gymnasium env, see
``lifegym.env``). Importing the package registers the ``lifegym/...`` Gymnasium ids
(``lifegym.registration.PRESETS``). RLE input and output live in ``lifegym.io``.
"""

from lifegym.env import RuleDiscoveryEnv
from lifegym.registration import PRESETS, register_envs
from lifegym.rules import FAMILIES, NAMED_RULES, Rule, RuleFamily
from lifegym.sim import simulate

register_envs()

__all__ = [
    "FAMILIES",
    "NAMED_RULES",
    "PRESETS",
    "Rule",
    "RuleDiscoveryEnv",
    "RuleFamily",
    "simulate",
]
__version__ = "0.1.0"
