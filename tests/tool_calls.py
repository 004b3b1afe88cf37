"""Bad tool calls, for tests that play them on both faces of the protocol (the Text env and
the MCP server): each must be refused with the same error text, leaving the episode as it
was. The episodes are fresh ``LifeLike-Noisy-v1`` episodes at the default reply cap."""

from __future__ import annotations

from typing import Any

ENV = "lifegym/LifeLike-Noisy-v1"
SOUP = {"density": 0.5, "height": 8, "width": 8}

#: (tool, arguments, a part of the error text).
BAD_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("run_experiment", {"steps": "1", **SOUP}, 'steps must be an integer, got "1"'),
    ("run_experiment", {"steps": True, **SOUP}, "steps must be an integer, got true"),
    ("run_experiment", {"steps": 1.0, **SOUP}, "steps must be an integer, got 1.0"),
    ("run_experiment", {"steps": 1, **SOUP, "size": 8}, "unknown argument(s): size"),
    ("run_experiment", {"steps": 1, "density": 0.5, "height": 8}, "height and width go together"),
    ("run_experiment", {"steps": 1, "density": 0.5, "width": 8}, "got width only"),
    ("run_experiment", {"steps": 1, "density": "0.5"}, 'density must be a number, got "0.5"'),
    ("run_experiment", {"steps": 1, "density": 2.0}, "density must be in 0..1, got 2.0"),
    ("run_experiment", {"steps": 1, **SOUP, "height": 8.0}, "height must be an integer"),
    ("run_experiment", {"steps": 1, "item": 7}, "item must be a string, got 7"),
    ("run_experiment", {"steps": 1, "pattern": None}, "pattern must be a string, got null"),
    ("run_experiment", {"steps": 1}, "give exactly one of item, pattern or density"),
    ("run_experiment", {"density": 0.5}, "run_experiment needs steps"),
    ("run_experiment", {"steps": 0, "density": 0.5}, "steps must be >= 1, got 0"),
    ("run_experiment", {"steps": 999, "pattern": "ooo"}, "steps must be an int in 1..64"),
    ("run_experiment", {"steps": 1, "pattern": "o?o\nooo\nooo"}, "?"),
    ("run_experiment", {"steps": 1, "density": 0.5, "height": 900, "width": 8}, "900x8"),
    ("run_experiment", {"steps": 2, "item": "probe-B3"}, "runs 1 steps; got steps=2"),
    ("run_experiment", {"steps": 1, "item": "probe-B9"}, "unknown menu item 'probe-B9'"),
    (
        "run_experiment",
        {"steps": 16, "item": "soup-0.50x16@60x60"},
        "Run at most 14 steps on this 60x60 world",
    ),
    ("run_experiment", {"steps": 64, "density": 0.5}, "over the episode's reply cap of 60,000"),
    ("test_rule", {"rule": "B3/S23"}, "nothing observed yet"),
    ("test_rule", {"rule": 23}, "rule must be a string, got 23"),
    ("test_rule", {}, "test_rule needs rule"),
    ("submit_rule", {"rule": "B2-a/S12"}, "not in the totalistic family"),
    ("submit_rule", {"rule": "B9"}, "does not parse"),
    ("submit_rule", {"rule": "B3/S23", "seed": 1}, "unknown argument(s): seed"),
    ("list_menu", {"offset": -1}, "offset must be >= 0, got -1"),
    ("list_menu", {"limit": "10"}, 'limit must be an integer, got "10"'),
    ("list_menu", {"limit": 1000}, "limit must be in 1..100, got 1000"),
]
