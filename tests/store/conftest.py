"""Store fixtures: an engine on temp SQLite, and on a fresh PostgreSQL schema when
CHAINMATCH_TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from matching.store import create_db_engine
from tests.postgres import BACKENDS, fresh_schema


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with fresh_schema("cm_store") as url:
        yield url


@pytest.fixture
def db(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()
