"""The independent random streams of one episode, all spawned from its seed.

``env.reset(seed=s)`` gives the env Gymnasium's generator, built on
``numpy.random.SeedSequence(s)`` itself. Everything else that needs randomness in the
same episode draws from a *child* of that sequence (``SeedSequence(s, spawn_key=(k,))``),
which is statistically independent of it and of every other child:

* ``AGENT_STREAM``: the agent's seed (:func:`lifegym.agents.base.agent_seed_for`);
* ``BATTERY_STREAM``: the scoring battery of fresh initial conditions (v1 presets), which
  the agent never sees.
"""

from __future__ import annotations

import numpy as np

__all__ = ["AGENT_STREAM", "BATTERY_STREAM", "stream"]

AGENT_STREAM = 1
BATTERY_STREAM = 2


def stream(seed: int | None, key: int) -> np.random.SeedSequence:
    """Child ``key`` of ``SeedSequence(seed)`` (fresh entropy when ``seed`` is None)."""
    root = np.random.SeedSequence(seed)
    return np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, key))
