"""Pictures and text of an env's state: kept apart from the env (``render`` calls these).

* :func:`render_rgb`: the last observed frame beside one bar per free bit (bar height =
  P(bit = 1); green when confident it is 1, red when confident it is 0, grey between);
* :func:`render_ansi`: a text summary: rule space, budgets, belief, MAP rule, last result.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lifegym.public import EnvView
from lifegym.render import auto_scale, frame_to_rgb

__all__ = ["render_ansi", "render_rgb"]

_BAR_WIDTH = 4
_PANEL_HEIGHT = 256
_BACKGROUND = (32, 32, 48)


def _bar_colour(p: float) -> tuple[int, int, int]:
    if p >= 0.95:
        return (80, 200, 80)
    if p <= 0.05:
        return (200, 80, 80)
    return (170, 170, 170)


def belief_bars(p_one: np.ndarray, height: int) -> np.ndarray:
    """uint8 (height, 2 + F * (bar + 1), 3): one bar per bit, its height P(bit = 1)."""
    n = len(p_one)
    image = np.empty((height, 2 + n * (_BAR_WIDTH + 1), 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    for i, p in enumerate(np.asarray(p_one, dtype=np.float64)):
        top = height - max(1, round(float(p) * (height - 2)))
        left = 2 + i * (_BAR_WIDTH + 1)
        image[top:, left : left + _BAR_WIDTH] = _bar_colour(float(p))
    return image


def render_rgb(frame: np.ndarray, p_one: np.ndarray) -> np.ndarray:
    """uint8 (H, W, 3): ``frame`` (scaled up) on the left, belief bars on the right."""
    scale = max(1, auto_scale(*frame.shape) // 2)
    picture = frame_to_rgb(frame, scale=scale)
    height = max(picture.shape[0], 64)
    bars = belief_bars(p_one, height)
    canvas = np.empty((height, picture.shape[1] + 4 + bars.shape[1], 3), dtype=np.uint8)
    canvas[:] = _BACKGROUND
    canvas[: picture.shape[0], : picture.shape[1]] = picture
    canvas[:, picture.shape[1] + 4 :] = bars
    return canvas


def render_ansi(view: EnvView, result: dict[str, Any] | None = None) -> str:
    """A text summary of an episode from the env's public view (and its result, once
    there is one)."""
    belief = view.belief
    if belief is None:
        raise RuntimeError("call reset() before rendering")
    lines = [
        f"family {view.space.family.name}, {view.space.n_free} free bits, observation "
        f"{view.model.describe()}, world {view.world[0]}x{view.world[1]}",
        f"experiments {len(view.trajectories)}, budget left: experiment "
        f"{view.experiment_left}/{view.experiment_budget}, compute "
        f"{view.compute_left}/{view.compute_budget}",
        f"belief entropy {belief.entropy:.2f} bits, MAP {belief.map_rule}",
    ]
    cells = [f"{name}:{p:.2f}" for name, p in zip(view.space.free_names, belief.p_one, strict=True)]
    lines += [" ".join(cells[i : i + 9]) for i in range(0, len(cells), 9)]
    if result:
        verdict = "exact" if result["exact"] else f"{result['bits_correct']:.0%} bits"
        lines.append(
            f"submitted {result['submitted_rule']} ({verdict}); true {result['true_rule']}"
        )
    return "\n".join(lines) + "\n"
