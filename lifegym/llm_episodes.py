"""What the LLM-harness integrations share (Inspect AI tasks, the verifiers environment):
the episodes of ``lifegym bench`` as harness rows, a row's :class:`Episode`, its bench row
and its cost-aware score against the oracle.

A *spec* is one episode as a harness holds it, out of the model's sight: ``env`` (the
preset id), ``rule`` (the hidden rule), ``seed`` and ``drawn`` (the rule was drawn from the
env's prior with the seed, as ``lifegym bench --rules random:N`` does, and is drawn again
when the episode is made).
"""

from __future__ import annotations

import json
import threading
from typing import Any

import gymnasium as gym

from lifegym.bench import REFERENCE_AGENT, Job, attach_scores, make_jobs, rules_for, run_job
from lifegym.env import RuleDiscoveryEnv
from lifegym.protocol import Episode

__all__ = [
    "INSTRUCTIONS",
    "PREFIX",
    "SUBMIT_TOOL",
    "call_costs",
    "env_id",
    "episode_row",
    "episode_specs",
    "fresh_record",
    "make_episode",
    "reference_row",
    "scored_row",
    "task_text",
]

#: The namespace of lifegym's Gymnasium ids.
PREFIX = "lifegym/"
#: The tool that ends an episode.
SUBMIT_TOOL = "submit_rule"
#: The system prompt of every harness: the task itself is the user's message.
INSTRUCTIONS = (
    "You are an experimental scientist. The user's message is your task, as JSON: a "
    "hidden rule of a 2-D cellular automaton to find, the experiments you may run, what "
    "they cost and how you are scored. Use the tools to run experiments and test "
    "hypotheses, then call submit_rule once with the rule you conclude (it ends the "
    "episode; an episode never submitted counts as not identified)."
)


def call_costs(tool: str, reply: dict[str, Any]) -> tuple[int, int]:
    """(experiment, compute) cost a successful call of ``tool`` adds to an episode's running
    costs: its reply's, none for ``submit_rule``, whose reply holds the episode's totals."""
    if tool == SUBMIT_TOOL:
        return 0, 0
    return int(reply.get("experiment_cost", 0)), int(reply.get("compute_cost", 0))


def env_id(env: str) -> str:
    """``env`` with the ``lifegym/`` prefix (given with or without it)."""
    return env if env.startswith(PREFIX) else PREFIX + env


def task_text(env: str) -> str:
    """The task the model reads (:meth:`Episode.task` as compact JSON); it does not depend
    on the hidden rule."""
    return json.dumps(Episode(env_id(env)).task(), separators=(",", ":"))


def episode_specs(
    env: str, rules: str = "named", episodes: int = 1, seed: int = 0
) -> list[dict[str, Any]]:
    """The episodes of ``lifegym bench --env ENV --rules RULES --episodes N --seed S
    --design`` (:func:`lifegym.bench.make_jobs`), in bench's order: ``rules`` ``named``,
    ``random:N`` or a file. ValueError for a bad argument or no rule in the env's rule
    space."""
    full_id = env_id(env)
    found = rules_for(rules, full_id)[0]  # rules outside the rule space are left out
    if not found:
        raise ValueError(f"no rule of {rules!r} lies in the rule space of {full_id}")
    jobs = make_jobs([full_id], [REFERENCE_AGENT], lambda _: found, episodes, seed, design=True)
    prior = gym.make(full_id, design=True).unwrapped
    assert isinstance(prior, RuleDiscoveryEnv)  # a numeric preset (rules_for checked it)
    specs = []
    for job in jobs:
        drawn = job.rule is None
        if drawn:  # the rule the episode's seed draws from the prior (as bench's episode)
            prior.reset(seed=job.seed)
        rule = str(prior.lab.hidden_rule) if drawn else job.rule
        specs.append({"env": full_id, "rule": rule, "seed": job.seed, "drawn": drawn})
    return specs


def make_episode(spec: dict[str, Any], **options: Any) -> Episode:
    """The spec's episode: a drawn rule is drawn again from the seed (as bench does).
    ``options``: :class:`Episode`'s (``reply_cap``, ``diagnostics``)."""
    rule = None if spec.get("drawn") else spec["rule"]
    return Episode(spec["env"], seed=spec["seed"], rule=rule, **options)


def fresh_record() -> dict[str, Any]:
    """What a harness counts of an episode while it runs: calls, refused calls, costs,
    each experiment's diagnostics, and the result once submitted."""
    return {
        "calls": 0,
        "errors": 0,
        "experiment_cost": 0,
        "compute_cost": 0,
        "diagnostics": [],
        "result": None,
    }


def episode_row(spec: dict[str, Any], record: dict[str, Any] | None, agent: str) -> dict[str, Any]:
    """A ``lifegym bench`` row for the spec's episode played by ``agent``: the result when
    the model submitted; otherwise not identified, not exact, at the costs it ran up."""
    record = record or fresh_record()
    base = {
        "env": spec["env"],
        "env_kwargs": {},
        "design": True,
        "agent": agent,
        "seed": spec["seed"],
    }
    result = record.get("result")
    if result is not None:
        return {**base, **result, "rule": result["true_rule"], "submitted": True}
    return {
        **base,
        "true_rule": spec["rule"],
        "rule": spec["rule"],
        "submitted_rule": None,
        "exact": False,
        "identified": False,
        "experiment_cost": record["experiment_cost"],
        "compute_cost": record["compute_cost"],
        "submitted": False,
    }


_REFERENCE_LOCK = threading.Lock()


def reference_row(spec: dict[str, Any]) -> dict[str, Any]:
    """The ``oracle``'s bench row on the spec's episode (same env, design, rule, seed), run
    in this process one at a time (bench reuses one env per preset in a process)."""
    rule = None if spec.get("drawn") else spec["rule"]
    job = Job(spec["env"], REFERENCE_AGENT, rule, spec["seed"], design=True)
    with _REFERENCE_LOCK:
        return run_job(job)


def scored_row(row: dict[str, Any], oracle: dict[str, Any]) -> dict[str, Any]:
    """``row`` with bench's ``score`` (identified x min(1, oracle cost / experiment cost);
    None where the oracle did not identify the rule), ``reference_failed`` and
    ``oracle_cost`` against the oracle's row of the same episode."""
    return attach_scores([row, oracle])[0]
