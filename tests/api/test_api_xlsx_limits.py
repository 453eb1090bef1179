"""XLSX uploads: a zip bomb is refused before it is inflated, a cell flood is capped, and a stale <dimension>
tag never hides rows (issue 9, item 9)."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import zipfile

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from matching.imports.reading import ImportFormatError, read_table
from tests.api.api_helpers import ADMIN, PORTAL, error_fields, problem

HEADER = ["enterprise_id", "name", "region_code", "kind", "item_id", "product"]
SHEET = "xl/worksheets/sheet1.xml"


def _workbook(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _rewrite_sheet(data: bytes, rewrite: object) -> bytes:
    """Copy a workbook, passing the first sheet's XML through ``rewrite`` (bytes -> bytes or chunk iterator)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename != SHEET:
                dst.writestr(info, content)
                continue
            with dst.open(SHEET, "w", force_zip64=True) as fh:
                for chunk in rewrite(content):  # type: ignore[operator]
                    fh.write(chunk)
    return out.getvalue()


def _rows(n: int) -> list[list[str]]:
    return [[f"x-{i}", f"表格企业{i}", "520303", "offer", "o1", "硫酸锰"] for i in range(n)]


def test_zip_bomb_refused_before_inflating(client: TestClient) -> None:
    def bomb(content: bytes) -> object:
        head, tail = content.split(b"<sheetData>", 1)
        yield head + b"<sheetData>"
        spaces = b" " * (1 << 20)
        for _ in range(200):  # 200 MiB of whitespace, about 200 KB compressed
            yield spaces
        yield tail

    data = _rewrite_sheet(_workbook(_rows(2)), bomb)
    assert len(data) < 1 << 20
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(ImportFormatError, match="inflates to"):
            read_table(data, "xlsx", max_rows=1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2.0
    assert peak < 20 << 20, f"peak {peak} bytes while refusing the bomb"
    response = client.post("/v1/imports", files={"file": ("bomb.xlsx", data)}, headers=ADMIN)
    p = problem(response, 422)
    assert error_fields(p) == {"file"} and "limit" in p["detail"]


def test_cell_flood_is_capped() -> None:
    def wide(content: bytes) -> object:
        head, tail = content.split(b"</sheetData>", 1)
        yield head
        cells = b"".join(b'<c t="inlineStr"><is><t>v</t></is></c>' for _ in range(1000))
        for r in range(10, 20):  # 10 rows x 1000 cells = 10k cells, over 100 rows x 64
            yield b'<row r="%d">' % r + cells + b"</row>"
        yield b"</sheetData>" + tail

    data = _rewrite_sheet(_workbook(_rows(2)), wide)
    with pytest.raises(ImportFormatError, match="too many cells"):
        read_table(data, "xlsx", max_rows=100)


def test_stale_dimension_tag_never_hides_rows(client: TestClient) -> None:
    def stale(content: bytes) -> object:
        fixed, count = re.subn(rb'<dimension ref="[^"]+"\s*/>', b'<dimension ref="A1:F2"/>', content)
        assert count == 1
        yield fixed

    data = _rewrite_sheet(_workbook(_rows(5)), stale)
    assert b'ref="A1:F2"' in zipfile.ZipFile(io.BytesIO(data)).read(SHEET)
    assert [n for n, _ in read_table(data, "xlsx", max_rows=100)] == [2, 3, 4, 5, 6]
    response = client.post("/v1/imports", files={"file": ("stale.xlsx", data)}, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 5
    assert client.get("/v1/enterprises/x-4", headers=PORTAL).status_code == 200
