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

__all__ = ["AUTO_ORDER", "ENGINES", "InferenceEngine", "auto_engine", "engine_class", "make_engine"]

ENGINES: dict[str, str] = {
    "exact": "lifegym.inference.exact:ExactEngine",
    "exhaustive": "lifegym.inference.exhaustive:ExhaustiveEngine",
    "search": "lifegym.inference.search:SearchEngine",
    "search-pairs": "lifegym.inference.search:PairSearchEngine",
    "emulator": "lifegym.inference.emulator:EmulatorEngine",
}


#: What ``"auto"`` tries, in order: the first engine that supports the setting.
AUTO_ORDER = ("exact", "exhaustive", "search")


def engine_class(name: str) -> type[InferenceEngine]:
    """The engine class registered as ``name``; ValueError listing the names otherwise."""
    if name not in ENGINES:
        choices = ", ".join(["auto", *ENGINES])
        raise ValueError(f"unknown inference {name!r}; choose one of {choices}")
    module, attribute = ENGINES[name].split(":")
    return getattr(importlib.import_module(module), attribute)


def auto_engine(space: RuleSpace, model: ObservationModel) -> str:
    """The engine ``"auto"`` picks: the first of ``AUTO_ORDER`` that supports the setting
    (``exact`` for frames at stride 1, ``exhaustive`` for B/S rules, else ``search``)."""
    for name in AUTO_ORDER:
        if engine_class(name).refusal(space, model) is None:
            return name
    raise ValueError(f"no inference engine supports {space.family.name} with {model.describe()}")


def make_engine(name: str, space: RuleSpace, model: ObservationModel) -> InferenceEngine:
    """A fresh engine ``name`` (or ``"auto"``) for ``space`` observed through ``model``."""
    if name == "auto":
        name = auto_engine(space, model)
    return engine_class(name)(space, model)
