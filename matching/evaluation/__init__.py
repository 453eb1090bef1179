"""Offline quality evaluation: a judged case set, ranking metrics, and a text-only baseline.

Each case set (``sets/<name>/corpus.yaml`` + ``cases.yaml``, see :data:`EVAL_SETS`) holds fictional
enterprise profiles and queries judged by hand with graded relevance (1–3). Any ranker with the engine's query API
(:class:`Matcher`: ``suppliers_for``, ``buyers_for``, ``match``) is evaluated the same way:

* a returned item matches a judgement when ``(enterprise id, item id)`` are equal; a judgement whose item
  is null matches any item of that enterprise (inferred buyers who posted no need);
* each judgement is credited once (a second hit on the same judgement counts as not relevant);
* precision@k and NDCG@k (linear gains = grades) use the top k; MRR uses the top ``max(k, 10)``.

:class:`TextBaseline` answers the same queries with character n-gram TF-IDF cosine only: no chain graph,
no distance, no filters (so no certification filter), only the same-enterprise exclusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from matching.evaluation.baseline import QUERY_PARTY_ID, TextBaseline
from matching.evaluation.cases import (
    EVAL_SETS,
    HARD_CASE_TAGS,
    MRR_DEPTH,
    Case,
    EvalSet,
    Hit,
    ItemRef,
    Judgement,
    Query,
    default_eval_dir,
    eval_set_dir,
    load_cases,
    load_corpus,
    load_eval_set,
    reference_problems,
)
from matching.evaluation.metrics import (
    CaseResult,
    EvalReport,
    Metrics,
    dcg_at_k,
    grade_hits,
    ndcg_at_k,
    precision_at_k,
    reciprocal_rank,
    score_case,
    summarise,
)
from matching.profiles import Enterprise, Need, Offer
from matching.results import MatchItem, MatchResult
from matching.weights import MatchFilters, WeightProfile

__all__ = [
    "EVAL_SETS",
    "HARD_CASE_TAGS",
    "MRR_DEPTH",
    "QUERY_PARTY_ID",
    "Case",
    "CaseResult",
    "EvalReport",
    "EvalSet",
    "Hit",
    "ItemRef",
    "Judgement",
    "Matcher",
    "Metrics",
    "Query",
    "TextBaseline",
    "build_engine",
    "dcg_at_k",
    "default_eval_dir",
    "eval_set_dir",
    "evaluate",
    "evaluate_baseline",
    "evaluate_engine",
    "grade_hits",
    "load_cases",
    "load_corpus",
    "load_eval_set",
    "ndcg_at_k",
    "precision_at_k",
    "reciprocal_rank",
    "reference_problems",
    "run_query",
    "score_case",
    "summarise",
]


# ── running a ranker over the cases ───────────────────────────────────────────────────────────────


class Matcher(Protocol):
    """The query API shared by :class:`matching.engine.MatchEngine` and :class:`TextBaseline`."""

    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult: ...

    def buyers_for(
        self, enterprise_id: str, offer_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult: ...

    def match(
        self, query: Need | Offer, *, region_code: str | None = None, certifications: list[str] | None = None,
        k: int = 10, weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult: ...


def run_query(matcher: Matcher, query: Query, depth: int) -> list[Hit]:
    """Ask ``matcher`` one case query; return the counterparts in rank order."""
    if query.need_of is not None:
        result = matcher.suppliers_for(query.need_of.enterprise, query.need_of.need, k=depth)
    elif query.buyers_of is not None:
        result = matcher.buyers_for(query.buyers_of.enterprise, query.buyers_of.offer, k=depth)
    elif query.need is not None:
        result = matcher.match(query.need.to_need(), region_code=query.region_code,
                               certifications=list(query.certifications), k=depth)
    else:
        assert query.offer is not None
        result = matcher.match(query.offer.to_offer(), region_code=query.region_code,
                               certifications=list(query.certifications), k=depth)
    return [_hit(item, query.direction) for item in result.items]


def _hit(item: MatchItem, direction: str) -> Hit:
    if direction == "suppliers":
        return (item.supplier.id, item.offer_id)
    return (item.buyer.id, item.need_id)


def evaluate(matcher: Matcher, eval_set: EvalSet, k: int = 5, system: str = "engine") -> EvalReport:
    """Run every case through ``matcher`` and score it."""
    depth = max(k, MRR_DEPTH)
    results = []
    for case in eval_set.cases:
        try:
            hits = run_query(matcher, case.query, depth)
        except Exception as exc:  # a failing case is reported, not fatal
            result = score_case(case, [], k).model_copy(update={"error": f"{type(exc).__name__}: {exc}"})
        else:
            result = score_case(case, hits, k)
        results.append(result)
    return summarise(system, k, results)


def build_engine(enterprises: Sequence[Enterprise], seeds_dir: Path | None = None) -> Matcher:
    """The real engine over ``enterprises`` with the repository's graph, regions and policy."""
    from matching.chains import load_graph
    from matching.engine import MatchEngine
    from matching.policy import Policy
    from matching.regions import RegionRegistry

    engine: Matcher = MatchEngine.build(
        load_graph(seeds_dir), RegionRegistry.load(seeds_dir), Policy.load(seeds_dir), list(enterprises)
    )
    return engine


def evaluate_engine(eval_set: EvalSet | None = None, k: int = 5, seeds_dir: Path | None = None) -> EvalReport:
    data = eval_set or load_eval_set()
    return evaluate(build_engine(data.enterprises, seeds_dir), data, k, "engine")


def evaluate_baseline(eval_set: EvalSet | None = None, k: int = 5) -> EvalReport:
    data = eval_set or load_eval_set()
    return evaluate(TextBaseline(data.enterprises), data, k, "baseline")

