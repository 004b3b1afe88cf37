"""``lifegym mcp`` driven by the SDK's own client, over stdio and over streamable HTTP: the
server (the harness) owns the hidden rule, each session its episodes, every argument is
checked as the Text env checks it, and no reply exceeds the cap."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import gymnasium as gym
import pytest

pytest.importorskip("mcp")
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from tool_calls import BAD_CALLS, ENV

import lifegym  # noqa: F401
from lifegym.protocol import TOOL_SCHEMAS, Episode, compact_json

TOOLS = {"list_envs", "start_episode", "run_experiment", "test_rule", "submit_rule", "list_menu"}


def _stdio(*options: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "lifegym", "mcp", *options])


@contextlib.asynccontextmanager
async def _session(params: StdioServerParameters) -> AsyncIterator[ClientSession]:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _text_error(tool: str, arguments: dict) -> str:
    env = gym.make("lifegym/Text-LifeLike-Noisy-v1")
    env.reset(seed=0)
    obs = env.step(json.dumps({"tool": tool, **arguments}))[0]
    return json.loads(obs)["error"]


def test_the_harness_owns_the_episode_over_stdio(tmp_path: Path) -> None:
    """The client cannot set the hidden rule or the seed, cannot learn the rule before it
    submits, and gets the harness's rules in order until they are used up."""
    rules = tmp_path / "rules.txt"
    rules.write_text("B35678/S5678\n")
    log = tmp_path / "calls.jsonl"
    options = ("--env", ENV, "--rules", str(rules), "--seed", "5", "--transcript", str(log))

    async def main() -> tuple[dict, list[str]]:
        seen = []
        async with _session(_stdio(*options)) as session:
            listed = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(listed) == TOOLS
            start_schema = listed["start_episode"].input_schema
            assert set(start_schema["properties"]) == {"env_id"}
            for tool in TOOL_SCHEMAS:  # the protocol's schema, with an episode_id
                properties = listed[tool].input_schema["properties"]
                assert set(properties) == {
                    "episode_id",
                    *TOOL_SCHEMAS[tool]["parameters"]["properties"],
                }
                assert all(p["description"] for p in properties.values())
            for cheat in ({"rule": "B3/S23"}, {"seed": 5}):
                bad = await session.call_tool("start_episode", {"env_id": ENV, **cheat})
                assert bad.is_error and "unknown argument(s)" in bad.content[0].text
            started = await session.call_tool("start_episode", {})  # one env: no id needed
            episode = started.structured_content["episode_id"]
            seen.append(started.content[0].text)
            for arguments in (
                {"steps": 1, "density": 0.5, "height": 8, "width": 8},
                {"steps": 1, "item": "probe-B6"},
            ):
                reply = await session.call_tool(
                    "run_experiment", {"episode_id": episode, **arguments}
                )
                text = reply.content[0].text
                assert not reply.is_error and text == compact_json(reply.structured_content)
                assert reply.structured_content["reply_chars"] == len(text)
                seen.append(text)
            menu = await session.call_tool("list_menu", {"episode_id": episode, "limit": 100})
            seen.append(menu.content[0].text)
            result = await session.call_tool(
                "submit_rule", {"episode_id": episode, "rule": "B35678/S5678"}
            )
            used_up = await session.call_tool("start_episode", {"env_id": ENV})
            assert used_up.is_error and "used up: all 1 episodes" in used_up.content[0].text
            return result.structured_content, seen

    result, seen = anyio.run(main)
    assert result["true_rule"] == "B35678/S5678" and result["exact"]
    assert not any("B35678/S5678" in text or "true_rule" in text for text in seen)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[0]["kind"] == "start" and (lines[0]["rule"], lines[0]["reply_cap"]) == (
        "B35678/S5678",
        60_000,
    )
    assert isinstance(lines[0]["seed"], int) and lines[-1]["kind"] == "end"
    assert "entropy_before" in lines[1]["diagnostics"]
    expected = Episode(ENV, seed=lines[0]["seed"], rule="B35678/S5678")
    expected.run_experiment(1, density=0.5, height=8, width=8)
    expected.run_experiment(1, item="probe-B6")
    assert expected.submit_rule("B35678/S5678") == result  # what the harness set, nothing else


