"""The FastAPI app factory: ``uvicorn --factory api.app:create_app`` or ``chainmatch serve``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
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
from api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from api.routers import health
from api.startup import STARTUP_FAILURE, StartupGate, StartupState, start_in_background
from matching import __version__
from matching.errors import StartupError
from matching.malloc_arenas import limit_malloc_arenas
from matching.settings import Settings

# Only what the health routes and the fail-fast checks need is imported here: the routers, the engine and the
# store repository are imported by the background start-up (api.startup), so /healthz answers at once.
log = logging.getLogger("chainmatch.api")
MULTIPART_OVERHEAD = 64 * 1024

DESCRIPTION = """
Regional supply-chain matching for the Chengdu–Chongqing economic circle (成渝地区双城经济圈).

Every `/v1` request carries an `X-API-Key` header. Roles: `portal` (read enterprises and matches, write
enterprises, post feedback), `analyst` (plus weight profiles and runs), `admin` (everything, including bulk import and
deletion). Errors are RFC 9457 `application/problem+json` with field-level details.

中文：成渝地区双城经济圈产业链供需匹配服务。所有 `/v1` 请求须带 `X-API-Key`；错误按 RFC 9457 返回。
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Settings, keys and the database connection are checked here and fail at once; the rest
    (routers, chain graph, regions, migrations, seeding, the index) loads in the background at start-up.

    Without ``settings`` (``uvicorn --factory``, ``chainmatch serve``) a start-up error prints one line and
    exits with uvicorn's start-up failure status, so a multi-worker supervisor stops instead of respawning.
    There the database is checked first thing in the background instead (``chainmatch serve`` has checked it
    before starting uvicorn), so the worker listens sooner; it still exits within a second if unreachable.
    """
    if settings is not None:
        return _create_app(settings, check_database_now=True)
    try:
        app = _create_app(Settings(), check_database_now=False)
    except StartupError as exc:
        print(f"chainmatch: {exc.message}", file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from None
    except ValueError as exc:  # pydantic's ValidationError: a bad CHAINMATCH_* variable
        print(f"chainmatch: configuration error: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(STARTUP_FAILURE) from None
    app.state.exit_on_failure = True  # a background start-up failure ends this worker too (api.startup)
    return app


def _create_app(settings: Settings, *, check_database_now: bool) -> FastAPI:
    configure_logging(settings.log_level, settings.log_json)
    limit_malloc_arenas(settings.malloc_arenas)  # before the request and index threads exist
    keyring = build_keyring(settings)
    if check_database_now:  # otherwise the background start-up checks it first (SQLAlchemy takes 0.2 s to import)
        from matching.store.db import check_database

        check_database(settings.resolved_database_url())
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Read from app.state, not from this closure: a stopped app then keeps no store, index or job runner
        # alive (FastAPI's routers keep every app they were included in; tests start hundreds of apps).
        if app.state.startup.running:  # a second lifespan on a running app (a test tool's own) shares it
            yield
            return
        app.state.startup = startup = StartupState(running=True)
        starting = asyncio.create_task(start_in_background(app, settings, metrics))
        try:
            yield
        finally:
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            startup.loaded = startup.running = False
            if app.state.import_jobs is not None:
                app.state.import_jobs.shutdown()
            if app.state.service is not None:  # changes since the last index snapshot
                await anyio.to_thread.run_sync(app.state.service.index.save_snapshot)
            metrics.close()
            if app.state.service is not None:
                app.state.service.close()
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
    app.state.service = None  # published by the background start-up (api.startup)
    app.state.import_jobs = None
    app.state.startup = StartupState()
    app.state.keyring = keyring
    app.state.metrics = metrics

    app.include_router(health.router)  # the other routers are included by the background start-up
    install_problem_handlers(app)

    def limit_for(path: str) -> int:
        if path.rstrip("/") == "/v1/imports":
            return settings.max_import_bytes + MULTIPART_OVERHEAD
        return settings.max_body_bytes

    app.add_middleware(StartupGate, owner=app)
    app.add_middleware(BodyLimitMiddleware, limit_for=limit_for)
    app.add_middleware(KeyGateMiddleware, authenticate=keyring.authenticate)  # before the body is read
    app.add_middleware(HeadMiddleware)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    log.info("app created; the service loads in the background", extra={"keys": len(keyring)})
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """OpenAPI with every 4xx/5xx response documented as ``application/problem+json`` Problem."""
    if app.openapi_schema:
        return app.openapi_schema
    loaded = app.state.startup.loaded
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
    if loaded:  # before, the routers are not all included yet
        app.openapi_schema = schema
    return schema
