"""Inspect AI tasks: rule discovery by a language model, in the harness LLM researchers use.

Needs the ``inspect`` extra (``pip install -c constraints.txt -e '.[inspect]'``), which also
registers this module through Inspect's entry point, so::

    inspect eval lifegym/rule_discovery -T env=LifeLike-Noisy-v1 -T rules=random:20 --model M
    inspect eval lifegym/rule_discovery_code ...        # the same, with a Python tool

* **Samples**: one per episode of ``lifegym bench`` (:func:`lifegym.bench.make_jobs`: the
  same rules and seeds as ``lifegym bench --env ENV --rules RULES --episodes N --seed S
  --design``). Each sample's metadata holds ``env``, ``rule`` (the hidden rule) and
  ``seed``; the model never sees it, only the task text (:meth:`Episode.task`, as JSON).
* **Solver**: a fresh :class:`~lifegym.protocol.Episode` per sample, created by the harness
  from the metadata; Inspect's ``react`` agent with one tool per protocol tool (names,
  descriptions and parameter schemas read from :mod:`lifegym.protocol`), each calling
  :meth:`Episode.call`. A bad call is a tool error the model reads; the episode goes on.
  ``submit_rule`` ends the sample. Every call's costs and the result go to the sample's
  store (``lifegym``).
* **Scorer**: ``identified``, ``exact``, ``submitted``, ``experiment_cost``,
  ``compute_cost`` and the cost-aware ``score`` of ``lifegym bench``
  (:func:`lifegym.bench.attach_scores`: identified x min(1, oracle cost / experiment cost),
  the ``oracle`` agent run on the same env, rule and seed), with mean and stderr. An
  episode the model never submitted (it stopped, or hit the message or token limit) is
  not identified and scores 0; the ``submitted`` metrics count them (``unsubmitted``). An
  episode whose oracle did not identify the rule has no yardstick: its ``score`` is NaN,
  which Inspect leaves out of the score's mean (as ``lifegym bench`` does).
"""

from __future__ import annotations

from typing import Any

import anyio
from inspect_ai import Task, task
from inspect_ai.agent import AgentPrompt, AgentSubmit, as_solver, react
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    mean,
    metric,
    scorer,
    stderr,
)
from inspect_ai.solver import Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolDef, ToolParams, python
from inspect_ai.tool import ToolError as InspectToolError
from inspect_ai.util import Store

from lifegym import llm_episodes, protocol
from lifegym.llm_episodes import (
    INSTRUCTIONS,
    SUBMIT_TOOL,
    episode_specs,
    fresh_record,
    make_episode,
    task_text,
)
from lifegym.protocol import Episode, ToolError, compact_json

__all__ = [
    "STORE_KEY",
    "episode_row",
    "protocol_tools",
    "rule_discovery",
    "rule_discovery_code",
    "rule_discovery_scorer",
    "rule_discovery_solver",
    "samples",
    "tool_specs",
]

#: The sample store's key for what the episode spent and its result.
STORE_KEY = "lifegym"
#: The agent name of Inspect rows (``bench.attach_scores`` pairs them with the oracle).
AGENT_NAME = "inspect"
#: Messages per sample by default: room for the Text env's 256 tool calls and the task.
DEFAULT_MESSAGE_LIMIT = 600
CODE_INSTRUCTIONS = (
    " You also have a `python` tool that runs Python code on this machine to analyse what "
    "you observe; it has no access to the hidden rule."
)


# -- the protocol's tools as Inspect tools -------------------------------------------------


def tool_specs() -> list[tuple[str, str, dict[str, Any]]]:
    """``(name, description, parameters)`` of every protocol tool, read from
    :data:`lifegym.protocol.TOOL_SCHEMAS` (the one declaration of the tools)."""
    return [
        (name, schema["description"], schema["parameters"])
        for name, schema in protocol.TOOL_SCHEMAS.items()
    ]


def protocol_tools(episode: Episode, store: Store | None = None) -> list[ToolDef]:
    """One Inspect tool per protocol tool, each calling ``episode.call``; a
    :class:`~lifegym.protocol.ToolError` becomes a tool error for the model. With
    ``store``, each call adds its costs to ``store[STORE_KEY]``, which also holds the
    episode's ``diagnostics`` (when it records them) and, after ``submit_rule``, the
    result."""
    if store is not None and store.get(STORE_KEY) is None:
        store.set(STORE_KEY, fresh_record())
    return [
        _tool(episode, name, description, parameters, store)
        for name, description, parameters in tool_specs()
    ]


