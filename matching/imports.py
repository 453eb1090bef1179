"""Bulk import: parse CSV, JSONL or XLSX into enterprise profiles with a per-row accepted/rejected report.

CSV and XLSX use a flat layout, one row per offer or need (see :data:`COLUMNS`); the rows of one
``enterprise_id`` are grouped into one profile. Enterprise columns may repeat on every row or be given once;
a row whose value contradicts an earlier row of the same enterprise is rejected. A row with an empty ``kind``
carries enterprise fields only. JSONL holds one full profile per line.

A bad row never blocks the good ones: a bad offer/need row is dropped from its profile, while a bad
enterprise field rejects every row of that enterprise. Row numbers are what a spreadsheet shows (the header
is row 1); for JSONL they are line numbers. Importing the same file twice stores the same profiles.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from matching.errors import FieldError, InvalidInputError
from matching.profiles import ID_PATTERN, Enterprise, Need, Offer

Format = Literal["csv", "jsonl", "xlsx"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "xlsx")

ENTERPRISE_COLUMNS: tuple[str, ...] = (
    "name",
    "region_code",
    "address",
    "credit_code",
    "park",
    "tags",
    "certifications",
)
ITEM_COLUMNS: tuple[str, ...] = (
    "kind",
    "item_id",
    "product",
    "description",
    "quantity_value",
    "quantity_unit",
    "required_certifications",
)
COLUMNS: tuple[str, ...] = ("enterprise_id", *ENTERPRISE_COLUMNS, *ITEM_COLUMNS)
LIST_COLUMNS = frozenset({"tags", "certifications", "required_certifications"})
KIND_ALIASES = {
    "offer": "offer",
    "supply": "offer",
    "供应": "offer",
    "供": "offer",
    "need": "need",
    "demand": "need",
    "需求": "need",
    "需": "need",
}
_LIST_SPLIT = re.compile(r"[;；]")
_ID_RE = re.compile(ID_PATTERN)


class ImportFormatError(InvalidInputError):
    """The file as a whole cannot be read (format, encoding, header, size)."""


@dataclass(frozen=True)
class RowError:
    """Why a row was rejected: the column (or dotted JSON field) and the reason."""

    field: str
    reason: str


@dataclass
class RowReport:
    """The outcome of one row."""

    row: int
    enterprise_id: str | None
    status: Literal["accepted", "rejected"] = "accepted"
    errors: list[RowError] = field(default_factory=list)

    def reject(self, errors: Iterable[RowError]) -> None:
        self.status = "rejected"
        self.errors.extend(errors)


@dataclass
class PlannedEnterprise:
    """A profile assembled from accepted rows, ready to store."""

    enterprise: Enterprise
    rows: list[int]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ImportPlan:
    """Parsed file: profiles to store, a report per row, file-level warnings."""

    format: Format
    enterprises: list[PlannedEnterprise]
    reports: list[RowReport]
    warnings: list[str] = field(default_factory=list)

    def report_for(self, row: int) -> RowReport:
        return next(r for r in self.reports if r.row == row)


Checker = Callable[[Enterprise], Enterprise]
"""Domain check for a parsed profile (e.g. region exists); returns it (maybe completed) or raises
:class:`InvalidInputError`."""


# -- format detection and reading ---------------------------------------------------------------
def detect_format(filename: str | None, content_type: str | None = None) -> Format:
    """The format from the file extension, else from the media type."""
    name = (filename or "").lower()
    for ext, fmt in ((".csv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".xlsx", "xlsx")):
        if name.endswith(ext):
            return fmt  # type: ignore[return-value]
    media = (content_type or "").split(";")[0].strip().lower()
    by_media: dict[str, Format] = {
        "text/csv": "csv",
        "application/jsonl": "jsonl",
        "application/x-ndjson": "jsonl",
        "application/jsonlines": "jsonl",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    }
    if media in by_media:
        return by_media[media]
    raise ImportFormatError(
        "unrecognised import format; use a .csv, .jsonl or .xlsx file",
        [FieldError("file", "file name must end in .csv, .jsonl (.ndjson) or .xlsx")],
    )


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFormatError("file is not UTF-8 or GB18030 text", [FieldError("file", "undecodable text")])


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def _header_key(name: str) -> str:
    return re.sub(r"\s+", "_", name.strip().lstrip("\ufeff").lower())


def read_table(data: bytes, fmt: Literal["csv", "xlsx"], max_rows: int) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV or XLSX file as ``(row_number, {column: text})``; blank rows skipped."""
    raw_rows: Iterable[Sequence[Any]] = (
        csv.reader(io.StringIO(_decode(data), newline="")) if fmt == "csv" else _xlsx_rows(data)
    )
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for number, raw in enumerate(raw_rows, start=1):
            cells = [_cell(v) for v in raw]
            if header is None:
                if not any(cells):
                    continue
                header = [_header_key(c) for c in cells]
                _check_header(header)
                continue
            if not any(cells):
                continue
            if len(rows) >= max_rows:
                raise ImportFormatError(
                    f"too many rows (limit {max_rows})", [FieldError("file", f"more than {max_rows} rows")]
                )
            rows.append(
                (number, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h})
            )
    except csv.Error as exc:
        raise ImportFormatError(f"malformed CSV: {exc}", [FieldError("file", str(exc))]) from None
    if header is None:
        raise ImportFormatError("the file has no header row", [FieldError("file", "empty file")])
    return rows


