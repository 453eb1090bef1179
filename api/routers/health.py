"""Health, readiness and Prometheus metrics (no API key needed)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.problems import ProblemError, problem_openapi_response
from api.schemas import Health, Readiness

if TYPE_CHECKING:
    from api.startup import StartupState
    from matching.service import ChainmatchService

# No api.deps here: these routes answer from process start, before the service and its imports are loaded
# (see api.startup); they read ``app.state`` directly.

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
def healthz() -> Health:
    """Liveness only: answers as soon as the server listens, while the service and index still load."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness: database reachable, index built",
    responses={503: problem_openapi_response("Not ready")},
)
def readyz(request: Request) -> Readiness:
    """Ready when start-up has finished, the database answers, the index is built and trails the store by at
    most ``max_lag`` changes; otherwise 503 with the reason (and the sequence numbers) in ``detail``."""
    startup: StartupState = request.app.state.startup
    service: ChainmatchService | None = request.app.state.service
    if service is None or not startup.loaded:
        raise ProblemError(
            503, startup.describe(), slug="not-ready", title="Service Unavailable", headers={"Retry-After": "1"}
        )
    from sqlalchemy.exc import SQLAlchemyError  # loaded by then; not imported before the server listens

    try:
        checks = service.readiness()
    except SQLAlchemyError:
        raise ProblemError(
            503, "database unreachable", slug="not-ready", title="Service Unavailable"
        ) from None
    if not checks.pop("ready"):
        if checks["index"] != "ok":
            detail = f"matching index {checks['index']}"
        else:
            detail = f"index lag {checks['lag']} changes exceeds {checks['max_lag']}"
        detail += f" (store_seq {checks['store_seq']}, index_seq {checks['index_seq']}, lag {checks['lag']})"
        raise ProblemError(
            503, detail, slug="not-ready", title="Service Unavailable", headers={"Retry-After": "1"}
        )
    return Readiness(**checks, worker=os.getpid())


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format",
        }
    },
)
def metrics(request: Request) -> Response:
    m = request.app.state.metrics
    service: ChainmatchService | None = request.app.state.service
    if service is not None and request.app.state.startup.loaded:
        m.index_size.set(service.index_size())
        m.index_seq.set(service.index_seq)
    return Response(m.render(), media_type=CONTENT_TYPE_LATEST)
