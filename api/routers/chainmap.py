"""The chain map with its firms, gaps (填空卡位), recruitment targets, supply-chain warnings and plan targets.

Every endpoint answers JSON (paged with ``limit`` and ``cursor``), or the whole report as CSV or XLSX with
``format=csv|xlsx`` (or an ``Accept`` header naming ``text/csv`` or the XLSX media type).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from api.deps import PortalKey, ServiceDep
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from api.problems import NOT_FOUND, ProblemError, ProblemFieldError
from matching import chainmap as cm
from matching.chainmap.cache import FactsCache
from matching.chainmap.facts import ChainFacts, region_prefix
from matching.service import ChainmatchService

router = APIRouter(prefix="/v1", tags=["chain map"])

ChainPath = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$", examples=["polyamide"])]
RegionQuery = Annotated[str | None, Query(
    pattern=r"^\d{6}$", description="A county (520303), city (520300) or province (500000) code")]
ChainQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9_]{1,64}$", description="Only this chain's nodes")]
FormatQuery = Annotated[str | None, Query(pattern=r"^(json|csv|xlsx)$", description="json (default), csv or xlsx")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
CursorQuery = Annotated[str | None, Query(max_length=400)]
ShareQuery = Annotated[float | None, Query(
    ge=0.01, le=1, description="Coverage below this share of in-circle demand is a gap (default 0.5)")]
_DESCRIPTION = "JSON page; with format=csv|xlsx the whole report as a file."
_CONTENT: dict[str, Any] = {"application/json": {"schema": {"type": "object"}},
                            "text/csv": {"schema": {"type": "string"}},
                            cm.MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}
_OK: dict[int | str, dict[str, Any]] = {200: {"description": _DESCRIPTION, "content": _CONTENT}}


def _facts(request: Request, service: ChainmatchService) -> ChainFacts:
    cache: FactsCache | None = getattr(request.app.state, "chainmap_cache", None)
    if cache is None:  # one per app; a benign race builds two and keeps the last
        cache = FactsCache()
        request.app.state.chainmap_cache = cache
    service.sync()
    engine = service.engine
    if engine is None:
        raise ProblemError(503, "the matching index is not built yet", slug="not-ready", title="Not ready")
    return cache.get(engine.index)


def _check(service: ChainmatchService, region_code: str | None, chain: str | None) -> None:
    errors: list[ProblemFieldError] = []
    if region_code is not None:
        prefix = region_prefix(region_code) or ""
        known = service.regions.get(region_code) is not None or any(
            str(r.code).startswith(prefix) for r in service.regions.all())
        if not known:
            errors.append(ProblemFieldError(field="region_code", loc=["query", "region_code"],
                                            msg=f"unknown GB/T 2260 county, city or province code {region_code!r}"))
    if chain is not None and chain not in service.graph.chains:
        errors.append(ProblemFieldError(field="chain", loc=["query", "chain"], msg=f"unknown chain {chain!r}"))
    if errors:
        raise ProblemError(422, "invalid query", slug="validation-error", title="Request validation failed",
                           errors=errors)


def _format(request: Request, fmt: str | None) -> cm.Format:
    if fmt is not None:
        return fmt  # type: ignore[return-value]
    accept = request.headers.get("accept", "")
    if cm.MEDIA_TYPES["csv"].split(";")[0] in accept:
        return "csv"
    if cm.MEDIA_TYPES["xlsx"] in accept:
        return "xlsx"
    return "json"


def _respond(request: Request, report: cm.Report, fmt: str | None, limit: int, cursor: str | None) -> Response:
    chosen = _format(request, fmt)
    after = decode_cursor(cursor)  # a malformed cursor is a 422 whatever the format
    if chosen != "json":
        name = f"{report.kind}.{chosen}"
        return Response(cm.render(report, chosen), media_type=cm.MEDIA_TYPES[chosen],
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    start = int(after) if after and after.isdigit() else 0
    page = report.items[start:start + limit]
    more = start + limit < len(report.items)
    body: dict[str, Any] = {**report.payload(), "items": page,
                            "next_cursor": encode_cursor(str(start + limit)) if more else None}
    return JSONResponse(body)


@router.get("/chains/{chain_id}/map", summary="A chain's nodes with the firms that supply and need them",
            responses={**NOT_FOUND, **_OK})
def chain_map(request: Request, chain_id: ChainPath, service: ServiceDep, _key: PortalKey,
              region_code: RegionQuery = None, firms_limit: Annotated[int, Query(ge=0, le=1000)] = 50,
              format: FormatQuery = None, limit: LimitQuery = MAX_LIMIT, cursor: CursorQuery = None) -> Response:
    """Per node: suppliers and firms needing it (posted and inferred), inside/outside the circle and per county.
    中文：产业图谱：每个环节的供应企业与需求企业（明确与推断），分圈内外和区县统计。"""
    _check(service, region_code, None)
    if chain_id not in service.graph.chains:
        raise ProblemError(404, f"chain {chain_id!r} not found", slug="not-found", title="Not found")
    report = cm.chain_map(_facts(request, service), chain_id, region_code, firms_limit)
    return _respond(request, report, format, limit, cursor)


@router.get("/chains/{chain_id}/gaps", summary="A chain's gaps (填空卡位)",
            responses={**NOT_FOUND, **_OK})
def chain_gaps(request: Request, chain_id: ChainPath, service: ServiceDep, _key: PortalKey,
               region_code: RegionQuery = None, coverage_share: ShareQuery = None, format: FormatQuery = None,
               limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None) -> Response:
    """Gaps among the chain's nodes, ranked by the demand they would serve. 中文：产业链缺链环节（填空卡位）。"""
    _check(service, region_code, None)
    if chain_id not in service.graph.chains:
        raise ProblemError(404, f"chain {chain_id!r} not found", slug="not-found", title="Not found")
    report = cm.gaps(_facts(request, service), region_code, chain_id, coverage_share=coverage_share)
    return _respond(request, report, format, limit, cursor)


