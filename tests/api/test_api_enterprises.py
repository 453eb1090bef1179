"""Enterprise CRUD and listing, including bad input that must change nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.api_helpers import ADMIN, PORTAL, enterprise, error_fields, problem


def _count(client: TestClient) -> int:
    return len(client.get("/v1/enterprises", params={"limit": 200}, headers=PORTAL).json()["items"])


def test_put_creates_then_replaces_and_get_returns_it(client: TestClient) -> None:
    created = client.put("/v1/enterprises/t-ent", json=enterprise(), headers=PORTAL)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/enterprises/t-ent"
    record = created.json()
    assert record["enterprise"]["id"] == "t-ent"
    assert record["enterprise"]["offers"][0]["capacity"] == {"value": 2.0, "unit": "万吨/年"}
    assert record["warnings"] == []

    replaced = client.put(
        "/v1/enterprises/t-ent", json=enterprise(name="改名企业", offers=[]), headers=PORTAL
    )
    assert replaced.status_code == 200
    assert replaced.json()["revision"] > record["revision"]

    fetched = client.get("/v1/enterprises/t-ent", headers=PORTAL)
    assert fetched.status_code == 200
    assert fetched.json()["enterprise"]["name"] == "改名企业"
    assert fetched.json()["enterprise"]["offers"] == []


def test_put_is_idempotent(client: TestClient) -> None:
    first = client.put("/v1/enterprises/t-ent", json=enterprise(), headers=PORTAL).json()
    second = client.put("/v1/enterprises/t-ent", json=enterprise(), headers=PORTAL)
    assert second.status_code == 200
    assert second.json()["revision"] == first["revision"]  # nothing rewritten
    assert second.json()["enterprise"] == first["enterprise"]


def test_put_fills_id_from_path_and_accepts_matching_body_id(client: TestClient) -> None:
    body = enterprise()
    body["id"] = "t-same"
    assert client.put("/v1/enterprises/t-same", json=body, headers=PORTAL).status_code == 201


def test_put_body_id_must_equal_path_id(client: TestClient) -> None:
    body = enterprise()
    body["id"] = "other"
    p = problem(client.put("/v1/enterprises/t-ent", json=body, headers=PORTAL), 422)
    assert error_fields(p) == {"id"}
    problem(client.get("/v1/enterprises/t-ent", headers=PORTAL), 404)
    problem(client.get("/v1/enterprises/other", headers=PORTAL), 404)


def test_address_is_resolved_to_region(client: TestClient) -> None:
    body = enterprise()
    del body["region_code"]
    body["address"] = "贵州省遵义市汇川区高新大道1号"
    response = client.put("/v1/enterprises/t-addr", json=body, headers=PORTAL)
    assert response.status_code == 201, response.text
    assert response.json()["enterprise"]["region_code"] == "520303"


def test_unresolvable_address_is_422_on_address(client: TestClient) -> None:
    body = enterprise()
    del body["region_code"]
    body["address"] = "某地某路"
    p = problem(client.put("/v1/enterprises/t-addr", json=body, headers=PORTAL), 422)
    assert error_fields(p) == {"address"}
    problem(client.get("/v1/enterprises/t-addr", headers=PORTAL), 404)


def test_unknown_region_code_is_422_and_changes_nothing(client: TestClient) -> None:
    client.put("/v1/enterprises/t-ent", json=enterprise(), headers=PORTAL)
    before = client.get("/v1/enterprises/t-ent", headers=PORTAL).json()
    p = problem(
        client.put("/v1/enterprises/t-ent", json=enterprise(region_code="999999"), headers=PORTAL), 422
    )
    assert error_fields(p) == {"region_code"}
    assert "999999" in p["errors"][0]["msg"]
    assert client.get("/v1/enterprises/t-ent", headers=PORTAL).json() == before


def test_malformed_json(client: TestClient) -> None:
    before = _count(client)
    response = client.put(
        "/v1/enterprises/t-ent",
        content=b'{"name": "x", ',
        headers={**PORTAL, "content-type": "application/json"},
    )
    p = problem(response, 422)
    assert p["errors"] and p["errors"][0]["type"] == "json_invalid"
    assert p["errors"][0]["field"] == "body"
    assert p["errors"][0]["msg"].startswith("malformed JSON at character 14")
    assert _count(client) == before


def test_wrong_types(client: TestClient) -> None:
    body = enterprise(name=123, tags="规上", offers=[{"id": "o1", "product": ["x"]}])
    p = problem(client.put("/v1/enterprises/t-ent", json=body, headers=PORTAL), 422)
    assert {"name", "tags", "offers.0.product"} <= error_fields(p)
    assert all(e["loc"][0] == "body" for e in p["errors"])
    problem(client.get("/v1/enterprises/t-ent", headers=PORTAL), 404)


def test_duplicate_offer_ids(client: TestClient) -> None:
    offers = [{"id": "o1", "product": "硫酸锰"}, {"id": "o1", "product": "己二酸"}]
    p = problem(client.put("/v1/enterprises/t-ent", json=enterprise(offers=offers), headers=PORTAL), 422)
    assert error_fields(p) == {"offers"}
    assert "duplicate offer id 'o1'" in p["errors"][0]["msg"]
    problem(client.get("/v1/enterprises/t-ent", headers=PORTAL), 404)


def test_negative_and_non_numeric_capacity(client: TestClient) -> None:
    for value in (-1, "lots", "1e999"):
        offers = [{"id": "o1", "product": "硫酸锰", "capacity": {"value": value, "unit": "吨/年"}}]
        response = client.put("/v1/enterprises/t-ent", json=enterprise(offers=offers), headers=PORTAL)
        p = problem(response, 422)
        assert error_fields(p) == {"offers.0.capacity.value"}, (value, p)
    problem(client.get("/v1/enterprises/t-ent", headers=PORTAL), 404)


def test_unknown_unit_is_kept_and_warned(client: TestClient) -> None:
    offers = [{"id": "o1", "product": "硫酸锰", "capacity": {"value": 3, "unit": "桶/年"}}]
    response = client.put("/v1/enterprises/t-ent", json=enterprise(offers=offers), headers=PORTAL)
    assert response.status_code == 201
    record = response.json()
    assert record["enterprise"]["offers"][0]["capacity"] == {"value": 3.0, "unit": "桶/年"}
    assert len(record["warnings"]) == 1 and "桶/年" in record["warnings"][0]
    again = client.get("/v1/enterprises/t-ent", headers=PORTAL).json()
    assert again["warnings"] == record["warnings"]


def test_unknown_capacity_stays_null(client: TestClient) -> None:
    offers = [{"id": "o1", "product": "硫酸锰", "capacity": {"value": None, "unit": "万吨/年"}}]
    response = client.put("/v1/enterprises/t-ent", json=enterprise(offers=offers), headers=PORTAL)
    assert response.json()["enterprise"]["offers"][0]["capacity"] == {"value": None, "unit": "万吨/年"}


def test_invalid_credit_code(client: TestClient) -> None:
    p = problem(
        client.put(
            "/v1/enterprises/t-ent", json=enterprise(credit_code="91500000ABCDEFGHIJ"), headers=PORTAL
        ),
        422,
    )
    assert error_fields(p) == {"credit_code"}


def test_illegal_id_characters(client: TestClient) -> None:
    for bad in ("bad$id", "bad%20id", "x" * 65):
        p = problem(client.put(f"/v1/enterprises/{bad}", json=enterprise(), headers=PORTAL), 422)
        assert p["errors"][0]["loc"][:2] == ["path", "enterprise_id"], p
    assert _count(client) == 4  # the seeds only


def test_oversized_body_is_413(client: TestClient) -> None:
    body = enterprise(offers=[{"id": "o1", "product": "硫酸锰", "description": "字" * 400_000}])
    p = problem(client.put("/v1/enterprises/t-ent", json=body, headers=PORTAL), 413)
    assert "exceeds" in p["detail"]
    problem(client.get("/v1/enterprises/t-ent", headers=PORTAL), 404)


def test_delete(client: TestClient) -> None:
    client.put("/v1/enterprises/t-ent", json=enterprise(), headers=PORTAL)
    assert client.delete("/v1/enterprises/t-ent", headers=ADMIN).status_code == 204
    problem(client.get("/v1/enterprises/t-ent", headers=PORTAL), 404)
    p = problem(client.delete("/v1/enterprises/t-ent", headers=ADMIN), 404)
    assert "t-ent" in p["detail"]


def test_get_unknown_is_404_problem(client: TestClient) -> None:
    p = problem(client.get("/v1/enterprises/nobody", headers=PORTAL), 404)
    assert p["type"].endswith("not-found")
    assert p["instance"] == "/v1/enterprises/nobody"


def _ids(page: dict[str, Any]) -> list[str]:
    return [r["enterprise"]["id"] for r in page["items"]]


def test_list_filters(client: TestClient) -> None:
    client.put("/v1/enterprises/t-a", json=enterprise(name="甲锰业", region_code="500102"), headers=PORTAL)
    by_region = client.get("/v1/enterprises", params={"region_code": "500102"}, headers=PORTAL).json()
    assert _ids(by_region) == ["seed-fl-adipic", "t-a"]
    by_q = client.get("/v1/enterprises", params={"q": "锰业"}, headers=PORTAL).json()
    assert _ids(by_q) == ["seed-zy-mn", "t-a"]
    by_product = client.get("/v1/enterprises", params={"q": "己二酸"}, headers=PORTAL).json()
    assert _ids(by_product) == ["seed-fl-adipic"]
    by_chain = client.get("/v1/enterprises", params={"chain": "t_lmfp"}, headers=PORTAL).json()
    assert _ids(by_chain) == ["seed-cs-lmfp", "seed-hc-cell", "seed-zy-mn", "t-a"]
    polyamide = client.get("/v1/enterprises", params={"chain": "t_polyamide"}, headers=PORTAL).json()
    assert _ids(polyamide) == ["seed-fl-adipic"]
    wildcard = client.get("/v1/enterprises", params={"q": "%"}, headers=PORTAL).json()
    assert _ids(wildcard) == []


def test_list_unknown_chain_is_404(client: TestClient) -> None:
    problem(client.get("/v1/enterprises", params={"chain": "no_such_chain"}, headers=PORTAL), 404)


def test_list_pagination(client: TestClient) -> None:
    for i in range(5):
        client.put(f"/v1/enterprises/t-{i}", json=enterprise(), headers=PORTAL)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/enterprises", params=params, headers=PORTAL).json()
        seen += _ids(page)
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 9


def test_list_limits(client: TestClient) -> None:
    p = problem(client.get("/v1/enterprises", params={"limit": 201}, headers=PORTAL), 422)
    assert error_fields(p) == {"limit"}
    p = problem(client.get("/v1/enterprises", params={"cursor": "!!not-a-cursor"}, headers=PORTAL), 422)
    assert error_fields(p) == {"cursor"}
