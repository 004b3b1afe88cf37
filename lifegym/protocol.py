"""One protocol for agents that speak text (language models): the tools behind both the MCP
server (``lifegym mcp``) and the Text envs (``lifegym/Text-<name>-v1``).

An :class:`Episode` is one hidden rule in one preset, set up by the *harness* (the hidden
rule, the seed and the reply cap are arguments of the constructor; no tool can set or read
them). The agent, not the env's inference engine, decides the rule that is scored. Its tools
(:data:`TOOL_SCHEMAS`: a JSON schema with a description per parameter) take plain JSON
values, checked strictly and once, here (:func:`check_arguments`: no coercion, no unknown
key); the faces only forward the raw arguments to :meth:`Episode.call`:

* ``run_experiment``: ``steps`` steps from exactly one of a menu ``item``, a designed
  ``pattern`` (plaintext rows of ``.``/``o`` or RLE) or a random soup of ``density`` on a
  ``height`` x ``width`` world; returns the initial condition, the observed frames (rows of
  ``.``/``o``) or statistics, the costs and ``reply_chars`` (the reply's own size). An
  experiment whose reply would exceed the episode's ``reply_cap`` is refused before it is
  run or charged, naming the largest number of steps that fits;
* ``test_rule``: how far a whole hypothesised rule is from everything observed, and what
  noise alone would explain, at its compute cost (one replay);
* ``submit_rule``: ends the episode; the result has the fields of the numeric env's
  ``info["result"]``, scored on the agent's rule;
* ``list_menu``: the menu's items a page at a time (the task describes the menu; large
  menus are not listed there).

Every bad call raises :class:`ToolError` naming the problem and leaves the episode as it
was. Nothing before ``submit_rule`` reveals the hidden rule. Replies are compact JSON
(:func:`compact_json`). :class:`Transcript` writes each episode as JSON lines (what the
harness set, calls, results, costs, per-experiment diagnostics, the final score);
:func:`transcript_rows` reads them back as ``lifegym bench`` rows, unfinished episodes
included. :class:`EpisodeSchedule` serves a harness's rules and seeds in order.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import gymnasium as gym
import numpy as np

import lifegym  # noqa: F401  (registers the ids)
from lifegym.env import RuleDiscoveryEnv
from lifegym.experiments import Experiment, initial_condition
from lifegym.io import parse_cells, write_plaintext
from lifegym.lab import BudgetError
from lifegym.likelihood import compare
from lifegym.observe import STAT_NAMES
from lifegym.registration import PRESETS, check_env_id
from lifegym.rules import Rule
from lifegym.scoring import IDENTIFIED_DELTA
from lifegym.types import VisibleTrajectory

__all__ = [
    "DEFAULT_REPLY_CAP",
    "MENU_PAGE",
    "TOOLS",
    "TOOL_SCHEMAS",
    "Episode",
    "EpisodeSchedule",
    "ToolError",
    "Transcript",
    "check_arguments",
    "compact_json",
    "tool_schema",
    "transcript_rows",
    "v1_presets",
]

#: Longest reply (characters) of an experiment unless the harness sets another cap: about
#: 15,000-22,000 tokens of frames (``benchmarks/results/reply_formats.md``).
DEFAULT_REPLY_CAP = 60_000
#: Most items one ``list_menu`` call returns.
MENU_PAGE = 100
#: Decimals of the statistics in a reply (a frame of 3,600 cells moves them by 2.8e-4).
STATS_DECIMALS = 5


def tool_schema(
    description: str, properties: dict[str, Any], required: list[str]
) -> dict[str, Any]:
    """A tool's declaration: its description and the JSON schema of its arguments (an
    object of ``properties``, ``required`` keys, nothing else)."""
    return {
        "description": description,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    }


#: The tools of an episode: name -> ``{"description", "parameters"}`` (a JSON schema of the
#: arguments, one description per parameter; the shape of an OpenAI function). The one
#: declaration of the tools: :func:`check_arguments` enforces it, the MCP server lists it,
#: the task shows it. ``"integer"`` means a JSON number written without a fraction or
#: exponent (``1``, not ``1.0``); no argument is coerced from another type.
TOOL_SCHEMAS: dict[str, dict[str, Any]] = {
    "run_experiment": tool_schema(
        "Run the hidden rule for `steps` steps from exactly one of: a menu `item`, a designed "
        "`pattern`, or a random soup of `density` (with `height` and `width`, or neither for "
        "the largest world). Returns `initial` (the initial condition, exactly as run: rows of "
        "'.' dead / 'o' alive), `times` (the observed steps) with `frames` (one list of rows "
        "per observed step) or `stats`, `experiment_cost`, `budget_left` and `reply_chars`.",
        {
            "steps": {
                "type": "integer",
                "minimum": 1,
                "description": "steps to run (a menu item's own number for an item)",
            },
            "item": {"type": "string", "description": "a menu item's name, e.g. probe-B3"},
            "pattern": {
                "type": "string",
                "description": "the initial condition, cell by cell: plaintext rows of '.' "
                "and 'o' separated by newlines, or RLE; its size is the world's",
            },
            "density": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "a random soup: each cell alive with this probability",
            },
            "height": {"type": "integer", "description": "the soup's world height (rows)"},
            "width": {"type": "integer", "description": "the soup's world width (columns)"},
        },
        ["steps"],
    ),
    "test_rule": tool_schema(
        "How far a whole hypothesised rule is from everything observed so far: "
        "`discrepancy` (mean flipped cells per observed cell; for statistics the mean |z|) "
        "beside `expected_discrepancy` (what the noise alone gives when the rule is right) "
        "and `loglik`. Costs one replay of every experiment from the compute budget.",
        {"rule": {"type": "string", "description": "a rule in the family's notation"}},
        ["rule"],
    ),
    "submit_rule": tool_schema(
        "End the episode and score `rule`: identified, exact, behavioural match, bits "
        "correct, costs and the true rule.",
        {"rule": {"type": "string", "description": "a rule in the family's notation"}},
        ["rule"],
    ),
    "list_menu": tool_schema(
        f"The menu's items, at most {MENU_PAGE} a call: name, world, steps, cost and the "
        "size of its reply. Free: costs nothing.",
        {
            "offset": {"type": "integer", "minimum": 0, "description": "first item (0 first)"},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "maximum": MENU_PAGE,
                "description": f"items to list (default {MENU_PAGE})",
            },
            "prefix": {
                "type": "string",
                "description": "only items whose name starts with it, e.g. probe-S or soup-0.50",
            },
        },
        [],
    ),
}
#: The tools and what they do (name -> description).
TOOLS: dict[str, str] = {name: tool["description"] for name, tool in TOOL_SCHEMAS.items()}

#: Dependent arguments: given one, give the others.
_TOGETHER = {"run_experiment": (("height", "width"),)}
_TYPE_NAMES = {"integer": "an integer", "number": "a number", "string": "a string"}

_NOTATION = {
    "totalistic": "B/S (outer totalistic, Moore neighbourhood), e.g. B3/S23, B36/S23, B2/S",
    "isotropic": "Hensel notation (isotropic non-totalistic), e.g. B3/S23, B2-a/S12, B3ai/S2k",
    "hex": "B/S with suffix H (Golly's hexagonal neighbourhood), e.g. B2/S34H",
    "vonneumann": "B/S with suffix V (von Neumann neighbourhood), e.g. B2/S3V",
    "free": "Golly MAP + 86 base64 characters (the 512-entry table), or a B/S or Hensel rule",
    "rotation": "Golly MAP + 86 base64 characters, or any B/S or Hensel rule",
    "ring": "Golly MAP + 86 base64 characters, or any B/S or Hensel rule",
}
#: How each family names its free bits (the probes are named after them).
_BIT_NAMES = {
    "totalistic": "B<n> (a dead cell with n live neighbours is born), S<n> (a live cell "
    "with n live neighbours survives), n = 0..8",
    "hex": "B<n>, S<n>: birth and survival with n live hexagonal neighbours, n = 0..6",
    "vonneumann": "B<n>, S<n>: birth and survival with n live von Neumann neighbours, n = 0..4",
    "isotropic": "B or S, a count and a Hensel letter: one neighbourhood class up to rotation "
    "and reflection, e.g. B2a, S3i (B0, B8 have no letter)",
    "free": "B:<hex> (dead centre) or S:<hex> (live centre), <hex> the 3x3 pattern's index, "
    "cells read row by row from the top left, most significant first (NW=256 ... SE=1)",
}


def _probe_example(probes: list[Experiment]) -> str:
    """What one probe of the menu shows, e.g. ``probe-B3: dead cells with 3 live neighbours``."""
    names = [item.name.removeprefix("probe-") for item in probes]
    bit = next((n for n in names if n in ("B3", "B2a")), names[0])
    centre = "dead" if bit.startswith("B") else "live"
    if bit[1:].isdigit():
        return f"probe-{bit}: {centre} cells with {bit[1:]} live neighbours"
    if bit[1] == ":":
        return f"probe-{bit}: cells whose 3x3 neighbourhood is the pattern 0x{bit[2:]}"
    return f"probe-{bit}: {centre} cells whose live neighbours form configuration {bit[1:]}"


class ToolError(ValueError):
    """A bad tool call: the message names the problem; the episode is unchanged."""


def compact_json(value: Any) -> str:
    """``value`` as compact JSON (no spaces after separators), the form of every reply."""
    return json.dumps(value, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _shown(value: object) -> str:
    """A value as JSON text for an error message (cut to 40 characters)."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _has_type(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    return isinstance(value, int | float) and math.isfinite(value)


