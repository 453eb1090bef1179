"""What an import produced: the profiles to store and an accepted/rejected report per row."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from matching.errors import InvalidInputError
from matching.imports.reading import Format
from matching.profiles import Enterprise


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


def message(msg: str) -> str:
    """A pydantic message without its "Value error, " prefix."""
    return msg.removeprefix("Value error, ")


def errors_from_invalid(exc: InvalidInputError, flat: bool) -> list[RowError]:
    """Row errors from a domain check; ``flat`` keeps only the column (the first part of a dotted field)."""
    if not exc.errors:
        return [RowError("row", str(exc))]
    return [RowError(e.loc.split(".")[0] if flat else e.loc, e.msg) for e in exc.errors]
