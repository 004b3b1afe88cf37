"""``Arena``: every live trajectory of a batch of episodes in one flat buffer.

The test kernels of the native vector env (``lifegym.vector.kernels``) take trajectories by
id from here: one array for all episodes instead of one per trajectory. Finished episodes'
trajectories are dropped by :meth:`Arena.compact`.
"""

from __future__ import annotations

import numpy as np

from lifegym.vector.kernels import move_blocks

__all__ = ["Arena"]


class Arena:
    """Every live trajectory's initial condition and observed frames in one buffer, for the
    test kernel: ``layout[t]`` = (offset, H, W, h, w, n) of trajectory ``t``, its data from
    ``offset`` (uint8 cells, or uint64 words of packed rows; ``lifegym.vector.kernels``)."""

    def __init__(self, dtype: type) -> None:
        self.cells: np.ndarray = np.zeros(1 << 20, dtype=dtype)
        self.layout = np.zeros((1024, 6), dtype=np.int64)
        self.used = 0
        self.count = 0

    def reserve(self, sizes: np.ndarray, shapes: np.ndarray) -> tuple[int, np.ndarray]:
        """Room for trajectories of ``sizes[k]`` entries and shape ``shapes[k]`` (H, W, h, w,
        n) each: the first id (they get consecutive ids) and each one's offset."""
        total = int(sizes.sum())
        if self.used + total > len(self.cells):
            grown = np.zeros(max(2 * len(self.cells), self.used + total), dtype=self.cells.dtype)
            grown[: self.used] = self.cells[: self.used]
            self.cells = grown
        while self.count + len(sizes) > len(self.layout):
            self.layout = np.concatenate([self.layout, np.zeros_like(self.layout)])
        offsets = self.used + np.cumsum(sizes) - sizes
        ids = slice(self.count, self.count + len(sizes))
        self.layout[ids, 0] = offsets
        self.layout[ids, 1:] = shapes
        self.used += total
        self.count += len(sizes)
        return ids.start, offsets

    def compact(self, keep: list[list[int]]) -> list[list[int]]:
        """Drop every trajectory not in ``keep`` (ids per episode), moving the rest to the
        front in their order; returns their new ids."""
        order = sorted((t, e, k) for e, ids in enumerate(keep) for k, t in enumerate(ids))
        kept = np.array([t for t, _, _ in order], dtype=np.int64)
        ends = np.append(self.layout[1 : self.count, 0], self.used)
        starts = self.layout[kept, 0]
        sizes = ends[kept] - starts
        new_starts = np.cumsum(sizes) - sizes
        used = int(sizes.sum())
        move_blocks(self.cells, starts, new_starts, sizes)
        self.layout[: len(kept)] = self.layout[kept]
        self.layout[: len(kept), 0] = new_starts
        renamed = [list(ids) for ids in keep]
        for count, (_, e, k) in enumerate(order):
            renamed[e][k] = count
        self.used, self.count = used, len(kept)
        return renamed
