"""The leaderboard: every preset x every agent on the named rules and on random rules.

For each registered preset (``lifegym.registration.PRESETS``, or ``--envs``), with the
preset's own inference engine, every agent of ``lifegym.agents.AGENTS`` plays ``--seeds``
episodes (3 by default, each with its own seed) per hidden rule, on two rule sets:

* ``named``: the named rules of ``lifegym.rules.NAMED_RULES`` in the preset's family;
* ``random``: ``--random`` rules drawn from the preset's prior (uniform), one per seed
  (``--random-v1`` for the v1 presets; ``--named-v1`` caps their named rules).

Every v1 preset is played twice: on its ``Discrete`` face and with ``design=True``. The
``oracle`` (it reads the hidden rule) is the reference: it plays every episode, its
experiment cost there is the episode's yardstick, and it is never ranked nor the "best
agent" of a target. On the presets of
``SLOW_RULES`` (``Isotropic-Stats-v1``, ``Free-Noisy-v1``), whose episodes take seconds to
a minute, at most that many rules of each set are played. ``--name`` sets the files' stem
(e.g. ``leaderboard_v1`` for a run of the v1 presets alone).

Plus each trained policy (``--policy ENV=AGENT``, by default the committed MaskablePPO
policies: ``noisy-maskable-ppo.zip`` on LifeLike-Noisy-v0, ``noisy-v1-maskable-ppo.zip``
on LifeLike-Noisy-v1's Discrete face) on the preset it was trained for, and
``emulator-loop`` with ``inference="emulator"`` (the research loop as designed: the
learned emulator is the model) on the named rules of ``--emulator-envs`` (by default
``LifeLike-Noisy-v0``, ``Isotropic-Noisy-v0``, ``LifeLike-Noisy-v1``,
``Isotropic-Noisy-v1`` and ``LifeLike-Stats-v1``; on a v1 preset the Discrete face, on the
named rules its named set plays). Its rows keep the engine that ran (``emulator``); the
oracle runs only on the preset's own engine, and the emulator rows are scored against it.

Seeds come from ``lifegym.bench.make_jobs`` (``--seed`` for the named set, ``--seed + 1``
for the random set), so every agent faces the same hidden rules and the same initial
conditions, and a row does not depend on the worker count.

**Score and ranking.** Each episode scores ``identified x min(1, oracle cost / experiment
cost)`` against the oracle's row of the same episode (``lifegym.bench.attach_scores``:
same env, face, rule and seed; SPL-style, linear in the cost ratio). An episode the oracle
did not identify has no yardstick: no score, counted in the ``reference failed`` column.
Tables list each env and face's agents by mean score (the reference last), and every
"best agent" is the one of highest mean score; a target then checks its own metric
(``identified``, ``behavioural``, cost) on that agent. ``identified`` is the luck-free
success (the env's verdict, see ``lifegym.scoring``), not ``exact``, which a tie-break
can make true by luck. Every rate and mean carries a 95% interval from the cluster
bootstrap over hidden rules (``lifegym.intervals.cluster_bootstrap_interval``: seeds are
nested in rules, so the ``rules`` column, not the episodes, counts the independent draws;
a rate or score the same on every rule, e.g. 100% or a single rule, gets Wilson's interval
with one trial per rule instead of a point).

Writes ``OUT/leaderboard.json`` (machine info, settings, every episode row with its
``score``, ``reference_failed`` and ``oracle_cost``),
``OUT/leaderboard.md`` (the summary per rule set x env x engine x agent, and the issues'
targets with the best agent's value) and ``OUT/leaderboard.svg`` (identified % against
mean experiment cost, all rules)::

    python benchmarks/leaderboard.py                  # about 10 min on 2 cores
    python benchmarks/leaderboard.py --quick          # smoke run: 3 random rules, 1 named

Each episode's row is also appended to ``OUT/<stem>.rows.jsonl`` as it finishes. After an
interrupted run, ``--resume`` takes the episodes found there instead of playing them again
(an episode is fixed by its job and the policy file's bytes), provided the package's source
is the one that wrote them (else it refuses, naming the difference).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import machine

import lifegym  # noqa: F401  (registers the ids)
from lifegym import bench
from lifegym.agents import AGENTS, make_agent
from lifegym.equivalence import observational_class
from lifegym.registration import PRESETS
from lifegym.rules import Rule

POLICIES = machine.ROOT / "benchmarks" / "policies"
#: The committed policies and the preset each was trained for (used when the file exists).
DEFAULT_POLICIES = {
    "lifegym/LifeLike-Noisy-v0": POLICIES / "noisy-maskable-ppo.zip",
    "lifegym/LifeLike-Noisy-v1": POLICIES / "noisy-v1-maskable-ppo.zip",
}
DEFAULT_EMULATOR_ENVS = (
    "lifegym/LifeLike-Noisy-v0",
    "lifegym/Isotropic-Noisy-v0",
    "lifegym/LifeLike-Noisy-v1",
    "lifegym/Isotropic-Noisy-v1",
    "lifegym/LifeLike-Stats-v1",
)
#: Presets whose episodes are slow (seconds to a minute), and the most rules of each set
#: played on them.
SLOW_RULES = {"lifegym/Isotropic-Stats-v1": 2, "lifegym/Free-Noisy-v1": 6}

#: The v0 issue's targets: (env, metric, at least %, what); the best non-reference agent.
TARGETS = (
    ("lifegym/LifeLike-Noisy-v0", "identified", 99.0, "best agent identified"),
    ("lifegym/LifeLike-Strided-v0", "behavioural", 95.0, "best agent behavioural"),
    ("lifegym/LifeLike-Stats-v0", "behavioural", 90.0, "best agent behavioural"),
    ("lifegym/Isotropic-Noisy-v0", "identified", 90.0, "best agent identified"),
)

#: The v1 targets: (env, design, agent or None for the best non-reference agent, metric,
#: at least %, cost limit: None, a number, or "2x oracle", what).
V1_TARGETS: tuple[tuple[str, bool, str | None, str, float, Any, str], ...] = (
    (
        "lifegym/LifeLike-Noisy-v1",
        True,
        "infogain",
        "identified",
        99.0,
        "2x oracle",
        "infogain identified at mean cost <= 2x the oracle's",
    ),
    (
        "lifegym/LifeLike-Noisy-v1",
        False,
        "infogain",
        "identified",
        99.0,
        1800,
        "infogain identified at mean cost <= 1,800 (Discrete face)",
    ),
    ("lifegym/Hex-Noisy-v1", True, "infogain", "identified", 99.0, None, "infogain identified"),
    (
        "lifegym/VonNeumann-Noisy-v1",
        True,
        "infogain",
        "identified",
        99.0,
        None,
        "infogain identified",
    ),
    ("lifegym/Free-Noisy-v1", True, "infogain", "identified", 90.0, None, "infogain identified"),
    ("lifegym/Isotropic-Stats-v1", True, None, "behavioural", 80.0, None, "best agent behavioural"),
)


def _is_v1(env_id: str) -> bool:
    return env_id.endswith("-v1")


def build_jobs(args: argparse.Namespace) -> dict[str, list[bench.Job]]:
    """The jobs of each rule set (``named``, ``random``)."""
    # Every preset keeps its index in the seeds whichever are played (--envs).
    env_ids = list(PRESETS)
    played = args.envs or env_ids
    named = {env_id: bench.rules_for("named", env_id)[0] for env_id in played}
    if args.quick:
        named = {env_id: rules[:1] for env_id, rules in named.items()}
    sets: dict[str, list[bench.Job]] = {"named": [], "random": []}
    named_played: dict[str, list[str | None]] = {}
    for env_id in played:
        agents = list(AGENTS)
        policy = args.policies.get(env_id)
        if policy:
            make_agent(policy, gym.make(env_id))  # ValueError: not a policy for env_id
            agents.append(policy)
        count = args.random_v1 if _is_v1(env_id) else args.random
        cap = SLOW_RULES.get(env_id)
        named_cap = min(cap or args.named_v1, args.named_v1) if _is_v1(env_id) else cap
        random_rules: list[str | None] = [None] * count
        named_played[env_id] = named[env_id][:named_cap]
        for name, rules, seed in (
            ("named", named[env_id][:named_cap], args.seed),
            ("random", random_rules[:cap], args.seed + 1),
        ):
            only_here = functools.partial(_rules_of, {env_id: rules})
            for design in (False, True) if _is_v1(env_id) else (False,):
                # A policy plays the Discrete face it was trained on.
                players = [a for a in agents if not (design and _is_policy(a))]
                sets[name] += bench.make_jobs(
                    env_ids, players, only_here, args.seeds, seed, None, design
                )
    # The named rules the oracle plays (the same seeds): the emulator rows' yardstick.
    on_emulator = functools.partial(
        _rules_of, {e: named_played[e] for e in args.emulator_envs if e in named_played}
    )
    sets["named"] += bench.make_jobs(
        env_ids, ["emulator-loop"], on_emulator, args.seeds, args.seed, "emulator"
    )
    return sets


def _rules_of(rules: dict[str, list[str | None]], env_id: str) -> list[str | None]:
    return rules.get(env_id, [])


#: Summary column -> its interval key (fractions).
_INTERVAL_OF = {
    "identified": "identified_ci",
    "exact": "exact_ci",
    "behavioural": "behavioural_match_ci",
}


def _interval(entry: dict[str, Any], metric: str) -> str:
    """``[low, high]`` in % of a rate's 95% interval (empty when it has none)."""
    low, high = entry.get(_INTERVAL_OF[metric]) or (math.nan, math.nan)
    if _value(low) == -math.inf or _value(high) == -math.inf:
        return ""
    return f"[{100 * low:.0f}, {100 * high:.0f}]"


