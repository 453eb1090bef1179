"""Request and response bodies of the HTTP API (the domain models are reused where they fit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matching.profiles import ID_PATTERN, Enterprise, Need, Offer
from matching.results import MatchItem
from matching.weights import MatchFilters

WEIGHTS_PATTERN = r"^[A-Za-z0-9._-]{1,64}([@:][0-9]{1,9})?$"

ENTERPRISE_EXAMPLE: dict[str, Any] = {
    "id": "zy-example-mn",
    "name": "示例锰业有限公司",
    "region_code": "520322",
    "park": "桐梓县娄山关经济开发区",
    "tags": ["规上"],
    "certifications": ["ISO9001"],
    "offers": [
        {
            "id": "o1",
            "product": "电解二氧化锰",
            "description": "电池级，锂锰电池正极原料",
            "capacity": {"value": None, "unit": "万吨/年"},
        }
    ],
    "needs": [
        {
            "id": "n1",
            "product": "硫酸",
            "volume": {"value": None, "unit": "吨/年"},
            "required_certifications": [],
        }
    ],
}


class EnterpriseBody(Enterprise):
    """A full enterprise profile for ``PUT``; ``id`` may be omitted (the path supplies it)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ENTERPRISE_EXAMPLE]})

    id: str | None = Field(default=None, pattern=ID_PATTERN)  # type: ignore[assignment]
    # PUT replaces the whole profile, so omitting offers or needs would silently wipe them: both are required
    # (send [] to clear); PATCH with JSON Merge Patch changes only the fields it names.
    offers: list[Offer] = Field(max_length=200, description="Required (PUT is a full replace; [] clears)")
    needs: list[Need] = Field(max_length=200, description="Required (PUT is a full replace; [] clears)")

    def to_enterprise(self, enterprise_id: str) -> Enterprise:
        data = self.model_dump(exclude_none=True)
        data["id"] = enterprise_id
        return Enterprise.model_validate(data)


class EnterpriseRecord(BaseModel):
    """A stored profile with its bookkeeping and any warnings about it."""

    enterprise: Enterprise
    created_at: datetime
    updated_at: datetime
    revision: int = Field(description="Change-log sequence number of this version")
    warnings: list[str] = Field(default_factory=list, description="e.g. unknown units, kept as given")
    province: str | None = Field(
        default=None, examples=["贵州省"], description="Province of the enterprise's county (null if unknown)"
    )
    in_circle: bool | None = Field(
        default=None,
        description="Whether the enterprise's county is in the Chengdu–Chongqing economic circle (null if unknown)",
    )


class EnterprisePage(BaseModel):
    """A page of profiles ordered by id."""

    items: list[EnterpriseRecord]
    next_cursor: str | None = Field(default=None, description="Pass as cursor to get the next page")


class ImportRowError(BaseModel):
    field: str = Field(examples=["quantity_value"])
    reason: str = Field(examples=["must be greater than or equal to 0"])


class ImportRow(BaseModel):
    """Outcome of one row (CSV/XLSX: spreadsheet row, header = 1; JSONL: line number)."""

    row: int = Field(ge=1)
    enterprise_id: str | None
    status: Literal["accepted", "rejected"]
    errors: list[ImportRowError] = Field(default_factory=list)


class ImportEnterprises(BaseModel):
    created: list[str] = Field(default_factory=list)
    updated: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)


