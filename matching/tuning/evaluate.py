"""Offline metrics for any weight profile: against feedback labels and against the judged evaluation sets.

Feedback: within each (buyer, need) query with at least one positive label, the judged pairs are ordered
by the profile's score and scored with the graded ladder as gains (unjudged candidates are skipped, as in
judged-only evaluation). Evaluation sets: the engine answers every case under the profile
(:func:`matching.evaluation.evaluate`). Both report precision@k, MRR and NDCG@k.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from matching.evaluation import EvalSet, Matcher, evaluate, load_eval_set, ndcg_at_k, precision_at_k, reciprocal_rank
from matching.evaluation.cases import eval_set_dir
from matching.profiles import Need, Offer
from matching.results import MatchResult
from matching.tuning.pools import Pool, rank_order, weight_vector
from matching.weights import MatchFilters, WeightProfile


class RankMetrics(BaseModel):
    """Mean precision@k, MRR and NDCG@k over ``queries`` queries."""

    source: str
    k: int
    queries: int
    precision: float
    mrr: float
    ndcg: float


def pool_gains(pool: Pool, w: np.ndarray) -> list[int]:
    """Labels of the judged pairs in the order weights ``w`` rank them."""
    order = rank_order(pool, w, pool.judged())
    return [int(g) for g in pool.labels[order]]


def feedback_metrics(
    pools: Sequence[Pool], weights: WeightProfile | dict[str, float] | np.ndarray, k: int = 5
) -> RankMetrics:
    w = weights if isinstance(weights, np.ndarray) else weight_vector(weights)
    p, rr, nd = [], [], []
    for pool in pools:
        judged = pool.labels[pool.judged()]
        if not (judged > 0).any():
            continue
        gains = pool_gains(pool, w)
        p.append(precision_at_k(gains, k))
        rr.append(reciprocal_rank(gains))
        nd.append(ndcg_at_k(gains, [int(g) for g in judged], k))
    n = len(nd)
    return RankMetrics(source="feedback", k=k, queries=n, precision=_mean(p), mrr=_mean(rr), ndcg=_mean(nd))


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0


class _WithProfile:
    """A matcher that answers every query under one weight profile."""

    def __init__(self, engine: Matcher, profile: WeightProfile) -> None:
        self.engine, self.profile = engine, profile

    def suppliers_for(
        self,
        enterprise_id: str,
        need_id: str | None = None,
        *,
        k: int = 10,
        weights: WeightProfile | None = None,
        filters: MatchFilters | None = None,
    ) -> MatchResult:
        return self.engine.suppliers_for(enterprise_id, need_id, k=k, weights=self.profile, filters=filters)

    def buyers_for(
        self,
        enterprise_id: str,
        offer_id: str | None = None,
        *,
        k: int = 10,
        weights: WeightProfile | None = None,
        filters: MatchFilters | None = None,
    ) -> MatchResult:
        return self.engine.buyers_for(enterprise_id, offer_id, k=k, weights=self.profile, filters=filters)

    def match(
        self,
        query: Need | Offer,
        *,
        region_code: str | None = None,
        certifications: list[str] | None = None,
        k: int = 10,
        weights: WeightProfile | None = None,
        filters: MatchFilters | None = None,
    ) -> MatchResult:
        return self.engine.match(
            query, region_code=region_code, certifications=certifications, k=k, weights=self.profile, filters=filters
        )


@lru_cache(maxsize=4)
def eval_engine(set_name: str, seeds_dir: Path | None = None) -> tuple[EvalSet, Matcher]:
    """A shipped evaluation set and the real engine over its corpus (built once per process)."""
    from matching.evaluation import build_engine

    data = load_eval_set(eval_set_dir(set_name) / "cases.yaml")
    return data, build_engine(data.enterprises, seeds_dir)


def eval_set_metrics(
    profile: WeightProfile, set_name: str = "dev", k: int = 5, seeds_dir: Path | None = None
) -> RankMetrics:
    data, engine = eval_engine(set_name, seeds_dir)
    report = evaluate(_WithProfile(engine, profile), data, k, system=f"{profile.name}@{profile.version}")
    o = report.overall
    return RankMetrics(source=f"eval:{set_name}", k=k, queries=o.cases, precision=o.precision, mrr=o.mrr, ndcg=o.ndcg)
