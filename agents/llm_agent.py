"""A language-model agent: drives a lifegym Text env with any OpenAI-compatible chat endpoint.

Public interfaces only: ``gym.make`` of a ``lifegym/Text-...`` id, JSON text in and out.
The model gets the task description (the reset observation) and the tools, answers with one
JSON tool call per turn, and reads each reply; the episode ends when it submits a rule, when
the env truncates it (its ``max_steps``), or after ``--max-turns`` (the harness's time-out:
the episode is ended with nothing submitted, and a transcript gets its ``end`` line). Nothing
but the Python standard library talks to the endpoint.

::

    export OPENAI_API_KEY=...        # or LLM_API_KEY; none for a local server
    python agents/llm_agent.py --base-url https://api.openai.com/v1 --model gpt-4o \\
        --env lifegym/Text-LifeLike-Noisy-v1 --seed 0 --transcript episode.jsonl

Replies are never cut: the env refuses an experiment whose reply would exceed its reply cap
(``--reply-cap``, 60,000 characters by default) before running it, and says what fits.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import urllib.error
import urllib.request
from typing import Any

import gymnasium as gym

import lifegym  # noqa: F401  (registers the ids)

SYSTEM_PROMPT = (
    "You are a scientist finding the hidden rule of a 2-D binary cellular automaton. "
    "You act only through tools. Answer every turn with exactly one JSON object and nothing "
    'else: {"tool": NAME, ...arguments}. The tools: run_experiment (steps plus exactly one '
    "of item, pattern, or density with height and width), test_rule (rule), submit_rule "
    "(rule; ends the episode), list_menu (offset, limit, prefix). The task lists every "
    "argument. Experiments cost observed cell-steps: design small, informative initial "
    "conditions. Submit when what you observed settles the rule."
)


class ChatEndpoint:
    """An OpenAI-compatible ``/chat/completions`` endpoint (``base_url`` up to ``/v1``)."""

    def __init__(self, base_url: str, model: str, api_key: str | None, timeout: float = 120.0):
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def reply(self, messages: list[dict[str, str]]) -> str:
        """The assistant's text for ``messages``; RuntimeError naming what went wrong."""
        body = json.dumps({"model": self.model, "messages": messages, "temperature": 0})
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, body.encode(), headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
        except urllib.error.URLError as exc:
            raise RuntimeError(f"chat endpoint {self.url} failed: {exc}") from exc
        try:
            return answer["choices"][0]["message"]["content"] or ""
        except (KeyError, IndexError, TypeError) as exc:
            raise RuntimeError(f"chat endpoint {self.url} sent no message: {answer!r}") from exc


def tool_call(text: str) -> str:
    """The first JSON object in the model's text (models wrap it in prose or fences); the
    text itself when there is none (the env answers with an error the model can read)."""
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    return match.group(0) if match else text


def play(
    env: gym.Env, chat: ChatEndpoint, seed: int | None = None, max_turns: int | None = None
) -> dict[str, Any]:
    """One episode; returns ``info["result"]``. After ``max_turns`` model turns (None: the
    env's own ``max_steps``, which truncates first) the episode is ended as a time-out
    (``submitted_by`` ``"timeout"``: not identified)."""
    text_env = env.unwrapped
    turns = text_env.max_steps if max_turns is None else max_turns
    if isinstance(turns, bool) or not isinstance(turns, int) or turns < 1:
        raise ValueError(f"max_turns must be an int >= 1 or None, got {max_turns!r}")
    observation, _ = env.reset(seed=seed)
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": f"Task: {observation}"},
    ]
    for _ in range(turns):
        text = chat.reply(messages)
        messages.append({"role": "assistant", "content": text})
        observation, _, terminated, truncated, info = env.step(tool_call(text))
        if terminated or truncated:
            return info["result"]
        messages.append({"role": "user", "content": observation})
    return text_env.end_episode("timeout")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--base-url", required=True, help="e.g. https://api.openai.com/v1")
    parser.add_argument("--model", required=True, help="the model's name at that endpoint")
    parser.add_argument("--env", default="lifegym/Text-LifeLike-Noisy-v1", help="a Text env id")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--max-turns",
        type=int,
        default=None,
        help="model turns before a time-out (default: the env's max_steps, 256)",
    )
    parser.add_argument(
        "--reply-cap", type=int, default=60_000, help="longest experiment reply (characters)"
    )
    parser.add_argument("--transcript", default=None, help="append the episode as JSON lines")
    args = parser.parse_args(argv)
    key = os.environ.get("OPENAI_API_KEY") or os.environ.get("LLM_API_KEY")
    env = gym.make(args.env, transcript=args.transcript, reply_cap=args.reply_cap)
    chat = ChatEndpoint(args.base_url, args.model, key)
    result = play(env, chat, args.seed, args.max_turns)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
