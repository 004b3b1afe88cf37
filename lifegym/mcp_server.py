"""``lifegym mcp``: the text protocol (:mod:`lifegym.protocol`) as an MCP server.

Built on the official ``mcp`` Python SDK (``MCPServer``; ``pip install 'lifegym[mcp]'``).
Tools: ``list_envs``, ``start_episode``, ``run_experiment``, ``test_rule``,
``submit_rule``; every result is a JSON object (structured content). Many episodes run at
once, keyed by ``episode_id``, at most ``max_episodes`` (the oldest finished ones are
dropped first; a full server of open episodes refuses a new one). A bad call returns a tool
error naming the problem and the server keeps serving; nothing before ``submit_rule``
reveals the hidden rule.

::

    lifegym mcp                                  # stdio (for an MCP client's config)
    lifegym mcp --transport http --port 8765     # streamable HTTP on 127.0.0.1:8765/mcp
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from pathlib import Path
from typing import Any

from lifegym.protocol import Episode, Transcript, v1_presets
from lifegym.protocol import ToolError as ProtocolError
from lifegym.registration import PRESETS

__all__ = ["DEFAULT_MAX_EPISODES", "EpisodeTable", "build_server"]

#: Episodes a server holds at once by default.
DEFAULT_MAX_EPISODES = 64


class EpisodeTable:
    """The server's episodes by id (``"ep-1"``, ``"ep-2"``, ...), at most ``limit``."""

    def __init__(self, limit: int = DEFAULT_MAX_EPISODES, transcript: Path | None = None):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_episodes must be an int >= 1, got {limit!r}")
        self.limit = limit
        self.episodes: OrderedDict[str, Episode] = OrderedDict()
        self._ids = itertools.count(1)
        self._transcript = None if transcript is None else Transcript.to_file(transcript)

    def start(self, env_id: str, seed: int | None, rule: str | None) -> tuple[str, Episode]:
        if len(self.episodes) >= self.limit:
            finished = [key for key, episode in self.episodes.items() if episode.result]
            if not finished:
                raise ProtocolError(
                    f"the server holds {self.limit} open episodes (its cap): submit one first"
                )
            del self.episodes[finished[0]]
        episode = Episode(env_id, seed=seed, rule=rule)
        episode_id = f"ep-{next(self._ids)}"
        self.episodes[episode_id] = episode
        self.log("start", episode_id=episode_id, env=env_id, seed=seed, task=episode.task())
        return episode_id, episode

    def get(self, episode_id: object) -> Episode:
        if episode_id not in self.episodes:
            raise ProtocolError(
                f"unknown episode {episode_id!r}; start one with start_episode "
                f"(open: {', '.join(self.episodes) or 'none'})"
            )
        return self.episodes[episode_id]  # type: ignore[index]

    def log(self, kind: str, **fields: Any) -> None:
        if self._transcript is not None:
            self._transcript.write(kind, **fields)


def build_server(max_episodes: int = DEFAULT_MAX_EPISODES, transcript: Path | None = None) -> Any:
    """The ``MCPServer`` with the protocol's tools over a fresh :class:`EpisodeTable`."""
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
    except ImportError as exc:
        raise ValueError("the MCP server needs the mcp SDK: pip install 'lifegym[mcp]'") from exc
    table = EpisodeTable(max_episodes, transcript)
    server = MCPServer(
        "lifegym",
        instructions=(
            "Active rule discovery: find the hidden rule of a Life-like cellular automaton "
            "by running experiments. list_envs, then start_episode(env_id) for the task "
            "description, run_experiment / test_rule as you like, submit_rule to be scored."
        ),
    )

    def guarded(episode_id: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        try:
            reply = table.get(episode_id).call(tool, arguments)
        except ProtocolError as exc:
            table.log("call", episode_id=episode_id, tool=tool, arguments=arguments, error=str(exc))
            raise ToolError(str(exc)) from exc
        table.log("call", episode_id=episode_id, tool=tool, arguments=arguments, reply=reply)
        if tool == "submit_rule":
            table.log("end", episode_id=episode_id, env=table.get(episode_id).env_id, result=reply)
        return reply

    @server.tool()
    def list_envs() -> dict[str, Any]:
        """The env ids this server serves, each with what it measures."""
        return {"envs": [{"id": env_id, "about": PRESETS[env_id][1]} for env_id in v1_presets()]}

    @server.tool()
    def start_episode(
        env_id: str, seed: int | None = None, rule: str | None = None
    ) -> dict[str, Any]:
        """Start an episode of `env_id` (see list_envs); `seed` fixes it, `rule` sets the
        hidden rule (for benchmarking harnesses). Returns `episode_id` and `task`: the family
        and its notation, what is observed, the cost model, budgets, limits and the menu."""
        try:
            episode_id, episode = table.start(env_id, seed, rule)
        except ProtocolError as exc:
            raise ToolError(str(exc)) from exc
        return {"episode_id": episode_id, "task": episode.task()}

    @server.tool()
    def run_experiment(
        episode_id: str,
        steps: int,
        item: str | None = None,
        pattern: str | None = None,
        density: float | None = None,
        height: int | None = None,
        width: int | None = None,
    ) -> dict[str, Any]:
        """Run the hidden rule `steps` steps from exactly one of: a menu `item`, a designed
        `pattern` (plaintext rows of '.'/'o' separated by newlines, or RLE), or a random soup
        of `density` on a `height` x `width` torus (default: the preset's world). Returns
        `initial`, `frames` with `times` (or `stats`), `experiment_cost`, `budget_left`."""
        arguments = {"steps": steps, "item": item, "pattern": pattern, "density": density}
        arguments |= {"height": height, "width": width}
        given = {key: value for key, value in arguments.items() if value is not None}
        return guarded(episode_id, "run_experiment", given)

    @server.tool()
    def test_rule(episode_id: str, rule: str) -> dict[str, Any]:
        """How far the whole rule `rule` is from everything observed: `discrepancy` next to
        `expected_discrepancy` (noise alone), `loglik`; costs one replay (compute)."""
        return guarded(episode_id, "test_rule", {"rule": rule})

    @server.tool()
    def submit_rule(episode_id: str, rule: str) -> dict[str, Any]:
        """End the episode and score `rule` (any notation of the family): exact, identified,
        behavioural_match, bits_correct, costs and the true rule."""
        return guarded(episode_id, "submit_rule", {"rule": rule})

    return server
