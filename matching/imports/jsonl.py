"""The JSONL layout: one full profile per line."""

from __future__ import annotations

import json

from pydantic import ValidationError

from matching.errors import FieldError, InvalidInputError
from matching.imports.reading import ImportFormatError, decode
from matching.imports.report import (
    Checker,
    ImportPlan,
    PlannedEnterprise,
    RowError,
    RowReport,
    errors_from_invalid,
    message,
)
from matching.profiles import Enterprise


def plan_jsonl(data: bytes, check: Checker | None, max_rows: int) -> ImportPlan:
    """One profile per non-blank line, with a report per line; a repeated enterprise id is rejected."""
    reports: list[RowReport] = []
    planned: list[PlannedEnterprise] = []
    first_row: dict[str, int] = {}
    for number, line in enumerate(decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        if len(reports) >= max_rows:
            raise ImportFormatError(
                f"too many rows (limit {max_rows})", [FieldError("file", f"more than {max_rows} rows")]
            )
        report = RowReport(number, None)
        reports.append(report)
        parsed: Enterprise | None
        try:  # the fast path: pydantic parses and validates the line in one pass, in Rust
            parsed = Enterprise.model_validate_json(line)
        except ValidationError:
            # the slow path reports the row exactly as before (JSON syntax errors, field errors, the row's id)
            parsed = _validate_slowly(line, report)
        if parsed is None:
            continue
        enterprise = parsed
        report.enterprise_id = enterprise.id
        if check is not None:
            try:
                enterprise = check(enterprise)
            except InvalidInputError as exc:
                report.reject(errors_from_invalid(exc, flat=False))
                continue
            except ValidationError as exc:
                report.reject(_row_errors(exc))
                continue
        if enterprise.id in first_row:
            report.reject([RowError("id", f"duplicate enterprise id (row {first_row[enterprise.id]})")])
            continue
        first_row[enterprise.id] = number
        planned.append(PlannedEnterprise(enterprise, [number], enterprise.unit_warnings()))
    return ImportPlan("jsonl", planned, reports)


def _validate_slowly(line: str, report: RowReport) -> Enterprise | None:
    """``json.loads`` then ``model_validate``: rejects ``report`` with the reasons (None) or returns the profile.

    Only lines the fast path refused come here, so every rejected row keeps the messages it always had."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        report.reject([RowError("line", f"malformed JSON: {exc.msg} at column {exc.colno}")])
        return None
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        report.enterprise_id = raw["id"]
    try:
        return Enterprise.model_validate(raw)
    except ValidationError as exc:
        report.reject(_row_errors(exc))
        return None


def _row_errors(exc: ValidationError) -> list[RowError]:
    return [RowError(".".join(str(p) for p in e["loc"]) or "line", message(e["msg"])) for e in exc.errors()]
