"""The flat layout (CSV, XLSX): one row per offer or need, grouped by ``enterprise_id`` into profiles."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from matching.errors import InvalidInputError
from matching.imports.report import (
    Checker,
    ImportPlan,
    PlannedEnterprise,
    RowError,
    RowReport,
    errors_from_invalid,
    message,
)
from matching.profiles import ID_PATTERN, Enterprise, Need, Offer

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
        out.append(RowError(_flat_field(err["loc"], kind), message(err["msg"])))
    return out


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


def plan_flat(rows: list[tuple[int, dict[str, str]]], check: Checker | None) -> ImportPlan:
    """Group table rows by ``enterprise_id`` into profiles, with a report per row."""
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
        errors = errors_from_invalid(exc, flat=True)
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
    # Validated once more as a whole (item counts, unique ids, location); the offers and needs are already
    # validated models, which pydantic takes as they are instead of re-checking every field from a dump.
    try:
        final = Enterprise.model_validate({**dict(enterprise), "offers": offers, "needs": needs})
    except ValidationError as exc:
        errors = _errors_from_validation(exc)
        for number in used:
            reports[number].reject(errors)
        return None
    return PlannedEnterprise(final, used, final.unit_warnings())
