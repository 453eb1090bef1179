"""Diff of two published runs: new, dropped and moved pairs, each with its cause.

A pair is (list, owner, counterpart). Causes, first that applies:

1. ``enterprise_added`` / ``enterprise_removed`` / ``profile_changed``: the owner or the counterpart itself
   was added, removed or had its profile changed (per-enterprise fingerprints in ``profiles.parquet``);
2. ``weights_changed``: the weight profile, the engine parameters or the run options differ;
3. the same three for another member of the owner's list (old or new): it entered, left or changed and so
   pushed this pair in, out or along (``cause_enterprise_id`` names it);
4. ``allocation``: none of the above; the exposure cap moved the pair as other lists changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from matching.runs.snapshot import MATCHES, PROFILES, read_manifest

CAUSES = ("enterprise_added", "enterprise_removed", "profile_changed", "weights_changed", "allocation")
CAUSE_ZH = {"enterprise_added": "新增企业", "enterprise_removed": "企业已移除", "profile_changed": "企业档案变更",
            "weights_changed": "权重或参数变更", "allocation": "曝光上限重新分配"}
CHANGE_ZH = {"new": "新进入", "dropped": "移出", "moved": "名次变化"}
DIFF_COLUMNS = ["change", "list", "owner_id", "counterpart_id", "old_rank", "new_rank", "old_score", "new_score",
                "cause", "cause_enterprise_id", "reason_zh"]


def settings_changed(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether weights, parameters or table options differ between two manifests."""
    keys = (("weights", "hash"), ("params", "hash"))
    return any(new[a][b] != old[a][b] for a, b in keys) or new["options"] != old["options"]


def pairs(run_dir: Path) -> pl.DataFrame:
    table = pl.read_parquet(run_dir / MATCHES, columns=["list", "owner_id", "buyer_id", "supplier_id", "rank",
                                                        "score"])
    return table.select(
        "list", "owner_id",
        counterpart_id=pl.when(pl.col("list") == "suppliers").then(pl.col("supplier_id")).otherwise(pl.col("buyer_id")),
        rank="rank", score="score")


def enterprise_changes(new_dir: Path, old_dir: Path) -> pl.DataFrame:
    """``enterprise_id, status`` (added / removed / profile_changed) between two snapshots."""
    new = pl.read_parquet(new_dir / PROFILES, columns=["enterprise_id", "fingerprint"])
    old = pl.read_parquet(old_dir / PROFILES, columns=["enterprise_id", "fingerprint"])
    joined = new.join(old, on="enterprise_id", how="full", suffix="_old", coalesce=True)
    status = (pl.when(pl.col("fingerprint_old").is_null()).then(pl.lit("enterprise_added"))
              .when(pl.col("fingerprint").is_null()).then(pl.lit("enterprise_removed"))
              .when(pl.col("fingerprint") != pl.col("fingerprint_old")).then(pl.lit("profile_changed")))
    return joined.select("enterprise_id", status=status).drop_nulls("status").sort("enterprise_id")


def diff_runs(new_dir: Path, old_dir: Path) -> pl.DataFrame:
    """The changes from ``old_dir`` to ``new_dir`` (see the module docstring), sorted."""
    new, old = pairs(new_dir), pairs(old_dir)
    key = ["list", "owner_id", "counterpart_id"]
    joined = new.join(old, on=key, how="full", suffix="_old", coalesce=True)
    change = (pl.when(pl.col("rank_old").is_null()).then(pl.lit("new"))
              .when(pl.col("rank").is_null()).then(pl.lit("dropped"))
              .when(pl.col("rank") != pl.col("rank_old")).then(pl.lit("moved")))
    changed = joined.with_columns(change=change).drop_nulls("change")
    status = enterprise_changes(new_dir, old_dir)
    weights = settings_changed(read_manifest(new_dir), read_manifest(old_dir))
    # direct causes: the counterpart first, then the owner
    for who in ("counterpart_id", "owner_id"):
        changed = changed.join(status.rename({"enterprise_id": who, "status": f"_{who}"}), on=who, how="left")
    # list-level causes: the first member (by status order, then id) of the owner's old or new list that changed
    members = pl.concat([new.select("list", "owner_id", "counterpart_id"), old.select("list", "owner_id",
                                                                                       "counterpart_id")]).unique()
    priority = {c: i for i, c in enumerate(CAUSES)}
    member_status = (members.join(status.rename({"enterprise_id": "counterpart_id"}), on="counterpart_id")
                     .with_columns(_p=pl.col("status").replace_strict(priority, return_dtype=pl.Int32))
                     .sort(["list", "owner_id", "_p", "counterpart_id"])
                     .unique(["list", "owner_id"], keep="first", maintain_order=True)
                     .select("list", "owner_id", _list_status="status", _list_member="counterpart_id"))
    changed = changed.join(member_status, on=["list", "owner_id"], how="left")
    cause = (pl.when(pl.col("_counterpart_id").is_not_null()).then(pl.col("_counterpart_id"))
             .when(pl.col("_owner_id").is_not_null()).then(pl.col("_owner_id"))
             .when(pl.lit(weights)).then(pl.lit("weights_changed"))
             .when(pl.col("_list_status").is_not_null()).then(pl.col("_list_status"))
             .otherwise(pl.lit("allocation")))
    blame = (pl.when(pl.col("_counterpart_id").is_not_null()).then(pl.col("counterpart_id"))
           .when(pl.col("_owner_id").is_not_null()).then(pl.col("owner_id"))
           .when(pl.lit(weights)).then(pl.lit(None, pl.String))
           .otherwise(pl.col("_list_member")))
    out = changed.with_columns(cause=cause, cause_enterprise_id=blame).select(
        "change", "list", "owner_id", "counterpart_id", old_rank="rank_old", new_rank="rank", old_score="score_old",
        new_score="score", cause="cause", cause_enterprise_id="cause_enterprise_id")
    out = out.with_columns(reason_zh=pl.format(
        "{}：{}（原因：{}{}）", pl.col("change").replace_strict(CHANGE_ZH),
        pl.col("counterpart_id"), pl.col("cause").replace_strict(CAUSE_ZH),
        pl.when(pl.col("cause_enterprise_id").is_not_null()).then(pl.lit("，") + pl.col("cause_enterprise_id"))
        .otherwise(pl.lit(""))))
    return out.sort(["list", "owner_id", "change", "counterpart_id"]).select(DIFF_COLUMNS)


def summary(diff: pl.DataFrame) -> dict[str, dict[str, int]]:
    """``{change: {cause: count}}``."""
    out: dict[str, dict[str, int]] = {}
    for row in diff.group_by(["change", "cause"]).len().sort(["change", "cause"]).iter_rows(named=True):
        out.setdefault(row["change"], {})[row["cause"]] = int(row["len"])
    return out
