"""``chainmatch run``, ``chainmatch runs …``, ``chainmatch schedule`` and ``chainmatch lists …``.

中文：批量匹配运行、运行对比、定时运行和半年度供应商名录。
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matching.errors import ChainmatchError
from matching.runs.executors import make_executor
from matching.runs.options import RunOptions
from matching.runs.records import RunRecord
from matching.runs.service import RunsService
from matching.service import ChainmatchService, default_settings

runs_app = typer.Typer(help="Published runs: list, show, diff.", no_args_is_help=True)
lists_app = typer.Typer(help="Named supplier lists (e.g. zunyi-2026H2) built from runs.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option(help="Data dir (env CHAINMATCH_DATA_DIR; default ./data)")]
DbUrl = Annotated[str | None, typer.Option(help="SQLAlchemy URL (env CHAINMATCH_DATABASE_URL)")]
K = Annotated[int, typer.Option("--k", min=1, max=100, help="Suppliers per buyer and buyers per supplier")]
Weights = Annotated[str | None, typer.Option(help="Weight profile name[:version]")]
AllRegions = Annotated[bool, typer.Option("--same-county/--cross-region",
                                          help="Also keep pairs in the same county (default: cross-region only)")]
Cap = Annotated[int | None, typer.Option(min=1, help="Most buyer lists one supplier may appear in")]
MinOther = Annotated[int, typer.Option(min=0, max=100, help="Places per list kept for firms from another city")]
Block = Annotated[int, typer.Option(min=16, help="Demand rows per block (bounds memory)")]
ExecutorOpt = Annotated[str, typer.Option(help="local (processes on this machine) or ray")]
Address = Annotated[str | None, typer.Option(help="Ray cluster address (ray://host:10001 or host:6379)")]
Workers = Annotated[int, typer.Option(min=1, help="Worker processes (local) or actors (ray)")]
NoXlsx = Annotated[bool, typer.Option("--no-xlsx", help="Skip the XLSX export")]


def _open(data_dir: Path | None, database_url: str | None) -> RunsService:
    return RunsService(ChainmatchService.open(default_settings(data_dir, database_url)))


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(1)


def _options(k: int, weights: str | None, same_county: bool, exposure_cap: int | None, min_other_region: int,
             block_size: int) -> RunOptions:
    return RunOptions(k=k, weights=weights, cross_region_only=not same_county, exposure_cap=exposure_cap,
                      min_other_region=min_other_region, block_size=block_size)


def run_once(runs: RunsService, options: RunOptions, executor: str, address: str | None, workers: int,
             no_xlsx: bool) -> RunRecord:
    """One run with a progress bar; raises on failure (the record says why)."""
    with Progress(TextColumn("[bold]run[/bold] demand rows"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True)) as bar:
        task = bar.add_task("run", total=None)
        return runs.run(options, make_executor(executor, workers=workers, address=address),
                        progress=lambda done, total: bar.update(task, completed=done, total=total), xlsx=not no_xlsx)


def run(
    k: K = 10, weights: Weights = None, same_county: AllRegions = False, exposure_cap: Cap = None,
    min_other_region: MinOther = 0, block_size: Block = 4096, executor: ExecutorOpt = "local",
    address: Address = None, workers: Workers = 1, no_xlsx: NoXlsx = False, data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Compute every enterprise's top-k cross-region suppliers and buyers; publish data/runs/<run_id>/.

    中文：批量计算每家企业的跨区域供应商与潜在买家名单，并原子发布快照。"""
    runs = _open(data_dir, database_url)
    try:
        record = run_once(runs, _options(k, weights, same_county, exposure_cap, min_other_region, block_size),
                          executor, address, workers, no_xlsx)
    except ChainmatchError as exc:
        raise _fail(exc) from None
    finally:
        runs.service.close()
    typer.echo(f"run {record.id} {record.status}: {json.dumps(record.counts, ensure_ascii=False)}")
    typer.echo(f"published {runs.runs_dir / record.id}")


@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20, data_dir: DataDir = None,
              database_url: DbUrl = None) -> None:
    """Runs, newest first (stale 'running' records whose process is gone are marked failed first)."""
    runs = _open(data_dir, database_url)
    table = Table("id", "status", "started", "finished", "weights", "rows", "reason")
    for r in runs.list_runs(limit=limit):
        table.add_row(r.id, r.status, r.started_at.isoformat(timespec="seconds"),
                      r.finished_at.isoformat(timespec="seconds") if r.finished_at else "",
                      f"{r.weights_name}:{r.weights_version}", str((r.counts or {}).get("rows", "")), r.reason or "")
    Console(width=200).print(table)


