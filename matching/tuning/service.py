"""Tuning glue over one :class:`matching.service.ChainmatchService`: used by the REST API and the CLI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from matching.errors import FieldError, InvalidInputError
from matching.evaluation import EVAL_SETS
from matching.params import DEFAULT_PARAMS
from matching.tuning.evaluate import RankMetrics, eval_set_metrics, feedback_metrics
from matching.tuning.feedback import FeedbackEvent, FeedbackStore, RecordResult
from matching.tuning.fit import FitResult, MinimumData, fit_weights
from matching.tuning.pools import Pool, build_pools
from matching.tuning.preview import PreviewReport, preview
from matching.tuning.profiles import ProfileVersion, parse_spec
from matching.tuning.suggestions import GraphSuggestion, suggest
from matching.weights import MatchFilters, WeightProfile

if TYPE_CHECKING:
    from matching.engine import MatchEngine
    from matching.service import ChainmatchService


class FitDraft(BaseModel):
    """Learned weights not yet published: publish them by creating a version with these weights."""

    name: str
    based_on_version: int
    status: str = Field(default="draft", description="Nothing is stored until an analyst publishes it")
    weights: dict[str, float]
    filters: MatchFilters
    fit: FitResult
    eval_before: RankMetrics | None = None
    eval_after: RankMetrics | None = None
    unscorable_pairs: int = Field(description="Feedback pairs the engine no longer proposes (not used)")


class TuningService:
    """Profiles, feedback, evaluation, fit, preview and graph suggestions."""

    def __init__(self, service: ChainmatchService) -> None:
        self.service = service
        self.profiles = service.profiles
        self.feedback = FeedbackStore(service.repository.engine)

    def engine(self) -> MatchEngine:
        self.service.sync()
        engine = self.service.engine
        if engine is None:
            raise RuntimeError("the matching index is not built")
        return engine

    # -- profiles -------------------------------------------------------------------------------
    def publish(
        self,
        name: str,
        weights: dict[str, float],
        filters: MatchFilters | None,
        *,
        reason: str,
        author: str,
        expected_version: int | None = None,
    ) -> ProfileVersion:
        engine = self.service.engine
        params_version = engine.params.version if engine is not None else DEFAULT_PARAMS.version
        return self.profiles.publish(
            name,
            weights,
            filters,
            reason=reason,
            author=author,
            params_version=params_version,
            expected_version=expected_version,
        )

    def version(self, spec: str) -> ProfileVersion:
        name, version = parse_spec(spec)
        return self.profiles.get(name, version)

    # -- feedback -------------------------------------------------------------------------------
    def record(self, event: FeedbackEvent, *, recorded_by: str) -> RecordResult:
        return self.feedback.record(event, recorded_by=recorded_by)

    def events(self) -> list[FeedbackEvent]:
        return [s.event for s in self.feedback.all()]

    def pools(self) -> tuple[list[Pool], int]:
        pools, lost = build_pools(self.engine(), self.events())
        return pools, len(lost)

    # -- evaluate / fit / preview ---------------------------------------------------------------
    def evaluate(self, spec: str, *, k: int = 5, sets: Sequence[str] = ("feedback", "dev")) -> list[RankMetrics]:
        """Metrics of one profile version against feedback and/or shipped evaluation sets."""
        unknown = [s for s in sets if s != "feedback" and s not in EVAL_SETS]
        if unknown or not sets:
            known = ", ".join(("feedback", *EVAL_SETS))
            raise InvalidInputError("unknown evaluation set", [FieldError("sets", f"use one or more of {known}")])
        profile = self.version(spec).profile()
        out = []
        for name in sets:
            if name == "feedback":
                out.append(feedback_metrics(self.pools()[0], profile, k))
            else:
                out.append(eval_set_metrics(profile, name, k))
        return out

    def fit(self, name: str, *, k: int = 5, eval_set: str | None = "dev", rule: MinimumData | None = None) -> FitDraft:
        current = self.profiles.get(name)
        pools, lost = self.pools()
        result = fit_weights(pools, current.profile(), k=k, rule=rule)
        draft = FitDraft(
            name=name,
            based_on_version=current.version,
            weights=result.weights,
            filters=current.filters,
            fit=result,
            unscorable_pairs=lost,
        )
        if eval_set is not None:
            proposed = WeightProfile(name=name, version=current.version + 1, weights=result.weights)
            draft.eval_before = eval_set_metrics(current.profile(), eval_set, k)
            draft.eval_after = eval_set_metrics(proposed, eval_set, k)
        return draft

    def needs(self) -> list[tuple[str, str]]:
        """Every indexed (enterprise, need), read from the need columns (no profile is parsed)."""
        engine = self.engine()
        ids = engine.index.needs.item_id
        return [(eid, str(ids[r])) for eid, rec in engine.index.records.items() for r in rec.need_rows]

    def preview(
        self,
        name: str,
        weights: dict[str, float],
        filters: MatchFilters | None = None,
        *,
        k: int = 10,
        sample: int | None = 100,
        seed: int = 0,
        moves: int = 10,
        eval_set: str | None = "dev",
        progress: Callable[[int, int], None] | None = None,
    ) -> PreviewReport:
        current = self.profiles.get(name)
        try:
            proposed = WeightProfile(
                name=name, version=current.version + 1, weights=weights, filters=filters or current.filters
            )
        except ValueError as exc:
            raise InvalidInputError("bad weights", [FieldError("weights", str(exc).splitlines()[-1])]) from exc
        return preview(
            self.engine(),
            self.needs(),
            current.profile(),
            proposed,
            k=k,
            sample=sample,
            seed=seed,
            moves=moves,
            eval_set=eval_set,
            progress=progress,
        )

    # -- knowledge from outcomes ----------------------------------------------------------------
    def suggestions(self, *, min_support: int = 2) -> list[GraphSuggestion]:
        return suggest(self.service.graph, self.engine(), self.events(), min_support=min_support)
