"""Every inference engine x observation model: ``gym.make`` refuses exactly the combinations
an engine does not declare (``InferenceEngine.observes`` against ``ObservationModel.features``)
or refuses itself (``unsupported``), naming the engine and the model; every combination it
accepts plays an episode (an experiment, a test where the menu has one, a submission)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import lifegym  # noqa: F401  (registers the ids)
from lifegym.inference import ENGINES, engine_class
from lifegym.observe import OBSERVATION_FEATURES, ObservationModel
from lifegym.types import RuleSpace

#: One model per feature and the combinations the presets use (keyword arguments of the env).
MODELS = {
    "full": {},
    "noisy": {"noise": 0.05},
    "strided": {"stride": 2},
    "window": {"window": (8, 8)},
    "stats": {"sigma": 0.3},
    "noisy+strided": {"noise": 0.01, "stride": 2},
    "noisy+window": {"noise": 0.01, "window": (8, 8)},
    "strided+window": {"stride": 2, "window": (8, 8)},
}
FAMILIES = ("totalistic", "isotropic")


def model_of(kwargs: dict) -> ObservationModel:
    return ObservationModel(
        noise=kwargs.get("noise", 0.0),
        stride=kwargs.get("stride", 1),
        window=kwargs.get("window"),
        stats_sigma=kwargs.get("sigma"),
    )


def test_every_engine_declares_known_features_and_every_model_has_them() -> None:
    for name in ENGINES:
        observes = engine_class(name).observes
        assert observes and observes <= OBSERVATION_FEATURES, name
    for kwargs in MODELS.values():
        features = model_of(kwargs).features
        assert features <= OBSERVATION_FEATURES
        assert len(features & {"frames", "statistics"}) == 1


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_make_refuses_what_an_engine_does_not_handle(engine: str, model: str, family: str) -> None:
    kwargs = MODELS[model]
    observation = model_of(kwargs)
    cls = engine_class(engine)
    declared = observation.features <= cls.observes
    refusal = cls.refusal(RuleSpace.of(family), observation)
    assert (refusal is None) <= declared  # an undeclared feature is always refused
    make = {"inference": engine, "family": family, "world": (16, 16), "max_steps": 6, **kwargs}
    if refusal is not None:
        with pytest.raises(ValueError, match=f"inference '{engine}' cannot be used with") as err:
            gym.make("lifegym/RuleDiscovery-v1", **make)
        assert f"{family} rules seen through {observation.describe()}: {refusal}" in str(err.value)
        if cls.unsupported(RuleSpace.of(family), observation) is None:  # the declaration's
            assert all(feature in refusal for feature in observation.features - cls.observes)
        return
    env = gym.make("lifegym/RuleDiscovery-v1", **make)
    env.reset(seed=0)
    unwrapped = env.unwrapped
    masks = unwrapped.action_masks()
    _, _, terminated, truncated, info = env.step(int(np.flatnonzero(masks)[0]))  # an experiment
    assert not (terminated or truncated)
    n_menu = len(unwrapped.menu)
    tests = np.flatnonzero(unwrapped.action_masks()[n_menu : unwrapped.submit_action])
    if len(tests):
        env.step(n_menu + int(tests[0]))
    *_, terminated, _, info = env.step(unwrapped.submit_action)
    assert terminated and info["result"]["submitted_by"] == "agent"
    assert 0.0 <= info["result"]["bits_correct"] <= 1.0
    env.close()
