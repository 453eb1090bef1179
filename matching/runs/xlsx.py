"""XLSX export for analysts: one sheet per list kind (split every million rows), Chinese headers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from openpyxl import Workbook

SHEET_ROWS = 1_000_000  # Excel holds 1,048,576 rows per sheet
HEADERS_ZH = {
    "list": "名单", "owner_id": "名单所属企业", "rank": "排名", "buyer_id": "采购方ID", "buyer_name": "采购方",
    "buyer_region": "采购方区县", "supplier_id": "供应方ID", "supplier_name": "供应方", "supplier_region": "供应方区县",
    "need_product": "需求", "offer_product": "供应产品", "relation": "关系", "chains": "产业链", "score": "得分",
    "reason_zh": "匹配理由",
}
SHEETS_ZH = {"suppliers": "供应商名单", "buyers": "潜在买家名单"}


def write_xlsx(path: Path, table: pl.DataFrame, columns: dict[str, str] | None = None) -> None:
    """The table's analyst columns (``columns``: name → header), a sheet per ``list`` value when present."""
    columns = columns or HEADERS_ZH
    wb = Workbook(write_only=True)
    groups = [(SHEETS_ZH.get(str(k), str(k)), table.filter(pl.col("list") == k)) for k in ("suppliers", "buyers")] \
        if "list" in table.columns else [("名单", table)]
    for title, part in groups:
        cols = [c for c in columns if c in part.columns]
        for start in range(0, max(part.height, 1), SHEET_ROWS):
            ws = wb.create_sheet(title if start == 0 else f"{title}{start // SHEET_ROWS + 1}")
            ws.append([columns[c] for c in cols])
            for row in part.slice(start, SHEET_ROWS).select(cols).iter_rows():
                ws.append(list(row))
    wb.save(path)
