"""``POST /v1/imports``: bulk CSV, JSONL or XLSX upload with a per-row report (admin)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import AdminKey, ServiceDep
from api.problems import TOO_LARGE
from api.schemas import ImportReport
from api.schemas_import_jobs import ImportJobResource
from matching.import_jobs import ImportJobRunner, outcome_report
from matching.service import ImportOutcome

router = APIRouter(prefix="/v1", tags=["imports"])


@router.post(
    "/imports",
    response_model=ImportReport,
    summary="Bulk import (admin)",
    responses={**TOO_LARGE, 202: {"model": ImportJobResource, "description": "Accepted: running as a job"}},
)
async def import_file(
    request: Request,
    file: Annotated[UploadFile, File(description="A .csv, .jsonl or .xlsx file (max 10 MiB)")],
    service: ServiceDep,
    _key: AdminKey,
    format: Annotated[
        Literal["csv", "jsonl", "xlsx"] | None,
        Query(description="Override the format detected from the file name"),
    ] = None,
    dry_run: Annotated[
        bool, Query(description="Validate and report which ids would be created or updated; store nothing")
    ] = False,
    mode: Annotated[
        Literal["auto", "sync", "job"],
        Query(description="`auto`: a job (202) from CHAINMATCH_IMPORT_JOB_MIN_BYTES (256 KiB) up; `sync`: "
                          "answer 200 with the report; `job`: always a job"),
    ] = "auto",
) -> ImportReport | JSONResponse:
    """CSV/XLSX: one row per offer or need, columns `enterprise_id, name, region_code, address, credit_code,
    park, tags, certifications, kind, item_id, product, description, quantity_value, quantity_unit,
    required_certifications` (lists `;`-separated; rows of one enterprise are grouped). JSONL: one profile
    per line. Each imported enterprise's profile is replaced by its accepted rows; a bad row never blocks
    the good ones, and importing the same file again changes nothing. The store takes the whole import in one
    transaction and the index applies it as one batch.

    Large files run as a job: 202 with the job resource and `Location: /v1/imports/{id}`; poll it for
    progress and the per-row report.

    中文：批量导入（CSV / JSONL / XLSX），逐行返回接受或拒绝及原因；坏行不影响好行；大文件作为后台任务运行（202）。"""
    data = await file.read()
    settings = request.app.state.settings
    if mode == "job" or (mode == "auto" and len(data) >= settings.import_job_min_bytes):
        runner: ImportJobRunner = request.app.state.import_jobs
        job_id = await run_in_threadpool(
            runner.submit, data, filename=file.filename, content_type=file.content_type, fmt=format,
            dry_run=dry_run,
        )  # fmt: skip
        job = await run_in_threadpool(runner.store.get, job_id)
        body = ImportJobResource.of(job).model_dump(mode="json")
        return JSONResponse(body, status_code=202, headers={"Location": f"/v1/imports/{job_id}"})
    outcome: ImportOutcome = await run_in_threadpool(
        service.import_bytes,
        data,
        filename=file.filename,
        content_type=file.content_type,
        fmt=format,
        dry_run=dry_run,
    )
    report = ImportReport.model_validate(outcome_report(outcome, dry_run))
    metrics = request.app.state.metrics
    metrics.import_rows.labels("accepted").inc(report.accepted)
    metrics.import_rows.labels("rejected").inc(report.rejected)
    return report
