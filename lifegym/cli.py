"""The ``lifegym`` command line (also ``python -m lifegym``).

Each subcommand is two small functions: ``_add_<name>_parser`` declares its arguments and
``_cmd_<name>`` runs it and returns the exit code. Bad arguments print one line on stderr and
exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

import numpy as np

from lifegym.io import read_rle
from lifegym.protocol import DEFAULT_REPLY_CAP
from lifegym.rules import Rule

if TYPE_CHECKING:
    from lifegym.sim import Boundary

__all__ = ["main"]

DEFAULT_RULE = "B3/S23"
DEFAULT_SIZE = (256, 256)
DEFAULT_DENSITY = 0.35
DEFAULT_STEPS = 500
DEFAULT_GIF = "lifegym-simulate.gif"
#: The default ``--every`` keeps a GIF to at most this many frames after the first.
MAX_GIF_FRAMES = 200
#: Smallest side of the grid built around an RLE pattern when ``--size`` is not given.
MIN_RLE_GRID = 64
#: Number of simulate() calls a run is cut into, so the progress bar can move.
PROGRESS_CHUNKS = 50


class UsageError(Exception):
    """A bad argument found after parsing; ``main`` prints it on one line and returns 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ------------------------------------------------------------------ argument types


def _rule_arg(text: str) -> Rule:
    try:
        return Rule.parse(text)
    except ValueError as exc:
        message = str(exc) if repr(text) in str(exc) else f"invalid rule {text!r}: {exc}"
        raise argparse.ArgumentTypeError(message) from exc


def _size_arg(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+)\s*)?", text)
    if match is None or int(match.group(1)) < 1 or int(match.group(2) or 1) < 1:
        raise argparse.ArgumentTypeError(
            f"invalid size {text!r}: expected HxW (rows x columns) with positive integers, "
            "e.g. 64x64, or N for NxN"
        )
    height = int(match.group(1))
    return height, int(match.group(2) or height)


def _density_arg(text: str) -> float:
    try:
        density = float(text)
    except ValueError:
        density = math.nan
    if not 0.0 <= density <= 1.0:
        raise argparse.ArgumentTypeError(f"invalid density {text!r}: expected a number from 0 to 1")
    return density


def _int_arg(minimum: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"invalid {what} {text!r}: expected an integer >= {minimum}"
            )
        return value

    return parse


# ------------------------------------------------------------------ progress bar


def _progress_bar(total: int, stream: TextIO, unit: str = "steps", patience: float = 2.0):
    """A ``tqdm`` bar on ``stream`` that shows up once a run has lasted ``patience`` seconds
    (short runs print nothing), then redraws at most every 0.1 s on a terminal and every
    2 s into files and pipes, so logs stay short. ``bar.update(k)`` adds ``k`` done."""
    from tqdm import tqdm

    tty = bool(getattr(stream, "isatty", lambda: False)())
    return tqdm(
        total=total,
        file=stream,
        unit=f" {unit}",
        delay=patience,
        mininterval=0.1 if tty else 2.0,
        dynamic_ncols=tty,
    )


#: What ``--agent`` takes (bench, discover).
_AGENT_FORMS = (
    "random, coverage, infogain, emulator-loop, oracle (the reference), ppo:PATH or "
    "maskable-ppo:PATH (a trained policy), module.path:Class or path/to/file.py:Class "
    "(your own Agent subclass)"
)


class _ShowDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except the ones that mean "not given" (None, False)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


# ------------------------------------------------------------------ simulate


