"""One protocol for agents that speak text (language models): the tools behind both the MCP
server (``lifegym mcp``) and the Text envs (``lifegym/Text-<name>-v1``).

An :class:`Episode` is one hidden rule in one preset. Its tools take and return plain JSON
values; the agent, not the env's inference engine, decides the rule that is scored:

* :meth:`Episode.task`: what a model needs to know, having read nothing else;
* :meth:`Episode.run_experiment`: ``steps`` steps from exactly one of a menu ``item``, a
  designed ``pattern`` (plaintext rows of ``.``/``o`` or RLE) or a random soup of
  ``density`` on a ``height`` x ``width`` world; returns the initial condition, the
  observed frames (rows of ``.``/``o``) or statistics, and the costs;
* :meth:`Episode.test_rule`: how far a whole hypothesised rule is from everything observed,
  and what noise alone would explain, at its compute cost (one replay);
* :meth:`Episode.submit_rule`: ends the episode; the result has the fields of the numeric
  env's ``info["result"]``, scored on the agent's rule.

Every bad call raises :class:`ToolError` naming the problem and leaves the episode as it
was. Nothing before ``submit_rule`` reveals the hidden rule. :class:`Transcript` writes
each episode as JSON lines (calls, results, costs, the final score).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import IO, Any

import gymnasium as gym
import numpy as np

import lifegym  # noqa: F401  (registers the ids)
from lifegym.experiments import Experiment, initial_condition
from lifegym.io import write_plaintext
from lifegym.lab import BudgetError
from lifegym.likelihood import compare
from lifegym.observe import STAT_NAMES
from lifegym.registration import PRESETS, check_env_id
from lifegym.rules import Rule

__all__ = ["TOOLS", "Episode", "ToolError", "Transcript", "transcript_rows", "v1_presets"]

#: The tools an agent calls during an episode, with their arguments and what they do.
TOOLS: dict[str, str] = {
    "run_experiment": (
        "run_experiment(steps, item=None, pattern=None, density=None, height=None, "
        "width=None): run the hidden rule for `steps` steps from exactly one of: a menu "
        "`item` (its name), a designed `pattern` (plaintext rows of '.' dead / 'o' alive "
        "separated by newlines, or RLE; its size is the world), or a random soup of "
        "`density` (0..1) on a `height` x `width` torus (default: the preset's world). "
        "Returns `initial` (rows), `frames` (observed frames, each a list of rows) with "
        "`times` (their step numbers), or `stats` when only statistics are observed, "
        "`experiment_cost` and `budget_left`."
    ),
    "test_rule": (
        "test_rule(rule): how far a whole hypothesised rule is from everything observed so "
        "far: `discrepancy` (mean flipped cells per observed cell; for statistics the mean "
        "|z|) next to `expected_discrepancy` (what the observation noise alone gives when "
        "the rule is right) and `loglik`; costs one replay of every experiment (compute)."
    ),
    "submit_rule": (
        "submit_rule(rule): ends the episode and scores `rule` (any notation of the "
        "family): exact, identified, behavioural match, bits correct, costs, the true rule."
    ),
}

_NOTATION = {
    "totalistic": "B/S (outer totalistic, Moore neighbourhood), e.g. B3/S23, B36/S23, B2/S",
    "isotropic": "Hensel notation (isotropic non-totalistic), e.g. B3/S23, B2-a/S12, B3ai/S2k",
    "hex": "B/S with suffix H (Golly's hexagonal neighbourhood), e.g. B2/S34H",
    "vonneumann": "B/S with suffix V (von Neumann neighbourhood), e.g. B2/S3V",
    "free": "Golly MAP + 86 base64 characters (the 512-entry table), or a B/S or Hensel rule",
    "rotation": "Golly MAP + 86 base64 characters, or any B/S or Hensel rule",
    "ring": "Golly MAP + 86 base64 characters, or any B/S or Hensel rule",
}


class ToolError(ValueError):
    """A bad tool call: the message names the problem; the episode is unchanged."""


def v1_presets() -> list[str]:
    """The v1 preset ids the text protocol serves."""
    return [env_id for env_id in PRESETS if env_id.endswith("-v1")]


def _rows(grid: np.ndarray) -> list[str]:
    return write_plaintext(grid).split("\n")


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


class Episode:
    """One episode of the text protocol on preset ``env_id`` (a v1 id).

    Args:
        env_id: the preset (``v1_presets()``).
        seed: fixes the hidden rule (unless ``rule``) and every random draw of the episode.
        rule: the hidden rule (for benchmarking harnesses), in any notation of the family.
    """

    def __init__(self, env_id: str, seed: int | None = None, rule: str | None = None) -> None:
        try:
            check_env_id(env_id)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        if env_id not in v1_presets():
            raise ToolError(f"env {env_id!r} is not served; choose one of {v1_presets()}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ToolError(f"seed must be an int or null, got {seed!r}")
        self.env_id = env_id
        self.env = gym.make(env_id, design=True).unwrapped
        try:
            self.env.reset(seed=seed, options=None if rule is None else {"rule": rule})
        except ValueError as exc:
            raise ToolError(f"rule: {exc}") from exc
        self.result: dict[str, Any] | None = None

    # -- what the agent is told -----------------------------------------------------------

    def task(self) -> dict[str, Any]:
        """The task description: family and notation, observation and cost model, budgets,
        world and step limits, the menu."""
        env = self.env
        model, family = env.model, env.space.family.name
        stats = model.stats_sigma is not None
        observed = (
            "only statistics of each observed frame: "
            + ", ".join(STAT_NAMES)
            + f" (cells perturbed at scale {model.stats_sigma} before they are computed)"
            if stats
            else f"the frames, each cell flipped with probability {model.noise}"
        )
        if model.stride > 1:
            observed += f"; only every {model.stride}-th step is observed"
        if model.window is not None:
            observed += f"; only the top-left {model.window[0]}x{model.window[1]} window"
        (h0, w0), (height, width) = env.smallest_world, env.world
        return {
            "env": self.env_id,
            "goal": (
                "Find the hidden rule of a 2-D binary cellular automaton on a torus: each "
                "cell's next state depends on its own state and its neighbourhood's. Run "
                "experiments, test hypotheses, then submit the rule. Cheaper is better; the "
                "score is whether the submitted rule is exactly the hidden one."
            ),
            "family": family,
            "free_bits": env.space.n_free,
            "notation": _NOTATION.get(family, "B/S, Hensel or Golly MAP notation"),
            "observation": observed,
            "cost_model": (
                "an experiment costs observed cell-steps: observed cells per frame x observed "
                "frames (steps k, 2k, ... under a stride k, every step otherwise); the initial "
                "condition is free. test_rule costs simulated cell-steps (one replay of every "
                "experiment so far) from the compute budget."
            ),
            "experiment_budget": env.experiment_budget,
            "compute_budget": env.compute_budget,
            "world": {"smallest": [h0, w0], "largest": [height, width]},
            "steps": {"min": model.stride, "max": env.max_experiment_steps},
            "menu": [
                {"item": item.name, "steps": item.steps, "cost": int(cost)}
                for item, cost in zip(env.menu, env.item_costs, strict=True)
            ],
            "tools": TOOLS,
        }

    def _budget_left(self) -> dict[str, int]:
        lab = self.env.lab
        return {"experiment": int(lab.experiment_left), "compute": int(lab.compute_left)}

    def _check_open(self) -> None:
        if self.result is not None:
            raise ToolError("the episode has ended (submit_rule was called): start a new one")

    def _rule(self, text: object) -> Rule:
        if not isinstance(text, str):
            raise ToolError(f"rule must be a string, got {text!r}")
        try:
            rule = Rule.parse(text)
        except ValueError as exc:
            raise ToolError(f"rule {text!r} does not parse: {exc}") from exc
        space = self.env.space
        if not space.contains(rule):
            raise ToolError(
                f"rule {text!r} is not in the {space.family.name} family of this episode "
                f"(notation: {_NOTATION.get(space.family.name, 'B/S')})"
            )
        return rule.to(space.family)

    # -- the tools -----------------------------------------------------------------------

    def run_experiment(
        self,
        steps: int,
        item: str | None = None,
        pattern: str | None = None,
        density: float | None = None,
        height: int | None = None,
        width: int | None = None,
    ) -> dict[str, Any]:
        """See :data:`TOOLS`."""
        self._check_open()
        env = self.env
        given = [name for name, v in (("item", item), ("pattern", pattern)) if v is not None]
        if density is not None:
            given.append("density")
        if len(given) != 1:
            raise ToolError(
                "give exactly one of item, pattern or density (with height and width for a "
                f"soup), got {given or 'none'}"
            )
        if (height is not None or width is not None) and density is None:
            raise ToolError("height and width go with density (a random soup)")
        try:
            if item is not None:
                names = [m.name for m in env.menu]
                if item not in names:
                    raise ToolError(f"unknown menu item {item!r}; the menu: {', '.join(names)}")
                index = names.index(item)
                fixed = env.menu[index].steps
                if steps != fixed:
                    raise ToolError(f"menu item {item!r} runs {fixed} steps; got steps={steps!r}")
                trajectory = env.run_item(index)
            elif pattern is not None:
                if not isinstance(pattern, str):
                    raise ToolError(f"pattern must be a string of rows or RLE, got {pattern!r}")
                trajectory = env.run_cells(pattern, steps)
            else:
                trajectory = env.run_cells(self._soup(density, height, width), steps)
        except (BudgetError, ValueError) as exc:
            if isinstance(exc, ToolError):
                raise
            raise ToolError(str(exc)) from exc
        reply: dict[str, Any] = {
            "initial": _rows(trajectory.initial),
            "times": [int(t) for t in trajectory.times],
        }
        if trajectory.frames is not None:
            reply["frames"] = [_rows(frame) for frame in trajectory.frames]
        if trajectory.stats is not None:
            reply["stats"] = [
                dict(zip(STAT_NAMES, map(float, row), strict=True)) for row in trajectory.stats
            ]
        reply["experiment_cost"] = int(trajectory.cost)
        reply["budget_left"] = self._budget_left()
        return reply

    def _soup(self, density: object, height: object, width: object) -> np.ndarray:
        """A random soup from the episode's own generator (the env's)."""
        env = self.env
        number = isinstance(density, int | float) and not isinstance(density, bool)
        if not number or not 0.0 <= float(density) <= 1.0:  # type: ignore[arg-type]
            raise ToolError(f"density must be a number in [0, 1], got {density!r}")
        shape = (
            env.world[0] if height is None else height,
            env.world[1] if width is None else width,
        )
        for name, value, low, high in (
            ("height", shape[0], env.smallest_world[0], env.world[0]),
            ("width", shape[1], env.smallest_world[1], env.world[1]),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ToolError(f"{name} must be an int in {low}..{high}, got {value!r}")
        experiment = Experiment("soup", "soup", 1, density=float(density), world=shape)  # type: ignore[arg-type]
        return initial_condition(experiment, shape, env.lab.rng)  # type: ignore[arg-type]

    def test_rule(self, rule: str) -> dict[str, Any]:
        """See :data:`TOOLS`."""
        self._check_open()
        hypothesis = self._rule(rule)
        env = self.env
        trajectories = env.lab.trajectories
        if not trajectories:
            raise ToolError("nothing observed yet: run an experiment before testing a rule")
        cost = env.lab.replay_cost()
        try:
            env.charge_test(cost)
        except BudgetError as exc:
            raise ToolError(str(exc)) from exc
        comparison = compare(hypothesis, trajectories)
        return {
            "rule": str(hypothesis),
            "discrepancy": _finite(comparison.discrepancy),
            "expected_discrepancy": _finite(comparison.expected_discrepancy),
            "loglik": _finite(comparison.loglik),
            "compute_cost": int(cost),
            "budget_left": self._budget_left(),
        }

    def submit_rule(self, rule: str) -> dict[str, Any]:
        """See :data:`TOOLS`."""
        self._check_open()
        submitted = self._rule(rule)
        self.result = dataclasses.asdict(self.env.score(submitted, "agent"))
        return dict(self.result)

    def call(self, tool: object, arguments: dict[str, Any]) -> dict[str, Any]:
        """Dispatch ``tool`` (a name of :data:`TOOLS`) with ``arguments``; ToolError for an
        unknown tool or arguments it does not take."""
        methods = {
            "run_experiment": self.run_experiment,
            "test_rule": self.test_rule,
            "submit_rule": self.submit_rule,
        }
        if tool not in methods:
            raise ToolError(f"unknown tool {tool!r}; the tools are {', '.join(methods)}")
        allowed = {
            "run_experiment": {"steps", "item", "pattern", "density", "height", "width"},
            "test_rule": {"rule"},
            "submit_rule": {"rule"},
        }[tool]  # type: ignore[index]
        unknown = sorted(set(arguments) - allowed)
        if unknown:
            raise ToolError(f"{tool} takes {sorted(allowed)}; unknown argument(s) {unknown}")
        required = {"run_experiment": {"steps"}, "test_rule": {"rule"}, "submit_rule": {"rule"}}
        missing = sorted(required[tool] - set(arguments))  # type: ignore[index]
        if missing:
            raise ToolError(f"{tool} needs {missing}")
        if tool == "run_experiment":
            steps = arguments["steps"]
            if isinstance(steps, bool) or not isinstance(steps, int):
                raise ToolError(f"steps must be an int, got {steps!r}")
        return methods[tool](**arguments)  # type: ignore[index]


class Transcript:
    """JSON lines of episodes: one ``start`` line (env, seed, the task), one line per call
    (tool, arguments, reply or error, costs so far), one ``end`` line with the result."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    @classmethod
    def to_file(cls, path: str | Path) -> Transcript:
        return cls(Path(path).open("a", encoding="utf-8"))

    def write(self, kind: str, **fields: Any) -> None:
        self.stream.write(json.dumps({"kind": kind, **fields}, default=_plain) + "\n")
        self.stream.flush()


def transcript_rows(path: str | Path, agent: str | None = None) -> list[dict[str, Any]]:
    """One row per finished episode of a transcript file (JSON lines of a Text env or of
    ``lifegym mcp``), shaped like ``lifegym.bench`` rows (``env``, ``inference`` =
    ``"agent"``: the agent inferred the rule itself, ``agent``: ``agent`` or the file's
    stem, then the result), so ``lifegym.bench.summarise`` tables them."""
    path = Path(path)
    name = agent or path.stem
    starts: dict[Any, dict[str, Any]] = {}
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        key = record.get("episode_id")  # MCP transcripts interleave episodes by id
        if record.get("kind") == "start":
            starts[key] = record
        elif record.get("kind") == "end":
            start = starts.pop(key, None)
            if start is None:
                raise ValueError(f"{path}:{number}: an episode ends that never started")
            rows.append(
                {
                    "env": start["env"],
                    "inference": "agent",
                    "design": True,
                    "agent": name,
                    "seed": start.get("seed"),
                    **record["result"],
                    "rule": record["result"]["true_rule"],
                    "wall_s": math.nan,
                }
            )
    return rows


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
