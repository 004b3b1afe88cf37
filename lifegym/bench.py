"""Benchmark agents on envs and hidden rules: the jobs, running them, the score and the summary.

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

**The reference and the score.** The ``oracle`` reads the hidden rule and buys the
cheapest experiments it finds after which the env's engine holds it; its experiment cost
on an episode is that episode's yardstick. :func:`attach_scores` gives each row

    score = identified x min(1, oracle_cost / experiment_cost)

where ``oracle_cost`` is the experiment cost (observed cell-steps) of the oracle's row of
the same episode: same env (with its ``env_kwargs``), ``design``, rule and seed; an oracle
row with the row's own ``inference`` is preferred, else any (an ``emulator``-engine row
thus pairs with the oracle on the preset's own engine). An agent that spends nothing scores
``identified``. It is the SPL measure of embodied navigation (success weighted by the
reference's path length over the agent's), linear in the cost ratio rather than squared
as in ARC-AGI-3's action efficiency: at 2x the oracle's cost an agent scores 0.5, not
0.25, so useful agents keep their spread while ones at 10-100x the oracle's cost still go
to about 0. Compute (``compute_cost``, ``agent_cpu_s``) is reported beside it, not in it.
Where the oracle did not identify the episode there is no yardstick: every row of it has
``score`` None and ``reference_failed`` True, and the summary counts such episodes
instead of averaging them; with no oracle row, ``score`` and ``reference_failed`` are None.
:func:`benchmark` therefore always runs the oracle on the same rules and seeds, adding it
when the agents do not include it (on the preset's own engine: on the ``emulator`` engine
it is slow and often fails).

**The summary** has one entry per env x engine x design x agent. Rates and means carry
95% intervals from the cluster bootstrap over hidden rules
(``lifegym.intervals.cluster_bootstrap_interval``): an episode's seeds are nested in its
rule, so the rules, not the episodes, are the independent draws (``n_rules`` of them).
``cost_vs_oracle`` is the agent's mean experiment cost over its episodes whose oracle
identified the rule, divided by the oracle's mean over the same episodes
(``cost_vs_oracle_episodes`` of them; NaN with none). ``bounds`` gives each env's analytic
lower bounds on the experiment cost (``lifegym.bounds``).

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
from typing import TYPE_CHECKING, Any, cast

import gymnasium as gym
import numpy as np

import lifegym  # noqa: F401  (registers the ids)
from lifegym.agents import check_agent_name, is_reference, make_agent, run_episode
from lifegym.bounds import capacity_bound, sighting_bound
from lifegym.env import RuleDiscoveryEnv
from lifegym.intervals import cluster_bootstrap_interval
from lifegym.registration import check_env_id
from lifegym.rules import NAMED_RULES, Rule

if TYPE_CHECKING:
    from matplotlib.artist import Artist  # matplotlib is imported only for plots

__all__ = [
    "MEANS",
    "PLOT_SUFFIXES",
    "RATES",
    "REFERENCE_AGENT",
    "SUMMARY_FIELDS",
    "BenchResult",
    "Job",
    "attach_scores",
    "benchmark",
    "bounds",
    "episode_seed",
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

#: The agent whose experiment cost is every episode's yardstick (see the module doc).
REFERENCE_AGENT = "oracle"

#: (key, heading) of each column of a summary, in order: who played and on how many
#: episodes and rules, then the score first. ``env tests (compute)`` is the compute cost:
#: the cell-steps the env simulated for the agent's bit and MAP tests, not the agent's own
#: simulation (its CPU time is ``agent CPU s``).
SUMMARY_FIELDS: tuple[tuple[str, str], ...] = (
    ("env", "env"),
    ("inference", "inference"),
    ("design", "design"),
    ("agent", "agent"),
    ("episodes", "episodes"),
    ("n_rules", "rules"),
    ("score", "score"),
    ("identified", "identified %"),
    ("exact", "exact %"),
    ("behavioural", "behavioural %"),
    ("experiment_cost", "experiment cost"),
    ("cost_vs_oracle", "cost / oracle"),
    ("compute_cost", "env tests (compute)"),
    ("agent_cpu_s", "agent CPU s"),
    ("bits_correct", "bits correct %"),
    ("undetermined_bits", "undetermined bits"),
    ("reference_failed", "reference failed"),
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
    env = gym.make(env_id).unwrapped
    assert isinstance(env, RuleDiscoveryEnv)  # check_env_id passed: a numeric env
    space = env.space
    kept = [rule for rule in candidates if space.contains(Rule.parse(rule))]
    left_out = [rule for rule in candidates if rule not in kept]
    return list(dict.fromkeys(kept)), left_out


def episode_seed(seed: int, env_index: int, rule_index: int, episode: int) -> int:
    """The seed of episode ``episode`` of rule ``rule_index`` on the ``env_index``-th env of
    a run seeded ``seed``: it depends on nothing else (not the agents, the workers or the
    backend)."""
    return int(np.random.SeedSequence([seed, env_index, rule_index, episode]).generate_state(1)[0])


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
    jobs: list[Job] = []
    for e, env_id in enumerate(env_ids):
        check_env_id(env_id)
        for r, rule in enumerate(rules(env_id)):
            for k in range(episodes):
                state = episode_seed(seed, e, r, k)
                jobs.extend(
                    Job(env_id, agent, rule, state, inference, design, env_kwargs=extra)
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
    assert isinstance(env, RuleDiscoveryEnv)  # _make_env checked the id
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
    return cast("list[dict[str, Any]]", rows)  # every job's row has arrived


@dataclass(frozen=True)
class BenchResult:
    """What :func:`benchmark` returns.

    Attributes:
        rows: one dict per episode (the module doc), in job order.
        summary: :func:`summarise` of the rows.
        left_out: env id -> the rules of the spec outside its rule space (not played).
        reference_added: the agents did not include the ``oracle``, so it was added to
            score them (its rows are ordinary oracle rows, its summary the reference's).
    """

    rows: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    left_out: dict[str, list[str]]
    reference_added: bool = False


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
    (``named``, ``random:N`` or a file, see :func:`rules_for`) and episode; the rows carry
    their score (:func:`attach_scores`).

    The score needs the ``oracle`` on the same rules and seeds: when ``agents`` lacks it,
    it is added (after the others; ``reference_added`` in the result says so). An added
    oracle plays with the preset's own engine even when ``inference`` replaces the
    others' (on the ``emulator`` engine the oracle is slow and often fails; the scores of
    the others' rows then pair with it, see the module doc).

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
    agents = list(agents)
    reference_added = REFERENCE_AGENT not in agents
    players = [*agents, REFERENCE_AGENT] if reference_added and inference is None else agents
    jobs = make_jobs(
        env_ids,
        players,
        lambda env_id: found[env_id][0],
        episodes,
        seed,
        inference,
        design,
        env_kwargs,
    )
    if reference_added and inference is not None:
        references = make_jobs(
            env_ids,
            [REFERENCE_AGENT],
            lambda env_id: found[env_id][0],
            episodes,
            seed,
            None,
            design,
            env_kwargs,
        )
        # Each episode's oracle right after its agents (make_jobs lists episode by episode).
        per = len(players)
        jobs = [
            job
            for k, reference in enumerate(references)
            for job in (*jobs[k * per : (k + 1) * per], reference)
        ]

    def done(count: int) -> None:
        if progress is not None:
            progress(count, len(jobs))

    if backend == "ray":
        rows = run_ray(jobs, workers, done)
    else:
        rows = run_local(jobs, workers or 1, done)
    left_out = {env_id: lost for env_id, (_, lost) in found.items() if lost}
    rows = attach_scores(rows)
    return BenchResult(rows, summarise(rows), left_out, reference_added)


def _number(value: Any) -> float | None:
    """``value`` as a float; None when it is missing, not a number, or NaN."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _mean(values: Iterable[float | None]) -> float:
    """The mean; NaN for no values or when any value is missing (None or NaN)."""
    numbers = [_number(v) for v in values]
    present = [n for n in numbers if n is not None]
    if not numbers or len(present) < len(numbers):
        return math.nan
    return float(np.mean(present))


def _env_label(row: dict[str, Any]) -> str:
    """The env of a row: its id, followed by its extra settings when there are any."""
    extra = row.get("env_kwargs") or {}
    return str(row.get("env")) + (" " + json.dumps(extra, sort_keys=True) if extra else "")


def _hidden_rule(row: dict[str, Any]) -> Any:
    return row.get("true_rule", row.get("rule"))


def _episode(row: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two rows the same episode: env (with its settings), face, rule, seed."""
    return (_env_label(row), bool(row.get("design", False)), _hidden_rule(row), row.get("seed"))


def _is_oracle(row: dict[str, Any]) -> bool:
    return row.get("agent") == REFERENCE_AGENT


def _episode_score(row: dict[str, Any], oracle: dict[str, Any]) -> tuple[float | None, bool | None]:
    """``(score, reference_failed)`` of ``row`` against the oracle's row of its episode."""
    reference = oracle.get("identified")
    if reference is None:  # a row from before the field: no verdict
        return None, None
    if not reference:
        return None, True
    identified = row.get("identified")
    if identified is None:
        return None, False
    if not identified:
        return 0.0, False
    if row is oracle:
        return 1.0, False
    cost, oracle_cost = _number(row.get("experiment_cost")), _number(oracle.get("experiment_cost"))
    if cost is None or oracle_cost is None:
        return None, False
    return (1.0 if cost <= 0 else min(1.0, oracle_cost / cost)), False


def attach_scores(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """New rows (``rows`` is left as it is), each with ``score``, ``reference_failed`` and
    ``oracle_cost`` (the experiment cost of the oracle row it pairs with; None without
    one). See the module doc: ``score = identified x min(1, oracle_cost /
    experiment_cost)`` against the ``oracle`` row of the same env, design, rule and seed
    (the row's own engine preferred, else the first oracle row of the episode); an oracle
    row is its own yardstick (``score`` = ``identified``). Where that oracle row did not
    identify the rule, ``score`` is None and ``reference_failed`` True; without an oracle
    row, both are None. A row lacking a field the score needs gets ``score`` None."""
    oracles: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        if _is_oracle(row):
            oracles.setdefault(_episode(row), []).append(row)
    out = []
    for row in rows:
        candidates = oracles.get(_episode(row), [])
        if _is_oracle(row):
            partner: dict[str, Any] | None = row
        else:
            same = [o for o in candidates if o.get("inference") == row.get("inference")]
            partner = same[0] if same else candidates[0] if candidates else None
        if partner is None:
            score, failed, oracle_cost = None, None, None
        else:
            score, failed = _episode_score(row, partner)
            oracle_cost = _number(partner.get("experiment_cost"))
        out.append({**row, "score": score, "reference_failed": failed, "oracle_cost": oracle_cost})
    return out


def _scored(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows``, with scores attached (:func:`attach_scores`) to those that have none."""
    fields = ("score", "reference_failed", "oracle_cost")
    if all(all(f in row for f in fields) for row in rows):
        return list(rows)
    scored = attach_scores(rows)
    return [
        row if all(f in row for f in fields) else new for row, new in zip(rows, scored, strict=True)
    ]


def _cost_vs_oracle(group: Sequence[dict[str, Any]]) -> tuple[float, int]:
    """Mean experiment cost of ``group`` / the oracle's, over the episodes whose oracle
    identified the rule, and how many episodes that is."""
    pairs = [
        (_number(r.get("experiment_cost")), _number(r.get("oracle_cost")))
        for r in group
        if r.get("reference_failed") is False
    ]
    pairs = [(cost, ref) for cost, ref in pairs if cost is not None and ref is not None]
    if not pairs:
        return math.nan, 0
    reference = _mean(ref for _, ref in pairs)
    ratio = _mean(cost for cost, _ in pairs) / reference if reference else math.nan
    return ratio, len(pairs)


#: The 0/1 outcomes whose rates (``<m>_rate``) get an interval (``<m>_ci``).
RATES = ("identified", "exact", "behavioural_match")
#: The per-episode numbers whose means (``<m>_mean``) get an interval (``<m>_ci``).
#: ``score`` averages only the episodes that have one (``score_episodes``).
MEANS = (
    "score",
    "experiment_cost",
    "compute_cost",
    "agent_cpu_s",
    "bits_correct",
    "n_undetermined",
    "wall_s",
)
#: Markdown column -> the interval shown beside it, and the scale of both.
_SHOWN_INTERVALS = {
    "score": ("score_ci", 1),
    "identified": ("identified_ci", 100),
    "exact": ("exact_ci", 100),
    "behavioural": ("behavioural_match_ci", 100),
    "experiment_cost": ("experiment_cost_ci", 1),
    "compute_cost": ("compute_cost_ci", 1),
}
_NO_INTERVAL = [math.nan, math.nan]


def _rate_fields(
    group: Sequence[dict[str, Any]], key: str, clusters: Sequence[Any]
) -> dict[str, Any]:
    """``<key>_rate`` and ``<key>_ci`` (95% cluster bootstrap over rules) of a 0/1 field;
    NaN where some row lacks it (rows written before the field existed): a rate over the
    rows that happen to have it would mislead."""
    values = [row.get(key) for row in group]
    if not values or any(v is None for v in values):
        return {f"{key}_rate": math.nan, f"{key}_ci": list(_NO_INTERVAL)}
    outcomes = [float(bool(v)) for v in values]
    return {
        f"{key}_rate": float(np.mean(outcomes)),
        f"{key}_ci": list(cluster_bootstrap_interval(outcomes, clusters, rate=True)),
    }


def _mean_fields(
    group: Sequence[dict[str, Any]], key: str, clusters: Sequence[Any]
) -> dict[str, Any]:
    """``<key>_mean`` and ``<key>_ci`` (95% cluster bootstrap over rules). NaN where some
    row lacks the value, except ``score``: its mean is over the rows that have one."""
    values = [_number(row.get(key)) for row in group]
    if key == "score":
        kept = [(v, c) for v, c in zip(values, clusters, strict=True) if v is not None]
        values, clusters = [v for v, _ in kept], [c for _, c in kept]
    present = [v for v in values if v is not None]
    if not values or len(present) < len(values):
        return {f"{key}_mean": math.nan, f"{key}_ci": list(_NO_INTERVAL)}
    interval = cluster_bootstrap_interval(present, clusters, rate=key == "score")
    return {f"{key}_mean": float(np.mean(present)), f"{key}_ci": list(interval)}


def _median(values: Iterable[Any]) -> float:
    numbers = [_number(v) for v in values]
    present = [n for n in numbers if n is not None]
    if not numbers or len(present) < len(numbers):
        return math.nan
    return float(np.median(present))


def summarise(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One summary per (env, inference, design, agent), in order of first appearance.

    Each has ``SUMMARY_FIELDS`` (rates in %, ``score`` the mean score as a fraction),
    ``reference``, ``episodes``, ``n_rules`` (distinct hidden rules), for ``RATES``
    ``<m>_rate`` and for ``MEANS`` ``<m>_mean`` with ``<m>_ci`` for both (fractions; 95%
    cluster-bootstrap interval over the hidden rules, ``lifegym.intervals``),
    ``score_episodes`` (episodes with a score), ``reference_failed`` (episodes whose
    oracle did not identify the rule: no score), ``cost_vs_oracle`` and
    ``cost_vs_oracle_episodes``, ``experiment_cost_median`` and ``truncated`` (episodes that
    ended at ``max_steps``). Rows without scores get them first (:func:`attach_scores`, on
    these rows alone). A field some row lacks gives NaN (rows written before it existed).
    """
    groups: dict[tuple[str, Any, bool, Any], list[dict[str, Any]]] = {}
    for row in _scored(rows):
        group_key = (
            _env_label(row),
            row.get("inference"),
            bool(row.get("design", False)),
            row.get("agent"),
        )
        groups.setdefault(group_key, []).append(row)
    out = []
    for (env_label, inference, design, agent), group in groups.items():
        # Cluster by hidden rule; a row that names none is a cluster of its own.
        clusters = [_hidden_rule(r) or ("episode", i) for i, r in enumerate(group)]
        entry: dict[str, Any] = {
            "env": env_label,
            "inference": inference,
            "design": design,
            "agent": agent,
            "reference": bool(group[0].get("reference", False)),
            "episodes": len(group),
            "n_rules": len(set(clusters)),
        }
        for key in RATES:
            entry.update(_rate_fields(group, key, clusters))
        for key in MEANS:
            entry.update(_mean_fields(group, key, clusters))
        ratio, paired = _cost_vs_oracle(group)
        entry.update(
            {
                "score": entry["score_mean"],
                "score_episodes": sum(_number(r.get("score")) is not None for r in group),
                "reference_failed": sum(r.get("reference_failed") is True for r in group),
                "identified": 100 * entry["identified_rate"],
                "exact": 100 * entry["exact_rate"],
                "behavioural": 100 * entry["behavioural_match_rate"],
                "bits_correct": 100 * entry["bits_correct_mean"],
                "undetermined_bits": entry["n_undetermined_mean"],
                "experiment_cost": entry["experiment_cost_mean"],
                "experiment_cost_median": _median(r.get("experiment_cost") for r in group),
                "cost_vs_oracle": ratio,
                "cost_vs_oracle_episodes": paired,
                "compute_cost": entry["compute_cost_mean"],
                "agent_cpu_s": entry["agent_cpu_s_mean"],
                "truncated": sum(r.get("submitted_by") == "truncation" for r in group),
                "wall_s": entry["wall_s_mean"],
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
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"
    return str(value)


def markdown_table(summary: Sequence[dict[str, Any]]) -> str:
    """The summary as a Markdown table (one line per env x inference engine x design x
    agent, columns ``SUMMARY_FIELDS``): the score, rates and mean costs carry their 95%
    interval in brackets, ``cost / oracle`` the number of episodes it is over."""
    keys = [key for key, _ in SUMMARY_FIELDS]
    lines = [
        "| " + " | ".join(heading for _, heading in SUMMARY_FIELDS) + " |",
        "|" + "---|" * len(SUMMARY_FIELDS),
    ]
    for entry in summary:
        cells = [_cell(entry.get(key, math.nan)) for key in keys]
        for column, (interval, scale) in _SHOWN_INTERVALS.items():
            low, high = entry.get(interval) or _NO_INTERVAL
            low, high = _number(low), _number(high)
            if low is not None and high is not None and column in keys:
                cells[keys.index(column)] += f" [{_cell(scale * low)}, {_cell(scale * high)}]"
        paired = entry.get("cost_vs_oracle_episodes")
        if cells[keys.index("cost_vs_oracle")] and paired is not None:
            cells[keys.index("cost_vs_oracle")] += f" (n={paired})"
        if entry.get("reference"):
            cells[keys.index("agent")] += " (reference)"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


#: File types :func:`plot_accuracy_vs_cost` writes (by the path's suffix).
PLOT_SUFFIXES = (".svg", ".png", ".pdf")


def plot_accuracy_vs_cost(summary: Sequence[dict[str, Any]], path: Path) -> None:
    """Identified % (its 95% interval as an error bar) against mean experiment cost (log
    scale), one panel per env, one colour per agent; a reference agent is a hollow marker.
    It plots the two things the score combines, each on its own axis, rather than the
    score: a score of 0.5 may be every rule at twice the oracle's cost or half the rules at
    its cost, and the plot tells those apart (the tables rank by score).
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
            rate = _number(entry.get("identified_rate"))
            cost = _number(entry.get("experiment_cost"))
            if rate is None or cost is None:  # rows without the field: nothing to place
                continue
            low, high = (_number(v) for v in entry.get("identified_ci") or _NO_INTERVAL)
            low, high = rate if low is None else low, rate if high is None else high
            name = series(entry)
            colour = colours[names.index(name) % len(colours)]
            ax.errorbar(
                [max(cost, 1.0)],
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
    handles: dict[str, Artist] = {}
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
