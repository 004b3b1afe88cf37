"""Train a PPO or MaskablePPO policy on a lifegym env and save it for ``ppo:PATH`` agents.

::

    python -m lifegym.agents.train_rl --env lifegym/LifeLike-Noisy-v0 \\
        --algo maskable-ppo --steps 2000000 --minutes 25 --envs 2 --seed 0 --out runs/noisy

(or ``lifegym train`` with the same options: both command lines get them from
:func:`add_training_arguments` and run :func:`train_from_arguments`) writes
``OUT/policy.zip`` (load it as ``maskable-ppo:OUT/policy.zip``), checkpoints in
``OUT/checkpoints/``, the learning curve (SB3's logger: episode reward and length, losses)
in ``OUT/progress.csv`` and, with ``--tensorboard``, TensorBoard event files in ``OUT/``
(``pip install 'lifegym[tensorboard]'``), and ``OUT/train.json`` with the settings and the
wall time. With ``--normalize-obs`` the observations are standardised by running
statistics (SB3's ``VecNormalize``: every Box key, clipped at 10 deviations), saved beside
the policy as ``OUT/policy_vecnormalize.pkl`` (and with each checkpoint): a
``PolicyAgent`` applies them when it plays the policy, so evaluation sees what training
saw. (``spent_per_item`` is a fraction of the whole budget, 0.00056 for a 256-cell soup:
unnormalised, such inputs barely move the policy.) The policy is SB3's
``MultiInputPolicy`` on the env's Dict observation. The envs run (``--vectorize``) in the
native vector env where the id has one (the v1 presets: ``gym.make_vec``, all episodes
batched in this process, through ``lifegym.vector.sb3``'s adapter and ``VecMonitor``; 32
envs by default), else in a ``DummyVecEnv`` (``--envs 1``) or ``SubprocVecEnv`` of
``Monitor``-wrapped envs (one per core by default).
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import multiprocessing
import os
import re
import shlex
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import gymnasium as gym

from lifegym.registration import check_env_id
from lifegym.reward import REWARDS

__all__ = [
    "VECTORIZE",
    "add_training_arguments",
    "main",
    "observation_statistics",
    "train",
    "train_from_arguments",
]

#: ``--vectorize`` choices: ``auto`` = native where the id has a vector entry point.
VECTORIZE = ("auto", "native", "subproc")
#: Default number of envs of the native vector env.
NATIVE_ENVS = 32


def observation_statistics(policy: str | Path) -> Path:
    """Where the observation statistics of the policy saved at ``policy`` (a ``.zip``) are,
    had it been trained with ``normalize_obs``: ``policy_vecnormalize.pkl`` beside
    ``policy.zip``, ``policy_vecnormalize_<n>_steps.pkl`` beside the checkpoint
    ``policy_<n>_steps.zip`` (SB3's checkpoint naming)."""
    policy = Path(policy)
    match = re.fullmatch(r"(.+)_(\d+)_steps", policy.stem)
    if match:
        return policy.with_name(f"{match[1]}_vecnormalize_{match[2]}_steps.pkl")
    return policy.with_name(f"{policy.stem}_vecnormalize.pkl")


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """``gym.make(env_id, **kwargs)`` after registering lifegym's ids (a picklable env factory
    for subprocess envs, whose fresh interpreters have not imported lifegym). In a
    subprocess it also ignores Ctrl-C: the trainer handles it and closes the workers."""
    import lifegym  # noqa: F401

    if multiprocessing.current_process().name != "MainProcess":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return gym.make(env_id, **kwargs)


def _flag_callback(flag: threading.Event) -> Any:
    """An SB3 callback that stops training at the next env step once ``flag`` is set."""
    from stable_baselines3.common.callbacks import BaseCallback

    class StopOnFlag(BaseCallback):
        def _on_step(self) -> bool:
            return not flag.is_set()

    return StopOnFlag()


def _wall_clock_callback(deadline: float) -> Any:
    """An SB3 callback that stops training once ``time.perf_counter()`` passes ``deadline``
    (and says so in ``stopped``)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class WallClock(BaseCallback):
        stopped = False

        def _on_step(self) -> bool:
            self.stopped = time.perf_counter() >= deadline
            return not self.stopped

    return WallClock()


def _progress_callback(total: int, stream: TextIO, window: int = 100) -> Any:
    """An SB3 callback drawing a ``tqdm`` bar of env steps with the fps, and the mean
    reward and identified / exact rates of the last ``window`` episodes."""
    from stable_baselines3.common.callbacks import BaseCallback
    from tqdm import tqdm

    class Progress(BaseCallback):
        def _on_training_start(self) -> None:
            self.bar = tqdm(total=total, file=stream, unit=" steps", mininterval=1.0)
            self.rewards: collections.deque[float] = collections.deque(maxlen=window)
            self.identified: collections.deque[bool] = collections.deque(maxlen=window)
            self.exact: collections.deque[bool] = collections.deque(maxlen=window)

        def _on_step(self) -> bool:
            for info in self.locals.get("infos", ()):
                if "episode" in info:  # Monitor's summary of a finished episode
                    self.rewards.append(float(info["episode"]["r"]))
                result = info.get("result")
                if result is not None:
                    self.identified.append(bool(result.get("identified", False)))
                    self.exact.append(bool(result["exact"]))
            self.bar.update(self.model.num_timesteps - self.bar.n)
            if self.rewards and self.n_calls % 64 == 0:
                self.bar.set_postfix(
                    reward=f"{sum(self.rewards) / len(self.rewards):.2f}",
                    identified=f"{sum(self.identified) / max(len(self.identified), 1):.0%}",
                    exact=f"{sum(self.exact) / max(len(self.exact), 1):.0%}",
                    refresh=False,
                )
            return True

        def _on_training_end(self) -> None:
            self.bar.close()

    return Progress()


def train(
    env_id: str,
    out: str | Path,
    *,
    algorithm: str = "maskable-ppo",
    steps: int = 100_000,
    n_envs: int | None = None,
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
    identified_bonus: float = 0.0,
    normalize_reward: bool = False,
    normalize_obs: bool = False,
    ent_coef: float = 0.0,
    vectorize: str = "auto",
    command: str | None = None,
    progress: TextIO | None = None,
) -> Path:
    """Train a policy; returns the path of the saved ``policy.zip`` (see the module doc).

    Training stops after ``steps`` env steps, after ``max_minutes`` of wall time (checked
    after every env step) or on Ctrl-C, whichever comes first; each way the policy and
    ``train.json`` are saved, with ``steps_done`` and ``stopped_by`` (``"steps"``,
    ``"minutes"`` or ``"interrupt"``). ``vectorize`` (``VECTORIZE``) picks the native vector
    env or subprocess envs (module doc); ``n_envs`` defaults to 32 native envs, or one
    subprocess env per core. Every
    argument, the env id and ``env_kwargs`` are checked (ValueError) before a worker
    starts. ``progress``, when given, gets a progress bar (steps, fps, recent reward,
    identified and exact rates).
    The envs are trained with the reward ``reward`` (a key of ``lifegym.reward.REWARDS``)
    at these cost weights and ``identified_bonus`` (paid at the end of an identified
    episode); the trained policy is measured on the env's results, whatever reward shaped
    it. ``normalize_obs`` standardises the observations (module doc), ``normalize_reward``
    scales rewards by a running return deviation. ``ent_coef`` is PPO's entropy bonus
    (SB3's default 0; a little keeps the policy trying other openings, since its first
    observation never changes). ``command`` is recorded in ``train.json`` (the command line
    passes the one that ran)."""
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure
    from stable_baselines3.common.vec_env import (
        DummyVecEnv,
        SubprocVecEnv,
        VecEnv,
        VecMonitor,
        VecNormalize,
    )

    from lifegym.agents.rl import ALGORITHMS

    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; choose one of {ALGORITHMS}")
    if vectorize not in VECTORIZE:
        raise ValueError(f"vectorize must be one of {', '.join(VECTORIZE)}, got {vectorize!r}")
    check_env_id(env_id)
    has_native = gym.spec(env_id).vector_entry_point is not None
    if vectorize == "native" and not has_native:
        raise ValueError(f"{env_id} has no native vector env (the v1 presets have one)")
    native = has_native and vectorize != "subproc"
    if n_envs is None:
        n_envs = NATIVE_ENVS if native else os.cpu_count() or 1
    for name, value in (("steps", steps), ("n_envs", n_envs), ("n_steps", n_steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    if isinstance(ent_coef, bool) or not isinstance(ent_coef, int | float) or not ent_coef >= 0:
        raise ValueError(f"ent_coef must be a number >= 0, got {ent_coef!r}")
    if max_minutes is not None and not max_minutes > 0:
        raise ValueError(f"max_minutes must be > 0, got {max_minutes!r}")
    if env_kwargs and "reward" in env_kwargs:
        raise ValueError("give the reward as reward= and its weights, not in env_kwargs")
    if reward not in REWARDS:
        raise ValueError(f"unknown reward {reward!r}; choose one of {', '.join(REWARDS)}")
    reward_function = REWARDS[reward](
        experiment_weight=experiment_weight,
        compute_weight=compute_weight,
        identified_bonus=identified_bonus,
    )  # ValueError naming a bad weight
    try:
        make_env(env_id, **(env_kwargs or {})).close()  # a bad setting fails here, not in workers
    except TypeError as exc:
        raise ValueError(f"{env_id} does not take these env_kwargs: {exc}") from exc
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
    if native:
        from lifegym.vector.sb3 import SB3VecEnv

        vector_env = gym.make_vec(
            env_id,
            num_envs=n_envs,
            vectorization_mode="vector_entry_point",
            autoreset_mode="SameStep",
            **{**(env_kwargs or {}), "reward": reward_function},
        )
        venv: VecEnv = VecMonitor(SB3VecEnv(vector_env))
        venv.seed(seed)
    else:
        venv = make_vec_env(
            functools.partial(make_env, env_id),
            n_envs=n_envs,
            seed=seed,
            env_kwargs={**(env_kwargs or {}), "reward": reward_function},
            vec_env_cls=DummyVecEnv if n_envs == 1 else SubprocVecEnv,
        )
    if normalize_reward or normalize_obs:
        observation_space = venv.observation_space
        assert isinstance(observation_space, gym.spaces.Dict)  # the envs observe a Dict
        boxes = [
            key
            for key, space in observation_space.spaces.items()
            if isinstance(space, gym.spaces.Box)
        ]
        venv = VecNormalize(
            venv, norm_obs=normalize_obs, norm_reward=normalize_reward, norm_obs_keys=boxes
        )
    model_class: type[PPO] | type[MaskablePPO]
    if algorithm == "ppo":
        from stable_baselines3 import PPO

        model_class = PPO
    else:
        from sb3_contrib import MaskablePPO

        model_class = MaskablePPO
    model = model_class(
        "MultiInputPolicy",
        venv,
        n_steps=n_steps,
        batch_size=min(batch_size, n_steps * n_envs),
        seed=seed,
        device=device,
        ent_coef=float(ent_coef),
        verbose=0,
    )
    logger = configure(str(out), formats)
    model.set_logger(logger)
    checkpoints = CheckpointCallback(
        save_freq=max(checkpoint_every // n_envs, 1),
        save_path=str(out / "checkpoints"),
        name_prefix="policy",
        save_vecnormalize=normalize_obs,
    )
    start = time.perf_counter()
    callbacks: list[BaseCallback] = [checkpoints]
    wall_clock = None
    if max_minutes is not None:
        wall_clock = _wall_clock_callback(start + 60.0 * max_minutes)
        callbacks.append(wall_clock)
    if progress is not None:
        callbacks.append(_progress_callback(steps, progress))
    # Ctrl-C stops training at the next env step (the workers ignore it), so the policy
    # and train.json are saved; a second Ctrl-C interrupts at once.
    interrupted = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():

        def on_sigint(signum: int, frame: Any) -> None:
            if interrupted.is_set():
                raise KeyboardInterrupt
            interrupted.set()

        previous = signal.signal(signal.SIGINT, on_sigint)
    callbacks.append(_flag_callback(interrupted))
    try:
        model.learn(total_timesteps=steps, callback=CallbackList(callbacks))
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        venv.close()
        logger.close()  # progress.csv and TensorBoard files: closed, not left to the collector
    stopped_by = "steps"
    if interrupted.is_set():
        stopped_by = "interrupt"
    elif wall_clock is not None and wall_clock.stopped:
        stopped_by = "minutes"
    path = out / "policy.zip"
    model.save(path)
    if normalize_obs:
        assert isinstance(venv, VecNormalize)  # wrapped above
        venv.save(str(observation_statistics(path)))
    settings = {
        "env": env_id,
        "algorithm": algorithm,
        "steps": steps,
        "steps_done": int(model.num_timesteps),
        "stopped_by": stopped_by,
        "max_minutes": max_minutes,
        "n_envs": n_envs,
        "vectorize": "native" if native else "subproc",
        "seed": seed,
        "n_steps": n_steps,
        "batch_size": min(batch_size, n_steps * n_envs),
        "env_kwargs": env_kwargs or {},
        "reward": reward,
        "experiment_weight": experiment_weight,
        "compute_weight": compute_weight,
        "identified_bonus": identified_bonus,
        "normalize_reward": normalize_reward,
        "normalize_obs": normalize_obs,
        "ent_coef": float(ent_coef),
        "wall_s": time.perf_counter() - start,
        "command": command,
    }
    (out / "train.json").write_text(json.dumps(settings, indent=1) + "\n")
    return path


def add_training_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Declare the training options (``--env``, ``--algo``, ``--steps``, ``--out``, ...) on
    ``parser`` and return it. The one place they are defined: this module's :func:`main`
    and ``lifegym train`` (``lifegym.cli``) both call it, and
    :func:`train_from_arguments` runs what they parse."""
    parser.add_argument("--env", default="lifegym/LifeLike-Noisy-v0", help="a registered id")
    parser.add_argument("--algo", default="maskable-ppo", choices=("ppo", "maskable-ppo"))
    parser.add_argument("--steps", type=int, default=100_000, help="environment steps")
    parser.add_argument(
        "--envs",
        type=int,
        default=None,
        help=f"parallel envs (default: {NATIVE_ENVS} native, or one subprocess env per core)",
    )
    parser.add_argument(
        "--vectorize",
        default="auto",
        choices=VECTORIZE,
        help="native: the batched vector env (v1 presets); subproc: one process per env; "
        "auto: native where the id has one",
    )
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
        "--identified-bonus",
        type=float,
        default=0.0,
        help="reward gained at the end when the submitted rule is identified",
    )
    parser.add_argument(
        "--normalize-reward",
        action="store_true",
        help="scale rewards by a running return std (VecNormalize; for large cost weights)",
    )
    parser.add_argument(
        "--normalize-obs",
        action="store_true",
        help="standardise observations by running statistics (VecNormalize; saved beside "
        "the policy and applied when it is played)",
    )
    parser.add_argument(
        "--ent-coef",
        type=float,
        default=0.0,
        help="PPO's entropy bonus (keeps the policy trying other actions)",
    )
    return parser


