"""Request and response bodies of the tuning endpoints (weight profiles, feedback, graph suggestions)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from matching.tuning.evaluate import RankMetrics
from matching.tuning.feedback import FeedbackEvent
from matching.tuning.profiles import ProfileVersion
from matching.tuning.suggestions import GraphSuggestion
from matching.weights import COMPONENTS, MatchFilters, WeightProfile

EvalSetName = Literal["dev", "holdout", "blind2"]
WEIGHTS_EXAMPLE = {
    "product": 0.35,
    "text": 0.15,
    "distance": 0.17,
    "capacity": 0.08,
    "cross_region": 0.1,
    "policy": 0.1,
    "standing": 0.05,
}


def _check_weights(value: dict[str, float]) -> dict[str, float]:
    """Same rules as :class:`WeightProfile`: known components, non-negative, some positive."""
    try:
        WeightProfile(name="check", version=1, weights=value)
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        msg = errors()[0]["msg"] if callable(errors) else str(exc)
        raise ValueError(f"{msg.removeprefix('Value error, ')} (components: {', '.join(COMPONENTS)})") from exc
    return value


class ProposedWeights(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = Field(
        description="One weight per component; missing components weigh 0; normalised to sum to 1",
        examples=[WEIGHTS_EXAMPLE],
    )
    filters: MatchFilters | None = Field(default=None, description="Default: the current version's filters")

    _weights = field_validator("weights")(_check_weights)


class PublishBody(ProposedWeights):
    """A new version: weights, filters and why (the reason is the audit entry's 'why')."""

    reason: str = Field(min_length=1, max_length=2000, examples=["运输成本上升，提高距离权重"])
    expected_version: int | None = Field(
        default=None, ge=1, description="Optional: fail with 409 unless the latest version is this one"
    )


class ProfilePage(BaseModel):
    items: list[ProfileVersion]
    next_cursor: None = None


class ProfileHistory(BaseModel):
    """Every version, oldest first: the audit trail (who, when, why) of the profile."""

    name: str
    items: list[ProfileVersion]


class PreviewBody(ProposedWeights):
    k: int = Field(default=10, ge=1, le=50)
    sample: int | None = Field(default=100, ge=1, le=100_000, description="Needs to re-rank; null = all")
    seed: int = Field(default=0, ge=0, description="Sampling seed (same seed, same needs)")
    moves: int = Field(default=10, ge=0, le=100, description="How many of the most-moved pairs to return")
    eval_set: EvalSetName | None = Field(default="dev", description="Judged set for the offline deltas; null = skip")


class FitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    k: int = Field(default=5, ge=1, le=50)
    eval_set: EvalSetName | None = Field(default="dev", description="Judged set for before/after; null = skip")


class EvaluationOut(BaseModel):
    profile: str
    version: int
    items: list[RankMetrics]


class FeedbackRecord(BaseModel):
    """A stored outcome; ``created`` is false when the same event had already been recorded."""

    event: FeedbackEvent
    created: bool
    received_at: datetime
    seq: int


class FeedbackPage(BaseModel):
    items: list[FeedbackRecord]
    next_cursor: str | None = None


class SuggestionPage(BaseModel):
    """Proposed graph edits with evidence; nothing is applied without review."""

    items: list[GraphSuggestion]
    feedback_events: int
