"""The verifiers taskset id of lifegym: ``vf-eval lifegym-verifiers ...``.

verifiers resolves a taskset id to a top-level module exporting one ``Taskset`` (and
optionally one ``Harness`` and one ``Env``) through ``__all__``; the environment itself is
:mod:`lifegym.verifiers_env` (``load_environment()`` for Python callers).
"""

from lifegym.verifiers_env import (
    HostChatHarness,
    RuleDiscoveryEnv,
    RuleDiscoveryTaskset,
    load_environment,
)

__all__ = ["HostChatHarness", "RuleDiscoveryEnv", "RuleDiscoveryTaskset", "load_environment"]
