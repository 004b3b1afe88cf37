"""Trained stable-baselines3 policies as agents: ``ppo:PATH`` and ``maskable-ppo:PATH``.

The policy (a ``MultiInputPolicy`` saved by :mod:`lifegym.agents.train_rl`, or any PPO /
MaskablePPO zip for the same env) gives a probability to every action; the agent plays the
most probable action that ``action_mask`` allows (deterministic), so even a plain PPO policy,
which was not trained with masks, never pays for a rejected action. A policy trained on
normalised observations (``train_rl --normalize-obs``) sees them normalised by the saved
statistics (:func:`load_observation_statistics`).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from lifegym.agents.base import Agent
from lifegym.agents.train_rl import observation_statistics
from lifegym.public import EnvView

__all__ = ["ALGORITHMS", "PolicyAgent", "load_observation_statistics", "load_policy"]

#: Agent name prefix -> the algorithm class that loads its zip.
ALGORITHMS = ("ppo", "maskable-ppo")


def load_policy(algorithm: str, path: str | Path, device: str = "cpu") -> Any:
    """The saved model at ``path`` (a ``.zip``), loaded with ``algorithm``'s class."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no saved policy at {str(path)!r}")
    try:
        return _model_class(algorithm).load(path, device=device)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        other = ALGORITHMS[1 - ALGORITHMS.index(algorithm)]
        try:  # a policy of the other algorithm: say which, not a loader's internals
            _model_class(other).load(path, device=device)
        except (KeyError, TypeError, ValueError, RuntimeError):
            raise ValueError(f"cannot load {str(path)!r} as a {algorithm} policy: {exc}") from exc
        raise ValueError(
            f"{str(path)!r} is a {other} policy, not {algorithm}: name it {other}:{path}"
        ) from exc


def load_observation_statistics(path: str | Path) -> Any:
    """The observation statistics (SB3 ``VecNormalize``, without its env) the policy at
    ``path`` was trained with (``train_rl --normalize-obs``), or None if it was trained on
    raw observations. ValueError if its ``train.json`` says it was normalised but the
    statistics are missing."""
    path = Path(path)
    statistics = observation_statistics(path)
    if statistics.exists():
        with statistics.open("rb") as stream:
            return pickle.load(stream)  # as VecNormalize.load, which also wants an env
    records = [path.parent / "train.json"]
    if path.parent.name == "checkpoints":  # train_rl's checkpoints of OUT/policy.zip
        records.append(path.parent.parent / "train.json")
    for record in records:
        if record.exists() and json.loads(record.read_text()).get("normalize_obs"):
            raise ValueError(
                f"{record} says the policy was trained on normalised observations, but "
                f"their statistics {str(statistics)!r} are missing"
            )
    return None


def _model_class(algorithm: str) -> Any:
    if algorithm == "ppo":
        from stable_baselines3 import PPO

        return PPO
    from sb3_contrib import MaskablePPO

    return MaskablePPO


class PolicyAgent(Agent):
    """Plays a trained policy (see the module doc).

    Args:
        env: the env to act in; its spaces must be those the policy was trained on.
        algorithm: "ppo" or "maskable-ppo".
        path: the saved model (``.zip``).
    """

    def __init__(self, env: gym.Env | EnvView, algorithm: str, path: str | Path) -> None:
        super().__init__(env)
        self.model = load_policy(algorithm, path)
        self.normalizer = load_observation_statistics(path)
        self.name = f"{algorithm}:{path}"
        if self.model.action_space != self.view.action_space:
            raise ValueError(
                f"policy {str(path)!r} was trained for action space {self.model.action_space}, "
                f"the env has {self.view.action_space}"
            )
        if self.model.observation_space != self.view.observation_space:
            raise ValueError(
                f"policy {str(path)!r} was trained for another observation space than the env's"
            )

    def probabilities(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """The policy's probability of every action (float64 (n_actions,))."""
        policy = self.model.policy
        if self.normalizer is not None:
            obs = self.normalizer.normalize_obs(obs)
        tensor, _ = policy.obs_to_tensor(obs)
        with torch.no_grad():
            distribution = policy.get_distribution(tensor).distribution
        return distribution.probs[0].double().cpu().numpy()

    def act(self, obs: dict[str, np.ndarray], info: dict[str, Any], action_mask: np.ndarray) -> int:
        probs = np.where(np.asarray(action_mask, dtype=bool), self.probabilities(obs), -1.0)
        return int(np.argmax(probs))
