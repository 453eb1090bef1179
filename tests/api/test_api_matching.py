"""Ranked suppliers, buyers and ad-hoc matches through the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.api_helpers import PORTAL, enterprise, error_fields, problem


def _check_shape(body: dict[str, Any]) -> None:
    assert {k: body["weights"][k] for k in ("name", "version")} == {"name": "default", "version": 1}
    assert body["next_cursor"] is None
    assert isinstance(body["warnings"], list)
    ranks = [item["rank"] for item in body["items"]]
    assert ranks == list(range(1, len(ranks) + 1))
    scores = [item["score"] for item in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_suppliers_for_explicit_need(client: TestClient) -> None:
    response = client.get("/v1/enterprises/seed-hc-cell/suppliers", params={"need_id": "n1"}, headers=PORTAL)
    assert response.status_code == 200, response.text
    body = response.json()
    _check_shape(body)
    top = body["items"][0]
    assert top["supplier"]["id"] == "seed-cs-lmfp"
    assert top["buyer"]["id"] == "seed-hc-cell" and top["need_id"] == "n1" and top["inferred"] is False
    assert top["explanation"]["summary_zh"]


def test_suppliers_include_inferred_demand(client: TestClient) -> None:
    body = client.get("/v1/enterprises/seed-cs-lmfp/suppliers", headers=PORTAL).json()
    _check_shape(body)
    inferred = [i for i in body["items"] if i["inferred"]]
    assert inferred, body
    assert inferred[0]["supplier"]["id"] == "seed-zy-mn"
    assert inferred[0]["need_id"] is None


def test_buyers_for_offer(client: TestClient) -> None:
    body = client.get("/v1/enterprises/seed-cs-lmfp/buyers", params={"offer_id": "o1"}, headers=PORTAL).json()
    _check_shape(body)
    assert body["items"][0]["buyer"]["id"] == "seed-hc-cell"
    assert body["items"][0]["offer_id"] == "o1"


def test_k_limits_and_caps(client: TestClient) -> None:
    body = client.get("/v1/enterprises/seed-cs-lmfp/suppliers", params={"k": 1}, headers=PORTAL).json()
    assert len(body["items"]) == 1
    p = problem(client.get("/v1/enterprises/seed-cs-lmfp/suppliers", params={"k": 101}, headers=PORTAL), 422)
    assert error_fields(p) == {"k"}
    problem(client.get("/v1/enterprises/seed-cs-lmfp/buyers", params={"k": 0}, headers=PORTAL), 422)


def test_weights_param(client: TestClient) -> None:
    for spec in ("default", "default:1"):
        response = client.get("/v1/enterprises/seed-cs-lmfp/buyers", params={"weights": spec}, headers=PORTAL)
        assert response.status_code == 200
    p = problem(
        client.get("/v1/enterprises/seed-cs-lmfp/buyers", params={"weights": "tuned:3"}, headers=PORTAL), 404
    )
    assert "tuned:3" in p["detail"]
    problem(
        client.get("/v1/enterprises/seed-cs-lmfp/buyers", params={"weights": "default:2"}, headers=PORTAL),
        404,
    )
    problem(
        client.get("/v1/enterprises/seed-cs-lmfp/buyers", params={"weights": "bad spec"}, headers=PORTAL), 422
    )


def test_unknown_enterprise_or_item_is_404(client: TestClient) -> None:
    problem(client.get("/v1/enterprises/nobody/suppliers", headers=PORTAL), 404)
    problem(client.get("/v1/enterprises/nobody/buyers", headers=PORTAL), 404)
    problem(
        client.get("/v1/enterprises/seed-hc-cell/suppliers", params={"need_id": "zz"}, headers=PORTAL), 404
    )
    problem(client.get("/v1/enterprises/seed-hc-cell/buyers", params={"offer_id": "zz"}, headers=PORTAL), 404)


def test_cross_region_only_filter(client: TestClient) -> None:
    same_county = enterprise(
        name="同区锰业", region_code="500115", offers=[{"id": "o1", "product": "硫酸锰"}]
    )
    client.put("/v1/enterprises/t-local-mn", json=same_county, headers=PORTAL)
    everyone = client.get("/v1/enterprises/seed-cs-lmfp/suppliers", headers=PORTAL).json()
    assert "t-local-mn" in {i["supplier"]["id"] for i in everyone["items"]}
    cross = client.get(
        "/v1/enterprises/seed-cs-lmfp/suppliers", params={"cross_region_only": True}, headers=PORTAL
    ).json()
    assert cross["items"] and "t-local-mn" not in {i["supplier"]["id"] for i in cross["items"]}


def test_write_is_visible_to_matching_at_once(client: TestClient) -> None:
    body = enterprise(name="新己二酸厂", region_code="520303", offers=[{"id": "o9", "product": "己二酸"}])
    client.put("/v1/enterprises/t-new-aa", json=body, headers=PORTAL)
    result = client.post("/v1/match", json={"need": {"product": "己二酸"}}, headers=PORTAL).json()
    assert "t-new-aa" in {i["supplier"]["id"] for i in result["items"]}
    client.delete("/v1/enterprises/t-new-aa", headers={"X-API-Key": "admin-key-for-tests-0003"})
    result = client.post("/v1/match", json={"need": {"product": "己二酸"}}, headers=PORTAL).json()
    assert "t-new-aa" not in {i["supplier"]["id"] for i in result["items"]}


def test_adhoc_need_and_offer(client: TestClient) -> None:
    need = client.post(
        "/v1/match", json={"need": {"product": "硫酸锰"}, "region_code": "500115", "k": 5}, headers=PORTAL
    )
    assert need.status_code == 200, need.text
    body = need.json()
    _check_shape(body)
    assert body["items"][0]["supplier"]["id"] == "seed-zy-mn"
    offer = client.post("/v1/match", json={"offer": {"product": "磷酸锰铁锂"}}, headers=PORTAL).json()
    _check_shape(offer)
    assert offer["items"][0]["buyer"]["id"] == "seed-hc-cell"
    count = len(client.get("/v1/enterprises", headers=PORTAL).json()["items"])
    assert count == 4  # nothing stored


def test_adhoc_unknown_unit_warns(client: TestClient) -> None:
    body = {"need": {"product": "硫酸锰", "volume": {"value": 5, "unit": "桶/年"}}}
    response = client.post("/v1/match", json=body, headers=PORTAL)
    assert response.status_code == 200
    assert any("桶/年" in w for w in response.json()["warnings"])


def test_adhoc_bad_bodies(client: TestClient) -> None:
    both = {"need": {"product": "硫酸锰"}, "offer": {"product": "己二酸"}}
    problem(client.post("/v1/match", json=both, headers=PORTAL), 422)
    problem(client.post("/v1/match", json={}, headers=PORTAL), 422)
    p = problem(client.post("/v1/match", json={"need": {"product": "x"}, "k": 500}, headers=PORTAL), 422)
    assert error_fields(p) == {"k"}
    p = problem(
        client.post("/v1/match", json={"need": {"product": "x"}, "region_code": "999999"}, headers=PORTAL),
        422,
    )
    assert error_fields(p) == {"region_code"}
    p = problem(
        client.post("/v1/match", json={"need": {"product": "x"}, "weights": "nope"}, headers=PORTAL), 404
    )
    p = problem(client.post("/v1/match", json={"need": {"product": ""}, "extra": 1}, headers=PORTAL), 422)
    assert {"need.product", "extra"} <= error_fields(p)
