"""Arrays of cells: the one check of what a grid, or a stack of grids, may be.

A cell array holds 0 (dead) and 1 (alive), as bool or any integer dtype (float 0.0/1.0 too
where the caller allows it, as ``lifegym.io.parse_cells`` does). Every public function that
takes grids (``simulate``, ``write_rle``, ``parse_cells``, the image writers) validates them
here, so the errors read the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["as_cells", "kernel_input"]


def kernel_input(array: np.ndarray, dtype: type = np.uint8) -> np.ndarray:
    """``array`` as a writable C-contiguous ``dtype`` array (a copy only when it is
    read-only, strided or of another dtype): numba compiles a kernel once per argument
    type, and read-only or strided arrays are other types."""
    array = np.ascontiguousarray(array, dtype=dtype)
    return array if array.flags.writeable else array.copy()


def as_cells(
    array: object,
    what: str,
    layouts: Mapping[int, str],
    *,
    allow_empty: bool = False,
    allow_float: bool = False,
) -> np.ndarray:
    """``array`` as a C-contiguous uint8 array of 0/1 cells, or a clear error.

    ``what`` names the argument in messages; ``layouts`` maps each accepted number of
    dimensions to the meaning of its axes, e.g. ``{2: "(H, W)", 3: "(B, H, W)"}``. With
    ``allow_float`` a float array is accepted too when it holds only 0.0 and 1.0 (for grids
    typed by a person or decoded from JSON); by default floats are a ``TypeError``.

    Raises:
        TypeError: the dtype is neither bool nor an integer type (nor a float type, with
            ``allow_float``).
        ValueError: another number of dimensions; a dimension of length 0 (unless
            ``allow_empty``); a value other than 0 and 1 (the first one and its index; NaN
            and 0.5 included for floats).
    """
    cells = np.asarray(array)
    is_float = allow_float and np.issubdtype(cells.dtype, np.floating)
    if cells.dtype != np.bool_ and not np.issubdtype(cells.dtype, np.integer) and not is_float:
        kinds = "bool, integer or float" if allow_float else "bool or integer"
        raise TypeError(f"{what} must be a {kinds} array of 0/1 cells, got dtype {cells.dtype}")
    if cells.ndim not in layouts:
        accepted = " or ".join(f"{n}-D {axes}" for n, axes in layouts.items())
        raise ValueError(f"{what} must be a {accepted} array, got shape {cells.shape}")
    if not allow_empty and 0 in cells.shape:
        raise ValueError(f"{what} must have every dimension >= 1, got shape {cells.shape}")
    # Integers need only a range check; floats can also hold 0.5 or NaN, so look at each value.
    if cells.dtype != np.bool_ and cells.size and (is_float or cells.min() < 0 or cells.max() > 1):
        bad = (cells != 0) & (cells != 1)
        if bad.any():
            where = np.unravel_index(np.argmax(bad), cells.shape)
            raise ValueError(
                f"{what} must hold only 0 (dead) and 1 (alive), found {cells[where].item()!r} "
                f"at index {tuple(int(i) for i in where)}"
            )
    return np.ascontiguousarray(cells, dtype=np.uint8)