def _add_simulate_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="run a rule from a random soup or an RLE pattern; write a GIF and/or PNG",
        description=(
            "Run a Life-like rule and save the result. With no arguments: Conway's Life "
            f"({DEFAULT_RULE}) on a {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]} torus from a random soup "
            f"of density {DEFAULT_DENSITY} (seed 0) for {DEFAULT_STEPS} steps, written to "
            f"{DEFAULT_GIF}. Prints the final population and the throughput."
        ),
    )
    parser.add_argument(
        "--rule",
        type=_rule_arg,
        help=f"rule string: B/S (B3/S23), Hensel (B2-a/S12) or Golly MAP (default: the RLE "
        f"file's rule, else {DEFAULT_RULE})",
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--rle",
        metavar="FILE",
        help="start from this RLE pattern, centred in the grid (default grid: the pattern's "
        f"box with a margin, each side at least twice the pattern's and at least {MIN_RLE_GRID})",
    )
    start.add_argument(
        "--density",
        type=_density_arg,
        help=f"fraction of live cells in the random soup, 0 to 1 (default {DEFAULT_DENSITY})",
    )
    parser.add_argument(
        "--size",
        type=_size_arg,
        metavar="HxW",
        help=f"grid rows x columns (default {DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]} for a soup)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random soup (default 0)")
    parser.add_argument(
        "--steps",
        type=_int_arg(0, "steps"),
        default=DEFAULT_STEPS,
        help=f"number of steps, >= 0 (default {DEFAULT_STEPS})",
    )
    parser.add_argument(
        "--boundary",
        choices=["torus", "dead"],
        default="torus",
        help="torus: edges wrap; dead: cells outside the grid stay dead (default torus)",
    )
    parser.add_argument(
        "--gif",
        metavar="OUT",
        help=f"write an animated GIF here (default {DEFAULT_GIF} when neither --gif nor --png "
        "is given)",
    )
    parser.add_argument("--png", metavar="OUT", help="write the final frame as a PNG here")
    parser.add_argument(
        "--every",
        type=_int_arg(1, "--every"),
        metavar="K",
        help=f"GIF frame every K steps (default: the smallest K giving at most "
        f"{MAX_GIF_FRAMES} frames after the first); the last step is always included",
    )
    parser.add_argument(
        "--scale",
        type=_int_arg(1, "--scale"),
        metavar="PX",
        help="pixels per cell in the GIF and PNG (default: about 512 px on the longest side, "
        "1 for grids wider than 256)",
    )
    parser.set_defaults(func=_cmd_simulate)


