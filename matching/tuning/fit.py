"""Learn component weights from feedback (a pairwise linear ranker, non-negative, cross-validated).

Within each query, every two judged pairs with different grades give one training row: the difference of
their component vectors, with the grade difference as target. A non-negative ridge regression without
intercept (scikit-learn ``Ridge(positive=True)``) fits weights whose dot product orders the pairs like the
outcomes did; the weights are then normalised to sum to 1. The ridge strength is chosen by grouped
cross-validation (``GroupKFold`` by buyer, so one buyer's habits never leak between train and test) on
held-out NDCG@k. Too little feedback is refused (:class:`InsufficientFeedbackError`) rather than fitted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field
from sklearn.linear_model import Ridge
from sklearn.model_selection import GroupKFold

from matching.errors import FieldError, InvalidInputError
from matching.tuning.evaluate import RankMetrics, feedback_metrics
from matching.tuning.pools import Pool, weight_vector
from matching.weights import COMPONENTS, WeightProfile

ALPHAS: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)


@dataclass(frozen=True)
class MinimumData:
    """The least feedback a fit accepts: below it, weights would follow noise."""

    judged_pairs: int = 30
    queries: int = 8
    buyers: int = 4
    folds: int = 4


class InsufficientFeedbackError(InvalidInputError):
    """Too little usable feedback to fit weights (HTTP 422, naming what is missing)."""


class FitResult(BaseModel):
    """A draft: learned weights with metrics before (current profile) and after, in and out of sample."""

    weights: dict[str, float]
    alpha: float = Field(description="Chosen ridge strength")
    training_rows: int = Field(description="Pairwise preference rows")
    judged_pairs: int
    queries: int
    buyers: int
    before: RankMetrics = Field(description="Current profile on all feedback")
    after: RankMetrics = Field(description="Fitted weights on all feedback (in sample)")
    cv_before: RankMetrics = Field(description="Current profile on the held-out folds")
    cv_after: RankMetrics = Field(description="Weights fitted without each held-out fold, on that fold")


def preference_rows(pools: Sequence[Pool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(differences, grade margins, pool index) for every ordered judged pair with different grades."""
    xs, ys, gs = [], [], []
    for g, pool in enumerate(pools):
        rows = pool.judged()
        for a in rows.tolist():
            for b in rows.tolist():
                if pool.labels[a] > pool.labels[b]:
                    xs.append(pool.features[a] - pool.features[b])
                    ys.append(float(pool.labels[a] - pool.labels[b]))
                    gs.append(g)
    n = len(COMPONENTS)
    return (np.array(xs).reshape(-1, n), np.array(ys), np.array(gs, dtype=np.int64))


def _solve(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    model = Ridge(alpha=alpha, positive=True, fit_intercept=False)
    model.fit(x, y)
    coef: np.ndarray = np.maximum(model.coef_, 0.0)
    total = coef.sum()
    return coef / total if total > 0 else coef


def check_minimum(pools: Sequence[Pool], rule: MinimumData) -> None:
    judged = sum(len(p.judged()) for p in pools)
    useful = [p for p in pools if len(set(p.labels[p.judged()].tolist())) > 1]
    buyers = {p.buyer_id for p in useful}
    problems = []
    if judged < rule.judged_pairs:
        problems.append(f"{judged} judged pairs the engine can score; need at least {rule.judged_pairs}")
    if len(useful) < rule.queries:
        problems.append(f"{len(useful)} queries with differently graded pairs; need at least {rule.queries}")
    if len(buyers) < max(rule.buyers, rule.folds):
        problems.append(f"{len(buyers)} buyers with usable feedback; need at least {max(rule.buyers, rule.folds)}")
    if problems:
        raise InsufficientFeedbackError(
            "too little feedback to fit weights: " + "; ".join(problems),
            [FieldError("feedback", p) for p in problems],
        )


def fit_weights(
    pools: Sequence[Pool], current: WeightProfile, *, k: int = 5, rule: MinimumData | None = None
) -> FitResult:
    """Fit weights on labelled pools; raises :class:`InsufficientFeedbackError` below ``rule``."""
    rule = rule or MinimumData()
    check_minimum(pools, rule)
    useful = [p for p in pools if len(set(p.labels[p.judged()].tolist())) > 1]
    x, y, g = preference_rows(useful)
    buyers = np.array([useful[i].buyer_id for i in g])
    folds = list(GroupKFold(n_splits=rule.folds).split(x, y, groups=buyers))
    w_now = weight_vector(current)
    best: tuple[float, float] | None = None
    for alpha in ALPHAS:
        held: list[float] = []
        for train, test in folds:
            w = _solve(x[train], y[train], alpha)
            test_pools = [useful[i] for i in np.unique(g[test]).tolist()]
            held.append(feedback_metrics(test_pools, w if w.sum() > 0 else w_now, k).ndcg)
        score = float(np.mean(held))
        if best is None or score > best[0] + 1e-12:
            best = (score, alpha)
    assert best is not None
    alpha = best[1]
    w_fit = _solve(x, y, alpha)
    if w_fit.sum() <= 0:
        raise InsufficientFeedbackError(
            "feedback carries no usable signal: no non-negative weighting orders the pairs as the outcomes did",
            [FieldError("feedback", "every fitted weight is zero")],
        )
    cv_before, cv_after = [], []
    for train, test in folds:
        test_pools = [useful[i] for i in np.unique(g[test]).tolist()]
        w = _solve(x[train], y[train], alpha)
        cv_before.append(feedback_metrics(test_pools, w_now, k))
        cv_after.append(feedback_metrics(test_pools, w if w.sum() > 0 else w_now, k))
    return FitResult(
        weights={c: float(v) for c, v in zip(COMPONENTS, w_fit, strict=True)},
        alpha=alpha,
        training_rows=len(y),
        judged_pairs=sum(len(p.judged()) for p in pools),
        queries=len(useful),
        buyers=len({p.buyer_id for p in useful}),
        before=feedback_metrics(pools, w_now, k),
        after=feedback_metrics(pools, w_fit, k),
        cv_before=_pooled(cv_before, k),
        cv_after=_pooled(cv_after, k),
    )


def _pooled(parts: Sequence[RankMetrics], k: int) -> RankMetrics:
    n = sum(p.queries for p in parts)

    def avg(field: str) -> float:
        return sum(getattr(p, field) * p.queries for p in parts) / n if n else 0.0

    return RankMetrics(
        source="feedback (held out)", k=k, queries=n, precision=avg("precision"), mrr=avg("mrr"), ndcg=avg("ndcg")
    )
