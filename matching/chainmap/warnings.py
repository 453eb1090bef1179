"""Supply-chain warnings (供应链预警) on needs, posted or inferred.

A **viable supplier** of a need is another firm with a live offer whose product is the needed node or a kind of
it (engine relation ≥ ``viable_relation``: same node or specialisation), confidently linked to it (link
confidence ≥ ``viable_link_confidence``), and holding every certification the need requires (the engine's hard
filter). Those are the suppliers the engine ranks with a full product match; distance, capacity and standing
only order them.

Conditions, one warning row each (a need may carry several):

* ``import_dependent`` — the profile marks the need import-dependent: **high**;
* ``single_supplier`` — exactly one viable supplier: **high** when the buyer is in the circle and the supplier
  outside it, else **medium**;
* ``out_of_circle_only`` — two or more viable suppliers, none in the circle (buyer in it): **medium**;
* ``one_county`` — two or more viable suppliers, all in one county: **low**.

An inferred need's severity is one step lower (high → medium → low): the demand is the graph's inference. A
need with no viable supplier at all is a gap, listed by :mod:`matching.chainmap.gaps`, not a warning.
"""

from __future__ import annotations

import polars as pl

from matching.chainmap.facts import REQ_SEP, ChainFacts, in_region
from matching.chainmap.report import Report

SEVERITIES = ("high", "medium", "low")
_LOWER = {"high": "medium", "medium": "low", "low": "low"}
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def warning_table(facts: ChainFacts, region_code: str | None = None, chain: str | None = None) -> pl.DataFrame:
    """One row per (demand, condition): buyer, node, counts of viable suppliers (the buyer excluded)."""
    dem = facts.demand.filter(in_region("region_code", region_code))
    nodes = facts.chain_nodes(chain)
    if nodes is not None:
        dem = dem.filter(pl.col("node").is_in(nodes.implode()))
    pairs = _pairs(facts, dem)
    key = ["node", "req"]
    stats = pairs.group_by(key).agg(
        n=pl.len(), n_circle=pl.col("in_circle").sum(), n_counties=pl.col("region_code").n_unique(),
        county=pl.col("region_code").min(), only=pl.col("slot").min())
    county_n = pairs.group_by(*key, "region_code").agg(county_firms=pl.len())
    own = pairs.select(*key, "slot", own_circle="in_circle", own_region="region_code")
    d = (dem.join(stats, on=key, how="left").join(own, on=[*key, "slot"], how="left")
         .join(county_n.rename({"region_code": "own_region", "county_firms": "own_county_firms"}),
               on=[*key, "own_region"], how="left"))
    is_own = pl.col("own_region").is_not_null() | pl.col("own_circle").is_not_null()
    d = d.with_columns(pl.col("n", "n_circle", "n_counties").fill_null(0)).with_columns(
        viable=pl.col("n") - is_own.cast(pl.Int64),
        viable_circle=pl.col("n_circle") - (is_own & pl.col("own_circle").fill_null(False)).cast(pl.Int64),
        counties=pl.col("n_counties") - (is_own & (pl.col("own_county_firms") == 1)).cast(pl.Int64),
    )
    # the one supplier left when a need has a single viable supplier (the buyer itself excluded)
    single = (d.filter(pl.col("viable") == 1).select(*key, "slot").unique()
              .join(pairs.select(*key, other="slot", other_circle="in_circle", other_region="region_code"),
                    on=key).filter(pl.col("other") != pl.col("slot")))
    d = d.join(single, on=[*key, "slot"], how="left")
    rows = [
        d.filter(pl.col("import_dependent")).with_columns(kind=pl.lit("import_dependent"), severity=pl.lit("high")),
        d.filter(pl.col("viable") == 1).with_columns(
            kind=pl.lit("single_supplier"),
            severity=pl.when(~pl.col("other_circle") & pl.col("in_circle")).then(pl.lit("high"))
            .otherwise(pl.lit("medium"))),
        d.filter((pl.col("viable") >= 2) & (pl.col("viable_circle") == 0) & pl.col("in_circle")).with_columns(
            kind=pl.lit("out_of_circle_only"), severity=pl.lit("medium")),
        d.filter((pl.col("viable") >= 2) & (pl.col("counties") == 1)).with_columns(
            kind=pl.lit("one_county"), severity=pl.lit("low")),
    ]
    out = pl.concat(rows, how="diagonal_relaxed")
    out = out.with_columns(severity=pl.when(pl.col("inferred")).then(
        pl.col("severity").replace_strict(_LOWER, return_dtype=pl.String)).otherwise(pl.col("severity")))
    return out.with_columns(severity_rank=pl.col("severity").replace_strict(_RANK, return_dtype=pl.Int64))