def train_from_arguments(args: argparse.Namespace, command: str | None = None) -> Path:
    """Run :func:`train` with the options :func:`add_training_arguments` parsed into
    ``args`` (progress bar on stderr), print one line saying where the policy was saved and
    why training stopped, and return the policy's path. ``command`` (the command line that
    ran) is recorded in ``train.json``. A bad setting raises ValueError before anything
    starts; the caller prints it as a usage error."""
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
        identified_bonus=args.identified_bonus,
        normalize_reward=args.normalize_reward,
        normalize_obs=args.normalize_obs,
        ent_coef=args.ent_coef,
        vectorize=args.vectorize,
        progress=sys.stderr,
        command=command,
    )
    record = json.loads((path.parent / "train.json").read_text())
    why = {
        "steps": "reached --steps",
        "minutes": f"stopped by --minutes {args.minutes}",
        "interrupt": "interrupted (Ctrl-C)",
    }[record["stopped_by"]]
    print(f"saved {path} after {record['steps_done']:,} of {args.steps:,} steps: {why}")
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m lifegym.agents.train_rl``: parse ``argv`` (default ``sys.argv[1:]``) and
    train (``lifegym train`` takes the same options). Returns the exit code: 0, or 2 with
    one line on stderr for a bad setting."""
    parser = argparse.ArgumentParser(
        prog="python -m lifegym.agents.train_rl",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    args = add_training_arguments(parser).parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    try:
        train_from_arguments(
            args, command=shlex.join(["python", "-m", "lifegym.agents.train_rl", *given])
        )
    except ValueError as exc:  # short: the full usage would bury the one line that matters
        print(f"{parser.prog}: error: {exc}\n(see {parser.prog} --help)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
