"""``chainmatch index …``: prepare the matching index snapshot offline, so servers start by loading it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from matching.service import ChainmatchService, default_settings

index_app = typer.Typer(help="The matching index snapshot servers start from.", no_args_is_help=True)
PASSES = {"texts": "1/2 reading item texts", "profiles": "2/2 indexing profiles"}


@index_app.command("build")
def build(
    data_dir: Annotated[Path | None, typer.Option(help="Data dir (env CHAINMATCH_DATA_DIR)")] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (env CHAINMATCH_DATABASE_URL)")
    ] = None,
) -> None:
    """Build the index from the store and save it as the snapshot servers load at start (under
    ``<data_dir>/index`` or CHAINMATCH_INDEX_SNAPSHOT_DIR). Running servers keep theirs; a server that
    starts afterwards loads this one and applies the changes written since.

    中文：离线构建匹配索引快照，服务启动时直接加载。"""
    settings = default_settings(data_dir, database_url).model_copy(update={"index_snapshot": True})
    service = ChainmatchService.open(settings, build_index=False)
    try:
        total = service.repository.count()
        started = time.perf_counter()
        console = Console(stderr=True)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as bar:
            tasks = {phase: bar.add_task(label, total=total) for phase, label in PASSES.items()}

            def on_page(phase: str, enterprises: int) -> None:
                bar.advance(tasks[phase], enterprises)

            name, seq, count = service.index.build_snapshot(on_page)
    finally:
        service.close()
    if name is None:
        typer.echo("index built but the snapshot could not be saved (see the log)", err=True)
        raise typer.Exit(1)
    typer.echo(f"snapshot {name}: {count} enterprises at store seq {seq}, "
               f"{time.perf_counter() - started:.1f} s")
