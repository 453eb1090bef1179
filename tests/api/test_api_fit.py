"""Fit over HTTP end to end: outcomes posted as feedback, a draft fitted, published, and evaluated.

The dev evaluation corpus is loaded through the API; a simulated portal grades each need's shown suppliers
by known true weights, reading the components from the API's own match items.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from matching.evaluation import load_eval_set
from tests.api.api_helpers import ADMIN, ANALYST, PORTAL

TRUE = {"distance": 0.45, "cross_region": 0.30, "product": 0.15, "standing": 0.10}
OUTCOMES = ("contracted", "met", "contacted", "shown", "rejected", "rejected")


def test_fit_publish_and_evaluate_over_http(make_client: Callable[..., TestClient]) -> None:
    client = make_client()  # the small test graph: products link less, text and the other components decide
    data = load_eval_set()
    jsonl = "\n".join(
        json.dumps(e.model_dump(mode="json", exclude_none=True), ensure_ascii=False) for e in data.enterprises
    )
    report = client.post("/v1/imports", files={"file": ("dev.jsonl", jsonl.encode())}, headers=ADMIN).json()
    assert report["accepted"] == len(data.enterprises), report
    posted = 0
    for ent in data.enterprises:
        for need in ent.needs:
            items: list[dict[str, Any]] = client.get(
                f"/v1/enterprises/{ent.id}/suppliers",
                params={"need_id": need.id, "k": len(OUTCOMES)},
                headers=PORTAL,
            ).json()["items"]
            if len(items) < 2:
                continue
            truth = sorted(items, key=lambda it: -sum(w * it["components"][c] for c, w in TRUE.items()))
            for rank, item in enumerate(truth):
                event = {
                    "event_id": f"{ent.id}.{need.id}.{rank}",
                    "buyer_id": ent.id,
                    "need_id": need.id,
                    "supplier_id": item["supplier"]["id"],
                    "offer_id": item["offer_id"],
                    "outcome": OUTCOMES[rank] if rank < 3 or rank < len(truth) - 2 else "rejected",
                }
                assert client.post("/v1/feedback", json=event, headers=PORTAL).status_code == 201
                posted += 1
    assert posted >= 60
    response = client.post("/v1/weight-profiles/default/fit", json={"eval_set": None}, headers=ANALYST)
    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["status"] == "draft" and draft["based_on_version"] == 1
    assert draft["fit"]["cv_after"]["ndcg"] > draft["fit"]["cv_before"]["ndcg"]
    assert draft["eval_before"] is None  # eval_set null: feedback metrics only
    top = sorted(draft["weights"], key=lambda c: -draft["weights"][c])[:2]
    assert top == ["distance", "cross_region"], draft["weights"]
    # nothing was published by fitting; publishing the draft is creating a version with its weights
    assert client.get("/v1/weight-profiles/default", headers=PORTAL).json()["version"] == 1
    published = client.post(
        "/v1/weight-profiles/default/versions",
        json={"weights": draft["weights"], "reason": "fitted from feedback"},
        headers=ANALYST,
    ).json()
    assert published["version"] == 2
    before, after = (
        client.get(
            "/v1/weight-profiles/default/evaluate", params={"version": v, "sets": "feedback"}, headers=ANALYST
        ).json()["items"][0]
        for v in (1, 2)
    )
    assert after["ndcg"] > before["ndcg"] and after["queries"] == before["queries"] > 0
    bad = client.get("/v1/weight-profiles/default/evaluate", params={"sets": "nope"}, headers=ANALYST)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sets"
