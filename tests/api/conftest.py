"""Fixtures: real apps on a temp SQLite data dir, and on PostgreSQL when CHAINMATCH_TEST_DATABASE_URL is set.

Each PostgreSQL-backed test gets its own schema (``search_path``), dropped afterwards, so runs never collide.
The chain graph and seed enterprises come from ``tests/api/seeds`` (a small set in the real seed format);
regions come from the repository's ``seeds/regions.yaml`` and the ``cpca`` package.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

warnings.filterwarnings("ignore", message=".*httpx2.*")
# Hundreds of apps start in this process: frozen objects of finished apps would never be collected.
os.environ.setdefault("CHAINMATCH_GC_FREEZE", "false")

from fastapi.testclient import TestClient  # noqa: E402

from api.app import create_app  # noqa: E402
from matching.settings import Settings  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO_SEEDS = HERE.parent.parent / "seeds"

from tests.api.api_helpers import API_KEYS, Captured, wait_ready  # noqa: E402
from tests.postgres import BACKENDS, fresh_schema  # noqa: E402


@pytest.fixture(scope="session")
def seeds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeds")
    shutil.copytree(HERE / "seeds", root, dirs_exist_ok=True)
    shutil.copy(REPO_SEEDS / "regions.yaml", root / "regions.yaml")
    return root


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """``None`` (SQLite in the data dir) or a PostgreSQL URL bound to a fresh schema."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_schema("cm_test") as url:
        yield url


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_settings(data_dir: Path, seeds_dir: Path, database_url: str | None) -> Callable[..., Settings]:
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": database_url,
            "api_keys": API_KEYS,
            "seeds_dir": seeds_dir,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return Settings(**values)

    return factory


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Start apps (lifespan included) that are shut down at teardown."""
    clients: list[TestClient] = []

    def factory(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        wait_ready(client)
        return client

    yield factory
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def service_log() -> Iterator[Captured]:
    """The ``chainmatch.service`` logger's records during the test."""
    import logging

    handler = Captured()
    logger = logging.getLogger("chainmatch.service")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