def check_arguments(
    tool: object, arguments: object, schemas: Mapping[str, dict[str, Any]] = TOOL_SCHEMAS
) -> dict[str, Any]:
    """``arguments`` of ``tool`` (a name of ``schemas``, :data:`TOOL_SCHEMAS` by default)
    checked against its schema: an object, no unknown key, every required key, each value
    of its declared type (an ``"integer"`` is a JSON integer, not ``1.0``, ``true`` or
    ``"1"``) within its bounds, dependent keys together. Returns them as a new dict;
    ToolError naming the first problem."""
    if not isinstance(tool, str) or tool not in schemas:
        raise ToolError(f"unknown tool {_shown(tool)}; the tools are {', '.join(schemas)}")
    schema = schemas[tool]["parameters"]
    properties: dict[str, Any] = schema["properties"]
    if not isinstance(arguments, dict):
        raise ToolError(f"the arguments of {tool} must be a JSON object, got {_shown(arguments)}")
    unknown = [key for key in arguments if key not in properties]
    if unknown:
        raise ToolError(
            f"{tool} takes {', '.join(properties) or 'no arguments'}; unknown argument(s): "
            f"{', '.join(map(str, unknown))}"
        )
    missing = [key for key in schema["required"] if key not in arguments]
    if missing:
        raise ToolError(f"{tool} needs {', '.join(missing)}")
    for key, value in arguments.items():
        _check_value(key, value, properties[key])
    for group in _TOGETHER.get(tool, ()):
        given = [key for key in group if key in arguments]
        if given and len(given) < len(group):
            raise ToolError(
                f"{' and '.join(group)} go together: give all or none, got {', '.join(given)} only"
            )
    return dict(arguments)


