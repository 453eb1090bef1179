"""Run records in the store. A ``running`` record is also the lock: a second run is refused while one runs.

Starting a run takes the store's write transaction (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory lock),
reaps stale records (``running`` on this host but its process is gone: killed or crashed → ``failed`` with
that reason), refuses if another run is still running, and inserts the new record, all atomically.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, RowMapping, select, update

from matching.errors import ConflictError
from matching.store.db import write_transaction
from matching.store.tables import runs

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"


class RunBusyError(ConflictError):
    """Another run holds the lock."""

    def __init__(self, holder: RunRecord) -> None:
        super().__init__(
            f"run {holder.id} is already running (pid {holder.pid} on {holder.host}, started "
            f"{holder.started_at.isoformat(timespec='seconds')}); runs never overlap, try again when it ends"
        )
        self.holder = holder


class RunRecord(BaseModel):
    """One run as stored."""

    id: str
    status: str
    started_at: datetime
    finished_at: datetime | None = None
    pid: int
    host: str
    reason: str | None = None
    data_fingerprint: str | None = None
    weights_name: str
    weights_version: int
    params_version: int
    code_version: str
    options: dict[str, Any]
    counts: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _record(row: RowMapping) -> RunRecord:
    data = dict(row)
    data["started_at"] = _utc(data["started_at"])
    data["finished_at"] = _utc(data["finished_at"])
    return RunRecord.model_validate(data)


def pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:  # noqa: PTH123
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class RunStore:
    """Reads and writes run records."""

    def __init__(self, engine: Engine, *, alive: Callable[[int], bool] = pid_alive) -> None:
        self.engine = engine
        self.host = socket.gethostname()
        self._alive = alive

    def start(self, run_id: str, *, weights_name: str, weights_version: int, params_version: int,
              code_version: str, options: dict[str, Any]) -> RunRecord:
        """Insert a ``running`` record, or raise :class:`RunBusyError` if another run is live."""
        now = datetime.now(UTC)
        with write_transaction(self.engine) as conn:
            self._reap(conn, now)
            holder = conn.execute(select(runs).where(runs.c.status == RUNNING).order_by(runs.c.started_at)).first()
            if holder is not None:
                raise RunBusyError(_record(holder._mapping))
            values = {
                "id": run_id, "status": RUNNING, "started_at": now, "pid": os.getpid(), "host": self.host,
                "weights_name": weights_name, "weights_version": weights_version,
                "params_version": params_version, "code_version": code_version, "options": options,
            }
            conn.execute(runs.insert().values(**values))
        found = self.get(run_id)
        assert found is not None
        return found

    def finish(self, run_id: str, *, data_fingerprint: str, counts: dict[str, Any],
               timings: dict[str, Any]) -> None:
        """Mark the run succeeded: the commit point of a publication."""
        with write_transaction(self.engine) as conn:
            conn.execute(update(runs).where(runs.c.id == run_id).values(
                status=SUCCEEDED, finished_at=datetime.now(UTC), data_fingerprint=data_fingerprint,
                counts=counts, timings=timings))

    def fail(self, run_id: str, reason: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status == RUNNING).values(
                status=FAILED, finished_at=datetime.now(UTC), reason=reason[:4000]))

    def reap(self) -> list[str]:
        """Mark stale ``running`` records failed; returns their ids."""
        with write_transaction(self.engine) as conn:
            return self._reap(conn, datetime.now(UTC))

    def _reap(self, conn: Any, now: datetime) -> list[str]:
        stale: list[str] = []
        for row in conn.execute(select(runs).where(runs.c.status == RUNNING, runs.c.host == self.host)):
            if row.pid != os.getpid() and not self._alive(int(row.pid)):
                stale.append(row.id)
                conn.execute(update(runs).where(runs.c.id == row.id).values(
                    status=FAILED, finished_at=now,
                    reason=f"interrupted: process {row.pid} on {row.host} ended without finishing "
                    "(killed or crashed); nothing of it was published"))
        return stale

    def get(self, run_id: str) -> RunRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(runs).where(runs.c.id == run_id)).first()
        return None if row is None else _record(row._mapping)

    def page(self, *, before: str | None = None, limit: int = 50, status: str | None = None) -> list[RunRecord]:
        """Runs newest first (ids sort by start time), after the cursor id ``before``."""
        query = select(runs).order_by(runs.c.id.desc()).limit(limit)
        if before is not None:
            query = query.where(runs.c.id < before)
        if status is not None:
            query = query.where(runs.c.status == status)
        with self.engine.connect() as conn:
            return [_record(r._mapping) for r in conn.execute(query)]

    def latest_succeeded(self, before: str | None = None) -> RunRecord | None:
        found = self.page(before=before, limit=1, status=SUCCEEDED)
        return found[0] if found else None
