"""Candidate pools: per query (buyer, need) the engine's candidates with their component scores.

The engine recomputes every component; re-ranking a pool under other weights is then a dot product, so
cross-validation and previews never re-run candidate generation. A feedback pair matches a pool entry when
the supplier is equal and the offer (and need) are equal or unspecified in the feedback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from matching.errors import ChainmatchError
from matching.results import MatchItem, MatchResult
from matching.tuning.feedback import FeedbackEvent, PairKey, pair_labels
from matching.weights import COMPONENTS, DEFAULT_PROFILE, WeightProfile

POOL_DEPTH = 50
"""Candidates kept per query: deeper than any k an analyst evaluates, shallow enough to stay fast."""

GroupKey = tuple[str, str | None]


class SupplierRanker(Protocol):
    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10, weights: WeightProfile | None = None
    ) -> MatchResult: ...


@dataclass
class Pool:
    """One query's candidates: ids, the component matrix (rows × COMPONENTS) and graded labels (−1: none)."""

    buyer_id: str
    need_id: str | None
    items: list[MatchItem]
    features: np.ndarray
    labels: np.ndarray
    unmatched: list[PairKey] = field(default_factory=list)

    @property
    def key(self) -> GroupKey:
        return (self.buyer_id, self.need_id)

    def judged(self) -> np.ndarray:
        return np.flatnonzero(self.labels >= 0)


def weight_vector(profile: WeightProfile | dict[str, float]) -> np.ndarray:
    weights = profile.weights if isinstance(profile, WeightProfile) else profile
    return np.array([float(weights.get(c, 0.0)) for c in COMPONENTS])


def features_of(items: Sequence[MatchItem]) -> np.ndarray:
    return np.array([[float(it.components.get(c, 0.0)) for c in COMPONENTS] for it in items]).reshape(
        len(items), len(COMPONENTS)
    )


def rank_order(pool: Pool, w: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``pool`` best first under weights ``w`` (ties by the engine's order, itself by ids)."""
    sel = np.arange(len(pool.items)) if rows is None else rows
    scores = np.round(pool.features[sel] @ w, 6)
    return sel[np.lexsort((sel, -scores))]


def _matches(item: MatchItem, pair: PairKey) -> bool:
    _buyer, need, supplier, offer = pair
    return (
        item.supplier.id == supplier
        and (offer is None or item.offer_id == offer)
        and (need is None or item.need_id == need)
    )


def build_pools(
    ranker: SupplierRanker,
    events: Sequence[FeedbackEvent],
    *,
    depth: int = POOL_DEPTH,
    profile: WeightProfile = DEFAULT_PROFILE,
) -> tuple[list[Pool], list[PairKey]]:
    """Pools for every (buyer, need) with feedback, labelled from the events; and the pairs that are not
    among the engine's candidates (unknown party, or the engine no longer proposes them)."""
    labels = pair_labels(events)
    groups: dict[GroupKey, list[PairKey]] = {}
    for pair in labels:
        groups.setdefault((pair[0], pair[1]), []).append(pair)
    pools: list[Pool] = []
    lost: list[PairKey] = []
    for (buyer, need), pairs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        try:
            items = ranker.suppliers_for(buyer, need, k=depth, weights=profile).items
        except ChainmatchError:
            lost.extend(pairs)
            continue
        y = np.full(len(items), -1, dtype=np.int64)
        unmatched = []
        for pair in pairs:
            hit = [i for i, it in enumerate(items) if _matches(it, pair)]
            if not hit:
                unmatched.append(pair)
            for i in hit:
                y[i] = max(int(y[i]), labels[pair])
        lost.extend(unmatched)
        pools.append(Pool(buyer, need, list(items), features_of(items), y, unmatched))
    return pools, lost


def pools_for_queries(
    ranker: SupplierRanker,
    queries: Iterable[GroupKey],
    *,
    depth: int = POOL_DEPTH,
    profile: WeightProfile = DEFAULT_PROFILE,
) -> list[Pool]:
    """Unlabelled pools for the given (buyer, need) queries (for previews)."""
    pools = []
    for buyer, need in queries:
        items = ranker.suppliers_for(buyer, need, k=depth, weights=profile).items
        pools.append(Pool(buyer, need, list(items), features_of(items), np.full(len(items), -1)))
    return pools
