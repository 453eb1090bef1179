"""The fast path of the supplier and buyer lists answers exactly as the FastAPI routes do, and takes only the
requests it can vouch for: the rest fall through to the FastAPI routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.fast_lists import FastListRoute
from tests.api.api_helpers import ADMIN, ANALYST, PORTAL

SUPPLIERS = "/v1/enterprises/seed-hc-cell/suppliers"
BUYERS = "/v1/enterprises/seed-cs-lmfp/buyers"

# (method, path, params, headers): plain requests every input of which the fast path can vouch for
TAKEN: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
    ("GET", SUPPLIERS, {}, PORTAL),
    ("GET", SUPPLIERS, {"need_id": "n1"}, PORTAL),
    ("GET", SUPPLIERS, {"need_id": "n1", "k": "1"}, ANALYST),
    ("GET", SUPPLIERS, {"k": "1"}, PORTAL),  # the full list has two items, the full buyer list of zy-mn too
    ("GET", "/v1/enterprises/seed-zy-mn/buyers", {"k": "1", "cross_region_only": "true"}, PORTAL),
    ("GET", "/v1/enterprises/seed-zy-mn/buyers", {}, PORTAL),
    ("GET", SUPPLIERS, {"k": "100", "weights": "default"}, ADMIN),
    ("GET", SUPPLIERS, {"weights": "default@1", "cross_region_only": "true", "in_circle_only": "false"}, PORTAL),
    ("GET", SUPPLIERS, {"cross_region_only": "false", "page": "2"}, PORTAL),  # unknown parameters are ignored
    ("HEAD", SUPPLIERS, {"need_id": "n1"}, PORTAL),
    ("GET", BUYERS, {}, PORTAL),
    ("GET", BUYERS, {"offer_id": "o1", "k": "3", "in_circle_only": "true"}, PORTAL),
    # errors of the service (404) come from the same problem handlers
    ("GET", "/v1/enterprises/nobody/suppliers", {}, PORTAL),
    ("GET", SUPPLIERS, {"need_id": "zz"}, PORTAL),
    ("GET", BUYERS, {"offer_id": "zz"}, PORTAL),
    ("GET", SUPPLIERS, {"weights": "nosuch"}, PORTAL),
    ("GET", SUPPLIERS, {"weights": "default@99"}, PORTAL),
]

# requests the fast path leaves to the FastAPI route (401, 422, or forms only FastAPI's parsing accepts)
LEFT: list[tuple[str, str, Any, dict[str, str]]] = [
    ("GET", SUPPLIERS, {}, {}),
    ("GET", SUPPLIERS, {}, {"X-API-Key": "not-a-key-of-this-service"}),
    ("GET", SUPPLIERS, {"k": "0"}, PORTAL),
    ("GET", SUPPLIERS, {"k": "101"}, PORTAL),
    ("GET", SUPPLIERS, {"k": "ten"}, PORTAL),
    ("GET", SUPPLIERS, {"k": "010"}, PORTAL),
    ("GET", SUPPLIERS, {"k": ""}, PORTAL),
    ("GET", SUPPLIERS, {"need_id": "n 1"}, PORTAL),
    ("GET", SUPPLIERS, {"need_id": ""}, PORTAL),
    ("GET", SUPPLIERS, {"weights": "a@b"}, PORTAL),
    ("GET", SUPPLIERS, {"cross_region_only": "yes"}, PORTAL),
    ("GET", SUPPLIERS, {"in_circle_only": "maybe"}, PORTAL),
    ("GET", SUPPLIERS, [("k", "2"), ("k", "3")], PORTAL),
    ("GET", BUYERS, {"offer_id": "o/1"}, PORTAL),
    ("GET", "/v1/enterprises/bad%20id/suppliers", {}, PORTAL),
    ("GET", "/v1/enterprises/" + "x" * 65 + "/buyers", {}, PORTAL),
]


def _answer(client: TestClient, method: str, path: str, params: Any, headers: dict[str, str]
            ) -> tuple[int, str, Any]:  # fmt: skip
    response = client.request(method, path, params=params, headers=headers)
    body: Any = response.content
    if response.content:
        body = response.json()
        if isinstance(body, dict):
            body.pop("request_id", None)  # one per request
    return response.status_code, response.headers.get("content-type", ""), body


def _served(client: TestClient) -> int:
    return sum(r.served for r in client.app.router.routes if isinstance(r, FastListRoute))  # type: ignore[attr-defined]


@pytest.fixture
def clients(make_client: Callable[..., TestClient]) -> tuple[TestClient, TestClient]:
    """The same store served with the fast path and without it."""
    fast, plain = make_client(), make_client(fast_lists=False)
    assert not any(isinstance(r, FastListRoute) for r in plain.app.router.routes)  # type: ignore[attr-defined]
    return fast, plain


def test_the_fast_path_answers_as_the_fastapi_routes(clients: tuple[TestClient, TestClient]) -> None:
    fast, plain = clients
    statuses, longest = set(), 0
    for request in TAKEN:
        before = _served(fast)
        got, expected = _answer(fast, *request), _answer(plain, *request)
        assert _served(fast) == before + 1, request  # the fast path took it
        assert got == expected, request
        statuses.add(got[0])
        longest = max(longest, len(got[2]["items"]) if got[0] == 200 and got[2] else 0)
    assert statuses == {200, 404} and longest >= 2  # k and the filters had something to cut
    metrics = fast.get("/metrics").text  # counted and logged under the FastAPI route's name
    assert 'route="/v1/enterprises/{enterprise_id}/suppliers",status="200"' in metrics
    assert 'route="/v1/enterprises/{enterprise_id}/buyers",status="404"' in metrics


def test_requests_it_cannot_vouch_for_fall_through_to_the_fastapi_routes(
        clients: tuple[TestClient, TestClient]) -> None:  # fmt: skip
    fast, plain = clients
    statuses = set()
    for request in LEFT:
        before = _served(fast)
        got, expected = _answer(fast, *request), _answer(plain, *request)
        assert _served(fast) == before, request
        assert got == expected, request
        statuses.add(got[0])
    assert {401, 422} <= statuses
