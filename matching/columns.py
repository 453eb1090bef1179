"""Append-only column storage: growable numpy arrays and sparse row matrices kept in blocks.

Writes append (amortised O(1), the capacity doubles) and never move what a reader already holds: a grown
array is a new object, and a reader keeps the one it took. Sparse rows live in blocks, one per write
batch; a tombstone only clears the ``alive`` flag, and :meth:`RowBlocks.compact` (run in the background)
merges blocks and drops dead rows, so products stay few per query and a write never rewrites the base.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from matching.kernels import pair_dots_few


class Growable:
    """A numpy array with spare capacity; ``view`` is the filled part (rows ``0 .. len-1``)."""

    def __init__(self, dtype: Any, width: int | None = None, fill: Any = 0, capacity: int = 1024) -> None:
        shape = (capacity,) if width is None else (capacity, width)
        self._fill = fill
        self._data = np.full(shape, fill, dtype=dtype)
        self._len = 0

    def __len__(self) -> int:
        return self._len

    @classmethod
    def with_room(cls, data: np.ndarray, fill: Any = 0) -> Growable:
        """``data`` copied into an array with half as much again spare, so the next appends copy nothing
        (a loaded index's first write must not copy a million-row column inside a request)."""
        out = cls(data.dtype, None if data.ndim == 1 else data.shape[1], fill, len(data) + len(data) // 2 + 1024)
        out.extend(data)
        return out

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
    """Sparse rows (items × features) in blocks, each kept also transposed for top-n products.

    ``transposed=False`` keeps rows only (a matrix that is gathered by row, never multiplied against): the
    transposed copy would double its memory for nothing.
    """

    def __init__(self, n_features: int, dtype: Any = np.float32, *, transposed: bool = True) -> None:
        self.n_features = n_features
        self.dtype = dtype
        self.keep_transposed = transposed
        self._blocks: tuple[tuple[int, sp.csr_matrix, sp.csr_matrix], ...] = ()
        self._rows = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._rows

    def after_fork(self) -> None:
        """In a forked child: a new lock (another thread of the parent may have held this one at the fork)."""
        self._lock = threading.Lock()

    @classmethod
    def wrap(cls, matrix: sp.csr_matrix, transposed: sp.csr_matrix, dtype: Any = np.float32, *,
             keep_transposed: bool = True) -> RowBlocks:
        """One block made of existing (possibly memory-mapped) matrices."""
        out = cls(matrix.shape[1], dtype, transposed=keep_transposed)
        out._blocks = ((0, matrix, transposed),)
        out._rows = matrix.shape[0]
        return out

    @property
    def blocks(self) -> tuple[tuple[int, sp.csr_matrix, sp.csr_matrix], ...]:
        """``(first row, rows, rows transposed)`` per block; a reader takes the tuple once."""
        return self._blocks

    def append(self, rows: sp.csr_matrix) -> None:
        rows = sp.csr_matrix(rows, dtype=self.dtype)
        with self._lock:
            block = (self._rows, rows, self._transpose(rows))
            self._blocks = (*self._blocks, block)
            self._rows += rows.shape[0]

    def compact(self, alive: np.ndarray, blocks: tuple[tuple[int, sp.csr_matrix, sp.csr_matrix], ...] | None = None,
                delta_share: float = 0.1) -> bool:
        """Merge blocks, dropping the entries of dead rows; returns whether anything was merged.

        Tiered, so the cost of a write stays flat: the small blocks after the base merge into one delta
        block; the delta joins the base only once it holds ``delta_share`` of the base's rows.
        """
        blocks = self._blocks if blocks is None else blocks  # a snapshot taken together with ``alive``
        if len(blocks) <= 1:
            return False
        base_rows = blocks[0][1].shape[0]
        delta_rows = sum(m.shape[0] for _, m, _ in blocks[1:])
        group = blocks if delta_rows >= delta_share * base_rows else blocks[1:]
        if len(group) <= 1:
            return False
        start = group[0][0]
        merged = sp.vstack([m for _, m, _ in group], format="csr")
        keep = alive[start : start + merged.shape[0]]
        if not keep.all():  # a fresh build's blocks are all alive: no masked copy of the merged matrix
            merged = sp.csr_matrix(sp.diags(keep.astype(self.dtype)) @ merged)
            merged.eliminate_zeros()
        block = (start, merged, self._transpose(merged))
        with self._lock:
            current = self._blocks
            if len(current) < len(blocks) or any(a is not b for a, b in zip(current, blocks, strict=False)):
                return False  # another compaction won the race: nothing lost, the next one retries
            head = current[: len(blocks) - len(group)]
            self._blocks = (*head, block, *current[len(blocks) :])
        return True

    def _transpose(self, m: sp.csr_matrix) -> sp.csr_matrix:
        if self.keep_transposed:
            return m.T.tocsr()
        return sp.csr_matrix((0, m.shape[0]), dtype=self.dtype)  # a placeholder: never multiplied

    def rows(self, idx: np.ndarray) -> sp.csr_matrix:
        """The rows ``idx`` (global row numbers), in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        blocks = self._blocks
        if len(blocks) == 1:
            return take_rows(blocks[0][1], idx)
        if len(idx) == 1:  # one row (a single query's need): its block, without stacking every block's share
            for start, m, _ in blocks:
                if start <= idx[0] < start + m.shape[0]:
                    return take_rows(m, idx - start)
        parts: list[sp.csr_matrix] = []
        order: list[np.ndarray] = []
        for start, m, _ in blocks:
            sel = np.flatnonzero((idx >= start) & (idx < start + m.shape[0]))
            if len(sel):
                parts.append(take_rows(m, idx[sel] - start))
                order.append(sel)
        if not parts:
            return sp.csr_matrix((len(idx), self.n_features), dtype=self.dtype)
        stacked = sp.vstack(parts, format="csr")
        pos = np.concatenate(order)
        inverse = np.empty(len(idx), dtype=np.int64)
        inverse[pos] = np.arange(len(idx))
        return stacked[inverse]

    def pair_dots(self, a: sp.csr_matrix, ai: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """``pair_dots(a, self.rows(rows), ai, arange)`` without gathering: each pair's row is read in its
        block (the same products summed in the same order, so equal bit for bit)."""
        rows = np.asarray(rows, dtype=np.int64)
        ai = np.asarray(ai, dtype=np.int64)
        out = np.zeros(len(ai), dtype=np.float64)
        for start, m, _ in self._blocks:
            sel = np.flatnonzero((rows >= start) & (rows < start + m.shape[0]))
            if len(sel):
                out[sel] = pair_dots_few(a.indptr, a.indices, a.data, m.indptr, m.indices, m.data, ai[sel],
                                         rows[sel] - start, a.shape[1])
        return np.asarray(out, dtype=np.float32).astype(np.float64)


MANY_ROWS = 128
"""Above this many rows, :func:`take_rows` leaves the copy to scipy."""


def take_rows(m: sp.csr_matrix, idx: np.ndarray) -> sp.csr_matrix:
    """``m[idx]`` for row numbers ``idx`` in range: for a few dozen rows one gather of the rows' entries,
    without the checks of scipy's fancy indexing, which cost more than such a gather; for more rows scipy's
    compiled row copy, which beats the gather's index arithmetic (3.5× at a thousand rows)."""
    if len(idx) > MANY_ROWS:
        return m[idx]
    starts = m.indptr[idx].astype(np.int64)
    lengths = m.indptr[idx + 1] - starts
    indptr = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    if len(idx) <= 8:  # a few long rows (a query's postings): copy slices
        data = np.concatenate([m.data[a : a + n] for a, n in zip(starts.tolist(), lengths.tolist(), strict=True)]
                              or [m.data[:0]])
        indices = np.concatenate([m.indices[a : a + n] for a, n in zip(starts.tolist(), lengths.tolist(), strict=True)]
                                 or [m.indices[:0]])
    else:
        pos = np.repeat(starts - indptr[:-1], lengths) + np.arange(indptr[-1])
        data, indices = m.data[pos], m.indices[pos]
    return sp.csr_matrix((data, indices, indptr.astype(m.indices.dtype)), shape=(len(idx), m.shape[1]), copy=False)


def row_dots(a: sp.csr_matrix, b: sp.csr_matrix) -> np.ndarray:
    """Row-wise dot products of two equally shaped sparse matrices."""
    if a.shape[0] == 0:
        return np.zeros(0, dtype=np.float64)
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


SMALL_SIDE = 16
"""Up to this many rows on the ``a`` side, :func:`pair_dots` scatters each ``a`` row into a dense vector."""


def pair_dots(a: sp.csr_matrix, b: sp.csr_matrix, ai: np.ndarray, bi: np.ndarray) -> np.ndarray:
    """Dot products of the row pairs ``(a[ai[p]], b[bi[p]])``.

    A single query pairs one or a few demand rows with a few hundred supply rows: scattering each ``a`` row
    into a dense vector and reading it at every stored entry of ``b`` is about twice as cheap as gathering a
    row of each side per pair (or a sparse product, whose transposed operand has one ``indptr`` entry per
    corpus feature). Large batches gather.
    """
    if len(ai) == 0:
        return np.zeros(0, dtype=np.float64)
    # Both ways sum exact float64 products of the float32 weights and round to float32, so a pair scores
    # the same in a single query as in a batch run.
    if a.shape[0] <= SMALL_SIDE:
        dots = pair_dots_few(a.indptr, a.indices, a.data, b.indptr, b.indices, b.data, ai, bi, a.shape[1])
    else:
        dots = row_dots(a[ai].astype(np.float64), b[bi].astype(np.float64))
    return np.asarray(dots, dtype=np.float32).astype(np.float64)


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
