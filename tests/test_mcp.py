"""``lifegym mcp`` driven by the SDK's own client: over stdio and over streamable HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest

pytest.importorskip("mcp")
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

from lifegym.registration import TEXT_PRESETS

NOISY = "lifegym/LifeLike-Noisy-v1"


async def _play(session: ClientSession) -> dict:
    """A short episode with the server's own rules of the game: what an honest client sees."""
    await session.initialize()
    tools = {tool.name for tool in (await session.list_tools()).tools}
    assert tools == {"list_envs", "start_episode", "run_experiment", "test_rule", "submit_rule"}
    envs = (await session.call_tool("list_envs", {})).structured_content["envs"]
    assert {e["id"] for e in envs} == set(TEXT_PRESETS.values())
    started = (
        await session.call_tool("start_episode", {"env_id": NOISY, "seed": 5})
    ).structured_content
    episode = started["episode_id"]
    assert started["task"]["family"] == "totalistic"
    assert "true_rule" not in json.dumps(started)
    reply = await session.call_tool(
        "run_experiment",
        {"episode_id": episode, "steps": 1, "density": 0.5, "height": 8, "width": 8},
    )
    assert not reply.is_error and reply.structured_content["experiment_cost"] == 64
    frames = reply.structured_content["frames"]
    assert len(frames) == 1 and len(frames[0]) == 8
    # bad calls: a tool error naming the problem, and the server goes on
    bad = await session.call_tool("run_experiment", {"episode_id": episode, "steps": 1})
    assert bad.is_error and "exactly one of" in bad.content[0].text
    bad = await session.call_tool("test_rule", {"episode_id": "ep-999", "rule": "B3/S23"})
    assert bad.is_error and "unknown episode 'ep-999'" in bad.content[0].text
    bad = await session.call_tool("start_episode", {"env_id": "lifegym/Nope-v1"})
    assert bad.is_error and "unknown env" in bad.content[0].text
    bad = await session.call_tool("submit_rule", {"episode_id": episode, "rule": "B9/S"})
    assert bad.is_error and "does not parse" in bad.content[0].text
    tested = await session.call_tool("test_rule", {"episode_id": episode, "rule": "B3/S23"})
    assert tested.structured_content["compute_cost"] == 64
    result = await session.call_tool("submit_rule", {"episode_id": episode, "rule": "B3/S23"})
    after = await session.call_tool("test_rule", {"episode_id": episode, "rule": "B3/S23"})
    assert after.is_error and "has ended" in after.content[0].text
    return result.structured_content


def _expected_result(seed: int, rule: str) -> dict:
    from lifegym.protocol import Episode

    episode = Episode(NOISY, seed=seed)
    episode.run_experiment(1, density=0.5, height=8, width=8)
    episode.test_rule("B3/S23")
    return episode.submit_rule(rule)


def test_stdio_server_plays_an_honest_episode() -> None:
    params = StdioServerParameters(command=sys.executable, args=["-m", "lifegym", "mcp"])

    async def main() -> dict:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            return await _play(session)

    result = anyio.run(main)
    expected = _expected_result(5, "B3/S23")  # the same seed: the same hidden rule and soup
    assert result == expected
    assert set(result) >= {"exact", "identified", "true_rule", "submitted_rule", "experiment_cost"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_server(tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "calls.jsonl"
    server = subprocess.Popen(
        [sys.executable, "-m", "lifegym", "mcp", "--transport", "http", "--port", str(port),
         "--transcript", str(log)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.3)

        async def main() -> dict:
            url = f"http://127.0.0.1:{port}/mcp"
            async with (
                streamable_http_client(url) as (read, write, *_),
                ClientSession(read, write) as session,
            ):
                return await _play(session)

        result = anyio.run(main)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert result == _expected_result(5, "B3/S23")
    kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
    assert kinds[0] == "start" and kinds[-1] == "call" and "end" in kinds


def test_an_mcp_client_infers_held_out_rules_from_the_frames_it_gets() -> None:
    """The counting agent of agents/ as an MCP client: its own inference, honest scores."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agents"))
    from counting_text_agent import CountingTextAgent

    params = StdioServerParameters(command=sys.executable, args=["-m", "lifegym", "mcp"])

    async def main() -> list[dict]:
        results = []
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for seed in (101, 102, 103):
                start = await session.call_tool("start_episode", {"env_id": NOISY, "seed": seed})
                episode, task = (
                    start.structured_content["episode_id"],
                    start.structured_content["task"],
                )
                agent = CountingTextAgent()
                agent.reset(task)
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
    assert len({r["true_rule"] for r in results}) == 3  # held-out rules drawn from the seeds