def _tool(
    episode: Episode, name: str, description: str, parameters: dict[str, Any], store: Store | None
) -> ToolDef:
    async def execute(**kwargs: Any) -> str:
        record = None if store is None else dict(store.get(STORE_KEY))
        try:
            reply = episode.call(name, kwargs)
        except ToolError as exc:
            if record is not None:
                assert store is not None  # the record was read from it
                record["calls"] += 1
                record["errors"] += 1
                store.set(STORE_KEY, record)
            raise InspectToolError(str(exc)) from exc
        if record is not None:
            assert store is not None  # the record was read from it
            record["calls"] += 1
            if episode.diagnostics:
                record["diagnostics"] = list(episode.diagnostics)
            experiment, compute = llm_episodes.call_costs(name, reply)
            record["experiment_cost"] += experiment
            record["compute_cost"] += compute
            if name == SUBMIT_TOOL:
                record["result"] = reply
            store.set(STORE_KEY, record)
        return compact_json(reply)

    return ToolDef(
        execute,
        name=name,
        description=description,
        parameters=ToolParams.model_validate(parameters),
    )


# -- dataset, solver, scorer ---------------------------------------------------------------


def samples(env: str, rules: str = "named", episodes: int = 1, seed: int = 0) -> list[Sample]:
    """The samples of ``lifegym bench``'s episodes on ``env`` (with ``design=True``): one
    per rule of ``rules`` (``named``, ``random:N`` or a file) and episode, with the same
    seeds (:func:`lifegym.llm_episodes.episode_specs`, the sample's metadata); ValueError
    for a bad argument or no rule in the env's rule space."""
    specs = episode_specs(env, rules, episodes, seed)
    text = task_text(env)  # the task does not depend on the hidden rule
    return [
        Sample(
            id=f"{spec['env'].removeprefix(llm_episodes.PREFIX)}-{number}",
            input=text,
            metadata=spec,
        )
        for number, spec in enumerate(specs, start=1)
    ]


@solver
def rule_discovery_solver(
    code: bool = False, reply_cap: int | None = None, diagnostics: bool = True
) -> Solver:
    """A fresh episode for the sample (from its metadata), then Inspect's ``react`` agent
    with the protocol's tools (and ``python`` with ``code``) until ``submit_rule``.
    ``reply_cap``: the episode's (None: the protocol's default); ``diagnostics``: record
    each experiment's diagnostics (``Episode.diagnostics``) in the store."""

    async def solve(state: TaskState, generate: Any) -> TaskState:
        options: dict[str, Any] = {"diagnostics": diagnostics}
        if reply_cap is not None:
            options["reply_cap"] = reply_cap
        episode = make_episode(state.metadata, **options)
        tools = protocol_tools(episode, state.store)
        submit = next(t for t in tools if t.name == SUBMIT_TOOL)
        others: list[Tool | ToolDef] = [t for t in tools if t.name != SUBMIT_TOOL]
        if code:
            others.append(python(timeout=120))
        agent = react(
            prompt=AgentPrompt(
                instructions=INSTRUCTIONS + (CODE_INSTRUCTIONS if code else ""),
                assistant_prompt=None,
            ),
            tools=others,
            submit=AgentSubmit(
                name=SUBMIT_TOOL,
                description=submit.description,
                tool=submit,
                answer_only=True,
                keep_in_messages=True,
            ),
        )
        return await as_solver(agent)(state, generate)

    return solve


def episode_row(metadata: dict[str, Any], record: dict[str, Any] | None) -> dict[str, Any]:
    """A ``lifegym bench`` row for the sample's episode: the result when the model
    submitted; otherwise not identified, not exact, at the costs it ran up."""
    return llm_episodes.episode_row(metadata, record, AGENT_NAME)


@metric
def unsubmitted() -> Metric:
    """How many episodes ended without a submission (of a 0/1 ``submitted`` value)."""

    def count(scores: list[SampleScore]) -> float:
        return float(sum(1 for s in scores if not s.score.as_float()))

    return count


