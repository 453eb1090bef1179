"""``chainmatch params``: the engine's tuning constants, each with its value and one-line reason."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from matching.params import DEFAULT_PARAMS, MatchParams


def params(json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")] = False) -> None:
    """Print the matching parameters (MatchParams) with the reason for each."""
    values = DEFAULT_PARAMS.model_dump()
    if json_out:
        typer.echo(json.dumps(values, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"MatchParams version {DEFAULT_PARAMS.version}")
    for column in ("parameter", "value", "reason"):
        table.add_column(column, overflow="fold")
    for name, field in MatchParams.model_fields.items():
        table.add_row(name, str(values[name]), field.description or "")
    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 140))
    console.print(table)
