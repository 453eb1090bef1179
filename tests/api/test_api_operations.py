"""Regions, chains, health, readiness, metrics, request ids and the generic error responses."""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.api.api_helpers import PORTAL, error_fields, problem


def test_regions_list_filters_and_pages(client: TestClient) -> None:
    page = client.get("/v1/regions", params={"province": "50", "limit": 200}, headers=PORTAL).json()
    codes = [r["code"] for r in page["items"]]
    assert "500102" in codes and all(c.startswith("50") for c in codes)
    assert page["next_cursor"] is None
    by_name = client.get("/v1/regions", params={"province": "贵州省", "limit": 200}, headers=PORTAL).json()
    assert by_name["items"] and all(r["province"] == "贵州省" for r in by_name["items"])
    circle = client.get("/v1/regions", params={"in_circle": True, "limit": 200}, headers=PORTAL).json()
    assert circle["items"] and all(r["in_circle"] for r in circle["items"])
    assert not any(r["code"].startswith("52") for r in circle["items"])  # Guizhou is outside the circle
    city = client.get("/v1/regions", params={"city": "遵义市"}, headers=PORTAL).json()
    assert "520303" in {r["code"] for r in city["items"]}

    first = client.get("/v1/regions", params={"limit": 2}, headers=PORTAL).json()
    second = client.get(
        "/v1/regions", params={"limit": 2, "cursor": first["next_cursor"]}, headers=PORTAL
    ).json()
    assert len(first["items"]) == len(second["items"]) == 2
    assert first["items"][1]["code"] < second["items"][0]["code"]


def test_region_detail(client: TestClient) -> None:
    region = client.get("/v1/regions/520303", headers=PORTAL).json()
    assert region["name"] == "汇川区" and region["city"] == "遵义市" and region["province"] == "贵州省"
    assert 27 < region["lat"] < 28 and 106 < region["lon"] < 107
    problem(client.get("/v1/regions/999999", headers=PORTAL), 404)
    problem(client.get("/v1/regions/abc", headers=PORTAL), 422)


def test_chains(client: TestClient) -> None:
    page = client.get("/v1/chains", headers=PORTAL).json()
    assert [c["id"] for c in page["items"]] == ["t_lmfp", "t_polyamide"]
    filtered = client.get("/v1/chains", params={"region_code": "500102"}, headers=PORTAL).json()
    assert [c["id"] for c in filtered["items"]] == ["t_polyamide"]
    detail = client.get("/v1/chains/t_lmfp", headers=PORTAL).json()
    nodes = {n["id"]: n for n in detail["nodes"]}
    assert nodes["t_manganese_sulfate"]["segment"] == "上游"
    assert nodes["t_sintering_kiln"]["kind"] == "equipment" and nodes["t_sintering_kiln"]["segment"] is None
    edges = {(e["source"], e["target"], e["kind"]) for e in detail["edges"]}
    assert ("t_manganese_sulfate", "t_lmfp", "input_of") in edges
    assert ("t_lmfp", "t_battery_cell", "input_of") in edges
    assert detail["sources"][0]["doc"] == "003_1bc59414bff406b1.txt"
    problem(client.get("/v1/chains/nope", headers=PORTAL), 404)


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["database"] == "ok" and ready["enterprises"] == 4


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    client.get("/v1/enterprises/seed-zy-mn", headers=PORTAL)
    client.get("/v1/enterprises/seed-cs-lmfp", headers=PORTAL)
    client.get("/v1/enterprises/nobody", headers=PORTAL)
    client.post("/v1/match", json={"need": {"product": "硫酸锰"}}, headers=PORTAL)
    body = client.get("/metrics").text

    def sample(name: str, **labels: str) -> float:
        for line in body.splitlines():
            if line.startswith((name + "{", name + " ")) and all(
                f'{k}="{v}"' in line for k, v in labels.items()
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    route = "/v1/enterprises/{enterprise_id}"
    assert sample("chainmatch_http_requests_total", method="GET", route=route, status="200") == 2
    assert sample("chainmatch_http_requests_total", method="GET", route=route, status="404") == 1
    assert sample("chainmatch_http_request_duration_seconds_count", method="GET", route=route) == 3
    assert sample("chainmatch_matches_total", kind="adhoc") == 1
    assert sample("chainmatch_index_enterprises") == 4


def test_built_index_is_frozen_out_of_the_garbage_collector(make_client: Callable[..., TestClient]) -> None:
    """A full collection walks every live object (seconds per request at 100k firms): once the index is
    built, the change-log poll freezes it, and /metrics gives the index's size at that freeze."""
    client = make_client(gc_freeze=True)
    deadline = time.monotonic() + 10
    frozen = 0.0
    while time.monotonic() < deadline:
        match = re.search(r"^chainmatch_gc_frozen_index_enterprises(?:\{[^}]*\})? (\S+)$",
                          client.get("/metrics").text, re.M)
        frozen = float(match.group(1)) if match else 0.0
        if frozen > 0:
            break
        time.sleep(0.1)
    assert frozen == float(client.get("/readyz").json()["enterprises"])
    assert gc.get_freeze_count() > 10_000  # the graph, regions and the index's records, not a handful of objects
    gc.unfreeze()  # give this test process's objects back to the collector


def test_request_id_echoed_or_generated(client: TestClient) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert unsafe.headers["x-request-id"] != "bad id\twith spaces"
    p = problem(client.get("/v1/enterprises/nobody", headers={**PORTAL, "X-Request-ID": "req-42"}), 404)
    assert p["request_id"] == "req-42"


def test_unknown_route_and_wrong_method(client: TestClient) -> None:
    p = problem(client.get("/v1/nothing-here", headers=PORTAL), 404)
    assert "/v1/nothing-here" in p["detail"]
    problem(client.get("/favicon.ico"), 404)
    p = problem(client.post("/v1/regions/520303", headers=PORTAL), 405)
    assert "GET" in client.post("/v1/regions/520303", headers=PORTAL).headers["allow"]
    assert p["status"] == 405


def test_validation_problem_lists_fields(client: TestClient) -> None:
    p = problem(
        client.get("/v1/enterprises", params={"limit": "many", "region_code": "x"}, headers=PORTAL), 422
    )
    assert error_fields(p) == {"limit", "region_code"}
    assert p["type"].endswith("validation-error")
    assert all(set(e) >= {"field", "loc", "msg"} for e in p["errors"])


def test_internal_error_is_bare_500_problem(client: TestClient) -> None:
    service: Any = client.app.state.service  # type: ignore[attr-defined]
    with service.repository.engine.begin() as conn:
        conn.execute(text("DROP TABLE enterprises"))
    response = client.get("/v1/enterprises/seed-zy-mn", headers={**PORTAL, "X-Request-ID": "boom-1"})
    p = problem(response, 500)
    assert p["request_id"] == "boom-1" and response.headers["x-request-id"] == "boom-1"
    assert "enterprises" not in response.text.lower().replace("/v1/enterprises", "")
    assert "sql" not in response.text.lower()
    ready = client.get("/readyz")
    assert ready.status_code == 200  # the DB itself still answers
