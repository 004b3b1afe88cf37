"""The verifiers environment (``lifegym.verifiers_env``) end to end: verifiers' own rollout
loop (its chat program, the per-rollout MCP tool server, the interception server, the
rewards) against a local OpenAI-compatible stub server on 127.0.0.1 that plays the
counting agent of ``agents/`` through tool calls (no network)."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("verifiers.v1", reason="the verifiers extra is not installed")

import verifiers.v1 as vf

from lifegym import bench, llm_episodes
from lifegym.protocol import Episode
from lifegym.verifiers_env import AGENT_NAME, load_environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "agents"))
from counting_text_agent import CountingTextAgent  # noqa: E402

NOISY = "lifegym/LifeLike-Noisy-v1"


def _replies(messages: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
    """Each tool message's reply (None for a refused call, whose text is not JSON)."""
    out: list[dict[str, Any] | None] = []
    for message in messages:
        if message.get("role") == "tool":
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(part.get("text", "") for part in content)
            try:
                reply = json.loads(content)
            except (TypeError, ValueError):
                reply = None
            out.append(reply if isinstance(reply, dict) else None)
    return out


def _task(messages: list[dict[str, Any]]) -> dict[str, Any]:
    for message in messages:
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = "".join(part.get("text", "") for part in content)
            return json.loads(content)
    raise AssertionError("no task in the conversation")


def counting_reply(messages: list[dict[str, Any]], prelude: list[tuple[str, dict]]) -> Any:
    """The next tool call ``(name, arguments)`` of the counting agent (after ``prelude``),
    its state rebuilt from the conversation; None once it submitted."""
    calls = [
        call["function"]["name"]
        for m in messages
        if m.get("role") == "assistant"
        for call in m.get("tool_calls") or []
    ]
    if calls and calls[-1] == "submit_rule":
        return None
    if len(calls) < len(prelude):
        return prelude[len(calls)]
    agent = CountingTextAgent()
    agent.reset(_task(messages))
    for reply in _replies(messages)[len(prelude) :]:
        if reply is not None:
            agent.budget_left = reply["budget_left"]["experiment"]
            agent.observe(reply)
    for _ in range(len(calls) - len(prelude)):
        agent.act()  # replays the choices already made
    call = agent.act()
    return call.pop("tool"), call


class _StubHandler(BaseHTTPRequestHandler):
    prelude: ClassVar[list[tuple[str, dict]]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if not self.path.endswith("/chat/completions"):
            self.send_error(404)
            return
        nxt = counting_reply(body["messages"], self.prelude)
        if nxt is None:
            message: dict[str, Any] = {"role": "assistant", "content": "Submitted."}
            finish = "stop"
        else:
            name, arguments = nxt
            call = {
                "id": f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments)},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        usage = {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}
        base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "created": 0, "model": body["model"]}
        if not body.get("stream"):
            choice = {"index": 0, "message": message, "finish_reason": finish}
            data = {**base, "object": "chat.completion", "choices": [choice], "usage": usage}
            payload = json.dumps(data).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        delta = dict(message)
        if "tool_calls" in delta:
            delta["tool_calls"] = [{"index": 0, **delta["tool_calls"][0]}]
        chunks = [
            {"index": 0, "delta": delta, "finish_reason": None},
            {"index": 0, "delta": {}, "finish_reason": finish},
        ]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for choice in chunks:
            event = {**base, "object": "chat.completion.chunk", "choices": [choice]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        event = {**base, "object": "chat.completion.chunk", "choices": [], "usage": usage}
        self.wfile.write(f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode())


@pytest.fixture
def stub_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StubHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


async def _run(env: Any, url: str, count: int) -> list[tuple[Any, Any]]:
    ctx = vf.ModelContext(
        model="stub", client=vf.EvalClientConfig(base_url=url, api_key_var="LIFEGYM_STUB_KEY")
    )
    tasks = list(env.taskset.load())[:count]
    async with env.serving():
        episodes = await asyncio.gather(*(env.run_episode(task, ctx) for task in tasks))
    return list(zip(tasks, episodes, strict=True))


def test_the_counting_strategy_through_verifiers_scores_like_bench(stub_url: str) -> None:
    env = load_environment(env="LifeLike-Noisy-v1", rules="random:3", seed=0)
    played = asyncio.run(_run(env, stub_url, 3))

    # The same episodes as `lifegym bench --rules random:3 --design`: rules, seeds, oracle.
    reference = bench.benchmark([NOISY], ["oracle"], rules="random:3", design=True).rows
    task_text = json.dumps(Episode(NOISY).task(), separators=(",", ":"))
    for (task, episode), oracle in zip(played, reference, strict=True):
        assert episode.ok, episode.errors
        [trace] = episode.traces
        assert (task.data.seed, task.data.rule) == (oracle["seed"], oracle["true_rule"])
        # The model saw the task only: the same text for every task, no rule nor seed.
        assert task.data.prompt == task_text
        result = trace.state.result
        assert result is not None and result["identified"]
        # Replaying the model's calls on a fresh episode scores as the trace says.
        fresh = llm_episodes.make_episode(task.data.spec)
        calls = [
            (call.name, json.loads(call.arguments))
            for message in trace.messages
            if message.role == "assistant"
            for call in message.tool_calls or []
        ]
        assert calls[-1][0] == "submit_rule"
        for tool, arguments in calls:
            replayed = fresh.call(tool, arguments)
        assert replayed == result
        row = llm_episodes.episode_row(task.data.spec, {"result": result}, AGENT_NAME)
        expected = bench.attach_scores([row, oracle])[0]
        rewards = {name: reward.score for name, reward in trace.rewards.items() if reward}
        assert rewards["identified"] == float(expected["identified"])
        assert rewards["exact"] == float(expected["exact"])
        assert rewards["score"] == pytest.approx(expected["score"])
        assert trace.metrics["experiment_cost"] == result["experiment_cost"] > 0
        assert trace.metrics["submitted"] == 1
