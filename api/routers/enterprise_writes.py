"""``PUT`` (full replace) and ``PATCH`` (JSON Merge Patch) of one enterprise, with ETags and ``If-Match``.

Rules (issue 9, item 10):
- Every record's ETag is its revision; ``If-Match`` makes a write conditional (412 on a mismatch), checked
  inside the write transaction.
- ``PUT`` replaces the whole profile, so ``offers`` and ``needs`` are required (``[]`` clears them): a body with
  only a name and a region is a 422, never a silent wipe. ``PATCH`` changes only the members it names.
- The ``source`` citation is admin-owned: other roles get 403 (naming the field) when they set or change it,
  and a ``PUT`` without ``source`` from them keeps the stored citation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.status import HTTP_201_CREATED

from api.auth import Principal, Role
from api.deps import PortalKey, ServiceDep
from api.etags import ETAG_HEADER, IF_MATCH_PATTERN, etag, parse_if_match, precondition_failed
from api.merge_patch import MERGE_PATCH_MEDIA_TYPE, apply_merge_patch
from api.problems import NOT_FOUND, PRECONDITION, TOO_LARGE, ProblemError, ProblemFieldError, problem_openapi_response
from api.routers.enterprises import EnterpriseIdPath, record
from api.schemas import EnterpriseBody, EnterpriseRecord
from api.schemas_write import EnterprisePatch
from matching.errors import NotFoundError, PreconditionFailedError
from matching.profiles import Enterprise
from matching.service import ChainmatchService
from matching.sources import Source
from matching.store import StoredEnterprise

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"])
IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        pattern=IF_MATCH_PATTERN,
        description='Write only if the record\'s ETag is one of these (e.g. "42") or *',
    ),
]
RETRIES = 3  # an unconditional write re-reads and retries when another writer got in between


def _validation_error(field: str, msg: str) -> ProblemError:
    return ProblemError(
        422,
        msg,
        slug="validation-error",
        title="Request validation failed",
        errors=[ProblemFieldError(field=field, loc=["body", field], msg=msg)],
    )


def _source_forbidden() -> ProblemError:
    msg = "only an admin key may set or change the source citation"
    return ProblemError(
        403,
        msg,
        slug="forbidden",
        title="Forbidden",
        errors=[ProblemFieldError(field="source", loc=["body", "source"], msg=msg)],
    )


def _guard_source(key: Principal, wanted: Source | None, stored: StoredEnterprise | None) -> None:
    current = stored.enterprise.source if stored else None
    if key.role < Role.admin and wanted != current:
        raise _source_forbidden()


def _write(
    service: ChainmatchService,
    enterprise_id: str,
    if_match: str | None,
    build: Any,
    response: Response,
) -> EnterpriseRecord:
    """Read, check ``If-Match``, build the new profile from the stored one, and store it conditionally."""
    precondition = parse_if_match(if_match)
    for attempt in range(RETRIES):
        stored = service.repository.get(enterprise_id)
        current_seq = stored.seq if stored else None
        if precondition is not None and not precondition.admits(current_seq):
            raise precondition_failed(current_seq)
        enterprise: Enterprise = build(stored)
        try:
            outcome = service.upsert(enterprise, expected_seq=current_seq or 0)
        except PreconditionFailedError:
            if precondition is not None or attempt == RETRIES - 1:
                raise
            continue
        if outcome.created:
            response.status_code = HTTP_201_CREATED
            response.headers["Location"] = f"/v1/enterprises/{enterprise_id}"
        response.headers[ETAG_HEADER] = etag(outcome.stored.seq)
        return record(outcome.stored, service.regions)
    raise AssertionError("unreachable")


@router.put(
    "/{enterprise_id}",
    response_model=EnterpriseRecord,
    summary="Upsert a full profile (idempotent)",
    responses={201: {"model": EnterpriseRecord, "description": "Created"}, **TOO_LARGE, **PRECONDITION},
)
def put_enterprise(
    enterprise_id: EnterpriseIdPath,
    body: Annotated[EnterpriseBody, Body()],
    service: ServiceDep,
    key: PortalKey,
    response: Response,
    if_match: IfMatchHeader = None,
) -> EnterpriseRecord:
    """Store the whole profile under `enterprise_id` (replacing any previous one); `offers` and `needs` are
    required (`[]` clears them; use PATCH to change some fields). `region_code` must be a known county code; if
    only `address` is given it is resolved to one. Unknown units are kept as given and reported in `warnings`.
    With `If-Match: "<revision>"` the write happens only if the record is still at that revision (else 412).
    Only admin may set or change `source`; other roles' PUTs keep the stored citation. 201 when created, 200
    when replaced or unchanged; the `ETag` header carries the new revision.

    中文：按 id 写入完整企业档案（幂等，offers/needs 必填）；可用 If-Match 防止覆盖他人修改；引用来源仅 admin 可改。"""
    if body.id is not None and body.id != enterprise_id:
        raise _validation_error("id", f"must equal the path id {enterprise_id!r} or be omitted")
    new = body.to_enterprise(enterprise_id)

    def build(stored: StoredEnterprise | None) -> Enterprise:
        if key.role < Role.admin and "source" not in body.model_fields_set and stored and stored.enterprise.source:
            return new.model_copy(update={"source": stored.enterprise.source})
        _guard_source(key, new.source, stored)
        return new

    return _write(service, enterprise_id, if_match, build, response)


def _require_merge_patch(request: Request) -> None:
    """415 unless the body is ``application/merge-patch+json`` (or plain JSON), before the body is parsed."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (MERGE_PATCH_MEDIA_TYPE, "application/json"):
        raise ProblemError(415, f"send the patch as {MERGE_PATCH_MEDIA_TYPE}", slug="unsupported-media-type")


@router.patch(
    "/{enterprise_id}",
    response_model=EnterpriseRecord,
    summary="Change some fields (JSON Merge Patch, RFC 7396)",
    responses={
        **NOT_FOUND,
        **TOO_LARGE,
        **PRECONDITION,
        415: problem_openapi_response("Content-Type is not application/merge-patch+json"),
    },
)
def patch_enterprise(
    _media: Annotated[None, Depends(_require_merge_patch)],
    enterprise_id: EnterpriseIdPath,
    patch: Annotated[EnterprisePatch, Body(media_type=MERGE_PATCH_MEDIA_TYPE)],
    service: ServiceDep,
    key: PortalKey,
    response: Response,
    if_match: IfMatchHeader = None,
) -> EnterpriseRecord:
    """Apply a JSON Merge Patch (`application/merge-patch+json`): members given replace the stored ones
    (`offers`/`needs` arrays as a whole), `null` removes a member, absent members are kept. The merged profile
    is validated like a PUT body. `If-Match` as for PUT. Only admin may change `source`.

    中文：按 JSON Merge Patch 局部更新企业档案，未给出的字段保持不变。"""
    changes = patch.as_merge_patch()
    if changes.get("id") not in (None, enterprise_id):
        raise _validation_error("id", f"must equal the path id {enterprise_id!r} or be omitted")

    def build(stored: StoredEnterprise | None) -> Enterprise:
        if stored is None:
            raise precondition_failed(None) if if_match else NotFoundError("enterprise", enterprise_id)
        current = stored.enterprise.model_dump(mode="json", exclude_none=True)
        merged = apply_merge_patch(current, changes)
        merged.pop("id", None)
        try:
            body = EnterpriseBody.model_validate(merged)
        except ValidationError as exc:
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
        new = body.to_enterprise(enterprise_id)
        _guard_source(key, new.source, stored)
        return new

    return _write(service, enterprise_id, if_match, build, response)
