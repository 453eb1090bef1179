"""Bulk import: parse CSV, JSONL or XLSX into enterprise profiles with a per-row accepted/rejected report.

CSV and XLSX use a flat layout, one row per offer or need (see :data:`COLUMNS`); the rows of one
``enterprise_id`` are grouped into one profile. Enterprise columns may repeat on every row or be given once;
a row whose value contradicts an earlier row of the same enterprise is rejected. A row with an empty ``kind``
carries enterprise fields only. JSONL holds one full profile per line.

A bad row never blocks the good ones: a bad offer/need row is dropped from its profile, while a bad
enterprise field rejects every row of that enterprise. Row numbers are what a spreadsheet shows (the header
is row 1); for JSONL they are line numbers. Importing the same file twice stores the same profiles.

Modules: :mod:`~matching.imports.reading` (format, encoding, table rows), :mod:`~matching.imports.flat` and
:mod:`~matching.imports.jsonl` (rows into profiles), :mod:`~matching.imports.report` (the outcome per row).
"""

from __future__ import annotations

from matching.collector import collector_paused
from matching.imports.flat import COLUMNS, ENTERPRISE_COLUMNS, ITEM_COLUMNS, KIND_ALIASES, LIST_COLUMNS, plan_flat
from matching.imports.jsonl import plan_jsonl
from matching.imports.reading import FORMATS, Format, ImportFormatError, detect_format, read_table
from matching.imports.report import Checker, ImportPlan, PlannedEnterprise, RowError, RowReport

__all__ = [
    "COLUMNS", "ENTERPRISE_COLUMNS", "FORMATS", "ITEM_COLUMNS", "KIND_ALIASES", "LIST_COLUMNS", "Checker",
    "Format", "ImportFormatError", "ImportPlan", "PlannedEnterprise", "RowError", "RowReport", "collector_paused",
    "detect_format", "plan_import", "read_table",
]


def plan_import(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    fmt: Format | None = None,
    check: Checker | None = None,
    max_rows: int = 50_000,
) -> ImportPlan:
    """Parse ``data`` into profiles and a per-row report; raises :class:`ImportFormatError` for an
    unreadable file. Nothing is stored here."""
    fmt = fmt or detect_format(filename, content_type)
    with collector_paused():
        return _plan(data, fmt, check, max_rows)


def _plan(data: bytes, fmt: Format, check: Checker | None, max_rows: int) -> ImportPlan:
    if fmt == "jsonl":
        plan = plan_jsonl(data, check, max_rows)
    else:
        rows = read_table(data, fmt, max_rows)
        plan = plan_flat(rows, check)
        plan.format = fmt
        unknown = sorted({k for _, r in rows for k in r} - set(COLUMNS))
        if unknown:
            plan.warnings.append(f"ignored unknown column(s): {', '.join(unknown)}")
    for item in plan.enterprises:
        plan.warnings.extend(f"{item.enterprise.id}: {w}" for w in item.warnings)
    return plan
