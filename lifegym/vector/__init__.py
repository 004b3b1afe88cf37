"""Many episodes at once: the native vector env and its SB3 adapter.

* :class:`RuleDiscoveryVectorEnv` steps N episodes of an exact-counting preset together
  (``gym.make_vec(id, num_envs=N)`` on the v1 presets);
* :func:`make_vector_env` is the presets' ``vector_entry_point`` (falls back to
  :class:`MaskedSyncVectorEnv` where the native env does not apply);
* ``lifegym.vector.sb3.SB3VecEnv`` lets stable-baselines3 / sb3-contrib train on any of
  them (a module of its own: it imports torch).
"""

from lifegym.vector.env import (
    MaskedSyncVectorEnv,
    RuleDiscoveryVectorEnv,
    make_vector_env,
    native_unsupported,
)

__all__ = [
    "MaskedSyncVectorEnv",
    "RuleDiscoveryVectorEnv",
    "make_vector_env",
    "native_unsupported",
]
