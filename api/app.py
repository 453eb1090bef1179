"""The FastAPI app factory: ``uvicorn --factory api.app:create_app`` or ``chainmatch serve``."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from api.auth import build_keyring
from api.logs import configure_logging
from api.metrics import Metrics
from api.middleware import BodyLimitMiddleware, HeadMiddleware, KeyGateMiddleware, RequestContextMiddleware
from api.problems import COMMON_ERRORS, PROBLEM_MEDIA_TYPE, install_problem_handlers
from api.routers import (
    chainmap,
    chains,
    enterprise_writes,
    enterprises,
    feedback,
    health,
    import_jobs,
    imports,
    matching,
    regions,
    runs,
    supplier_lists,
    weights,
)
from matching import __version__
from matching.import_jobs import ImportJobRunner, ImportJobStore
from matching.service import ChainmatchService
from matching.settings import Settings

log = logging.getLogger("chainmatch.api")
MULTIPART_OVERHEAD = 64 * 1024

DESCRIPTION = """
Regional supply-chain matching for the Chengdu–Chongqing economic circle (成渝地区双城经济圈).

Every `/v1` request carries an `X-API-Key` header. Roles: `portal` (read enterprises and matches, write
enterprises, post feedback), `analyst` (plus weight profiles and runs), `admin` (everything, including bulk import and
deletion). Errors are RFC 9457 `application/problem+json` with field-level details.

中文：成渝地区双城经济圈产业链供需匹配服务。所有 `/v1` 请求须带 `X-API-Key`；错误按 RFC 9457 返回。
"""


FREEZE_GROWTH = 10_000
"""Enterprises added to the index since the last :func:`gc.freeze` that make the poll freeze again."""


async def _poll_changes(service: ChainmatchService, metrics: Metrics, interval: float, freeze: bool) -> None:
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
                metrics.gc_frozen.set(gc.get_freeze_count())
        except Exception:
            log.exception("change-log poll failed")
        await asyncio.sleep(interval)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app: check keys, migrate and seed the store (once across workers), build the index."""
    settings = settings or Settings()
    configure_logging(settings.log_level, settings.log_json)
    keyring = build_keyring(settings)
    service = ChainmatchService.open(settings, build_index=False)
    jobs = ImportJobRunner(service, ImportJobStore(service.repository.engine, settings.import_job_stale_s))
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Read from app.state, not from this closure: a stopped app then keeps no store, index or job runner
        # alive (FastAPI's routers keep every app they were included in; tests start hundreds of apps).
        service: ChainmatchService = app.state.service
        jobs: ImportJobRunner = app.state.import_jobs
        # the index builds in the background: /healthz answers at once, matching answers 503 until ready
        service.index.start_build()
        task = asyncio.create_task(_poll_changes(service, metrics, settings.sync_interval_s, settings.gc_freeze))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            jobs.shutdown()
            await anyio.to_thread.run_sync(service.index.save_snapshot)  # changes since the last snapshot
            metrics.close()
            service.close()
            app.state.service = app.state.import_jobs = None

    app = FastAPIOffline(  # a FastAPI app whose /docs and /redoc assets are served locally, not from a CDN
        title="chainmatch",
        version=__version__,
        summary="Cross-region supply-chain matching (供需对接) for the Chengdu–Chongqing economic circle",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_tags=[
            {"name": "enterprises", "description": "Enterprise profiles and ranked partners"},
            {"name": "matching", "description": "Ad-hoc matching"},
            {"name": "imports", "description": "Bulk import"},
            {"name": "regions", "description": "County-level regions"},
            {"name": "chains", "description": "Industrial chain graph"},
            {"name": "weights", "description": "Weight profiles: versions, previews, evaluation, fitting"},
            {"name": "feedback", "description": "Outcomes on proposed pairs and graph suggestions"},
            {"name": "runs", "description": "Batch runs, their match tables and diffs; supplier lists"},
            {"name": "operations", "description": "Health, readiness, metrics"},
        ],
    )
    app.state.settings = settings
    app.state.service = service
    app.state.keyring = keyring
    app.state.import_jobs = jobs
    app.state.metrics = metrics

    for module in (enterprises, enterprise_writes, matching, imports, import_jobs, regions, chains, chainmap,
                   weights, feedback, runs, supplier_lists):
        app.include_router(module.router, responses=COMMON_ERRORS)
    app.include_router(health.router)
    install_problem_handlers(app)

    def limit_for(path: str) -> int:
        if path.rstrip("/") == "/v1/imports":
            return settings.max_import_bytes + MULTIPART_OVERHEAD
        return settings.max_body_bytes

    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(KeyGateMiddleware, authenticate=keyring.authenticate)  # before the body is read
    app.add_middleware(HeadMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    log.info("app created; index builds at start-up", extra={"keys": len(keyring)})
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI with every 4xx/5xx response documented as ``application/problem+json`` Problem."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.get("responses", {})
            for status, response in responses.items():
                if status[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}
            if "422" in responses:
                responses["422"]["description"] = "Invalid input, with field-level details"
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    app.openapi_schema = schema
    return schema
