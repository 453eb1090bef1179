"""Preview: what a proposed weighting does to the rankings before anyone publishes it.

For a deterministic sample of stored needs (or all of them) the engine ranks suppliers under the current
and the proposed profile. Per need: Kendall τ (scipy) between the current and proposed scores of the
current candidate list, and the top-k overlap of the two lists. Across needs: the pairs whose rank moves
most, each with both explanations, and the change in offline metrics on a judged evaluation set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field
from scipy.stats import kendalltau

from matching.results import Explanation, MatchItem, MatchResult
from matching.tuning.evaluate import RankMetrics, eval_set_metrics
from matching.tuning.pools import POOL_DEPTH, features_of, weight_vector
from matching.weights import WeightProfile


class NeedSource(Protocol):
    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10, weights: WeightProfile | None = None
    ) -> MatchResult: ...


class PairMove(BaseModel):
    """A pair whose rank changes, with its rank, score and explanation under each profile (null: not listed)."""

    buyer_id: str
    need_id: str | None
    supplier_id: str
    offer_id: str | None
    rank_current: int | None
    rank_proposed: int | None
    score_current: float | None
    score_proposed: float | None
    explanation_current: Explanation | None
    explanation_proposed: Explanation | None


class MetricsDelta(BaseModel):
    current: RankMetrics
    proposed: RankMetrics
    delta: dict[str, float] = Field(description="proposed − current for precision, mrr, ndcg")


class PreviewReport(BaseModel):
    profile: str
    current_version: int
    k: int
    needs: int = Field(description="Needs re-ranked")
    needs_total: int = Field(description="Needs in the index")
    kendall_tau: float | None = Field(description="Mean Kendall τ over needs with at least two candidates")
    top_k_overlap: float | None = Field(description="Mean share of the current top k still in the proposed top k")
    unchanged_top_k: int = Field(description="Needs whose top k is identical, in the same order")
    moves: list[PairMove]
    offline: MetricsDelta | None = None


def sample_needs(needs: Sequence[tuple[str, str]], sample: int | None, seed: int) -> list[tuple[str, str]]:
    """All needs, or ``sample`` of them drawn reproducibly (``seed``), in id order."""
    ordered = sorted(needs)
    if sample is None or sample >= len(ordered):
        return ordered
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(ordered), size=sample, replace=False).tolist())
    return [ordered[i] for i in picked]


def _key(item: MatchItem) -> tuple[str, str | None, str, str | None]:
    return (item.buyer.id, item.need_id, item.supplier.id, item.offer_id)


def preview(
    engine: NeedSource,
    needs: Sequence[tuple[str, str]],
    current: WeightProfile,
    proposed: WeightProfile,
    *,
    k: int = 10,
    sample: int | None = 100,
    seed: int = 0,
    moves: int = 10,
    eval_set: str | None = "dev",
    seeds_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PreviewReport:
    chosen = sample_needs(needs, sample, seed)
    depth = max(k, POOL_DEPTH)
    w_new = weight_vector(proposed)
    taus: list[float] = []
    overlaps: list[float] = []
    same = 0
    candidates: list[tuple[int, PairMove]] = []
    for done, (buyer, need) in enumerate(chosen, start=1):
        if progress is not None:
            progress(done, len(chosen))
        now = engine.suppliers_for(buyer, need, k=depth, weights=current).items
        new = engine.suppliers_for(buyer, need, k=depth, weights=proposed).items
        if len(now) >= 2:
            tau = kendalltau([it.score for it in now], features_of(now) @ w_new).statistic
            if not math.isnan(tau):
                taus.append(float(tau))
        top_now, top_new = [_key(i) for i in now[:k]], [_key(i) for i in new[:k]]
        if top_now:
            overlaps.append(len(set(top_now) & set(top_new)) / len(top_now))
        same += top_now == top_new
        by_now = {_key(i): i for i in now}
        by_new = {_key(i): i for i in new}
        for key in dict.fromkeys([*top_now, *top_new]):
            a, b = by_now.get(key), by_new.get(key)
            shift = abs((a.rank if a else depth + 1) - (b.rank if b else depth + 1))
            if shift:
                candidates.append((shift, _move(key, a, b)))
    candidates.sort(
        key=lambda sm: (-sm[0], sm[1].buyer_id, sm[1].need_id or "", sm[1].supplier_id, sm[1].offer_id or "")
    )
    offline = None
    if eval_set is not None:
        before = eval_set_metrics(current, eval_set, k, seeds_dir)
        after = eval_set_metrics(proposed, eval_set, k, seeds_dir)
        offline = MetricsDelta(
            current=before,
            proposed=after,
            delta={f: round(getattr(after, f) - getattr(before, f), 6) for f in ("precision", "mrr", "ndcg")},
        )
    return PreviewReport(
        profile=current.name,
        current_version=current.version,
        k=k,
        needs=len(chosen),
        needs_total=len(needs),
        kendall_tau=float(np.mean(taus)) if taus else None,
        top_k_overlap=float(np.mean(overlaps)) if overlaps else None,
        unchanged_top_k=same,
        moves=[m for _, m in candidates[:moves]],
        offline=offline,
    )


def _move(key: tuple[str, str | None, str, str | None], a: MatchItem | None, b: MatchItem | None) -> PairMove:
    return PairMove(
        buyer_id=key[0],
        need_id=key[1],
        supplier_id=key[2],
        offer_id=key[3],
        rank_current=a.rank if a else None,
        rank_proposed=b.rank if b else None,
        score_current=a.score if a else None,
        score_proposed=b.score if b else None,
        explanation_current=a.explanation if a else None,
        explanation_proposed=b.explanation if b else None,
    )
