"""Pictures of grids: RGB arrays, PNG stills and animated GIFs.

Small pure functions over arrays of 0/1 cells; files are written with Pillow in palette mode
(two colours, no dithering), so a pixel of a written image is exactly one cell's state.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image

from lifegym.cells import as_cells

__all__ = [
    "ALIVE_RGB",
    "DEAD_RGB",
    "auto_scale",
    "frame_to_rgb",
    "write_gif",
    "write_png",
    "write_rgb_gif",
]

#: Default colour of a live cell (white) and of a dead cell (black).
ALIVE_RGB = (255, 255, 255)
DEAD_RGB = (0, 0, 0)

#: :func:`auto_scale` enlarges images up to this many pixels on the longest side.
TARGET_PIXELS = 512


def _check_scale(scale: int) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int | np.integer) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    return int(scale)


def _check_colour(colour: Sequence[int], name: str) -> tuple[int, int, int]:
    values = tuple(int(c) for c in colour)
    if len(values) != 3 or not all(0 <= c <= 255 for c in values):
        raise ValueError(f"{name} must be an (r, g, b) triple of integers 0..255, got {colour!r}")
    return values


def auto_scale(height: int, width: int) -> int:
    """Pixels per cell so that the longest side is about 256-512 px (1 for grids over 256)."""
    return max(1, TARGET_PIXELS // max(height, width, 1))


def _upscale(cells: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement of the last two axes by ``scale``."""
    if scale == 1:
        return cells
    return np.repeat(np.repeat(cells, scale, axis=-2), scale, axis=-1)


def frame_to_rgb(
    frame: np.ndarray,
    scale: int = 1,
    alive: Sequence[int] = ALIVE_RGB,
    dead: Sequence[int] = DEAD_RGB,
) -> np.ndarray:
    """Colour a grid: ``frame`` (H, W) of 0/1 -> uint8 (H*scale, W*scale, 3).

    Each cell becomes a ``scale`` x ``scale`` square of the ``alive`` or ``dead`` colour.
    """
    cells = as_cells(frame, "frame", {2: "(H, W)"})
    scale = _check_scale(scale)
    palette = np.array([_check_colour(dead, "dead"), _check_colour(alive, "alive")], dtype=np.uint8)
    return palette[_upscale(cells, scale)]


def _palette_image(cells: np.ndarray, alive: tuple[int, ...], dead: tuple[int, ...]) -> Image.Image:
    """A mode-"P" image whose pixel values are the cells (0 dead, 1 alive)."""
    height, width = cells.shape
    image = Image.frombytes("P", (width, height), np.ascontiguousarray(cells).tobytes())
    image.putpalette([*dead, *alive])
    return image


def write_png(
    frame: np.ndarray,
    path: str | os.PathLike[str],
    *,
    scale: int | None = None,
    alive: Sequence[int] = ALIVE_RGB,
    dead: Sequence[int] = DEAD_RGB,
) -> None:
    """Write one grid ``frame`` (H, W) of 0/1 as a two-colour PNG.

    ``scale`` is pixels per cell; ``None`` picks :func:`auto_scale`.
    """
    cells = as_cells(frame, "frame", {2: "(H, W)"})
    scale = auto_scale(*cells.shape) if scale is None else _check_scale(scale)
    colours = _check_colour(alive, "alive"), _check_colour(dead, "dead")
    _palette_image(_upscale(cells, scale), *colours).save(path, format="PNG")


def _check_fps(fps: float) -> None:
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps!r}")


def _save_gif(
    images: list[Image.Image], path: str | os.PathLike[str], fps: float, **options: Any
) -> None:
    """``images`` as a GIF looping forever, ``fps`` frames per second."""
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(10, round(1000 / fps)),
        loop=0,
        **options,
    )


def write_gif(
    frames: np.ndarray,
    path: str | os.PathLike[str],
    *,
    scale: int | None = None,
    fps: float = 10,
    alive: Sequence[int] = ALIVE_RGB,
    dead: Sequence[int] = DEAD_RGB,
) -> None:
    """Write ``frames`` (T, H, W) of 0/1 as an animated GIF that loops forever.

    ``scale`` is pixels per cell (``None`` picks :func:`auto_scale`); ``fps`` frames per second
    (GIF stores delays in hundredths of a second, so it is rounded to that). Pillow merges
    consecutive identical frames into one longer frame, so a pattern that stops changing gives
    fewer GIF frames than ``T``; the animation looks the same.
    """
    cells = as_cells(frames, "frames", {3: "(T, H, W)"})
    scale = auto_scale(*cells.shape[1:]) if scale is None else _check_scale(scale)
    _check_fps(fps)
    colours = _check_colour(alive, "alive"), _check_colour(dead, "dead")
    images = [_palette_image(_upscale(frame, scale), *colours) for frame in cells]
    _save_gif(images, path, fps, optimize=False)


def write_rgb_gif(
    images: Sequence[np.ndarray], path: str | os.PathLike[str], *, fps: float = 2
) -> None:
    """Write RGB pictures (each uint8 (H, W, 3), all one shape) as a GIF that loops forever
    (``fps`` frames per second, rounded to hundredths of a second per frame)."""
    if not len(images):
        raise ValueError("write_rgb_gif needs at least one image")
    shape = np.asarray(images[0]).shape
    for i, image in enumerate(images):
        array = np.asarray(image)
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
            raise ValueError(
                f"images[{i}] must be uint8 (H, W, 3), got {array.dtype} {array.shape}"
            )
        if array.shape != shape:
            raise ValueError(f"images[{i}] has shape {array.shape}, images[0] {shape}")
    _check_fps(fps)
    _save_gif([Image.fromarray(np.asarray(image)) for image in images], path, fps)