def _check_value(key: str, value: object, schema: dict[str, Any]) -> None:
    kind = schema["type"]
    if not _has_type(value, kind):
        hint = " (leave out an argument you do not give)" if value is None else ""
        raise ToolError(f"{key} must be {_TYPE_NAMES[kind]}, got {_shown(value)}{hint}")
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise ToolError(f"{key} must be {bounds}, got {_shown(value)}")


def v1_presets() -> list[str]:
    """The v1 preset ids the text protocol serves."""
    return [env_id for env_id in PRESETS if env_id.endswith("-v1")]


def _rows(grid: np.ndarray) -> list[str]:
    return write_plaintext(grid).split("\n")


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def _given(**arguments: Any) -> dict[str, Any]:
    """The arguments a Python caller gave, as a JSON call carries them (None: left out)."""
    return {key: value for key, value in arguments.items() if value is not None}


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


def _sized(reply: dict[str, Any]) -> dict[str, Any]:
    """``reply`` with ``reply_chars``: the length of its own compact JSON, that field included."""
    size = len(compact_json(reply))
    while True:
        length = len(compact_json({**reply, "reply_chars": size}))
        if length == size:
            return {**reply, "reply_chars": size}
        size = length


@dataclasses.dataclass(frozen=True)
class _Request:
    """A checked experiment request, not yet run: its world, steps and how to run it."""

    shape: tuple[int, int]
    steps: int
    run: Callable[[], VisibleTrajectory]


