"""``chainmatch seeds …``: inspect and validate the seed knowledge base."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from matching.seeds_check import check_seeds

seeds_app = typer.Typer(help="Seed knowledge base: chain graph, regions, policy, plan enterprises.")


@seeds_app.command("check")
def check(
    seeds_dir: Annotated[
        Path | None, typer.Option(help="Seeds directory (default: the repository's)")
    ] = None,
    source_docs: Annotated[
        Path | None,
        typer.Option(help="The five source documents (default: env CHAINMATCH_SOURCE_DOCS, else seeds/sources)"),
    ] = None,
) -> None:
    """Validate every seed file; print the counts, notes and each defect; exit 1 on any defect.

    A check that needs the source documents is skipped with a note when they are absent.
    """
    console = Console()
    report = check_seeds(seeds_dir, source_docs)
    table = Table(title="seeds", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in report.counts.items():
        table.add_row(key, str(value))
    console.print(table)
    for note in report.notes:
        console.print(f"[yellow]NOTE[/yellow] {escape(note)}", highlight=False, soft_wrap=True)
    if report.ok:
        console.print("[green]seeds check passed: no defects[/green]")
        return
    for defect in report.defects:
        console.print(f"[red]DEFECT[/red] {escape(str(defect))}", highlight=False, soft_wrap=True)
    console.print(f"[red]{len(report.defects)} defect(s)[/red]")
    raise typer.Exit(code=1)
