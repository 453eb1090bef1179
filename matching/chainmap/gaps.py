"""Gaps (填空卡位 / 补链) and recruitment targets (招商图谱).

A node is a gap when firms inside the circle need it (a posted need, or an inferred input of what they make)
and either no firm inside the circle viably supplies it (``missing``), or — where the volumes are known — the
in-circle suppliers' capacity covers less than ``coverage_share`` of the in-circle demand (``short``). Coverage
is judged only when every in-circle viable offer states a capacity in the demand's dimension; otherwise it is
unknown and the node is no ``short`` gap. Gaps are ranked by the demand they would serve: firms with a posted
need count 1, firms whose need is only inferred ``inferred_weight``; then by volume and node id.

Each gap lists its best viable suppliers outside the circle (see :mod:`matching.chainmap.warnings` for
"viable") in the order the engine ranks them for the gap's lead buyer (the firm with the largest posted
volume, else the first posted need, else the first inferred one, by id).
Recruitment targets gather those suppliers across a region's gaps, weighted by what each gap serves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from matching.chainmap.facts import ChainFacts, in_region
from matching.chainmap.ranking import node_demands, rank_suppliers
from matching.chainmap.report import Report
from matching.sides import Side


def _demand_in_circle(facts: ChainFacts, region_code: str | None, chain: str | None) -> pl.DataFrame:
    dem = facts.demand.filter(pl.col("in_circle") & in_region("region_code", region_code))
    nodes = facts.chain_nodes(chain)
    if nodes is not None:
        dem = dem.filter(pl.col("node").is_in(nodes.implode()))
    return dem


def gap_table(facts: ChainFacts, region_code: str | None = None, chain: str | None = None,
              coverage_share: float | None = None) -> pl.DataFrame:
    """One row per gap node: kind, firm counts, weight, volumes and coverage (no suppliers yet), ranked."""
    p = facts.params
    share = p.coverage_share if coverage_share is None else coverage_share
    dem = _demand_in_circle(facts, region_code, chain)
    per_node = dem.group_by("node").agg(
        explicit_firms=pl.col("slot").filter(~pl.col("inferred")).n_unique(),
        inferred_firms=pl.col("slot").filter(pl.col("inferred")).n_unique(),
    )
    vol = (dem.filter(pl.col("qty").is_not_null() & ~pl.col("inferred")).group_by("node", "dim")
           .agg(demand_volume=pl.col("qty").sum())
           .sort(["node", "demand_volume", "dim"], descending=[False, True, False])
           .unique("node", keep="first", maintain_order=True))
    circle = facts.viable.filter(pl.col("in_circle"))
    sup = circle.group_by("node").agg(circle_suppliers=pl.col("slot").n_unique())
    cap = (circle.join(vol.select("node", demand_dim="dim"), on="node")
           .group_by("node").agg(
               supply_volume=pl.col("qty").filter(pl.col("dim") == pl.col("demand_dim")).sum(),
               capacity_unknown=(pl.col("qty").is_null() | (pl.col("dim") != pl.col("demand_dim"))).any()))
    t = (per_node.join(vol, on="node", how="left").join(sup, on="node", how="left").join(cap, on="node", how="left")
         .with_columns(pl.col("circle_suppliers").fill_null(0), pl.col("capacity_unknown").fill_null(False),
                       pl.col("supply_volume").fill_null(0.0)))
    t = t.with_columns(coverage=pl.when(pl.col("demand_volume") > 0)
                       .then(pl.col("supply_volume") / pl.col("demand_volume")).otherwise(None))
    t = t.with_columns(gap=pl.when(pl.col("circle_suppliers") == 0).then(pl.lit("missing"))
                       .when(pl.col("coverage").is_not_null() & ~pl.col("capacity_unknown")
                             & (pl.col("coverage") < share)).then(pl.lit("short"))
                       .otherwise(None))
    t = t.filter(pl.col("gap").is_not_null()).with_columns(
        weight=pl.col("explicit_firms") + p.inferred_weight * pl.col("inferred_firms"))
    t = t.join(facts.node_frame(), on="node")
    return t.sort(["weight", "demand_volume", "node_id"], descending=[True, True, False], nulls_last=True)


def gaps(facts: ChainFacts, region_code: str | None = None, chain: str | None = None,
         limit: int | None = None, coverage_share: float | None = None) -> Report:
    """Ranked gaps with the firms needing each node and its best suppliers outside the circle;
    ``coverage_share`` overrides the parameter of the same name for this report."""
    p = facts.params if coverage_share is None else facts.params.model_copy(update={"coverage_share": coverage_share})
    table = gap_table(facts, region_code, chain, p.coverage_share)
    total = table.height
    if limit is not None:
        table = table.head(limit)
    dem = _demand_in_circle(facts, region_code, chain).join(table.select("node"), on="node")
    dem = dem.join(facts.firms.select("slot", "enterprise_id", "name"), on="slot").with_columns(
        lead_key=pl.when(pl.col("inferred")).then(2).when(pl.col("qty").is_not_null()).then(0).otherwise(1))
    dem = dem.sort(["node", "lead_key", "qty", "enterprise_id", "item_id"],
                   descending=[False, False, True, False, False], nulls_last=True)
    lead = dem.unique("node", keep="first", maintain_order=True).select("node", lead="slot")
    table = table.join(lead, on="node", maintain_order="left")
    suppliers = best_outside(facts, table["lead"].to_numpy(), table["node"].to_numpy(), p.suppliers_per_gap)
    dem_by = {k[0]: v for k, v in dem.partition_by("node", as_dict=True).items()}
    sup_by = {k[0]: v for k, v in suppliers.partition_by("node", as_dict=True).items()}
    items = [_gap_item(facts, p.coverage_share, g, dem_by.get(g["node"], dem.clear()),
                       sup_by.get(g["node"], suppliers.clear()))
             for g in table.iter_rows(named=True)]
    return Report("gaps", items, _gap_rows(items), params=p.model_dump(),
                  meta={"region_code": region_code, "chain": chain, "total": total})


def best_outside(facts: ChainFacts, buyers: np.ndarray, nodes: np.ndarray, k: int) -> pl.DataFrame:
    """The engine's top-``k`` suppliers outside the circle for "buyer ``i`` wants node ``i``"."""
    index = facts.index

    def outside(supply: Side) -> np.ndarray:
        mask: np.ndarray = ~supply.circle
        return mask

    ranked = rank_suppliers(index, node_demands(index, buyers, nodes), 3 * k, mask=outside,
                            block_size=facts.params.block_size)
    # only viable offers (the node or a kind of it), one line per firm (its best offer), in the engine's order
    asked = pl.Series(np.asarray(nodes, dtype=np.int64)).gather(ranked["demand"])
    ranked = ranked.with_columns(node=asked).join(
        facts.viable.select("node", offer="row"), on=["node", "offer"], how="semi", maintain_order="left")
    ranked = (ranked.unique(["demand", "supplier"], keep="first", maintain_order=True)
              .group_by("demand", maintain_order=True).head(k)
              .with_columns(rank=pl.int_range(1, pl.len() + 1).over("demand").cast(pl.Int64)))
    firms = facts.firms.select(supplier="slot", supplier_id="enterprise_id", supplier_name="name",
                               supplier_region="region_code")
    offer_ids = pl.Series(index.offers.item_id, dtype=pl.String)
    return ranked.join(firms, on="supplier", maintain_order="left").with_columns(
        offer_id=offer_ids.gather(ranked["offer"]))


