"""A computed report: nested items for JSON, one flat table for CSV and XLSX, and the parameters used."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

Format = Literal["json", "csv", "xlsx"]
FORMATS: tuple[str, ...] = ("json", "csv", "xlsx")
MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class Report:
    """``items`` are JSON-ready dicts (best first); ``table`` flattens them, one row per listed firm or item."""

    kind: str
    items: list[dict[str, Any]]
    table: pl.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"kind": self.kind, **self.meta, "params": self.params, "items": self.items}


def render(report: Report, fmt: Format) -> bytes:
    """The report as JSON, CSV (UTF-8 with BOM so Excel reads Chinese) or XLSX bytes."""
    if fmt == "json":
        return json.dumps(report.payload(), ensure_ascii=False, indent=2).encode()
    table = _flat(report.table)
    if fmt == "csv":
        return "\ufeff".encode() + table.write_csv().encode()
    return _xlsx(table, report.kind)


def _flat(table: pl.DataFrame) -> pl.DataFrame:
    """Lists become ``;``-joined text (CSV and spreadsheets have no nested cells)."""
    out = []
    for name, dtype in table.schema.items():
        if isinstance(dtype, pl.List):
            out.append(pl.col(name).cast(pl.List(pl.String)).list.join(";").alias(name))
        else:
            out.append(pl.col(name))
    return table.select(out)


def _xlsx(table: pl.DataFrame, sheet: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31])
    ws.append(table.columns)
    for row in table.iter_rows():
        ws.append(list(row))
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()
