"""Run options: what a run computes (validated at the edges; stored in the run record and manifest)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RunOptions(BaseModel):
    """Options of one run; together with the data, weights and parameters they determine the match table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k: int = Field(10, ge=1, le=100, description="List length: suppliers per buyer and buyers per supplier")
    weights: str | None = Field(None, description="Weight profile name[:version]; default 'default'")
    cross_region_only: bool = Field(True, description="Only pairs whose parties are in different counties")
    exposure_cap: int | None = Field(
        None, ge=1, description="The most buyer lists any one supplier may appear in (none: no cap)")
    min_other_region: int = Field(
        0, ge=0, le=100,
        description="Places per supplier list kept for firms from another prefecture-level city than the buyer's")
    candidate_factor: int = Field(
        3, ge=1, le=20, description="With constraints, candidates kept per buyer = k × this (for the allocation)")
    block_size: int = Field(4096, ge=16, le=1_000_000, description="Demand rows per block (bounds memory)")

    def table_options(self) -> dict[str, object]:
        """The options that shape the match table (block size does not)."""
        return self.model_dump(exclude={"block_size"})
