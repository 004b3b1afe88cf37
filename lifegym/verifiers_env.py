"""A verifiers environment: rule discovery as an environment to evaluate or train LLMs with RL.

Needs the ``verifiers`` extra (``pip install -c constraints.txt -e '.[verifiers]'``:
verifiers 0.4, its ``verifiers.v1`` API). In Python::

    from lifegym.verifiers_env import load_environment
    env = load_environment(env="LifeLike-Noisy-v1", rules="random:20", seed=0)

or with verifiers' CLI (the taskset id ``lifegym-verifiers`` is the package
``lifegym_verifiers``, which exports this module's classes)::

    vf-eval lifegym-verifiers --env.taskset.rules random:20 -m MODEL \\
        --client.base-url URL --client.api-key-var MY_KEY_VAR --no-push

* **Tasks**: one per episode of ``lifegym bench`` (:func:`lifegym.llm_episodes.episode_specs`:
  the same rules and seeds as ``lifegym bench --env ENV --rules RULES --episodes N --seed S
  --design`` and the Inspect task). Each task's data holds ``env``, ``rule`` (the hidden
  rule), ``seed`` and ``drawn``; the model sees only the prompt, the task text
  (:meth:`Episode.task`, as JSON), the same for every task.
* **Tools**: the protocol's (:data:`lifegym.protocol.TOOL_SCHEMAS`: ``run_experiment``,
  ``test_rule``, ``submit_rule``, ``list_menu``), served per rollout by an MCP server
  (:class:`RuleDiscoveryToolset`) that makes the task's episode itself from the task data
  it fetches from the harness: the model never names an episode, a rule or a seed. Every
  call's raw arguments reach :meth:`Episode.call` (no coercion, no unknown keys dropped,
  the Text env's error text); a refused call is a tool error, the episode goes on. Calls,
  costs, diagnostics and the result go back to the host in the rollout's
  :class:`RuleDiscoveryState`; the rollout stops at the model turn after ``submit_rule``.
* **Rewards**: ``score`` (weight 1), the cost-aware score of ``lifegym bench``:
  identified x min(1, oracle cost / experiment cost), the ``oracle`` run on the same rule
  and seed (:func:`lifegym.bench.attach_scores`); ``identified`` and ``exact`` (weight 0:
  recorded, not in the training signal; give them a weight with
  ``[env.taskset.task.rewards] identified = { weight = 1.0 }``). An episode the model never
  submitted is neither identified nor exact and scores 0. Where the oracle did not identify
  the rule, bench has no yardstick (``score`` None); a reward must be a number, so
  ``score`` is then ``identified`` and the metric ``reference_failed`` is 1.
  Metrics: ``submitted``, ``experiment_cost``, ``compute_cost``, ``calls``, ``errors``.
* **Harness**: :class:`HostChatHarness`, the default for this taskset: verifiers' ``null``
  harness (its chat loop with MCP tools, no shell: a shell on the host could read the tool
  server's process) run by this Python interpreter, which has every package the loop needs
  (they are verifiers' own), so a rollout downloads nothing. verifiers' own ``null``
  harness (``--env.agent.harness.id null``) installs the same loop with ``uv`` from PyPI
  at run time instead. The agent's runtime defaults to ``subprocess`` (this machine):
  nothing runs but the chat loop and the tool server.
"""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

from pydantic import Field

try:
    import mcp_types
    import verifiers.v1 as vf
    from verifiers.v1.harnesses.null import NullHarness
    from verifiers.v1.harnesses.utils.launch import CHAT_PROGRAM_SOURCE, launch_chat_program
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError(
        "lifegym.verifiers_env needs verifiers 0.4: "
        "pip install -c constraints.txt -e '.[verifiers]'"
    ) from exc

from lifegym import llm_episodes
from lifegym.llm_episodes import INSTRUCTIONS, SUBMIT_TOOL
from lifegym.protocol import TOOL_SCHEMAS, Episode, ToolError, compact_json

