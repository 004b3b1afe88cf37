"""Benchmark agents on envs and hidden rules: the jobs, running them, and the summary.

One *job* is one episode: an env id, an agent name, a hidden rule (or ``None``: the env
draws one from its prior with the episode's seed), a seed and, optionally, the inference
engine to use instead of the preset's own (``gym.make(id, inference=...)``) and
``design`` (``gym.make(id, design=True)``: designed experiments in the action space).
Seeds come from ``numpy.random.SeedSequence([seed, env, rule, episode])`` (indices into the
lists given), so a job's seed does not depend on which other jobs run, nor on the backend
or the number of workers. A *row* is the episode's ``info["result"]`` plus ``env``,
``inference`` (the engine that ran), ``design``, ``agent``, ``reference`` (the agent is
told the hidden rule: the ``oracle``), ``rule``, ``seed``, ``agent_seed`` (the agent's own
stream, ``lifegym.agents.agent_seed_for``), ``steps`` and ``wall_s``.

The summary has one entry per env x engine x design x agent. ``cost_vs_oracle`` is the
agent's mean experiment cost over the episodes it shares (rule and seed) with the
``oracle`` in the same env, engine and design, divided by the oracle's mean over them
(NaN without oracle episodes). ``bounds`` gives each env's analytic lower bounds on the
experiment cost (``lifegym.bounds``).

Rules (``rules_for``): ``"named"`` (the named rules of ``lifegym.rules.NAMED_RULES`` that
lie in the env's rule space), ``"random:N"`` (N rules from the env's prior, one per episode
seed) or a file path (one rule string per line, ``#`` comments). Rules outside an env's
space are left out of that env and reported, never dropped silently.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import check_agent_name, is_reference, make_agent, run_episode
from lifegym.bounds import capacity_bound, sighting_bound
from lifegym.intervals import bootstrap_interval, wilson_interval
from lifegym.registration import check_env_id
from lifegym.rules import NAMED_RULES, Rule

__all__ = [
    "PLOT_SUFFIXES",
    "SUMMARY_FIELDS",
    "BenchResult",
    "Job",
    "benchmark",
    "bounds",
    "iter_local",
    "json_default",
    "make_jobs",
    "markdown_table",
    "plot_accuracy_vs_cost",
    "rules_for",
    "run_job",
    "run_local",
    "run_ray",
    "summarise",
    "write_json",
    "write_summary_json",
]

#: (key, heading) of each column of a summary, in order.
SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("env", "env"),
    ("inference", "inference"),
    ("design", "design"),
    ("agent", "agent"),
    ("episodes", "episodes"),
    ("identified", "identified %"),
    ("exact", "exact %"),
    ("behavioural", "behavioural %"),
    ("bits_correct", "bits correct %"),
    ("undetermined_bits", "undetermined bits"),
    ("experiment_cost", "experiment cost"),
    ("cost_vs_oracle", "cost / oracle"),
    ("compute_cost", "compute cost"),
    ("wall_s", "wall s / episode"),
)


@dataclass(frozen=True)
class Job:
    """One episode to run (see the module doc)."""

    env_id: str
    agent: str
    rule: str | None
    seed: int
    inference: str | None = None
    design: bool = False
    #: The agent's seed; None: derived from ``seed`` (``lifegym.agents.agent_seed_for``).
    #: Set only to replay rows written before agents had a stream of their own.
    agent_seed: int | None = None
    #: More keyword arguments of ``gym.make`` (canonical JSON, ``"{}"``: none).
    env_kwargs: str = "{}"


def _rules_from_file(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(
            f"cannot read rules file {str(path)!r}: {exc.strerror} (rules are named, "
            "random:N or a file with one rule per line)"
        ) from exc
    rules = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            rules.append(str(Rule.parse(text)))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from exc
    if not rules:
        raise ValueError(f"rules file {str(path)!r} holds no rule")
    return rules


def rules_for(spec: str, env_id: str) -> tuple[list[str | None], list[str]]:
    """The hidden rules ``spec`` gives for ``env_id``, and the rules left out (not in its
    rule space). ``random:N`` gives ``N`` times ``None`` (the env's prior decides)."""
    check_env_id(env_id)
    if spec.startswith("random:"):
        count = spec.removeprefix("random:")
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"invalid rules {spec!r}: expected random:N with N >= 1")
        return [None] * int(count), []
    if spec == "named":
        candidates = [str(Rule.parse(text)) for text in dict.fromkeys(NAMED_RULES.values())]
    else:
        candidates = _rules_from_file(Path(spec))
    space = gym.make(env_id).unwrapped.space
    kept = [rule for rule in candidates if space.contains(Rule.parse(rule))]
    left_out = [rule for rule in candidates if rule not in kept]
    return list(dict.fromkeys(kept)), left_out


