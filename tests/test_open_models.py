"""An observation model added outside ``lifegym.observe``: a subclass in this file, and an
engine that declares it, are all it takes (``docs/architecture.md``, "Where to add").

``Delayed`` hides the first steps of every run. Nothing in the package knows it: every
built-in engine and the native vector env refuse it by its feature, the settings, the
limits, the costs and the action space read it through the model's methods,
the equivalence classes and the score treat it as they must treat a model they were not
checked against, and an engine that declares ``"delay"`` plays episodes with it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.equivalence import observational_class
from lifegym.inference import ENGINES, engine_class
from lifegym.inference.exact import ExactEngine
from lifegym.inference.search import SearchEngine
from lifegym.observe import OBSERVATION_FEATURES, ObservationModel, is_int, noisy, strided
from lifegym.patterns import count_seen_transitions
from lifegym.rules import Rule
from lifegym.scoring import shows_every_flip
from lifegym.settings import env_settings
from lifegym.types import RuleSpace
from lifegym.vector.env import NATIVE_OBSERVES, native_unsupported


@dataclasses.dataclass(frozen=True)
class Delayed(ObservationModel):
    """Frames are observed from step ``delay`` on (the stride's steps at or after it)."""

    delay: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not is_int(self.delay) or self.delay < 1:
            raise ValueError(f"delay must be an int >= 1, got {self.delay!r}")

    @property
    def features(self) -> frozenset[str]:
        return super().features | ({"delay"} if self.delay > 1 else set())

    @property
    def fewest_steps(self) -> int:
        return self.stride * math.ceil(self.delay / self.stride)

    def observed_times(self, steps: int) -> np.ndarray:
        times = super().observed_times(steps)
        return times[times >= self.delay]

    def describe(self) -> str:
        base = super().describe()
        return base if self.delay == 1 else f"{base} + delayed({self.delay})"

    def explain(self) -> str:
        return f"{super().explain()}; nothing is observed before step {self.delay}"


class DelayedSearch(SearchEngine):
    """The search engine scores whatever steps a trajectory shows: it may declare delays."""

    name = "search-delayed"
    observes = SearchEngine.observes | {"delay"}


MODEL = Delayed(noise=0.02, delay=3)
WORLD = (12, 12)


def make(**extra: Any) -> gym.Env:
    arguments = {"world": WORLD, "observation": MODEL, "max_steps": 8, **extra}
    return gym.make("lifegym/RuleDiscovery-v1", **arguments)


def test_the_model_names_itself() -> None:
    assert MODEL.features == {"frames", "noise", "delay"}
    assert "delay" not in OBSERVATION_FEATURES
    assert MODEL.describe() == "noisy(0.02) + delayed(3)"
    assert MODEL.explain().endswith("nothing is observed before step 3")
    assert Delayed().features == ObservationModel().features  # delay 1 is no delay
    with pytest.raises(ValueError, match="delay must be an int >= 1, got 0"):
        Delayed(delay=0)


def test_it_composes_with_the_built_in_parts() -> None:
    composed = noisy(0.02) + Delayed(delay=3)
    assert composed == MODEL and type(composed) is Delayed
    assert (strided(2) + Delayed(delay=3)).fewest_steps == 4
    with pytest.raises(ValueError, match="'delay' is set twice"):
        Delayed(delay=2) + Delayed(delay=3)


def test_costs_and_observations_follow_its_times() -> None:
    frames = np.random.default_rng(0).integers(0, 2, size=(9, 6, 6), dtype=np.uint8)
    times, seen, stats = MODEL.observe(frames, np.random.default_rng(1))
    assert times.tolist() == [3, 4, 5, 6, 7, 8] and stats is None
    assert seen is not None and seen.shape == (6, 6, 6)
    assert MODEL.cost(6, 6, 8) == 6 * 36
    assert MODEL.cost(6, 6, 2) == 0


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_every_built_in_engine_refuses_it_by_name(engine: str) -> None:
    with pytest.raises(ValueError, match=f"inference '{engine}' cannot be used with") as err:
        make(inference=engine)
    assert "noisy(0.02) + delayed(3)" in str(err.value)
    if engine_class(engine).unsupported(RuleSpace.of("totalistic"), MODEL) is None:
        assert "delay" in str(err.value)


def test_auto_finds_no_engine_for_it() -> None:
    with pytest.raises(ValueError, match=r"no inference engine supports totalistic with noisy"):
        make()


def test_the_native_vector_env_refuses_it() -> None:
    settings = env_settings(world=WORLD, observation=MODEL, inference=DelayedSearch, menu="v1")
    assert "delay" not in NATIVE_OBSERVES
    as_exact = dataclasses.replace(settings, engine_factory=ExactEngine, inference="exact")
    reason = native_unsupported(as_exact)
    assert reason is not None and "delay" in reason and "noisy(0.02) + delayed(3)" in reason


def test_an_engine_that_declares_it_plays_episodes() -> None:
    env = make(inference=DelayedSearch, design=True, max_experiment_steps=6)
    unwrapped = env.unwrapped
    _, info = env.reset(seed=3)
    assert unwrapped.action_space["steps"].start == 3  # fewer steps show nothing
    item = int(np.flatnonzero(unwrapped.action_masks()[: len(unwrapped.menu)])[0])
    _, _, terminated, truncated, info = env.step(item)
    trajectory = unwrapped.lab.trajectories[-1]
    assert trajectory.times[0] == 3 and not (terminated or truncated)
    assert info["experiment_cost"] == MODEL.cost(*trajectory.world_shape, trajectory.steps)
    cells = np.zeros(WORLD, dtype=np.uint8)
    design = {"design": 1, "action": 0, "cells": cells, "size": np.array([6, 6]), "steps": 2}
    with pytest.raises(ValueError, match=r"steps must be an int in 3\.\.6"):
        env.step(design)
    env.step(unwrapped.submit_action)
    assert unwrapped.score(Rule.parse("B3/S23")).submitted_by == "agent"


def test_the_batched_face_falls_back_to_single_envs() -> None:
    envs = gym.make_vec(
        "lifegym/RuleDiscovery-v1", num_envs=2, vectorization_mode="vector_entry_point",
        world=WORLD, observation=MODEL, inference=DelayedSearch, max_steps=4,
    )  # fmt: skip
    envs.reset(seed=0)
    masks = envs.call("action_masks")
    envs.step(np.array([int(np.flatnonzero(m)[0]) for m in masks]))
    assert type(envs).__name__ == "MaskedSyncVectorEnv"
    envs.close()


def test_what_was_checked_for_the_built_in_models_does_not_claim_it() -> None:
    space = RuleSpace.of("totalistic")
    rule = Rule.parse("B3/S23")
    assert not shows_every_flip(MODEL)
    assert observational_class(rule, space, MODEL) == (rule,)
    env = make(inference=DelayedSearch)
    env.reset(seed=0)
    env.step(0)
    trajectory = env.unwrapped.lab.trajectories[-1]
    ones, zeros = count_seen_transitions(trajectory, np.arange(512), 512, later_frames=True)
    assert not ones.any() and not zeros.any()


def test_a_subclass_without_new_fields_is_not_trusted_with_the_classes() -> None:
    """Day & Night is its own complement: at an even stride the built-in model cannot tell
    it from its complement, but a subclass may show more, so its classes stay singletons."""

    @dataclasses.dataclass(frozen=True)
    class Relabelled(ObservationModel):
        pass

    space = RuleSpace.of("totalistic")
    rule = Rule.parse("B3678/S34678")
    assert len(observational_class(rule, space, strided(2))) == 2
    assert observational_class(rule, space, Relabelled(stride=2)) == (rule,)
