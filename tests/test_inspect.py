"""The Inspect AI tasks (``lifegym.inspect_tasks``), driven by ``inspect_ai.eval`` with a
scripted model: Inspect's ``mockllm`` whose outputs come from the counting agent of
``agents/`` reading the conversation (no network)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval
from inspect_ai.model import (
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    ModelOutput,
    ModelUsage,
    get_model,
)

from lifegym import bench
from lifegym.inspect_tasks import STORE_KEY, episode_row, rule_discovery, rule_discovery_code
from lifegym.protocol import Episode, ToolError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "agents"))
from counting_text_agent import CountingTextAgent  # noqa: E402

NOISY = "lifegym/LifeLike-Noisy-v1"


def _output(tool: str, arguments: dict[str, Any]) -> ModelOutput:
    output = ModelOutput.for_tool_call("mockllm/model", tool, arguments)
    # Token usage given, so mockllm does not count tokens (its tokenizer is downloaded).
    output.usage = ModelUsage(input_tokens=100, output_tokens=10, total_tokens=110)
    return output


def counting_model(prelude: list[tuple[str, dict[str, Any]]] = ()):  # type: ignore[assignment]
    """A mockllm ``custom_outputs`` callable: the tool calls in ``prelude`` first, then
    the counting agent's next call, its state rebuilt from the conversation each time."""

    def generate(messages: list, tools: list, tool_choice: Any, config: Any) -> ModelOutput:
        calls = sum(isinstance(m, ChatMessageAssistant) for m in messages)
        if calls < len(prelude):
            return _output(*prelude[calls])
        task = json.loads(next(m for m in messages if isinstance(m, ChatMessageUser)).text)
        agent = CountingTextAgent()
        agent.reset(task)
        for message in messages:
            if isinstance(message, ChatMessageTool) and message.error is None:
                if message.function == "python":
                    continue
                reply = json.loads(message.text)
                agent.budget_left = reply["budget_left"]["experiment"]
                agent.observe(reply)
        for _ in range(calls - len(prelude)):
            agent.act()  # replays the choices already made (the first is the soup)
        call = agent.act()
        return _output(call.pop("tool"), call)

    return generate


def _eval(task: Any, model: Any, tmp_path: Path, **kwargs: Any) -> Any:
    [log] = inspect_eval(
        task, model=model, log_dir=str(tmp_path), display="none", max_samples=4, **kwargs
    )
    assert log.status == "success", log.error and log.error.message
    return log


def _metrics(log: Any) -> dict[str, float]:
    return {
        f"{score.name}.{name.removeprefix('lifegym/')}": metric.value
        for score in log.results.scores
        for name, metric in score.metrics.items()
    }


def _calls(sample: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        (call.function, call.arguments)
        for message in sample.messages
        if isinstance(message, ChatMessageAssistant)
        for call in message.tool_calls or []
    ]


def test_a_scripted_model_identifies_random_rules_and_the_log_scores_like_bench(
    tmp_path: Path,
) -> None:
    model = get_model("mockllm/model", custom_outputs=counting_model())
    log = _eval(rule_discovery(rules="random:20"), model, tmp_path)
    assert len(log.samples) == 20
    metrics = _metrics(log)
    assert metrics["identified.mean"] >= 0.95, metrics
    assert metrics["submitted.unsubmitted"] == 0

    # The same episodes as `lifegym bench --rules random:20 --design`: rules, seeds, oracle.
    reference = bench.benchmark([NOISY], ["oracle"], rules="random:20", design=True).rows
    samples = sorted(log.samples, key=lambda s: int(str(s.id).rsplit("-", 1)[1]))
    assert [s.metadata["seed"] for s in samples] == [r["seed"] for r in reference]
    assert [s.metadata["rule"] for s in samples] == [r["true_rule"] for r in reference]
    task_text = json.dumps(Episode(NOISY).task(), separators=(",", ":"))
    for sample, oracle in zip(samples, reference, strict=True):
        # The model saw the task only: the same text for every sample, no rule nor seed.
        assert sample.input == task_text
        # Replaying the model's calls on a fresh episode and submitting its rule scores the
        # same as the log says, against bench's oracle row of the same episode.
        episode = Episode(NOISY, seed=sample.metadata["seed"])
        for tool, arguments in _calls(sample):
            result = episode.call(tool, arguments)
        assert tool == "submit_rule"
        row = {**episode_row(sample.metadata, {"result": result}), "agent": "replay"}
        expected = bench.attach_scores([row, oracle])[0]
        value = sample.scores["rule_discovery_scorer"].value
        assert value["identified"] == expected["identified"]
        assert value["exact"] == expected["exact"]
        assert value["experiment_cost"] == expected["experiment_cost"]
        assert value["score"] == pytest.approx(expected["score"])
        record = sample.store[STORE_KEY]
        assert record["result"]["submitted_rule"] == result["submitted_rule"]
        # The store's running costs are the episode's own (submit_rule's totals not re-added).
        assert record["experiment_cost"] == result["experiment_cost"]
        # The log keeps each experiment's diagnostics (entropy before and after, best item).
        experiments = [call for call in _calls(sample) if call[0] == "run_experiment"]
        assert len(record["diagnostics"]) == len(experiments)
        assert {"entropy_before", "entropy_after"} <= set(record["diagnostics"][0])


