"""Arrays of cells: the one check of what a grid, or a stack of grids, may be.

A cell array holds 0 (dead) and 1 (alive), as bool or any integer dtype. Every public
function that takes grids (``simulate``, ``write_rle``, the image writers) validates them
here, so the errors read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["as_cells"]


def as_cells(
    array: object, what: str, layouts: Mapping[int, str], *, allow_empty: bool = False
) -> np.ndarray:
    """``array`` as a C-contiguous uint8 array of 0/1 cells, or a clear error.

    ``what`` names the argument in messages; ``layouts`` maps each accepted number of
    dimensions to the meaning of its axes, e.g. ``{2: "(H, W)", 3: "(B, H, W)"}``.

    Raises:
        TypeError: the dtype is neither bool nor an integer type.
        ValueError: another number of dimensions; a dimension of length 0 (unless
            ``allow_empty``); a value other than 0 and 1 (the first one and its index).
    """
    cells = np.asarray(array)
    if cells.dtype != np.bool_ and not np.issubdtype(cells.dtype, np.integer):
        raise TypeError(
            f"{what} must be a bool or integer array of 0/1 cells, got dtype {cells.dtype}"
        )
    if cells.ndim not in layouts:
        accepted = " or ".join(f"{n}-D {axes}" for n, axes in layouts.items())
        raise ValueError(f"{what} must be a {accepted} array, got shape {cells.shape}")
    if not allow_empty and 0 in cells.shape:
        raise ValueError(f"{what} must have every dimension >= 1, got shape {cells.shape}")
    if cells.dtype != np.bool_ and cells.size and (cells.min() < 0 or cells.max() > 1):
        bad = (cells != 0) & (cells != 1)
        where = np.unravel_index(np.argmax(bad), cells.shape)
        raise ValueError(
            f"{what} must hold only 0 (dead) and 1 (alive), found {cells[where].item()!r} "
            f"at index {tuple(int(i) for i in where)}"
        )
    return np.ascontiguousarray(cells, dtype=np.uint8)
