"""Append-only column storage: growable numpy arrays and sparse row matrices kept in blocks.

Writes append (amortised O(1), the capacity doubles) and never move what a reader already holds: a grown
array is a new object, and a reader keeps the one it took. Sparse rows live in blocks, one per write
batch; :meth:`RowBlocks.compact` merges them (the engine runs it in the background) so products stay
few per query.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp


class Growable:
    """A numpy array with spare capacity; ``view`` is the filled part (rows ``0 .. len-1``)."""

    def __init__(self, dtype: Any, width: int | None = None, fill: Any = 0, capacity: int = 1024) -> None:
        shape = (capacity,) if width is None else (capacity, width)
        self._fill = fill
        self._data = np.full(shape, fill, dtype=dtype)
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @property
    def view(self) -> np.ndarray:
        return self._data[: self._len]

    def extend(self, values: np.ndarray) -> None:
        n = len(values)
        need = self._len + n
        if need > len(self._data):
            cap = max(need, 2 * len(self._data))
            grown = np.full((cap, *self._data.shape[1:]), self._fill, dtype=self._data.dtype)
            grown[: self._len] = self._data[: self._len]
            self._data = grown
        self._data[self._len : need] = values
        self._len = need

    def set(self, rows: np.ndarray | Sequence[int], value: Any) -> None:
        self._data[np.asarray(rows, dtype=np.int64)] = value


class RowBlocks:
    """Sparse rows (items × features) in blocks, each kept also transposed for top-n products."""

    def __init__(self, n_features: int, dtype: Any = np.float32) -> None:
        self.n_features = n_features
        self.dtype = dtype
        self._blocks: tuple[tuple[int, sp.csr_matrix, sp.csr_matrix], ...] = ()
        self._rows = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._rows

    @property
    def blocks(self) -> tuple[tuple[int, sp.csr_matrix, sp.csr_matrix], ...]:
        """``(first row, rows, rows transposed)`` per block; a reader takes the tuple once."""
        return self._blocks

    def append(self, rows: sp.csr_matrix) -> None:
        rows = sp.csr_matrix(rows, dtype=self.dtype)
        with self._lock:
            block = (self._rows, rows, rows.T.tocsr())
            self._blocks = (*self._blocks, block)
            self._rows += rows.shape[0]

    def clear_rows(self, rows: Sequence[int]) -> None:
        """Zero the given rows (tombstones); the blocks are replaced, never edited in place."""
        if len(rows) == 0:
            return
        dead = np.asarray(sorted(rows), dtype=np.int64)
        with self._lock:
            out = []
            for start, m, mt in self._blocks:
                local = dead[(dead >= start) & (dead < start + m.shape[0])] - start
                if len(local):
                    keep = np.ones(m.shape[0], dtype=self.dtype)
                    keep[local] = 0
                    m = sp.csr_matrix(sp.diags(keep) @ m)
                    m.eliminate_zeros()
                    mt = m.T.tocsr()
                out.append((start, m, mt))
            self._blocks = tuple(out)

    def compact(self, max_blocks: int = 1) -> bool:
        """Merge the blocks into one when there are more than ``max_blocks``; returns whether it merged."""
        blocks = self._blocks
        if len(blocks) <= max_blocks:
            return False
        merged = sp.vstack([m for _, m, _ in blocks], format="csr")
        merged_t = merged.T.tocsr()
        with self._lock:
            if self._blocks[: len(blocks)] != blocks:  # pragma: no cover - only clear_rows races here
                return False
            rest = self._blocks[len(blocks) :]
            self._blocks = ((0, merged, merged_t), *rest)
        return True

    def rows(self, idx: np.ndarray) -> sp.csr_matrix:
        """The rows ``idx`` (global row numbers), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        blocks = self._blocks
        if len(blocks) == 1:
            return blocks[0][1][idx]
        parts: list[sp.csr_matrix] = []
        order: list[np.ndarray] = []
        for start, m, _ in blocks:
            sel = np.flatnonzero((idx >= start) & (idx < start + m.shape[0]))
            if len(sel):
                parts.append(m[idx[sel] - start])
                order.append(sel)
        if not parts:
            return sp.csr_matrix((len(idx), self.n_features), dtype=self.dtype)
        stacked = sp.vstack(parts, format="csr")
        pos = np.concatenate(order)
        inverse = np.empty(len(idx), dtype=np.int64)
        inverse[pos] = np.arange(len(idx))
        return stacked[inverse]


def row_dots(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Row-wise dot products of two equally shaped sparse matrices."""
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def padded(lists: Sequence[Sequence[tuple[int, float]]], width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(nodes, weights)`` arrays of shape ``(len, width)``, strongest first, padded with -1 / 0."""
    nodes = np.full((len(lists), width), -1, dtype=np.int32)
    weights = np.zeros((len(lists), width), dtype=np.float32)
    for i, links in enumerate(lists):
        for j, (node, w) in enumerate(sorted(links, key=lambda x: (-x[1], x[0]))[:width]):
            nodes[i, j] = node
            weights[i, j] = w
    return nodes, weights


def padded_to_csr(nodes: np.ndarray, weights: np.ndarray, n_cols: int) -> sp.csr_matrix:
    """Rows × node-columns sparse matrix from padded link arrays (padding dropped)."""
    rows = np.repeat(np.arange(nodes.shape[0]), nodes.shape[1])
    flat_n = nodes.ravel()
    keep = flat_n >= 0
    return sp.csr_matrix(
        (weights.ravel()[keep], (rows[keep], flat_n[keep])), shape=(nodes.shape[0], n_cols), dtype=np.float32
    )
