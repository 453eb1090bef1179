"""Bulk imports as jobs: a row in the store that any worker can read, run by a thread of the worker that took it.

A job goes ``queued → running → succeeded | failed``; ``phase`` and ``enterprises_done`` report progress while it
runs, and ``report`` holds the per-row report (the same shape as a synchronous import's) once it has finished.
The owning worker names itself ``host:pid`` and refreshes ``updated_at`` every second. A reader reports a
queued or running job as failed when its owner is gone: on the same host the pid no longer exists, on another
host the heartbeat is older than ``import_job_stale_s`` (on one host the pid is authoritative, because SQLite
blocks the heartbeat while the import's own write transaction holds the database).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from matching.errors import ChainmatchError, InvalidInputError, NotFoundError
from matching.imports import Format
from matching.service import ChainmatchService, ImportOutcome
from matching.store.tables import import_jobs

log = logging.getLogger("chainmatch.imports")
ACTIVE = ("queued", "running")
HEARTBEAT_S = 1.0


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def outcome_report(outcome: ImportOutcome, dry_run: bool) -> dict[str, Any]:
    """The per-row report of an import as JSON (the API's ``ImportReport`` shape)."""
    plan = outcome.plan
    items = [asdict(r) for r in plan.reports]
    accepted = sum(1 for r in plan.reports if r.status == "accepted")
    return {
        "format": plan.format,
        "dry_run": dry_run,
        "rows": len(items),
        "accepted": accepted,
        "rejected": len(items) - accepted,
        "enterprises": {"created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged},
        "items": items,
        "warnings": plan.warnings,
    }


@dataclass(frozen=True)
class ImportJob:
    """One job as stored."""

    id: str
    status: str
    phase: str
    filename: str | None
    format: str | None
    dry_run: bool
    size_bytes: int
    rows_total: int | None
    enterprises_total: int | None
    enterprises_done: int
    owner: str
    error: str | None
    report: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class ImportJobStore:
    """The ``import_jobs`` table. Its writes are short transactions outside the store's writer lock."""

    def __init__(self, engine: Engine, stale_s: float) -> None:
        self.engine = engine
        self.stale_s = stale_s

    def create(self, *, filename: str | None, fmt: str | None, dry_run: bool, size_bytes: int,
               owner: str | None = None) -> str:  # fmt: skip
        job_id = uuid.uuid4().hex
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(
                insert(import_jobs).values(
                    id=job_id, status="queued", phase="queued", filename=filename, format=fmt,
                    dry_run=dry_run, size_bytes=size_bytes, enterprises_done=0, owner=owner or owner_name(),
                    created_at=now, updated_at=now,
                )
            )
        return job_id

    def update(self, job_id: str, **values: Any) -> None:
        values.setdefault("updated_at", datetime.now(UTC))
        with self.engine.begin() as conn:
            conn.execute(update(import_jobs).where(import_jobs.c.id == job_id).values(**values))

    def get(self, job_id: str) -> ImportJob:
        """A job; one whose worker is gone is marked failed (and stays so)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(import_jobs).where(import_jobs.c.id == job_id)).mappings().first()
        if row is None:
            raise NotFoundError("import job", job_id)
        values: dict[str, Any] = dict(row)
        for key in ("created_at", "updated_at", "finished_at"):
            values[key] = None if values[key] is None else _utc(values[key])
        job = ImportJob(**values)
        reason = self._dead_reason(job)
        if reason is None:
            return job
        now = datetime.now(UTC)
        with self.engine.begin() as conn:  # only an active job is marked, so a late finish is never undone
            conn.execute(
                update(import_jobs)
                .where(import_jobs.c.id == job_id, import_jobs.c.status.in_(ACTIVE))
                .values(status="failed", error=reason, finished_at=now)
            )
        return self.get(job_id)

    def _dead_reason(self, job: ImportJob) -> str | None:
        if job.status not in ACTIVE:
            return None
        host, _, pid = job.owner.rpartition(":")
        if host == socket.gethostname() and pid.isdigit():
            if _pid_alive(int(pid)):
                return None
            return f"worker {job.owner} exited before the job finished; nothing of it was published"
        idle = (datetime.now(UTC) - job.updated_at).total_seconds()
        if idle > self.stale_s:
            return f"worker {job.owner} sent no heartbeat for {idle:.0f} s; reported failed"
        return None


class ImportJobRunner:
    """Runs this worker's import jobs one at a time in a background thread (imports serialise on the store's
    writer lock anyway)."""

    def __init__(self, service: ChainmatchService, store: ImportJobStore) -> None:
        self.service = service
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chainmatch-import")

    def submit(self, data: bytes, *, filename: str | None, content_type: str | None = None,
               fmt: Format | None = None, dry_run: bool = False) -> str:  # fmt: skip
        job_id = self.store.create(filename=filename, fmt=fmt, dry_run=dry_run, size_bytes=len(data))
        self._pool.submit(self._run, job_id, data, filename, content_type, fmt, dry_run)
        return job_id

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, job_id: str, data: bytes, filename: str | None, content_type: str | None,
             fmt: Format | None, dry_run: bool) -> None:  # fmt: skip
        progress = _Progress(self.store, job_id)
        progress.start()
        try:
            outcome = self.service.import_bytes(data, filename=filename, content_type=content_type, fmt=fmt,
                                                dry_run=dry_run, progress=progress)  # fmt: skip
        except InvalidInputError as exc:
            details = "; ".join(f"{e.loc}: {e.msg}" for e in exc.errors)
            progress.finish(status="failed", error=f"{exc}" + (f" ({details})" if details else ""))
        except (ChainmatchError, SQLAlchemyError, OSError) as exc:
            log.exception("import job failed", extra={"job_id": job_id})
            progress.finish(status="failed", error=f"import failed: {type(exc).__name__}")
        except Exception as exc:  # a job must never stay "running" because of an unexpected error
            log.exception("import job failed", extra={"job_id": job_id})
            progress.finish(status="failed", error=f"internal error: {type(exc).__name__}")
        else:
            report = outcome_report(outcome, dry_run)
            progress.finish(status="succeeded", report=report, format=outcome.plan.format,
                            rows_total=report["rows"])  # fmt: skip


class _Progress:
    """Receives ``import_bytes`` progress and writes it, with a heartbeat, from its own thread (writing from
    the import thread could block on the import's own write transaction under SQLite)."""

    def __init__(self, store: ImportJobStore, job_id: str) -> None:
        self.store = store
        self.job_id = job_id
        self._latest: dict[str, Any] = {"status": "running", "phase": "parsing"}
        self._phases: dict[str, float] = {"parsing": time.monotonic()}  # when each phase began
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"import-{job_id[:8]}", daemon=True)

    def __call__(self, phase: str, done: int, total: int) -> None:
        with self._lock:
            self._latest.update(phase=phase)
            self._phases.setdefault(phase, time.monotonic())
            if phase == "storing":
                self._latest.update(enterprises_done=done, enterprises_total=total)

    def start(self) -> None:
        self._flush()
        self._thread.start()

    def _flush(self) -> None:
        with self._lock:
            values = dict(self._latest)
        try:
            self.store.update(self.job_id, **values)
        except SQLAlchemyError:
            log.warning("import job heartbeat failed", extra={"job_id": self.job_id})

    def _beat(self) -> None:
        while not self._done.wait(HEARTBEAT_S):
            self._flush()

    def finish(self, **values: Any) -> None:
        self._done.set()
        self._thread.join()
        with self._lock:
            final = {**self._latest, **values, "phase": "done", "finished_at": datetime.now(UTC)}
        self.store.update(self.job_id, **final)
        phases = {f"{phase}_ms": ms for phase, ms in self.phase_ms().items()}  # e.g. parsing_ms, storing_ms
        log.info("import job finished", extra={"job_id": self.job_id, "status": final["status"], **phases})

    def phase_ms(self) -> dict[str, float]:
        """Milliseconds spent in each phase so far (parsing, storing, indexing), in order."""
        with self._lock:
            marks = sorted(self._phases.items(), key=lambda kv: kv[1])
        ends = [at for _, at in marks[1:]] + [time.monotonic()]
        return {phase: round((end - at) * 1000, 1) for (phase, at), end in zip(marks, ends, strict=True)}
