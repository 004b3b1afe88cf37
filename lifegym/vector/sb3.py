"""``SB3VecEnv``: stable-baselines3's ``VecEnv`` interface over a Gymnasium vector env.

SB3 and sb3-contrib train on their own ``VecEnv`` API, whose episodes reset within the step
that ends them. This adapter runs a lifegym vector env (native or fallback, from
``gym.make_vec``) in Gymnasium's ``SAME_STEP`` autoreset mode and translates:

* ``reset()`` returns the batched Dict observation; the seeds of ``seed()`` go to the next
  reset (SB3's convention);
* ``step_wait()`` returns float32 rewards, ``dones = terminated | truncated`` and one info
  dict per env; an ended episode's info holds ``terminal_observation``, its
  ``TimeLimit.truncated`` flag and the single env's whole final info (``result`` included),
  so SB3's ``VecMonitor`` and lifegym's callbacks see what single envs give them;
* ``env_method("action_masks")`` and :meth:`action_masks` give the masks MaskablePPO reads.

Other ``env_method`` / ``get_attr`` / ``set_attr`` calls reach the vector env itself (one
object for all episodes).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

__all__ = ["SB3VecEnv"]


@runtime_checkable
class _MaskedEnv(Protocol):
    """A vector env with ``action_masks()`` (both of lifegym's have it)."""

    def action_masks(self) -> np.ndarray: ...


class SB3VecEnv(VecEnv):
    """SB3 ``VecEnv`` over ``env``, a Gymnasium ``VectorEnv`` in ``SAME_STEP`` autoreset mode
    (ValueError otherwise) with ``action_masks()`` (module doc)."""

    def __init__(self, env: VectorEnv) -> None:
        mode = env.metadata.get("autoreset_mode")
        if mode != AutoresetMode.SAME_STEP:
            raise ValueError(
                f"SB3VecEnv needs a vector env in AutoresetMode.SAME_STEP, got {mode!r}: "
                'gym.make_vec(id, num_envs, autoreset_mode="SameStep")'
            )
        self.env = env
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> dict[str, np.ndarray]:
        seeds = None if all(s is None for s in self._seeds) else list(self._seeds)
        options = self._options[0] if self._options and self._options[0] else None
        # gymnasium annotates VectorEnv.reset's seed as int | None, though its vector envs
        # (and lifegym's) take a list of per-env seeds.
        observations, infos = self.env.reset(seed=seeds, options=options)  # type: ignore[arg-type]
        self.reset_infos = self._split(infos)
        self._reset_seeds()
        self._reset_options()
        return observations

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions)

    def step_wait(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[dict]]:
        observations, rewards, terminated, truncated, infos = self.env.step(self._actions)
        dones = terminated | truncated
        episode_infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if "final_info" in infos:
            finals = self._split(infos["final_info"])
            for i in np.flatnonzero(infos["_final_obs"]):
                episode_infos[i] = {
                    **finals[i],
                    "terminal_observation": infos["final_obs"][i],
                    "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                }
        return observations, rewards.astype(np.float32), dones, episode_infos

    def action_masks(self) -> np.ndarray:
        """bool (num_envs, n_actions)."""
        env = self.env
        assert isinstance(env, _MaskedEnv)  # the adapter's contract (class doc)
        return env.action_masks()

    def close(self) -> None:
        self.env.close()

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.env, attr_name)  # AttributeError when it has none
        return [value] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.env, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **kwargs: Any
    ) -> list[Any]:
        found = getattr(self.env, method_name)(*method_args, **kwargs)
        if method_name == "action_masks":
            return [found[i] for i in self._indices(indices)]
        return [found] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(self._indices(indices))

    def _split(self, infos: dict[str, Any]) -> list[dict[str, Any]]:
        """Gymnasium's batched info (arrays with ``_key`` masks) as one dict per env."""
        split: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for key, value in infos.items():
            if key.startswith("_"):
                continue
            present = infos.get(f"_{key}")
            parts = self._split(value) if isinstance(value, dict) else value
            for i in range(self.num_envs):
                if present is None or present[i]:
                    item = parts[i]
                    split[i][key] = item.item() if isinstance(item, np.generic) else item
        return split
