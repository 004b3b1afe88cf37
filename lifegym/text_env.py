"""``TextRuleDiscoveryEnv``: the rule-discovery task through text alone, for language models.

Registered as ``lifegym/Text-<name>-v1`` for every v1 preset ``lifegym/<name>-v1``. It
speaks the protocol of :mod:`lifegym.protocol` (the same tools, arguments, checks, replies
and error texts as the MCP server): it parses the action's JSON and forwards the raw
arguments to ``Episode.call``.
"""

from __future__ import annotations

import json
import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from lifegym.protocol import (
    DEFAULT_REPLY_CAP,
    Episode,
    ToolError,
    Transcript,
    compact_json,
    v1_presets,
)

__all__ = [
    "ACTION_FORMAT",
    "ERROR_PENALTY",
    "MAX_ACTION_LENGTH",
    "MAX_OBSERVATION_LENGTH",
    "TextRuleDiscoveryEnv",
]

#: Reward of an action that is not a valid tool call (the episode goes on).
ERROR_PENALTY = 0.01
#: Longest observation (characters) unless the reply cap is larger: an experiment's reply
#: is at most the episode's reply cap (``lifegym.protocol.DEFAULT_REPLY_CAP`` by default).
MAX_OBSERVATION_LENGTH = 1_000_000
#: Longest action (characters): a designed pattern on a 90x90 world fits.
MAX_ACTION_LENGTH = 100_000
#: How an action is written (told beside the task at reset).
ACTION_FORMAT = 'one JSON object per action: {"tool": <name>, ...its arguments}'
_CHARSET = frozenset(string.printable)


