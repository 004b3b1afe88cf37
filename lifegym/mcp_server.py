"""``lifegym mcp``: the text protocol (``lifegym.protocol``) as an MCP server.

Built on the official ``mcp`` SDK's low-level server (``pip install 'lifegym[mcp]'``), so
that every tool call's arguments reach the protocol exactly as the client sent them: the
SDK's high-level server validates arguments with pydantic, which turns ``"1"`` and
``true`` into ``1`` and drops unknown keys. Here the protocol's own check
(``lifegym.protocol.check_arguments``) sees the raw JSON and gives the same error text as
a Text env for the same call.

Tools: ``list_envs``, ``start_episode``, and the protocol's ``run_experiment``,
``test_rule``, ``submit_rule`` and ``list_menu``, each with an ``episode_id``. Every result
is a compact JSON object (text content, and the same object as structured content); a bad
call returns a tool error naming the problem and the server keeps serving.

**The harness owns the episode.** ``start_episode`` takes the env id and nothing else; the
hidden rules and seeds are server options, served in order per env
(:class:`lifegym.protocol.EpisodeSchedule`): ``rules`` ``named``, ``random:N`` or a file,
``seed`` fixing everything. When the rules are used up, ``start_episode`` says so. No tool
reveals the hidden rule before ``submit_rule``.

**Sessions.** An episode belongs to the MCP session that started it: over streamable HTTP
each session (its ``Mcp-Session-Id``) sees only its own episodes, under ids drawn with
:func:`secrets.token_urlsafe` that no other session can guess; stdio is one session. (A
stateless client of protocol 2026-07-28 has no session: its episodes are reachable by their
ids alone.) The server holds at most ``max_episodes`` (the oldest finished ones are dropped
first; a server full of open episodes refuses a new one).

::

    lifegym mcp                                  # stdio (for an MCP client's config)
    lifegym mcp --transport http --port 8765     # streamable HTTP on 127.0.0.1:8765/mcp
    lifegym mcp --rules random:20 --seed 0 --transcript runs.jsonl
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from lifegym.protocol import (
    DEFAULT_REPLY_CAP,
    TOOL_SCHEMAS,
    Episode,
    EpisodeSchedule,
    ToolError,
    Transcript,
    check_arguments,
    compact_json,
    tool_schema,
    v1_presets,
)
from lifegym.registration import PRESETS

__all__ = ["DEFAULT_MAX_EPISODES", "SERVER_TOOLS", "EpisodeTable", "build_server", "serve"]

#: Episodes a server holds at once by default.
DEFAULT_MAX_EPISODES = 64
#: What a session that names no transport session is keyed by (stdio: one session).
STDIO_SESSION = "stdio"

#: The server's own tools (the protocol's tools come with an ``episode_id`` besides).
SERVER_TOOLS: dict[str, dict[str, Any]] = {
    "list_envs": tool_schema("The env ids this server serves, each with what it measures.", {}, []),
    "start_episode": tool_schema(
        "Start an episode: the harness that runs this server chooses its hidden rule and "
        "seed. Returns `episode_id` and `task`: the goal, family and notation, what is "
        "observed, the menu, costs and budgets, the reply cap, the scoring and the tools.",
        {
            "env_id": {
                "type": "string",
                "description": "an id from list_envs (may be left out when only one is served)",
            }
        },
        [],
    ),
}
_EPISODE_ID = {"type": "string", "description": "the id start_episode returned"}


def _with_episode_id(tool: dict[str, Any]) -> dict[str, Any]:
    parameters = tool["parameters"]
    return tool_schema(
        tool["description"],
        {"episode_id": _EPISODE_ID, **parameters["properties"]},
        ["episode_id", *parameters["required"]],
    )


#: Every tool the server lists: name -> description and JSON schema of the arguments.
MCP_TOOLS: dict[str, dict[str, Any]] = {
    **SERVER_TOOLS,
    **{name: _with_episode_id(tool) for name, tool in TOOL_SCHEMAS.items()},
}


class EpisodeTable:
    """The server's episodes by id, each owned by one session, at most ``limit``.

    Args:
        limit: episodes held at once.
        transcript: append every episode here as JSON lines (with per-experiment
            diagnostics).
        schedule: the harness's rules and seeds (default: every rule from the prior).
        reply_cap: every episode's reply cap.
        envs: the env ids served (default: every v1 preset).
    """

    def __init__(
        self,
        limit: int = DEFAULT_MAX_EPISODES,
        transcript: Path | None = None,
        schedule: EpisodeSchedule | None = None,
        reply_cap: int = DEFAULT_REPLY_CAP,
        envs: list[str] | None = None,
    ) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"max_episodes must be an int >= 1, got {limit!r}")
        self.envs = list(v1_presets() if envs is None else envs)
        unknown = [env_id for env_id in self.envs if env_id not in v1_presets()]
        if unknown or not self.envs:
            raise ValueError(f"envs must be v1 presets ({', '.join(v1_presets())}), got {unknown}")
        self.limit = limit
        self.schedule = schedule or EpisodeSchedule()
        self.schedule.check(self.envs)
        self.reply_cap = reply_cap
        self.episodes: OrderedDict[str, tuple[str, Episode]] = OrderedDict()
        self._transcript = None if transcript is None else Transcript.to_file(transcript)
        self._lock = threading.Lock()

    def call(self, owner: str, tool: str, arguments: object) -> dict[str, Any]:
        """Run ``tool`` for the session ``owner`` with the raw ``arguments``; ToolError naming
        the problem otherwise. Calls are served one at a time."""
        with self._lock:
            if tool == "list_envs":
                check_arguments(tool, arguments, SERVER_TOOLS)
                return {"envs": [{"id": e, "about": PRESETS[e][1]} for e in self.envs]}
            if tool == "start_episode":
                given = check_arguments(tool, arguments, SERVER_TOOLS)
                return self._start(owner, given.get("env_id"))
            if tool not in TOOL_SCHEMAS:
                raise ToolError(f"unknown tool {tool!r}; the tools are {', '.join(MCP_TOOLS)}")
            return self._episode_call(owner, tool, arguments)

    def _start(self, owner: str, env_id: str | None) -> dict[str, Any]:
        if env_id is None:
            if len(self.envs) > 1:
                raise ToolError(f"start_episode needs env_id, one of {', '.join(self.envs)}")
            env_id = self.envs[0]
        if env_id not in self.envs:
            raise ToolError(f"unknown env {env_id!r}; this server serves {', '.join(self.envs)}")
        self._make_room()
        rule, seed = self.schedule.next(env_id)
        diagnostics = self._transcript is not None
        episode = Episode(env_id, seed, rule, self.reply_cap, diagnostics=diagnostics)
        episode_id = f"ep-{secrets.token_urlsafe(12)}"
        self.episodes[episode_id] = (owner, episode)
        if self._transcript is not None:
            self._transcript.start(episode, episode_id=episode_id)
        return {"episode_id": episode_id, "task": episode.task()}

    def _make_room(self) -> None:
        if len(self.episodes) < self.limit:
            return
        finished = [key for key, (_, episode) in self.episodes.items() if episode.result]
        if not finished:
            raise ToolError(
                f"the server holds {self.limit} open episodes (its cap): submit one first"
            )
        del self.episodes[finished[0]]

    def _episode_call(self, owner: str, tool: str, arguments: object) -> dict[str, Any]:
        if not isinstance(arguments, dict) or "episode_id" not in arguments:
            raise ToolError(f"{tool} needs episode_id (from start_episode)")
        arguments = dict(arguments)
        episode_id = arguments.pop("episode_id")
        episode = self._get(owner, episode_id)
        recorded = len(episode.diagnostics)
        try:
            reply = episode.call(tool, arguments)
        except ToolError as exc:
            self._log("call", episode_id=episode_id, tool=tool, arguments=arguments, error=str(exc))
            raise
        new = episode.diagnostics[recorded:]
        extra = {"diagnostics": new[-1]} if new else {}
        self._log(
            "call", episode_id=episode_id, tool=tool, arguments=arguments, reply=reply, **extra
        )
        if tool == "submit_rule":
            self._log("end", episode_id=episode_id, env=episode.env_id, result=reply)
        return reply

    def _get(self, owner: str, episode_id: object) -> Episode:
        """The episode ``episode_id`` of session ``owner``: another session's is as unknown
        as one that never existed."""
        entry = self.episodes.get(episode_id) if isinstance(episode_id, str) else None
        if entry is None or entry[0] != owner:
            mine = [key for key, (who, _) in self.episodes.items() if who == owner]
            raise ToolError(
                f"unknown episode {episode_id!r}; start one with start_episode (yours: "
                f"{', '.join(mine) or 'none'})"
            )
        return entry[1]

    def _log(self, kind: str, **fields: Any) -> None:
        if self._transcript is not None:
            self._transcript.write(kind, **fields)


def _session_of(request: Any) -> str:
    """The session a request belongs to: its ``Mcp-Session-Id`` over HTTP (assigned by the
    server, checked by the SDK's session manager), :data:`STDIO_SESSION` on stdio."""
    if request is None:
        return STDIO_SESSION
    return str(getattr(request, "headers", {}).get("mcp-session-id") or "")


def build_server(
    max_episodes: int = DEFAULT_MAX_EPISODES,
    transcript: Path | None = None,
    rules: str | None = None,
    seed: int | None = None,
    reply_cap: int = DEFAULT_REPLY_CAP,
    envs: list[str] | None = None,
) -> Any:
    """The MCP ``Server`` (the SDK's low-level server) over a fresh :class:`EpisodeTable`.

    ``rules`` and ``seed``: the harness's schedule (:class:`EpisodeSchedule`); ``reply_cap``:
    every episode's; ``envs``: the env ids served (default: every v1 preset). ValueError
    naming a bad option."""
    try:
        import anyio
        import mcp_types as types
        from mcp.server.lowlevel import Server
    except ImportError as exc:
        raise ValueError("the MCP server needs the mcp SDK: pip install 'lifegym[mcp]'") from exc
    table = EpisodeTable(max_episodes, transcript, EpisodeSchedule(rules, seed), reply_cap, envs)
    listed = [
        types.Tool(name=name, description=tool["description"], input_schema=tool["parameters"])
        for name, tool in MCP_TOOLS.items()
    ]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=listed)

    async def call_tool(ctx: Any, params: Any) -> Any:
        owner = _session_of(ctx.request)
        arguments = {} if params.arguments is None else params.arguments
        try:
            reply = await anyio.to_thread.run_sync(table.call, owner, params.name, arguments)
        except ToolError as exc:
            text = types.TextContent(type="text", text=str(exc))
            return types.CallToolResult(content=[text], is_error=True)
        text = types.TextContent(type="text", text=compact_json(reply))
        return types.CallToolResult(content=[text], structured_content=reply)

    return Server(
        "lifegym",
        instructions=(
            "Active rule discovery: find the hidden rule of a Life-like cellular automaton "
            "by running experiments. list_envs, then start_episode for the task "
            "description (the server chooses the hidden rule), run_experiment, test_rule "
            "and list_menu as you like, submit_rule to be scored."
        ),
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def serve(server: Any, transport: str = "stdio", port: int = 8765) -> None:
    """Run ``server`` on stdio, or on streamable HTTP at ``127.0.0.1:port/mcp``."""
    import anyio

    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def main() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(main)
    elif transport == "http":
        import uvicorn

        app = server.streamable_http_app(host="127.0.0.1")
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    else:
        raise ValueError(f"transport must be 'stdio' or 'http', got {transport!r}")
