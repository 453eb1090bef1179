"""Reading an upload: the format, the text encoding, and the rows of a CSV or XLSX table."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from matching.errors import FieldError, InvalidInputError

Format = Literal["csv", "jsonl", "xlsx"]
FORMATS: tuple[str, ...] = ("csv", "jsonl", "xlsx")


class ImportFormatError(InvalidInputError):
    """The file as a whole cannot be read (format, encoding, header, size)."""


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


def decode(data: bytes) -> str:
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
        csv.reader(io.StringIO(decode(data), newline=""))
        if fmt == "csv"
        else _xlsx_rows(data, max_cells=max(max_rows, 1) * CELLS_PER_ROW)
    )
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    try:
        for number, raw in enumerate(raw_rows, start=1):
            # CSV cells are always text, for which _cell is strip(); only XLSX cells need converting
            cells = [v.strip() for v in raw] if fmt == "csv" else [_cell(v) for v in raw]
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


# A workbook is a zip: its declared uncompressed size is checked before anything is inflated (Python's zipfile
# never inflates an entry past its declared size), so a small file holding gigabytes of whitespace is refused
# at once. Real workbooks inflate about 5-10x; 128 MiB covers the 10 MiB upload limit.
MAX_XLSX_UNCOMPRESSED = 128 << 20
CELLS_PER_ROW = 64  # cell budget per allowed row (the flat layout has 15 columns)


def check_xlsx_size(data: bytes, max_uncompressed: int = MAX_XLSX_UNCOMPRESSED) -> None:
    """Refuse a workbook whose entries would inflate beyond ``max_uncompressed`` bytes, before parsing it."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFormatError(f"not a readable XLSX workbook: {exc}", [FieldError("file", "bad XLSX")]) from None
    if total > max_uncompressed:
        raise ImportFormatError(
            f"XLSX workbook inflates to {total} bytes, over the {max_uncompressed}-byte limit",
            [FieldError("file", f"decompressed size {total} exceeds {max_uncompressed} bytes")],
        )


def _xlsx_rows(data: bytes, max_cells: int) -> Iterable[Sequence[Any]]:
    import zipfile

    from openpyxl import load_workbook

    check_xlsx_size(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ImportFormatError(
            f"not a readable XLSX workbook: {exc}", [FieldError("file", "bad XLSX")]
        ) from None
    sheet = workbook.worksheets[0]
    # Read-only mode trusts the sheet's <dimension> tag, which writers often leave stale (rows beyond it were
    # silently dropped); forget it so every row in the sheet data is read.
    sheet.reset_dimensions()
    cells = 0
    try:
        for row in sheet.iter_rows(values_only=True):
            cells += len(row)
            if cells > max_cells:
                raise ImportFormatError(
                    f"too many cells (limit {max_cells})", [FieldError("file", f"more than {max_cells} cells")]
                )
            yield row
    finally:
        workbook.close()
