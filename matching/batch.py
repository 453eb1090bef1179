"""Batch top-k: every explicit need's best suppliers, block by block through the same vectorised stages.

A block of needs is one demand side; candidates, relevance, components, filters and scores are the
single-query code. Ranking is a polars sort plus ``head(k)`` per need on integer columns, with ties broken
by the rank of the ids (so the order equals the single-query order); ids become strings once, at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from matching.candidates import supply_candidates
from matching.components import components, filter_mask, weighted_score
from matching.item_index import ItemIndex
from matching.ranking import Scored, mark_served
from matching.relation_matrix import KIND_CODES
from matching.relevance import relevance
from matching.sides import Side, stored
from matching.weights import COMPONENTS, DEFAULT_PROFILE, MatchFilters, WeightProfile

ProgressFn = Callable[[int, int], None]
BATCH_COLUMNS = ["buyer_id", "need_id", "rank", "supplier_id", "offer_id", "score", "relation", *COMPONENTS]


def top_suppliers_all(
    index: ItemIndex, k: int = 10, *, block_size: int = 4096, weights: WeightProfile | None = None,
    filters: MatchFilters | None = None, progress: ProgressFn | None = None,
) -> pl.DataFrame:
    """One row per (need, rank): ``buyer_id, need_id, rank, supplier_id, offer_id, score, relation`` and
    every component. No explanations: a batch run builds them for what it publishes."""
    rows = np.flatnonzero(index.needs.alive.view[: len(index.needs)])
    ent_rank = _ranks(index.ent_id)
    offer_rank = _ranks([f"{index.ent_id[s]}\x00{o}" for s, o in
                         zip(index.offers.ent.view.tolist(), index.offers.item_id, strict=True)])
    frames: list[pl.DataFrame] = []
    for start in range(0, len(rows), block_size):
        block = stored(index, index.needs, rows[start : start + block_size])
        frames.append(_block(index, block, k, weights, filters, ent_rank, offer_rank))
        if progress is not None:
            progress(min(start + block_size, len(rows)), len(rows))
    if not frames:
        return pl.DataFrame(schema=_SCHEMA)
    out = pl.concat(frames)
    ent_ids = pl.Series(index.ent_id, dtype=pl.String)
    need_ids = pl.Series(index.needs.item_id, dtype=pl.String)
    offer_ids = pl.Series(index.offers.item_id, dtype=pl.String)
    kinds = pl.Series([str(x) for x in KIND_CODES], dtype=pl.String)
    out = out.with_columns(
        buyer_id=ent_ids.gather(out["buyer"]), need_id=need_ids.gather(out["need"]),
        supplier_id=ent_ids.gather(out["supplier"]), offer_id=offer_ids.gather(out["offer"]),
        relation=kinds.gather(out["kind"]),
    )
    return out.sort(["buyer_id", "need_id", "rank"]).select(BATCH_COLUMNS)


def _ranks(ids: list[str]) -> np.ndarray:
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def _block(index: ItemIndex, demand: Side, k: int, weights: WeightProfile | None, filters: MatchFilters | None,
           ent_rank: np.ndarray, offer_rank: np.ndarray) -> pl.DataFrame:
    profile = weights or DEFAULT_PROFILE
    active = filters or profile.filters
    di, rows = supply_candidates(index, demand, index.params.graph_top_n_batch)
    keep = index.offers.alive.view[rows]
    di, rows = di[keep], rows[keep]
    uniq, si = np.unique(rows, return_inverse=True)
    supply = stored(index, index.offers, uniq)
    ok = filter_mask(index, demand, supply, di, si, active)
    di, si = di[ok], si[ok]
    rel = relevance(index, demand, supply, di, si, equipment=False)
    comps, _ = components(index, demand, supply, di, si, rel)
    score = weighted_score(comps, profile)
    scored = Scored(di=di, si=si, score=score, backfill=rel.backfill.copy(), kind=rel.kind, product=rel.product,
                    inferred=np.zeros(len(di), np.bool_), buyer=demand.slot[di], supply_row=supply.row[si])
    mark_served(scored, index.params.served)
    keep = rel.keep & (score >= active.min_score)
    supplier = supply.slot[si][keep]
    offer = supply.row[si][keep]
    frame = pl.DataFrame({
        "buyer": demand.slot[di][keep], "need": demand.row[di][keep], "supplier": supplier, "offer": offer,
        "score": score[keep], "backfill": scored.backfill[keep], "kind": rel.kind[keep].astype(np.int64),
        "tie": ent_rank[supplier] * (len(offer_rank) + 1) + offer_rank[offer],
        **{c: v[keep] for c, v in comps.items()},
    })
    ranked = frame.sort(["need", "backfill", "score", "tie"], descending=[False, False, True, False])
    top = ranked.group_by("need", maintain_order=True).head(k)
    top = top.sort(["need", "score", "tie"], descending=[False, True, False])
    return top.with_columns(rank=pl.int_range(1, pl.len() + 1).over("need").cast(pl.Int32))


_SCHEMA: dict[str, Any] = {
    "buyer_id": pl.String, "need_id": pl.String, "rank": pl.Int32, "supplier_id": pl.String,
    "offer_id": pl.String, "score": pl.Float64, "relation": pl.String, **dict.fromkeys(COMPONENTS, pl.Float64),
}
