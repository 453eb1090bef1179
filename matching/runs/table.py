"""The published match table: one row per (list, owner, counterpart) pair, every component and explanation.

``list`` is ``suppliers`` (the owner is the buyer, the counterpart a supplier) or ``buyers`` (the owner is
the supplier). Rows are sorted by (list, owner id, rank); every column is a pure function of the inputs, so
the same inputs give a byte-identical Parquet file. Per-enterprise profile fingerprints go beside it so a
diff can say why a pair changed.
"""

from __future__ import annotations

import hashlib
import json

import polars as pl

from matching.item_index import ItemIndex
from matching.relation_matrix import KIND_CODES
from matching.weights import COMPONENTS

RELATION_ZH = {"same": "同一产品", "specialisation": "细分品类", "generalisation": "上位品类", "input": "直接原料",
               "input_2hop": "间接原料", "sibling": "可替代品", "equipment_for": "生产设备", "text": "文本相近"}
TABLE_COLUMNS = [
    "list", "owner_id", "rank", "buyer_id", "buyer_name", "buyer_region_code", "buyer_region", "supplier_id",
    "supplier_name", "supplier_region_code", "supplier_region", "need_id", "need_product", "inferred",
    "offer_id", "offer_product", "relation", "chains", "score", *COMPONENTS, "distance_km", "other_city",
    "backfill", "reason_zh",
]


def profile_fingerprint(profile: dict[str, object]) -> str:
    """SHA-256 (first 32 hex digits) of a profile's canonical JSON."""
    text = json.dumps(profile, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def profiles_frame(index: ItemIndex) -> pl.DataFrame:
    """``enterprise_id, name, region_code, fingerprint`` of every indexed enterprise, sorted by id."""
    ids = sorted(index.records)
    recs = [index.records[e] for e in ids]
    return pl.DataFrame({
        "enterprise_id": ids, "name": [r.enterprise.name for r in recs],
        "region_code": [r.region_code for r in recs],
        "fingerprint": [profile_fingerprint(r.enterprise.model_dump(mode="json", exclude_none=True)) for r in recs],
    }, schema={"enterprise_id": pl.String, "name": pl.String, "region_code": pl.String, "fingerprint": pl.String})


def data_fingerprint(profiles: pl.DataFrame) -> str:
    lines = "\n".join(f"{e}\t{f}" for e, f in zip(profiles["enterprise_id"], profiles["fingerprint"], strict=True))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def match_table(index: ItemIndex, suppliers: pl.DataFrame, buyers: pl.DataFrame) -> pl.DataFrame:
    """Both list kinds with names, regions, products, relation, chains and a Chinese reason."""
    parts = [
        suppliers.with_columns(list=pl.lit("suppliers"), owner=pl.col("buyer")),
        buyers.with_columns(list=pl.lit("buyers"), owner=pl.col("supplier")),
    ]
    frame = pl.concat([p.select(["list", "owner", "rank", "buyer", "supplier", "need", "node", "offer",
                                 "supply_node", "kind", "backfill", "score", "km", *COMPONENTS]) for p in parts])
    ids = pl.Series(index.ent_id, dtype=pl.String)
    names = pl.Series(index.ent_name, dtype=pl.String)
    codes = [c or "" for c in index.ent_region]
    region_names = pl.Series([_region_name(index, c) for c in codes], dtype=pl.String)
    code_series = pl.Series(codes, dtype=pl.String)
    relations = index.relations
    node_names = [index.graph.nodes[n].name for n in relations.node_ids]
    node_chains = [",".join(sorted(index.graph.node_chains.get(n, []))) for n in relations.node_ids]
    need_id = pl.Series(index.needs.item_id, dtype=pl.String)
    need_product = pl.Series(index.needs.product, dtype=pl.String)
    offer_id = pl.Series(index.offers.item_id, dtype=pl.String)
    offer_product = pl.Series(index.offers.product, dtype=pl.String)
    kinds = pl.Series([str(x) for x in KIND_CODES], dtype=pl.String)
    inferred = pl.col("need") < 0
    safe_need = pl.when(inferred).then(0).otherwise(pl.col("need"))
    out = frame.with_columns(
        owner_id=ids.gather(frame["owner"]), buyer_id=ids.gather(frame["buyer"]),
        buyer_name=names.gather(frame["buyer"]), buyer_region_code=code_series.gather(frame["buyer"]),
        buyer_region=region_names.gather(frame["buyer"]), supplier_id=ids.gather(frame["supplier"]),
        supplier_name=names.gather(frame["supplier"]), supplier_region_code=code_series.gather(frame["supplier"]),
        supplier_region=region_names.gather(frame["supplier"]),
        offer_id=offer_id.gather(frame["offer"]), offer_product=offer_product.gather(frame["offer"]),
        relation=kinds.gather(frame["kind"]),
        chains=pl.Series([*node_chains, ""], dtype=pl.String).gather(
            frame["supply_node"].replace(-1, len(node_chains))),
        inferred=inferred,
        distance_km=pl.col("km").fill_nan(None),
    ).with_columns(
        need_id=pl.when(inferred).then(None).otherwise(need_id.gather(frame.select(safe_need).to_series())),
        need_product=pl.when(inferred).then(
            pl.lit("推断需求：生产") + pl.Series([*node_names, ""], dtype=pl.String).gather(
                frame["node"].replace(-1, len(node_names))) + pl.lit("所需"))
        .otherwise(need_product.gather(frame.select(safe_need).to_series())),
        other_city=pl.col("buyer_region_code").str.slice(0, 4) != pl.col("supplier_region_code").str.slice(0, 4),
    )
    relation_zh = pl.col("relation").replace_strict(RELATION_ZH, default=pl.col("relation"))
    out = out.with_columns(reason_zh=pl.format(
        "{}（{}）的{}可满足{}（{}）的{}：{}，综合得分{}", pl.col("supplier_name"), pl.col("supplier_region"),
        pl.col("offer_product"), pl.col("buyer_name"), pl.col("buyer_region"), pl.col("need_product"),
        relation_zh, pl.col("score").round(3)))
    return out.sort(["list", "owner_id", "rank"]).select(TABLE_COLUMNS)


def _region_name(index: ItemIndex, code: str) -> str:
    region = index.regions.get(code) if code else None
    if region is None:
        return ""
    city = getattr(region, "city", "")
    name = str(getattr(region, "name", ""))
    return f"{city}{name}" if city and city != name else name