class ImportReport(BaseModel):
    """Per-row results; accepted rows are stored even when other rows are rejected."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "csv",
                    "dry_run": False,
                    "rows": 2,
                    "accepted": 1,
                    "rejected": 1,
                    "enterprises": {"created": ["zy-example-mn"], "updated": [], "unchanged": []},
                    "items": [
                        {"row": 2, "enterprise_id": "zy-example-mn", "status": "accepted", "errors": []},
                        {
                            "row": 3,
                            "enterprise_id": "zy-example-mn",
                            "status": "rejected",
                            "errors": [{"field": "quantity_value", "reason": "not a number: 'abc'"}],
                        },
                    ],
                    "warnings": [],
                }
            ]
        }
    )

    format: Literal["csv", "jsonl", "xlsx"]
    dry_run: bool
    rows: int = Field(ge=0)
    accepted: int = Field(ge=0)
    rejected: int = Field(ge=0)
    enterprises: ImportEnterprises
    items: list[ImportRow]
    warnings: list[str] = Field(default_factory=list)


class WeightsRef(BaseModel):
    name: str = Field(examples=["default"])
    version: int = Field(ge=1, examples=[1])
    params_version: int | None = Field(
        default=None, description="MatchParams version of the engine that scored the list", examples=[2]
    )


class MatchResponse(BaseModel):
    """A ranked list (DESIGN.md §5 match items) with the weight profile that produced it."""

    items: list[MatchItem]
    weights: WeightsRef
    next_cursor: None = None
    warnings: list[str] = Field(default_factory=list, description="e.g. unknown units (capacity fit neutral)")


class AdhocNeed(Need):
    """A need to match ad hoc; ``id`` is optional."""

    id: str = Field(default="adhoc-need", pattern=ID_PATTERN)


class AdhocOffer(Offer):
    """An offer to match ad hoc; ``id`` is optional."""

    id: str = Field(default="adhoc-offer", pattern=ID_PATTERN)


class MatchRequest(BaseModel):
    """An ad-hoc query: exactly one of ``need`` (find suppliers) or ``offer`` (find buyers)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "need": {
                        "product": "硫酸锰",
                        "description": "磷酸锰铁锂前驱体用",
                        "volume": {"value": None, "unit": "吨/年"},
                    },
                    "region_code": "500102",
                    "k": 5,
                },
                {
                    "offer": {"product": "己二酸"},
                    "region_code": "520303",
                    "k": 10,
                    "filters": {"cross_region_only": True},
                },
            ]
        },
    )

    need: AdhocNeed | None = None
    offer: AdhocOffer | None = None
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$", description="The asker's county")
    certifications: list[str] = Field(
        default_factory=list, max_length=50, description="The asker's certifications (for an offer query)"
    )
    k: int = Field(default=10, ge=1, le=100)
    weights: str | None = Field(default=None, pattern=WEIGHTS_PATTERN, description="name or name@version")
    filters: MatchFilters | None = None

    @model_validator(mode="after")
    def _one_query(self) -> MatchRequest:
        if (self.need is None) == (self.offer is None):
            raise ValueError("give exactly one of need or offer")
        return self


class RegionOut(BaseModel):
    """A county-level division of China."""

    code: str = Field(examples=["520303"])
    name: str = Field(examples=["汇川区"])
    province: str = Field(examples=["贵州省"])
    city: str = Field(examples=["遵义市"])
    lat: float
    lon: float
    in_circle: bool = Field(description="Belongs to the Chengdu–Chongqing economic circle")
    circle_partial: bool = Field(default=False, description="Only part of the county is in the circle")


class RegionPage(BaseModel):
    items: list[RegionOut]
    next_cursor: str | None = None


class SourceOut(BaseModel):
    doc: str
    section: str | None = None


class ChainSummary(BaseModel):
    id: str = Field(examples=["polyamide"])
    name: str = Field(examples=["聚酰胺（尼龙66）产业链"])
    name_en: str
    regions: list[str]
    sources: list[SourceOut]
    segments: dict[str, list[str]] = Field(description="上游 / 中游 / 下游 → node ids")
    node_count: int


class ChainPage(BaseModel):
    items: list[ChainSummary]
    next_cursor: str | None = None


class ChainNodeOut(BaseModel):
    id: str
    name: str
    name_en: str
    kind: str
    synonyms: list[str]
    description: str | None = None
    segment: str | None = Field(default=None, description="上游 / 中游 / 下游, or null for a supporting node")


class ChainEdge(BaseModel):
    source: str = Field(description="For input_of: the input; for is_a: the specific node")
    target: str = Field(description="For input_of: what it is used to make; for is_a: the category")
    kind: Literal["input_of", "is_a"]


class ChainDetail(ChainSummary):
    nodes: list[ChainNodeOut]
    edges: list[ChainEdge]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The store's last change sequence, the index's, and the lag between them (changes not yet matchable)."""

    status: Literal["ready"] = "ready"
    database: str
    index: str
    store_seq: int = Field(ge=0)
    index_seq: int = Field(ge=0)
    lag: int = Field(ge=0)
    max_lag: int = Field(ge=0, description="Largest lag still reported ready (CHAINMATCH_READY_MAX_LAG)")
    enterprises: int
    index_source: Literal["built", "snapshot"] | None = Field(
        default=None, description="Where this worker's index came from: built from the store, or a saved snapshot"
    )
    snapshot_seq: int | None = Field(
        default=None, ge=0, description="Store seq of the snapshot the index was loaded from or last saved to"
    )
    worker: int = Field(description="Process id of the worker that answered (each worker has its own index)")
