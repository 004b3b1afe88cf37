"""lifegym: active rule discovery for Life-like cellular automata.

The pieces a user meets first are re-exported here: ``Rule`` (families and notations,
see ``lifegym.neighbourhoods`` for the pattern-index convention), ``simulate`` (the numba
simulator, see ``lifegym.sim``) and ``RuleDiscoveryEnv`` (the Gymnasium env, see
``lifegym.env``). Importing the package registers the ``lifegym/...`` Gymnasium ids
(``lifegym.registration.PRESETS``). RLE input and output live in ``lifegym.io``.

So are the base classes to extend it with, each documented in its module: ``Agent`` (a
query policy, ``lifegym.agents.base``), ``InferenceEngine`` (the env's belief,
``lifegym.inference.base``), ``RewardFunction`` (``lifegym.reward``), ``RulePrior`` (the
prior the hidden rule is drawn from, ``lifegym.generator``) and ``ObservationModel``
(what an experiment shows, ``lifegym.observe``). Where each is registered:
docs/architecture.md.
"""

from lifegym.agents.base import Agent
from lifegym.env import RuleDiscoveryEnv
from lifegym.families import FAMILIES, RuleFamily
from lifegym.generator import RulePrior
from lifegym.inference.base import InferenceEngine
from lifegym.observe import ObservationModel
from lifegym.registration import PRESETS, register_envs
from lifegym.reward import RewardFunction
from lifegym.rules import NAMED_RULES, Rule
from lifegym.sim import simulate

register_envs()

__all__ = [
    "FAMILIES",
    "NAMED_RULES",
    "PRESETS",
    "Agent",
    "InferenceEngine",
    "ObservationModel",
    "RewardFunction",
    "Rule",
    "RuleDiscoveryEnv",
    "RuleFamily",
    "RulePrior",
    "simulate",
]
__version__ = "0.1.0"
