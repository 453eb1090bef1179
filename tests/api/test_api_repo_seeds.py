"""The service on the repository's own seeds: every seed enterprise loads, every chain is served."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from matching.chains import load_graph
from matching.seed_enterprises import load_seed_enterprises
from matching.settings import Settings
from tests.api.api_helpers import API_KEYS, PORTAL, wait_ready


def test_repository_seeds_are_served(tmp_path: Path) -> None:
    """SQLite only: this checks the seed data, not the backend."""
    settings = Settings(data_dir=tmp_path, api_keys=API_KEYS, log_level="WARNING")
    with TestClient(create_app(settings)) as client:
        _check(client)


def _check(client: TestClient) -> None:
    seeds = load_seed_enterprises()
    ready = wait_ready(client)
    assert ready["enterprises"] == len(seeds) > 0  # no seed enterprise was rejected (e.g. unknown region)
    listed: list[str] = []
    cursor = None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/enterprises", params=params, headers=PORTAL).json()
        listed += [r["enterprise"]["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(listed) == sorted(e.id for e in seeds)

    graph = load_graph()
    chains = client.get("/v1/chains", params={"limit": 200}, headers=PORTAL).json()["items"]
    assert [c["id"] for c in chains] == sorted(graph.chains)
    for chain in chains:
        detail = client.get(f"/v1/chains/{chain['id']}", headers=PORTAL).json()
        assert detail["nodes"], chain["id"]

    with_needs = next(e for e in seeds if e.needs)
    response = client.get(f"/v1/enterprises/{with_needs.id}/suppliers", headers=PORTAL)
    assert response.status_code == 200 and response.json()["weights"]["name"] == "default"
