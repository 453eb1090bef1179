"""The cost of a write stays flat: repeated PUTs of the same ids leave one live version each, and the engine's
appended write blocks are merged in the background instead of piling up. (The timing itself is measured in
``benchmarks/write_cost.py``, not here.)"""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from matching.engine import COMPACT_AFTER_BLOCKS
from tests.api.api_helpers import PORTAL, enterprise


def test_repeated_puts_keep_one_live_version_and_bounded_blocks(client: TestClient) -> None:
    ids = [f"hot-{n}" for n in range(10)]
    for round_ in range(20):
        for eid in ids:
            offers = [{"id": "o1", "product": "己二酸", "description": f"第{round_}版"}]
            response = client.put(f"/v1/enterprises/{eid}", json=enterprise(offers=offers), headers=PORTAL)
            assert response.status_code in (200, 201), response.text
    service = client.app.state.service  # type: ignore[attr-defined]
    engine = service.engine
    deadline = time.monotonic() + 10
    while engine.index.block_count() > COMPACT_AFTER_BLOCKS + 1:  # the background merge keeps up
        assert time.monotonic() < deadline, f"{engine.index.block_count()} blocks after 200 writes"
        time.sleep(0.05)
    items = client.post("/v1/match", json={"need": {"product": "己二酸"}, "k": 50}, headers=PORTAL).json()["items"]
    hot = [i["supplier"]["id"] for i in items if i["supplier"]["id"].startswith("hot-")]
    assert sorted(hot) == ids  # each firm once: 190 superseded versions of each are dead, not matched
    ready = client.get("/readyz").json()
    assert ready["store_seq"] == 4 + 200 and ready["lag"] <= 200
    for eid in ids:
        assert client.get(f"/v1/enterprises/{eid}", headers=PORTAL).json()["enterprise"]["offers"][0][
            "description"] == "第19版"  # fmt: skip
