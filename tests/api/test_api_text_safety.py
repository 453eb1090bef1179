"""NUL, control, bidi-override and zero-width characters are rejected with a 422 naming the field; names are
trimmed; a bad import row never blocks the good ones (issue 9, item 8). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matching.text_safety import unsafe_character
from tests.api.api_helpers import ADMIN, PORTAL, enterprise, error_fields, problem

BAD = {
    "NUL": "\x00",
    "bell": "\x07",
    "escape": "\x1b",
    "DEL": "\x7f",
    "RLO bidi override": "\u202e",
    "first-strong isolate": "\u2068",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "BOM": "\ufeff",
}


@pytest.mark.parametrize("char", BAD.values(), ids=BAD.keys())
def test_unsafe_characters_rejected_in_names(client: TestClient, char: str) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        (enterprise(name=f"测试{char}企业"), "name"),
        (enterprise(offers=[{"id": "o1", "product": f"硫酸{char}锰"}]), "offers.0.product"),
        (enterprise(tags=[f"规{char}上"]), "tags.0"),
        (enterprise(park=f"园区{char}"), "park"),
        (enterprise(offers=[{"id": "o1", "product": "硫酸锰", "capacity": {"unit": f"吨{char}"}}]),
         "offers.0.capacity.unit"),
    ]  # fmt: skip
    for body, field in cases:
        p = problem(client.put("/v1/enterprises/ctl-x", json=body, headers=PORTAL), 422)
        assert field in error_fields(p), p
        assert f"U+{ord(char):04X}" in json.dumps(p)
    problem(client.get("/v1/enterprises/ctl-x", headers=PORTAL), 404)  # nothing stored
    p = problem(client.get("/v1/enterprises", params={"q": f"锰{char}"}, headers=PORTAL), 422)
    assert error_fields(p) == {"q"}
    p = problem(client.post("/v1/match", json={"need": {"product": f"己二酸{char}"}}, headers=PORTAL), 422)
    assert any("product" in f for f in error_fields(p))


def test_descriptions_keep_tabs_and_newlines_but_not_other_controls(client: TestClient) -> None:
    text = "第一行\n\t第二行\r\n第三行"
    body = enterprise(offers=[{"id": "o1", "product": "硫酸锰", "description": text}])
    assert client.put("/v1/enterprises/desc-ok", json=body, headers=PORTAL).status_code == 201
    stored = client.get("/v1/enterprises/desc-ok", headers=PORTAL).json()["enterprise"]
    assert stored["offers"][0]["description"] == text
    bad = enterprise(offers=[{"id": "o1", "product": "硫酸锰", "description": "a\x00b"}])
    p = problem(client.put("/v1/enterprises/desc-bad", json=bad, headers=PORTAL), 422)
    assert error_fields(p) == {"offers.0.description"}
    # a tab is fine in a description but not in a name
    p = problem(client.put("/v1/enterprises/desc-bad", json=enterprise(name="甲\t乙"), headers=PORTAL), 422)
    assert error_fields(p) == {"name"}


def test_names_trimmed_and_blank_names_rejected(client: TestClient) -> None:
    body = enterprise(name="  测试企业\u3000 ", offers=[{"id": "o1", "product": " 硫酸锰\n"}], tags=[" 规上 "])
    assert client.put("/v1/enterprises/trim-me", json=body, headers=PORTAL).status_code == 201
    stored = client.get("/v1/enterprises/trim-me", headers=PORTAL).json()["enterprise"]
    assert (stored["name"], stored["offers"][0]["product"], stored["tags"]) == ("测试企业", "硫酸锰", ["规上"])
    for blank in ("", "   ", "\u3000\t"):
        p = problem(client.put("/v1/enterprises/blank", json=enterprise(name=blank), headers=PORTAL), 422)
        assert error_fields(p) == {"name"}
        assert "whitespace" in json.dumps(p, ensure_ascii=False) or "at least 1" in json.dumps(p)


def test_bad_import_rows_never_block_good_ones(client: TestClient) -> None:
    header = "enterprise_id,name,region_code,kind,item_id,product"
    rows = [
        "nul-good,好企业,520303,offer,o1,硫酸锰",
        "nul-good,,,offer,o2,碳酸\x00锰",  # the bad row: its item is dropped, the rest of nul-good stays
        "nul-bidi,坏\u202e企业,520303,offer,o1,己二酸",  # a bad name rejects this enterprise only
        "nul-other,另一企业,500102,need,n1,己二酸",
    ]
    data = (header + "\n" + "\n".join(rows) + "\n").encode("utf-8")
    response = client.post("/v1/imports", files={"file": ("rows.csv", data)}, headers=ADMIN)
    assert response.status_code == 200, response.text
    report = response.json()
    by_row = {item["row"]: item for item in report["items"]}
    assert by_row[2]["status"] == "accepted" and by_row[5]["status"] == "accepted"
    assert by_row[3]["status"] == "rejected" and {e["field"] for e in by_row[3]["errors"]} == {"product"}
    assert by_row[4]["status"] == "rejected" and {e["field"] for e in by_row[4]["errors"]} == {"name"}
    assert sorted(report["enterprises"]["created"]) == ["nul-good", "nul-other"]
    good = client.get("/v1/enterprises/nul-good", headers=PORTAL).json()["enterprise"]
    assert [o["id"] for o in good["offers"]] == ["o1"]
    problem(client.get("/v1/enterprises/nul-bidi", headers=PORTAL), 404)
    jsonl = "\n".join(
        json.dumps(e, ensure_ascii=False)
        for e in ({"id": "j-good", **enterprise()}, {"id": "j-bad", **enterprise(name="x\x00y")})
    ).encode()
    response = client.post("/v1/imports", files={"file": ("rows.jsonl", jsonl)}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["enterprises"]["created"] == ["j-good"]


def test_unsafe_character_reports_position() -> None:
    assert unsafe_character("ab\x00") == "contains a NUL U+0000 at position 2"
    assert unsafe_character("a\tb") is not None and unsafe_character("a\tb", multiline=True) is None
    assert unsafe_character("正常的名字 ABC-1") is None
