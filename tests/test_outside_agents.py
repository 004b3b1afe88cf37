"""The agents in the top-level ``agents/`` folder: they plug in from outside the package."""

from __future__ import annotations

import inspect
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import gymnasium as gym

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "agents"))
import counting_text_agent
import llm_agent


def test_the_counting_text_agent_identifies_random_rules_from_text() -> None:
    env = gym.make(counting_text_agent.ENV_ID)
    results = [
        counting_text_agent.play(env, counting_text_agent.CountingTextAgent(), seed)
        for seed in range(50)
    ]
    exact = sum(r["exact"] for r in results)
    assert exact >= 48  # >= 95% of 50 held-out rules
    assert all(r["submitted_by"] == "agent" for r in results)


class _ScriptedChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that replays scripted replies: the only fake allowed,
    standing in for a model that cannot run on these machines."""

    replies: ClassVar[list[str]] = []
    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], **body}
        )
        content = type(self).replies[len(type(self).requests) - 1]
        answer = {"choices": [{"message": {"role": "assistant", "content": content}}]}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def test_the_llm_agent_loop_end_to_end_against_a_scripted_endpoint(tmp_path: Path) -> None:
    _ScriptedChat.requests = []
    _ScriptedChat.replies = [
        'A soup first.\n```json\n{"tool": "run_experiment", "steps": 1, "density": 0.5, '
        '"height": 6, "width": 6}\n```',
        "Hmm, let me think about it without calling a tool.",
        '{"tool": "test_rule", "rule": "B3/S23"}',
        'Done: {"tool": "submit_rule", "rule": "B3/S23"}',
    ]
    server = HTTPServer(("127.0.0.1", 0), _ScriptedChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        chat = llm_agent.ChatEndpoint(base, "scripted-model", "secret")
        log = tmp_path / "episode.jsonl"
        env = gym.make("lifegym/Text-LifeLike-Noisy-v1", transcript=str(log))
        result = llm_agent.play(env, chat, seed=4)
    finally:
        server.shutdown()
    requests = _ScriptedChat.requests
    assert len(requests) == 4 and {r["path"] for r in requests} == {"/v1/chat/completions"}
    assert {r["model"] for r in requests} == {"scripted-model"}
    assert {r["auth"] for r in requests} == {"Bearer secret"}
    first = requests[0]["messages"]
    assert first[0]["role"] == "system" and '"tool"' in first[0]["content"]
    assert json.loads(first[1]["content"].removeprefix("Task: "))["family"] == "totalistic"
    soup_reply = json.loads(requests[1]["messages"][-1]["content"])
    assert soup_reply["experiment_cost"] == 36 and len(soup_reply["frames"][0]) == 6
    assert "error" in json.loads(requests[2]["messages"][-1]["content"])  # the junk turn
    assert result is not None and result["submitted_rule"] == "B3/S23"
    assert result["n_experiments"] == 1 and result["n_tests"] == 1
    kinds = [json.loads(line)["kind"] for line in log.read_text().splitlines()]
    assert kinds == ["start", "call", "call", "call", "call", "end"]


def test_the_llm_agent_times_out_with_an_end_record(tmp_path: Path) -> None:
    _ScriptedChat.requests = []
    _ScriptedChat.replies = ["Let me think.", '{"tool": "list_menu", "limit": 2}']
    server = HTTPServer(("127.0.0.1", 0), _ScriptedChat)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/v1"
        chat = llm_agent.ChatEndpoint(base, "scripted-model", None)
        log = tmp_path / "episode.jsonl"
        env = gym.make("lifegym/Text-LifeLike-Noisy-v1", transcript=str(log))
        assert llm_agent.play(env, chat, seed=1, max_turns=2)["submitted_by"] == "timeout"
    finally:
        server.shutdown()
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["start", "call", "call", "end"]
    assert not lines[-1]["result"]["identified"]
    assert json.loads(_ScriptedChat.requests[1]["messages"][-1]["content"])["error"]
    # no --max-turns: the env's max_steps, so the env truncates first and ends the episode
    assert inspect.signature(llm_agent.play).parameters["max_turns"].default is None