def _unit(facts: ChainFacts, dim: int | None) -> str | None:
    return None if dim is None or dim < 0 else facts.base_units.get(dim)


def _gap_item(facts: ChainFacts, share: float, g: dict[str, Any], dem: pl.DataFrame,
              suppliers: pl.DataFrame) -> dict[str, Any]:
    graph = facts.graph
    ids = facts.node_ids
    node_id = g["node_id"]
    unit = _unit(facts, g["dim"])
    needing = [
        {"enterprise_id": r["enterprise_id"], "name": r["name"], "region_code": r["region_code"],
         "need_id": r["item_id"], "inferred": r["inferred"],
         "inferred_from": None if r["via"] < 0 else graph.nodes[ids[r["via"]]].name,
         "volume": None if r["qty"] is None else {"value": r["qty"], "unit": _unit(facts, r["dim"])}}
        for r in dem.iter_rows(named=True)
    ]
    best = [
        {"rank": r["rank"], "enterprise_id": r["supplier_id"], "name": r["supplier_name"],
         "region_code": r["supplier_region"], "offer_id": r["offer_id"], "score": round(r["score"], 4),
         "relation": r["relation"]}
        for r in suppliers.sort("rank").iter_rows(named=True)
    ]
    name = graph.nodes[node_id].name
    why = ("圈内无可供企业" if g["gap"] == "missing"
           else f"圈内产能仅覆盖需求的{g['coverage'] * 100:.0f}%（低于{share * 100:.0f}%）")
    summary = (f"{name}：圈内{g['explicit_firms']}家企业明确需求、{g['inferred_firms']}家推断需求，{why}；"
               + (f"圈外可供首选{best[0]['name']}（{best[0]['region_code']}）。" if best else "圈外亦未找到可供企业。"))
    return {
        "node_id": node_id, "node_name": name, "chains": list(graph.node_chains.get(node_id, [])),
        "gap": g["gap"], "weight": g["weight"], "explicit_firms": g["explicit_firms"],
        "inferred_firms": g["inferred_firms"], "circle_suppliers": g["circle_suppliers"],
        "demand_volume": None if g["demand_volume"] is None else {"value": g["demand_volume"], "unit": unit},
        "supply_volume": None if g["demand_volume"] is None or g["capacity_unknown"]
        else {"value": g["supply_volume"], "unit": unit},
        "coverage": None if g["coverage"] is None or g["capacity_unknown"] else round(g["coverage"], 4),
        "needing": needing, "suppliers_outside": best, "summary_zh": summary,
    }


