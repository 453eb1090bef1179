"""``/v1/supplier-lists``: named half-yearly supplier lists (融入成渝供应商名录) built from runs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.status import HTTP_201_CREATED

from api.deps import AnalystKey
from api.problems import NOT_FOUND
from api.routers.runs import CONFLICT, RunsDep
from api.schemas_runs import SupplierListChanges, SupplierListRequest, SupplierListView

router = APIRouter(prefix="/v1/supplier-lists", tags=["runs"])
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.post("", status_code=HTTP_201_CREATED, response_model=SupplierListView, summary="Build a supplier list",
             responses={**NOT_FOUND, **CONFLICT})
def build_list(body: SupplierListRequest, runs: RunsDep, _key: AnalystKey) -> SupplierListView:
    """Firms of the chosen supplier regions ranked by the cross-region demand they can serve in a run, with
    the chains and buyers behind each entry. A name is used once (409 if it exists).

    中文：从一次运行生成命名供应商名录（如 zunyi-2026H2）。"""
    manifest = runs.build_list(body.name, body.regions, body.run_id)
    return SupplierListView.model_validate(manifest)


@router.get("", response_model=list[SupplierListView], summary="Supplier lists")
def all_lists(runs: RunsDep, _key: AnalystKey) -> list[SupplierListView]:
    """Every list, newest first (without entries)."""
    return [SupplierListView.model_validate(m) for m in runs.all_lists()]


@router.get("/{name}", response_model=SupplierListView, summary="One supplier list", responses=NOT_FOUND)
def get_list(name: str, runs: RunsDep, _key: AnalystKey) -> SupplierListView:
    manifest, entries = runs.get_list(name)
    return SupplierListView.model_validate({**manifest, "items": entries.to_dicts()})


@router.get("/{name}/export", summary="Download a supplier list", responses=NOT_FOUND,
            response_class=FileResponse)
def export_list(name: str, runs: RunsDep, _key: AnalystKey,
                format: Annotated[Literal["xlsx", "csv"], Query(description="xlsx or csv")] = "xlsx") -> FileResponse:
    """The list as XLSX (Chinese headers) or CSV.

    中文：导出名录（XLSX 或 CSV）。"""
    path = runs.list_file(name, format)
    media = XLSX_TYPE if format == "xlsx" else "text/csv; charset=utf-8"
    return FileResponse(path, media_type=media, filename=f"{name}.{format}")


@router.get("/{name}/changes", response_model=SupplierListChanges, summary="Changes since another list",
            responses=NOT_FOUND)
def list_changes(name: str, runs: RunsDep, _key: AnalystKey,
                 against: Annotated[str, Query(description="The previous period's list")]) -> SupplierListChanges:
    """Entries new, dropped or moved since `against`, each with its cause, as in the run diff.

    中文：与上期名录相比的变化及原因。"""
    return SupplierListChanges(name=name, against=against, items=runs.list_changes(name, against).to_dicts())
