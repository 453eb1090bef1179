"""Ranking metrics over judged cases: precision, MRR, NDCG, hit@3 and recall; overall, per tag, per direction."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, Field

from matching.errors import NotFoundError
from matching.evaluation.cases import MRR_DEPTH, Case, Hit, Judgement

# ── metrics ───────────────────────────────────────────────────────────────────────────────────────


def grade_hits(hits: Sequence[Hit], relevant: Sequence[Judgement]) -> list[int]:
    """The grade earned at each rank; a judgement is credited once, exact-item judgements first."""
    used: set[int] = set()
    gains: list[int] = []
    order = sorted(range(len(relevant)), key=lambda i: (relevant[i].item is None, -relevant[i].grade, i))
    for hit in hits:
        gain = 0
        for i in order:
            if i not in used and relevant[i].matches(hit):
                used.add(i)
                gain = relevant[i].grade
                break
        gains.append(gain)
    return gains


def precision_at_k(gains: Sequence[float], k: int) -> float:
    """Share of the k slots holding a relevant item (an empty slot counts as not relevant)."""
    if k <= 0:
        raise ValueError("k must be positive")
    return sum(1 for g in gains[:k] if g > 0) / k


def reciprocal_rank(gains: Sequence[float]) -> float:
    """1 / rank of the first relevant item, 0 when none is found."""
    for rank, g in enumerate(gains, start=1):
        if g > 0:
            return 1.0 / rank
    return 0.0


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    """Discounted cumulative gain with linear gains: Σ g_i / log2(i + 1), i from 1."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg_at_k(gains: Sequence[float], ideal_grades: Sequence[float], k: int) -> float:
    """DCG@k over the ideal DCG@k of all judged grades (0 when nothing is judged relevant)."""
    ideal = dcg_at_k(sorted(ideal_grades, reverse=True), k)
    return dcg_at_k(gains, k) / ideal if ideal > 0 else 0.0


class Metrics(BaseModel):
    """Mean metrics over a group of cases."""

    cases: int
    precision: float
    mrr: float
    ndcg: float
    distractor_rate: float = Field(description="Share of cases with a judged distractor in the top k")
    hit3: float = Field(0.0, description="Share of cases with a relevant item in the top 3")
    recall: float = Field(0.0, description="Mean share of the judged relevant items found in the top k")

    @classmethod
    def mean(cls, results: Sequence[CaseResult]) -> Metrics:
        n = len(results)
        if n == 0:
            return cls(cases=0, precision=0.0, mrr=0.0, ndcg=0.0, distractor_rate=0.0, hit3=0.0, recall=0.0)
        return cls(
            cases=n,
            precision=sum(r.precision for r in results) / n,
            mrr=sum(r.rr for r in results) / n,
            ndcg=sum(r.ndcg for r in results) / n,
            distractor_rate=sum(1 for r in results if r.distractor_hits) / n,
            hit3=sum(r.hit3 for r in results) / n,
            recall=sum(r.recall for r in results) / n,
        )


class CaseResult(BaseModel):
    """One case's ranking and scores."""

    id: str
    tags: list[str]
    direction: str = Field("suppliers", description="suppliers (the list ranks offers) or buyers")
    hits: list[tuple[str, str | None]]
    gains: list[int]
    precision: float
    rr: float
    ndcg: float
    hit3: float = 0.0
    recall: float = 0.0
    distractor_hits: list[tuple[str, str | None]] = Field(description="Judged distractors in the top k")
    must_not_hits: list[tuple[str, str | None]] = Field(description="Forbidden items in the top k")
    error: str | None = None


class EvalReport(BaseModel):
    """Per-case results, the overall mean and a per-tag breakdown for one system."""

    system: str
    k: int
    cases: list[CaseResult]
    overall: Metrics
    by_tag: dict[str, Metrics]
    by_direction: dict[str, Metrics] = Field(default_factory=dict)

    def result(self, case_id: str) -> CaseResult:
        for r in self.cases:
            if r.id == case_id:
                return r
        raise NotFoundError("case result", case_id)


def score_case(case: Case, hits: Sequence[Hit], k: int) -> CaseResult:
    """Metrics of one ranked list against a case's judgements."""
    gains = grade_hits(hits, case.relevant)
    top = list(hits[:k])
    return CaseResult(
        id=case.id,
        tags=list(case.tags),
        direction=case.query.direction,
        hit3=1.0 if any(g > 0 for g in gains[:3]) else 0.0,
        recall=sum(1 for g in gains[:k] if g > 0) / len(case.relevant),
        hits=list(hits),
        gains=gains,
        precision=precision_at_k(gains, k),
        rr=reciprocal_rank(gains[:MRR_DEPTH]),
        ndcg=ndcg_at_k(gains, [j.grade for j in case.relevant], k),
        distractor_hits=[h for h in top if any(d.matches(h) for d in case.distractors)],
        must_not_hits=[h for h in top if any(m.matches(h) for m in case.must_not)],
    )


def summarise(system: str, k: int, results: Sequence[CaseResult]) -> EvalReport:
    groups: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        for tag in r.tags:
            groups[tag].append(r)
    return EvalReport(
        system=system,
        k=k,
        cases=list(results),
        overall=Metrics.mean(results),
        by_tag={tag: Metrics.mean(groups[tag]) for tag in sorted(groups)},
        by_direction={d: Metrics.mean([r for r in results if r.direction == d])
                      for d in ("suppliers", "buyers") if any(r.direction == d for r in results)},
    )

