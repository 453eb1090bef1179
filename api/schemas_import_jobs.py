"""Response schemas of bulk-import jobs (``POST /v1/imports`` answering 202, ``GET /v1/imports/{id}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas import ImportReport
from matching.import_jobs import ImportJob


class ImportProgress(BaseModel):
    """Enterprises written so far; ``fraction`` is 1.0 once the job has finished."""

    enterprises_total: int | None = Field(default=None, ge=0, description="Known once the file is parsed")
    enterprises_done: int = Field(ge=0)
    fraction: float = Field(ge=0, le=1)


class ImportJobResource(BaseModel):
    """A bulk import running (or run) as a job; ``report`` is the per-row report once it has finished."""

    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    phase: Literal["queued", "parsing", "storing", "indexing", "done"]
    filename: str | None
    format: str | None
    dry_run: bool
    size_bytes: int = Field(ge=0)
    rows_total: int | None = Field(default=None, ge=0)
    progress: ImportProgress
    error: str | None = None
    created_at: datetime
    updated_at: datetime = Field(description="The running worker's last heartbeat")
    finished_at: datetime | None = None
    report: ImportReport | None = None

    @classmethod
    def of(cls, job: ImportJob) -> ImportJobResource:
        total = job.enterprises_total
        finished = job.status in ("succeeded", "failed")
        fraction = 1.0 if job.status == "succeeded" else (job.enterprises_done / total if total else 0.0)
        return cls(
            id=job.id,
            status=job.status,
            phase=job.phase,
            filename=job.filename,
            format=job.format,
            dry_run=job.dry_run,
            size_bytes=job.size_bytes,
            rows_total=job.rows_total,
            progress=ImportProgress(
                enterprises_total=total, enterprises_done=job.enterprises_done, fraction=min(1.0, fraction)
            ),
            error=job.error,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at if finished else None,
            report=None if job.report is None else ImportReport.model_validate(job.report),
        )
