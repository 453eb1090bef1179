"""The README's curl walkthrough runs as written: every command is replayed against an app on the repository's
seeds, and each documented response's key fields are checked (issue 9, item 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from matching.settings import Settings
from tests.api.api_helpers import wait_ready
from tests.api.readme_walkthrough import REPO, contains, readme_block, walkthrough_calls

KEY = "readme-walkthrough-admin-key"
WALKTHROUGH = "### Walkthrough (curl)"


def test_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    calls = walkthrough_calls(WALKTHROUGH, {"KEY": KEY})
    assert len(calls) >= 15
    assert sum(c.expected is not None or c.expected_status is not None for c in calls) >= 12
    settings = Settings(data_dir=tmp_path, api_keys=f"{KEY}:admin", log_level="WARNING")
    responses: dict[str, Any] = {}
    with TestClient(create_app(settings)) as client:
        wait_ready(client)  # the index builds in the background; the walkthrough starts once it is ready
        for call in calls:
            files = {name: (path.name, path.read_bytes()) for name, path in call.files.items()}
            response = client.request(
                call.method,
                call.path,
                params=call.params,
                headers=call.headers,
                content=call.body.encode("utf-8") if call.body is not None else None,
                files=files or None,
            )
            where = f"README line {call.line}: {call.method} {call.path}"
            if call.expected_status is not None:
                assert response.status_code == call.expected_status, f"{where}: {response.text[:500]}"
            else:
                assert response.status_code == 200, f"{where}: {response.text[:500]}"
            if call.expected is not None:
                differences = contains(response.json(), call.expected)
                assert not differences, f"{where}: " + "; ".join(differences)
            if call.path == "/v1/imports":
                responses["import"] = response.json()
    # the Bulk import section shows the example file and exactly the report importing it gives
    _, csv_block = readme_block("### Bulk import", "csv")
    assert csv_block == (REPO / "examples" / "enterprises.csv").read_text(encoding="utf-8")
    _, report_block = readme_block("The response reports every row", "json")
    assert responses["import"] == json.loads(report_block)


def test_walkthrough_parser_reads_the_tricky_commands() -> None:
    calls = {(c.method, c.path): c for c in walkthrough_calls(WALKTHROUGH, {"KEY": KEY})}
    regions = calls[("GET", "/v1/regions")]
    assert ("province", "贵州省") in regions.params  # -G --data-urlencode, not a raw non-ASCII URL
    put = calls[("PUT", "/v1/enterprises/zy-example-mn")]
    assert put.headers["X-API-Key"] == KEY and json.loads(put.body or "")["needs"] == []
    assert calls[("POST", "/v1/imports")].files["file"].is_file()
    assert calls[("DELETE", "/v1/enterprises/zy-example-mn")].expected_status == 204