def test_bad_calls_are_tool_errors_and_unsubmitted_episodes_count_as_not_identified(
    tmp_path: Path,
) -> None:
    prelude = [
        ("run_experiment", {"steps": 1, "density": 0.3, "size": 8}),  # an unknown argument
        ("submit_rule", {"rule": "not a rule"}),  # refused: the episode goes on
    ]
    model = get_model("mockllm/model", custom_outputs=counting_model(prelude))
    # 8 messages: system, task, two refused calls and their errors, one experiment.
    log = _eval(rule_discovery(rules="random:2", message_limit=8), model, tmp_path)
    metrics = _metrics(log)
    assert metrics["submitted.unsubmitted"] == 2
    assert metrics["identified.mean"] == 0 and metrics["score.mean"] == 0
    for sample in log.samples:
        errors = [m for m in sample.messages if isinstance(m, ChatMessageTool) and m.error]
        assert len(errors) == 2
        value = sample.scores["rule_discovery_scorer"].value
        assert value["submitted"] == 0 and value["identified"] == 0
        assert value["experiment_cost"] == sample.store[STORE_KEY]["experiment_cost"] > 0
        with pytest.raises(ToolError):  # the same refusal as the protocol's
            Episode(NOISY, seed=0).call(*prelude[0])


def test_the_code_variant_gives_the_model_python_in_a_local_sandbox(tmp_path: Path) -> None:
    prelude = [("python", {"code": "print(6 * 7)"})]
    model = get_model("mockllm/model", custom_outputs=counting_model(prelude))
    log = _eval(rule_discovery_code(rules="random:1"), model, tmp_path)
    [sample] = log.samples
    [python] = [m for m in sample.messages if isinstance(m, ChatMessageTool)][:1]
    assert python.function == "python" and python.text.strip() == "42"
    assert sample.scores["rule_discovery_scorer"].value["identified"] == 1


def test_the_tasks_are_registered_through_inspects_entry_point() -> None:
    """``inspect eval lifegym/rule_discovery`` finds the tasks by name through the entry
    point. Checked as the ``inspect`` command runs, without the working directory on
    ``sys.path`` (``python -P``): from the repository root an editable install's
    ``lifegym.egg-info`` there would otherwise shadow the installed metadata, and Inspect
    would register the tasks without their ``lifegym/`` prefix (so the other tests pass
    the task objects)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["inspect_ai"] == {"lifegym": "lifegym.inspect_tasks"}
    assert "inspect-ai" in " ".join(project["optional-dependencies"]["inspect"])
    lookup = (
        "from inspect_ai._util.registry import registry_lookup\n"
        "for name in ('lifegym/rule_discovery', 'lifegym/rule_discovery_code'):\n"
        "    assert registry_lookup('task', name) is not None, name\n"
    )
    found = subprocess.run(
        [sys.executable, "-P", "-c", lookup], cwd=ROOT, capture_output=True, text=True
    )
    assert found.returncode == 0, found.stderr