def _value(value: Any) -> float:
    """A number to rank by: missing (None, NaN) ranks below every number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -math.inf
    return float(value)


def rank_key(entry: dict[str, Any], metric: str = "identified") -> tuple[float, float, float]:
    """How agents rank: by mean score, then ``metric``, then the lower experiment cost (a
    summary without a score, e.g. every episode's reference failed, ranks below any that
    has one)."""
    cost = _value(entry.get("experiment_cost"))
    return (
        _value(entry.get("score_mean")),
        _value(entry.get(metric)),
        -math.inf if cost == -math.inf else -cost,
    )


def best_agent(entries: list[dict[str, Any]], metric: str = "identified") -> dict[str, Any]:
    """The entry of highest :func:`rank_key` (the first of equals)."""
    return max(entries, key=functools.partial(rank_key, metric=metric))


def ranked(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The summary with each env and face's agents by :func:`rank_key`, best first, and
    its reference last; the envs and faces in order of first appearance."""
    blocks: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for entry in summary:
        blocks.setdefault((entry["env"], bool(entry.get("design"))), []).append(entry)
    out = []
    for block in blocks.values():
        agents = [e for e in block if not e.get("reference")]
        out += sorted(agents, key=rank_key, reverse=True)  # stable: equals keep their order
        out += [e for e in block if e.get("reference")]
    return out


