"""The ranked match item: the one shape every ranked list uses (DESIGN.md §5)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Party(BaseModel):
    """One side of a proposed pair."""

    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    region_code: str | None


class Explanation(BaseModel):
    """Why a pair ranks where it does: structured fields plus a short Chinese summary."""

    model_config = ConfigDict(extra="forbid")

    chain_path: list[str] = Field(default_factory=list, examples=[["硫酸锰", "磷酸锰铁锂"]])
    chain_path_text: str | None = Field(default=None, examples=["硫酸锰 —原料→ 磷酸锰铁锂"])
    relation: str | None = Field(
        default=None,
        description="same | specialisation | generalisation | sibling | input | input_2hop | equipment_for | text",
    )
    shared_terms: list[str] = Field(default_factory=list)
    distance_km: float | None = None
    inferred_input: str | None = Field(default=None, description="Inferred input node for inferred demand")
    contributions: dict[str, float] = Field(default_factory=dict, description="weight × component")
    filters_applied: list[str] = Field(default_factory=list)
    summary_zh: str


class MatchItem(BaseModel):
    """A ranked supplier–buyer pair."""

    model_config = ConfigDict(extra="forbid")

    rank: int = Field(ge=1)
    score: float
    supplier: Party
    offer_id: str | None
    buyer: Party
    need_id: str | None
    inferred: bool
    components: dict[str, float]
    explanation: Explanation


class MatchResult(BaseModel):
    """A ranked list with the weight profile that produced it and any input warnings."""

    items: list[MatchItem]
    weights: dict[str, str | int]
    warnings: list[str] = Field(default_factory=list)
