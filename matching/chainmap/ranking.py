"""The engine's own ranking, run block by block over many demands at once, with an optional supplier mask.

This is :mod:`matching.batch`'s path (candidates → filters → relevance → components → weighted score →
served rule → top-k per demand with ties broken by ids), so a gap's suppliers and a target's matches are the
ones a match request would propose. Two kinds of demand feed it:

* :func:`node_demands` — "who can supply node n to this buyer": a demand row whose product is exactly the
  node, placed at a real buyer's county (so distance, region and policy components are that buyer's);
* :func:`firm_demands` — every posted need and every inferred demand of the given firms (the engine's
  :func:`~matching.sides.stored` and :func:`~matching.sides.inferred` sides).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import scipy.sparse as sp

from matching.candidates import supply_candidates
from matching.components import components, filter_mask, weighted_score
from matching.item_columns import FOR_WIDTH, HEAD_WIDTH, USE_WIDTH
from matching.item_index import ItemIndex
from matching.ranking import Scored, mark_served
from matching.relation_matrix import KIND_CODES
from matching.relevance import relevance
from matching.sides import Side, concat, inferred, party_columns, stored
from matching.weights import DEFAULT_PROFILE, WeightProfile

ProgressFn = Callable[[int, int], None]
SupplierMask = Callable[[Side], np.ndarray]
"""Which suppliers of a block may be listed (e.g. only those outside the circle)."""


def node_demands(index: ItemIndex, slots: np.ndarray, nodes: np.ndarray) -> Side:
    """Demand rows "buyer ``slots[i]`` wants exactly node ``nodes[i]``" (a confident head link)."""
    slots = np.asarray(slots, dtype=np.int64)
    n = len(slots)
    head_nodes = np.full((n, HEAD_WIDTH), -1, dtype=np.int32)
    head_conf = np.zeros((n, HEAD_WIDTH), dtype=np.float32)
    head_nodes[:, 0] = nodes
    head_conf[:, 0] = 1.0
    node_matrix = index.linker.node_matrix_
    assert node_matrix is not None
    return Side(
        **party_columns(index, slots),  # type: ignore[arg-type]
        row=np.full(n, -1, dtype=np.int64), use_node=np.full(n, -1, dtype=np.int64),
        head_nodes=head_nodes, head_conf=head_conf,
        use_nodes=np.full((n, USE_WIDTH), -1, dtype=np.int32), use_conf=np.zeros((n, USE_WIDTH), np.float32),
        for_nodes=np.full((n, FOR_WIDTH), -1, dtype=np.int32), family=np.zeros(n, dtype=np.int8),
        confident=np.ones(n, dtype=np.bool_), use_alone=np.zeros(n, dtype=np.bool_),
        part_of_category=np.zeros(n, dtype=np.bool_), qty=np.full(n, np.nan),
        qty_dim=np.full(n, -1, dtype=np.int16), required=_empty_sets(n), has_required=np.zeros(n, dtype=np.bool_),
        text=sp.csr_matrix(node_matrix[np.asarray(nodes, dtype=np.int64)], dtype=np.float32),
    )


def firm_demands(index: ItemIndex, slots: np.ndarray) -> Side:
    """Every live posted need and every inferred demand (what each firm makes) of the firms ``slots``."""
    wanted = set(np.asarray(slots, dtype=np.int64).tolist())
    n = len(index.needs)
    rows = np.flatnonzero(index.needs.alive.view[:n])
    rows = rows[np.isin(index.needs.ent.view[rows], np.fromiter(wanted, dtype=np.int64, count=len(wanted)))]
    made = [(rec.slot, node, conf) for rec in index.records.values() if rec.slot in wanted
            for node, conf in sorted(rec.made.items())]
    implied = inferred(index, np.array([s for s, *_ in made], dtype=np.int64),
                       np.array([m for _, m, _ in made], dtype=np.int64), np.array([c for *_, c in made], np.float32))
    return concat(stored(index, index.needs, rows), implied)


def rank_suppliers(
    index: ItemIndex, demand: Side, k: int, *, mask: SupplierMask | None = None,
    weights: WeightProfile | None = None, block_size: int = 4096, progress: ProgressFn | None = None,
) -> pl.DataFrame:
    """Top-``k`` suppliers of every demand row: ``demand`` (row position), ``rank``, ``supplier`` (slot),
    ``offer`` (row), ``score``, ``relation``, ``product`` (component) and ``distance`` (component)."""
    ent_rank = _ranks(index.ent_id)
    frames: list[pl.DataFrame] = []
    total = len(demand)
    for start in range(0, total, block_size):
        sel = np.arange(start, min(start + block_size, total))
        block = demand.take(sel)
        frames.append(_block(index, block, start, k, mask, weights, ent_rank))
        if progress is not None:
            progress(int(sel[-1]) + 1, total)
    if not frames:
        return _empty()
    kinds = pl.Series([str(x) for x in KIND_CODES], dtype=pl.String)
    out = pl.concat(frames)
    return out.with_columns(relation=kinds.gather(out["kind"])).drop("kind", "tie", "backfill")


def _block(index: ItemIndex, demand: Side, offset: int, k: int, mask: SupplierMask | None,
           weights: WeightProfile | None, ent_rank: np.ndarray) -> pl.DataFrame:
    profile = weights or DEFAULT_PROFILE
    active = profile.filters
    di, rows = supply_candidates(index, demand, index.params.graph_top_n_batch)
    keep = index.offers.alive.view[rows]
    di, rows = di[keep], rows[keep]
    if len(di) == 0:
        return _empty(raw=True)
    uniq, si = np.unique(rows, return_inverse=True)
    supply = stored(index, index.offers, uniq)
    ok = filter_mask(index, demand, supply, di, si, active)
    if mask is not None:
        ok &= mask(supply)[si]
    di, si = di[ok], si[ok]
    rel = relevance(index, demand, supply, di, si, equipment=False)
    comps, _ = components(index, demand, supply, di, si, rel)
    score = weighted_score(comps, profile)
    scored = Scored(di=di, si=si, score=score, backfill=rel.backfill.copy(), kind=rel.kind, product=rel.product,
                    inferred=demand.use_node[di] >= 0, buyer=demand.slot[di], supply_row=supply.row[si])
    mark_served(scored, index.params.served)
    keep = rel.keep & (score >= active.min_score)
    supplier = supply.slot[si][keep].astype(np.int64)
    offer = supply.row[si][keep].astype(np.int64)
    frame = pl.DataFrame({
        "demand": (di[keep] + offset).astype(np.int64), "supplier": supplier, "offer": offer,
        "score": score[keep].astype(np.float64), "backfill": scored.backfill[keep],
        "kind": rel.kind[keep].astype(np.int64), "product": comps["product"][keep].astype(np.float64),
        "distance": comps["distance"][keep].astype(np.float64),
        "tie": ent_rank[supplier] * (len(index.offers) + 1) + offer,
    })
    ranked = frame.sort(["demand", "backfill", "score", "tie"], descending=[False, False, True, False])
    top = ranked.group_by("demand", maintain_order=True).head(k)
    top = top.sort(["demand", "score", "tie"], descending=[False, True, False])
    return top.with_columns(rank=pl.int_range(1, pl.len() + 1).over("demand").cast(pl.Int64))


def _empty(raw: bool = False) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {
        "demand": pl.Int64(), "supplier": pl.Int64(), "offer": pl.Int64(), "score": pl.Float64(),
        "product": pl.Float64(), "distance": pl.Float64(), "rank": pl.Int64(),
    }
    if raw:
        schema |= {"backfill": pl.Boolean(), "kind": pl.Int64(), "tie": pl.Int64()}
        order = ["demand", "supplier", "offer", "score", "backfill", "kind", "product", "distance", "tie", "rank"]
        return pl.DataFrame(schema=schema).select(order)
    return pl.DataFrame(schema=schema | {"relation": pl.String()})


def _ranks(ids: list[str]) -> np.ndarray:
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def _empty_sets(n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [frozenset()] * n
    return out
