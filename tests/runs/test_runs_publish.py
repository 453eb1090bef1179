"""Runs: snapshot files, reproducibility, executors, atomic publication under SIGKILL, the overlap lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from matching.cli import app
from matching.runs.executors import LocalExecutor, RayExecutor
from matching.runs.options import RunOptions
from matching.runs.records import FAILED, SUCCEEDED, RunBusyError
from matching.runs.runner import PAUSE_ENV
from matching.runs.service import RunsService
from matching.runs.table import TABLE_COLUMNS
from matching.weights import COMPONENTS
from tests.runs.conftest import table_hash


def test_snapshot_has_both_lists_every_component_and_opens_as_xlsx(runs: RunsService) -> None:
    record = runs.run(RunOptions(k=5))
    assert record.status == SUCCEEDED
    run_dir = runs.runs_dir / record.id
    table = pl.read_parquet(run_dir / "matches.parquet")
    assert table.columns == TABLE_COLUMNS and set(COMPONENTS) <= set(table.columns)
    assert set(table["list"]) == {"suppliers", "buyers"}
    assert table.height == record.counts["rows"] if record.counts else False
    # one row per pair, lists at most k long, cross-region only, ranks 1..n
    assert table.select("list", "owner_id", "buyer_id", "supplier_id").is_duplicated().sum() == 0
    sizes = table.group_by("list", "owner_id").agg(n=pl.len(), top=pl.col("rank").max())
    assert sizes["n"].max() <= 5 and (sizes["n"] == sizes["top"]).all()
    assert (table["buyer_region_code"] != table["supplier_region_code"]).all()
    assert table.filter(pl.col("inferred")).height > 0 and table.filter(~pl.col("inferred")).height > 0
    assert table["reason_zh"].str.contains("综合得分").all()
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data_fingerprint"] == record.data_fingerprint
    assert manifest["weights"]["name"] == record.weights_name == "default"
    assert manifest["params"]["version"] == record.params_version
    assert set(manifest["files"]) == {"matches.parquet", "profiles.parquet", "matches.csv", "matches.xlsx"}
    wb = load_workbook(run_dir / "matches.xlsx", read_only=True)
    sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    assert set(sheets) == {"供应商名单", "潜在买家名单"}
    rows = sheets["供应商名单"]
    assert rows[0][:3] == ("名单", "名单所属企业", "排名")
    assert len(rows) - 1 == table.filter(pl.col("list") == "suppliers").height
    assert pl.read_csv(run_dir / "matches.csv").height == table.height


def test_same_inputs_give_a_byte_identical_table_whatever_the_blocks_and_workers(runs: RunsService) -> None:
    first = runs.run(RunOptions(k=5), xlsx=False)
    second = runs.run(RunOptions(k=5, block_size=16), LocalExecutor(workers=2), xlsx=False)
    assert second.counts is not None and second.counts["blocks"] > 1
    assert first.id != second.id
    assert table_hash(runs, first) == table_hash(runs, second)


def test_ray_executor_gives_exactly_the_local_table(runs: RunsService) -> None:
    pytest.importorskip("ray")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    local = runs.run(RunOptions(k=5, block_size=64), LocalExecutor(), xlsx=False)
    ray_run = runs.run(RunOptions(k=5, block_size=64), RayExecutor(None, workers=1), xlsx=False)
    assert ray_run.options["executor"] == "ray" and ray_run.counts and ray_run.counts["blocks"] > 1
    assert table_hash(runs, local) == table_hash(runs, ray_run)


def test_a_run_killed_before_publication_leaves_the_previous_run_published(runs: RunsService, tmp_path: Path
                                                                           ) -> None:
    previous = runs.run(RunOptions(k=5), xlsx=False)
    before = table_hash(runs, previous)
    marker = tmp_path / "paused"
    env = {**os.environ, PAUSE_ENV: str(marker), "CHAINMATCH_DATA_DIR": str(runs.service.settings.data_dir)}
    command = [sys.executable, "-c", "from matching.cli import app; app()", "run", "--k", "5", "--no-xlsx"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the run never reached publication"
            time.sleep(0.1)
        killed_id = marker.read_text(encoding="utf-8")
        assert (runs.runs_dir / f".tmp-{killed_id}" / "matches.parquet").exists()  # written, not published
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert runs.store.get(killed_id).status == "running"  # type: ignore[union-attr]  # nobody noticed yet
    listed = {r.id: r for r in runs.list_runs()}
    assert listed[killed_id].status == FAILED
    assert "killed or crashed" in (listed[killed_id].reason or "")
    assert listed[previous.id].status == SUCCEEDED
    assert runs.store.latest_succeeded() == listed[previous.id]
    assert not (runs.runs_dir / f".tmp-{killed_id}").exists() and not (runs.runs_dir / killed_id).exists()
    assert table_hash(runs, previous) == before


def test_an_error_during_a_run_records_failed_with_the_reason(runs: RunsService) -> None:
    published = runs.run(RunOptions(k=3), xlsx=False)

    class Broken(LocalExecutor):
        def map_blocks(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
            raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        runs.run(RunOptions(k=3), Broken(), xlsx=False)
    failed = runs.list_runs()[0]
    assert failed.status == FAILED and failed.reason == "RuntimeError: disk on fire"
    assert runs.store.latest_succeeded() == runs.get(published.id)
    assert not (runs.runs_dir / failed.id).exists() and not (runs.runs_dir / f".tmp-{failed.id}").exists()


def test_runs_never_overlap(runs: RunsService) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        runs.store.start("20000101T000000-aaaaaa", weights_name="default", weights_version=1, params_version=1,
                         code_version="x", options={})
        from sqlalchemy import update

        from matching.store.db import write_transaction
        from matching.store.tables import runs as runs_table

        with write_transaction(runs.store.engine) as conn:  # the record of a live process
            conn.execute(update(runs_table).where(runs_table.c.id == "20000101T000000-aaaaaa").values(
                pid=sleeper.pid))
        with pytest.raises(RunBusyError, match="already running"):
            runs.run(RunOptions(k=3), xlsx=False)
        result = CliRunner().invoke(app, ["run", "--k", "3", "--data-dir", str(runs.service.settings.data_dir)])
        assert result.exit_code == 1
        assert "20000101T000000-aaaaaa is already running" in result.output
    finally:
        sleeper.kill()
        sleeper.wait()
    runs.run(RunOptions(k=3), xlsx=False)  # its process gone, the stale record no longer blocks
    assert runs.store.get("20000101T000000-aaaaaa").status == FAILED  # type: ignore[union-attr]


def test_schedule_rejects_a_bad_cron_expression(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["schedule", "--cron", "every tuesday", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "crontab" in result.output


def test_the_scheduled_job_runs_once_per_fire_and_skips_when_busy(runs: RunsService) -> None:
    from matching.commands.runs import make_scheduler, scheduled_run

    fired: list[object] = []
    scheduler = make_scheduler("0 3 1 1,7 *", lambda: fired.append(scheduled_run(runs, RunOptions(k=3), "local",
                                                                                  None, 1, True)))
    job = scheduler.get_jobs()[0]
    assert job.max_instances == 1 and job.coalesce
    assert str(job.trigger.get_next_fire_time(None, datetime(2026, 2, 1, tzinfo=UTC))) == "2026-07-01 03:00:00+00:00"
    job.func()
    record = fired[0]
    assert record is not None and runs.get(record.id).status == SUCCEEDED  # type: ignore[attr-defined]
    runs.store.start("20000101T000000.000001-bbbbbb", weights_name="default", weights_version=1, params_version=1,
                     code_version="x", options={})  # held by this live process
    try:
        job.func()
        assert fired[1] is None  # refused by the lock, reported, the schedule goes on
    finally:
        runs.store.fail("20000101T000000.000001-bbbbbb", "test done")
