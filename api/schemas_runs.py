"""Request and response models of ``/v1/runs`` and ``/v1/supplier-lists``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from matching.runs.options import RunOptions


class RunRequest(RunOptions):
    """Options of a run started through the API (block size is the server's business, the rest as the CLI)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}(:[0-9]{1,9})?$",
                                description="Weight profile name[:version]", examples=["default"])


class RunView(BaseModel):
    """A run record: status, inputs (fingerprint, versions, options), counts and timings."""

    id: str = Field(examples=["20261201T030000-a1b2c3"])
    status: str = Field(description="running, succeeded or failed", examples=["succeeded"])
    started_at: datetime
    finished_at: datetime | None = None
    reason: str | None = Field(None, description="Why a run failed")
    data_fingerprint: str | None = None
    weights_name: str
    weights_version: int
    params_version: int
    code_version: str
    options: dict[str, Any]
    counts: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None


class RunPage(BaseModel):
    """Runs, newest first."""

    items: list[RunView]
    next_cursor: str | None = None


class MatchPage(BaseModel):
    """Rows of a run's match table (one per list, owner and counterpart), in table order."""

    items: list[dict[str, Any]]
    total: int = Field(description="Rows matching the filters")
    next_cursor: str | None = None


class DiffPage(BaseModel):
    """Changes from run ``against`` to run ``run_id``: new, dropped and moved pairs with causes."""

    run_id: str
    against: str
    summary: dict[str, dict[str, int]] = Field(description="{change: {cause: count}}")
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None = None


class SupplierListRequest(BaseModel):
    """A named supplier list built from a run."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["zunyi-2026H2"])
    regions: list[str] = Field(min_length=1, max_length=200, examples=[["5203"]],
                               description="Supplier county-code prefixes (2–6 digits); 5203 = Zunyi's counties")
    run_id: str | None = Field(None, description="Run to build from (default: the newest succeeded run)")


class SupplierListView(BaseModel):
    name: str
    run_id: str
    regions: list[str]
    created_at: str
    entries: int
    items: list[dict[str, Any]] = Field(default_factory=list, description="Ranked entries (GET one list only)")


class SupplierListChanges(BaseModel):
    name: str
    against: str
    items: list[dict[str, Any]]
