"""The chain map with its firms (产业图谱): per node of a chain, who supplies it and who needs it.

A firm supplies a node when one of its live offers is linked to it; it needs a node when one of its posted
needs is linked to it (``explicit``) or it makes a product the node is an input of (``inferred``, see
:mod:`matching.chainmap.facts`). Counts are split inside/outside the circle and per county; ``region_code``
(county, city or province) keeps only firms located there. JSON lists at most ``firms_limit`` firms per role
and node (in the circle first, then by id); the CSV/XLSX table lists every one.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from matching.chainmap.facts import ChainFacts, chain_node_ids, in_region
from matching.chainmap.report import Report
from matching.chains import SEGMENTS
from matching.errors import NotFoundError


def chain_map(facts: ChainFacts, chain_id: str, region_code: str | None = None, firms_limit: int = 50) -> Report:
    """The map of one chain (``NotFoundError`` for an unknown chain)."""
    graph = facts.graph
    chain = graph.chains.get(chain_id)
    if chain is None:
        raise NotFoundError("chain", chain_id)
    pos = facts.index.relations.pos
    ids = [n for n in chain_node_ids(chain) if n in pos]
    segment_of = {nid: seg for seg in SEGMENTS for nid in chain.segments.get(seg, ())}
    nodes = pl.Series([pos[n] for n in ids], dtype=pl.Int64)
    firms = facts.firms.select("slot", "enterprise_id", "name")
    sup = (facts.supply.filter(pl.col("node").is_in(nodes.implode()) & in_region("region_code", region_code))
           .unique(["node", "slot"]).with_columns(role=pl.lit("supplies"), inferred=pl.lit(False)))
    dem = (facts.demand.filter(pl.col("node").is_in(nodes.implode()) & in_region("region_code", region_code))
           .sort("inferred").unique(["node", "slot"], keep="first")
           .with_columns(role=pl.when(pl.col("inferred")).then(pl.lit("needs_inferred")).otherwise(pl.lit("needs"))))
    cols = ["node", "slot", "role", "region_code", "in_circle"]
    rows = pl.concat([sup.select(cols), dem.select(cols)]).join(firms, on="slot")
    rows = rows.sort(["node", "role", "in_circle", "enterprise_id"], descending=[False, False, True, False])
    by_node = {k[0]: v for k, v in rows.partition_by("node", as_dict=True).items()}
    items = [_node_item(facts, nid, segment_of.get(nid), by_node.get(pos[nid], rows.clear()), firms_limit)
             for nid in ids]
    table = rows.join(facts.node_frame(), on="node").select(
        "node_id", "node_name", "role", "enterprise_id", "name", "region_code", "in_circle")
    order = {n: i for i, n in enumerate(ids)}
    table = table.with_columns(order=pl.col("node_id").replace_strict(order, return_dtype=pl.Int64)).sort(
        ["order", "role", "in_circle", "enterprise_id"], descending=[False, False, True, False]).drop("order")
    totals = {role: int(rows.filter(pl.col("role") == role)["slot"].n_unique())
              for role in ("supplies", "needs", "needs_inferred")}
    return Report("chain_map", items, table, params={"firms_limit": firms_limit},
                  meta={"chain": chain_id, "chain_name": chain.name, "region_code": region_code, "firms": totals})


def _node_item(facts: ChainFacts, node_id: str, segment: str | None, rows: pl.DataFrame,
               limit: int) -> dict[str, Any]:
    node = facts.graph.nodes[node_id]
    out: dict[str, Any] = {"node_id": node_id, "node_name": node.name, "kind": node.kind.value, "segment": segment}
    for role in ("supplies", "needs", "needs_inferred"):
        part = rows.filter(pl.col("role") == role)
        inside = int(part["in_circle"].sum())
        per_region = part.group_by("region_code").len().sort(["len", "region_code"], descending=[True, False])
        out[role] = {
            "total": part.height, "in_circle": inside, "outside_circle": part.height - inside,
            "by_region": {str(r): int(n) for r, n in per_region.iter_rows()},
            "firms": [{"enterprise_id": r["enterprise_id"], "name": r["name"], "region_code": r["region_code"],
                       "in_circle": r["in_circle"]} for r in part.head(limit).iter_rows(named=True)],
        }
    return out