def test_bad_calls_get_the_text_env_errors_over_mcp() -> None:
    """Every call of the table: the same error text as the Text env, nothing coerced,
    nothing dropped, nothing charged."""

    async def main() -> tuple[list[tuple[str, str]], dict]:
        mismatches = []
        async with _session(_stdio("--env", ENV, "--seed", "0")) as session:
            started = await session.call_tool("start_episode", {"env_id": ENV})
            episode = started.structured_content["episode_id"]
            for tool, arguments, _ in BAD_CALLS:
                reply = await session.call_tool(tool, {"episode_id": episode, **arguments})
                expected = _text_error(tool, arguments)
                if not reply.is_error or reply.content[0].text != expected:
                    mismatches.append((reply.content[0].text, expected))
            for tool, arguments, message in [
                ("run_experiment", {"steps": 1, "density": 0.5}, "needs episode_id"),
                ("test_rule", {"episode_id": "ep-1", "rule": "B3/S23"}, "unknown episode 'ep-1'"),
                ("fly", {}, "unknown tool 'fly'"),
                ("start_episode", {"env_id": "lifegym/Nope-v1"}, "unknown env"),
                ("list_envs", {"verbose": True}, "unknown argument(s): verbose"),
            ]:
                reply = await session.call_tool(tool, arguments)
                if not reply.is_error or message not in reply.content[0].text:
                    mismatches.append((reply.content[0].text, message))
            after = await session.call_tool(
                "run_experiment",
                {"episode_id": episode, "steps": 1, "density": 0.5, "height": 6, "width": 6},
            )
            return mismatches, after.structured_content

    mismatches, after = anyio.run(main)
    assert not mismatches
    assert after["experiment_cost"] == 36  # the first experiment that ran
    assert after["budget_left"]["experiment"] == Episode(ENV, seed=0).env.experiment_budget - 36


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _http_server(*options: str) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lifegym",
            "mcp",
            "--transport",
            "http",
            "--port",
            str(port),
            *options,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_http_sessions_see_only_their_own_episodes_and_replies_fit_the_cap(tmp_path: Path):
    log = tmp_path / "calls.jsonl"
    options = ("--env", ENV, "--rules", "random:3", "--seed", "1", "--reply-cap", "3000")

    async def main(url: str) -> None:
        async with (
            streamable_http_client(url) as (read_a, write_a, *_),
            ClientSession(read_a, write_a) as alice,
            streamable_http_client(url) as (read_b, write_b, *_),
            ClientSession(read_b, write_b) as bob,
        ):
            await alice.initialize()
            await bob.initialize()
            mine = (await alice.call_tool("start_episode", {})).structured_content["episode_id"]
            assert len(mine) >= 16  # an id no other session can guess
            soup = {"steps": 1, "density": 0.5, "height": 6, "width": 6}
            stolen = await bob.call_tool("run_experiment", {"episode_id": mine, **soup})
            assert stolen.is_error and f"unknown episode {mine!r}" in stolen.content[0].text
            assert "yours: none" in stolen.content[0].text  # not even listed to bob
            peek = await bob.call_tool("submit_rule", {"episode_id": mine, "rule": "B3/S23"})
            assert peek.is_error
            texts = []
            for steps, side in ((1, 6), (30, 12), (14, 12), (1, 60), (2, 30)):
                reply = await alice.call_tool(
                    "run_experiment",
                    {
                        "episode_id": mine,
                        "steps": steps,
                        "density": 0.5,
                        "height": side,
                        "width": side,
                    },
                )
                texts.append((reply.is_error, reply.content[0].text))
            assert all(len(text) <= 3000 for error, text in texts if not error)
            assert [error for error, _ in texts] == [False, True, False, True, True]
            assert "Run at most 14 steps on this 12x12" in texts[1][1]
            result = await alice.call_tool("submit_rule", {"episode_id": mine, "rule": "B3/S23"})
            assert not result.is_error and result.structured_content["n_experiments"] == 2

    with _http_server(*options, "--transcript", str(log)) as url:
        anyio.run(main, url)
    kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("start") == 1


def test_an_mcp_client_infers_held_out_rules_from_the_frames_it_gets() -> None:
    """The counting agent of agents/ as an MCP client: its own inference, honest scores."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agents"))
    from counting_text_agent import CountingTextAgent

    async def main() -> list[dict]:
        results = []
        async with _session(
            _stdio("--env", ENV, "--rules", "random:3", "--seed", "101")
        ) as session:
            for _ in range(3):
                start = await session.call_tool("start_episode", {"env_id": ENV})
                episode = start.structured_content["episode_id"]
                agent = CountingTextAgent()
                agent.reset(start.structured_content["task"])
                while True:
                    call = agent.act()
                    tool = call.pop("tool")
                    reply = await session.call_tool(tool, {"episode_id": episode, **call})
                    assert not reply.is_error, reply.content
                    if tool == "submit_rule":
                        results.append(reply.structured_content)
                        break
                    agent.observe(reply.structured_content)
        return results

    results = anyio.run(main)
    assert all(r["exact"] for r in results), [
        (r["true_rule"], r["submitted_rule"]) for r in results
    ]
    assert len({r["true_rule"] for r in results}) == 3  # held-out rules drawn by the harness