def _check_header(header: list[str]) -> None:
    if "enterprise_id" not in header:
        raise ImportFormatError(
            "header lacks the enterprise_id column", [FieldError("enterprise_id", "required column missing")]
        )
    duplicates = sorted({h for h in header if h and header.count(h) > 1})
    if duplicates:
        raise ImportFormatError(
            f"duplicate column(s) {duplicates}", [FieldError(d, "column appears twice") for d in duplicates]
        )


def _xlsx_rows(data: bytes) -> Iterable[Sequence[Any]]:
    import zipfile

    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportFormatError(
            f"not a readable XLSX workbook: {exc}", [FieldError("file", "bad XLSX")]
        ) from None
    sheet = workbook.worksheets[0]
    try:
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


# -- flat (CSV / XLSX) --------------------------------------------------------------------------
def _split_list(text: str) -> list[str]:
    return [p.strip() for p in _LIST_SPLIT.split(text) if p.strip()]


def _flat_field(loc: Sequence[int | str], kind: str | None = None) -> str:
    """Map a pydantic location inside an Enterprise/Offer/Need to the flat column name."""
    head = str(loc[0]) if loc else "row"
    if head in {"capacity", "volume"}:
        return "quantity_unit" if len(loc) > 1 and loc[1] == "unit" else "quantity_value"
    if head == "id":
        return "item_id" if kind else "enterprise_id"
    return head


def _errors_from_validation(exc: ValidationError, kind: str | None = None) -> list[RowError]:
    out: list[RowError] = []
    for err in exc.errors():
        out.append(RowError(_flat_field(err["loc"], kind), _message(err["msg"])))
    return out


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


def _errors_from_invalid(exc: InvalidInputError, flat: bool) -> list[RowError]:
    if not exc.errors:
        return [RowError("row", str(exc))]
    return [RowError(e.loc.split(".")[0] if flat else e.loc, e.msg) for e in exc.errors]


def _parse_quantity(row: Mapping[str, str]) -> tuple[dict[str, Any] | None, list[RowError]]:
    value_text = row.get("quantity_value", "").replace(",", "").replace(" ", "")
    unit = row.get("quantity_unit", "")
    if not value_text and not unit:
        return None, []
    errors: list[RowError] = []
    value: float | None = None
    if value_text:
        try:
            value = float(value_text)
        except ValueError:
            errors.append(RowError("quantity_value", f"not a number: {row.get('quantity_value')!r}"))
        else:
            if not math.isfinite(value):
                errors.append(RowError("quantity_value", "must be a finite number"))
            elif value < 0:
                errors.append(RowError("quantity_value", "must be greater than or equal to 0"))
    if not unit:
        errors.append(RowError("quantity_unit", "a unit is required when quantity_value is given"))
    return ({"value": value, "unit": unit} if not errors else None), errors


def _parse_item(row: Mapping[str, str]) -> tuple[str | None, Offer | Need | None, list[RowError]]:
    raw_kind = row.get("kind", "").strip()
    if not raw_kind:
        filled = [c for c in ITEM_COLUMNS if c != "kind" and row.get(c, "")]
        if filled:
            return None, None, [RowError("kind", f"kind (offer|need) is required when {filled[0]} is given")]
        return None, None, []
    kind = KIND_ALIASES.get(raw_kind.lower())
    if kind is None:
        return None, None, [RowError("kind", f"must be offer or need, not {raw_kind!r}")]
    quantity, errors = _parse_quantity(row)
    data: dict[str, Any] = {"id": row.get("item_id", ""), "product": row.get("product", "")}
    if row.get("description"):
        data["description"] = row["description"]
    required = _split_list(row.get("required_certifications", ""))
    if kind == "offer":
        if required:
            errors.append(RowError("required_certifications", "only applies to kind=need"))
        if quantity is not None:
            data["capacity"] = quantity
    else:
        data["required_certifications"] = required
        if quantity is not None:
            data["volume"] = quantity
    model: type[Offer] | type[Need] = Offer if kind == "offer" else Need
    try:
        item = model.model_validate(data)
    except ValidationError as exc:
        skip = {e.field for e in errors}
        errors += [e for e in _errors_from_validation(exc, kind) if e.field not in skip]
        return kind, None, errors
    return kind, (item if not errors else None), errors


