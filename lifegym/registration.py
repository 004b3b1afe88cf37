"""The registered Gymnasium ids: one general env and the presets, in one list.

``import lifegym`` registers them (Gymnasium 1.x has no plugin entry point), so both
``gym.make("lifegym/LifeLike-Noisy-v0")`` after ``import lifegym`` and
``gym.make("lifegym:lifegym/LifeLike-Noisy-v0")`` work. Any preset argument can be
overridden as a keyword of ``gym.make``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import gymnasium as gym

__all__ = ["PRESETS", "TEXT_PRESETS", "check_env_id", "register_envs"]

_ENTRY_POINT = "lifegym.env:RuleDiscoveryEnv"
#: ``gym.make_vec`` of a v1 id: the native batched env (``lifegym.vector``).
_VECTOR_ENTRY_POINT = "lifegym.vector.env:make_vector_env"
_SYNC_VECTOR_ENTRY_POINT = "lifegym.vector.env:make_sync_vector_env"

#: The v0 presets (every menu item on the whole world); their behaviour never changes.
_V0: dict[str, tuple[dict[str, Any], str]] = {
    "lifegym/RuleDiscovery-v0": (
        {},
        "every option as a keyword; defaults: B/S rules, full observation, inference auto",
    ),
    "lifegym/LifeLike-Full-v0": (
        {"family": "totalistic", "inference": "exact"},
        "the easy baseline: every cell of every frame, no noise (counting solves it)",
    ),
    "lifegym/LifeLike-Noisy-v0": (
        {"family": "totalistic", "noise": 0.05, "inference": "exact"},
        "cost-efficient identification when 5% of observed cells are flipped",
    ),
    "lifegym/LifeLike-Strided-v0": (
        {"family": "totalistic", "stride": 2, "noise": 0.01, "inference": "exhaustive"},
        "inference through hidden intermediate states (every 2nd frame, 1% noise)",
    ),
    "lifegym/LifeLike-Window-v0": (
        {
            "family": "totalistic",
            "world": (90, 90),
            "window": (30, 30),
            "noise": 0.01,
            "inference": "exact",
        },
        "a 30x30 window on a 90x90 torus: the unseen world shapes what is seen",
    ),
    "lifegym/LifeLike-Stats-v0": (
        {"family": "totalistic", "sigma": 0.3, "inference": "exhaustive"},
        "statistics only (density, activity, block entropy) of cells perturbed at 0.3",
    ),
    "lifegym/Isotropic-Noisy-v0": (
        {"family": "isotropic", "noise": 0.05, "inference": "exact"},
        "102 Hensel bits with 5% cell noise: rare configurations need chosen experiments",
    ),
}


#: The presets that v1 adds (besides a -v1 twin of every v0 preset).
_NEW_IN_V1: dict[str, tuple[dict[str, Any], str]] = {
    "lifegym/Isotropic-Stats-v1": (
        {"family": "isotropic", "sigma": 0.3, "inference": "search-pairs"},
        "102 Hensel bits from statistics only (density, activity, block entropy), cells at 0.3",
    ),
    "lifegym/Free-Noisy-v1": (
        {"family": "free", "noise": 0.05, "inference": "exact"},
        "all 512 table entries with 5% cell noise: every pattern needs its own sightings",
    ),
    "lifegym/Hex-Noisy-v1": (
        {"family": "hex", "noise": 0.05, "inference": "exact"},
        "Golly's hexagonal B/S rules (B2/S34H) with 5% cell noise",
    ),
    "lifegym/VonNeumann-Noisy-v1": (
        {"family": "vonneumann", "noise": 0.05, "inference": "exact"},
        "Golly's von Neumann B/S rules (B2/S3V) with 5% cell noise",
    ),
}


def _v1_presets() -> dict[str, tuple[dict[str, Any], str]]:
    """Every v0 preset again as -v1, then the presets new in v1, all with the v1 menu
    (sized soups and probes), no repeated tests and a battery per episode."""
    twins = {env_id.replace("-v0", "-v1"): preset for env_id, preset in _V0.items()}
    return {
        env_id: ({**kwargs, "menu": "v1", "repeat_tests": False, "battery": "episode"}, about)
        for env_id, (kwargs, about) in {**twins, **_NEW_IN_V1}.items()
    }


#: id -> (keyword arguments, what the preset measures): every v0 id with its behaviour
#: unchanged, then the v1 ids (``menu="v1"``; ``gym.make(id, design=True)`` adds
#: designed experiments).
PRESETS: MappingProxyType[str, tuple[dict[str, Any], str]] = MappingProxyType(
    {**_V0, **_v1_presets()}
)


#: id of each Text env (``lifegym.text_env``) -> the v1 preset it speaks for.
TEXT_PRESETS: MappingProxyType[str, str] = MappingProxyType(
    {
        env_id.replace("lifegym/", "lifegym/Text-"): env_id
        for env_id in PRESETS
        if env_id.endswith("-v1")
    }
)


def register_envs() -> None:
    """Register every id of ``PRESETS`` and ``TEXT_PRESETS`` (ids already registered are
    left as they are). The v1 ids also get a ``vector_entry_point``: ``gym.make_vec(id,
    num_envs)`` builds the native batched env (``lifegym.vector``); the v0 ids one that
    builds single envs in this process with ``action_masks()`` and whole-batch action
    checks (``MaskedSyncVectorEnv``: the same episodes as Gymnasium's ``SyncVectorEnv``)."""
    for env_id, (kwargs, _) in PRESETS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point=_ENTRY_POINT,
                vector_entry_point=_VECTOR_ENTRY_POINT
                if env_id.endswith("-v1")
                else _SYNC_VECTOR_ENTRY_POINT,
                kwargs=dict(kwargs),
            )
    for env_id, preset in TEXT_PRESETS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="lifegym.text_env:TextRuleDiscoveryEnv",
                kwargs={"preset": preset},
            )


def check_env_id(env_id: str) -> None:
    """ValueError naming ``env_id`` and the numeric lifegym ids unless it is one of them
    (the Text envs take JSON actions: numeric agents, ``bench`` and ``train_rl`` cannot
    drive them)."""
    numeric = sorted(
        k
        for k, spec in gym.registry.items()
        if k.startswith("lifegym/") and spec.entry_point == _ENTRY_POINT
    )
    if not isinstance(env_id, str) or env_id not in numeric:
        text = " (a Text env: it takes JSON tool calls, see lifegym.text_env)"
        hint = text if env_id in TEXT_PRESETS else ""
        raise ValueError(f"unknown env {env_id!r}{hint}; choose one of {', '.join(numeric)}")
