"""``chainmatch weights|feedback|graph``: the CLI equivalents, on the same store a server uses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from matching.cli import app
from matching.settings import Settings
from tests.api.api_helpers import PORTAL


def _runner(make_settings: Callable[..., Settings], data_dir: Path, database_url: str | None) -> Callable[..., Any]:
    settings = make_settings()
    env = {"CHAINMATCH_SEEDS_DIR": str(settings.seeds_dir), "CHAINMATCH_LOG_LEVEL": "WARNING"}
    store = ["--data-dir", str(data_dir), *(["--database-url", database_url] if database_url else [])]

    def run(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, [*args, *store], env=env)
        assert result.exit_code == code, (args, result.output)
        return result

    return run


def test_weights_commands(
    make_settings: Callable[..., Settings],
    make_client: Callable[..., TestClient],
    data_dir: Path,
    database_url: str | None,
) -> None:
    client = make_client()  # migrates and seeds the store
    run = _runner(make_settings, data_dir, database_url)
    listed = json.loads(run("weights", "list", "--json").output)
    assert [(p["name"], p["version"]) for p in listed] == [("default", 1)]
    out = run("weights", "publish", "default", "--set", "product=1", "--reason", "只看产品", "--author", "analyst-wang")
    assert "published default@2 by analyst-wang" in out.output
    run("weights", "publish", "default", "--set", "bogus=1", "--reason", "x", code=2)
    run("weights", "publish", "default", "--set", "product", "--reason", "x", code=2)
    history = json.loads(run("weights", "history", "default", "--json").output)
    assert [(h["version"], h["created_by"], h["reason"]) for h in history][1:] == [(2, "analyst-wang", "只看产品")]
    assert json.loads(run("weights", "show", "default", "--version", "1").output)["weights"]["product"] == 0.4
    # the server serves what the CLI published
    served = client.get("/v1/enterprises/seed-zy-mn/buyers", params={"weights": "default@2"}, headers=PORTAL)
    assert served.json()["weights"]["version"] == 2
    report = json.loads(
        run("weights", "preview", "default", "--set", "cross_region=1", "--all", "--eval-set", "none", "--json").output
    )
    assert report["current_version"] == 2 and report["needs"] == report["needs_total"] > 0
    metrics = json.loads(run("weights", "evaluate", "default@1", "--sets", "feedback", "--json").output)
    assert metrics[0]["source"] == "feedback" and metrics[0]["queries"] == 0
    fit = run("weights", "fit", "default", "--eval-set", "none", code=2)
    assert "too little feedback" in fit.output


def test_feedback_and_graph_commands(
    make_settings: Callable[..., Settings],
    make_client: Callable[..., TestClient],
    data_dir: Path,
    database_url: str | None,
    tmp_path: Path,
) -> None:
    client = make_client()
    for eid, region in (("t-fil-a", "500102"), ("t-fil-b", "510104")):
        body = {"name": f"测试{eid}", "region_code": region, "offers": [{"id": "o1", "product": "锦纶66长丝"}],
                "needs": []}
        client.put(f"/v1/enterprises/{eid}", json=body, headers=PORTAL)
    run = _runner(make_settings, data_dir, database_url)
    args = ["--event-id", "c1", "--buyer-id", "t-fil-a", "--supplier-id", "seed-zy-mn", "--outcome", "contracted"]
    assert "recorded c1" in run("feedback", "record", *args).output
    assert "already recorded c1" in run("feedback", "record", *args).output
    run("feedback", "record", *args[:-1], "liked", code=2)
    lines = [
        json.dumps({"event_id": "c2", "buyer_id": "t-fil-b", "supplier_id": "seed-zy-mn", "outcome": "contracted"}),
        "{not json",
        json.dumps({"event_id": "c3", "buyer_id": "t-fil-b", "supplier_id": "seed-zy-mn", "outcome": "nope"}),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = run("feedback", "import", str(path), code=1)
    assert "1 recorded, 0 already recorded, 2 rejected" in result.output
    events = [json.loads(line) for line in run("feedback", "list").output.splitlines()]
    assert [e["event_id"] for e in events] == ["c1", "c2"]
    out = tmp_path / "suggestions.yaml"
    run("graph", "suggestions", "--out", str(out))
    proposals = yaml.safe_load(out.read_text(encoding="utf-8"))["suggestions"]
    assert [(p["kind"], p["edit"]) for p in proposals] == [
        ("missing_input_of", {"node": "t_nylon66_filament", "add": {"inputs": ["t_manganese_sulfate"]}})
    ]
    assert proposals[0]["seed_file"].endswith("t_polyamide.yaml")
    assert {e["event_id"] for e in proposals[0]["evidence"]} == {"c1", "c2"}
