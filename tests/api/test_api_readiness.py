"""Readiness tells the truth: the index builds in the background, and /readyz reports store and index sequence
numbers and the lag between them."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import create_app
from matching.settings import Settings
from matching.store import create_db_engine
from matching.store.migrate import startup_lock
from tests.api.api_helpers import ADMIN, PORTAL, enterprise, problem, wait_ready


def _wait_for(condition: Callable[[], object], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_healthz_answers_while_the_service_loads_and_the_index_builds(make_settings: Callable[..., Settings]) -> None:
    """Start-up is held at two public seams: the store's start-up lock (as another worker migrating would
    hold it) and then the index lock (the build cannot publish its engine). /healthz answers throughout."""
    settings = make_settings()
    app = create_app(settings)
    store = create_db_engine(settings.resolved_database_url())
    held = startup_lock(store)
    held.__enter__()
    service = None
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            # the graph and regions load, then start-up waits for the lock: not ready, every route but the
            # operations ones answers 503 problem+json; a bad key is still refused first
            _wait_for(lambda: app.state.service is not None)
            service = app.state.service
            service.index.lock.acquire()
            assert client.get("/healthz").json() == {"status": "ok"}
            starting = problem(client.get("/readyz"), 503)
            assert "starting" in starting["detail"] and "store" in starting["detail"]
            for response in (
                client.get("/v1/enterprises/seed-zy-mn", headers=PORTAL),
                client.post("/v1/match", json={"need": {"product": "硫酸锰"}}, headers=PORTAL),
                client.get("/openapi.json"),
            ):
                assert "starting" in problem(response, 503)["detail"]
                assert response.headers["retry-after"] == "1"
            problem(client.get("/v1/enterprises", headers={"X-API-Key": "wrong"}), 401)
            assert client.get("/metrics").status_code == 200
            held.__exit__(None, None, None)
            held = None
            # the store is ready; the index build cannot publish while the test holds its lock
            _wait_for(lambda: client.get("/v1/enterprises/seed-zy-mn", headers=PORTAL).status_code == 200)
            assert service.index.building
            assert client.get("/healthz").json() == {"status": "ok"}
            not_ready = problem(client.get("/readyz"), 503)
            assert "building" in not_ready["detail"] and "store_seq 4" in not_ready["detail"]
            for response in (
                client.get("/v1/enterprises/seed-zy-mn/suppliers", headers=PORTAL),
                client.post("/v1/match", json={"need": {"product": "硫酸锰"}}, headers=PORTAL),
                client.get("/v1/enterprises", params={"chain": "t_lmfp"}, headers=PORTAL),
            ):
                body = problem(response, 503)
                assert "index building" in body["detail"]
                assert response.headers["retry-after"] == "1"
            # store reads and writes do not need the index
            assert client.get("/v1/enterprises/seed-zy-mn", headers=PORTAL).status_code == 200
            put = client.put("/v1/enterprises/during-build", headers=PORTAL,
                             json=enterprise(offers=[{"id": "o1", "product": "己二酸"}]))  # fmt: skip
            assert put.status_code == 201
            service.index.lock.release()
            ready = wait_ready(client)
            assert ready["index"] == "ok" and ready["lag"] <= ready["max_lag"]
            assert ready["worker"] == os.getpid()  # which worker answered: each has its own index
            assert "/v1/match" in client.get("/openapi.json").json()["paths"]
            # the write made while building is matchable once the poller has applied it
            deadline = time.monotonic() + 3
            while True:
                items = client.post("/v1/match", json={"need": {"product": "己二酸"}, "k": 50},
                                    headers=PORTAL).json()["items"]  # fmt: skip
                if "during-build" in {i["supplier"]["id"] for i in items}:
                    break
                assert time.monotonic() < deadline, "a write made during the build never became matchable"
                time.sleep(0.05)
            ready = client.get("/readyz").json()
            assert ready["store_seq"] == ready["index_seq"] == 5 and ready["lag"] == 0
    finally:
        if held is not None:
            held.__exit__(None, None, None)
        if service is not None and service.index.lock._is_owned():
            service.index.lock.release()
        store.dispose()


def test_not_ready_while_lag_exceeds_bound(make_client: Callable[..., TestClient]) -> None:
    writer = make_client()
    reader = make_client(ready_max_lag=2)
    service = reader.app.state.service  # type: ignore[attr-defined]
    service.index._sync_lock.acquire()  # hold this worker's change-log poller
    try:
        for n in range(3):
            response = writer.put(f"/v1/enterprises/lag-{n}", json=enterprise(), headers=PORTAL)
            assert response.status_code == 201
        body = problem(reader.get("/readyz"), 503)
        assert "lag 3 changes exceeds 2" in body["detail"]
        writer_ready = writer.get("/readyz").json()
        assert writer_ready["store_seq"] == 7 and writer_ready["max_lag"] == 1000
    finally:
        service.index._sync_lock.release()
    ready = wait_ready(reader, timeout=5)
    assert (ready["store_seq"], ready["index_seq"], ready["lag"]) == (7, 7, 0)
    assert writer.delete("/v1/enterprises/lag-0", headers=ADMIN).status_code == 204
    assert wait_ready(reader, timeout=5)["index_seq"] >= 7
