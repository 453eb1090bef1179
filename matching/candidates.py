"""Candidate generation: graph blocking and text retrieval as sparse top-n products, united.

Graph relevance of a block of demands is ``(L_demand · R) · L_offerᵀ`` (node links through the relation
matrix to offer links); text relevance is the product of pruned TF-IDF rows. Both go through
``sparse_dot_topn.sp_matmul_topn``, block by block of the index, so a query never scans every offer. Text
candidates always join graph candidates: the graph adds knowledge and never hides what text finds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

from matching.array_sets import unique
from matching.columns import RowBlocks, padded_to_csr
from matching.county_terms import county_table
from matching.item_index import ItemIndex
from matching.kernels import cut_key, posting_sums
from matching.sides import Side

SMALL_BLOCK = 16
"""Up to this many demand rows, a product gathers postings instead of calling ``sp_matmul_topn``, which
copies the whole right-hand index arrays on every call (cheap for a batch block, linear for one query)."""


RankKey = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""``(left row, columns, scores) → key``: what ranks a few rows' candidates when more than top-n qualify."""


def _topn(left: sp.csr_matrix, blocks: RowBlocks, top_n: int, threshold: float, rank: RankKey | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """``(left row, global column)`` pairs of the top-n entries of ``left · blocksᵀ``, over every block
    (ranked by ``rank`` instead of the product, for a few rows, where given)."""
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    if left.nnz == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not (isinstance(left, sp.csr_matrix) and left.dtype == np.float32):  # scipy's checks cost ~30 µs a query
        left = sp.csr_matrix(left, dtype=np.float32)
    for start, _, transposed in blocks.blocks:
        if transposed.shape[1] == 0 or transposed.nnz == 0:
            continue
        if left.shape[0] <= SMALL_BLOCK:
            r, c = _postings_topn(left, transposed, top_n, threshold,
                                  None if rank is None else _shifted(rank, start))
            rows.append(r)
            cols.append(c + start)
            continue
        top = sp_matmul_topn(left, transposed, top_n=top_n, threshold=threshold).tocoo()
        rows.append(top.row.astype(np.int64))
        cols.append(top.col.astype(np.int64) + start)
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def _shifted(rank: RankKey, start: int) -> RankKey:
    return lambda i, cols, scores: rank(i, cols + start, scores)


def _postings_topn(left: sp.csr_matrix, postings: sp.csr_matrix, top_n: int, threshold: float,
                   rank: RankKey | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-n of a few rows times ``postings`` (features × items): sum the touched postings only (compiled)."""
    out_rows: list[np.ndarray] = []
    out_cols: list[np.ndarray] = []
    for i in range(left.shape[0]):
        lo, hi = left.indptr[i], left.indptr[i + 1]
        if lo == hi:
            continue
        items, scores = posting_sums(left.indices[lo:hi], left.data[lo:hi], postings.indptr, postings.indices,
                                     postings.data, postings.shape[1])
        if len(items) == 0:
            continue
        ok = np.flatnonzero(scores > threshold)
        if len(ok) > top_n:
            key = scores[ok] if rank is None else rank(i, items[ok].astype(np.int64), scores[ok])
            ok = ok[np.argpartition(-key, top_n - 1)[:top_n]]
            if rank is not None:
                ok = ok[np.isfinite(key[ok])]  # rows the key rules out (dead ones)
        out_rows.append(np.full(len(ok), i, np.int64))
        out_cols.append(items[ok].astype(np.int64))
    if not out_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_rows), np.concatenate(out_cols)


def _node_rows(nodes: np.ndarray, conf: np.ndarray, n_nodes: int) -> sp.csr_matrix:
    return padded_to_csr(nodes, conf, n_nodes)


def supply_candidates(index: ItemIndex, demands: Side, top_n: int, weights: Mapping[str, float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``(demand, offer row)`` candidates for a block of demands (explicit, inferred or ad hoc).

    Given the query's component ``weights``, a few demands whose graph candidates exceed ``top_n`` keep the
    ``top_n`` that :func:`_supplier_key` ranks first, not an arbitrary share of equally related offers.
    """
    p = index.params
    offers = index.offers
    nodes = _demand_nodes(index, demands)
    rank = None if weights is None else _supplier_key(index, demands, weights)
    parts = [_topn(nodes, offers.head_matrix, top_n, 1e-6, rank)]
    parts.append(_topn(_retrieval(index, demands.text_rows()), offers.retrieval, p.text_top_n, p.text_candidate_min))
    return _unique(parts, len(offers))


def _supplier_key(index: ItemIndex, demands: Side, weights: Mapping[str, float]) -> RankKey:
    """The graph relevance at the product weight plus the components that only need the two parties'
    columns (distance, cross-region, standing): the score a pair can reach, up to its text, capacity and
    policy. Dead offer rows rank last (``-inf``)."""
    offers = index.offers
    counties = county_table(index.regions)

    terms = (weights.get("product", 0.0), weights.get("distance", 0.0), weights.get("cross_region", 0.0),
             weights.get("standing", 0.0))

    def key(i: int, rows: np.ndarray, scores: np.ndarray) -> np.ndarray:
        alive, code, standing = offers.alive.view, offers.code.view, offers.standing.view
        for _ in range(2):  # compiled; a second try after the table learnt the missing counties
            distance, cross = counties.terms(float(demands.lat[i]), float(demands.lon[i]), int(demands.code[i]))
            fast = cut_key(rows, scores, alive, code, standing, counties.lookup, distance, cross, terms)
            if fast is not None:
                return fast
            counties.indices(code[rows[rows < min(len(alive), len(code))]])
        ok = rows < min(len(alive), len(code), len(standing))
        ok[ok] = alive[rows[ok]]
        safe = np.where(ok, rows, 0)
        county = counties.indices(code[safe])  # before terms(): it may add counties
        distance, cross = counties.terms(float(demands.lat[i]), float(demands.lon[i]), int(demands.code[i]))
        total = (weights.get("product", 0.0) * scores + weights.get("distance", 0.0) * distance[county]
                 + weights.get("cross_region", 0.0) * cross[county]
                 + weights.get("standing", 0.0) * standing[safe])
        out: np.ndarray = np.where(ok, total, -np.inf)
        return out

    return key


def _demand_nodes(index: ItemIndex, demands: Side) -> sp.csr_matrix:
    """Relevance of every supply node to each demand: head links through same/specialisation/sibling,
    purposes through inputs, inferred demand through the inferable inputs of what the buyer makes."""
    rel = index.relations
    inferred = demands.use_node >= 0
    if len(demands) <= SMALL_BLOCK:  # dense rows of the relation matrices: no sparse bookkeeping per query
        out = np.zeros((len(demands), rel.n_nodes), dtype=np.float32)
        for nodes, conf, matrix, rows in (
            (demands.head_nodes, demands.head_conf, rel.head_sibling, np.ones(len(demands), np.bool_)),
            (demands.use_nodes, demands.use_conf, rel.use, ~inferred),
            (demands.use_nodes, demands.use_conf, rel.inferable_use, inferred),
        ):
            for col in range(nodes.shape[1]):
                ok = np.flatnonzero((nodes[:, col] >= 0) & rows)
                if len(ok):
                    out[ok] = np.maximum(out[ok], conf[ok, col, None] * matrix[nodes[ok, col]])
        return _dense_to_csr(out)
    n = rel.n_nodes
    head = _node_rows(demands.head_nodes, demands.head_conf, n)
    use = _node_rows(demands.use_nodes, demands.use_conf, n)
    explicit_use = sp.diags((~inferred).astype(np.float32)) @ use
    inferred_use = sp.diags(inferred.astype(np.float32)) @ use
    nodes = head @ rel.head_sibling_sparse + explicit_use @ rel.use_sparse
    return sp.csr_matrix(nodes + inferred_use @ rel.inferable_sparse, dtype=np.float32)


def _dense_to_csr(dense: np.ndarray) -> sp.csr_matrix:
    """``sp.csr_matrix(dense)`` (row-major, columns ascending) without scipy's detour through COO: 68 against
    26 µs for one row of every graph node (timeit)."""
    rows, cols = np.nonzero(dense)
    indptr = np.zeros(dense.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
    return sp.csr_matrix((dense[rows, cols], cols.astype(np.int32), indptr), shape=dense.shape, copy=False)


def _retrieval(index: ItemIndex, text: sp.csr_matrix) -> sp.csr_matrix:
    """Text rows restricted to the retrieval features (boilerplate, in too many items, is never retrieved)."""
    if index.retrieval_floor is None:
        return text
    keep = np.isfinite(index.retrieval_floor[text.indices])
    return sp.csr_matrix((text.data * keep, text.indices, text.indptr), shape=text.shape)


def demand_candidates(index: ItemIndex, supply: Side, top_n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demands for one block of supplies: ``(explicit need rows, inferred buyer slots, inferred nodes)``."""
    rel = index.relations
    p = index.params
    needs = index.needs
    n = rel.n_nodes
    head = _node_rows(supply.head_nodes, supply.head_conf, n)
    to_heads = head @ rel.head_sibling_sparse_t
    to_uses = head @ rel.use_sparse_t
    parts = [_topn(sp.csr_matrix(to_heads, dtype=np.float32), needs.head_matrix, top_n, 1e-6),
             _topn(sp.csr_matrix(to_uses, dtype=np.float32), needs.use_matrix, top_n, 1e-6)]
    parts.append(_topn(_retrieval(index, supply.text_rows()), needs.retrieval, p.text_top_n, p.text_candidate_min))
    _, need_rows = _unique(parts, len(needs))
    # Inferred buyers: makers of what the offer goes into (or of what the equipment is for).
    made = sp.csr_matrix(head @ rel.inferable_sparse_t, dtype=np.float32)
    fors = _node_rows(supply.for_nodes, (supply.for_nodes >= 0).astype(np.float32), n)
    made = made + sp.csr_matrix(fors @ rel.self_and_ancestors.T, dtype=np.float32)
    made_nodes = unique(sp.csr_matrix(made).indices)
    slots: list[int] = []
    nodes: list[int] = []
    if len(made_nodes):
        selector = sp.csr_matrix(
            (np.ones(len(made_nodes), np.float32), (np.arange(len(made_nodes)), made_nodes)),
            shape=(len(made_nodes), n))
        rows, offer_rows = _topn(selector, index.offers.head_matrix, max(top_n, 4096), 1e-6)
        alive = index.offers.alive.view
        for r, o in zip(rows.tolist(), offer_rows.tolist(), strict=True):
            if alive[o]:
                slots.append(int(index.offers.ent.view[o]))
                nodes.append(int(made_nodes[r]))
    return need_rows, np.asarray(slots, np.int64), np.asarray(nodes, np.int64)


def _unique(parts: list[tuple[np.ndarray, np.ndarray]], width: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.concatenate([r for r, _ in parts]) if parts else np.zeros(0, np.int64)
    cols = np.concatenate([c for _, c in parts]) if parts else np.zeros(0, np.int64)
    key = unique(rows * max(width, 1) + cols)
    return key // max(width, 1), key % max(width, 1)