class Episode:
    """One episode of the text protocol on preset ``env_id`` (a v1 id), set up by a harness.

    Args:
        env_id: the preset (``v1_presets()``).
        seed: fixes the hidden rule (unless ``rule``) and every random draw of the episode.
        rule: the hidden rule, in any notation of the family (None: drawn from the prior).
        reply_cap: the longest reply (characters) an experiment may return; a request whose
            reply would be longer is refused before it is run or charged.
        diagnostics: record, for every experiment, the engine's belief entropy before and
            after and the expected gain per cost of the best menu item
            (:class:`lifegym.diagnostics.GreedyGain`) in :attr:`diagnostics`; for
            transcripts, never shown to the agent.
    """

    def __init__(
        self,
        env_id: str,
        seed: int | None = None,
        rule: str | None = None,
        reply_cap: int = DEFAULT_REPLY_CAP,
        diagnostics: bool = False,
    ) -> None:
        try:
            check_env_id(env_id)
        except ValueError as exc:
            raise ToolError(str(exc)) from exc
        if env_id not in v1_presets():
            raise ToolError(f"env {env_id!r} is not served; choose one of {v1_presets()}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ToolError(f"seed must be an int or None, got {seed!r}")
        self.env_id, self.seed, self.rule = env_id, seed, rule
        env = gym.make(env_id, design=True).unwrapped
        assert isinstance(env, RuleDiscoveryEnv)  # a v1 preset: the numeric env
        self.env = env
        try:
            self.env.reset(seed=seed, options=None if rule is None else {"rule": rule})
        except ValueError as exc:
            raise ToolError(f"rule: {exc}") from exc
        smallest = self._reply_size(self.env.smallest_world, self.env.model.fewest_steps)
        if isinstance(reply_cap, bool) or not isinstance(reply_cap, int) or reply_cap < smallest:
            raise ToolError(
                f"reply_cap must be an int >= {smallest} (the reply of the smallest "
                f"experiment), got {reply_cap!r}"
            )
        self.reply_cap = reply_cap
        self.result: dict[str, Any] | None = None
        self.diagnostics: list[dict[str, Any]] = []
        self._greedy = None
        if diagnostics:
            from lifegym.diagnostics import GreedyGain

            self._greedy = GreedyGain(self.env, seed)

    # -- what the agent is told -----------------------------------------------------------

    def task(self) -> dict[str, Any]:
        """The task description: goal, family and notation, what is observed, the
        experiments and the menu, costs and budgets, the reply cap, how the episode is
        scored, and the tools."""
        env = self.env
        family = env.space.family.name
        (h0, w0), (height, width) = env.smallest_world, env.world
        return {
            "env": self.env_id,
            "goal": (
                "Find the hidden rule of a 2-D binary cellular automaton on a torus (edges "
                "wrap around): every step, each cell's next state is the rule's output for "
                "its 3x3 neighbourhood (itself and its 8 neighbours). Run experiments, test "
                "hypotheses, then submit the rule."
            ),
            "family": family,
            "free_bits": env.space.n_free,
            "bit_names": _BIT_NAMES.get(family, "see the notation"),
            "notation": _NOTATION.get(family, "B/S, Hensel or Golly MAP notation"),
            "experiments": (
                "An experiment sets a world (height x width), an initial condition and a "
                "number of steps. The initial condition (`initial` in the reply) is exactly "
                "what was run, never noisy; only the later states pass through the "
                "observation model."
            ),
            "observation": self.env.model.explain(),
            "world": {"smallest": f"{h0}x{w0}", "largest": f"{height}x{width}"},
            "steps": {"min": env.model.fewest_steps, "max": env.max_experiment_steps},
            "menu": self._menu_summary(),
            "costs": (
                "An experiment costs observed cell-steps: the observed cells of a frame "
                "(the whole world, or the window) x the observed frames; the initial "
                "condition is free. Each costs the same whether it is a menu item, a "
                "pattern or a soup. test_rule costs simulated cell-steps (one replay of "
                "every experiment so far) from the compute budget. A call the budget "
                "left cannot pay for is refused."
            ),
            "budget": {"experiment": env.experiment_budget, "compute": env.compute_budget},
            "reply_cap": (
                f"An experiment's reply is at most {self.reply_cap:,} characters (about "
                "(observed frames + 1) x height x (width + 3)); a larger one is refused "
                "before it is run or charged, with the most steps that fit."
            ),
            "scoring": self._scoring_text(),
            "tools": TOOL_SCHEMAS,
        }

    def _menu_summary(self) -> dict[str, Any]:
        """The menu by kind (soups, probes), with names, worlds, steps and costs."""
        env, model = self.env, self.env.model
        soups = [item for item in env.menu if item.kind == "soup"]
        probes = [item for item in env.menu if item.name.startswith("probe-")]
        worlds = sorted({item.shape_in(env.world) for item in soups}, key=lambda s: s[0] * s[1])
        steps = sorted({item.steps for item in soups})
        over = sorted(
            {
                f"soup-*x{item.steps}@{h}x{w}"
                for item in soups
                for h, w in [item.shape_in(env.world)]
                if self._reply_size((h, w), item.steps) > self.reply_cap
            }
        )
        summary: dict[str, Any] = {
            "items": len(env.menu),
            "soups": {
                "name": "soup-<density>x<steps>@<height>x<width>, e.g. soup-0.35x16@8x8",
                "what": "a fresh random soup on every run: each cell alive with probability "
                "<density>, on a <height> x <width> torus, run <steps> steps",
                "densities": sorted({item.density for item in soups}),
                "steps": steps,
                "worlds": [f"{h}x{w}" for h, w in worlds],
                "cost": {f"{h}x{w}": [model.cost(h, w, s) for s in steps] for h, w in worlds},
            },
        }
        if over:
            summary["soups"]["over_reply_cap"] = over
        if probes:
            first = probes[0]
            h, w = first.shape_in(env.world)
            summary["probes"] = {
                "name": f"probe-<bit>, one per free bit: {probes[0].name} .. {probes[-1].name}",
                "what": f"a fixed {h}x{w} initial condition designed so that as many cells as "
                f"possible have a neighbourhood of that bit (e.g. {_probe_example(probes)}): "
                "one run shows the bit's output many times",
                "steps": first.steps,
                "cost": int(model.cost(h, w, first.steps)),
            }
        summary["list_menu"] = "lists every item with its world, steps, cost and reply size"
        return summary

    def _scoring_text(self) -> str:
        return (
            "submit_rule ends the episode. identified (the main result): the submitted rule "
            "is the hidden one up to observational equivalence (rules no experiment of this "
            "preset can tell apart count as one), and what you observed settles it: the "
            "env's own inference from your experiments gives that rule's class probability "
            f">= {1 - IDENTIFIED_DELTA:g} and no free bit is left undetermined by the data "
            "(a lucky guess is exact, not identified). exact: the submitted rule is in the "
            "hidden rule's class. experiment_cost: the observed cell-steps spent. "
            "Benchmarks rank by score = identified x min(1, reference cost / your "
            "experiment cost), the reference being what the oracle agent (told the hidden "
            "rule) spends to identify it on the same rule and seed: identify the rule, as "
            "cheaply as you can. Compute (test_rule) does not enter the score."
        )

    # -- checks -------------------------------------------------------------------------

    def _budget_left(self) -> dict[str, int]:
        lab = self.env.lab
        return {"experiment": int(lab.experiment_left), "compute": int(lab.compute_left)}

    def _check_open(self) -> None:
        if self.result is not None:
            raise ToolError("the episode has ended (submit_rule was called): start a new one")

    def _rule(self, text: str) -> Rule:
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

    # -- replies and their size ---------------------------------------------------------

    def _experiment_reply(
        self,
        initial: np.ndarray,
        times: np.ndarray,
        frames: np.ndarray | None,
        stats: np.ndarray | None,
        cost: int,
        budget_left: dict[str, int],
    ) -> dict[str, Any]:
        reply: dict[str, Any] = {"initial": _rows(initial), "times": [int(t) for t in times]}
        if frames is not None:
            reply["frames"] = [_rows(frame) for frame in frames]
        if stats is not None:
            columns = np.round(np.asarray(stats, dtype=np.float64), STATS_DECIMALS).T
            reply["stats"] = {
                name: [float(v) for v in column]
                for name, column in zip(STAT_NAMES, columns, strict=True)
            }
        reply["experiment_cost"] = int(cost)
        reply["budget_left"] = budget_left
        return _sized(reply)

    def _reply_size(self, shape: tuple[int, int], steps: int) -> int:
        """The size of an experiment's reply on a world of ``shape`` run ``steps`` steps:
        exact for frames (rows of a fixed length), an upper bound for statistics (each
        written with at most ``STATS_DECIMALS`` decimals)."""
        model, lab = self.env.model, self.env.lab
        times = model.observed_times(steps)
        h, w = model.region(*shape)
        widest = float("0." + "1" * STATS_DECIMALS)  # the longest number a statistic prints as
        stats = not model.shows_frames
        cost = model.cost(*shape, steps)
        reply = self._experiment_reply(
            np.zeros(shape, dtype=np.uint8),
            times,
            None if stats else np.zeros((len(times), h, w), dtype=np.uint8),
            np.full((len(times), len(STAT_NAMES)), widest) if stats else None,
            cost,
            {"experiment": max(lab.experiment_left - cost, 0), "compute": lab.compute_left},
        )
        return reply["reply_chars"]

    def _check_reply_size(self, shape: tuple[int, int], steps: int) -> None:
        """ToolError naming the cap and the cheapest way under it when the reply of ``steps``
        steps on ``shape`` would be longer than the episode's cap."""
        size = self._reply_size(shape, steps)
        if size <= self.reply_cap:
            return
        h, w = shape
        said = (
            f"this experiment's reply would be {size:,} characters, over the episode's reply "
            f"cap of {self.reply_cap:,}; nothing was run or charged."
        )
        fewer = (
            s for s in range(steps - 1, self.env.model.fewest_steps - 1, -1) if self._fits(shape, s)
        )
        most = next(fewer, None)
        if most is not None:
            raise ToolError(
                f"{said} Run at most {_steps(most)} on this {h}x{w} world (a soup or pattern "
                "of that size), or use a smaller world."
            )
        (h0, w0) = self.env.smallest_world
        sides = (n for n in range(min(h, w) - 1, max(h0, w0) - 1, -1) if self._fits((n, n), steps))
        side = next(sides, None)
        smaller = f" ({side}x{side} fits {_steps(steps)})" if side is not None else ""
        raise ToolError(f"{said} No number of steps fits on {h}x{w}: use a smaller world{smaller}.")

    def _fits(self, shape: tuple[int, int], steps: int) -> bool:
        return self._reply_size(shape, steps) <= self.reply_cap

    # -- the tools -----------------------------------------------------------------------

    def call(self, tool: object, arguments: object) -> dict[str, Any]:
        """Run ``tool`` (a name of :data:`TOOL_SCHEMAS`) with the raw ``arguments`` (the JSON
        object the agent sent), checked by :func:`check_arguments`; ToolError otherwise."""
        given = check_arguments(tool, arguments)
        return getattr(self, f"_{tool}")(**given)

    def run_experiment(
        self,
        steps: int,
        item: str | None = None,
        pattern: str | None = None,
        density: float | None = None,
        height: int | None = None,
        width: int | None = None,
    ) -> dict[str, Any]:
        """The tool ``run_experiment`` (see :data:`TOOL_SCHEMAS`; None: not given)."""
        given = _given(item=item, pattern=pattern, density=density, height=height, width=width)
        return self.call("run_experiment", {"steps": steps} | given)

    def test_rule(self, rule: str) -> dict[str, Any]:
        """The tool ``test_rule`` (see :data:`TOOL_SCHEMAS`)."""
        return self.call("test_rule", {"rule": rule})

    def submit_rule(self, rule: str) -> dict[str, Any]:
        """The tool ``submit_rule`` (see :data:`TOOL_SCHEMAS`)."""
        return self.call("submit_rule", {"rule": rule})

    def list_menu(
        self, offset: int = 0, limit: int = MENU_PAGE, prefix: str | None = None
    ) -> dict[str, Any]:
        """The tool ``list_menu`` (see :data:`TOOL_SCHEMAS`; None: not given)."""
        return self.call("list_menu", {"offset": offset, "limit": limit} | _given(prefix=prefix))

    def _run_experiment(
        self,
        steps: int,
        item: str | None = None,
        pattern: str | None = None,
        density: float | None = None,
        height: int | None = None,
        width: int | None = None,
    ) -> dict[str, Any]:
        self._check_open()
        sources = {"item": item, "pattern": pattern, "density": density}
        given = [name for name, value in sources.items() if value is not None]
        if len(given) != 1:
            raise ToolError(
                "give exactly one of item, pattern or density (with height and width for a "
                f"soup), got {', '.join(given) or 'none'}"
            )
        if height is not None and density is None:
            raise ToolError("height and width go with density (a random soup)")
        try:
            request = self._request(steps, item, pattern, density, height, width)
            self._check_reply_size(request.shape, request.steps)
            entropy_before = float(self.env.belief.entropy)
            best = None if self._greedy is None else self._greedy.best_item()
            trajectory = request.run()
        except (BudgetError, ValueError) as exc:
            if isinstance(exc, ToolError):
                raise
            raise ToolError(str(exc)) from exc
        if self._greedy is not None:
            self._record_diagnostics(entropy_before, best, int(trajectory.cost))
        return self._experiment_reply(
            trajectory.initial,
            trajectory.times,
            trajectory.frames,
            trajectory.stats,
            int(trajectory.cost),
            self._budget_left(),
        )

    def _request(
        self,
        steps: int,
        item: str | None,
        pattern: str | None,
        density: float | None,
        height: int | None,
        width: int | None,
    ) -> _Request:
        """The checked request (ValueError or ToolError naming what is wrong); nothing run."""
        env, lab = self.env, self.env.lab
        if item is not None:
            names = [m.name for m in env.menu]
            if item not in names:
                raise ToolError(
                    f"unknown menu item {item!r}; see the task's menu or call list_menu"
                )
            index = names.index(item)
            fixed = env.menu[index].steps
            if steps != fixed:
                raise ToolError(f"menu item {item!r} runs {fixed} steps; got steps={steps}")
            return _Request(env.menu[index].shape_in(env.world), fixed, lambda: env.run_item(index))
        steps = lab.limits.check_steps(steps)
        if pattern is not None:
            grid = parse_cells(pattern, max_shape=env.world)
            shape = (int(grid.shape[0]), int(grid.shape[1]))
            lab.limits.check_shape(shape, "a designed world")
            return _Request(shape, steps, lambda: env.run_cells(grid, steps))
        if height is None:
            shape = (env.world[0], env.world[1])
        else:
            assert width is not None  # height and width come together (check_arguments)
            shape = (height, width)
        assert density is not None  # neither an item nor a pattern: a soup
        lab.limits.check_shape(shape, "the soup's world")
        soup = Experiment("soup", "soup", 1, density=float(density), world=shape)
        # drawn from the episode's own generator (the env's), only once the request is accepted
        return _Request(
            shape,
            steps,
            lambda: env.run_cells(initial_condition(soup, shape, lab.rng), steps),
        )

    def _record_diagnostics(
        self, entropy_before: float, best: dict[str, Any] | None, cost: int
    ) -> None:
        entropy_after = float(self.env.belief.entropy)
        gain = entropy_before - entropy_after
        self.diagnostics.append(
            {
                "entropy_before": entropy_before,
                "entropy_after": entropy_after,
                "gain_per_cost": gain / cost if cost else None,
                "best_item": best,
            }
        )

    def _test_rule(self, rule: str) -> dict[str, Any]:
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

    def _submit_rule(self, rule: str) -> dict[str, Any]:
        self._check_open()
        submitted = self._rule(rule)
        self.result = self.env.score(submitted, "agent").as_dict()
        return dict(self.result)

    def _list_menu(
        self, offset: int = 0, limit: int = MENU_PAGE, prefix: str | None = None
    ) -> dict[str, Any]:
        env = self.env
        items = [m for m in env.menu if prefix is None or m.name.startswith(prefix)]
        page = []
        for item in items[offset : offset + limit]:
            h, w = item.shape_in(env.world)
            page.append(
                {
                    "item": item.name,
                    "world": f"{h}x{w}",
                    "steps": item.steps,
                    "cost": int(env.model.cost(h, w, item.steps)),
                    "reply_chars": self._reply_size((h, w), item.steps),
                }
            )
        end = offset + len(page)
        return {
            "total": len(items),
            "offset": offset,
            "items": page,
            "next_offset": end if end < len(items) else None,
        }

    def end_unsubmitted(self, reason: str) -> dict[str, Any]:
        """End the episode with nothing submitted (``reason``: ``"truncation"``,
        ``"timeout"``, ...): the result's costs are what was spent; ``submitted_rule`` is
        None and ``exact``, ``identified`` and ``behavioural_match`` are False."""
        if self.result is not None:
            return dict(self.result)
        space = self.env.space
        nothing = space.rule(np.zeros(space.n_free, dtype=np.uint8))
        result = self.env.score(nothing, reason).as_dict()
        result |= {
            "submitted_rule": None,
            "exact": False,
            "identified": False,
            "behavioural_match": False,
            "bits_correct": 0.0,
        }
        self.result = result
        return dict(result)


class EpisodeSchedule:
    """The hidden rules and seeds a harness serves, in order, per env id.

    The ``k``-th episode of env ``E`` gets the ``k``-th rule of ``rules`` for ``E``
    (:func:`lifegym.bench.rules_for`: ``"named"``, ``"random:N"`` or a file; None: no list,
    every rule from the env's prior) and the seed ``lifegym bench --env E --rules RULES
    --seed SEED --episodes 1`` gives that rule's episode (:func:`lifegym.bench.episode_seed`),
    so a bench run of the oracle on the same options is the episodes' reference. Without
    ``seed`` the episodes draw fresh entropy. When the list is used up, :meth:`next`
    raises ToolError saying so.
    """

    def __init__(self, rules: str | None = None, seed: int | None = None) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"seed must be an int or None, got {seed!r}")
        self.rules, self.seed = rules, seed
        self._lists: dict[str, list[str | None]] = {}
        self._served: dict[str, int] = {}

    def _rules_of(self, env_id: str) -> list[str | None] | None:
        if self.rules is None:
            return None
        if env_id not in self._lists:
            from lifegym.bench import rules_for

            self._lists[env_id] = rules_for(self.rules, env_id)[0]
        return self._lists[env_id]

    def check(self, env_ids: list[str]) -> None:
        """ValueError naming a bad ``rules`` spec, or one that holds no rule of any of
        ``env_ids``' families."""
        if self.rules is not None and not any(self._rules_of(env_id) for env_id in env_ids):
            raise ValueError(f"rules {self.rules!r} hold no rule of {', '.join(env_ids)}")

    def next(self, env_id: str) -> tuple[str | None, int | None]:
        """(rule, seed) of the next episode of ``env_id``; ToolError once the list is used up."""
        from lifegym.bench import episode_seed

        k = self._served.get(env_id, 0)
        rules = self._rules_of(env_id)
        if rules is not None and k >= len(rules):
            raise ToolError(
                f"the harness's rules ({self.rules}) are used up: all {len(rules)} episodes of "
                f"{env_id} were served; no more episodes of it until the server is restarted"
            )
        self._served[env_id] = k + 1
        seed = None if self.seed is None else episode_seed(self.seed, 0, k, 0)
        return (None if rules is None else rules[k]), seed