__all__ = [
    "INSTRUCTIONS",
    "TASKSET_ID",
    "HostChatHarness",
    "RuleDiscoveryData",
    "RuleDiscoveryEnv",
    "RuleDiscoveryEnvConfig",
    "RuleDiscoveryState",
    "RuleDiscoveryTask",
    "RuleDiscoveryTaskConfig",
    "RuleDiscoveryTaskset",
    "RuleDiscoveryTasksetConfig",
    "RuleDiscoveryToolset",
    "load_environment",
]

#: The taskset id verifiers resolves (a top-level module: ids cannot be dotted).
TASKSET_ID = "lifegym_verifiers"
#: The agent name of this environment's bench rows.
AGENT_NAME = "verifiers"

# -- the rollout's data and state ----------------------------------------------------------


class RuleDiscoveryData(vf.TaskData):
    """One episode (a spec of :mod:`lifegym.llm_episodes`); on the trace, not in the
    prompt."""

    env: str
    rule: str
    seed: int
    drawn: bool
    reply_cap: int | None = None
    """The episode's reply cap (None: the protocol's default)."""

    @property
    def spec(self) -> dict[str, Any]:
        return {"env": self.env, "rule": self.rule, "seed": self.seed, "drawn": self.drawn}


class RuleDiscoveryState(vf.State):
    """What the tool server reports to the host (:func:`lifegym.llm_episodes.fresh_record`)."""

    calls: int = 0
    errors: int = 0
    experiment_cost: int = 0
    compute_cost: int = 0
    diagnostics: list[dict[str, Any]] = Field(default_factory=list)
    result: dict[str, Any] | None = None
    """``submit_rule``'s reply, once submitted."""


# -- the tools: the protocol on a per-rollout MCP server -----------------------------------


