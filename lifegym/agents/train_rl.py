"""Train a PPO or MaskablePPO policy on a lifegym env and save it for ``ppo:PATH`` agents.

::

    python -m lifegym.agents.train_rl --env lifegym/LifeLike-Noisy-v0 \\
        --algo maskable-ppo --steps 2000000 --minutes 25 --envs 2 --seed 0 --out runs/noisy

writes ``OUT/policy.zip`` (load it as ``maskable-ppo:OUT/policy.zip``), checkpoints in
``OUT/checkpoints/``, the learning curve (SB3's logger: episode reward and length, losses)
in ``OUT/progress.csv`` and, with ``--tensorboard``, TensorBoard event files in ``OUT/``
(``pip install 'lifegym[tensorboard]'``), and ``OUT/train.json`` with the settings and the
wall time. The policy is SB3's ``MultiInputPolicy`` on the env's Dict observation; the envs run in
a ``DummyVecEnv`` (``--envs 1``) or ``SubprocVecEnv``, each wrapped in ``Monitor``.
"""

from __future__ import annotations

import argparse
import functools
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym

from lifegym.reward import REWARDS

__all__ = ["main", "train"]


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make(env_id, **kwargs)`` after registering lifegym's ids (a picklable env factory
    for subprocess envs, whose fresh interpreters have not imported lifegym)."""
    import lifegym  # noqa: F401

    return gym.make(env_id, **kwargs)


def _wall_clock_callback(deadline: float) -> Any:
    """An SB3 callback that stops training once ``time.perf_counter()`` passes ``deadline``."""
    from stable_baselines3.common.callbacks import BaseCallback

    class WallClock(BaseCallback):
        def _on_step(self) -> bool:
            return time.perf_counter() < deadline

    return WallClock()


def train(
    env_id: str,
    out: str | Path,
    *,
    algorithm: str = "maskable-ppo",
    steps: int = 100_000,
    n_envs: int = 4,
    seed: int = 0,
    checkpoint_every: int = 50_000,
    tensorboard: bool = False,
    device: str = "cpu",
    n_steps: int = 256,
    batch_size: int = 256,
    env_kwargs: dict[str, Any] | None = None,
    max_minutes: float | None = None,
    reward: str = "info_gain",
    experiment_weight: float = 1.0,
    compute_weight: float = 1.0,
    normalize_reward: bool = False,
    command: str | None = None,
) -> Path:
    """Train a policy; returns the path of the saved ``policy.zip`` (see the module doc).

    Training stops after ``steps`` env steps or, when given, ``max_minutes`` of wall time
    (checked after every env step), whichever comes first; ``train.json`` records both.
    The envs are trained with the reward ``reward`` (a key of ``lifegym.reward.REWARDS``)
    at these cost weights; the trained policy is measured on the env's results, whatever
    reward shaped it. ``command`` is recorded in ``train.json`` (the command line passes
    the one that ran)."""
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

    from lifegym.agents.rl import ALGORITHMS

    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    for name, value in (("steps", steps), ("n_envs", n_envs), ("n_steps", n_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(f"max_minutes must be > 0, got {max_minutes!r}")
    if env_kwargs and "reward" in env_kwargs:
        raise ValueError("give the reward as reward= and its weights, not in env_kwargs")
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(REWARDS)}")
    reward_function = REWARDS[reward](
        experiment_weight=experiment_weight, compute_weight=compute_weight
    )  # ValueError naming a bad weight
    formats = ["csv"]
    if tensorboard:
        try:
            import tensorboard as _  # noqa: F401
        except ImportError as exc:
            message = "--tensorboard needs TensorBoard: pip install 'lifegym[tensorboard]'"
            raise ValueError(message) from exc
        formats.append("tensorboard")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    venv = make_vec_env(
        functools.partial(make_env, env_id),
        n_envs=n_envs,
        seed=seed,
        env_kwargs={**(env_kwargs or {}), "reward": reward_function},
        vec_env_cls=DummyVecEnv if n_envs == 1 else SubprocVecEnv,
    )
    if normalize_reward:
        venv = VecNormalize(venv, norm_obs=False, norm_reward=True)
    if algorithm == "ppo":
        from stable_baselines3 import PPO as model_class
    else:
        from sb3_contrib import MaskablePPO as model_class
    model = model_class(
        "MultiInputPolicy",
        venv,
        n_steps=n_steps,
        batch_size=min(batch_size, n_steps * n_envs),
        seed=seed,
        device=device,
        verbose=0,
    )
    model.set_logger(configure(str(out), formats))
    checkpoints = CheckpointCallback(
        save_freq=max(checkpoint_every // n_envs, 1),
        save_path=str(out / "checkpoints"),
        name_prefix="policy",
    )
    start = time.perf_counter()
    callbacks = [checkpoints]
    if max_minutes is not None:
        callbacks.append(_wall_clock_callback(start + 60.0 * max_minutes))
    try:
        model.learn(total_timesteps=steps, callback=CallbackList(callbacks))
    finally:
        venv.close()
    path = out / "policy.zip"
    model.save(path)
    settings = {
        "env": env_id,
        "algorithm": algorithm,
        "steps": steps,
        "steps_done": int(model.num_timesteps),
        "max_minutes": max_minutes,
        "n_envs": n_envs,
        "seed": seed,
        "n_steps": n_steps,
        "batch_size": min(batch_size, n_steps * n_envs),
        "env_kwargs": env_kwargs or {},
        "reward": reward,
        "experiment_weight": experiment_weight,
        "compute_weight": compute_weight,
        "normalize_reward": normalize_reward,
        "wall_s": time.perf_counter() - start,
        "command": command,
    }
    (out / "train.json").write_text(json.dumps(settings, indent=1) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="lifegym/LifeLike-Noisy-v0", help="a registered id")
    parser.add_argument("--algo", default="maskable-ppo", choices=("ppo", "maskable-ppo"))
    parser.add_argument("--steps", type=int, default=100_000, help="environment steps")
    parser.add_argument("--envs", type=int, default=4, help="parallel envs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--checkpoint-every", type=int, default=50_000, help="steps")
    parser.add_argument("--n-steps", type=int, default=256, help="rollout steps per env")
    parser.add_argument("--tensorboard", action="store_true", help="also TensorBoard logs")
    parser.add_argument(
        "--minutes", type=float, default=None, help="stop after this much wall time"
    )
    parser.add_argument("--reward", default="info_gain", help="reward to train with")
    parser.add_argument(
        "--experiment-weight",
        type=float,
        default=1.0,
        help="reward lost by spending the whole experiment budget",
    )
    parser.add_argument(
        "--compute-weight",
        type=float,
        default=1.0,
        help="reward lost by spending the whole compute budget",
    )
    parser.add_argument(
        "--normalize-reward",
        action="store_true",
        help="scale rewards by a running return std (VecNormalize; for large cost weights)",
    )
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    try:
        path = train(
            args.env,
            args.out,
            algorithm=args.algo,
            steps=args.steps,
            n_envs=args.envs,
            seed=args.seed,
            checkpoint_every=args.checkpoint_every,
            tensorboard=args.tensorboard,
            n_steps=args.n_steps,
            max_minutes=args.minutes,
            reward=args.reward,
            experiment_weight=args.experiment_weight,
            compute_weight=args.compute_weight,
            normalize_reward=args.normalize_reward,
            command=shlex.join(["python", "-m", "lifegym.agents.train_rl", *given]),
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"saved {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
