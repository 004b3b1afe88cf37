"""What ``import lifegym`` offers: the re-exported names, and nothing heavy imported."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import lifegym

#: The base classes to extend lifegym with, and the module each is defined in.
EXTENSION_TYPES = {
    "Agent": "lifegym.agents.base",
    "InferenceEngine": "lifegym.inference.base",
    "RewardFunction": "lifegym.reward",
    "RulePrior": "lifegym.generator",
    "ObservationModel": "lifegym.observe",
}


@pytest.mark.parametrize("name", sorted(EXTENSION_TYPES))
def test_extension_types_are_the_objects_of_their_modules(name: str) -> None:
    module = importlib.import_module(EXTENSION_TYPES[name])
    assert name in lifegym.__all__
    assert getattr(lifegym, name) is getattr(module, name)
    namespace: dict[str, object] = {}
    exec(f"from lifegym import {name}", namespace)
    assert namespace[name] is getattr(module, name)


def test_every_name_in_all_exists() -> None:
    assert all(hasattr(lifegym, name) for name in lifegym.__all__)


def test_import_lifegym_leaves_the_heavy_libraries_alone() -> None:
    """torch and the RL libraries load only when an emulator or a policy is used."""
    heavy = ("torch", "stable_baselines3", "sb3_contrib", "tqdm")
    code = f"import sys, lifegym; print([m for m in {heavy!r} if m in sys.modules])"
    root = Path(__file__).resolve().parent.parent  # this checkout's lifegym
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
