"""Pictures and text of an env's state: kept apart from the env (``render`` calls these).

* :func:`render_rgb`: a caption (step, last action, its costs and the totals), the last
  observed frame, one bar per free bit (bar height = P(bit = 1); green when confident it
  is 1, red when confident it is 0, grey between) with the bit names under the bars, and a
  colour key;
* :func:`render_ansi`: a text summary: rule space, budgets, belief, MAP rule, last result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lifegym.pictures import frame_to_rgb
from lifegym.public import EnvView

__all__ = ["KEY", "belief_bars", "caption", "render_ansi", "render_rgb"]

_PANEL_HEIGHT = 200
_FRAME_BOX = 256  # pixels of the frame panel's side (larger worlds: one pixel per cell)
_MIN_WIDTH = 760  # room for a caption line
_BACKGROUND = (32, 32, 48)
_TEXT = (230, 230, 230)
_CONFIDENT = 0.95
#: Bar colour -> what it means (drawn as the picture's key).
KEY = (
    ((80, 200, 80), f"P(1) >= {_CONFIDENT}"),
    ((200, 80, 80), f"P(1) <= {1 - _CONFIDENT:.2f}"),
    ((170, 170, 170), "undecided"),
)
_LINE = 12  # pixels per line of the default bitmap font
_MAX_LABELLED = 48  # with more free bits, every 8th bit is named


def _bar_colour(p: float) -> tuple[int, int, int]:
    if p >= _CONFIDENT:
        return KEY[0][0]
    if p <= 1 - _CONFIDENT:
        return KEY[1][0]
    return KEY[2][0]


def _bar_width(n: int) -> int:
    return 12 if n <= _MAX_LABELLED else 4


def belief_bars(p_one: np.ndarray, height: int) -> np.ndarray:
    """uint8 (height, 2 + F * (bar + 1), 3): one bar per bit, its height P(bit = 1)."""
    n = len(p_one)
    width = _bar_width(n)
    image = np.empty((height, 2 + n * (width + 1), 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    for i, p in enumerate(np.asarray(p_one, dtype=np.float64)):
        top = height - max(1, round(float(p) * (height - 2)))
        left = 2 + i * (width + 1)
        image[top:, left : left + width] = _bar_colour(float(p))
    return image


def caption(info: dict[str, Any], step: int) -> str:
    """One line from a step's ``info``: the step, the action and what it cost, the totals
    so far and the entropy left."""
    if info.get("action", "reset") == "reset":
        return f"step 0 (reset): nothing spent yet; entropy {info.get('entropy', 0.0):.2f} bits"
    return (
        f"step {step}: {info['action']} (+{info['experiment_cost']:,} observed, "
        f"+{info['compute_cost']:,} simulated); total {info['experiment_spent']:,} observed, "
        f"{info['compute_spent']:,} simulated cell-steps; entropy {info['entropy']:.2f} bits"
    )


def _bit_labels(canvas: Image.Image, names: Sequence[str], left: int, top: int) -> None:
    """Bit names under the bars of ``canvas`` (written downwards, one per bar; with many
    bits, the index of every 8th)."""
    n = len(names)
    width = _bar_width(n)
    font = ImageFont.load_default()
    for i, name in enumerate(names):
        if n > _MAX_LABELLED and i % 8:
            continue
        label = name if n <= _MAX_LABELLED else str(i)
        glyphs = Image.new("RGB", (6 * len(label) + 2, _LINE), _BACKGROUND)
        ImageDraw.Draw(glyphs).text((1, 0), label, fill=_TEXT, font=font)
        x = left + 2 + i * (width + 1) + max(0, (width - _LINE) // 2)
        canvas.paste(glyphs.rotate(-90, expand=True), (x, top + 2))


def render_rgb(
    frame: np.ndarray,
    p_one: np.ndarray,
    names: Sequence[str] = (),
    text: str = "",
    box: int = _FRAME_BOX,
) -> np.ndarray:
    """uint8 (H, W, 3): ``text`` on top, ``frame`` scaled up (nearest) to fit a ``box`` x
    ``box`` panel on the left, belief bars on the right with the bit ``names`` under them,
    and the colour key at the bottom. The size depends only on ``box``, the number of bits
    and their names, so every picture of an episode has the same size (GIF frames)."""
    scale = max(1, box // max(frame.shape))
    picture = frame_to_rgb(frame, scale=scale)[:box, :box]
    label_height = 6 * max((len(n) for n in names), default=0) + 6 if len(names) else 0
    bars = belief_bars(p_one, max(box - label_height, _PANEL_HEIGHT))
    body_height = max(box, bars.shape[0] + label_height)
    width = max(box + 8 + bars.shape[1], _MIN_WIDTH)
    height = _LINE + 6 + body_height + _LINE + 10
    canvas = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    fits = (width - 8) // 6  # characters of the bitmap font on one line
    shown = text if len(text) <= fits else text[: fits - 3] + "..."
    draw.text((4, 2), shown, fill=_TEXT, font=font)
    top = _LINE + 6
    canvas.paste(Image.fromarray(picture), (0, top))
    bars_left = box + 8
    canvas.paste(Image.fromarray(bars), (bars_left, top))
    if len(names):
        _bit_labels(canvas, names, bars_left, top + bars.shape[0])
    x, y = 4, height - _LINE - 4
    for colour, meaning in KEY:
        draw.rectangle((x, y + 2, x + 8, y + 10), fill=colour)
        draw.text((x + 12, y), meaning, fill=_TEXT, font=font)
        x += 12 + 6 * len(meaning) + 14
    draw.text((x, y), "bar height = P(bit = 1)", fill=_TEXT, font=font)
    return np.asarray(canvas, dtype=np.uint8)


def render_ansi(view: EnvView, result: dict[str, Any] | None = None, text: str = "") -> str:
    """A text summary of an episode from the env's public view: ``text`` (the caption),
    the setting, budgets, belief (P(bit = 1) by bit name), MAP rule and, once there is
    one, the result."""
    belief = view.belief
    if belief is None:
        raise RuntimeError("call reset() before rendering")
    lines = [text] if text else []
    lines += [
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
