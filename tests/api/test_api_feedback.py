"""Feedback over HTTP (idempotent, durable, validated) and graph suggestions planted around a missing edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.api.api_helpers import ANALYST, PORTAL, error_fields, problem


def _event(event_id: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event_id": event_id,
        "buyer_id": "seed-hc-cell",
        "need_id": "n1",
        "supplier_id": "seed-cs-lmfp",
        "offer_id": "o1",
        "outcome": "contracted",
        "value_cny": 1.2e6,
    }
    body.update(overrides)
    return body


def test_feedback_is_idempotent_by_event_id(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    first = client.post("/v1/feedback", json=_event("evt-1"), headers=PORTAL)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and first.json()["event"]["outcome"] == "contracted"
    again = client.post("/v1/feedback", json=_event("evt-1"), headers=PORTAL)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["seq"] == first.json()["seq"]
    body = problem(client.post("/v1/feedback", json=_event("evt-1", outcome="rejected"), headers=PORTAL), 409)
    assert "evt-1" in body["detail"]
    client.post("/v1/feedback", json=_event("evt-2", outcome="met", value_cny=None), headers=PORTAL)
    listed = client.get("/v1/feedback", headers=ANALYST).json()["items"]
    assert [(r["event"]["event_id"], r["event"]["outcome"]) for r in listed] == [
        ("evt-1", "contracted"),
        ("evt-2", "met"),
    ]
    client.__exit__(None, None, None)
    # stored, never lost: another process on the same store sees both, and a replay is still a replay
    other = make_client()
    assert len(other.get("/v1/feedback", headers=ANALYST).json()["items"]) == 2
    assert (
        other.post("/v1/feedback", json=_event("evt-2", outcome="met", value_cny=None), headers=PORTAL).status_code
        == 200
    )


def test_bad_feedback_is_422_naming_the_field(client: TestClient) -> None:
    for field, bad in (("outcome", "liked"), ("value_cny", -5), ("buyer_id", "bad id"), ("event_id", "")):
        bad_body = {**_event("e-bad"), field: bad}
        body = problem(client.post("/v1/feedback", json=bad_body, headers=PORTAL), 422)
        assert field in error_fields(body), body
    body = problem(client.post("/v1/feedback", json={"event_id": "x", "outcome": "met"}, headers=PORTAL), 422)
    assert {"buyer_id", "supplier_id"} <= error_fields(body)
    assert client.get("/v1/feedback", headers=ANALYST).json()["items"] == []


def test_feedback_paging(client: TestClient) -> None:
    for i in range(5):
        client.post("/v1/feedback", json=_event(f"p{i}", outcome="shown"), headers=PORTAL)
    page = client.get("/v1/feedback", params={"limit": 3}, headers=ANALYST).json()
    rest = client.get("/v1/feedback", params={"limit": 3, "cursor": page["next_cursor"]}, headers=ANALYST).json()
    ids = [r["event"]["event_id"] for r in page["items"] + rest["items"]]
    assert ids == [f"p{i}" for i in range(5)] and rest["next_cursor"] is None


def test_fit_refuses_too_little_feedback(client: TestClient) -> None:
    client.post("/v1/feedback", json=_event("only-one"), headers=PORTAL)
    body = problem(client.post("/v1/weight-profiles/default/fit", json={"eval_set": None}, headers=ANALYST), 422)
    assert "feedback" in error_fields(body) and "too little feedback" in body["detail"]
    problem(client.post("/v1/weight-profiles/nothing/fit", json={}, headers=ANALYST), 404)


def _maker(client: TestClient, eid: str, region: str, product: str) -> None:
    body = {"name": f"测试{eid}", "region_code": region, "offers": [{"id": "o1", "product": product}], "needs": []}
    assert client.put(f"/v1/enterprises/{eid}", json=body, headers=PORTAL).status_code in (200, 201)


def test_graph_suggestion_planted_around_a_missing_edge(client: TestClient) -> None:
    # three filament makers (锦纶66长丝) repeatedly contract with manganese sulfate (硫酸锰) makers; the graph
    # links 硫酸锰 to LMFP only, so the outcomes argue for 硫酸锰 —原料→ 锦纶66长丝
    for eid, region in (("t-fil-a", "500102"), ("t-fil-b", "500115"), ("t-fil-c", "510104")):
        _maker(client, eid, region, "锦纶66长丝")
    _maker(client, "t-mn-2", "520322", "硫酸锰")
    planted = [
        _event("m1", buyer_id="t-fil-a", need_id=None, supplier_id="seed-zy-mn", offer_id="o1"),
        _event("m2", buyer_id="t-fil-b", need_id=None, supplier_id="seed-zy-mn", offer_id=None),
        _event("m3", buyer_id="t-fil-c", need_id=None, supplier_id="t-mn-2", offer_id="o1", outcome="met"),
        _event("m4", buyer_id="t-fil-c", need_id=None, supplier_id="t-mn-2", offer_id="o1"),
    ]
    noise = [
        _event("n1"),  # a contract the graph explains (LMFP for a cell maker's LMFP need)
        _event("n2", buyer_id="t-fil-a", need_id=None, supplier_id="seed-fl-adipic"),  # graph relates (2 hops)
        _event("n3", buyer_id="seed-hc-cell", need_id=None, supplier_id="seed-fl-adipic"),  # one buyer only
        _event("n4", buyer_id="t-fil-b", need_id=None, supplier_id="t-mn-2", outcome="contacted"),  # not a contract
    ]
    for body in planted + noise:
        assert client.post("/v1/feedback", json=body, headers=PORTAL).status_code == 201
    page = client.get("/v1/graph-suggestions", headers=ANALYST).json()
    assert page["feedback_events"] == 8
    assert [(s["kind"], s["source"], s["target"]) for s in page["items"]] == [
        ("missing_input_of", "t_manganese_sulfate", "t_nylon66_filament")
    ]
    found = page["items"][0]
    assert found["buyers"] == 3 and found["seed_file"]
    assert sorted(e["event_id"] for e in found["evidence"]) == ["m1", "m2", "m3", "m4"]
    assert "硫酸锰" in found["summary_zh"] and "锦纶66长丝" in found["summary_zh"]
    # a higher bar hides it; nothing changed the graph
    assert client.get("/v1/graph-suggestions", params={"min_support": 4}, headers=ANALYST).json()["items"] == []
    nodes = client.get("/v1/chains/t_polyamide", headers=PORTAL).json()["edges"]
    assert ["t_manganese_sulfate", "t_nylon66_filament"] not in [[e["source"], e["target"]] for e in nodes]


def test_repeated_rejections_flag_a_relation(client: TestClient) -> None:
    for eid, region in (("t-cell-a", "500102"), ("t-cell-b", "510104")):
        _maker(client, eid, region, "动力电池电芯")
    for i, buyer in enumerate(("t-cell-a", "t-cell-b")):
        body = _event(
            f"r{i}",
            buyer_id=buyer,
            need_id=None,
            supplier_id="seed-zy-mn",
            outcome="rejected",
            value_cny=None,
            reason="不直接采购硫酸锰",
        )
        assert client.post("/v1/feedback", json=body, headers=PORTAL).status_code == 201
    items = client.get("/v1/graph-suggestions", headers=ANALYST).json()["items"]
    assert [(s["kind"], s["source"], s["target"], s["relation"]) for s in items] == [
        ("wrong_relation", "t_manganese_sulfate", "t_battery_cell", "input_2hop")
    ]
    assert items[0]["edges"] == [
        ["t_manganese_sulfate", "t_lmfp", "input_of"],
        ["t_lmfp", "t_battery_cell", "input_of"],
    ]
    assert {e["reason"] for e in items[0]["evidence"]} == {"不直接采购硫酸锰"}


def test_contracts_on_an_unlinked_product_name_propose_a_synonym(client: TestClient) -> None:
    for i, region in enumerate(("500102", "510104")):
        body = {"name": f"测试买家{i}", "region_code": region, "offers": [],
                "needs": [{"id": "n1", "product": "MSM-98晶体"}]}
        assert client.put(f"/v1/enterprises/t-syn-{i}", json=body, headers=PORTAL).status_code == 201
        event = _event(f"s{i}", buyer_id=f"t-syn-{i}", need_id="n1", supplier_id="seed-zy-mn", offer_id="o1")
        assert client.post("/v1/feedback", json=event, headers=PORTAL).status_code == 201
    items = client.get("/v1/graph-suggestions", headers=ANALYST).json()["items"]
    assert [(s["kind"], s["source"], s["target"]) for s in items] == [("synonym", "MSM-98晶体", "t_manganese_sulfate")]
    assert items[0]["buyers"] == 2 and "同义词" in items[0]["summary_zh"]
