"""``POST /v1/imports``: bulk CSV, JSONL or XLSX upload with a per-row report (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from api.deps import AdminKey, ServiceDep
from api.problems import TOO_LARGE
from api.schemas import ImportEnterprises, ImportReport, ImportRow, ImportRowError
from matching.service import ImportOutcome

router = APIRouter(prefix="/v1", tags=["imports"])


@router.post("/imports", response_model=ImportReport, summary="Bulk import (admin)", responses=TOO_LARGE)
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="A .csv, .jsonl or .xlsx file (max 10 MiB)")],
    service: ServiceDep,
    _key: AdminKey,
    format: Annotated[
        Literal["csv", "jsonl", "xlsx"] | None,
        Query(description="Override the format detected from the file name"),
    ] = None,
    dry_run: Annotated[bool, Query(description="Validate and report without storing")] = False,
) -> ImportReport:
    """CSV/XLSX: one row per offer or need, columns `enterprise_id, name, region_code, address, credit_code,
    park, tags, certifications, kind, item_id, product, description, quantity_value, quantity_unit,
    required_certifications` (lists `;`-separated; rows of one enterprise are grouped). JSONL: one profile
    per line. Each imported enterprise's profile is replaced by its accepted rows; a bad row never blocks
    the good ones, and importing the same file again changes nothing.

    中文：批量导入（CSV / JSONL / XLSX），逐行返回接受或拒绝及原因；坏行不影响好行。"""
    data = await file.read()
    outcome: ImportOutcome = await run_in_threadpool(
        service.import_bytes,
        data,
        filename=file.filename,
        content_type=file.content_type,
        fmt=format,
        dry_run=dry_run,
    )
    plan = outcome.plan
    items = [
        ImportRow(
            row=r.row,
            enterprise_id=r.enterprise_id,
            status=r.status,
            errors=[ImportRowError(field=e.field, reason=e.reason) for e in r.errors],
        )
        for r in plan.reports
    ]
    accepted = sum(1 for r in items if r.status == "accepted")
    metrics = request.app.state.metrics
    metrics.import_rows.labels("accepted").inc(accepted)
    metrics.import_rows.labels("rejected").inc(len(items) - accepted)
    return ImportReport(
        format=plan.format,
        dry_run=dry_run,
        rows=len(items),
        accepted=accepted,
        rejected=len(items) - accepted,
        enterprises=ImportEnterprises(
            created=outcome.created, updated=outcome.updated, unchanged=outcome.unchanged
        ),
        items=items,
        warnings=plan.warnings,
    )