def _gap_rows(items: list[dict[str, Any]]) -> pl.DataFrame:
    rows = [{"rank": i, "node_id": it["node_id"], "node_name": it["node_name"], "gap": it["gap"],
             "weight": it["weight"], "explicit_firms": it["explicit_firms"], "inferred_firms": it["inferred_firms"],
             "demand_volume": (it["demand_volume"] or {}).get("value"),
             "volume_unit": (it["demand_volume"] or {}).get("unit"), "coverage": it["coverage"],
             "needing": [n["enterprise_id"] for n in it["needing"]],
             "suppliers_outside": [s["enterprise_id"] for s in it["suppliers_outside"]],
             "summary_zh": it["summary_zh"]} for i, it in enumerate(items, start=1)]
    return pl.DataFrame(rows, schema={
        "rank": pl.Int64, "node_id": pl.String, "node_name": pl.String, "gap": pl.String, "weight": pl.Float64,
        "explicit_firms": pl.Int64, "inferred_firms": pl.Int64, "demand_volume": pl.Float64,
        "volume_unit": pl.String, "coverage": pl.Float64, "needing": pl.List(pl.String),
        "suppliers_outside": pl.List(pl.String), "summary_zh": pl.String})


def recruitment_targets(facts: ChainFacts, region_code: str | None = None, chain: str | None = None,
                        limit: int | None = None, coverage_share: float | None = None) -> Report:
    """Out-of-circle firms ranked by the gap demand of ``region_code`` they would serve (Σ weight × score)."""
    report = gaps(facts, region_code, chain, coverage_share=coverage_share)
    by_firm: dict[str, dict[str, Any]] = {}
    for gap in report.items:
        for s in gap["suppliers_outside"]:
            t = by_firm.setdefault(s["enterprise_id"], {
                "enterprise_id": s["enterprise_id"], "name": s["name"], "region_code": s["region_code"],
                "value": 0.0, "best_score": 0.0, "gaps": [], "firms_served": set()})
            t["value"] += gap["weight"] * s["score"]
            t["best_score"] = max(t["best_score"], s["score"])
            t["gaps"].append({"node_id": gap["node_id"], "node_name": gap["node_name"], "gap": gap["gap"],
                              "offer_id": s["offer_id"], "score": s["score"], "rank": s["rank"]})
            t["firms_served"] |= {n["enterprise_id"] for n in gap["needing"]}
    ranked = sorted(by_firm.values(), key=lambda t: (-t["value"], -t["best_score"], t["enterprise_id"]))
    total = len(ranked)
    if limit is not None:
        ranked = ranked[:limit]
    region = facts.index.regions.get(region_code) if region_code else None
    where = str(getattr(region, "name", region_code)) if region_code else "成渝地区双城经济圈"
    items: list[dict[str, Any]] = []
    for i, t in enumerate(ranked, start=1):
        served = sorted(t.pop("firms_served"))
        names = "、".join(g["node_name"] for g in t["gaps"][:5])
        reason = (f"可补{where}{len(t['gaps'])}个缺链环节（{names}），服务圈内{len(served)}家需求企业，"
                  f"最高匹配分{t['best_score']:.2f}")
        items.append({"rank": i, **t, "value": round(t["value"], 4), "firms_served": served, "reason_zh": reason,
                      "reason": f"fills {len(t['gaps'])} gap(s) of {where} for {len(served)} in-circle buyer(s)"})
    table = pl.DataFrame(
        [{"rank": it["rank"], "enterprise_id": it["enterprise_id"], "name": it["name"],
          "region_code": it["region_code"], "value": it["value"], "best_score": it["best_score"],
          "gaps": [g["node_id"] for g in it["gaps"]], "firms_served": it["firms_served"],
          "reason_zh": it["reason_zh"]} for it in items],
        schema={"rank": pl.Int64, "enterprise_id": pl.String, "name": pl.String, "region_code": pl.String,
                "value": pl.Float64, "best_score": pl.Float64, "gaps": pl.List(pl.String),
                "firms_served": pl.List(pl.String), "reason_zh": pl.String})
    return Report("recruitment_targets", items, table, params=report.params,
                  meta={"region_code": region_code, "chain": chain, "total": total})