def _pairs(facts: ChainFacts, dem: pl.DataFrame) -> pl.DataFrame:
    """Viable (node, req, supplier) pairs: every supplier of a node for ``req`` "" (no certification asked),
    and for each set of required certifications among ``dem`` only the suppliers holding all of them (the
    engine's certification filter). The subset test runs on those few pairs only."""
    pairs = facts.viable.select("node", "slot", "region_code", "in_circle").unique(["node", "slot"])
    keyed = dem.filter(pl.col("req") != "").select("node", "req").unique().join(pairs, on="node")
    certs = facts.index.ent_certs.view
    holds = [frozenset(r.split(REQ_SEP)) <= (certs[s] or frozenset())
             for r, s in zip(keyed["req"].to_list(), keyed["slot"].to_list(), strict=True)]
    keyed = keyed.filter(pl.Series(holds, dtype=pl.Boolean))
    cols = ["node", "req", "slot", "region_code", "in_circle"]
    return pl.concat([pairs.with_columns(req=pl.lit("")).select(cols), keyed.select(cols)])


def warnings(facts: ChainFacts, region_code: str | None = None, chain: str | None = None,
             severity: str | None = None, limit: int | None = None) -> Report:
    """Warnings ranked by severity, posted before inferred, then buyer id, node and kind."""
    t = warning_table(facts, region_code, chain)
    if severity is not None:
        t = t.filter(pl.col("severity") == severity)
    firms = facts.firms.select("slot", "enterprise_id", "name")
    t = t.join(firms, on="slot").join(facts.node_frame(), on="node")
    t = t.with_columns(lone_supplier=pl.when(pl.col("other").is_not_null()).then(pl.col("other"))
                       .otherwise(pl.col("only")))
    t = t.join(firms.select(lone_supplier="slot", lone_id="enterprise_id", lone_name="name"),
               on="lone_supplier", how="left")
    t = t.sort(["severity_rank", "inferred", "enterprise_id", "node_id", "kind", "item_id"], nulls_last=True)
    total = t.height
    if limit is not None:
        t = t.head(limit)
    graph = facts.graph
    ids = facts.node_ids
    items = [_item(r, graph.nodes[ids[r["via"]]].name if r["via"] >= 0 else None) for r in t.iter_rows(named=True)]
    table = pl.DataFrame([{k: v for k, v in it.items() if k != "reason"} for it in items], schema={
        "severity": pl.String, "kind": pl.String, "enterprise_id": pl.String, "name": pl.String,
        "region_code": pl.String, "need_id": pl.String, "inferred": pl.Boolean, "inferred_from": pl.String,
        "node_id": pl.String, "node_name": pl.String, "viable_suppliers": pl.Int64,
        "viable_in_circle": pl.Int64, "supplier_counties": pl.Int64, "reason_zh": pl.String})
    return Report("warnings", items, table, params=facts.params.model_dump(),
                  meta={"region_code": region_code, "chain": chain, "severity": severity, "total": total})


def _item(r: dict[str, object], via: str | None) -> dict[str, object]:
    node = r["node_name"]
    kind = r["kind"]
    lone = f"{r['lone_name']}（{r['lone_id']}）" if r.get("lone_id") else ""
    what = f"推断需求（因生产{via}）" if r["inferred"] else "明确需求"
    reason_zh = {
        "import_dependent": f"{node}为进口依赖原料，需关注替代与国产化",
        "single_supplier": f"{node}仅有1家可供企业{lone}，断供风险高",
        "out_of_circle_only": f"{node}的{r['viable']}家可供企业均在成渝地区双城经济圈外",
        "one_county": f"{node}的{r['viable']}家可供企业集中在同一区县",
    }[str(kind)]
    reason = {
        "import_dependent": "the profile marks this need import-dependent",
        "single_supplier": "exactly one viable supplier",
        "out_of_circle_only": "every viable supplier is outside the circle",
        "one_county": "every viable supplier is in one county",
    }[str(kind)]
    return {
        "severity": r["severity"], "kind": kind, "enterprise_id": r["enterprise_id"], "name": r["name"],
        "region_code": r["region_code"], "need_id": r["item_id"], "inferred": r["inferred"], "inferred_from": via,
        "node_id": r["node_id"], "node_name": node, "viable_suppliers": r["viable"],
        "viable_in_circle": r["viable_circle"], "supplier_counties": r["counties"],
        "reason": reason, "reason_zh": f"{what}：{reason_zh}",
    }
