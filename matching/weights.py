"""Weight profiles: one weight per score component, plus filters. Versions are immutable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

COMPONENTS: tuple[str, ...] = (
    "product",
    "text",
    "distance",
    "capacity",
    "cross_region",
    "policy",
    "standing",
)


class MatchFilters(BaseModel):
    """Hard filters. Certifications and same-enterprise exclusion always apply."""

    model_config = ConfigDict(extra="forbid")

    cross_region_only: bool = Field(
        default=False, description="Drop pairs whose supplier and buyer are in the same county"
    )
    in_circle_only: bool = Field(
        default=False,
        description="Keep only pairs whose supplier and buyer are both in the Chengdu–Chongqing economic circle "
        "(a party without a known county is not in it)",
    )
    exclude_enterprises: list[str] = Field(default_factory=list)
    exclude_regions: list[str] = Field(default_factory=list, description="County codes to exclude")
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)


class WeightProfile(BaseModel):
    """A named, versioned set of component weights (weights sum to 1 so scores stay in [0, 1])."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    version: int = Field(ge=1)
    weights: dict[str, float]
    filters: MatchFilters = Field(default_factory=MatchFilters)

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = set(value) - set(COMPONENTS)
        if unknown:
            raise ValueError(f"unknown component(s) {sorted(unknown)}; known: {list(COMPONENTS)}")
        if any(w < 0 for w in value.values()):
            raise ValueError("weights must be non-negative")
        total = sum(value.values())
        if total <= 0:
            raise ValueError("at least one weight must be positive")
        return {c: value.get(c, 0.0) / total for c in COMPONENTS}


# Default weights, one reason each:
# product 0.40: the chain relation is the only signal that links 电解锰 to "锰源 for LMFP".
# text 0.15: descriptions refine within a node (grades, specs) but share words with distractors.
# distance 0.12: logistics cost matters for bulk materials, less for parts, so it is moderate.
# capacity 0.08: fit is often unknown (neutral), so it should nudge, not dominate.
# cross_region 0.10: the plans exist to build cross-region supply, so such pairs earn a bonus.
# policy 0.10: pairs on a chain a plan names are what the bureaus want surfaced first.
# standing 0.05: 链主 / 专精特新 status signals reliability but must not bury new suppliers.
DEFAULT_WEIGHTS: dict[str, float] = {
    "product": 0.40,
    "text": 0.15,
    "distance": 0.12,
    "capacity": 0.08,
    "cross_region": 0.10,
    "policy": 0.10,
    "standing": 0.05,
}
DEFAULT_PROFILE = WeightProfile(name="default", version=1, weights=DEFAULT_WEIGHTS)
