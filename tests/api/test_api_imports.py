"""POST /v1/imports: CSV, JSONL and XLSX with good and bad rows; idempotent re-import."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from tests.api.api_helpers import ADMIN, PORTAL, error_fields, problem

HEADER = [
    "enterprise_id", "name", "region_code", "address", "credit_code", "park", "tags", "certifications",
    "kind", "item_id", "product", "description", "quantity_value", "quantity_unit", "required_certifications",
]  # fmt: skip
ROWS: list[list[Any]] = [
    # row 2..4: one good enterprise with an offer, a need, and a bad (negative) offer that is dropped
    ["imp-a", "导入甲公司", "520303", "", "", "汇川经开区", "规上;专精特新", "ISO9001",
     "offer", "o1", "硫酸锰", "电池级", 2, "万吨/年", ""],
    ["imp-a", "", "", "", "", "", "", "", "need", "n1", "硫酸", "", "", "", "ISO9001;IATF16949"],
    ["imp-a", "", "", "", "", "", "", "", "offer", "o2", "碳酸锰", "", -5, "吨/年", ""],
    # row 5: unknown region rejects all of imp-b
    ["imp-b", "导入乙公司", "999999", "", "", "", "", "", "offer", "o1", "己二酸", "", "", "", ""],
    # row 6: non-numeric quantity
    ["imp-c", "导入丙公司", "500102", "", "", "", "", "", "offer", "o1", "己二酸", "", "很多", "吨/年", ""],
    # row 7: illegal id
    ["bad id!", "坏ID", "500102", "", "", "", "", "", "", "", "", "", "", "", ""],
    # row 8: address only, resolved; unknown unit kept with a warning
    ["imp-d", "导入丁公司", "", "重庆市合川区草街街道", "", "", "", "",
     "need", "n1", "磷酸锰铁锂", "", 10, "桶/年", ""],
    # row 9: duplicate offer id within imp-a
    ["imp-a", "", "", "", "", "", "", "", "offer", "o1", "重复", "", "", "", ""],
]  # fmt: skip


def _csv() -> bytes:
    out = io.StringIO()
    out.write(",".join(HEADER) + "\n")
    for row in ROWS:
        out.write(",".join(str(c) for c in row) + "\n")
    return out.getvalue().encode("utf-8")


def _xlsx() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in ROWS:
        ws.append([c if c != "" else None for c in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _upload(client: TestClient, name: str, data: bytes, **params: Any) -> Any:
    return client.post("/v1/imports", files={"file": (name, data)}, params=params, headers=ADMIN)


def _statuses(report: dict[str, Any]) -> dict[int, tuple[str, set[str]]]:
    return {i["row"]: (i["status"], {e["field"] for e in i["errors"]}) for i in report["items"]}


@pytest.mark.parametrize(("name", "make"), [("mixed.csv", _csv), ("mixed.xlsx", _xlsx)])
def test_flat_import_mixed_rows(client: TestClient, name: str, make: Any) -> None:
    response = _upload(client, name, make())
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["format"] == name.rsplit(".", 1)[1]
    assert _statuses(report) == {
        2: ("accepted", set()),
        3: ("accepted", set()),
        4: ("rejected", {"quantity_value"}),
        5: ("rejected", {"region_code"}),
        6: ("rejected", {"quantity_value"}),
        7: ("rejected", {"enterprise_id"}),
        8: ("accepted", set()),
        9: ("rejected", {"item_id"}),
    }
    assert (report["accepted"], report["rejected"], report["rows"]) == (3, 5, 8)
    assert report["enterprises"]["created"] == ["imp-a", "imp-d"]
    assert any("桶/年" in w for w in report["warnings"])

    stored = client.get("/v1/enterprises/imp-a", headers=PORTAL).json()["enterprise"]
    assert stored["tags"] == ["规上", "专精特新"] and stored["park"] == "汇川经开区"
    assert [o["id"] for o in stored["offers"]] == ["o1"]
    assert stored["offers"][0]["capacity"] == {"value": 2.0, "unit": "万吨/年"}
    assert stored["needs"][0]["required_certifications"] == ["ISO9001", "IATF16949"]
    resolved = client.get("/v1/enterprises/imp-d", headers=PORTAL).json()
    assert resolved["enterprise"]["region_code"] == "500117"
    assert resolved["enterprise"]["needs"][0]["volume"] == {"value": 10.0, "unit": "桶/年"}
    for missing in ("imp-b", "imp-c"):
        problem(client.get(f"/v1/enterprises/{missing}", headers=PORTAL), 404)

    # the imported enterprise is matchable at once
    suppliers = client.get("/v1/enterprises/imp-d/suppliers", headers=PORTAL).json()
    assert "seed-cs-lmfp" in {i["supplier"]["id"] for i in suppliers["items"]}

    revision = client.get("/v1/enterprises/imp-a", headers=PORTAL).json()["revision"]
    again = _upload(client, name, make()).json()
    assert _statuses(again) == _statuses(report)
    assert again["enterprises"] == {"created": [], "updated": [], "unchanged": ["imp-a", "imp-d"]}
    assert client.get("/v1/enterprises/imp-a", headers=PORTAL).json()["revision"] == revision


def test_jsonl_import_mixed_lines(client: TestClient) -> None:
    good = {
        "id": "jl-a",
        "name": "JSONL甲",
        "region_code": "500102",
        "offers": [{"id": "o1", "product": "己二酸"}],
    }
    dup_offer = {
        "id": "jl-b", "name": "JSONL乙", "region_code": "500102",
        "offers": [{"id": "o1", "product": "a"}, {"id": "o1", "product": "b"}],
    }  # fmt: skip
    negative = {
        "id": "jl-c", "name": "JSONL丙", "region_code": "500102",
        "offers": [{"id": "o1", "product": "a", "capacity": {"value": -1, "unit": "吨/年"}}],
    }  # fmt: skip
    unknown_region = {"id": "jl-d", "name": "JSONL丁", "region_code": "123456"}
    lines = [json.dumps(good, ensure_ascii=False), "{not json", json.dumps(dup_offer), "",
             json.dumps(negative), json.dumps(unknown_region), json.dumps(good)]  # fmt: skip
    data = "\n".join(lines).encode("utf-8")
    report = _upload(client, "batch.jsonl", data).json()
    assert _statuses(report) == {
        1: ("accepted", set()),
        2: ("rejected", {"line"}),
        3: ("rejected", {"offers"}),
        5: ("rejected", {"offers.0.capacity.value"}),
        6: ("rejected", {"region_code"}),
        7: ("rejected", {"id"}),
    }
    assert client.get("/v1/enterprises/jl-a", headers=PORTAL).status_code == 200
    for missing in ("jl-b", "jl-c", "jl-d"):
        problem(client.get(f"/v1/enterprises/{missing}", headers=PORTAL), 404)
    again = _upload(client, "batch.jsonl", data).json()
    assert again["enterprises"]["unchanged"] == ["jl-a"]


def test_dry_run_stores_nothing(client: TestClient) -> None:
    report = _upload(client, "mixed.csv", _csv(), dry_run=True).json()
    assert report["dry_run"] is True and report["accepted"] == 3
    problem(client.get("/v1/enterprises/imp-a", headers=PORTAL), 404)


def test_unreadable_files(client: TestClient) -> None:
    p = problem(_upload(client, "notes.txt", b"hello"), 422)
    assert error_fields(p) == {"file"}
    p = problem(_upload(client, "bad.xlsx", b"PK not a zip"), 422)
    assert error_fields(p) == {"file"}
    p = problem(_upload(client, "nohead.csv", b"name,region_code\nx,500102\n"), 422)
    assert error_fields(p) == {"enterprise_id"}
    p = problem(client.post("/v1/imports", headers=ADMIN), 422)
    assert error_fields(p) == {"file"}


def test_oversized_upload_is_413(client: TestClient) -> None:
    data = b"enterprise_id,name\n" + b"x,y\n" * (11 * 1024 * 1024 // 4)
    p = problem(_upload(client, "big.csv", data), 413)
    assert "exceeds" in p["detail"]


def test_import_requires_admin(client: TestClient) -> None:
    response = client.post("/v1/imports", files={"file": ("a.csv", _csv())}, headers=PORTAL)
    problem(response, 403)
    problem(client.get("/v1/enterprises/imp-a", headers=PORTAL), 404)


def test_cli_import_then_served(
    make_settings: Any, make_client: Any, tmp_path: Any, database_url: str | None, data_dir: Any
) -> None:
    import typer
    from typer.testing import CliRunner

    from matching.commands.imports import import_file

    cli = typer.Typer()
    cli.command("import")(import_file)
    cli.command("noop")(lambda: None)  # keep "import" a subcommand
    path = tmp_path / "mixed.csv"
    path.write_bytes(_csv())
    settings = make_settings()
    args = ["import", str(path), "--data-dir", str(data_dir), "--strict"]
    if database_url:
        args += ["--database-url", database_url]
    env = {"CHAINMATCH_SEEDS_DIR": str(settings.seeds_dir)}
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1, result.output  # --strict: some rows were rejected
    assert "8 rows, 3 accepted, 5 rejected" in result.output
    assert "row 5 (imp-b): region_code:" in result.output
    client = make_client()
    assert client.get("/v1/enterprises/imp-a", headers=PORTAL).status_code == 200
    again = CliRunner().invoke(cli, [a for a in args if a != "--strict"], env=env)
    assert again.exit_code == 0 and "unchanged 2" in again.output