def _initial_grid(args: argparse.Namespace) -> tuple[np.ndarray, Rule, str]:
    """The start grid, the rule to run and a one-line description of the start."""
    if args.rle is None:
        height, width = args.size or DEFAULT_SIZE
        density = DEFAULT_DENSITY if args.density is None else args.density
        rng = np.random.default_rng(args.seed)
        grid = (rng.random((height, width)) < density).astype(np.uint8)
        rule = Rule.parse(DEFAULT_RULE) if args.rule is None else args.rule
        return grid, rule, f"random soup, density {density}, seed {args.seed}"

    path = Path(args.rle)
    if not path.is_file():
        raise UsageError(f"argument --rle: no such file {args.rle!r}")
    try:
        pattern, file_rule = read_rle(path)
    except ValueError as exc:
        raise UsageError(f"argument --rle: {args.rle}: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"argument --rle: cannot read {args.rle!r}: {exc}") from exc
    pattern_h, pattern_w = pattern.shape
    if args.size is None:
        height, width = max(MIN_RLE_GRID, 2 * pattern_h), max(MIN_RLE_GRID, 2 * pattern_w)
    else:
        height, width = args.size
        if pattern_h > height or pattern_w > width:
            raise UsageError(
                f"argument --size: the pattern in {args.rle} is {pattern_h}x{pattern_w} (HxW) "
                f"and does not fit in {height}x{width}"
            )
    grid = np.zeros((height, width), dtype=np.uint8)
    top, left = (height - pattern_h) // 2, (width - pattern_w) // 2
    grid[top : top + pattern_h, left : left + pattern_w] = pattern
    rule = args.rule if args.rule is not None else file_rule
    if rule is None:
        rule = Rule.parse(DEFAULT_RULE)
    return grid, rule, f"pattern {args.rle} ({pattern_h}x{pattern_w}), centred"


def _check_output(path: str | None, option: str) -> None:
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise UsageError(f"argument {option}: directory {str(Path(path).parent)!r} does not exist")


def _per_second(count: float) -> str:
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= factor:
            return f"{count / factor:.3g} {prefix}"
    return f"{count:.3g} "


def _run_in_chunks(
    rule: Rule,
    grid: np.ndarray,
    steps: int,
    boundary: Boundary,
    every: int | None,
    stream: TextIO,
) -> tuple[np.ndarray, float]:
    """Run ``steps`` steps in chunks; returns (frames, seconds spent in simulate).

    ``frames`` holds the grids at steps 0, every, 2*every, ... and ``steps`` when ``every`` is
    an int, else only the final grid (shape (1, H, W)). Each chunk starts from the previous
    chunk's last grid; chunk lengths are multiples of ``every`` so the recorded steps line up.
    """
    from lifegym.sim import simulate  # imports numba: only when a run needs it

    simulate(rule, grid, min(steps, 1), boundary=boundary, record="last")  # JIT warm-up
    progress = _progress_bar(steps, stream)  # after the warm-up: compiling is not progress
    step_k = every or 1
    chunk = step_k * max(1, math.ceil(math.ceil(steps / PROGRESS_CHUNKS) / step_k))
    frames = [grid[np.newaxis]] if every else []
    state = grid
    seconds = 0.0
    done = 0
    while done < steps:
        length = min(chunk, steps - done)
        started = time.perf_counter()
        out = simulate(rule, state, length, boundary=boundary, record=every or "last")
        seconds += time.perf_counter() - started
        if every:
            frames.append(out[1:])  # out[0] is the previous chunk's last frame
        state = out[-1]
        done += length
        progress.update(length)
    progress.close()
    if not every:
        frames = [state[np.newaxis]]
    return np.concatenate(frames), seconds


def _cmd_simulate(args: argparse.Namespace) -> int:
    from lifegym.pictures import auto_scale, write_gif, write_png

    gif_path = args.gif
    if args.gif is None and args.png is None:
        gif_path = DEFAULT_GIF
    _check_output(gif_path, "--gif")
    _check_output(args.png, "--png")
    grid, rule, start = _initial_grid(args)
    steps = args.steps
    every = None
    if gif_path is not None:
        every = args.every or max(1, math.ceil(steps / MAX_GIF_FRAMES))

    frames, seconds = _run_in_chunks(rule, grid, steps, args.boundary, every, sys.stderr)
    final = frames[-1]
    height, width = grid.shape

    lines = [
        f"rule        {rule}",
        f"grid        {height}x{width} ({args.boundary}), {start}",
        f"steps       {steps}",
        f"population  {int(grid.sum())} at step 0, {int(final.sum())} at step {steps}",
    ]
    if steps and seconds > 0:
        rate = steps * height * width / seconds
        lines.append(f"time        {seconds:.3f} s, {_per_second(rate)}cell-updates/s")
    scale = auto_scale(height, width) if args.scale is None else args.scale
    if gif_path is not None:
        write_gif(frames, gif_path, scale=scale)
        lines.append(
            f"gif         {gif_path} ({len(frames)} frames, every {every} steps, "
            f"{scale} px per cell)"
        )
    if args.png is not None:
        write_png(final, args.png, scale=scale)
        lines.append(f"png         {args.png} (step {steps}, {scale} px per cell)")
    print("\n".join(lines))
    return 0


# ------------------------------------------------------------------ bench


def _add_bench_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure agents on envs and hidden rules",
        description="Run every agent on every env for every rule and episode, and the oracle "
        "(the reference, added when --agent does not name it) on the same rules and seeds; "
        "print a summary per env x engine x agent: the score (per episode identified x "
        "min(1, oracle's experiment cost / the agent's); episodes the oracle did not identify "
        "have none and are counted as reference failed), identified %, exact %, behavioural "
        "%, mean experiment cost and cost / oracle, env tests (compute), agent CPU s, bits "
        "correct, undetermined bits, rules, wall time; 95% intervals from the cluster "
        "bootstrap over hidden rules. Optionally write the episode rows (JSON, with their "
        "score), the summary (JSON, Markdown) and a plot of identified % against experiment "
        "cost.",
        formatter_class=_ShowDefaults,
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="ID",
        help="a registered id (repeatable; none given: lifegym/LifeLike-Noisy-v1)",
    )
    parser.add_argument(
        "--agent",
        action="append",
        metavar="NAME",
        help="an agent (repeatable; none given: infogain): " + _AGENT_FORMS,
    )
    parser.add_argument(
        "--env-kwargs",
        metavar="JSON",
        help="more gym.make keyword arguments for every env, e.g. '{\"noise\": 0.1}'",
    )
    parser.add_argument(
        "--rules",
        default="named",
        metavar="SPEC",
        help="named (the named rules in each env's family), random:N (N rules from the "
        "env's prior), or a file with one rule string per line",
    )
    parser.add_argument(
        "--episodes", type=_int_arg(1, "episodes"), default=1, help="episodes per rule"
    )
    parser.add_argument("--seed", type=_int_arg(0, "seed"), default=0, help="base seed")
    parser.add_argument(
        "--inference",
        metavar="ENGINE",
        help="run every env with this inference engine (e.g. emulator) instead of its own",
    )
    parser.add_argument(
        "--design",
        action="store_true",
        help="make every env with design=True (v1 ids): agents may design initial conditions",
    )
    parser.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local: this machine (--workers processes); ray: one Ray task per episode, on "
        "the cluster at RAY_ADDRESS or a local one with --workers CPUs (needs lifegym[ray])",
    )
    parser.add_argument(
        "--workers", type=_int_arg(1, "workers"), default=None, help="processes or Ray CPUs"
    )
    parser.add_argument("--json", metavar="PATH", help="write the episode rows here")
    parser.add_argument(
        "--summary-json",
        metavar="PATH",
        help="write the summary here: one object per env x engine x agent with episodes, "
        "n_rules, <m>_rate and <m>_ci for identified, exact, behavioural_match, <m>_mean and "
        "<m>_ci for score, experiment_cost, compute_cost, agent_cpu_s, bits_correct, "
        "n_undetermined, wall_s; score_episodes, reference_failed, cost_vs_oracle, "
        "cost_vs_oracle_episodes",
    )
    parser.add_argument("--markdown", metavar="PATH", help="write the summary table here")
    parser.add_argument(
        "--plot",
        metavar="PATH",
        help="write identified %% against experiment cost here (.svg, .png or .pdf; "
        "needs lifegym[plot])",
    )
    parser.set_defaults(func=_cmd_bench)


