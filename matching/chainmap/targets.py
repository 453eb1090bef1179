"""Plan targets against the data: every recorded target, measured where the data can measure it.

Measurable:

* **Firms supplying the circle** (与成渝地区相互配套…企业数): firms located in the target's region that the
  engine lists in the top ``match_k`` suppliers of at least one demand (posted or inferred) of a firm inside the
  circle, at score ≥ ``supplier_min_score``, with buyer and supplier in different counties. A city-level code
  counts its counties; an ``area`` (新蒲新区) counts firms whose ``park`` names it. ``above_scale`` counts the
  ones tagged 规上, which the metric's wording asks for.
* **Firm counts by designation** (上市, 高新技术企业, 专精特新"小巨人", 单项冠军): firms in the region carrying
  the tag. A lower bound: the data holds only the firms someone profiled.

Every other target is listed with ``measurable: false`` and the reason (the profiles carry no output,
revenue, ratio, energy or park statistics).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from matching.chainmap.facts import ChainFacts, in_region
from matching.chainmap.ranking import ProgressFn, firm_demands, rank_suppliers
from matching.chainmap.report import Report
from matching.policy import Policy, Target

SUPPLYING = re.compile(r"相互配套.*企业数")
TAG_METRICS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"上市.*企业数"), ("上市公司", "上市")),
    (re.compile(r"高新技术企业数"), ("高新技术企业",)),
    (re.compile(r"小巨人"), ("专精特新小巨人", "专精特新“小巨人”", "小巨人")),
    (re.compile(r"单项冠军"), ("单项冠军",)),
)
_UNMEASURABLE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"产值|营业收入|规模|收入|投入$|生产率|产出"),
     "the profiles carry no output, revenue or spending figures"),
    (re.compile(r"比重|占比|强度|利用率|增长率|下降"), "a ratio of statistics the profiles do not carry"),
    (re.compile(r"落户"), "the data records no relocation or founding dates"),
    (re.compile(r"产能"), "posted capacities cover only profiled firms and are not project totals"),
)
_REACHED = {">": lambda m, v: m > v, ">=": lambda m, v: m >= v, "=": lambda m, v: m >= v,
            "级": lambda m, v: m >= v}


def supplying_firms(facts: ChainFacts, progress: ProgressFn | None = None) -> pl.DataFrame:
    """Firms supplying the circle (see the module docstring): ``slot, matches, best_score`` (memoised)."""
    cached = facts.memo.get("supplying")
    if isinstance(cached, pl.DataFrame):
        return cached
    p = facts.params
    buyers = facts.firms.filter(pl.col("in_circle"))["slot"].to_numpy()
    demand = firm_demands(facts.index, buyers)
    ranked = rank_suppliers(facts.index, demand, p.match_k, block_size=p.block_size, progress=progress)
    code = facts.index.ent_code.view
    buyer = pl.Series(demand.slot.astype(np.int64)).gather(ranked["demand"])
    ranked = ranked.with_columns(buyer=buyer).filter(pl.col("score") >= p.supplier_min_score)
    ranked = ranked.filter(pl.Series(code[ranked["supplier"].to_numpy()] != code[ranked["buyer"].to_numpy()]))
    out = ranked.group_by(slot="supplier").agg(matches=pl.len(), best_score=pl.col("score").max()).sort("slot")
    facts.memo["supplying"] = out
    return out


def _scope(facts: ChainFacts, t: Target) -> pl.DataFrame:
    firms = facts.firms.filter(in_region("region_code", t.region_code))
    if t.area:
        short = re.sub(r"(新区|开发区|园区)$", "", t.area)
        firms = firms.filter(pl.col("park").str.contains(short, literal=True))
    return firms


def targets(facts: ChainFacts, policy: Policy, region_code: str | None = None,
            progress: ProgressFn | None = None) -> Report:
    """Every target, or those recorded for places within ``region_code`` (a county, city or province)."""
    chosen = [t for t in policy.targets if region_code is None or t.region_code.startswith(_prefix(region_code))]
    supplying: pl.DataFrame | None = None
    items: list[dict[str, Any]] = []
    for t in chosen:
        base = {"id": t.id, "region_code": t.region_code, "area": t.area, "metric": t.metric, "year": t.year,
                "target": t.value, "unit": t.unit, "comparator": t.comparator, "cluster": t.cluster,
                "source": {"doc": t.source.doc, "section": t.source.section}}
        if SUPPLYING.search(t.metric):
            if supplying is None:
                supplying = supplying_firms(facts, progress)
            found = _scope(facts, t).join(supplying, on="slot").sort("enterprise_id")
            above = found.filter(pl.col("tags").list.contains("规上")).height
            items.append(_measured(base, t, found, "firms in the region the engine lists among the top "
                                   f"{facts.params.match_k} suppliers of an in-circle demand at score ≥ "
                                   f"{facts.params.supplier_min_score}", above_scale=above))
            continue
        tags = next((tg for pattern, tg in TAG_METRICS if pattern.search(t.metric)), None)
        if tags is not None:
            found = _scope(facts, t).filter(pl.col("tags").list.eval(pl.element().is_in(list(tags))).list.any())
            items.append(_measured(base, t, found.sort("enterprise_id"),
                                   f"firms in the region tagged {'/'.join(tags)} (a lower bound)"))
            continue
        reason = next((r for pattern, r in _UNMEASURABLE if pattern.search(t.metric)),
                      "the profiles carry no field for this metric")
        items.append({**base, "measurable": False, "measured": None, "reached": None, "reason": reason,
                      "summary_zh": f"{t.metric}：现有企业数据无法度量"})
    flat = [{k: v for k, v in it.items() if k not in ("source", "firms")}
            | {"source_doc": it["source"]["doc"], "firms": [f["enterprise_id"] for f in it.get("firms", [])]}
            for it in items]
    table = pl.DataFrame(flat,
                         schema={"id": pl.String, "region_code": pl.String, "area": pl.String, "metric": pl.String,
                                 "year": pl.Int64, "target": pl.Float64, "unit": pl.String, "comparator": pl.String,
                                 "cluster": pl.String, "measurable": pl.Boolean, "measured": pl.Int64,
                                 "reached": pl.Boolean, "reason": pl.String, "summary_zh": pl.String,
                                 "above_scale": pl.Int64, "source_doc": pl.String, "firms": pl.List(pl.String)})
    measured = sum(1 for it in items if it["measurable"])
    return Report("targets", items, table, params=facts.params.model_dump(),
                  meta={"region_code": region_code, "total": len(items), "measurable": measured})


def _measured(base: dict[str, Any], t: Target, found: pl.DataFrame, how: str,
              above_scale: int | None = None) -> dict[str, Any]:
    n = found.height
    reached = _REACHED[t.comparator](n, t.value)
    where = t.area or t.region_code
    summary = (f"{where}{t.year or ''}年目标{t.metric}{t.comparator}{t.value:g}{t.unit}，"
               f"数据显示{n}{t.unit}，{'已达到' if reached else f'尚差{max(t.value - n, 0):g}{t.unit}'}")
    return {**base, "measurable": True, "measured": n, "reached": reached, "reason": how,
            "above_scale": above_scale, "summary_zh": summary,
            "firms": [{"enterprise_id": r["enterprise_id"], "name": r["name"], "region_code": r["region_code"]}
                      for r in found.iter_rows(named=True)]}


def _prefix(code: str) -> str:
    while len(code) > 2 and code.endswith("00"):
        code = code[:-2]
    return code
