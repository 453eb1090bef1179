"""Named supplier lists (e.g. ``zunyi-2026H2``, 融入成渝供应商名录) built from a published run.

For the chosen supplier regions (county-code prefixes, e.g. ``5203`` for Zunyi's counties), every firm that
appears in a buyer's supplier list of that run with a buyer outside those regions, ranked by the
cross-region demand it can serve: distinct such buyers, then the sum of their scores, then the firm id.
Each entry carries the chains and the buyers behind it. Lists are written like runs (temporary directory,
then rename) under ``<lists_dir>/<name>/``; the period-to-period changes carry causes as in the run diff.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from matching.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from matching.runs.diff import CAUSE_ZH, CAUSES, CHANGE_ZH, enterprise_changes, settings_changed
from matching.runs.snapshot import MATCHES, publish, read_manifest, remove, tmp_dir, write_manifest
from matching.runs.xlsx import write_xlsx

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
PREFIX = re.compile(r"^[0-9]{2,6}$")
ENTRIES, CSV, XLSX = "entries.parquet", "entries.csv", "entries.xlsx"
LIST_HEADERS = {"rank": "排名", "supplier_id": "企业ID", "supplier_name": "企业名称", "supplier_region": "区县",
                "buyers": "跨区域买家数", "demand_score": "可满足需求得分", "best_score": "最高得分",
                "products": "供应产品", "chains": "产业链", "buyer_names": "对应买家"}
CHANGE_COLUMNS = ["change", "supplier_id", "supplier_name", "old_rank", "new_rank", "cause", "cause_enterprise_id",
                  "reason_zh"]


def check_name(name: str) -> None:
    if not NAME.match(name):
        raise InvalidInputError("bad list name", [FieldError("name", "use [A-Za-z0-9._-], 1–64 characters")])


def entries(run_dir: Path, regions: list[str]) -> pl.DataFrame:
    """The ranked entries of the run's supplier lists for suppliers in ``regions`` (code prefixes)."""
    bad = [r for r in regions if not PREFIX.match(r)]
    if not regions or bad:
        raise InvalidInputError("bad regions", [FieldError(
            "regions", f"give county-code prefixes of 2–6 digits (e.g. 5203); bad: {bad or 'none given'}")])
    table = pl.read_parquet(run_dir / MATCHES).filter(pl.col("list") == "suppliers")
    inside = pl.any_horizontal(*(pl.col("supplier_region_code").str.starts_with(r) for r in regions))
    buyer_inside = pl.any_horizontal(*(pl.col("buyer_region_code").str.starts_with(r) for r in regions))
    rows = table.filter(inside & ~buyer_inside).sort(["supplier_id", "score", "buyer_id"],
                                                      descending=[False, True, False])
    grouped = rows.group_by("supplier_id", maintain_order=True).agg(
        supplier_name=pl.col("supplier_name").first(), supplier_region=pl.col("supplier_region").first(),
        buyers=pl.col("buyer_id").n_unique().cast(pl.Int64), demand_score=pl.col("score").sum(),
        best_score=pl.col("score").max(),
        products=pl.col("offer_product").unique().sort().str.join("、"),
        buyer_ids=pl.col("buyer_id").unique(maintain_order=True),
        buyer_names=(pl.col("buyer_name") + "（" + pl.col("buyer_region") + "）").unique(maintain_order=True)
        .str.join("；"),
    )
    chains = (rows.select("supplier_id", chains=pl.col("chains").str.split(",")).explode("chains")
              .filter(pl.col("chains") != "").group_by("supplier_id")
              .agg(pl.col("chains").unique().sort().str.join(",")))
    grouped = grouped.join(chains, on="supplier_id", how="left").with_columns(pl.col("chains").fill_null(""))
    ranked = grouped.sort(["buyers", "demand_score", "supplier_id"], descending=[True, True, False])
    return ranked.with_columns(rank=pl.int_range(1, pl.len() + 1).cast(pl.Int32)).select(
        "rank", *[c for c in grouped.columns])


