"""Inference engines: the env's belief about the hidden rule.

``ENGINES`` maps each engine name to where its class lives; classes are imported on first
use, so an engine with heavy dependencies (the torch emulator) costs nothing until chosen.
Add an engine by adding an entry.
"""

from __future__ import annotations

import importlib

from lifegym.inference.base import InferenceEngine
from lifegym.observe import ObservationModel
from lifegym.types import RuleSpace

__all__ = ["ENGINES", "InferenceEngine", "engine_class", "make_engine"]

ENGINES: dict[str, str] = {
    "exact": "lifegym.inference.exact:ExactEngine",
    "exhaustive": "lifegym.inference.exhaustive:ExhaustiveEngine",
    "search": "lifegym.inference.search:SearchEngine",
}


def engine_class(name: str) -> type[InferenceEngine]:
    """The engine class registered as ``name``; ValueError listing the names otherwise."""
    if name not in ENGINES:
        raise ValueError(f"unknown inference {name!r}; choose one of {', '.join(ENGINES)}")
    module, attribute = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def make_engine(name: str, space: RuleSpace, model: ObservationModel) -> InferenceEngine:
    """A fresh engine ``name`` for ``space`` observed through ``model``."""
    return engine_class(name)(space, model)
