"""``/v1/regions``: county-level divisions of all China, with province, city and circle membership."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import PortalKey, ServiceDep
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from api.problems import NOT_FOUND, ProblemError, ProblemFieldError
from api.schemas import RegionOut, RegionPage
from matching.errors import NotFoundError
from matching.regions import Region

router = APIRouter(prefix="/v1/regions", tags=["regions"])


@router.get("", response_model=RegionPage, summary="List regions")
def list_regions(
    service: ServiceDep,
    _key: PortalKey,
    province: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=20,
            description="Province name (湖南省), short form (湖南) or 2-digit code (43); unknown is a 422",
        ),
    ] = None,
    city: Annotated[str | None, Query(min_length=1, max_length=20, description="City name (遵义市)")] = None,
    in_circle: Annotated[bool | None, Query(description="Only regions in (or out of) the circle")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> RegionPage:
    """Regions ordered by code, paged with `limit` and `cursor`.

    中文：全国区县列表，可按省、市和是否属于成渝地区双城经济圈筛选。"""
    after = decode_cursor(cursor)
    prefix = None
    if province is not None:
        prefix = service.regions.province_code(province)
        if prefix is None:
            raise ProblemError(
                422,
                f"unknown province {province!r}",
                slug="validation-error",
                title="Request validation failed",
                errors=[
                    ProblemFieldError(
                        field="province",
                        loc=["query", "province"],
                        msg=f"unknown province {province!r}; give a name (湖南省), short form (湖南) or code (43)",
                    )
                ],
            )
    selected: list[Region] = []
    for region in service.regions.after(after):
        if prefix is not None and region.code[:2] != prefix:
            continue
        if city and region.city != city:
            continue
        if in_circle is not None and region.in_circle != in_circle:
            continue
        selected.append(region)
        if len(selected) > limit:
            break
    page = selected[:limit]
    more = len(selected) > limit
    return RegionPage(
        items=[RegionOut.model_validate(r.model_dump()) for r in page],
        next_cursor=encode_cursor(page[-1].code) if more and page else None,
    )


@router.get("/{code}", response_model=RegionOut, summary="One region", responses=NOT_FOUND)
def get_region(
    code: Annotated[str, Path(pattern=r"^\d{6}$", examples=["520303"])], service: ServiceDep, _key: PortalKey
) -> RegionOut:
    """A superseded code answers with its successor. 中文：查询一个区县。"""
    region = service.regions.get(code)
    if region is None:
        raise NotFoundError("region", code)
    return RegionOut.model_validate(region.model_dump())
