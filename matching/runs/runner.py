"""Running a batch: lock (the run record), compute, write to a temporary directory, publish by rename, record.

The record turns ``succeeded`` only after the rename, so the published run is always the newest succeeded
record; a run killed at any point stays ``running`` until the next start or listing finds its process gone
and marks it ``failed``; its temporary (or renamed but unrecorded) directory is removed then.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matching import __version__
from matching.item_index import ItemIndex
from matching.runs.compute import ProgressFn, compute
from matching.runs.executors import Executor
from matching.runs.options import RunOptions
from matching.runs.records import FAILED, RUNNING, RunRecord, RunStore
from matching.runs.snapshot import TMP_PREFIX, publish, remove, tmp_dir, write_files, write_manifest
from matching.runs.table import data_fingerprint, match_table, profiles_frame
from matching.weights import WeightProfile

PAUSE_ENV = "CHAINMATCH_RUN_PAUSE_BEFORE_PUBLISH"
"""Test hook: a file path; the run writes it once its files are complete and then waits (to be killed)."""


def new_run_id() -> str:
    """``YYYYMMDDTHHMMSS.ffffff-xxxxxx`` (UTC, microseconds): ids sort by start time."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S.%f}-{secrets.token_hex(3)}"


def code_version() -> str:
    """Package version plus the git commit when run from a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=Path(__file__).resolve().parent,
                             capture_output=True, text=True, timeout=5, check=False)
        commit = out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}+{commit}" if commit else __version__


def params_hash(index: ItemIndex) -> str:
    return hashlib.sha256(index.params.model_dump_json().encode("utf-8")).hexdigest()[:16]


def weights_hash(weights: WeightProfile) -> str:
    return hashlib.sha256(weights.model_dump_json().encode("utf-8")).hexdigest()[:16]


def cleanup(store: RunStore, runs_dir: Path) -> list[str]:
    """Reap stale records, then remove directories of runs that did not finish (returns reaped ids)."""
    reaped = store.reap()
    if not runs_dir.exists():
        return reaped
    for path in runs_dir.iterdir():
        if not path.is_dir():
            continue
        run_id = path.name.removeprefix(TMP_PREFIX)
        rec = store.get(run_id)
        temporary = path.name.startswith(TMP_PREFIX)
        if (temporary and (rec is None or rec.status != RUNNING)) or (rec is not None and rec.status == FAILED):
            remove(path)
    return reaped


def execute(index: ItemIndex, store: RunStore, runs_dir: Path, options: RunOptions, weights: WeightProfile,
            executor: Executor, *, progress: ProgressFn | None = None, xlsx: bool = True,
            run_id: str | None = None, on_start: Any = None) -> RunRecord:
    """One complete run; raises :class:`~matching.runs.records.RunBusyError` if another run is live."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    cleanup(store, runs_dir)
    run_id = run_id or new_run_id()
    version = code_version()
    record = store.start(run_id, weights_name=weights.name, weights_version=weights.version,
                         params_version=index.params.version, code_version=version,
                         options={**options.model_dump(), "executor": executor.name})
    if on_start is not None:
        on_start(record)
    tmp = tmp_dir(runs_dir, run_id)
    try:
        t0 = time.perf_counter()
        computed = compute(index, options, weights, executor, progress)
        t1 = time.perf_counter()
        table = match_table(index, computed.suppliers, computed.buyers)
        profiles = profiles_frame(index)
        fingerprint = data_fingerprint(profiles)
        t2 = time.perf_counter()
        files = write_files(tmp, table, profiles, xlsx=xlsx)
        t3 = time.perf_counter()
        counts = {**computed.counts, "rows": table.height}
        timings = {**{k: round(v, 3) for k, v in computed.timings.items()}, "compute_s": round(t1 - t0, 3),
                   "table_s": round(t2 - t1, 3), "write_s": round(t3 - t2, 3)}
        write_manifest(tmp, {
            "run_id": run_id, "started_at": record.started_at.isoformat(), "code_version": version,
            "options": options.table_options(), "executor": executor.name,
            "weights": {"name": weights.name, "version": weights.version, "hash": weights_hash(weights),
                        "weights": weights.weights, "filters": weights.filters.model_dump()},
            "params": {"version": index.params.version, "hash": params_hash(index)},
            "data_fingerprint": fingerprint, "counts": counts, "timings": timings, "files": files,
        })
        pause = os.environ.get(PAUSE_ENV)
        if pause:
            Path(pause).write_text(run_id, encoding="utf-8")
            time.sleep(600)
        publish(runs_dir, run_id)
        timings["total_s"] = round(time.perf_counter() - t0, 3)
        store.finish(run_id, data_fingerprint=fingerprint, counts=counts, timings=timings)
    except BaseException as exc:
        store.fail(run_id, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        remove(tmp)
        remove(runs_dir / run_id)
        raise
    found = store.get(run_id)
    assert found is not None
    return found
