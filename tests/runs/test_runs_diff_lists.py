"""Diffs (each cause detected), allocation constraints and the named supplier lists."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from openpyxl import load_workbook

from matching.errors import ConflictError, InvalidInputError
from matching.runs.allocate import allocate
from matching.runs.executors import LocalExecutor
from matching.runs.options import RunOptions
from matching.runs.runner import execute
from matching.runs.service import RunsService
from matching.weights import DEFAULT_WEIGHTS, WeightProfile


def _changes(runs: RunsService, run_id: str, against: str) -> pl.DataFrame:
    old, changes = runs.diff(run_id, against)
    assert old == against
    return changes


def _rows(runs: RunsService, run_id: str) -> pl.DataFrame:
    return runs.matches(run_id).collect()


def test_diff_names_added_removed_and_changed_enterprises_and_changed_weights(runs: RunsService) -> None:
    first = runs.run(RunOptions(k=5), xlsx=False)
    table = _rows(runs, first.id)
    suppliers = table.filter(pl.col("list") == "suppliers")
    # a supplier in someone's list is removed; a copy of a listed supplier is added; a listed buyer moves county
    removed = suppliers["supplier_id"][0]
    copied = runs.service.get(suppliers["supplier_id"][-1]).enterprise
    changed_id = suppliers.filter(pl.col("buyer_id") != removed)["buyer_id"][0]
    changed = runs.service.get(changed_id).enterprise
    runs.service.delete(removed)
    runs.service.upsert(copied.model_copy(update={"id": "copy-of-supplier", "name": "新增测试企业"}))
    new_code = "510104" if changed.region_code != "510104" else "500102"
    runs.service.upsert(changed.model_copy(update={"region_code": new_code}))
    second = runs.run(RunOptions(k=5), xlsx=False)
    changes = _changes(runs, second.id, first.id)
    assert set(changes["change"]) <= {"new", "dropped", "moved"}
    dropped = changes.filter((pl.col("counterpart_id") == removed) & (pl.col("change") == "dropped"))
    assert dropped.height > 0 and set(dropped["cause"]) == {"enterprise_removed"}
    added = changes.filter(pl.col("counterpart_id") == "copy-of-supplier")
    assert added.height > 0 and set(added["cause"]) == {"enterprise_added"}
    assert set(added["change"]) == {"new"}
    own = changes.filter(((pl.col("owner_id") == changed_id) | (pl.col("counterpart_id") == changed_id))
                         & ~pl.col("counterpart_id").is_in([removed, "copy-of-supplier"]))
    assert own.height > 0 and set(own["cause"]) == {"profile_changed"}
    assert set(own["cause_enterprise_id"]) == {changed_id}
    # a pair pushed out by the added copy names it as the cause
    pushed = changes.filter((pl.col("cause") == "enterprise_added") & (pl.col("counterpart_id") != "copy-of-supplier"))
    assert set(pushed["cause_enterprise_id"]) <= {"copy-of-supplier"}
    assert "weights_changed" not in set(changes["cause"])
    # the same data under other weights: every change is a weights change
    heavier = WeightProfile(name="text-heavy", version=2, weights={**DEFAULT_WEIGHTS, "text": 0.6, "product": 0.1})
    engine = runs.service.engine
    assert engine is not None
    third = execute(engine.index, runs.store, runs.runs_dir, RunOptions(k=5), heavier, LocalExecutor(), xlsx=False)
    reweighted = _changes(runs, third.id, second.id)
    assert reweighted.height > 0 and set(reweighted["cause"]) == {"weights_changed"}
    assert runs.diff(third.id)[0] == second.id  # default: the previous succeeded run


def test_exposure_cap_and_other_region_minimum(runs: RunsService) -> None:
    free = _rows(runs, runs.run(RunOptions(k=5), xlsx=False).id).filter(pl.col("list") == "suppliers")
    busiest = free.group_by("supplier_id").len()["len"].max()
    assert isinstance(busiest, int) and busiest > 1
    capped = _rows(runs, runs.run(RunOptions(k=5, exposure_cap=1), xlsx=False).id)
    capped = capped.filter(pl.col("list") == "suppliers")
    assert capped.group_by("supplier_id").len()["len"].max() == 1
    assert capped.height < free.height
    mixed = _rows(runs, runs.run(RunOptions(k=2, cross_region_only=False, min_other_region=2), xlsx=False).id)
    lists = mixed.filter(pl.col("list") == "suppliers").group_by("owner_id").agg(other=pl.col("other_city").sum())
    plain = _rows(runs, runs.run(RunOptions(k=2, cross_region_only=False), xlsx=False).id)
    plain_lists = plain.filter(pl.col("list") == "suppliers").group_by("owner_id").agg(
        other=pl.col("other_city").sum())
    assert lists["other"].sum() >= plain_lists["other"].sum()


def test_greedy_allocation_is_by_score_with_reserved_other_region_places() -> None:
    # buyers 0, 1 (city 5101); suppliers 2, 3 (city 5101), 4 (city 5203); ids rank as slots
    candidates = pl.DataFrame({
        "buyer": [0, 0, 0, 1, 1, 1], "supplier": [2, 3, 4, 2, 3, 4], "backfill": [False] * 6,
        "score": [0.9, 0.8, 0.5, 0.95, 0.7, 0.6],
    })
    ranks = np.arange(5)
    codes = np.array([510104, 510105, 510106, 510107, 520302])
    plain = allocate(candidates, ranks, codes, 2)
    assert plain.select("buyer", "supplier", "rank").rows() == [(0, 2, 1), (0, 3, 2), (1, 2, 1), (1, 3, 2)]
    capped = allocate(candidates, ranks, codes, 2, exposure_cap=1)
    # buyer 1 has the best pair overall (0.95) so it takes supplier 2; buyer 0 then takes 3, buyer 1 takes 4
    assert capped.select("buyer", "supplier").rows() == [(0, 3), (1, 2), (1, 4)]
    assert capped.group_by("supplier").len()["len"].max() == 1
    reserved = allocate(candidates, ranks, codes, 2, min_other_region=1)
    assert sorted(reserved.select("buyer", "supplier").rows()) == [(0, 2), (0, 4), (1, 2), (1, 4)]


def test_supplier_list_ranks_regional_firms_exports_and_explains_changes(runs: RunsService) -> None:
    first = runs.run(RunOptions(k=5), xlsx=False)
    manifest = runs.build_list("zunyi-2026H1", ["5203"], first.id)
    _, entries = runs.get_list("zunyi-2026H1")
    assert manifest["entries"] == entries.height > 0
    assert entries["supplier_id"].str.starts_with("zy-").all()
    assert entries["rank"].to_list() == list(range(1, entries.height + 1))
    assert (entries["buyers"].diff().drop_nulls() <= 0).all()  # ranked by cross-region buyers served
    assert (entries["buyer_ids"].list.len() == entries["buyers"]).all()
    table = _rows(runs, first.id).filter(pl.col("list") == "suppliers")
    top = entries.row(0, named=True)
    served = table.filter((pl.col("supplier_id") == top["supplier_id"])
                          & ~pl.col("buyer_region_code").str.starts_with("5203"))
    assert served["buyer_id"].n_unique() == top["buyers"]
    wb = load_workbook(runs.list_file("zunyi-2026H1", "xlsx"), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("排名", "企业ID", "企业名称") and len(rows) == entries.height + 1
    assert rows[1][1] == top["supplier_id"]
    with pytest.raises(ConflictError):
        runs.build_list("zunyi-2026H1", ["5203"], first.id)
    with pytest.raises(InvalidInputError):
        runs.build_list("zunyi-bad", ["zunyi"], first.id)
    gone = entries["supplier_id"][-1]
    runs.service.delete(gone)
    second = runs.run(RunOptions(k=5), xlsx=False)
    runs.build_list("zunyi-2026H2", ["5203"], second.id)
    changes = runs.list_changes("zunyi-2026H2", "zunyi-2026H1")
    row = changes.filter(pl.col("supplier_id") == gone).row(0, named=True)
    assert (row["change"], row["cause"], row["cause_enterprise_id"]) == ("dropped", "enterprise_removed", gone)
    assert "企业已移除" in row["reason_zh"]
