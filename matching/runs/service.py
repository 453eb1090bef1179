"""Runs over a :class:`~matching.service.ChainmatchService`: start, read, filter, diff, supplier lists.

Used by the CLI and the REST API (no web imports). Runs live in ``<data_dir>/runs``, lists in
``<data_dir>/lists``; the store holds the run records.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import polars as pl

from matching.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from matching.runs import lists
from matching.runs.compute import ProgressFn
from matching.runs.diff import diff_runs
from matching.runs.executors import Executor, LocalExecutor
from matching.runs.options import RunOptions
from matching.runs.records import SUCCEEDED, RunRecord, RunStore
from matching.runs.runner import cleanup, execute, new_run_id
from matching.runs.snapshot import MATCHES
from matching.service import ChainmatchService


class RunNotReadyError(ConflictError):
    """The run exists but has no published snapshot (running or failed)."""


class RunsService:
    """Batch runs and supplier lists for one service (one data dir, one store)."""

    def __init__(self, service: ChainmatchService) -> None:
        self.service = service
        self.store = RunStore(service.repository.engine)
        self.runs_dir = Path(service.settings.data_dir) / "runs"
        self.lists_dir = Path(service.settings.data_dir) / "lists"

    # -- running --------------------------------------------------------------------------------
    def run(self, options: RunOptions, executor: Executor | None = None, *, progress: ProgressFn | None = None,
            xlsx: bool = True) -> RunRecord:
        """Run now, in this thread (raises :class:`~matching.runs.records.RunBusyError` if one is live)."""
        weights = self.service.resolve_weights(options.weights)
        self.service.sync(force=True)
        engine = self.service.engine
        if engine is None:
            raise RuntimeError("the matching index is not built")
        return execute(engine.index, self.store, self.runs_dir, options, weights, executor or LocalExecutor(),
                       progress=progress, xlsx=xlsx)

    def start_background(self, options: RunOptions) -> RunRecord:
        """Take the lock and record the run now, compute it in a background thread (the API's path)."""
        weights = self.service.resolve_weights(options.weights)
        run_id = new_run_id()
        started = threading.Event()
        failure: list[BaseException] = []

        def work() -> None:
            try:
                self.service.sync(force=True)
                engine = self.service.engine
                if engine is None:
                    raise RuntimeError("the matching index is not built")
                execute(engine.index, self.store, self.runs_dir, options, weights, LocalExecutor(), run_id=run_id,
                        on_start=lambda _r: started.set())
            except BaseException as exc:  # recorded as failed by execute; surfaced here if it never started
                failure.append(exc)
            finally:
                started.set()

        threading.Thread(target=work, name=f"chainmatch-run-{run_id}", daemon=True).start()
        started.wait()
        record = self.store.get(run_id)
        if record is None:
            raise failure[0] if failure else RuntimeError("the run did not start")
        return record

    # -- reading --------------------------------------------------------------------------------
    def list_runs(self, *, before: str | None = None, limit: int = 50) -> list[RunRecord]:
        cleanup(self.store, self.runs_dir)
        return self.store.page(before=before, limit=limit)

    def get(self, run_id: str) -> RunRecord:
        record = self.store.get(run_id)
        if record is None:
            raise NotFoundError("run", run_id)
        if record.status == "running":
            cleanup(self.store, self.runs_dir)
            record = self.store.get(run_id) or record
        return record

    def run_dir(self, run_id: str) -> Path:
        record = self.get(run_id)
        if record.status != SUCCEEDED:
            raise RunNotReadyError(f"run {run_id} is {record.status}; only succeeded runs have a match table")
        return self.runs_dir / run_id

    def matches(self, run_id: str, *, buyer: str | None = None, supplier: str | None = None,
                region_code: str | None = None, chain: str | None = None, list_kind: str | None = None
                ) -> pl.LazyFrame:
        """The run's match table, filtered (region: either party's county code or its prefix)."""
        frame = pl.scan_parquet(self.run_dir(run_id) / MATCHES)
        if buyer:
            frame = frame.filter(pl.col("buyer_id") == buyer)
        if supplier:
            frame = frame.filter(pl.col("supplier_id") == supplier)
        if region_code:
            frame = frame.filter(pl.col("buyer_region_code").str.starts_with(region_code)
                                 | pl.col("supplier_region_code").str.starts_with(region_code))
        if chain:
            frame = frame.filter(pl.col("chains").str.split(",").list.contains(chain))
        if list_kind:
            frame = frame.filter(pl.col("list") == list_kind)
        return frame

    def diff(self, run_id: str, against: str | None = None) -> tuple[str, pl.DataFrame]:
        """Changes from ``against`` (default: the newest succeeded run before ``run_id``) to ``run_id``."""
        new_dir = self.run_dir(run_id)
        if against is None:
            previous = self.store.latest_succeeded(before=run_id)
            if previous is None:
                raise InvalidInputError("nothing to compare", [FieldError(
                    "against", f"no succeeded run before {run_id}; give against=")])
            against = previous.id
        return against, diff_runs(new_dir, self.run_dir(against))

    # -- supplier lists -------------------------------------------------------------------------
    def build_list(self, name: str, regions: list[str], run_id: str | None = None) -> dict[str, Any]:
        if run_id is None:
            latest = self.store.latest_succeeded()
            if latest is None:
                raise InvalidInputError("no run", [FieldError("run_id", "no succeeded run yet; start one first")])
            run_id = latest.id
        return lists.build(self.run_dir(run_id), self.lists_dir, name, regions, run_id)

    def get_list(self, name: str) -> tuple[dict[str, Any], pl.DataFrame]:
        return lists.load(self.lists_dir, name)

    def all_lists(self) -> list[dict[str, Any]]:
        return lists.all_lists(self.lists_dir)

    def list_changes(self, name: str, against: str) -> pl.DataFrame:
        return lists.changes(self.lists_dir, self.runs_dir, name, against)

    def list_file(self, name: str, fmt: str) -> Path:
        self.get_list(name)
        return self.lists_dir / name / (lists.XLSX if fmt == "xlsx" else lists.CSV)
