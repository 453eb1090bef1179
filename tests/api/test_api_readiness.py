"""Readiness tells the truth: the index builds in the background, and /readyz reports store and index sequence
numbers and the lag between them."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from api.app import create_app
from matching.settings import Settings
from tests.api.api_helpers import ADMIN, PORTAL, enterprise, problem, wait_ready


def test_healthz_answers_while_the_index_builds(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    service = app.state.service
    service.index.lock.acquire()  # the build cannot publish its engine until released
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            started = time.monotonic()
            assert client.get("/healthz").json() == {"status": "ok"}
            assert time.monotonic() - started < 1.0
            assert service.index.building
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
        if service.index.lock._is_owned():
            service.index.lock.release()


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
