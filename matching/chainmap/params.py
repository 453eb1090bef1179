"""The thresholds of the chain map, gaps, warnings and plan targets, each with its reason.

Like :class:`matching.params.MatchParams`, every constant is one field of a frozen model whose description is
the reason for its default; responses echo the values they were computed with.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MapParams(BaseModel):
    """Thresholds of the chain-map analyses (see README, "Chain map, gaps, warnings and targets")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    viable_relation: float = Field(
        0.8, ge=0, le=1,
        description="A viable supplier's offer is the asked node or a kind of it: the engine's relation strength "
                    "≥ relation_specialisation_min (0.8); broader categories (0.5) and siblings (0.5) may not fit",
    )
    viable_link_confidence: float = Field(
        0.8, ge=0, le=1,
        description="... and its product is confidently linked to that node (the engine's low_confidence, 0.8): "
                    "a link guessed from a description does not prove the firm can supply",
    )
    coverage_share: float = Field(
        0.5, gt=0, le=1,
        description="Where volumes are known, in-circle capacity below half of in-circle demand is a gap: the "
                    "circle would then buy most of it from outside",
    )
    inferred_weight: float = Field(
        0.5, ge=0, le=1,
        description="A firm whose demand is only inferred (it makes the product the node goes into) counts half "
                    "a posted need when gaps are ranked: inference is the graph's guess",
    )
    suppliers_per_gap: int = Field(5, ge=1, le=50, description="Best out-of-circle suppliers listed per gap")
    supplier_min_score: float = Field(
        0.5, ge=0, le=1,
        description="A firm counts as supplying the circle when the engine lists it in the top match_k for an "
                    "in-circle demand at this score or more (the default weights put an exact product match "
                    "with nothing else known at about 0.5)",
    )
    match_k: int = Field(10, ge=1, le=100, description="List length of a match (the API's default k)")
    block_size: int = Field(4096, ge=1, description="Demands per vectorised block")


DEFAULT_MAP_PARAMS = MapParams()