def _score_text(entry: dict[str, Any]) -> str:
    """``score 0.86 [0.73, 0.98]`` (``score -`` without one)."""
    score = _value(entry.get("score_mean"))
    if score == -math.inf:
        return "score -"
    low, high = (_value(v) for v in entry.get("score_ci") or (None, None))
    interval = "" if -math.inf in (low, high) else f" [{low:.2f}, {high:.2f}]"
    return f"score {score:.2f}{interval}"


def target_lines(summaries: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One Markdown table row per target: the best agent on each rule set, and met or not."""
    lines = [
        "| env | target | named rules: best agent | random rules: best agent | met |",
        "|---|---|---|---|---|",
    ]
    for env_id, metric, threshold, what in TARGETS:
        cells, met = [], True
        for name in ("named", "random"):
            entries = [e for e in summaries[name] if e["env"] == env_id and not e.get("reference")]
            if not entries:
                cells.append("-")
                continue
            best = best_agent(entries, metric)
            cells.append(
                f"{best[metric]:.1f}% {_interval(best, metric)} ({best['agent']}, "
                f"{best['inference']}, {_score_text(best)})"
            )
            met = met and best[metric] >= threshold
        lines.append(
            f"| {env_id.removeprefix('lifegym/')} | {what} >= {threshold:g}% | "
            + " | ".join(cells)
            + f" | {'yes' if met else 'no'} |"
        )
    return lines


def _v1_cell(entries: list[dict[str, Any]], target: tuple) -> tuple[str, bool]:
    """The text and verdict of one v1 target on one rule set's summary entries."""
    _, _, agent, metric, threshold, limit, _ = target
    oracle = next((e for e in entries if e["agent"] == "oracle"), None)
    players = [e for e in entries if not e.get("reference")]
    if agent is not None:
        players = [e for e in players if e["agent"] == agent]
    if not players:
        return "-", False
    best = best_agent(players, metric)
    text = (
        f"{best[metric]:.1f}% {_interval(best, metric)} ({best['agent']}, "
        f"{_score_text(best)}) at {best['experiment_cost']:,.0f}"
    )
    met = best[metric] >= threshold
    if limit == "2x oracle":
        ratio, paired = _value(best.get("cost_vs_oracle")), best.get("cost_vs_oracle_episodes")
        text += f" = {ratio:.2f}x oracle" if ratio > -math.inf else ", no oracle episode"
        text += f" (n={paired})" if paired else ""
        met = met and -math.inf < ratio <= 2.0
    elif limit is not None:
        met = met and best["experiment_cost"] <= limit
    if oracle is not None:
        text += f"; oracle median {oracle['experiment_cost_median']:,.0f}"
    return text, met


def v1_target_lines(summaries: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One Markdown table row per v1 target (``V1_TARGETS``)."""
    lines = [
        "| env | face | target | named rules | random rules | met |",
        "|---|---|---|---|---|---|",
    ]
    for target in V1_TARGETS:
        env_id, design, *_, what = target
        cells, verdicts = [], []
        for name in ("named", "random"):
            entries = [e for e in summaries[name] if e["env"] == env_id and e["design"] == design]
            text, ok = _v1_cell(entries, target)
            cells.append(text)
            if entries:  # a set without rules (no named rule in the family) has no say
                verdicts.append(ok)
        met = bool(verdicts) and all(verdicts)
        lines.append(
            f"| {env_id.removeprefix('lifegym/')} | {'design' if design else 'Discrete'} | "
            f"{what} | " + " | ".join(cells) + f" | {'yes' if met else 'no'} |"
        )
    return lines


def bounds_lines(env_ids: list[str]) -> list[str]:
    """The analytic lower bounds of each v1 preset (``lifegym.bounds``)."""
    lines = ["| env | capacity bound | sighting bound |", "|---|---|---|"]
    for env_id in env_ids:
        bound = bench.bounds(env_id)
        sightings = "-" if bound["sightings"] is None else f"{bound['sightings']:,}"
        lines.append(f"| {env_id.removeprefix('lifegym/')} | {bound['capacity']:,} | {sightings} |")
    return lines


def _is_policy(agent: str) -> bool:
    return agent.partition(":")[0] in ("ppo", "maskable-ppo") and ":" in agent


def policy_target_line(summaries: dict[str, list[dict[str, Any]]], env_id: str) -> str | None:
    """The v0 RL target as a Markdown table row: the policy's identified rate at least the
    best heuristic's (the best by :func:`rank_key`: score, then identified, then the
    cheapest, of the agents other than ``random``, policies and the reference) at no more
    than its mean experiment cost, and at most half of ``random``'s cost. None when no
    policy ran on ``env_id``."""
    cells, met = [], True
    for name in ("named", "random"):
        entries = [e for e in summaries[name] if e["env"] == env_id]
        policies = [e for e in entries if _is_policy(e["agent"])]
        heuristics = [
            e
            for e in entries
            if e["agent"] != "random" and not _is_policy(e["agent"]) and not e.get("reference")
        ]
        randomly = [e for e in entries if e["agent"] == "random"]
        if not (policies and heuristics and randomly):
            return None
        policy, random = policies[0], randomly[0]
        best = best_agent(heuristics)
        cells.append(
            f"policy {policy['identified']:.1f}% at {policy['experiment_cost']:,.0f}; "
            f"{best['agent']} {best['identified']:.1f}% at {best['experiment_cost']:,.0f}; "
            f"random at {random['experiment_cost']:,.0f}"
        )
        met = met and (
            policy["identified"] >= best["identified"]
            and policy["experiment_cost"] <= best["experiment_cost"]
            and 2 * policy["experiment_cost"] <= random["experiment_cost"]
        )
    return (
        f"| {env_id.removeprefix('lifegym/')} | trained policy: best heuristic's identified % "
        "at <= its experiment cost, <= half of random's | "
        + " | ".join(cells)
        + f" | {'yes' if met else 'no'} |"
    )


def v1_policy_target_line(summaries: dict[str, list[dict[str, Any]]], env_id: str) -> str | None:
    """The v1 RL target as a Markdown table row, on ``env_id``'s Discrete face:
    the policy's identified rate at least ``infogain``'s, its mean experiment cost <= 1.5x
    infogain's, its mean compute cost <= 2x infogain's experiment + compute cost, and no
    episode ended by truncation. None when no policy ran there."""
    cells, met = [], True
    for name in ("named", "random"):
        entries = [e for e in summaries[name] if e["env"] == env_id and not e["design"]]
        policies = [e for e in entries if _is_policy(e["agent"])]
        infogain = [e for e in entries if e["agent"] == "infogain"]
        if not infogain:
            continue
        if not policies:
            return None
        policy, reference = policies[0], infogain[0]
        budget = reference["experiment_cost"] + reference["compute_cost"]
        cells.append(
            f"policy {policy['identified']:.1f}% {_interval(policy, 'identified')} at "
            f"{policy['experiment_cost']:,.0f} + compute {policy['compute_cost']:,.0f}, "
            f"{policy['truncated']} truncated; infogain {reference['identified']:.1f}% at "
            f"{reference['experiment_cost']:,.0f} + compute {reference['compute_cost']:,.0f}"
        )
        met = met and (
            policy["identified"] >= reference["identified"]
            and policy["experiment_cost"] <= 1.5 * reference["experiment_cost"]
            and policy["compute_cost"] <= 2 * budget
            and policy["truncated"] == 0
        )
    if not cells:
        return None
    return (
        f"| {env_id.removeprefix('lifegym/')} | Discrete | trained policy: identified >= "
        "infogain's, experiment cost <= 1.5x, compute <= 2x infogain's experiment + compute, "
        "no truncation | " + " | ".join(cells) + f" | {'yes' if met else 'no'} |"
    )


def json_text(head: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """One JSON object: ``head``'s fields, then ``rows``, one row per line (readable diffs)."""
    fields = [f" {json.dumps(key)}: {json.dumps(value)}" for key, value in head.items()]
    body = ",\n".join("  " + json.dumps(row, default=bench.json_default) for row in rows)
    return "{\n" + ",\n".join(fields) + ',\n "rows": [\n' + body + "\n ]\n}\n"


def identifiability_lines(rows: list[dict[str, Any]]) -> list[str]:
    """Per preset (its own engine's rows): the episodes and hidden rules played, the rules
    that share their observational class with others (``lifegym.equivalence``), the
    identifiability ceiling (with classes every rule is identifiable: 100%; demanding the
    one rule, as score version 1 did, only rules alone in their class can be), and the
    reference on each face: episodes it identified out of all, and how many it did not
    finish by itself (truncated or budget)."""
    lines = [
        "| env | episodes | rules | rules in a class of 2+ | ceiling (classes) | ceiling "
        "(one rule, v1) | oracle identified (Discrete) | oracle identified (design) | "
        "oracle not submitting |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_env: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if not row.get("env_kwargs"):
            by_env.setdefault(row["env"], []).append(row)
    for env_id, group in by_env.items():
        unwrapped = gym.make(env_id).unwrapped
        space, model = unwrapped.space, unwrapped.model
        rules = sorted({row["true_rule"] for row in group})
        shared = [r for r in rules if len(observational_class(Rule.parse(r), space, model)) > 1]
        episodes = {(row["true_rule"], row["seed"]) for row in group}
        alone = sum(rule not in shared for rule, _ in episodes)
        oracle = [row for row in group if row["agent"] == "oracle"]
        cells = []
        for design in (False, True):
            face = [row for row in oracle if bool(row.get("design")) == design]
            cells.append(f"{sum(r['identified'] for r in face)}/{len(face)}" if face else "-")
        unfinished = sum(row["submitted_by"] != "agent" for row in oracle)
        lines.append(
            f"| {env_id.removeprefix('lifegym/')} | {len(episodes)} | {len(rules)} | "
            f"{', '.join(shared) or '-'} | 100% | {100 * alone / max(len(episodes), 1):.0f}% | "
            + " | ".join(cells)
            + f" | {unfinished} |"
        )
    return lines


def write_markdown(
    path: Path,
    summaries: dict[str, list[dict[str, Any]]],
    settings: dict[str, Any],
    rows: list[dict[str, Any]] | None = None,
) -> None:
    parts = [
        "# Leaderboard",
        "",
        "Written by `benchmarks/leaderboard.py` (see its docstring for the method). "
        f"Settings: {json.dumps(settings)}.",
        "",
        "`score` is the mean over episodes of identified x min(1, oracle's experiment cost / "
        "the agent's) on the same episode (same env, face, rule and seed): 1 for identifying "
        "the rule at no more than the oracle's cost, 0.5 at twice it, 0 for not identifying "
        "it. The oracle reads the hidden rule and is the reference, never ranked (it plays "
        "on each preset's own engine; `emulator` rows are scored against it). An episode the "
        "oracle did not identify has no score and is counted under `reference failed`. "
        "Agents are listed by score; every target's best agent is the one of highest score.",
        "",
        "Costs are means per episode: experiment cost in observed cell-steps; `env tests "
        "(compute)` counts the cell-steps the env simulated for the agent's bit and MAP "
        "tests (not the agent's own simulation, whose CPU time is `agent CPU s`). "
        f"{settings['seeds']} episodes (seeds) per rule. `identified %` is the luck-free "
        "success the env reports (`lifegym.scoring`); `exact %` can be true by a lucky "
        "tie-break. Brackets hold 95% intervals from the cluster bootstrap over hidden rules "
        "(`rules` of them; seeds of a rule are not independent); a rate or score that is the "
        "same on every rule (e.g. 100%, or one rule) gets Wilson's interval with one trial "
        "per rule instead of a point.",
        "",
        "`cost / oracle` divides an agent's mean experiment cost by the oracle's over the "
        "episodes the oracle identified (n of them). `design` marks runs with `design=True`.",
        "",
    ]
    if rows:
        parts += [
            "## Observational classes, identifiability and the reference",
            "",
            "Rules no experiment of a preset can tell apart form one class and count as one "
            "(docs/environments.md); the ceiling is the share of episodes an agent can "
            "identify at all. The oracle should identify every episode and submit by itself.",
            "",
            *identifiability_lines(rows),
            "",
        ]
    if any(not _is_v1(e) for e in settings["envs"]):
        parts += [
            "## Targets (v0)",
            "",
            *target_lines(summaries),
            *filter(
                None,
                (policy_target_line(summaries, e) for e in settings["policies"] if not _is_v1(e)),
            ),
            "",
        ]
    if any(_is_v1(e) for e in settings["envs"]):
        parts += [
            "## Targets (v1)",
            "",
            *v1_target_lines(summaries),
            *filter(
                None,
                (v1_policy_target_line(summaries, e) for e in settings["policies"] if _is_v1(e)),
            ),
            "",
            "## Lower bounds on the experiment cost (observed cell-steps, to 0.1 bit)",
            "",
            "See docs/environments.md (capacity: any engine, on the mean; sightings: per-bit "
            "evidence engines, on every episode).",
            "",
            *bounds_lines([e for e in settings["envs"] if _is_v1(e)]),
            "",
        ]
    for version in ("v1", "v0"):
        for name, title in (("named", "named rules"), ("random", "random rules (uniform prior)")):
            entries = [e for e in summaries[name] if e["env"].endswith(f"-{version}")]
            if entries:
                parts += [f"## {version}: {title}", "", bench.markdown_table(ranked(entries))]
    path.write_text("\n".join(parts))


def _policies(given: list[str] | None) -> dict[str, str]:
    """env id -> policy agent name, from ``--policy ENV=AGENT`` options (default: the
    committed policies that exist; ``none``: no policy)."""
    if given is None:
        return {
            env_id: f"maskable-ppo:{os.path.relpath(path)}"
            for env_id, path in DEFAULT_POLICIES.items()
            if path.is_file()
        }
    policies = {}
    for text in given:
        if text == "none":
            continue
        env_id, sep, agent = text.partition("=")
        if not sep or not _is_policy(agent):
            raise ValueError(
                f"--policy {text!r}: expected ENV=maskable-ppo:PATH or ENV=ppo:PATH, or none"
            )
        policies[env_id] = agent
    return policies


def source_digest() -> str:
    """sha256 of the package's Python source (every ``lifegym/**/*.py``, by path)."""
    digest = hashlib.sha256()
    package = machine.ROOT / "lifegym"
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def job_key(job: bench.Job) -> str:
    """The identity of a job's episode: the job, and the bytes of a policy file it loads."""
    fields = dataclasses.asdict(job)
    _, _, path = job.agent.partition(":")
    if path and Path(path).is_file():
        fields["agent_file_sha256"] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return json.dumps(fields, sort_keys=True)


def play(jobs: list[bench.Job], workers: int, log: Path, resume: bool) -> list[dict[str, Any]]:
    """Every job's row, in job order: from ``log`` where ``resume`` finds it there, else
    played (``workers`` processes) and appended to ``log`` as it finishes."""
    source = source_digest()
    done: dict[str, dict[str, Any]] = {}
    if resume and log.exists():
        for number, line in enumerate(log.read_text().splitlines(), start=1):
            entry = json.loads(line)
            if entry["source"] != source:
                raise ValueError(
                    f"{log}:{number} was written by another lifegym source "
                    f"({entry['source'][:12]}, this one is {source[:12]}): run without --resume"
                )
            done[entry["key"]] = entry["row"]
    keys = [job_key(job) for job in jobs]
    todo = [(job, key) for job, key in zip(jobs, keys, strict=True) if key not in done]
    print(f"{len(jobs) - len(todo)} episodes resumed, {len(todo)} to play", file=sys.stderr)
    rows = bench.iter_local([job for job, _ in todo], workers)
    with log.open("a") as out:
        for (_, key), row in zip(todo, rows, strict=True):
            done[key] = row
            entry = {"source": source, "key": key, "row": row}
            out.write(json.dumps(entry, default=bench.json_default) + "\n")
            out.flush()
    return [done[key] for key in keys]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=100, help="random rules per v0 preset")
    parser.add_argument("--random-v1", type=int, default=30, help="random rules per v1 preset")
    parser.add_argument(
        "--named-v1", type=int, default=1000, help="at most this many named rules per v1 preset"
    )
    parser.add_argument("--name", default=None, help="stem of the output files")
    parser.add_argument(
        "--envs", nargs="*", default=None, help="presets to play (default: every preset)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--seeds", type=int, default=3, help="episodes (each with its own seed) per rule"
    )
    parser.add_argument(
        "--policy",
        action="append",
        metavar="ENV=AGENT",
        help="a trained policy as an agent on the preset it was trained for, e.g. "
        "lifegym/LifeLike-Noisy-v1=maskable-ppo:PATH (repeatable; default: the committed "
        "policies; 'none': no policy)",
    )
    parser.add_argument(
        "--emulator-envs",
        nargs="*",
        default=list(DEFAULT_EMULATOR_ENVS),
        help="presets where emulator-loop also runs with inference=emulator (named rules)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: few rules")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="take the episodes already in OUT/<stem>.rows.jsonl (an interrupted run's)",
    )
    parser.add_argument("--out", default=str(machine.ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    if args.quick:
        args.random = min(args.random, 3)
        args.random_v1 = min(args.random_v1, 3)
    for option, value in (
        ("--random", args.random),
        ("--random-v1", args.random_v1),
        ("--seeds", args.seeds),
    ):
        if value < 1:
            parser.error(f"{option} must be >= 1, got {value}")
    try:
        args.policies = _policies(args.policy)
    except ValueError as exc:
        parser.error(str(exc))
    for option, env_ids in (
        ("--envs", args.envs or []),
        ("--policy", list(args.policies)),
        ("--emulator-envs", args.emulator_envs),
    ):
        unknown = [e for e in env_ids if e not in PRESETS]
        if unknown:
            parser.error(f"{option}: not presets: {unknown}; choose from {list(PRESETS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("leaderboard_quick" if args.quick else "leaderboard")
    try:
        sets = build_jobs(args)
    except ValueError as exc:
        parser.error(str(exc))
    rows: dict[str, list[dict[str, Any]]] = {}
    log = out / f"{stem}.rows.jsonl"
    if not args.resume:
        log.unlink(missing_ok=True)
    start = time.perf_counter()
    for name, jobs in sets.items():
        print(f"{name}: {len(jobs)} episodes", file=sys.stderr, flush=True)
        try:
            rows[name] = bench.attach_scores(play(jobs, args.workers, log, args.resume))
        except ValueError as exc:
            parser.error(str(exc))
        for row in rows[name]:
            row["rule_set"] = name
    wall = time.perf_counter() - start
    summaries = {name: bench.summarise(set_rows) for name, set_rows in rows.items()}
    settings = {
        "envs": args.envs or list(PRESETS),
        "random": args.random,
        "random_v1": args.random_v1,
        "named_v1": args.named_v1,
        "seeds": args.seeds,
        "seed": args.seed,
        "workers": args.workers,
        "policies": args.policies,
        "emulator_envs": args.emulator_envs,
        "wall_s": round(wall, 1),
    }
    all_rows = rows["named"] + rows["random"]
    head = {"machine": machine.machine_info(), "settings": settings}
    (out / f"{stem}.json").write_text(json_text(head, all_rows))
    write_markdown(out / f"{stem}.md", summaries, settings, all_rows)
    bench.plot_accuracy_vs_cost(bench.summarise(all_rows), out / f"{stem}.svg")
    print((out / f"{stem}.md").read_text())
    print(f"{len(all_rows)} episodes in {wall:.0f} s; wrote {out}/{stem}.{{json,md,svg}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
