"""The ``chainmatch`` command line (typer)."""

from __future__ import annotations

import typer

from matching.commands.seeds import seeds_app

app = typer.Typer(help="chainmatch: cross-region supply-chain matching for the Chengdu–Chongqing circle.",
                  no_args_is_help=True)
app.add_typer(seeds_app, name="seeds")


def main() -> None:  # pragma: no cover - console entry
    app()