def make_jobs(
    env_ids: Sequence[str],
    agents: Sequence[str],
    rules: Callable[[str], Sequence[str | None]],
    episodes: int,
    seed: int,
    inference: str | None = None,
    design: bool = False,
    env_kwargs: dict[str, Any] | None = None,
) -> list[Job]:
    """Every (env, rule, episode, agent) job; ``rules(env_id)`` lists an env's rules;
    ``inference`` replaces every preset's engine (``None``: each keeps its own); ``design``
    makes every env with ``design=True``; ``env_kwargs`` are more keyword arguments of
    ``gym.make`` (any setting of a preset, e.g. ``{"noise": 0.1}``; JSON values).

    The agents of one (env, rule, episode) share its seed, so they face the same hidden
    rule and the same experiments' initial conditions.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an int >= 1, got {episodes!r}")
    for agent in agents:
        check_agent_name(agent)
    extra = _canonical_kwargs(env_kwargs)
    if inference is not None or design or extra != "{}":
        for env_id in env_ids:
            check_env_id(env_id)
            _make_env(env_id, inference, design, extra)  # ValueError naming the setting
    jobs = []
    for e, env_id in enumerate(env_ids):
        check_env_id(env_id)
        for r, rule in enumerate(rules(env_id)):
            for k in range(episodes):
                state = np.random.SeedSequence([seed, e, r, k]).generate_state(1)[0]
                jobs.extend(
                    Job(env_id, agent, rule, int(state), inference, design, env_kwargs=extra)
                    for agent in agents
                )
    return jobs


def _canonical_kwargs(env_kwargs: dict[str, Any] | None) -> str:
    """``env_kwargs`` as canonical JSON (sorted keys); ValueError for anything else."""
    if env_kwargs is None:
        return "{}"
    if not isinstance(env_kwargs, dict) or not all(isinstance(k, str) for k in env_kwargs):
        raise ValueError(f"env_kwargs must be a dict of keyword arguments, got {env_kwargs!r}")
    reserved = sorted({"inference", "design", "render_mode"} & set(env_kwargs))
    if reserved:
        raise ValueError(f"env_kwargs may not set {reserved}: use inference=/design= instead")
    try:
        return json.dumps(env_kwargs, sort_keys=True)
    except TypeError as exc:
        raise ValueError(f"env_kwargs must hold JSON values, got {env_kwargs!r}") from exc


# Per process: one env per (id, inference, design, env_kwargs), reused across jobs.
_ENVS: dict[tuple[str, str | None, bool, str], gym.Env] = {}


def _make_env(
    env_id: str, inference: str | None, design: bool = False, env_kwargs: str = "{}"
) -> gym.Env:
    key = (env_id, inference, design, env_kwargs)
    if key not in _ENVS:
        kwargs: dict[str, Any] = json.loads(env_kwargs)
        if inference is not None:
            kwargs["inference"] = inference
        if design:
            kwargs["design"] = True
        # JSON has no tuples: (height, width) settings arrive as lists.
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
        try:
            _ENVS[key] = gym.make(env_id, **kwargs)
        except TypeError as exc:  # an unknown keyword
            raise ValueError(f"{env_id} does not take these settings: {exc}") from exc
    return _ENVS[key]


def run_job(job: Job) -> dict[str, Any]:
    """Run one job in this process; returns its row."""
    env = _make_env(job.env_id, job.inference, job.design, job.env_kwargs)
    row = run_episode(env, make_agent(job.agent, env), job.rule, job.seed, None, job.agent_seed)
    return {
        **row,
        "env": job.env_id,
        "env_kwargs": json.loads(job.env_kwargs),
        "reference": is_reference(job.agent),
        "agent": job.agent,  # the name it was asked for (a class's own name may be empty)
    }


def bounds(env_id: str, target_entropy: float = 0.1) -> dict[str, int | None]:
    """Lower bounds on the experiment cost of identifying a rule in ``env_id`` down to
    ``target_entropy`` bits (``lifegym.bounds``): ``capacity`` (any engine) and
    ``sightings`` (where the engine counts per-bit evidence from known inputs: ``exact``;
    None otherwise)."""
    env = _make_env(env_id, None).unwrapped
    n_free, flip = env.space.n_free, env.model.flip_probability
    sightings = sighting_bound(n_free, flip, target_entropy) if env.inference == "exact" else None
    return {"capacity": capacity_bound(n_free, flip, target_entropy), "sightings": sightings}


def iter_local(jobs: Sequence[Job], workers: int = 1) -> Iterator[dict[str, Any]]:
    """Run ``jobs`` here (``workers`` > 1: a pool of processes); yields each row as soon as
    it and the rows before it are done, in job order."""
    _check_workers(workers)
    return _iter_local(jobs, workers)


def _check_workers(workers: int) -> None:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")


def _iter_local(jobs: Sequence[Job], workers: int) -> Iterator[dict[str, Any]]:
    if workers == 1:
        for job in jobs:
            yield run_job(job)
        return
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(run_job, jobs)


def run_local(
    jobs: Sequence[Job], workers: int = 1, progress: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Run ``jobs`` here (``workers`` > 1: a pool of processes); rows in job order."""
    rows: list[dict[str, Any]] = []
    for row in iter_local(jobs, workers):
        rows.append(row)
        if progress:
            progress(len(rows))
    return rows


