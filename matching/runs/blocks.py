"""Blocks of buyers through the vectorised engine stages: every pair a block's needs can be served by.

A block is a set of buyer enterprises (sorted by id) whose explicit needs plus inferred demand (what they
make, through its inferable inputs) fill about ``block_size`` demand rows; memory is bounded by that size.
Each block goes through the engine's own stages (candidates → filters → relevance → components → score →
served rule → explicit-over-inferred de-duplication), then is reduced to one best pair per (buyer, supplier)
and cut twice: each buyer's best ``depth`` suppliers (for the allocation) and each supplier's best ``k``
buyers within the block (merged across blocks into buyer lists, see :mod:`matching.runs.compute`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from matching.candidates import supply_candidates
from matching.components import components, filter_mask, weighted_score
from matching.item_index import ItemIndex
from matching.ranking import Scored, dedupe, mark_served
from matching.relevance import relevance
from matching.sides import Side, concat, inferred, stored
from matching.weights import COMPONENTS, MatchFilters, WeightProfile

PAIR_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "buyer": pl.Int64, "supplier": pl.Int64, "need": pl.Int64, "node": pl.Int64, "offer": pl.Int64,
    "supply_node": pl.Int64, "kind": pl.Int64, "backfill": pl.Boolean, "score": pl.Float64, "km": pl.Float64,
    **dict.fromkeys(COMPONENTS, pl.Float64),
}


@dataclass
class BlockContext:
    """What every block needs besides the index: scoring settings and the id ranks that break ties."""

    index: ItemIndex
    weights: WeightProfile
    filters: MatchFilters
    k: int
    depth: int
    ent_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    item_rank: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        ix = self.index
        self.ent_rank = _ranks(ix.ent_id)
        # one rank over offer and need ids (offers first), so the pair tie-break is a single integer
        self.item_rank = _ranks(list(ix.offers.item_id) + list(ix.needs.item_id))


@dataclass
class BlockResult:
    """A block's reduced pairs: buyers' best suppliers and suppliers' best buyers (integer columns)."""

    suppliers: pl.DataFrame
    buyers: pl.DataFrame
    demands: int


def _ranks(ids: list[str]) -> np.ndarray:
    order = np.argsort(np.asarray(ids, dtype=object), kind="stable")
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    return rank


def plan_blocks(index: ItemIndex, block_size: int) -> list[list[str]]:
    """Buyer ids in id order, cut into blocks of about ``block_size`` demand rows (a buyer is never split)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    rows = 0
    for eid in sorted(index.records):
        rec = index.records[eid]
        n = len(rec.need_rows) + len(rec.made)
        if n == 0:
            continue
        if current and rows + n > block_size:
            blocks.append(current)
            current, rows = [], 0
        current.append(eid)
        rows += n
    if current:
        blocks.append(current)
    return blocks


def _demand(index: ItemIndex, buyer_ids: list[str]) -> Side:
    recs = [index.records[e] for e in buyer_ids]
    alive = index.needs.alive.view
    explicit = stored(index, index.needs, np.array([r for rec in recs for r in rec.need_rows if alive[r]],
                                                   dtype=np.int64))
    made = [(rec.slot, node, conf) for rec in recs for node, conf in sorted(rec.made.items())]
    implied = inferred(index, np.array([m[0] for m in made], dtype=np.int64),
                       np.array([m[1] for m in made], dtype=np.int64),
                       np.array([m[2] for m in made], dtype=np.float32))
    return concat(explicit, implied)


def run_block(ctx: BlockContext, buyer_ids: list[str]) -> BlockResult:
    """All scored pairs of the block's buyers, reduced (see the module docstring)."""
    ix = ctx.index
    demand = _demand(ix, buyer_ids)
    di, rows = supply_candidates(ix, demand, ix.params.graph_top_n_batch)
    keep = ix.offers.alive.view[rows]
    di, rows = di[keep], rows[keep]
    uniq, si = np.unique(rows, return_inverse=True)
    supply = stored(ix, ix.offers, uniq)
    ok = filter_mask(ix, demand, supply, di, si, ctx.filters)
    di, si = di[ok], si[ok]
    rel = relevance(ix, demand, supply, di, si, equipment=False)
    comps, km = components(ix, demand, supply, di, si, rel)
    score = weighted_score(comps, ctx.weights)
    scored = Scored(di=di, si=si, score=score, backfill=rel.backfill.copy(), kind=rel.kind, product=rel.product,
                    inferred=demand.use_node[di] >= 0, buyer=demand.slot[di], supply_row=supply.row[si])
    mark_served(scored, ix.params.served)
    kept = np.flatnonzero(rel.keep & (score >= ctx.filters.min_score))
    sub = Scored(*(getattr(scored, f)[kept] for f in Scored.__dataclass_fields__))
    idx = kept[dedupe(sub)]
    need = demand.row[di[idx]]
    offer = supply.row[si[idx]]
    frame = pl.DataFrame({
        "buyer": demand.slot[di[idx]].astype(np.int64), "supplier": supply.slot[si[idx]].astype(np.int64),
        "need": need.astype(np.int64), "node": demand.use_node[di[idx]].astype(np.int64),
        "offer": offer.astype(np.int64), "supply_node": rel.supply_node[idx].astype(np.int64),
        "kind": rel.kind[idx].astype(np.int64), "backfill": scored.backfill[idx], "score": score[idx],
        "km": km[idx].astype(np.float64), **{c: v[idx].astype(np.float64) for c, v in comps.items()},
        # pair tie-break: offer id, then need id (inferred demand after explicit), then the inferred node
        "_tie": ctx.item_rank[offer] * (len(ctx.item_rank) + 1) * 4096
        + np.where(need >= 0, ctx.item_rank[len(ix.offers.item_id) + np.maximum(need, 0)], len(ctx.item_rank)) * 4096
        + np.maximum(demand.use_node[di[idx]], 0) % 4096,
    }, schema_overrides=PAIR_SCHEMA)
    best = best_pairs(frame)
    return BlockResult(
        suppliers=cut(best, "buyer", "supplier", ctx.depth, ctx.ent_rank),
        buyers=cut(best, "supplier", "buyer", ctx.k, ctx.ent_rank),
        demands=len(demand),
    )


def best_pairs(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per (buyer, supplier): its best pair (main before backfill, higher score, then ids)."""
    ordered = frame.sort(["buyer", "supplier", "backfill", "score", "_tie"],
                         descending=[False, False, False, True, False])
    return ordered.unique(["buyer", "supplier"], keep="first", maintain_order=True).drop("_tie")


def cut(pairs: pl.DataFrame, owner: str, other: str, n: int, ent_rank: np.ndarray) -> pl.DataFrame:
    """Each ``owner``'s best ``n`` pairs: main pairs first, then by score, ties by the other party's id."""
    rank = pl.Series(ent_rank, dtype=pl.Int64)
    ranked = pairs.with_columns(_other=rank.gather(pairs[other]))
    ranked = ranked.sort([owner, "backfill", "score", "_other"], descending=[False, False, True, False])
    return ranked.group_by(owner, maintain_order=True).head(n).select(list(PAIR_SCHEMA))
