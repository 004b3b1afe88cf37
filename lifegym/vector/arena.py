"""``Arena``: every live trajectory of a batch of episodes in one flat buffer.

The test kernels of the native vector env (``lifegym.vector.kernels``) take trajectories by
id from here: one array for all episodes instead of one per trajectory. Finished episodes'
trajectories are dropped by :meth:`Arena.compact`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Arena"]


class Arena:
    """Every live trajectory's initial condition and observed frames in one buffer, for the
    test kernel: ``layout[t]`` = (offset, H, W, h, w, n) of trajectory ``t``, its data from
    ``offset`` (uint8 cells, or uint64 words of packed rows; ``lifegym.vector.kernels``)."""

    def __init__(self, dtype: type) -> None:
        self.cells = np.zeros(1 << 20, dtype=dtype)
        self.layout = np.zeros((1024, 6), dtype=np.int64)
        self.used = 0
        self.count = 0

    def add(self, initials: np.ndarray, frames: np.ndarray, shape: tuple[int, ...]) -> int:
        """Store a batch of trajectories of one shape (``initials`` (B, ...), ``frames``
        (B, ...) in the arena's form; ``shape`` = (H, W, h, w, n)); returns the first id
        (the batch gets consecutive ids)."""
        each = initials[0].size
        first, block = self.reserve(len(initials), each + frames[0].size, shape)
        block[:, :each] = initials.reshape(len(initials), -1)
        block[:, each:] = frames.reshape(len(frames), -1)
        return first

    def reserve(self, batch: int, each: int, shape: tuple[int, ...]) -> tuple[int, np.ndarray]:
        """Room for ``batch`` trajectories of ``each`` entries and one ``shape``: the first
        id (the batch gets consecutive ids) and the (batch, each) block to fill."""
        size = batch * each
        if self.used + size > len(self.cells):
            grown = np.zeros(max(2 * len(self.cells), self.used + size), dtype=self.cells.dtype)
            grown[: self.used] = self.cells[: self.used]
            self.cells = grown
        while self.count + batch > len(self.layout):
            self.layout = np.concatenate([self.layout, np.zeros_like(self.layout)])
        start = self.used
        ids = slice(self.count, self.count + batch)
        self.layout[ids, 0] = start + each * np.arange(batch)
        self.layout[ids, 1:] = shape
        self.used += size
        self.count += batch
        return ids.start, self.cells[start : start + size].reshape(batch, each)

    def size_of(self, t: int) -> int:
        """Entries trajectory ``t`` holds."""
        return int(self.layout[t + 1, 0] if t + 1 < self.count else self.used) - int(
            self.layout[t, 0]
        )

    def compact(self, keep: list[list[int]]) -> list[list[int]]:
        """Drop every trajectory not in ``keep`` (ids per episode), moving the rest to the
        front in place; returns their new ids."""
        order = sorted((t, e, k) for e, ids in enumerate(keep) for k, t in enumerate(ids))
        sizes = {t: self.size_of(t) for t, _, _ in order}
        renamed = [list(ids) for ids in keep]
        used = 0
        for count, (t, e, k) in enumerate(order):
            start, size = int(self.layout[t, 0]), sizes[t]
            self.cells[used : used + size] = self.cells[start : start + size]
            self.layout[count] = self.layout[t]
            self.layout[count, 0] = used
            renamed[e][k] = count
            used += size
        self.used, self.count = used, len(order)
        return renamed