@router.get("/gaps", summary="Gaps (填空卡位) over every chain", responses=_OK)
def all_gaps(request: Request, service: ServiceDep, _key: PortalKey, region_code: RegionQuery = None,
             chain: ChainQuery = None, coverage_share: ShareQuery = None, format: FormatQuery = None,
             limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None) -> Response:
    """Nodes the circle's firms need with no (or too little) in-circle supply, each with its buyers, volumes
    and best out-of-circle suppliers. `region_code` keeps demand located there. 中文：补链清单。"""
    _check(service, region_code, chain)
    report = cm.gaps(_facts(request, service), region_code, chain, coverage_share=coverage_share)
    return _respond(request, report, format, limit, cursor)


@router.get("/recruitment-targets", summary="Recruitment targets (招商图谱)",
            responses=_OK)
def recruitment_targets(request: Request, service: ServiceDep, _key: PortalKey, region_code: RegionQuery = None,
                        chain: ChainQuery = None, coverage_share: ShareQuery = None, format: FormatQuery = None,
                        limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None) -> Response:
    """Out-of-circle firms whose offers fill the region's gaps, ranked, with the reason for each.
    中文：招商目标：可补本地区缺链环节的圈外企业及理由。"""
    _check(service, region_code, chain)
    report = cm.recruitment_targets(_facts(request, service), region_code, chain, coverage_share=coverage_share)
    return _respond(request, report, format, limit, cursor)


@router.get("/warnings", summary="Supply-chain warnings (供应链预警)", responses=_OK)
def supply_warnings(request: Request, service: ServiceDep, _key: PortalKey, region_code: RegionQuery = None,
                    chain: ChainQuery = None,
                    severity: Annotated[str | None, Query(pattern=r"^(high|medium|low)$")] = None,
                    format: FormatQuery = None, limit: LimitQuery = DEFAULT_LIMIT,
                    cursor: CursorQuery = None) -> Response:
    """Needs (posted or inferred) with one viable supplier, only out-of-circle suppliers, all suppliers in one
    county, or marked import-dependent; each with severity and reason. 中文：供应链预警。"""
    _check(service, region_code, chain)
    report = cm.warnings(_facts(request, service), region_code, chain, severity)
    return _respond(request, report, format, limit, cursor)


@router.get("/targets", summary="Plan targets against the data", responses=_OK)
def plan_targets(request: Request, service: ServiceDep, _key: PortalKey, region_code: RegionQuery = None,
                 format: FormatQuery = None, limit: LimitQuery = MAX_LIMIT, cursor: CursorQuery = None) -> Response:
    """Every recorded plan target; measurable ones with the measured figure, the others with the reason they
    cannot be measured. 中文：规划目标与数据对照。"""
    _check(service, region_code, None)
    report = cm.targets(_facts(request, service), service.policy, region_code)
    return _respond(request, report, format, limit, cursor)
