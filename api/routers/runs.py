"""``/v1/runs``: start a batch run, list runs, read one, page or download its match table, diff two runs."""

from __future__ import annotations

import io
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.status import HTTP_202_ACCEPTED

from api.deps import AnalystKey, ServiceDep
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from api.problems import NOT_FOUND, ProblemError, ProblemFieldError, problem_openapi_response
from api.schemas_runs import DiffPage, MatchPage, RunPage, RunRequest, RunView
from matching.runs.diff import summary
from matching.runs.options import RunOptions
from matching.runs.records import RunRecord
from matching.runs.service import RunsService

router = APIRouter(prefix="/v1/runs", tags=["runs"])
CONFLICT: dict[int | str, dict[str, Any]] = {409: problem_openapi_response("Another run is running, or the run "
                                                                          "has no published table")}
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size (max {MAX_LIMIT})")]
CursorQuery = Annotated[str | None, Query(description="Opaque cursor from the previous page")]


def get_runs(request: Request, service: ServiceDep) -> RunsService:
    """One :class:`RunsService` per app (created on first use)."""
    runs: RunsService | None = getattr(request.app.state, "runs", None)
    if runs is None or runs.service is not service:
        runs = RunsService(service)
        request.app.state.runs = runs
    return runs


RunsDep = Annotated[RunsService, Depends(get_runs)]


def view(record: RunRecord) -> RunView:
    return RunView.model_validate(record.model_dump())


def _offset(cursor: str | None) -> int:
    key = decode_cursor(cursor)
    if key is None:
        return 0
    if not key.isdigit():
        raise ProblemError(422, "malformed cursor", slug="validation-error", title="Request validation failed",
                           errors=[ProblemFieldError(field="cursor", loc=["query", "cursor"],
                                                     msg="not a cursor returned by this API")])
    return int(key)


@router.post("", status_code=HTTP_202_ACCEPTED, response_model=RunView, summary="Start a run",
             responses={**NOT_FOUND, **CONFLICT})
def start_run(body: RunRequest, runs: RunsDep, _key: AnalystKey) -> RunView:
    """Compute every enterprise's top-k cross-region suppliers and likely buyers in the background and
    publish the snapshot atomically. 202 with the `running` record; poll `GET /v1/runs/{id}`. 409 while
    another run is running (runs never overlap).

    中文：启动批量匹配运行（后台执行，原子发布）；同一时间只允许一个运行。"""
    options = RunOptions.model_validate(body.model_dump())
    return view(runs.start_background(options))


@router.get("", response_model=RunPage, summary="List runs")
def list_runs(runs: RunsDep, _key: AnalystKey, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
              ) -> RunPage:
    """Runs newest first. A `running` record whose process is gone is marked `failed` (with why) first.

    中文：运行列表（最新在前）。"""
    rows = runs.list_runs(before=decode_cursor(cursor), limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return RunPage(items=[view(r) for r in rows], next_cursor=encode_cursor(rows[-1].id) if more and rows else None)


@router.get("/{run_id}", response_model=RunView, summary="One run", responses=NOT_FOUND)
def get_run(run_id: str, runs: RunsDep, _key: AnalystKey) -> RunView:
    """Status, inputs (data fingerprint, weight profile and parameter versions, code version), counts, timings.

    中文：单次运行的记录。"""
    return view(runs.get(run_id))


@router.get("/{run_id}/matches", summary="The run's match table", responses={**NOT_FOUND, **CONFLICT},
            response_model=MatchPage)
def matches(
    run_id: str, runs: RunsDep, _key: AnalystKey,
    buyer: Annotated[str | None, Query(description="Buyer enterprise id")] = None,
    supplier: Annotated[str | None, Query(description="Supplier enterprise id")] = None,
    region_code: Annotated[str | None, Query(pattern=r"^[0-9]{2,6}$",
                                             description="Either party's county code or prefix")] = None,
    chain: Annotated[str | None, Query(description="Chain id the pair's supply node belongs to")] = None,
    list_kind: Annotated[Literal["suppliers", "buyers"] | None,
                         Query(alias="list", description="suppliers (buyer's list) or buyers (supplier's list)")]
    = None,
    format: Annotated[Literal["json", "csv", "parquet"], Query(description="json (paged), csv or parquet")] = "json",
    limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None,
) -> Any:
    """One row per pair with every component score and the explanation fields; `json` is paged, `csv` and
    `parquet` return every matching row.

    中文：运行结果（每对一行，含各项得分与说明），可按买方、供方、区县、产业链筛选。"""
    frame = runs.matches(run_id, buyer=buyer, supplier=supplier, region_code=region_code, chain=chain,
                         list_kind=list_kind)
    if format != "json":
        table = frame.collect()
        buf = io.BytesIO()
        if format == "csv":
            table.write_csv(buf)
            return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{run_id}.csv"'})
        table.write_parquet(buf)
        return Response(buf.getvalue(), media_type="application/vnd.apache.parquet",
                        headers={"Content-Disposition": f'attachment; filename="{run_id}.parquet"'})
    start = _offset(cursor)
    total = frame.select(pl.len()).collect().item()
    page = frame.slice(start, limit).collect()
    end = start + page.height
    return MatchPage(items=page.to_dicts(), total=total, next_cursor=encode_cursor(str(end)) if end < total else None)


@router.get("/{run_id}/diff", response_model=DiffPage, summary="Diff against another run",
            responses={**NOT_FOUND, **CONFLICT})
def diff(
    run_id: str, runs: RunsDep, _key: AnalystKey,
    against: Annotated[str | None, Query(description="Older run id (default: the previous succeeded run)")] = None,
    limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None,
) -> DiffPage:
    """New, dropped and moved pairs, each with its cause: `enterprise_added`, `enterprise_removed`,
    `profile_changed`, `weights_changed` (or `allocation`: moved by the exposure cap).

    中文：两次运行对比：新增、移出、名次变化及原因。"""
    old, changes = runs.diff(run_id, against)
    start = _offset(cursor)
    page = changes.slice(start, limit)
    end = start + page.height
    return DiffPage(run_id=run_id, against=old, summary=summary(changes), items=page.to_dicts(),
                    total=changes.height, next_cursor=encode_cursor(str(end)) if end < changes.height else None)