def _cmd_bench(args: argparse.Namespace) -> int:
    from lifegym import bench

    env_ids = args.env or ["lifegym/LifeLike-Noisy-v1"]
    agents = args.agent or ["infogain"]
    outputs = {
        "--json": args.json,
        "--summary-json": args.summary_json,
        "--markdown": args.markdown,
        "--plot": args.plot,
    }
    for option, path in outputs.items():
        _check_output(path, option)
    if args.plot and Path(args.plot).suffix.lower() not in bench.PLOT_SUFFIXES:
        raise UsageError(
            f"argument --plot: {args.plot!r} must end in one of {', '.join(bench.PLOT_SUFFIXES)}"
        )
    env_kwargs = None
    if args.env_kwargs is not None:
        try:
            env_kwargs = json.loads(args.env_kwargs)
        except json.JSONDecodeError as exc:
            message = f"argument --env-kwargs: not JSON ({exc}): {args.env_kwargs!r}"
            raise UsageError(message) from exc
    bar = None

    def finished(done: int, total: int) -> None:  # the backends report the jobs done
        nonlocal bar
        if bar is None:
            bar = _progress_bar(total, sys.stderr, unit="episodes")
        bar.update(done - bar.n)

    start = time.perf_counter()
    try:
        result = bench.benchmark(
            env_ids,
            agents,
            args.rules,
            args.episodes,
            args.seed,
            inference=args.inference,
            design=args.design,
            env_kwargs=env_kwargs,
            backend=args.backend,
            workers=args.workers,
            progress=finished,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    rows, summary = result.rows, result.summary
    table = bench.markdown_table(summary)
    print(table, end="")
    if result.reference_added:
        print(
            "oracle: added as the reference (the score compares each episode's experiment "
            "cost with the oracle's on the same rule and seed)"
        )
    for env_id, left_out in result.left_out.items():
        print(
            f"{env_id}: {len(left_out)} rule(s) of {args.rules!r} lie outside its rule space "
            f"and were not played: {', '.join(left_out)}"
        )
    for env_id in env_ids:
        bound = bench.bounds(env_id)
        sightings = "" if bound["sightings"] is None else f", sightings {bound['sightings']}"
        print(
            f"{env_id}: lower bounds on the experiment cost (observed cell-steps) to 0.1 bit: "
            f"capacity {bound['capacity']}{sightings} (docs/environments.md)"
        )
    print(f"{len(rows)} episodes in {time.perf_counter() - start:.1f} s")
    if args.json:
        bench.write_json(rows, Path(args.json))
    if args.summary_json:
        bench.write_summary_json(summary, Path(args.summary_json))
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.plot:
        bench.plot_accuracy_vs_cost(summary, Path(args.plot))
    return 0


# ------------------------------------------------------------------ discover

DEFAULT_DISCOVER_ENV = "lifegym/LifeLike-Noisy-v1"
DEFAULT_DISCOVER_GIF = "lifegym-discover.gif"


def _add_discover_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="play one episode, showing what each action revealed",
        description="One episode of an agent in an env: each action and what it revealed "
        "(cost, belief entropy, most probable rule, test evidence), the result, and a GIF of "
        "the observed frames with the belief (one bar per rule bit) after each step.",
        formatter_class=_ShowDefaults,
    )
    parser.add_argument("--env", default=DEFAULT_DISCOVER_ENV, metavar="ID", help="a registered id")
    parser.add_argument("--agent", default="infogain", metavar="NAME", help=_AGENT_FORMS)
    parser.add_argument(
        "--rule", metavar="RULE", help="the hidden rule (default: drawn from the env's prior)"
    )
    parser.add_argument("--seed", type=_int_arg(0, "seed"), default=0, help="episode seed")
    parser.add_argument(
        "--gif", default=DEFAULT_DISCOVER_GIF, metavar="PATH", help="where to write the GIF"
    )
    parser.set_defaults(func=_cmd_discover)