@runs_app.command("show")
def runs_show(run_id: str, data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """One run record as JSON."""
    runs = _open(data_dir, database_url)
    try:
        typer.echo(runs.get(run_id).model_dump_json(indent=2))
    except ChainmatchError as exc:
        raise _fail(exc) from None


@runs_app.command("diff")
def runs_diff(
    run_id: str, against: Annotated[str | None, typer.Option(help="Older run (default: the previous one)")] = None,
    out: Annotated[Path | None, typer.Option(help="Write every change as CSV here")] = None,
    data_dir: DataDir = None, database_url: DbUrl = None,
) -> None:
    """New, dropped and moved pairs with their causes.

    中文：对比两次运行：新增、移出和名次变化的配对及原因。"""
    from matching.runs.diff import summary

    runs = _open(data_dir, database_url)
    try:
        old, changes = runs.diff(run_id, against)
    except ChainmatchError as exc:
        raise _fail(exc) from None
    typer.echo(f"{run_id} against {old}: {changes.height} changes")
    typer.echo(json.dumps(summary(changes), ensure_ascii=False, indent=2))
    if out is not None:
        changes.write_csv(out)
        typer.echo(f"wrote {out}")


def schedule(
    cron: Annotated[str, typer.Option(help='Crontab expression, e.g. "0 3 1 1,7 *" (03:00 on 1 Jan and 1 Jul)')],
    k: K = 10, weights: Weights = None, same_county: AllRegions = False, exposure_cap: Cap = None,
    min_other_region: MinOther = 0, block_size: Block = 4096, executor: ExecutorOpt = "local",
    address: Address = None, workers: Workers = 1, no_xlsx: NoXlsx = False, data_dir: DataDir = None,
    database_url: DbUrl = None,
) -> None:
    """Run on a cron schedule (APScheduler) until stopped; runs never overlap.

    中文：按 cron 表达式定时运行（例如每半年一次）。"""
    options = _options(k, weights, same_county, exposure_cap, min_other_region, block_size)
    opened: list[RunsService] = []  # the cron expression is checked before the store and index are opened
    scheduler = make_scheduler(cron, lambda: scheduled_run(opened[0], options, executor, address, workers, no_xlsx))
    opened.append(_open(data_dir, database_url))
    trigger = scheduler.get_jobs()[0].trigger
    typer.echo(f"scheduled {cron!r} (UTC); next run {trigger.get_next_fire_time(None, _now())}; Ctrl-C stops")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


def scheduled_run(runs: RunsService, options: RunOptions, executor: str, address: str | None, workers: int,
                  no_xlsx: bool) -> RunRecord | None:
    """One scheduled run; a refused or failed run is reported and the schedule goes on."""
    try:
        record = run_once(runs, options, executor, address, workers, no_xlsx)
    except ChainmatchError as exc:  # e.g. another run (cron, API or CLI) holds the lock
        typer.echo(f"skipped: {exc}", err=True)
        return None
    except Exception as exc:  # recorded failed with its reason
        typer.echo(f"run failed: {exc}", err=True)
        return None
    typer.echo(f"run {record.id} {record.status}")
    return record


def make_scheduler(cron: str, job: Callable[[], object]) -> Any:
    """An APScheduler ``BlockingScheduler`` (not started) running ``job`` on the crontab ``cron`` (UTC)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    try:
        trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    except ValueError as exc:
        raise typer.BadParameter(f"not a crontab expression: {exc}", param_hint="--cron") from None
    scheduler = BlockingScheduler(timezone="UTC")
    # max_instances=1 and coalesce: a late or slow run never overlaps the next (the store lock also holds)
    scheduler.add_job(job, trigger, max_instances=1, coalesce=True, misfire_grace_time=3600, id="chainmatch-run")
    return scheduler


def _now() -> datetime:
    return datetime.now(UTC)


@lists_app.command("build")
def lists_build(
    name: Annotated[str, typer.Argument(help="List name, e.g. zunyi-2026H2")],
    regions: Annotated[list[str], typer.Option("--region", help="Supplier county-code prefix (repeat), e.g. 5203")],
    run_id: Annotated[str | None, typer.Option("--run", help="Run id (default: the newest succeeded)")] = None,
    data_dir: DataDir = None, database_url: DbUrl = None,
) -> None:
    """Build a named supplier list: firms of the regions ranked by the cross-region demand they can serve.

    中文：生成半年度供应商名录（按可满足的跨区域需求排序）。"""
    runs = _open(data_dir, database_url)
    try:
        manifest = runs.build_list(name, regions, run_id)
    except ChainmatchError as exc:
        raise _fail(exc) from None
    typer.echo(f"list {name}: {manifest['entries']} entries from run {manifest['run_id']}")
    typer.echo(f"wrote {runs.lists_dir / name}")


@lists_app.command("diff")
def lists_diff(name: str, against: Annotated[str, typer.Option(help="The previous period's list")],
               data_dir: DataDir = None, database_url: DbUrl = None) -> None:
    """Entries new, dropped or moved since another list, with causes."""
    runs = _open(data_dir, database_url)
    try:
        changes = runs.list_changes(name, against)
    except ChainmatchError as exc:
        raise _fail(exc) from None
    for row in changes.iter_rows(named=True):
        typer.echo(f"{row['change']}\t{row['supplier_id']}\t{row['cause']}\t{row['reason_zh']}")
    typer.echo(f"{changes.height} changes")
