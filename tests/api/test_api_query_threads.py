"""Matching queries on query threads (``query_threads``) answer exactly what the event loop answers, also
when many arrive at once, and their errors are the same problems."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from matching.settings import Settings
from tests.api.api_helpers import PORTAL, problem


def _requests(client: TestClient) -> list[tuple[str, str, dict[str, Any] | None]]:
    page = client.get("/v1/enterprises", params={"limit": 100}, headers=PORTAL).json()["items"]
    ids = [e["enterprise"]["id"] for e in page]
    assert len(ids) >= 40
    out: list[tuple[str, str, dict[str, Any] | None]] = []
    for eid in ids:
        out += [("GET", f"/v1/enterprises/{eid}/suppliers", None), ("GET", f"/v1/enterprises/{eid}/buyers", None)]
    out += [("POST", "/v1/match", {"need": {"id": "q", "product": product}, "region_code": "500117"})
            for product in ("己二酸", "导热胶", "火锅底料")]
    return out


def _send(client: TestClient, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any]:
    response = client.request(method, path, json=body, headers={**PORTAL, "X-Request-ID": "same"})
    return response.status_code, response.json()


def test_query_threads_answer_what_the_event_loop_answers(make_client: Callable[..., TestClient]) -> None:
    on_loop = make_client(query_threads=0, seeds_dir=None)  # the repository's seeds: 49 firms
    threaded = make_client(query_threads=2, seeds_dir=None)
    requests = _requests(on_loop)
    expected = [_send(on_loop, *r) for r in requests]
    assert all(status == 200 for status, _ in expected), expected
    assert sum(len(body["items"]) for _, body in expected) > 20
    assert [_send(threaded, *r) for r in requests] == expected
    with ThreadPoolExecutor(8) as pool:  # many at once: two run, the rest wait their turn
        concurrent = list(pool.map(lambda r: _send(threaded, *r), requests * 3))
    assert concurrent == expected * 3


def test_a_failing_query_on_a_thread_is_the_same_problem(make_client: Callable[..., TestClient]) -> None:
    threaded = make_client(query_threads=2)
    response = threaded.get("/v1/enterprises/no-such-firm/suppliers", headers=PORTAL)
    assert problem(response, 404)["detail"]
    response = threaded.get("/v1/enterprises/seed-hc-cell/suppliers", params={"need_id": "nope"}, headers=PORTAL)
    assert "nope" in problem(response, 404)["detail"]


def test_query_threads_are_bounded() -> None:
    with pytest.raises(ValidationError) as err:
        Settings(query_threads=-1)
    assert err.value.errors()[0]["loc"] == ("query_threads",)