def _revealed(info: dict) -> str:
    """What one step revealed, from its ``info``."""
    test = info.get("test")
    if test is not None and test["kind"] == "bit":
        return f"log-odds {test['log_odds']:+.1f} for {test['bit']} = 1"
    if test is not None:
        return (
            f"discrepancy {test['discrepancy']:.3g} "
            f"(expected {test['expected_discrepancy']:.3g} if right)"
        )
    if info.get("rejected"):
        return f"rejected: {info['rejected']}"
    return (
        f"cost {info['experiment_cost']:,} cell-steps, entropy {info['entropy']:.2f} bits, "
        f"MAP {info['map_rule']}"
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _cmd_discover(args: argparse.Namespace) -> int:
    import gymnasium as gym

    from lifegym.agents import make_agent, run_episode
    from lifegym.env import RuleDiscoveryEnv
    from lifegym.generator import FixedPrior
    from lifegym.pictures import write_rgb_gif
    from lifegym.registration import check_env_id

    _check_output(args.gif, "--gif")
    try:
        check_env_id(args.env)
        env = gym.make(args.env, render_mode="rgb_array")
        agent = make_agent(args.agent, env)
        unwrapped = env.unwrapped
        assert isinstance(unwrapped, RuleDiscoveryEnv)  # make_agent took it
        if args.rule:  # the env's own check at reset, made before anything is printed
            FixedPrior(unwrapped.space, Rule.parse(args.rule))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    n_free = unwrapped.space.n_free
    print(f"{args.env}, agent {args.agent}, seed {args.seed}, {n_free} free bits")
    images: list[np.ndarray] = []

    def show(info: dict) -> None:
        if info["action"] != "reset":
            print(f"{len(images):3d}  {info['action']:<26} {_revealed(info)}")
        image = env.render()
        assert isinstance(image, np.ndarray)  # render_mode="rgb_array"
        images.append(image)

    result = run_episode(env, agent, args.rule, args.seed, watch=show)
    print(
        f"submitted {result['submitted_rule']} by {result['submitted_by']}; hidden rule "
        f"{result['true_rule']}: identified {result['identified']} (class probability "
        f"{result['class_probability']:.4g}, needs >= {1 - result['identified_delta']:g}), "
        f"exact {result['exact']}, bits correct {result['bits_correct']:.1%}, behavioural "
        f"match {result['behavioural_match']}, undetermined bits {result['n_undetermined']}"
    )
    print(
        f"experiment cost {result['experiment_cost']:,} observed cell-steps in "
        f"{_count(result['n_experiments'], 'experiment')}; compute cost "
        f"{result['compute_cost']:,} simulated cell-steps in {_count(result['n_tests'], 'test')}"
    )
    write_rgb_gif(images, args.gif, fps=2)
    print(f"wrote {args.gif} ({len(images)} frames)")
    return 0


# ------------------------------------------------------------------ train


def _add_train_parser(subparsers: argparse._SubParsersAction) -> None:
    from lifegym.agents import train_rl

    parser = subparsers.add_parser(
        "train",
        help="train a PPO or MaskablePPO policy for ppo:PATH / maskable-ppo:PATH agents",
        description="Train a PPO or MaskablePPO policy on a lifegym env and save it for "
        "ppo:PATH / maskable-ppo:PATH agents: the same options and outputs as python -m "
        "lifegym.agents.train_rl. Writes OUT/policy.zip, OUT/checkpoints/, OUT/progress.csv "
        "(the learning curve) and OUT/train.json (the settings, the steps done and why "
        "training stopped: --steps, --minutes or Ctrl-C, each of which saves the policy).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,  # the module's: same help
    )
    train_rl.add_training_arguments(parser)
    parser.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    import shlex

    from lifegym.agents.train_rl import train_from_arguments

    try:
        train_from_arguments(args, command=shlex.join(["lifegym", *args.argv]))
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return 0


# ------------------------------------------------------------------ mcp


def _add_mcp_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "mcp",
        help="serve the text protocol to language-model agents over MCP",
        description="An MCP server (official mcp SDK; pip install 'lifegym[mcp]') with the "
        "tools list_envs, start_episode, run_experiment, test_rule, submit_rule and "
        "list_menu, on stdio (the default: an MCP client starts it) or streamable HTTP on "
        "127.0.0.1. The server, not the agent, chooses each episode's hidden rule and seed: "
        "the k-th episode of an env gets the k-th rule of --rules for it and the seed that "
        "lifegym bench --env ID --rules R --seed S (one env, one episode per rule) gives "
        "that rule, so an oracle bench run with those options is the reference. Once the "
        "rules are used up, start_episode is refused with an error saying so. Over HTTP "
        "each MCP session sees only its own episodes.",
        formatter_class=_ShowDefaults,
    )
    parser.add_argument(
        "--transport", choices=("stdio", "http"), default="stdio", help="how clients connect"
    )
    parser.add_argument("--port", type=_int_arg(1, "port"), default=8765, help="HTTP port")
    parser.add_argument(
        "--env",
        action="append",
        metavar="ID",
        help="serve this v1 preset (repeatable; none given: every v1 preset)",
    )
    parser.add_argument(
        "--rules",
        default=None,
        metavar="SPEC",
        help="the hidden rules, in order: named (the named rules in each env's family), "
        "random:N (N rules from the env's prior) or a file with one rule per line; none "
        "given: every episode's rule from the env's prior, without end",
    )
    parser.add_argument(
        "--seed",
        type=_int_arg(0, "seed"),
        default=None,
        help="base seed of the episodes (none: fresh entropy)",
    )
    parser.add_argument(
        "--reply-cap",
        type=_int_arg(1, "reply-cap"),
        default=DEFAULT_REPLY_CAP,
        help="longest experiment reply in characters (larger requests are refused)",
    )
    parser.add_argument(
        "--max-episodes", type=_int_arg(1, "max-episodes"), default=64, help="episodes held at once"
    )
    parser.add_argument(
        "--transcript",
        metavar="PATH",
        help="append every episode as JSON lines (what the harness set, calls, per-experiment "
        "diagnostics, results)",
    )
    parser.set_defaults(func=_cmd_mcp)