@scorer(
    metrics={
        "identified": [mean(), stderr()],
        "exact": [mean(), stderr()],
        "score": [mean(), stderr()],
        "experiment_cost": [mean()],
        "compute_cost": [mean()],
        "submitted": [mean(), unsubmitted()],
    }
)
def rule_discovery_scorer(reference: bool = True) -> Scorer:
    """The episode's result the way ``lifegym bench`` scores it; ``reference``: run the
    ``oracle`` on the same episode for the cost-aware ``score`` (NaN without it)."""

    async def score(state: TaskState, target: Target) -> Score:
        metadata = state.metadata
        row = episode_row(metadata, state.store.get(STORE_KEY))
        scored: dict[str, Any] = {"score": None, "reference_failed": None, "oracle_cost": None}
        if reference:
            oracle = await anyio.to_thread.run_sync(llm_episodes.reference_row, metadata)
            scored = llm_episodes.scored_row(row, oracle)
        value = {
            "identified": float(bool(row["identified"])),
            "exact": float(bool(row["exact"])),
            "score": float("nan") if scored["score"] is None else float(scored["score"]),
            "experiment_cost": float(row["experiment_cost"]),
            "compute_cost": float(row["compute_cost"]),
            "submitted": float(row["submitted"]),
        }
        keep = ("true_rule", "submitted_rule", "bits_correct", "behavioural_match")
        return Score(
            value=value,
            answer=row.get("submitted_rule"),
            explanation=(
                f"submitted {row.get('submitted_rule')}, hidden {row['true_rule']}"
                if row["submitted"]
                else "never submitted: not identified"
            ),
            metadata={
                **{k: row.get(k) for k in keep},
                "reference_failed": scored["reference_failed"],
                "oracle_cost": scored["oracle_cost"],
            },
        )

    return score


def _task(
    env: str,
    rules: str,
    episodes: int,
    seed: int,
    code: bool,
    message_limit: int | None,
    token_limit: int | None,
    reference: bool,
    reply_cap: int | None,
    diagnostics: bool,
) -> Task:
    return Task(
        dataset=MemoryDataset(samples(env, rules, episodes, seed), name="lifegym"),
        solver=rule_discovery_solver(code, reply_cap, diagnostics),
        scorer=rule_discovery_scorer(reference=reference),
        sandbox="local" if code else None,
        message_limit=message_limit,
        token_limit=token_limit,
    )


@task
def rule_discovery(
    env: str = "LifeLike-Noisy-v1",
    rules: str = "named",
    episodes: int = 1,
    seed: int = 0,
    code: bool = False,
    message_limit: int | None = DEFAULT_MESSAGE_LIMIT,
    token_limit: int | None = None,
    reference: bool = True,
    reply_cap: int | None = None,
    diagnostics: bool = True,
) -> Task:
    """Active rule discovery on the v1 preset ``env`` (with or without ``lifegym/``).

    Args:
        env: the preset.
        rules: ``named``, ``random:N`` or a file of rules, one per line (``lifegym bench``).
        episodes: episodes (seeds) per rule.
        seed: the seed of the episodes' seeds (``lifegym bench --seed``).
        code: give the model a ``python`` tool (a ``local`` sandbox: this machine).
        message_limit: messages per sample (None: no limit).
        token_limit: tokens per sample (None: no limit).
        reference: run the ``oracle`` per episode for the cost-aware score.
        reply_cap: the longest experiment reply (characters; None: the protocol's default).
        diagnostics: record each experiment's belief entropy before and after and the
            best menu item's expected gain per cost in the sample's store (the log).
    """
    return _task(
        env,
        rules,
        episodes,
        seed,
        code,
        message_limit,
        token_limit,
        reference,
        reply_cap,
        diagnostics,
    )


@task
def rule_discovery_code(
    env: str = "LifeLike-Noisy-v1",
    rules: str = "named",
    episodes: int = 1,
    seed: int = 0,
    message_limit: int | None = DEFAULT_MESSAGE_LIMIT,
    token_limit: int | None = None,
    reference: bool = True,
    reply_cap: int | None = None,
    diagnostics: bool = True,
) -> Task:
    """:func:`rule_discovery` with a ``python`` tool (code-assisted, reported apart)."""
    return _task(
        env,
        rules,
        episodes,
        seed,
        True,
        message_limit,
        token_limit,
        reference,
        reply_cap,
        diagnostics,
    )
