"""``chainmatch import``: load a CSV, JSONL or XLSX file straight into the store.

Running servers pick the changes up from the change log within a second.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from matching.errors import InvalidInputError
from matching.imports import FORMATS, Format
from matching.service import ChainmatchService, ImportProgress, default_settings, describe_row_errors

PHASES = {"parsing": "parsing", "storing": "storing", "indexing": "indexing"}


@contextmanager
def import_progress(name: str) -> Iterator[ImportProgress]:
    """A rich progress bar on stderr fed by ``import_bytes`` (phase and enterprises stored)."""
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{name}: parsing", total=None)

        def update(phase: str, done: int, total: int) -> None:
            bar.update(task, description=f"{name}: {PHASES.get(phase, phase)}", completed=done,
                       total=total or None)  # fmt: skip

        yield update


def import_file(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="File to import")],
    data_dir: Annotated[Path | None, typer.Option(help="Data dir (env CHAINMATCH_DATA_DIR)")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (env CHAINMATCH_DATABASE_URL)")
    ] = None,
    format: Annotated[
        str | None, typer.Option(help="csv, jsonl or xlsx (default: from the extension)")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Validate and report; store nothing")] = False,
    json_report: Annotated[bool, typer.Option("--json", help="Print the full report as JSON")] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 if any row is rejected")] = False,
) -> None:
    """Import enterprises from a file with a progress bar; prints per-row results (a bad row never blocks the
    good ones). ``--dry-run`` lists the ids it would create and update.

    中文：从文件批量导入企业档案，逐行报告接受或拒绝。"""
    if format is not None and format not in FORMATS:
        typer.echo(f"unknown format {format!r}; use one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    settings = default_settings(data_dir, database_url)
    service = ChainmatchService.open(settings, build_index=False)
    try:
        fmt: Format | None = format  # type: ignore[assignment]
        with import_progress(path.name) as progress:
            outcome = service.import_bytes(
                path.read_bytes(), filename=path.name, fmt=fmt, dry_run=dry_run, progress=progress
            )
    except InvalidInputError as exc:
        typer.echo(f"cannot import {path}: {exc}", err=True)
        for err in exc.errors:
            typer.echo(f"  {err.loc}: {err.msg}", err=True)
        raise typer.Exit(2) from None
    finally:
        service.close()
    reports = outcome.plan.reports
    rejected = [r for r in reports if r.status == "rejected"]
    if json_report:
        typer.echo(
            json.dumps(
                {
                    "format": outcome.plan.format,
                    "dry_run": dry_run,
                    "rows": len(reports),
                    "accepted": len(reports) - len(rejected),
                    "rejected": len(rejected),
                    "enterprises": {
                        "created": outcome.created,
                        "updated": outcome.updated,
                        "unchanged": outcome.unchanged,
                    },
                    "items": [asdict(r) for r in reports],
                    "warnings": outcome.plan.warnings,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        typer.echo(
            f"{path.name}: {len(reports)} rows, {len(reports) - len(rejected)} accepted, "
            f"{len(rejected)} rejected; enterprises created {len(outcome.created)}, updated "
            f"{len(outcome.updated)}, unchanged {len(outcome.unchanged)}" + (" (dry run)" if dry_run else "")
        )
        if dry_run:
            for label, ids in (("would create", outcome.created), ("would update", outcome.updated)):
                if ids:
                    typer.echo(f"  {label} ({len(ids)}): {', '.join(ids)}")
        for report in rejected:
            typer.echo(
                f"  row {report.row} ({report.enterprise_id or '-'}): {describe_row_errors(report.errors)}"
            )
        for warning in outcome.plan.warnings:
            typer.echo(f"  warning: {warning}")
    if strict and rejected:
        raise typer.Exit(1)
