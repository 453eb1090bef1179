"""``/v1/enterprises``: fetch, delete and list profiles; ranked suppliers and buyers (writes in
:mod:`api.routers.enterprise_writes`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.status import HTTP_204_NO_CONTENT

from api.deps import AdminKey, PortalKey, ServiceDep
from api.etags import ETAG_HEADER, etag
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from api.problems import NOT_FOUND
from api.routers.matching import match_response
from api.schemas import WEIGHTS_PATTERN, EnterprisePage, EnterpriseRecord, MatchResponse
from matching.profiles import ID_PATTERN
from matching.regions import RegionRegistry
from matching.service import ChainmatchService
from matching.store import StoredEnterprise
from matching.weights import MatchFilters

router = APIRouter(prefix="/v1/enterprises", tags=["enterprises"])

EnterpriseIdPath = Annotated[
    str,
    Path(pattern=ID_PATTERN, description="Client-chosen id, [A-Za-z0-9._-]{1,64}", examples=["zy-rongbai"]),
]
KQuery = Annotated[int, Query(ge=1, le=100, description="How many ranked items (max 100)")]
WeightsQuery = Annotated[
    str | None,
    Query(pattern=WEIGHTS_PATTERN, description="Weight profile name or name@version", examples=["default"]),
]
CrossRegionQuery = Annotated[
    bool | None, Query(description="Only pairs in different counties (overrides the profile's filter)")
]
InCircleQuery = Annotated[
    bool | None,
    Query(description="Only pairs whose both parties are in the economic circle (overrides the profile's filter)"),
]


def record(stored: StoredEnterprise, regions: RegionRegistry) -> EnterpriseRecord:
    """The response view of a stored profile, with its county's province and circle membership."""
    region = regions.get(stored.enterprise.region_code or "")
    return EnterpriseRecord(
        enterprise=stored.enterprise,
        created_at=stored.created_at,
        updated_at=stored.updated_at,
        revision=stored.seq,
        warnings=stored.enterprise.unit_warnings(),
        province=region.province if region else None,
        in_circle=region.in_circle if region else None,
    )


@router.get("/{enterprise_id}", response_model=EnterpriseRecord, summary="Fetch one profile", responses=NOT_FOUND)
def get_enterprise(
    enterprise_id: EnterpriseIdPath, service: ServiceDep, _key: PortalKey, response: Response
) -> EnterpriseRecord:
    """The `ETag` header carries the record's revision, for `If-Match` on PUT and PATCH.

    中文：查询一个企业档案。"""
    stored = service.get(enterprise_id)
    response.headers[ETAG_HEADER] = etag(stored.seq)
    return record(stored, service.regions)


@router.delete(
    "/{enterprise_id}",
    status_code=HTTP_204_NO_CONTENT,
    summary="Delete one profile (admin)",
    responses=NOT_FOUND,
)
def delete_enterprise(enterprise_id: EnterpriseIdPath, service: ServiceDep, _key: AdminKey) -> Response:
    """中文：删除一个企业档案（仅 admin）。"""
    service.delete(enterprise_id)
    return Response(status_code=HTTP_204_NO_CONTENT)


@router.get("", response_model=EnterprisePage, summary="List and filter profiles", responses=NOT_FOUND)
def list_enterprises(
    service: ServiceDep,
    _key: PortalKey,
    region_code: Annotated[str | None, Query(pattern=r"^\d{6}$", description="County code")] = None,
    chain: Annotated[
        str | None,
        Query(pattern=r"^[a-z0-9_]{1,64}$", description="Chain id: profiles whose offers or needs link to it"),
    ] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="Substring of id, name, park, tags or products"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400, description="Opaque cursor from next_cursor")] = None,
) -> EnterprisePage:
    """Profiles ordered by id. An unknown `chain` is a 404.

    中文：按区县、产业链或关键词筛选企业，分页返回。"""
    rows, more = service.list_enterprises(
        region_code=region_code, chain=chain, q=q, after=decode_cursor(cursor), limit=limit
    )
    next_cursor = encode_cursor(rows[-1].enterprise.id) if more and rows else None
    return EnterprisePage(items=[record(r, service.regions) for r in rows], next_cursor=next_cursor)


@router.get(
    "/{enterprise_id}/suppliers",
    response_model=MatchResponse,
    summary="Ranked suppliers",
    responses=NOT_FOUND,
)
async def suppliers(
    request: Request,
    enterprise_id: EnterpriseIdPath,
    service: ServiceDep,
    _key: PortalKey,
    need_id: Annotated[
        str | None,
        Query(pattern=ID_PATTERN, description="One need; default all needs, explicit and inferred"),
    ] = None,
    k: KQuery = 10,
    weights: WeightsQuery = None,
    cross_region_only: CrossRegionQuery = None,
    in_circle_only: InCircleQuery = None,
) -> Response:
    """Suppliers for one need, or for all of the enterprise's explicit and inferred needs.

    中文：为企业的某项需求（或全部显式与推断需求）推荐供应商。"""
    return ranked(request, service, "suppliers", enterprise_id, need_id, k, weights, cross_region_only, in_circle_only)


@router.get(
    "/{enterprise_id}/buyers",
    response_model=MatchResponse,
    summary="Ranked likely buyers",
    responses=NOT_FOUND,
)
async def buyers(
    request: Request,
    enterprise_id: EnterpriseIdPath,
    service: ServiceDep,
    _key: PortalKey,
    offer_id: Annotated[str | None, Query(pattern=ID_PATTERN, description="One offer; default all")] = None,
    k: KQuery = 10,
    weights: WeightsQuery = None,
    cross_region_only: CrossRegionQuery = None,
    in_circle_only: InCircleQuery = None,
) -> Response:
    """Likely buyers of the enterprise's offers (posted needs and demand inferred from the chain graph).

    中文：为企业的产品推荐潜在买家（含产业链推断的需求）。"""
    return ranked(request, service, "buyers", enterprise_id, offer_id, k, weights, cross_region_only, in_circle_only)


def ranked(request: Request, service: ChainmatchService, kind: Literal["suppliers", "buyers"], enterprise_id: str,
           item_id: str | None, k: int, weights: str | None, cross_region_only: bool | None,
           in_circle_only: bool | None) -> Response:
    """Ranked suppliers of one need (or all needs) or buyers of one offer (or all offers), as served by both
    the FastAPI routes and the fast path of :mod:`api.fast_lists`."""
    filters = _filters(service.resolve_weights(weights).filters, cross_region_only, in_circle_only)
    ask = service.suppliers_for if kind == "suppliers" else service.buyers_for
    result = ask(enterprise_id, item_id, k=k, weights=weights, filters=filters, sync=False)
    return match_response(request, kind, result)


def _filters(base: MatchFilters, cross_region_only: bool | None, in_circle_only: bool | None) -> MatchFilters | None:
    """The profile's filters with the query's overrides, or ``None`` when the query overrides nothing."""
    update: dict[str, bool] = {}
    if cross_region_only is not None:
        update["cross_region_only"] = cross_region_only
    if in_circle_only is not None:
        update["in_circle_only"] = in_circle_only
    return base.model_copy(update=update) if update else None