def _plan_flat(rows: list[tuple[int, dict[str, str]]], check: Checker | None) -> ImportPlan:
    reports: dict[int, RowReport] = {}
    groups: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in rows:
        enterprise_id = row.get("enterprise_id", "").strip()
        report = reports[number] = RowReport(number, enterprise_id or None)
        if not enterprise_id:
            report.reject([RowError("enterprise_id", "required")])
        elif not _ID_RE.match(enterprise_id):
            report.reject([RowError("enterprise_id", f"must match {ID_PATTERN}")])
        else:
            groups.setdefault(enterprise_id, []).append((number, row))
    planned: list[PlannedEnterprise] = []
    for enterprise_id, group in groups.items():
        result = _plan_group(enterprise_id, group, reports, check)
        if result is not None:
            planned.append(result)
    return ImportPlan("csv", planned, [reports[k] for k in sorted(reports)])


def _plan_group(
    enterprise_id: str,
    group: list[tuple[int, dict[str, str]]],
    reports: dict[int, RowReport],
    check: Checker | None,
) -> PlannedEnterprise | None:
    values: dict[str, tuple[str, int]] = {}
    live: list[tuple[int, dict[str, str]]] = []
    for number, row in group:
        conflicts = [
            RowError(col, f"{row[col]!r} contradicts {values[col][0]!r} on row {values[col][1]}")
            for col in ENTERPRISE_COLUMNS
            if row.get(col) and col in values and row[col] != values[col][0]
        ]
        if conflicts:
            reports[number].reject(conflicts)
            continue
        for col in ENTERPRISE_COLUMNS:
            if row.get(col) and col not in values:
                values[col] = (row[col], number)
        live.append((number, row))
    if not live:
        return None
    base: dict[str, Any] = {"id": enterprise_id}
    for col, (text, _) in values.items():
        base[col] = _split_list(text) if col in LIST_COLUMNS else text
    errors: list[RowError] = []
    enterprise: Enterprise | None = None
    try:
        enterprise = Enterprise.model_validate(base)
        if check is not None:
            enterprise = check(enterprise)
    except ValidationError as exc:
        errors = _errors_from_validation(exc)
    except InvalidInputError as exc:
        errors = _errors_from_invalid(exc, flat=True)
    if enterprise is None or errors:
        for number, _ in live:
            reports[number].reject(errors)
        return None
    offers: list[Offer] = []
    needs: list[Need] = []
    seen: dict[tuple[str, str], int] = {}
    used: list[int] = []
    for number, row in live:
        kind, item, item_errors = _parse_item(row)
        if item_errors or (kind is not None and item is None):
            reports[number].reject(item_errors)
            continue
        if kind is not None and item is not None:
            key = (kind, item.id)
            if key in seen:
                reports[number].reject(
                    [RowError("item_id", f"duplicate {kind} id {item.id!r} (row {seen[key]})")]
                )
                continue
            seen[key] = number
            if isinstance(item, Offer):
                offers.append(item)
            else:
                needs.append(item)
        used.append(number)
    if not used:
        return None
    full = enterprise.model_copy(update={"offers": offers, "needs": needs})
    final = Enterprise.model_validate(full.model_dump())
    return PlannedEnterprise(final, used, final.unit_warnings())


# -- JSONL ------------------------------------------------------------------------------------
def _plan_jsonl(data: bytes, check: Checker | None, max_rows: int) -> ImportPlan:
    reports: list[RowReport] = []
    planned: list[PlannedEnterprise] = []
    first_row: dict[str, int] = {}
    for number, line in enumerate(_decode(data).splitlines(), start=1):
        if not line.strip():
            continue
        if len(reports) >= max_rows:
            raise ImportFormatError(
                f"too many rows (limit {max_rows})", [FieldError("file", f"more than {max_rows} rows")]
            )
        report = RowReport(number, None)
        reports.append(report)
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            report.reject([RowError("line", f"malformed JSON: {exc.msg} at column {exc.colno}")])
            continue
        if isinstance(raw, dict) and isinstance(raw.get("id"), str):
            report.enterprise_id = raw["id"]
        try:
            enterprise = Enterprise.model_validate(raw)
            if check is not None:
                enterprise = check(enterprise)
        except ValidationError as exc:
            report.reject(
                RowError(".".join(str(p) for p in e["loc"]) or "line", _message(e["msg"]))
                for e in exc.errors()
            )
            continue
        except InvalidInputError as exc:
            report.reject(_errors_from_invalid(exc, flat=False))
            continue
        if enterprise.id in first_row:
            report.reject([RowError("id", f"duplicate enterprise id (row {first_row[enterprise.id]})")])
            continue
        first_row[enterprise.id] = number
        planned.append(PlannedEnterprise(enterprise, [number], enterprise.unit_warnings()))
    return ImportPlan("jsonl", planned, reports)


# -- entry point -----------------------------------------------------------------------------
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
    if fmt == "jsonl":
        plan = _plan_jsonl(data, check, max_rows)
    else:
        rows = read_table(data, fmt, max_rows)
        plan = _plan_flat(rows, check)
        plan.format = fmt
        unknown = sorted({k for _, r in rows for k in r} - set(COLUMNS))
        if unknown:
            plan.warnings.append(f"ignored unknown column(s): {', '.join(unknown)}")
    for item in plan.enterprises:
        plan.warnings.extend(f"{item.enterprise.id}: {w}" for w in item.warnings)
    return plan