class RuleDiscoveryToolset(vf.Toolset[vf.ToolsetConfig, RuleDiscoveryState]):
    """The protocol's tools over the rollout's one episode, made from the task's data.

    Registered on the MCP server below the SDK's argument validation (which would coerce
    ``"1"`` to ``1`` and drop unknown keys), so :meth:`Episode.call` checks the raw
    arguments as the Text env and ``lifegym mcp`` do."""

    TOOL_PREFIX = None  # the tools keep the names the task text uses

    def __init__(self, config: vf.ToolsetConfig) -> None:
        super().__init__(config)
        self.episode: Episode | None = None

    async def setup_task(self, task: Any) -> None:
        """Make the episode from the rollout's task data (fetched from the harness)."""
        data = getattr(task, "data", task)  # verifiers 0.4 hands over the TaskData
        options = {} if data.reply_cap is None else {"reply_cap": data.reply_cap}
        self.episode = llm_episodes.make_episode(data.spec, diagnostics=True, **options)

    def register(self, mcp: Any) -> None:
        listed = [
            mcp_types.Tool(
                name=name, description=tool["description"], input_schema=tool["parameters"]
            )
            for name, tool in TOOL_SCHEMAS.items()
        ]

        async def list_tools() -> list[Any]:
            return listed

        # The server's own entry points, replaced: raw arguments in, the protocol's reply out.
        mcp.list_tools = list_tools
        mcp.call_tool = self._with_state(self._call)

    async def _call(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        state = self.state
        state.calls += 1
        try:
            if self.episode is None:
                raise ToolError("no episode: the tool server got no task from the harness")
            reply = self.episode.call(name, arguments)
        except ToolError as exc:
            state.errors += 1
            text = mcp_types.TextContent(type="text", text=str(exc))
            return mcp_types.CallToolResult(content=[text], is_error=True)
        experiment, compute = llm_episodes.call_costs(name, reply)
        state.experiment_cost += experiment
        state.compute_cost += compute
        state.diagnostics = list(self.episode.diagnostics)
        if name == SUBMIT_TOOL:
            state.result = reply
        text = mcp_types.TextContent(type="text", text=compact_json(reply))
        return mcp_types.CallToolResult(content=[text], structured_content=reply)


# -- the task: stop, rewards, metrics ------------------------------------------------------


class RuleDiscoveryTaskConfig(vf.TaskConfig):
    tools: vf.ToolsetConfig = vf.ToolsetConfig()
    reference: bool = True
    """Run the ``oracle`` per episode for the cost-aware ``score`` (without it, ``score``
    is ``identified``)."""


class RuleDiscoveryTask(vf.Task[RuleDiscoveryData, RuleDiscoveryState, RuleDiscoveryTaskConfig]):
    @classmethod
    def toolsets(cls, config: RuleDiscoveryTaskConfig) -> list[vf.Toolset]:
        return [RuleDiscoveryToolset(config.tools)]

    @property
    def key(self) -> str:
        return f"{self.data.env}:{self.data.rule}:{self.data.seed}"

    @vf.stop
    async def submitted_rule(self, trace: vf.Trace) -> bool:
        """The episode is over once the model submitted."""
        return trace.state.result is not None

    def _row(self, trace: vf.Trace) -> dict[str, Any]:
        record = trace.state.model_dump(
            include={"calls", "errors", "experiment_cost", "compute_cost", "result"}
        )
        return llm_episodes.episode_row(self.data.spec, record, AGENT_NAME)

    @cached_property
    def _oracle(self) -> dict[str, Any]:
        return llm_episodes.reference_row(self.data.spec)

    async def _scored(self, trace: vf.Trace) -> dict[str, Any]:
        row = self._row(trace)
        if not self.config.reference:
            return {**row, "score": None, "reference_failed": None}
        import anyio

        oracle = await anyio.to_thread.run_sync(lambda: self._oracle)
        return llm_episodes.scored_row(row, oracle)

    @vf.reward(weight=1.0)
    async def cost_aware_score(self, trace: vf.Trace) -> dict[str, float]:
        """``score``: identified x min(1, oracle cost / experiment cost) (``identified``
        without a yardstick). (A method named ``score`` would hide ``Task.score``.)"""
        scored = await self._scored(trace)
        if scored["score"] is None:
            return {"score": float(bool(scored["identified"]))}
        return {"score": float(scored["score"])}

    @vf.reward(weight=0.0)
    async def identified(self, trace: vf.Trace) -> float:
        return float(bool(self._row(trace)["identified"]))

    @vf.reward(weight=0.0)
    async def exact(self, trace: vf.Trace) -> float:
        return float(bool(self._row(trace)["exact"]))

    @vf.metric
    async def episode(self, trace: vf.Trace) -> dict[str, float]:
        row = self._row(trace)
        scored = await self._scored(trace)
        return {
            "submitted": float(row["submitted"]),
            "experiment_cost": float(row["experiment_cost"]),
            "compute_cost": float(row["compute_cost"]),
            "calls": float(trace.state.calls),
            "errors": float(trace.state.errors),
            "reference_failed": float(bool(scored["reference_failed"])),
        }


# -- the taskset ---------------------------------------------------------------------------


class RuleDiscoveryTasksetConfig(vf.TasksetConfig):
    env: str = "LifeLike-Noisy-v1"
    """A v1 preset (with or without ``lifegym/``)."""
    rules: str = "named"
    """``named``, ``random:N`` or a file of rules, one per line (``lifegym bench``)."""
    episodes: int = 1
    """Episodes (seeds) per rule."""
    seed: int = 0
    """The seed of the episodes' seeds (``lifegym bench --seed``)."""
    reply_cap: int | None = None
    """The longest experiment reply in characters (None: the protocol's default)."""
    task: RuleDiscoveryTaskConfig = RuleDiscoveryTaskConfig()


class RuleDiscoveryTaskset(vf.Taskset[RuleDiscoveryTask, RuleDiscoveryTasksetConfig]):
    """The episodes of ``lifegym bench`` on one preset, one task each."""

    def load(self) -> list[RuleDiscoveryTask]:
        config = self.config
        prompt = llm_episodes.task_text(config.env)
        return [
            RuleDiscoveryTask(
                RuleDiscoveryData(
                    idx=number,
                    id=f"{spec['env'].removeprefix(llm_episodes.PREFIX)}-{number + 1}",
                    prompt=prompt,
                    system_prompt=INSTRUCTIONS,
                    reply_cap=config.reply_cap,
                    **spec,
                ),
                config.task,
            )
            for number, spec in enumerate(
                llm_episodes.episode_specs(config.env, config.rules, config.episodes, config.seed)
            )
        ]


# -- the harness: verifiers' chat loop on this interpreter ---------------------------------


class _HostPython:
    """A subprocess runtime whose PEP 723 scripts run on this interpreter instead of an
    environment ``uv`` builds (this interpreter has the chat loop's packages: they are
    verifiers' own dependencies)."""

    def __init__(self, runtime: vf.Runtime) -> None:
        self._runtime = runtime

    def __getattr__(self, name: str) -> Any:
        return getattr(self._runtime, name)

    async def prepare_uv_script(self, script: str | bytes, *args: Any, **kwargs: Any) -> list[str]:
        data = script.encode() if isinstance(script, str) else script
        path = "vf-chat-program.py"
        await self._runtime.write(path, data)
        return [sys.executable, path]


class HostChatHarness(NullHarness):
    """verifiers' ``null`` harness (a chat loop with the task's MCP tools, no shell) run by
    this Python interpreter when the runtime is ``subprocess``; elsewhere it is ``null``."""

    async def setup(self, runtime: vf.Runtime) -> None:
        if runtime.type != "subprocess":
            await super().setup(runtime)

    async def launch(
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: vf.Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        tool_interception_url: str | None = None,
    ) -> vf.ProgramResult:
        if runtime.type != "subprocess":
            return await super().launch(
                ctx, trace, runtime, endpoint, secret, mcp_urls, data, tool_interception_url
            )
        system_prompt, prompt = self.resolve_prompt(data)
        interception = tool_interception_url
        extra = [f"--tool-interception-url={interception}"] if interception else []
        return await launch_chat_program(
            CHAT_PROGRAM_SOURCE,
            self.config,
            ctx,
            trace,
            _HostPython(runtime),
            endpoint,
            secret,
            mcp_urls,
            system_prompt,
            prompt,
            extra_args=extra,
        )


# -- the environment -----------------------------------------------------------------------


class RuleDiscoveryEnvConfig(vf.EnvConfig):
    """One agent seat, on this machine by default (the chat loop and the tool server are
    all a rollout runs)."""

    agent: vf.AgentConfig = vf.AgentConfig(runtime=vf.SubprocessConfig())


class RuleDiscoveryEnv(vf.Env[RuleDiscoveryEnvConfig]):
    """The single-agent environment over :class:`RuleDiscoveryTaskset`."""

    async def run(self, task: vf.Task, agents: vf.Agents) -> None:
        await agents.agent.run(task)


def load_environment(
    env: str = "LifeLike-Noisy-v1",
    rules: str = "named",
    seed: int = 0,
    episodes: int = 1,
    reply_cap: int | None = None,
    reference: bool = True,
    max_turns: int | None = None,
    harness: str | None = None,
) -> RuleDiscoveryEnv:
    """The environment over the episodes of ``lifegym bench --env ENV --rules RULES
    --episodes N --seed S --design`` (see the module doc).

    Args:
        env: a v1 preset, with or without ``lifegym/``.
        rules: ``named``, ``random:N`` or a file of rules.
        seed: the seed of the episodes' seeds.
        episodes: episodes (seeds) per rule.
        reply_cap: the longest experiment reply in characters (None: the default).
        reference: run the ``oracle`` per episode for the cost-aware ``score``.
        max_turns: model turns per rollout (None: no limit; the episode's budgets end it).
        harness: a verifiers harness id (None: :class:`HostChatHarness`).

    ValueError for a bad argument (an unknown preset, a bad rules spec)."""
    llm_episodes.episode_specs(env, rules, episodes, seed)  # fail here, not mid-run
    agent: dict[str, Any] = {"runtime": {"type": "subprocess"}, "max_turns": max_turns}
    if harness is not None:
        agent["harness"] = {"id": harness}
    config = RuleDiscoveryEnvConfig.model_validate(
        {
            "taskset": {
                "id": TASKSET_ID,
                "env": env,
                "rules": rules,
                "seed": seed,
                "episodes": episodes,
                "reply_cap": reply_cap,
                "task": {"reference": reference},
            },
            "agent": agent,
        }
    )
    return RuleDiscoveryEnv(config)


if __name__ == "__main__":  # the tool server, as verifiers launches it per rollout
    RuleDiscoveryToolset.run()