def run_ray(
    jobs: Sequence[Job], workers: int | None = None, progress: Callable[[int], None] | None = None
) -> list[dict[str, Any]]:
    """Run ``jobs`` as Ray tasks, one task per episode; rows in job order.

    With ``RAY_ADDRESS`` set, joins that cluster; otherwise starts a local one with
    ``workers`` CPUs (default: all) and shuts it down at the end. A job's row does not depend
    on where it ran: its seed fixes the episode (the same rows as :func:`run_local`).
    Needs the ``ray`` extra (``pip install 'lifegym[ray]'``).
    """
    try:
        import ray
    except ImportError as exc:
        raise ValueError("the ray backend needs Ray: pip install 'lifegym[ray]'") from exc
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    address = os.environ.get("RAY_ADDRESS") or None
    started = not ray.is_initialized()
    if started:
        # A local cluster's workers import what this process can: agents named
        # module.path:Class resolve there too. (A remote cluster needs them installed.)
        runtime_env = None if address else {"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}}
        ray.init(
            address=address,
            num_cpus=None if address else workers,
            include_dashboard=False,
            log_to_driver=False,
            runtime_env=runtime_env,
        )
    try:
        task = ray.remote(num_cpus=1)(run_job)
        index = {task.remote(job): i for i, job in enumerate(jobs)}
        rows: list[dict[str, Any] | None] = [None] * len(index)
        pending = list(index)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                rows[index[ref]] = ray.get(ref)
            if progress:
                progress(len(index) - len(pending))
    finally:
        if started:
            ray.shutdown()
    return rows  # type: ignore[return-value]


@dataclass(frozen=True)
class BenchResult:
    """What :func:`benchmark` returns.

    Attributes:
        rows: one dict per episode (the module doc), in job order.
        summary: :func:`summarise` of the rows.
        left_out: env id -> the rules of the spec outside its rule space (not played).
    """

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    left_out: dict[str, list[str]]


def benchmark(
    env_ids: Sequence[str],
    agents: Sequence[str],
    rules: str = "named",
    episodes: int = 1,
    seed: int = 0,
    *,
    inference: str | None = None,
    design: bool = False,
    env_kwargs: dict[str, Any] | None = None,
    backend: str = "local",
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BenchResult:
    """``lifegym bench`` from Python: every agent on every env for every rule of ``rules``
    (``named``, ``random:N`` or a file, see :func:`rules_for`) and episode.

    ``agents`` are names for :func:`lifegym.agents.make_agent` (registered names, policies,
    ``module.path:Class`` or ``file.py:Class``); ``env_kwargs`` adds keyword arguments of
    ``gym.make`` to every env; ``backend`` is ``"local"`` (``workers`` processes) or
    ``"ray"``; ``progress(done, total)`` is called as episodes finish. ValueError names
    any bad argument before an episode runs, and an env none of whose rules lies in its
    rule space::

        result = benchmark(["lifegym/LifeLike-Noisy-v1"], ["infogain", "mypkg.agents:Mine"],
                           rules="random:10", env_kwargs={"noise": 0.1})
        print(markdown_table(result.summary))
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    found = {env_id: rules_for(rules, env_id) for env_id in env_ids}
    for env_id, (kept, _) in found.items():
        if not kept:
            raise ValueError(f"no rule of {rules!r} lies in the rule space of {env_id}")
    jobs = make_jobs(
        env_ids,
        agents,
        lambda env_id: found[env_id][0],
        episodes,
        seed,
        inference,
        design,
        env_kwargs,
    )

    def done(count: int) -> None:
        if progress is not None:
            progress(count, len(jobs))

    if backend == "ray":
        rows = run_ray(jobs, workers, done)
    else:
        rows = run_local(jobs, workers or 1, done)
    left_out = {env_id: lost for env_id, (_, lost) in found.items() if lost}
    return BenchResult(rows, summarise(rows), left_out)


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return float(np.mean(values)) if values else math.nan


def _cost_vs_oracle(group: Sequence[dict[str, Any]], oracle: Sequence[dict[str, Any]]) -> float:
    """Mean experiment cost of ``group`` / the oracle's, over the (rule, seed) they share."""
    oracle_cost = {(r["rule"], r["seed"]): r["experiment_cost"] for r in oracle}
    shared = [r for r in group if (r["rule"], r["seed"]) in oracle_cost]
    if not shared:
        return math.nan
    reference = _mean(oracle_cost[(r["rule"], r["seed"])] for r in shared)
    return _mean(r["experiment_cost"] for r in shared) / reference if reference else math.nan


#: The 0/1 outcomes whose rates get a Wilson interval.
RATES = ("identified", "exact", "behavioural_match")
#: The costs whose means get a bootstrap interval.
MEANS = ("experiment_cost", "compute_cost")
#: Markdown column -> the interval shown beside it, and the scale of both.
_SHOWN_INTERVALS = {
    "identified": ("identified_ci", 100),
    "exact": ("exact_ci", 100),
    "behavioural": ("behavioural_match_ci", 100),
    "experiment_cost": ("experiment_cost_ci", 1),
    "compute_cost": ("compute_cost_ci", 1),
}


def _rate_fields(group: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """``<key>_rate`` and ``<key>_ci`` (95% Wilson) of a 0/1 field; NaN where some row
    lacks it (rows written before the field existed)."""
    if any(key not in row for row in group):
        return {f"{key}_rate": math.nan, f"{key}_ci": [math.nan, math.nan]}
    successes = sum(bool(row[key]) for row in group)
    return {
        f"{key}_rate": successes / len(group),
        f"{key}_ci": list(wilson_interval(successes, len(group))),
    }


def _mean_fields(group: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """``<key>_mean`` and ``<key>_ci`` (95% percentile bootstrap) of a cost."""
    values = [float(row[key]) for row in group]
    return {f"{key}_mean": _mean(values), f"{key}_ci": list(bootstrap_interval(values))}


def _env_label(row: dict[str, Any]) -> str:
    """The env of a row: its id, followed by its extra settings when there are any."""
    extra = row.get("env_kwargs") or {}
    return row["env"] + (" " + json.dumps(extra, sort_keys=True) if extra else "")


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per (env, inference, design, agent), in order of first appearance:
    ``SUMMARY_FIELDS`` (rates in %), ``reference``, and for ``RATES`` ``<m>_rate`` and
    ``<m>_ci`` (fractions, 95% Wilson interval), for ``MEANS`` ``<m>_mean`` and ``<m>_ci``
    (95% bootstrap interval of the mean), and ``truncated`` (episodes that ended at
    ``max_steps``)."""
    groups: dict[tuple[str, str, bool, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (_env_label(row), row["inference"], bool(row.get("design", False)), row["agent"])
        groups.setdefault(key, []).append(row)
    out = []
    for (env_label, inference, design, agent), group in groups.items():
        oracle = groups.get((env_label, inference, design, "oracle"), [])
        entry: dict[str, Any] = {
            "env": env_label,
            "inference": inference,
            "design": design,
            "agent": agent,
            "reference": bool(group[0].get("reference", False)),
            "episodes": len(group),
        }
        for key in RATES:
            entry.update(_rate_fields(group, key))
        for key in MEANS:
            entry.update(_mean_fields(group, key))
        entry.update(
            {
                "identified": 100 * entry["identified_rate"],
                "exact": 100 * entry["exact_rate"],
                "behavioural": 100 * entry["behavioural_match_rate"],
                "bits_correct": 100 * _mean(r["bits_correct"] for r in group),
                "undetermined_bits": _mean(r["n_undetermined"] for r in group),
                "experiment_cost": entry["experiment_cost_mean"],
                "experiment_cost_median": float(np.median([r["experiment_cost"] for r in group])),
                "cost_vs_oracle": _cost_vs_oracle(group, oracle),
                "compute_cost": entry["compute_cost_mean"],
                "truncated": sum(r.get("submitted_by") == "truncation" for r in group),
                "wall_s": _mean(r["wall_s"] for r in group),
            }
        )
        out.append(entry)
    return out


def write_summary_json(summary: Sequence[dict[str, Any]], path: Path) -> None:
    """The summary (one object per env x engine x design x agent) as a JSON list; NaN is
    written as null."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    entries = [{key: clean(value) for key, value in entry.items()} for entry in summary]
    path.write_text(json.dumps(entries, indent=1, default=json_default) + "\n")


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def markdown_table(summary: Sequence[dict[str, Any]]) -> str:
    """The summary as a Markdown table (one line per env x inference engine x agent); rates
    and mean costs carry their 95% interval in brackets."""
    lines = [
        "| " + " | ".join(heading for _, heading in SUMMARY_FIELDS) + " |",
        "|" + "---|" * len(SUMMARY_FIELDS),
    ]
    for entry in summary:
        cells = [_cell(entry[key]) for key, _ in SUMMARY_FIELDS]
        for column, (interval, scale) in _SHOWN_INTERVALS.items():
            low, high = entry.get(interval, (math.nan, math.nan))
            if not (math.isnan(low) or math.isnan(high)):
                at = [key for key, _ in SUMMARY_FIELDS].index(column)
                cells[at] += f" [{_cell(scale * low)}, {_cell(scale * high)}]"
        if entry.get("reference"):
            cells[[key for key, _ in SUMMARY_FIELDS].index("agent")] += " (reference)"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: File types :func:`plot_accuracy_vs_cost` writes (by the path's suffix).
PLOT_SUFFIXES = (".svg", ".png", ".pdf")


def plot_accuracy_vs_cost(summary: Sequence[dict[str, Any]], path: Path) -> None:
    """Identified % (95% Wilson interval as an error bar) against mean experiment cost (log
    scale), one panel per env, one colour per agent; a reference agent is a hollow marker.
    An agent run with another engine than most of its env's runs is a series of its own,
    named "agent (engine)". Written with matplotlib (``pip install 'lifegym[plot]'``); the
    suffix of ``path`` (``PLOT_SUFFIXES``) picks the format."""
    if path.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(
            f"plot path must end in one of {', '.join(PLOT_SUFFIXES)}, got {str(path)!r}"
        )
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ValueError("plots need matplotlib: pip install 'lifegym[plot]'") from exc
    envs = list(dict.fromkeys(entry["env"] for entry in summary))
    engines: dict[str, list[str]] = {}
    for entry in summary:
        engines.setdefault(entry["env"], []).append(entry["inference"])
    usual = {env: Counter(names).most_common(1)[0][0] for env, names in engines.items()}

    def series(entry: dict[str, Any]) -> str:
        agent = entry["agent"] + (" (reference)" if entry.get("reference") else "")
        same = entry["inference"] == usual[entry["env"]]
        return agent if same else f"{agent} ({entry['inference']})"

    names = list(dict.fromkeys(series(entry) for entry in summary))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    figure, axes = plt.subplots(
        1, max(1, len(envs)), figsize=(3.6 * max(1, len(envs)), 3.4), squeeze=False
    )
    for ax, env_id in zip(axes[0], envs, strict=False):
        for entry in (e for e in summary if e["env"] == env_id):
            rate = entry.get("identified_rate", math.nan)
            low, high = entry.get("identified_ci", (math.nan, math.nan))
            name = series(entry)
            colour = colours[names.index(name) % len(colours)]
            ax.errorbar(
                [max(entry["experiment_cost"], 1.0)],
                [100 * rate],
                yerr=[[100 * max(rate - low, 0.0)], [100 * max(high - rate, 0.0)]],
                fmt="o",
                color=colour,
                markerfacecolor="none" if entry.get("reference") else colour,
                capsize=3,
                label=name,
            )
        ax.set_xscale("log")
        ax.set_ylim(-5, 105)
        ax.set_title(env_id.removeprefix("lifegym/"), fontsize=9)
        ax.set_xlabel("mean experiment cost (observed cell-steps)", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0][0].set_ylabel("identified % (95% CI)")
    handles = {}
    for ax in axes[0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(
        list(handles.values()), list(handles), loc="lower center", ncol=min(4, len(handles) or 1)
    )
    figure.tight_layout(rect=(0, 0.08 + 0.05 * (len(handles) // 4), 1, 1))
    figure.savefig(path)
    plt.close(figure)


def write_json(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """The rows as a JSON list."""
    path.write_text(json.dumps(list(rows), indent=1, default=json_default) + "\n")


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` for rows: numpy scalars as Python numbers, jobs as dicts."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Job):
        return asdict(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
