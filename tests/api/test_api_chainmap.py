"""``/v1/chains/{id}/map``, ``/v1/gaps``, ``/v1/recruitment-targets``, ``/v1/warnings``, ``/v1/targets`` over HTTP.

The store holds the hand-built set of ``tests/chainmap/conftest.py`` (PUT through the API) on the real graph.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from tests.api.api_helpers import ADMIN, PORTAL, error_fields, problem
from tests.api.conftest import REPO_SEEDS
from tests.chainmap.conftest import PROFILES


@pytest.fixture
def loaded(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(seeds_dir=REPO_SEEDS, seed_on_empty=False)
    for p in PROFILES:
        body = p.model_dump(exclude_none=True, exclude={"id"})
        assert client.put(f"/v1/enterprises/{p.id}", json=body, headers=ADMIN).status_code == 201
    return client


def _json(client: TestClient, url: str) -> dict[str, Any]:
    r = client.get(url, headers=PORTAL)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_chainmap_endpoints_json(loaded: TestClient) -> None:
    gaps = _json(loaded, "/v1/gaps?region_code=500102")
    # in 涪陵 硫酸锰 and PTMEG each have one posted need; 硫酸锰's 20,000 t/a outranks PTMEG's 5,000 t/a
    assert [g["node_id"] for g in gaps["items"][:2]] == ["manganese_sulfate", "ptmeg"]
    assert gaps["items"][1]["gap"] == "short"
    assert {g["node_id"] for g in gaps["items"]} >= {"manganese_sulfate", "dmac"}
    mn = next(g for g in gaps["items"] if g["node_id"] == "manganese_sulfate")
    assert [s["enterprise_id"] for s in mn["suppliers_outside"]] == ["zy-mn", "hn-mn"]
    strict = _json(loaded, "/v1/gaps?region_code=500102&coverage_share=0.2&limit=200")
    assert "ptmeg" not in {g["node_id"] for g in strict["items"]} and strict["params"]["coverage_share"] == 0.2
    paged = _json(loaded, "/v1/gaps?limit=2")
    assert len(paged["items"]) == 2 and paged["next_cursor"]
    rest = _json(loaded, f"/v1/gaps?limit=200&cursor={paged['next_cursor']}")
    assert rest["items"][0]["node_id"] == _json(loaded, "/v1/gaps?limit=3")["items"][2]["node_id"]

    targets = _json(loaded, "/v1/recruitment-targets?region_code=500102")
    assert [t["enterprise_id"] for t in targets["items"]] == ["zy-mn", "hn-mn", "js-ptmeg", "zy-dmac"]
    high = _json(loaded, "/v1/warnings?severity=high")
    assert {(w["kind"], w["node_id"]) for w in high["items"]} == {("single_supplier", "low_alpha_tin"),
                                                                  ("import_dependent", "paraxylene")}
    plan = _json(loaded, "/v1/targets?region_code=520300")
    by_id = {t["id"]: t for t in plan["items"]}
    assert by_id["zy-huichuan-2027-suppliers"]["measured"] == 2 and by_id["zy-2027-output"]["measurable"] is False

    chain = next(c["id"] for c in _json(loaded, "/v1/chains?limit=200")["items"]
                 if "ptmeg" in {n["id"] for n in _json(loaded, f"/v1/chains/{c['id']}")["nodes"]})
    node = next(n for n in _json(loaded, f"/v1/chains/{chain}/map")["items"] if n["node_id"] == "ptmeg")
    assert node["supplies"]["in_circle"] == 1 and node["supplies"]["outside_circle"] == 1
    assert {g["node_id"] for g in _json(loaded, f"/v1/chains/{chain}/gaps")["items"]} >= {"ptmeg"}


def test_chainmap_csv_and_xlsx(loaded: TestClient) -> None:
    from openpyxl import load_workbook

    r = loaded.get("/v1/warnings?format=csv", headers=PORTAL)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = pl.read_csv(io.BytesIO(r.content))
    assert table.height == 7 and set(table["severity"]) == {"high", "medium", "low"}
    r = loaded.get("/v1/targets", headers={**PORTAL, "Accept": "text/csv"})
    assert r.status_code == 200 and pl.read_csv(io.BytesIO(r.content)).height == 99
    r = loaded.get("/v1/gaps?format=xlsx", headers=PORTAL)
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet.cell(2, 2).value == "ptmeg"


def test_chainmap_bad_input_is_a_problem(loaded: TestClient) -> None:
    body = problem(loaded.get("/v1/gaps?region_code=999999&chain=nope", headers=PORTAL), 422)
    assert error_fields(body) == {"region_code", "chain"}
    assert "severity" in error_fields(problem(loaded.get("/v1/warnings?severity=dire", headers=PORTAL), 422))
    assert "format" in error_fields(problem(loaded.get("/v1/targets?format=pdf", headers=PORTAL), 422))
    assert "coverage_share" in error_fields(problem(loaded.get("/v1/gaps?coverage_share=2", headers=PORTAL), 422))
    problem(loaded.get("/v1/chains/no_such_chain/map", headers=PORTAL), 404)
    problem(loaded.get("/v1/gaps"), 401)


def test_a_write_reaches_the_gaps(loaded: TestClient) -> None:
    assert "manganese_sulfate" in {g["node_id"] for g in _json(loaded, "/v1/gaps?limit=200")["items"]}
    body = {"name": "涪陵锰盐", "region_code": "500102",
            "offers": [{"id": "o1", "product": "硫酸锰", "capacity": {"value": 3, "unit": "万吨/年"}}], "needs": []}
    assert loaded.put("/v1/enterprises/fl-mn", json=body, headers=ADMIN).status_code == 201
    assert "manganese_sulfate" not in {g["node_id"] for g in _json(loaded, "/v1/gaps?limit=200")["items"]}
