"""The fast bulk-import parse keeps every check and every per-row message (issue 9, item 1)."""

from __future__ import annotations

import csv
import gc
import io
import json
import unicodedata

import pytest

from matching.errors import FieldError, InvalidInputError
from matching.imports import COLUMNS, ImportFormatError, ImportPlan, plan_import
from matching.profiles import Enterprise
from matching.text_safety import BIDI_CONTROLS, MULTILINE_ALLOWED, ZERO_WIDTH, unsafe_character


def _forbidden(char: str, multiline: bool) -> bool:
    """The definition the text check implements, one character at a time."""
    code = ord(char)
    if multiline and char in MULTILINE_ALLOWED:
        return False
    return (code < 0x20 or 0x7F <= code < 0xA0 or char in BIDI_CONTROLS or char in ZERO_WIDTH
            or unicodedata.category(char) == "Cs")  # fmt: skip


@pytest.mark.parametrize("multiline", [False, True])
def test_unsafe_character_agrees_with_its_definition(multiline: bool) -> None:
    codes = [*range(0x3100), *range(0xD7F0, 0xE010), *range(0xFE00, 0x10000), 0x1F600, 0x10FFFF]
    for code in codes:
        char = chr(code)
        found = unsafe_character(f"名称{char}x", multiline=multiline)
        assert (found is not None) == _forbidden(char, multiline), hex(code)
        if found is not None:
            assert found.endswith(f"U+{code:04X} at position 2")


def _check(enterprise: Enterprise) -> Enterprise:
    if enterprise.region_code == "999999":
        raise InvalidInputError("unknown region code", [FieldError("region_code", "unknown county code")])
    return enterprise


def _statuses(plan: ImportPlan) -> dict[int, tuple[str, str | None, set[str]]]:
    return {r.row: (r.status, r.enterprise_id, {e.field for e in r.errors}) for r in plan.reports}


def test_jsonl_rows_report_the_field_and_keep_the_good_rows() -> None:
    good = {"id": "ok-1", "name": "甲", "region_code": "500102", "offers": [{"id": "o1", "product": "己二酸"}]}
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{not json",
        "[1, 2]",
        json.dumps({**good, "id": "bad-cc", "credit_code": "91510100MA61TX6X7Y"}),
        '{"id": "nan-cap", "name": "乙", "region_code": "500102", '
        '"offers": [{"id": "o1", "product": "a", "capacity": {"value": NaN, "unit": "吨"}}]}',
        json.dumps({**good, "id": "extra", "colour": "red"}),
        json.dumps({**good, "id": "region", "region_code": "999999"}),
        json.dumps({**good, "id": "ctrl", "name": "名\u202e称"}),
        json.dumps(good),
        json.dumps({**good, "id": "ok-2"}),
    ]
    plan = plan_import("\n".join(lines).encode(), filename="x.jsonl", check=_check)
    assert _statuses(plan) == {
        1: ("accepted", "ok-1", set()),
        2: ("rejected", None, {"line"}),
        3: ("rejected", None, {"line"}),
        4: ("rejected", "bad-cc", {"credit_code"}),
        5: ("rejected", "nan-cap", {"offers.0.capacity.value"}),
        6: ("rejected", "extra", {"colour"}),
        7: ("rejected", "region", {"region_code"}),
        8: ("rejected", "ctrl", {"name"}),
        9: ("rejected", "ok-1", {"id"}),
        10: ("accepted", "ok-2", set()),
    }
    reasons = {r.row: r.errors[0].reason for r in plan.reports if r.errors}
    assert reasons[2].startswith("malformed JSON: ") and "column" in reasons[2]
    assert "统一社会信用代码" in reasons[4]
    assert "U+202E" in reasons[8]
    assert "duplicate enterprise id (row 1)" in reasons[9]
    assert [p.enterprise.id for p in plan.enterprises] == ["ok-1", "ok-2"]


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def test_flat_profile_over_the_item_limit_is_rejected_row_by_row() -> None:
    """201 offers for one firm breaks the profile's 200-offer limit: its rows are rejected naming ``offers``,
    and the next firm is still imported."""
    big = [{"enterprise_id": "big", "name": "大", "region_code": "500102", "kind": "offer", "item_id": f"o{i}",
            "product": "己二酸"} for i in range(201)]  # fmt: skip
    small = {"enterprise_id": "small", "name": "小", "region_code": "500102", "kind": "need", "item_id": "n1",
             "product": "硫酸锰", "quantity_value": "3", "quantity_unit": "吨"}  # fmt: skip
    plan = plan_import(_csv([*big, small]), filename="x.csv", check=_check)
    rejected = [r for r in plan.reports if r.status == "rejected"]
    assert len(rejected) == 201 and all({e.field for e in r.errors} == {"offers"} for r in rejected)
    assert [p.enterprise.id for p in plan.enterprises] == ["small"]
    assert plan.enterprises[0].enterprise.needs[0].volume is not None


def test_the_collector_runs_again_after_a_parse() -> None:
    assert gc.isenabled()
    plan_import(b'{"id": "a", "name": "n", "region_code": "500102"}\n', filename="x.jsonl")
    assert gc.isenabled()
    with pytest.raises(ImportFormatError):
        plan_import(b"no header here\n", filename="x.csv")
    assert gc.isenabled()
