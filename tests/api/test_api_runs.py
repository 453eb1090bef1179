"""``/v1/runs`` and ``/v1/supplier-lists`` over HTTP (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import io
import time
from typing import Any

import polars as pl
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from matching.runs.records import RunStore
from tests.api.api_helpers import ADMIN, ANALYST, PORTAL, enterprise, error_fields, problem


def _finished(client: TestClient, run_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        body: dict[str, Any] = client.get(f"/v1/runs/{run_id}", headers=ANALYST).json()
        if body["status"] != "running":
            return body
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.1)


def _run(client: TestClient, **options: Any) -> dict[str, Any]:
    response = client.post("/v1/runs", json={"k": 5, **options}, headers=ANALYST)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "running"
    body = _finished(client, response.json()["id"])
    assert body["status"] == "succeeded", body
    return body


def test_roles_and_validation(client: TestClient) -> None:
    problem(client.post("/v1/runs", json={}, headers=PORTAL), 403)
    problem(client.get("/v1/runs", headers=PORTAL), 403)
    body = problem(client.post("/v1/runs", json={"k": 0, "colour": "red"}, headers=ANALYST), 422)
    assert {"k", "colour"} <= error_fields(body)
    body = problem(client.post("/v1/runs", json={"weights": "nope:1"}, headers=ANALYST), 404)
    problem(client.get("/v1/runs/20990101T000000.000000-abcdef", headers=ANALYST), 404)


def test_a_second_run_while_one_runs_is_a_conflict(client: TestClient) -> None:
    store = RunStore(client.app.state.service.repository.engine)  # type: ignore[attr-defined]
    store.start("20000101T000000.000000-aaaaaa", weights_name="default", weights_version=1, params_version=2,
                code_version="t", options={})  # a live run: this very process
    body = problem(client.post("/v1/runs", json={}, headers=ANALYST), 409)
    assert "20000101T000000.000000-aaaaaa is already running" in body["detail"]
    problem(client.get("/v1/runs/20000101T000000.000000-aaaaaa/matches", headers=ANALYST), 409)


def test_run_list_matches_formats_and_filters(client: TestClient) -> None:
    run = _run(client)
    assert run["counts"]["rows"] > 0 and run["weights_name"] == "default" and run["data_fingerprint"]
    listed = client.get("/v1/runs", headers=ANALYST).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    # JSON pages walk the whole table in order
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/v1/runs/{run['id']}/matches", params=params, headers=ADMIN).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == run["counts"]["rows"] == page["total"]
    parquet = client.get(f"/v1/runs/{run['id']}/matches", params={"format": "parquet"}, headers=ANALYST)
    table = pl.read_parquet(io.BytesIO(parquet.content))
    assert table.to_dicts() == seen
    csv = client.get(f"/v1/runs/{run['id']}/matches", params={"format": "csv"}, headers=ANALYST)
    assert csv.headers["content-type"].startswith("text/csv")
    assert pl.read_csv(io.BytesIO(csv.content)).height == len(seen)
    buyer = seen[0]["buyer_id"]
    only = client.get(f"/v1/runs/{run['id']}/matches", params={"buyer": buyer, "limit": 200}, headers=ANALYST).json()
    assert only["items"] and all(r["buyer_id"] == buyer for r in only["items"])
    assert only["total"] == sum(r["buyer_id"] == buyer for r in seen)
    region = client.get(f"/v1/runs/{run['id']}/matches", params={"region_code": "5203", "list": "suppliers"},
                        headers=ANALYST).json()
    assert all(r["list"] == "suppliers" and "5203" in (r["buyer_region_code"][:4], r["supplier_region_code"][:4])
               for r in region["items"])
    chain = seen[0]["chains"].split(",")[0]
    chained = client.get(f"/v1/runs/{run['id']}/matches", params={"chain": chain, "limit": 200},
                         headers=ANALYST).json()
    assert chained["total"] > 0 and all(chain in r["chains"].split(",") for r in chained["items"])
    problem(client.get(f"/v1/runs/{run['id']}/matches", params={"format": "xml"}, headers=ANALYST), 422)
    problem(client.get(f"/v1/runs/{run['id']}/matches", params={"cursor": "junk"}, headers=ANALYST), 422)


def test_diff_and_supplier_lists(client: TestClient) -> None:
    first = _run(client)
    problem(client.get(f"/v1/runs/{first['id']}/diff", headers=ANALYST), 422)  # nothing before it
    assert client.put("/v1/enterprises/t-new-cell", json=enterprise(
        name="新电池厂", region_code="510104", offers=[], needs=[{"id": "n1", "product": "磷酸锰铁锂"}]),
        headers=ANALYST).status_code == 201
    second = _run(client)
    diff = client.get(f"/v1/runs/{second['id']}/diff", headers=ANALYST).json()
    assert diff["against"] == first["id"]
    new = [c for c in diff["items"] if c["owner_id"] == "t-new-cell" or c["counterpart_id"] == "t-new-cell"]
    assert new and {c["cause"] for c in new} == {"enterprise_added"} and {c["change"] for c in new} == {"new"}
    assert diff["summary"]["new"]["enterprise_added"] >= len(new)
    built = client.post("/v1/supplier-lists", json={"name": "zunyi-2026H2", "regions": ["5203"]}, headers=ANALYST)
    assert built.status_code == 201, built.text
    assert built.json()["run_id"] == second["id"]
    got = client.get("/v1/supplier-lists/zunyi-2026H2", headers=ANALYST).json()
    assert got["entries"] == len(got["items"]) > 0
    assert all(e["buyers"] >= 1 for e in got["items"])
    xlsx = client.get("/v1/supplier-lists/zunyi-2026H2/export", params={"format": "xlsx"}, headers=ANALYST)
    rows = list(load_workbook(io.BytesIO(xlsx.content), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "排名" and len(rows) == got["entries"] + 1
    problem(client.post("/v1/supplier-lists", json={"name": "zunyi-2026H2", "regions": ["5203"]},
                        headers=ANALYST), 409)
    body = problem(client.post("/v1/supplier-lists", json={"name": "x", "regions": ["遵义"]}, headers=ANALYST), 422)
    assert "regions" in error_fields(body)
    problem(client.post("/v1/supplier-lists", json={"name": "p", "regions": ["5203"]}, headers=PORTAL), 403)
    client.post("/v1/supplier-lists", json={"name": "zunyi-2026H1", "regions": ["5203"], "run_id": first["id"]},
                headers=ANALYST)
    changes = client.get("/v1/supplier-lists/zunyi-2026H2/changes", params={"against": "zunyi-2026H1"},
                         headers=ANALYST)
    assert changes.status_code == 200
    assert all(c["cause"] in {"enterprise_added", "enterprise_removed", "profile_changed", "weights_changed",
                              "allocation"} for c in changes.json()["items"])
