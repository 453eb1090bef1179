"""``chainmatch serve``: run the REST API with uvicorn (the API is imported only inside the workers)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from matching.errors import StartupError
from matching.settings import Settings, is_loopback


def serve(
    host: Annotated[
        str, typer.Option(help="Address to bind; non-loopback requires CHAINMATCH_API_KEYS")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes")] = 1,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data dir (env CHAINMATCH_DATA_DIR; default ./data)")
    ] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="SQLAlchemy URL (env CHAINMATCH_DATABASE_URL; default SQLite in the data dir)"),
    ] = None,
    worker_healthcheck_s: Annotated[
        int, typer.Option(min=1, help="With --workers > 1: restart a worker silent for this many seconds")
    ] = 60,
) -> None:
    """Serve the REST API (uvicorn, app factory ``api.app:create_app``).

    中文：启动 REST 服务。"""
    # Workers are separate processes that read their settings from the environment.
    if data_dir is not None:
        os.environ["CHAINMATCH_DATA_DIR"] = str(data_dir.resolve())
    if database_url is not None:
        os.environ["CHAINMATCH_DATABASE_URL"] = database_url
    os.environ["CHAINMATCH_HOST"] = host
    if is_loopback(host):
        os.environ.setdefault("CHAINMATCH_GENERATE_ADMIN_KEY", "true")  # the factory refuses without it
    try:
        settings = Settings()
    except ValueError as exc:
        typer.echo(f"configuration error: {exc}", err=True)
        raise typer.Exit(2) from None
    if not settings.key_pairs() and not is_loopback(host):
        typer.echo(
            f"refusing to serve on non-loopback host {host!r} without CHAINMATCH_API_KEYS "
            "(comma-separated key:role; role portal, analyst or admin)",
            err=True,
        )
        raise typer.Exit(2)
    from matching.store.db import check_database  # SQLAlchemy and Alembic: imported once settings are good

    try:  # fail here with one line rather than in every worker (uvicorn would restart them)
        check_database(settings.resolved_database_url())
    except StartupError as exc:
        typer.echo(exc.code, err=True)
        raise typer.Exit(2) from None
    import uvicorn

    with metrics_dir(enabled=workers > 1):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,  # the app logs one JSON line per request, with its request id
            proxy_headers=True,
            timeout_graceful_shutdown=10,
            # uvicorn kills a worker that misses a 5 s health ping; a bulk import or index build can hold the
            # GIL that long on a busy machine, and the kill lost the job (measured with --workers 2)
            timeout_worker_healthcheck=worker_healthcheck_s,
        )


@contextmanager
def metrics_dir(*, enabled: bool) -> Iterator[None]:
    """A fresh ``PROMETHEUS_MULTIPROC_DIR`` for this server's workers, so ``/metrics`` sums all of them.

    Only with several workers: they are spawned after the variable is set, which multiprocess mode needs.
    A directory the operator set is emptied of stale sample files first (prometheus_client requires a clean
    directory per run); one made here is removed when the server stops.
    """
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not enabled:
        yield
        return
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        yield
        return
    made = tempfile.mkdtemp(prefix="chainmatch-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = made
    try:
        yield
    finally:
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        shutil.rmtree(made, ignore_errors=True)
