"""ETags, If-Match, JSON Merge Patch and admin-only citations: no lost updates, no silent wipes (item 10)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.merge_patch import apply_merge_patch
from tests.api.api_helpers import ADMIN, PORTAL, enterprise, error_fields, problem

SEED = "/v1/enterprises/seed-zy-mn"
MERGE = {"Content-Type": "application/merge-patch+json"}


def _get(client: TestClient, path: str = SEED) -> tuple[str, dict[str, Any]]:
    response = client.get(path, headers=PORTAL)
    assert response.status_code == 200, response.text
    body = response.json()
    assert response.headers["etag"] == f'"{body["revision"]}"'
    return response.headers["etag"], body


def _patch(client: TestClient, patch: Any, headers: dict[str, str] = PORTAL, path: str = SEED, **extra: str) -> Any:
    return client.patch(path, json=patch, headers={**headers, **MERGE, **extra})


def test_if_match_prevents_lost_updates(client: TestClient) -> None:
    first = client.put("/v1/enterprises/lu", json=enterprise(name="初版"), headers=PORTAL)
    assert first.status_code == 201
    tag = first.headers["etag"]
    # two editors read the same revision; the first write wins, the second gets 412 and changes nothing
    a = client.put("/v1/enterprises/lu", json=enterprise(name="甲改"), headers={**PORTAL, "If-Match": tag})
    assert a.status_code == 200 and a.headers["etag"] != tag
    b = client.put("/v1/enterprises/lu", json=enterprise(name="乙改"), headers={**PORTAL, "If-Match": tag})
    p = problem(b, 412)
    assert b.headers["etag"] == a.headers["etag"]
    assert "revision" in p["detail"]
    assert _get(client, "/v1/enterprises/lu")[1]["enterprise"]["name"] == "甲改"
    # a list holding the current tag, and *, both match; an unchanged PUT keeps the ETag
    same = client.put("/v1/enterprises/lu", json=enterprise(name="甲改"),
                      headers={**PORTAL, "If-Match": f'"1", {a.headers["etag"]}'})  # fmt: skip
    assert same.status_code == 200 and same.headers["etag"] == a.headers["etag"]
    assert client.put("/v1/enterprises/lu", json=enterprise(), headers={**PORTAL, "If-Match": "*"}).status_code == 200
    # If-Match on an absent record never creates it; a weak or malformed tag never matches
    problem(client.put("/v1/enterprises/nope", json=enterprise(), headers={**PORTAL, "If-Match": "*"}), 412)
    problem(client.get("/v1/enterprises/nope", headers=PORTAL), 404)
    tag_now = _get(client, "/v1/enterprises/lu")[0]
    problem(client.put("/v1/enterprises/lu", json=enterprise(), headers={**PORTAL, "If-Match": f"W/{tag_now}"}), 412)
    p = problem(client.put("/v1/enterprises/lu", json=enterprise(), headers={**PORTAL, "If-Match": "12"}), 422)
    assert error_fields(p) == {"If-Match"}


def test_put_with_only_name_and_region_never_wipes(client: TestClient) -> None:
    tag, before = _get(client)
    assert before["enterprise"]["offers"] and before["enterprise"]["source"]
    body = {"name": "改名", "region_code": "520303"}
    p = problem(client.put(SEED, json=body, headers=PORTAL), 422)
    assert {"offers", "needs"} <= error_fields(p)
    assert _get(client) == (tag, before)
    # explicit empty lists do clear (a deliberate full replace); the citation is kept for a portal key
    cleared = client.put(SEED, json={**body, "offers": [], "needs": []}, headers=PORTAL)
    assert cleared.status_code == 200, cleared.text
    after = cleared.json()["enterprise"]
    assert after["offers"] == [] and after["source"] == before["enterprise"]["source"]


def test_merge_patch_changes_only_what_it_names(client: TestClient) -> None:
    assert _patch(client, {"park": "某园区"}).json()["enterprise"]["park"] == "某园区"
    tag, before = _get(client)
    response = _patch(client, {"name": "新名称", "park": None, "tags": ["甲", "乙"]}, **{"If-Match": tag})
    assert response.status_code == 200, response.text
    after = response.json()["enterprise"]
    assert after["name"] == "新名称" and after["tags"] == ["甲", "乙"] and after["park"] is None
    for kept in ("offers", "needs", "source", "region_code", "certifications"):
        assert after.get(kept) == before["enterprise"].get(kept), kept
    assert response.headers["etag"] != tag
    problem(_patch(client, {"name": "再改"}, **{"If-Match": tag}), 412)  # stale tag
    p = problem(_patch(client, {"name": "   "}), 422)
    assert error_fields(p) == {"name"}
    p = problem(_patch(client, {"region_code": None}), 422)  # removes the only location
    assert "region_code" in p["detail"] or "address" in str(p)
    p = problem(_patch(client, {"offers": [{"id": "o1"}]}), 422)
    assert error_fields(p) == {"offers.0.product"}
    problem(_patch(client, {"name": "x"}, path="/v1/enterprises/absent"), 404)
    problem(_patch(client, {"name": "x"}, path="/v1/enterprises/absent", **{"If-Match": "*"}), 412)
    wrong_type = client.patch(SEED, content=b'{"name": "x"}', headers={**PORTAL, "Content-Type": "text/plain"})
    problem(wrong_type, 415)
    assert _get(client)[1]["enterprise"]["name"] == "新名称"


def test_only_admin_sets_or_changes_citations(client: TestClient) -> None:
    new_source = {"doc": "public", "section": "行业常识"}
    for response in (
        client.put("/v1/enterprises/cite", json=enterprise(source=new_source), headers=PORTAL),
        _patch(client, {"source": {"section": "改"}}),
        _patch(client, {"source": None}),
        client.put(SEED, json={**enterprise(), "source": None}, headers=PORTAL),
    ):
        p = problem(response, 403)
        assert error_fields(p) == {"source"}
    problem(client.get("/v1/enterprises/cite", headers=PORTAL), 404)
    assert client.put("/v1/enterprises/cite", json=enterprise(), headers=PORTAL).status_code == 201
    same = _get(client)[1]["enterprise"]["source"]
    assert _patch(client, {"source": same, "name": "同源"}).status_code == 200  # resending it unchanged is fine
    admin = _patch(client, {"source": {"section": "第三节"}}, headers=ADMIN)
    assert admin.status_code == 200, admin.text
    assert admin.json()["enterprise"]["source"] == {"doc": "public", "section": "第三节"}
    assert client.put("/v1/enterprises/cite", json=enterprise(source=new_source), headers=ADMIN).status_code == 200


def test_merge_patch_follows_rfc_7396_examples() -> None:
    # RFC 7396 appendix A (a selection)
    assert apply_merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert apply_merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert apply_merge_patch({"a": "b", "b": "c"}, {"a": None}) == {"b": "c"}
    assert apply_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert apply_merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert apply_merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert apply_merge_patch(["a", "b"], {"a": "b"}) == {"a": "b"}
    assert apply_merge_patch({"a": "foo"}, "bar") == "bar"