def build(run_dir: Path, lists_dir: Path, name: str, regions: list[str], run_id: str) -> dict[str, Any]:
    """Write the named list; refuses to overwrite an existing one (a period's list is a record)."""
    check_name(name)
    if (lists_dir / name).exists():
        raise ConflictError(f"supplier list {name!r} already exists; a period's list is kept as built, pick a new name")
    table = entries(run_dir, regions)
    lists_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir(lists_dir, name)
    remove(tmp)
    try:
        tmp.mkdir()
        table.write_parquet(tmp / ENTRIES)
        flat = table.drop("buyer_ids")
        flat.write_csv(tmp / CSV)
        write_xlsx(tmp / XLSX, flat, LIST_HEADERS)
        manifest = {"name": name, "run_id": run_id, "regions": sorted(regions),
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "entries": table.height}
        write_manifest(tmp, manifest)
        publish(lists_dir, name)
    except BaseException:
        remove(tmp)
        raise
    return manifest


def load(lists_dir: Path, name: str) -> tuple[dict[str, Any], pl.DataFrame]:
    check_name(name)
    path = lists_dir / name
    if not (path / ENTRIES).exists():
        raise NotFoundError("supplier list", name)
    return read_manifest(path), pl.read_parquet(path / ENTRIES)


def all_lists(lists_dir: Path) -> list[dict[str, Any]]:
    if not lists_dir.exists():
        return []
    found = [json.loads((p / "manifest.json").read_text(encoding="utf-8")) for p in sorted(lists_dir.iterdir())
             if p.is_dir() and not p.name.startswith(".") and (p / "manifest.json").exists()]
    return sorted(found, key=lambda m: (m["created_at"], m["name"]), reverse=True)


def changes(lists_dir: Path, runs_dir: Path, name: str, against: str) -> pl.DataFrame:
    """Entries new, dropped or moved from list ``against`` to list ``name``, each with its cause."""
    new_manifest, new = load(lists_dir, name)
    old_manifest, old = load(lists_dir, against)
    new_run, old_run = runs_dir / new_manifest["run_id"], runs_dir / old_manifest["run_id"]
    status = enterprise_changes(new_run, old_run)
    weights = settings_changed(read_manifest(new_run), read_manifest(old_run)) or \
        new_manifest["regions"] != old_manifest["regions"]
    by_status = dict(zip(status["enterprise_id"], status["status"], strict=True))
    old_rows = {r["supplier_id"]: r for r in old.iter_rows(named=True)}
    new_rows = {r["supplier_id"]: r for r in new.iter_rows(named=True)}
    out: list[dict[str, Any]] = []
    for sid in sorted(set(old_rows) | set(new_rows)):
        a, b = new_rows.get(sid), old_rows.get(sid)
        change = "new" if b is None else "dropped" if a is None else "moved" if a["rank"] != b["rank"] else None
        if change is None:
            continue
        cause, who = _cause(sid, by_status, weights, (a or {}).get("buyer_ids", []), (b or {}).get("buyer_ids", []))
        row = a or b
        assert row is not None
        out.append({"change": change, "supplier_id": sid, "supplier_name": row["supplier_name"],
                    "old_rank": None if b is None else b["rank"], "new_rank": None if a is None else a["rank"],
                    "cause": cause, "cause_enterprise_id": who,
                    "reason_zh": f"{CHANGE_ZH[change]}：{row['supplier_name']}（原因：{CAUSE_ZH[cause]}"
                    + (f"，{who}）" if who else "）")})
    schema = {c: pl.String for c in CHANGE_COLUMNS} | {"old_rank": pl.Int32, "new_rank": pl.Int32}
    return pl.DataFrame(out, schema=schema)


def _cause(sid: str, status: dict[str, str], weights: bool, new_buyers: list[str], old_buyers: list[str]
           ) -> tuple[str, str | None]:
    if sid in status:
        return status[sid], sid
    if weights:
        return "weights_changed", None
    behind = sorted((CAUSES.index(status[b]), b) for b in {*new_buyers, *old_buyers} if b in status)
    if behind:
        return status[behind[0][1]], behind[0][1]
    return "allocation", None
