"""``GET /v1/imports/{id}``: a bulk-import job's status, progress and per-row report, from any worker (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from api.deps import AdminKey
from api.problems import NOT_FOUND
from api.schemas_import_jobs import ImportJobResource
from matching.import_jobs import ImportJobRunner

router = APIRouter(prefix="/v1", tags=["imports"])


@router.get("/imports/{job_id}", response_model=ImportJobResource, summary="An import job (admin)",
            responses=NOT_FOUND)  # fmt: skip
async def get_import_job(
    request: Request,
    job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Job id from POST /v1/imports")],
    _key: AdminKey,
) -> ImportJobResource:
    """Status (`queued`, `running`, `succeeded`, `failed`), phase and progress; the per-row report once
    finished. A job whose worker died is reported `failed`, never left `running`.

    中文：查询批量导入任务的状态、进度和逐行报告。"""
    runner: ImportJobRunner = request.app.state.import_jobs
    job = await run_in_threadpool(runner.store.get, job_id)
    return ImportJobResource.of(job)
