"""National regions through the API: out-of-circle profiles, aliases, refusals, the circle filter, /v1/regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matching.regions import RegionRegistry
from matching.scoring import cross_region_component, distance_component
from tests.api.api_helpers import PORTAL, enterprise, error_fields, problem

HUNAN_LMFP = enterprise(name="测试长沙正极材料有限公司", region_code="430104",  # 长沙市岳麓区
                        offers=[{"id": "o1", "product": "磷酸锰铁锂"}])


@pytest.fixture
def regions(seeds_dir: Path) -> RegionRegistry:
    """The registry the app under test uses (same seeds dir)."""
    return RegionRegistry.load(seeds_dir)


def _items_by_supplier(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["supplier"]["id"]: i for i in body["items"]}


def test_out_of_circle_profile_is_accepted_and_listed(client: TestClient) -> None:
    put = client.put("/v1/enterprises/t-hn-lmfp", json=HUNAN_LMFP, headers=PORTAL)
    assert put.status_code == 201, put.text
    assert put.json()["enterprise"]["region_code"] == "430104"
    assert (put.json()["province"], put.json()["in_circle"]) == ("湖南省", False)

    got = client.get("/v1/enterprises/t-hn-lmfp", headers=PORTAL).json()
    assert (got["province"], got["in_circle"]) == ("湖南省", False)

    listed = client.get("/v1/enterprises", params={"limit": 200}, headers=PORTAL).json()["items"]
    views = {r["enterprise"]["id"]: (r["province"], r["in_circle"]) for r in listed}
    assert views["t-hn-lmfp"] == ("湖南省", False)
    assert views["seed-hc-cell"] == ("重庆市", True)  # 合川区 is in the circle
    assert views["seed-zy-mn"] == ("贵州省", False)  # 汇川区 is not
    by_region = client.get("/v1/enterprises", params={"region_code": "430104"}, headers=PORTAL).json()
    assert [(r["enterprise"]["id"], r["in_circle"]) for r in by_region["items"]] == [("t-hn-lmfp", False)]


def test_out_of_circle_supplier_is_matched_with_distance(client: TestClient, regions: RegionRegistry) -> None:
    client.put("/v1/enterprises/t-hn-lmfp", json=HUNAN_LMFP, headers=PORTAL)
    body = client.get(
        "/v1/enterprises/seed-hc-cell/suppliers", params={"need_id": "n1"}, headers=PORTAL
    ).json()
    items = _items_by_supplier(body)
    assert {"t-hn-lmfp", "seed-cs-lmfp"} <= set(items)
    hunan = items["t-hn-lmfp"]
    km = regions.distance_km("430104", "500117")  # 岳麓区 → 合川区
    assert km is not None and hunan["explanation"]["distance_km"] == pytest.approx(km, abs=0.1)
    assert hunan["components"]["distance"] == pytest.approx(distance_component(km), abs=1e-4)
    assert hunan["components"]["cross_region"] == cross_region_component("430104", "500117")
    # The nearer in-circle supplier of the same product scores higher on distance, not on eligibility.
    assert items["seed-cs-lmfp"]["components"]["distance"] > hunan["components"]["distance"] > 0
    assert "in_circle_only" not in hunan["explanation"]["filters_applied"]

    adhoc = client.post(
        "/v1/match", json={"need": {"product": "磷酸锰铁锂"}, "region_code": "500117"}, headers=PORTAL
    ).json()
    adhoc_hunan = _items_by_supplier(adhoc)["t-hn-lmfp"]
    assert adhoc_hunan["explanation"]["distance_km"] == pytest.approx(km, abs=0.1)


def test_in_circle_only_drops_out_of_circle_suppliers_and_buyers(client: TestClient) -> None:
    client.put("/v1/enterprises/t-hn-lmfp", json=HUNAN_LMFP, headers=PORTAL)
    only = client.get(
        "/v1/enterprises/seed-hc-cell/suppliers", params={"need_id": "n1", "in_circle_only": True}, headers=PORTAL
    ).json()
    suppliers = _items_by_supplier(only)
    assert "seed-cs-lmfp" in suppliers and "t-hn-lmfp" not in suppliers
    assert "in_circle_only" in suppliers["seed-cs-lmfp"]["explanation"]["filters_applied"]

    # The buyer side counts too: an out-of-circle buyer of an in-circle supplier is dropped.
    hunan_cell = enterprise(name="测试长沙电池有限公司", region_code="430104", offers=[],
                            needs=[{"id": "n1", "product": "磷酸锰铁锂"}])
    client.put("/v1/enterprises/t-hn-cell", json=hunan_cell, headers=PORTAL)
    params: dict[str, Any] = {"offer_id": "o1", "k": 50}
    buyers = client.get("/v1/enterprises/seed-cs-lmfp/buyers", params=params, headers=PORTAL).json()
    assert {"t-hn-cell", "seed-hc-cell"} <= {i["buyer"]["id"] for i in buyers["items"]}
    params["in_circle_only"] = True
    buyers = client.get("/v1/enterprises/seed-cs-lmfp/buyers", params=params, headers=PORTAL).json()
    assert "seed-hc-cell" in {i["buyer"]["id"] for i in buyers["items"]}
    assert "t-hn-cell" not in {i["buyer"]["id"] for i in buyers["items"]}


def test_in_circle_only_in_adhoc_filters(client: TestClient) -> None:
    client.put("/v1/enterprises/t-hn-lmfp", json=HUNAN_LMFP, headers=PORTAL)
    query: dict[str, Any] = {"need": {"product": "磷酸锰铁锂"}, "region_code": "500117", "k": 50}
    everyone = client.post("/v1/match", json=query, headers=PORTAL).json()
    assert "t-hn-lmfp" in _items_by_supplier(everyone)
    circle = client.post("/v1/match", json={**query, "filters": {"in_circle_only": True}}, headers=PORTAL)
    assert circle.status_code == 200, circle.text
    assert circle.json()["items"] and "t-hn-lmfp" not in _items_by_supplier(circle.json())
    # The asker is a party too: from outside the circle (or from nowhere known) nothing passes.
    outside = client.post("/v1/match", json={**query, "region_code": "430104", "filters": {"in_circle_only": True}},
                          headers=PORTAL).json()
    assert outside["items"] == []
    unknown = {k: v for k, v in query.items() if k != "region_code"}
    assert client.post("/v1/match", json={**unknown, "filters": {"in_circle_only": True}},
                       headers=PORTAL).json()["items"] == []


def test_filters_schema_lists_in_circle_only(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "in_circle_only" in schema["components"]["schemas"]["MatchFilters"]["properties"]
    params = schema["paths"]["/v1/enterprises/{enterprise_id}/suppliers"]["get"]["parameters"]
    assert "in_circle_only" in {p["name"] for p in params}


def test_retired_code_is_accepted_through_its_alias(client: TestClient) -> None:
    put = client.put("/v1/enterprises/t-lp", json=enterprise(region_code="500228"), headers=PORTAL)  # 梁平县
    assert put.status_code == 201, put.text
    assert put.json()["enterprise"]["region_code"] == "500155"  # 梁平区
    assert (put.json()["province"], put.json()["in_circle"]) == ("重庆市", True)
    # the old code also works as the asker's county, and counts as in the circle
    query = {"need": {"product": "硫酸锰"}, "region_code": "500228", "filters": {"in_circle_only": True}}
    result = client.post("/v1/match", json=query, headers=PORTAL)
    assert result.status_code == 200, result.text
    assert all(i["buyer"]["region_code"] == "500155" for i in result.json()["items"])


@pytest.mark.parametrize("code", ["999999", "130421"])  # unknown; 邯郸县, abolished in 2016 with no successor
def test_unknown_or_retired_code_is_422_naming_field_and_code(client: TestClient, code: str) -> None:
    p = problem(client.put("/v1/enterprises/t-x", json=enterprise(region_code=code), headers=PORTAL), 422)
    assert error_fields(p) == {"region_code"} and code in p["errors"][0]["msg"]
    problem(client.get("/v1/enterprises/t-x", headers=PORTAL), 404)
    p = problem(client.post("/v1/match", json={"need": {"product": "硫酸锰"}, "region_code": code},
                            headers=PORTAL), 422)
    assert error_fields(p) == {"region_code"} and code in p["errors"][0]["msg"]


def _all_pages(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = client.get("/v1/regions", params={**params, "limit": 200, "cursor": cursor}, headers=PORTAL).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("paging did not end")


def test_regions_page_over_all_china(client: TestClient, regions: RegionRegistry) -> None:
    items = _all_pages(client)
    codes = [r["code"] for r in items]
    assert codes == sorted(set(codes)) and len(codes) == len(regions) > 2800
    assert {"430104", "441900", "500102", "520303"} <= set(codes)


def test_regions_filter_by_province(client: TestClient, regions: RegionRegistry) -> None:
    hunan = [r.code for r in regions.all() if r.province == "湖南省"]
    for spelling in ("湖南省", "湖南", "43"):
        items = _all_pages(client, province=spelling)
        assert [r["code"] for r in items] == hunan, spelling
    items = _all_pages(client, province="湖南省")
    assert all(r["province"] == "湖南省" and not r["in_circle"] for r in items)
    assert {r["code"]: r["city"] for r in items}["430104"] == "长沙市"
    assert _all_pages(client, province="湖南省", in_circle=True) == []
    p = problem(client.get("/v1/regions", params={"province": "火星省"}, headers=PORTAL), 422)
    assert error_fields(p) == {"province"}


def test_regions_filter_by_circle(client: TestClient, regions: RegionRegistry) -> None:
    outside = _all_pages(client, in_circle=False)
    assert [r["code"] for r in outside] == [r.code for r in regions.all() if not r.in_circle]
    assert {"430104", "520303", "500238"} <= {r["code"] for r in outside}  # 岳麓, 汇川, 巫溪
    inside = _all_pages(client, in_circle=True)
    assert inside and all(r["in_circle"] and r["code"][:2] in ("50", "51") for r in inside)
    assert len(inside) + len(outside) == len(regions)
    detail = client.get("/v1/regions/430104", headers=PORTAL).json()
    assert (detail["name"], detail["province"], detail["city"]) == ("岳麓区", "湖南省", "长沙市")
    assert detail["in_circle"] is False
