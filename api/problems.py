"""RFC 9457 problem details for every error response, including validation, 404/405, 413 and 500."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from api.context import current_request_id
from matching.errors import (
    ChainmatchError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PreconditionFailedError,
    UnavailableError,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "urn:chainmatch:problem:"
log = logging.getLogger("chainmatch.api")


class ProblemFieldError(BaseModel):
    """One rejected field."""

    field: str = Field(
        description="Dotted field name inside its source, e.g. offers.0.capacity.value",
        examples=["offers.0.capacity.value"],
    )
    loc: list[str | int] = Field(
        description="Full location, starting with body, query, path or header",
        examples=[["body", "offers", 0, "capacity", "value"]],
    )
    msg: str = Field(examples=["Input should be greater than or equal to 0"])
    type: str = Field(default="value_error", examples=["greater_than_equal"])


class Problem(BaseModel):
    """An RFC 9457 problem details object."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:chainmatch:problem:validation-error",
                    "title": "Request validation failed",
                    "status": 422,
                    "detail": "1 field is invalid",
                    "instance": "/v1/enterprises/zy-rongbai",
                    "request_id": "3f2c9e0a8b7d4c1e",
                    "errors": [
                        {
                            "field": "region_code",
                            "loc": ["body", "region_code"],
                            "msg": "unknown GB/T 2260 county code '999999'",
                            "type": "value_error",
                        }
                    ],
                }
            ]
        }
    )

    type: str = Field(default="about:blank", description="URI naming the problem type")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str | None = None
    instance: str | None = Field(default=None, description="Request path")
    request_id: str | None = None
    errors: list[ProblemFieldError] | None = Field(default=None, description="Field-level details")


class ProblemError(Exception):
    """Raise from a route to answer with a problem response."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: Sequence[ProblemFieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title or HTTPStatus(status).phrase)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})


def unauthorized(key: str | None) -> ProblemError:
    """The 401 for a missing or unknown ``X-API-Key``."""
    return ProblemError(
        401,
        "missing X-API-Key header" if not key else "unknown API key",
        slug="unauthorized",
        title="Unauthorized",
        headers={"WWW-Authenticate": 'APIKey header="X-API-Key"'},
    )


def error_response(exc: ProblemError, instance: str | None) -> JSONResponse:
    """The problem response for a raised :class:`ProblemError`."""
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.slug,
        title=exc.title,
        instance=instance,
        errors=exc.errors,
        headers=exc.headers,
    )


def problem_response(
    status: int,
    detail: str | None = None,
    *,
    slug: str | None = None,
    title: str | None = None,
    instance: str | None = None,
    errors: Sequence[ProblemFieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response."""
    problem = Problem(
        type=f"{PROBLEM_BASE}{slug}" if slug else "about:blank",
        title=title or HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        instance=instance,
        request_id=current_request_id(),
        errors=list(errors) if errors is not None else None,
    )
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=dict(headers or {}),
    )


def _loc_parts(loc: Sequence[Any]) -> list[str | int]:
    return [p if isinstance(p, int) else str(p) for p in loc]


def validation_errors(raw: Sequence[Any]) -> list[ProblemFieldError]:
    """Field errors from pydantic/FastAPI error dicts (``loc``, ``msg``, ``type``)."""
    out: list[ProblemFieldError] = []
    for err in raw:
        loc = _loc_parts(err.get("loc", ()))
        inner = loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc
        field = ".".join(str(p) for p in inner) or (str(loc[0]) if loc else "body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            # FastAPI puts the character offset where a field name would be; name the body instead.
            field, msg = "body", f"malformed JSON at character {inner[0] if inner else 0}: {msg}"
        out.append(ProblemFieldError(field=field, loc=loc, msg=msg, type=str(err.get("type", "value_error"))))
    return out


def domain_field_errors(exc: InvalidInputError, source: str = "body") -> list[ProblemFieldError]:
    return [
        ProblemFieldError(
            field=e.loc,
            loc=[source, *(int(p) if p.isdigit() else p for p in e.loc.split("."))],
            msg=e.msg,
        )
        for e in exc.errors
    ]


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the app can raise to a problem response."""

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = validation_errors(exc.errors())
        n = len(errors)
        return problem_response(
            422,
            f"{n} field{'s' if n != 1 else ''} invalid",
            slug="validation-error",
            title="Request validation failed",
            instance=request.url.path,
            errors=errors,
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no route for {request.method} {request.url.path}"
        if exc.status_code == 405:
            detail = f"method {request.method} not allowed on {request.url.path}"
        return problem_response(exc.status_code, detail, instance=request.url.path, headers=exc.headers)

    async def on_api_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(
            exc.status,
            exc.detail,
            slug=exc.slug,
            title=exc.title,
            instance=request.url.path,
            errors=exc.errors,
            headers=exc.headers,
        )

    async def on_domain(request: Request, exc: Exception) -> JSONResponse:
        path = request.url.path
        if isinstance(exc, NotFoundError):
            return problem_response(404, str(exc), slug="not-found", title="Not found", instance=path)
        if isinstance(exc, InvalidInputError):
            errors = domain_field_errors(exc)
            return problem_response(
                422,
                str(exc),
                slug="validation-error",
                title="Request validation failed",
                instance=path,
                errors=errors,
            )
        if isinstance(exc, PreconditionFailedError):
            headers = {"ETag": f'"{exc.current}"'} if exc.current else {}
            return problem_response(
                412, str(exc), slug="precondition-failed", title="Precondition Failed", instance=path, headers=headers
            )
        if isinstance(exc, ConflictError):
            return problem_response(409, str(exc), slug="conflict", title="Conflict", instance=path)
        if isinstance(exc, UnavailableError):
            return problem_response(
                503,
                str(exc),
                slug="unavailable",
                title="Service Unavailable",
                instance=path,
                headers={"Retry-After": str(exc.retry_after_s)},
            )
        log.error("unmapped domain error", extra={"error": type(exc).__name__})
        return problem_response(500, "internal error", instance=path)

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(ProblemError, on_api_problem)
    app.add_exception_handler(ChainmatchError, on_domain)


def problem_openapi_response(description: str) -> dict[str, Any]:
    """An OpenAPI response entry whose body is a Problem (content rewritten by the app's openapi())."""
    return {"model": Problem, "description": description}


COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    401: problem_openapi_response("Missing or unknown X-API-Key"),
    403: problem_openapi_response("The key's role may not do this"),
    422: problem_openapi_response("Invalid input, with field-level details"),
    500: problem_openapi_response("Internal error (no details are disclosed)"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem_openapi_response("Not found")}
TOO_LARGE: dict[int | str, dict[str, Any]] = {413: problem_openapi_response("Request body too large")}
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: problem_openapi_response("If-Match does not match the record's current ETag (revision)")
}