class TextRuleDiscoveryEnv(gym.Env):
    """Find the hidden rule of a Life-like cellular automaton, speaking JSON text.

    ## Description
    The numeric env's task (``lifegym.env.RuleDiscoveryEnv``) on the preset ``preset``, but
    the agent, not an inference engine, decides the rule that is scored: it reads the
    observed frames (rows of ``.``/``o``) or statistics and submits a rule string. The
    harness (whoever calls ``reset``) owns the episode: the hidden rule, the seed and the
    reply cap; no action can set or read them.

    ## Action Space
    ``Text(MAX_ACTION_LENGTH, charset=string.printable)``: the JSON text of one tool call,
    ``{"tool": NAME, ...arguments}``. The tools (``lifegym.protocol.TOOL_SCHEMAS``, checked
    strictly: no unknown argument, no coercion):

    * ``{"tool": "run_experiment", "steps": 1, "pattern": ".o.\\n.o.\\n.o."}``; or
      ``"item": "probe-B3"`` (a menu item), or ``"density": 0.4, "height": 8, "width": 8``;
    * ``{"tool": "test_rule", "rule": "B3/S23"}``;
    * ``{"tool": "submit_rule", "rule": "B3/S23"}`` (ends the episode);
    * ``{"tool": "list_menu", "offset": 0, "prefix": "probe-"}`` (the menu, a page at a time).

    ## Observation Space
    ``Text(max(MAX_OBSERVATION_LENGTH, reply_cap), charset=string.printable)``: compact
    JSON text. At reset the task description (``Episode.task``: goal, family and notation,
    what is observed, the menu, costs, budgets, the reply cap, scoring, the tools) with
    ``action`` (how to write one); after a call the tool's reply; after a bad call
    ``{"error": "what was wrong"}`` (the same text the MCP server gives for the same call).

    ## Rewards
    1.0 when the submitted rule is exactly the hidden rule (its observational class), 0.0
    for any other submission; ``-error_penalty`` (0.01) for an action that is not a valid
    tool call; 0 otherwise. Costs are not in the reward: they are in every reply and in
    the result.

    ## Episode End
    * Termination: ``submit_rule``; ``info["result"]`` is the numeric env's result (exact,
      identified, behavioural match, bits correct, costs, the true rule).
    * Truncation: ``max_steps`` actions; ``info["result"]`` then has ``submitted_by``
      ``"truncation"``, ``submitted_rule`` None and ``exact``, ``identified`` False.
    * A harness that stops early calls :meth:`end_episode` (``submitted_by`` ``"timeout"``);
      ``reset`` or ``close`` before the end ends the open episode as ``"abandoned"``. Each
      writes the transcript's ``end`` line.

    ## Arguments
    | parameter | type | default | description |
    |---|---|---|---|
    | ``preset`` | str | | a v1 preset id, e.g. ``"lifegym/LifeLike-Noisy-v1"`` |
    | ``max_steps`` | int | 256 | truncate after this many actions |
    | ``error_penalty`` | float | 0.01 | reward lost by an invalid action |
    | ``transcript`` | str or None | None | append each episode as JSON lines to this file |
    | ``reply_cap`` | int | 60,000 | longest experiment reply (characters) |
    | ``diagnostics`` | bool or None | None | diagnostics in the transcript (None: if any) |
    | ``render_mode`` | str | None | ``"ansi"``: the last observation |

    ``reset(seed=s, options={"rule": "B36/S23"})`` fixes the hidden rule as in the numeric
    env.
    """

    # gymnasium declares ``metadata`` an instance attribute (a ClassVar here would clash).
    metadata: dict[str, Any] = {"render_modes": ["ansi"], "render_fps": 1}  # noqa: RUF012

    def __init__(
        self,
        preset: str,
        max_steps: int = 256,
        error_penalty: float = ERROR_PENALTY,
        transcript: str | None = None,
        reply_cap: int = DEFAULT_REPLY_CAP,
        diagnostics: bool | None = None,
        render_mode: str | None = None,
    ) -> None:
        if preset not in v1_presets():
            raise ValueError(f"preset {preset!r} is not served; choose one of {v1_presets()}")
        self.preset = preset
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1:
            raise ValueError(f"max_steps must be an int >= 1, got {max_steps!r}")
        self.max_steps = max_steps
        if not error_penalty >= 0:
            raise ValueError(f"error_penalty must be >= 0, got {error_penalty!r}")
        self.error_penalty = float(error_penalty)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if isinstance(reply_cap, bool) or not isinstance(reply_cap, int) or reply_cap < 1:
            raise ValueError(f"reply_cap must be an int >= 1, got {reply_cap!r}")
        if diagnostics is not None and not isinstance(diagnostics, bool):
            raise ValueError(f"diagnostics must be True, False or None, got {diagnostics!r}")
        self.render_mode = render_mode
        self.reply_cap = reply_cap
        self._transcript = None if transcript is None else Transcript.to_file(transcript)
        self.diagnostics = self._transcript is not None if diagnostics is None else diagnostics
        self.action_space = spaces.Text(MAX_ACTION_LENGTH, charset=_CHARSET)
        longest = max(MAX_OBSERVATION_LENGTH, reply_cap)
        self.observation_space = spaces.Text(longest, charset=_CHARSET)
        self._episode: Episode | None = None
        self._last = ""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        unknown = set(options or {}) - {"rule"}
        if unknown:
            raise ValueError(f"unknown reset options {sorted(unknown)}; accepted: 'rule'")
        rule = (options or {}).get("rule")
        self._end_open("abandoned")
        # The episode's own seed comes from the env's generator: reproducible from ``seed``.
        episode_seed = int(self.np_random.integers(2**63))
        try:
            self._episode = Episode(
                self.preset, episode_seed, rule, self.reply_cap, diagnostics=self.diagnostics
            )
        except ToolError as exc:
            raise ValueError(str(exc)) from exc
        self._steps = 0
        task = self._episode.task()
        if self._transcript is not None:
            self._transcript.start(self._episode, reset_seed=seed)
        return self._say({**task, "action": ACTION_FORMAT}), {}

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        episode = self._episode
        if episode is None or episode.result is not None:
            raise RuntimeError("the episode has ended (or not started): call reset()")
        self._steps += 1
        reward, info = 0.0, {}
        recorded = len(episode.diagnostics)
        tool, arguments = None, None
        try:
            tool, arguments = _parse_call(action)
            reply = episode.call(tool, arguments)
        except ToolError as exc:
            reply = {"error": str(exc)}
            reward = -self.error_penalty
        result = _result(episode)  # the call may have ended the episode
        terminated = result is not None
        truncated = not terminated and self._steps >= self.max_steps
        if result is not None:
            info["result"] = dict(result)
            reward = 1.0 if result["exact"] else 0.0
        elif truncated:
            info["result"] = episode.end_unsubmitted("truncation")
        if self._transcript is not None:
            new = episode.diagnostics[recorded:]
            extra = {"diagnostics": new[-1]} if new else {}
            self._transcript.write(
                "call", tool=tool, arguments=arguments, reply=reply, reward=reward, **extra
            )
            if "result" in info:
                self._transcript.write("end", env=self.preset, result=info["result"])
        return self._say(reply), float(reward), terminated, bool(truncated), info

    def end_episode(self, reason: str = "timeout") -> dict[str, Any]:
        """End the open episode with nothing submitted (a harness's time-out): returns the
        result (``submitted_by`` ``reason``, not identified) and writes the transcript's
        ``end`` line. The episode must be open."""
        episode = self._episode
        if episode is None or episode.result is not None:
            raise RuntimeError("no open episode to end: call reset()")
        result = episode.end_unsubmitted(reason)
        if self._transcript is not None:
            self._transcript.write("end", env=self.preset, result=result)
        return result

    def _end_open(self, reason: str) -> None:
        if self._episode is not None and self._episode.result is None:
            self.end_episode(reason)

    def close(self) -> None:
        self._end_open("abandoned")
        super().close()

    def render(self) -> str | None:
        return self._last if self.render_mode == "ansi" else None

    def _say(self, reply: dict[str, Any]) -> str:
        self._last = compact_json(reply)
        return self._last


def _result(episode: Episode) -> dict[str, Any] | None:
    """``episode.result``, read afresh (a type checker keeps what a check before a call
    found, though the call may have set it)."""
    return episode.result


def _parse_call(action: object) -> tuple[object, dict[str, Any]]:
    """(tool, raw arguments) of a JSON action; ToolError naming what is wrong."""
    if not isinstance(action, str):
        raise ToolError(f"an action is the JSON text of a tool call, got {type(action).__name__}")
    try:
        call = json.loads(action)
    except json.JSONDecodeError as exc:
        raise ToolError(f"the action is not JSON ({exc.msg} at character {exc.pos})") from exc
    if not isinstance(call, dict) or "tool" not in call:
        raise ToolError('an action is a JSON object with a "tool" key and its arguments')
    arguments = {key: value for key, value in call.items() if key != "tool"}
    return call["tool"], arguments