class Transcript:
    """JSON lines of episodes: one ``start`` line (env, what the harness set: ``rule`` and
    ``seed`` (None: the prior and fresh entropy), ``reply_cap``, the task), one line per call
    (tool, arguments, reply or error; ``diagnostics`` after an experiment when recorded),
    one ``end`` line with the result."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    @classmethod
    def to_file(cls, path: str | Path) -> Transcript:
        return cls(Path(path).open("a", encoding="utf-8"))

    def write(self, kind: str, **fields: Any) -> None:
        self.stream.write(compact_json({"kind": kind, **fields}) + "\n")
        self.stream.flush()

    def start(self, episode: Episode, **fields: Any) -> None:
        """The ``start`` line of ``episode`` (``fields``: e.g. its ``episode_id``)."""
        self.write(
            "start",
            **fields,
            env=episode.env_id,
            rule=episode.rule,
            seed=episode.seed,
            reply_cap=episode.reply_cap,
            task=episode.task(),
        )


#: ``submitted_by`` of episodes that ended without a submission, and of those never ended.
TIMED_OUT = ("truncation", "timeout")
UNFINISHED = "unfinished"


def transcript_rows(path: str | Path, agent: str | None = None) -> list[dict[str, Any]]:
    """One row per episode of a transcript file (JSON lines of a Text env or of ``lifegym
    mcp``), shaped like ``lifegym.bench`` rows (``env``, ``inference`` = ``"agent"``: the
    agent inferred the rule itself, ``agent``: ``agent`` or the file's stem, then the
    result), so ``lifegym.bench.summarise`` tables them. An episode that started and never
    ended counts as not identified: ``submitted_by`` ``"unfinished"``, its costs as its last
    reply left them."""
    path = Path(path)
    name = agent or path.stem
    starts: dict[Any, dict[str, Any]] = {}
    spent: dict[Any, dict[str, int]] = {}
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
        key = record.get("episode_id")  # MCP transcripts interleave episodes by id
        kind = record.get("kind")
        if kind == "start":
            if key in starts:  # a Text env reset before the end: the old one never ended
                rows.append(_unfinished_row(starts.pop(key), spent.pop(key, {}), name))
            starts[key] = record
        elif kind == "call" and key in starts:
            _count_call(spent.setdefault(key, {}), starts[key], record)
        elif kind == "end":
            start = starts.pop(key, None)
            spent.pop(key, None)
            if start is None:
                raise ValueError(f"{path}:{number}: an episode ends that never started")
            rows.append(_row(start, record["result"], name))
    rows += [_unfinished_row(start, spent.get(key, {}), name) for key, start in starts.items()]
    return rows


def _count_call(spent: dict[str, int], start: dict[str, Any], record: dict[str, Any]) -> None:
    reply = record.get("reply")
    if not isinstance(reply, dict) or "budget_left" not in reply:
        return
    budget = start.get("task", {}).get("budget", {})
    left = reply["budget_left"]
    spent["experiment_cost"] = budget.get("experiment", 0) - left["experiment"]
    spent["compute_cost"] = budget.get("compute", 0) - left["compute"]
    if record.get("tool") == "run_experiment":
        spent["n_experiments"] = spent.get("n_experiments", 0) + 1
    elif record.get("tool") == "test_rule":
        spent["n_tests"] = spent.get("n_tests", 0) + 1


def _row(start: dict[str, Any], result: dict[str, Any], agent: str) -> dict[str, Any]:
    return {
        "env": start["env"],
        "inference": "agent",
        "design": True,
        "agent": agent,
        "seed": start.get("seed"),
        **result,
        "rule": result.get("true_rule"),
        "wall_s": math.nan,
    }


def _unfinished_row(start: dict[str, Any], spent: dict[str, int], agent: str) -> dict[str, Any]:
    result = {
        "true_rule": start.get("rule"),
        "submitted_rule": None,
        "exact": False,
        "identified": False,
        "behavioural_match": False,
        "bits_correct": 0.0,
        "n_undetermined": None,
        "experiment_cost": spent.get("experiment_cost", 0),
        "compute_cost": spent.get("compute_cost", 0),
        "n_experiments": spent.get("n_experiments", 0),
        "n_tests": spent.get("n_tests", 0),
        "submitted_by": UNFINISHED,
    }
    return _row(start, result, agent)
