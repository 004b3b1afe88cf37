"""A text agent with no model: it reads only the JSON observations of a Text env, chooses
its experiments and infers a B/S rule by counting.

It plugs in from outside the package, through public interfaces only: ``gym.make`` of a
``lifegym/Text-...`` id, JSON actions, JSON observations. Meant for outer-totalistic
(B/S) presets whose frames are observed at every step (``Text-LifeLike-Noisy-v1``,
``Text-LifeLike-Full-v1``):

1. every experiment runs one step from an initial condition the agent knows exactly, so
   each cell of the observed frame is one sighting of the bit (state, live neighbours) of
   its neighbourhood in the initial condition, flipped by the noise with probability p;
2. a bit is settled once its majority leads by ``lead`` sightings (``lead * ln((1-p)/p)``
   of log-odds: 3 sightings ahead at p = 0.05 is about 1 error in 7,000 per bit);
3. it starts with a 16x16 soup (common neighbourhoods), then asks for the menu's probe of
   the least settled bit (``probe-<bit>``: a small world full of that bit's
   neighbourhoods; the task's ``menu.probes`` gives its steps and cost) until every bit is
   settled, then submits the majority rule.

::

    python agents/counting_text_agent.py --episodes 50        # >= 95% exact on random rules
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import gymnasium as gym
import numpy as np

import lifegym  # noqa: F401  (registers the ids)

ENV_ID = "lifegym/Text-LifeLike-Noisy-v1"
BITS = [f"B{n}" for n in range(9)] + [f"S{n}" for n in range(9)]


def grid(rows: list[str]) -> np.ndarray:
    """Rows of ``.``/``o`` as a 0/1 array."""
    return np.array([[cell == "o" for cell in row] for row in rows], dtype=np.int64)


def sightings(initial: np.ndarray, following: np.ndarray) -> np.ndarray:
    """int (18, 2): for each bit (B0..B8, S0..S8), how often the next state was 0 and 1."""
    neighbours = sum(
        np.roll(np.roll(initial, dy, axis=0), dx, axis=1)
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if (dy, dx) != (0, 0)
    )
    bit = initial * 9 + neighbours  # B-bits 0..8 for dead cells, S-bits 9..17 for live ones
    counts = np.zeros((18, 2), dtype=np.int64)
    np.add.at(counts, (bit.ravel(), following.ravel()), 1)
    return counts


def rule_string(ones: np.ndarray) -> str:
    born = "".join(str(n) for n in range(9) if ones[n])
    survive = "".join(str(n) for n in range(9) if ones[9 + n])
    return f"B{born}/S{survive}"


class CountingTextAgent:
    """See the module doc. ``lead``: sightings a bit's majority must lead by."""

    def __init__(self, lead: int = 3) -> None:
        self.lead = lead

    def reset(self, task: dict[str, Any]) -> None:
        self.task = task
        self.counts = np.zeros((18, 2), dtype=np.int64)
        self.probe = task["menu"]["probes"]  # steps and cost of every probe-<bit>
        self.started = False
        self.budget_left = math.inf

    def observe(self, reply: dict[str, Any]) -> None:
        """Fold one run_experiment reply in (step 1 from the exact initial condition)."""
        if "frames" in reply and reply.get("times", [None])[0] == 1:
            self.counts += sightings(grid(reply["initial"]), grid(reply["frames"][0]))

    def act(self) -> dict[str, Any]:
        """The next tool call."""
        if not self.started:
            self.started = True
            return {"tool": "run_experiment", "steps": 1, "density": 0.5, "height": 16, "width": 16}
        lead = np.abs(self.counts[:, 1] - self.counts[:, 0])
        unsettled = [b for b in np.argsort(lead, kind="stable") if lead[b] < self.lead]
        if unsettled and self.probe["cost"] <= self.budget_left:
            item = f"probe-{BITS[unsettled[0]]}"
            return {"tool": "run_experiment", "steps": self.probe["steps"], "item": item}
        return {"tool": "submit_rule", "rule": rule_string(self.counts[:, 1] > self.counts[:, 0])}


def play(env: gym.Env, agent: CountingTextAgent, seed: int, max_calls: int = 200) -> dict:
    """One episode through text alone; returns ``info["result"]``."""
    observation, _ = env.reset(seed=seed)
    agent.reset(json.loads(observation))
    for _ in range(max_calls):
        observation, _, terminated, truncated, info = env.step(json.dumps(agent.act()))
        reply = json.loads(observation)
        if "error" in reply:
            raise RuntimeError(f"the env refused a call: {reply['error']}")
        agent.budget_left = reply.get("budget_left", {}).get("experiment", agent.budget_left)
        agent.observe(reply)
        if terminated or truncated:
            return info["result"]
    raise RuntimeError(f"no submission after {max_calls} calls")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--env", default=ENV_ID, help="a Text env id of a B/S preset")
    parser.add_argument("--episodes", type=int, default=50, help="random hidden rules")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    args = parser.parse_args(argv)
    env = gym.make(args.env)
    results = [play(env, CountingTextAgent(), args.seed + k) for k in range(args.episodes)]
    exact = sum(r["exact"] for r in results)
    cost = sum(r["experiment_cost"] for r in results) / len(results)
    print(f"{args.env}: {exact}/{len(results)} exact, mean experiment cost {cost:,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