def _cmd_mcp(args: argparse.Namespace) -> int:
    from lifegym.mcp_server import build_server, serve

    _check_output(args.transcript, "--transcript")
    try:
        server = build_server(
            args.max_episodes,
            args.transcript and Path(args.transcript),
            rules=args.rules,
            seed=args.seed,
            reply_cap=args.reply_cap,
            envs=args.env,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    serve(server, args.transport, args.port)
    return 0


# ------------------------------------------------------------------ transcripts


def _add_transcripts_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "transcripts",
        help="summarise transcripts of text or MCP episodes like bench does",
        description="Read transcripts (JSON lines written by a Text env's transcript= or by "
        "lifegym mcp --transcript; a folder means every *.jsonl in it) and print the same "
        "summary table as lifegym bench, one agent per file (named by the file's stem). "
        "Every episode counts: one that timed out, was abandoned or never ended is not "
        "identified, and the counts of each are printed under the table.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="transcript files or folders")
    parser.add_argument("--summary-json", metavar="PATH", help="write the summary here")
    parser.set_defaults(func=_cmd_transcripts)


def _cmd_transcripts(args: argparse.Namespace) -> int:
    from lifegym import bench
    from lifegym.protocol import UNFINISHED, transcript_rows

    files: list[Path] = []
    for given in map(Path, args.paths):
        if given.is_dir():
            files += sorted(given.glob("*.jsonl"))
        elif given.is_file():
            files.append(given)
        else:
            raise UsageError(f"no transcript file or folder at {str(given)!r}")
    try:
        rows = [row for path in files for row in transcript_rows(path)]
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not rows:
        raise UsageError(f"no episode in {', '.join(map(str, files)) or 'those folders'}")
    summary = bench.summarise(rows)
    print(bench.markdown_table(summary), end="")
    ends = Counter(row.get("submitted_by") for row in rows)
    unfinished = ends.pop(UNFINISHED, 0)
    submitted = ends.pop("agent", 0)
    other = ", ".join(f"{count} {how}" for how, count in sorted(ends.items()))
    print(
        f"{len(rows)} episodes from {len(files)} file(s): {submitted} submitted, "
        f"{sum(ends.values())} ended without a submission ({other or 'none'}), {unfinished} "
        "never ended (no end record); all but the submitted count as not identified"
    )
    if args.summary_json:
        bench.write_summary_json(summary, Path(args.summary_json))
    return 0


# ------------------------------------------------------------------ entry point


def build_parser() -> argparse.ArgumentParser:
    """The ``lifegym`` parser with all subcommands."""
    parser = _Parser(
        prog="lifegym",
        description="lifegym: discover the hidden rule of a Life-like cellular automaton.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", dest="command")
    _add_simulate_parser(subparsers)
    _add_bench_parser(subparsers)
    _add_discover_parser(subparsers)
    _add_train_parser(subparsers)
    _add_mcp_parser(subparsers)
    _add_transcripts_parser(subparsers)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lifegym")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    """Run the ``lifegym`` command line with ``argv`` (default ``sys.argv[1:]``).

    Returns the exit code: 0 on success, 2 for bad arguments (one line on stderr), 130 when
    interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argument errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what ran (train records it)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
