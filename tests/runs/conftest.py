"""Fixtures: a real service (SQLite, the repository's seed enterprises) and its runs, in a temp data dir."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from matching.runs.records import RunRecord
from matching.runs.service import RunsService
from matching.service import ChainmatchService, default_settings


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunsService]:
    """One service per test module (building the seed index takes seconds); tests assert on their own runs."""
    service = ChainmatchService.open(default_settings(tmp_path_factory.mktemp("runs") / "data"))
    yield RunsService(service)
    service.close()


def table_hash(runs: RunsService, record: RunRecord) -> str:
    return hashlib.sha256((runs.runs_dir / record.id / "matches.parquet").read_bytes()).hexdigest()
