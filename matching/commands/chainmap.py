"""``chainmatch map | gaps | recruitment | warnings | targets``: the chain-map reports from the store.

Each builds the matching index from the store (seeded on first use, like the server), computes the report and
prints a table, or writes JSON, CSV or XLSX (``--format``, ``--output``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from matching import chainmap as cm
from matching.chainmap.facts import ChainFacts
from matching.service import ChainmatchService, default_settings

DataDir = Annotated[Path | None, typer.Option(help="Data dir (env CHAINMATCH_DATA_DIR)")]
DatabaseUrl = Annotated[str | None, typer.Option(help="SQLAlchemy URL (env CHAINMATCH_DATABASE_URL)")]
Region = Annotated[str | None, typer.Option("--region", help="County, city or province code (520303, 520300)")]
ChainOpt = Annotated[str | None, typer.Option("--chain", help="Only this chain's nodes")]
FormatOpt = Annotated[str, typer.Option("--format", help="table (default), json, csv or xlsx")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout)")]
Limit = Annotated[int | None, typer.Option(min=1, help="At most this many entries")]
Share = Annotated[float | None, typer.Option(min=0.01, max=1.0,
                                             help="Coverage below this share of demand is a gap (default 0.5)")]


@contextmanager
def _facts(data_dir: Path | None, database_url: str | None) -> Iterator[tuple[ChainmatchService, ChainFacts]]:
    console = Console(stderr=True)
    service = ChainmatchService.open(default_settings(data_dir, database_url), build_index=False)
    try:
        with console.status("building the matching index and the chain facts …"):
            service.build_index()
            assert service.engine is not None
            facts = cm.build_facts(service.engine.index)
        yield service, facts
    finally:
        service.close()


def _emit(report: cm.Report, fmt: str, output: Path | None, columns: list[str]) -> None:
    if fmt not in ("table", *cm.FORMATS):
        raise typer.BadParameter(f"unknown format {fmt!r}; use table, json, csv or xlsx", param_hint="--format")
    if fmt == "table":
        if output is not None:
            raise typer.BadParameter("--output needs --format json, csv or xlsx", param_hint="--output")
        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, 160))
        table = Table(title=f"{report.kind} ({len(report.items)})")
        for c in columns:
            table.add_column(c)
        for row in report.table.select(columns).iter_rows():
            table.add_row(*(_cell(v) for v in row))
        console.print(table)
        return
    data = cm.render(report, fmt)  # type: ignore[arg-type]
    if output is None:
        if fmt == "xlsx":
            raise typer.BadParameter("xlsx needs --output FILE", param_hint="--output")
        sys.stdout.write(data.decode("utf-8-sig"))
        return
    output.write_bytes(data)
    Console(stderr=True).print(f"wrote {len(report.items)} {report.kind} entries to {output}")


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ";".join(str(v) for v in value[:5]) + (" …" if len(value) > 5 else "")
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def map_command(
    chain: Annotated[str, typer.Argument(help="Chain id (chainmatch: GET /v1/chains)")],
    region: Region = None, fmt: FormatOpt = "table", output: Output = None,
    firms_limit: Annotated[int, typer.Option(min=0, help="Firms listed per node and role in JSON")] = 50,
    data_dir: DataDir = None, database_url: DatabaseUrl = None,
) -> None:
    """The chain map: per node, the firms that supply it and need it. 中文：导出产业图谱。"""
    with _facts(data_dir, database_url) as (service, facts):
        if chain not in service.graph.chains:
            raise typer.BadParameter(f"unknown chain {chain!r}", param_hint="CHAIN")
        report = cm.chain_map(facts, chain, region, firms_limit)
    _emit(report, fmt, output, ["node_id", "node_name", "role", "enterprise_id", "name", "region_code", "in_circle"])


def gaps_command(region: Region = None, chain: ChainOpt = None, limit: Limit = None, coverage_share: Share = None,
                 fmt: FormatOpt = "table", output: Output = None, data_dir: DataDir = None,
                 database_url: DatabaseUrl = None) -> None:
    """Gaps (填空卡位): nodes the circle needs with no or too little in-circle supply. 中文：补链清单。"""
    with _facts(data_dir, database_url) as (_, facts):
        report = cm.gaps(facts, region, chain, limit, coverage_share)
    _emit(report, fmt, output, ["rank", "node_name", "gap", "weight", "explicit_firms", "inferred_firms",
                                "coverage", "needing", "suppliers_outside"])


def recruitment_command(region: Region = None, chain: ChainOpt = None, limit: Limit = None,
                        coverage_share: Share = None, fmt: FormatOpt = "table", output: Output = None,
                        data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Recruitment targets (招商图谱): out-of-circle firms that fill the region's gaps. 中文：招商目标。"""
    with _facts(data_dir, database_url) as (_, facts):
        report = cm.recruitment_targets(facts, region, chain, limit, coverage_share)
    _emit(report, fmt, output, ["rank", "enterprise_id", "name", "region_code", "value", "reason_zh"])


def warnings_command(region: Region = None, chain: ChainOpt = None,
                     severity: Annotated[str | None, typer.Option(help="high, medium or low")] = None,
                     limit: Limit = None, fmt: FormatOpt = "table", output: Output = None,
                     data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Supply-chain warnings (供应链预警) on posted and inferred needs. 中文：供应链预警。"""
    if severity is not None and severity not in cm.SEVERITIES:
        raise typer.BadParameter(f"unknown severity {severity!r}; use high, medium or low", param_hint="--severity")
    with _facts(data_dir, database_url) as (_, facts):
        report = cm.warnings(facts, region, chain, severity, limit)
    _emit(report, fmt, output, ["severity", "kind", "enterprise_id", "node_name", "inferred", "viable_suppliers",
                                "reason_zh"])


def targets_command(region: Region = None, fmt: FormatOpt = "table", output: Output = None,
                    data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Plan targets against the data; unmeasurable ones with the reason. 中文：规划目标与数据对照。"""
    with _facts(data_dir, database_url) as (service, facts), _progress() as progress:
        report = cm.targets(facts, service.policy, region, progress=progress)
    _emit(report, fmt, output, ["id", "year", "comparator", "target", "unit", "measurable", "measured", "reached",
                                "reason"])


@contextmanager
def _progress() -> Iterator[Callable[[int, int], None]]:
    with Progress(TextColumn("matching in-circle demand"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("match", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance
