"""Background start-up: the server answers ``/healthz`` from the first moment while the rest loads.

``create_app`` does only what can fail fast (settings, keys, a database connection) and what the health routes
need. :func:`start_in_background` then, off the event loop, imports the routers (the engine, scikit-learn,
polars: a few seconds), loads the chain graph, regions and policy, migrates and seeds the store under the
start-up lock, and publishes the service; the index then builds in its own thread. Until the service is
published, :class:`StartupGate` answers every route but the operations ones with 503 problem+json.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.auth import API_KEY_HEADER, KeyRing
from api.metrics import Metrics
from api.problems import error_response, problem_response, unauthorized
from matching.errors import ChainmatchError, StartupError
from matching.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from matching.service import ChainmatchService

log = logging.getLogger("chainmatch.api")

OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
STARTUP_FAILURE = 3  # uvicorn's exit status for a worker that cannot start: its supervisor then stops, not respawns


@dataclass
class StartupState:
    """What the background start-up is doing (``phase``), or why it failed (``error``, one line)."""

    phase: str = "starting"
    loaded: bool = False  # the store is migrated and every route is in place
    running: bool = False  # a lifespan owns this start-up
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def describe(self) -> str:
        if self.error is not None:
            return f"start-up failed: {self.error} (启动失败)"
        return f"starting: {self.phase} (服务启动中)"


class StartupGate:
    """503 problem+json (``Retry-After: 1``) for every route but ``/healthz``, ``/readyz`` and ``/metrics``
    until the background start-up has published the service; a ``/v1`` request with a bad key still gets 401."""

    def __init__(self, app: ASGIApp, owner: FastAPI) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = self.owner.state
        startup: StartupState = state.startup
        if scope["type"] != "http" or startup.loaded or scope.get("path") in OPERATIONS_PATHS:
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        keyring: KeyRing = state.keyring
        if path.startswith("/v1/"):
            key = Headers(scope=scope).get(API_KEY_HEADER)
            if keyring.authenticate(key) is None:
                await error_response(unauthorized(key), path)(scope, receive, send)
                return
        response = problem_response(
            503, startup.describe(), slug="unavailable", title="Service Unavailable", instance=path,
            headers={"Retry-After": "1"},
        )  # fmt: skip
        await response(scope, receive, send)


def _load(app: FastAPI, settings: Settings, startup: StartupState) -> None:
    """The slow part of start-up, in a worker thread. ``app.state.service`` is set once the graph and regions
    are loaded (before the store is migrated), ``startup.loaded`` once every route is in place."""
    startup.phase = "connecting to the database"
    from matching.store.db import check_database

    check_database(settings.resolved_database_url())
    startup.phase = "loading the API"
    from api import fast_lists
    from api.problems import COMMON_ERRORS
    from api.routers import (
        chainmap,
        chains,
        enterprise_writes,
        enterprises,
        feedback,
        import_jobs,
        imports,
        matching,
        regions,
        runs,
        supplier_lists,
        weights,
    )
    from matching.import_jobs import ImportJobRunner, ImportJobStore
    from matching.service import ChainmatchService

    startup.phase = "loading the chain graph and regions"
    service = ChainmatchService.load(settings)
    app.state.service = service  # closed by the lifespan even if the rest fails
    startup.phase = "migrating and seeding the store (waits for other workers' start-up)"
    service.prepare_store()
    app.state.import_jobs = ImportJobRunner(
        service, ImportJobStore(service.repository.engine, settings.import_job_stale_s)
    )
    if not getattr(app.state, "routers_included", False):  # once per app, however often it is started
        for module in (enterprises, enterprise_writes, matching, imports, import_jobs, regions, chains, chainmap,
                       weights, feedback, runs, supplier_lists):  # fmt: skip
            app.include_router(module.router, responses=COMMON_ERRORS)
        if settings.fast_lists:
            fast_lists.install(app, app.state.keyring)
        app.state.routers_included = True
        app.openapi_schema = None
    startup.phase = "building the index"
    startup.loaded = True  # the gate opens: store reads and writes work; matching answers 503 until built
    service.index.start_build()  # in its own thread; /readyz says when it is done
    log.info("service loaded", extra={"seconds": round(time.monotonic() - startup.started, 3)})


async def start_in_background(app: FastAPI, settings: Settings, metrics: Metrics) -> None:
    """Load the service off the event loop, then poll the change log (see :func:`poll_changes`).

    A failure is kept for ``/readyz`` and logged. A server started by uvicorn (``app.state.exit_on_failure``)
    then prints it as one line and exits with uvicorn's start-up failure status: the worker is useless, and a
    multi-worker supervisor stops on that status instead of respawning it."""
    startup: StartupState = app.state.startup
    try:
        # not abandoned on cancel: a shutdown during start-up waits for it, then closes what it opened
        await anyio.to_thread.run_sync(_load, app, settings, startup)
    except (StartupError, ChainmatchError) as exc:
        _failed(app, startup, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return
    except Exception as exc:
        log.exception("start-up failed")
        _failed(app, startup, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return
    await poll_changes(app.state.service, metrics, settings.sync_interval_s, settings.gc_freeze)


def _failed(app: FastAPI, startup: StartupState, error: str) -> None:
    startup.error = error
    log.error("start-up failed: %s", error)
    if getattr(app.state, "exit_on_failure", False):
        print(f"chainmatch: start-up failed: {error}", file=sys.stderr, flush=True)
        os._exit(STARTUP_FAILURE)  # from the event loop thread: nothing half-open is worth a graceful stop


FREEZE_GROWTH = 10_000
"""Enterprises added to the index since the last :func:`gc.freeze` that make the poll freeze again."""


async def poll_changes(service: ChainmatchService, metrics: Metrics, interval: float, freeze: bool) -> None:
    """Apply other workers' writes to this worker's index every ``interval`` seconds; refresh the gauges.

    Once an index is built (and after it grows by :data:`FREEZE_GROWTH`), its objects are moved out of the
    garbage collector's reach with ``gc.freeze()``: a full collection walks every live object, and with 100k
    firms indexed that stalled every request for about 2 s (20 s expected at 1M). Frozen objects are still
    freed by reference counting; only cycles among them would outlive a rebuild.
    """
    frozen: tuple[int, int] = (0, 0)  # (id of the engine, its size) at the last freeze
    while True:
        try:
            await anyio.to_thread.run_sync(service.sync)
            size = service.index_size()
            metrics.index_size.set(size)
            metrics.index_seq.set(service.index_seq)
            engine = service.engine
            if freeze and engine is not None and (id(engine) != frozen[0] or size - frozen[1] >= FREEZE_GROWTH):
                gc.freeze()
                frozen = (id(engine), size)
                # not gc.get_freeze_count(): it walks every frozen object with the GIL held (1.6 s at 1M firms,
                # which stalled every request just after a built index became ready)
                metrics.gc_frozen.set(size)
        except Exception:
            log.exception("change-log poll failed")
        await asyncio.sleep(interval)
