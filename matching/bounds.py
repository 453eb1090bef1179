"""Upper bounds of candidate pairs' scores, so that a single query fully scores only the pairs that can
reach its top k.

A bound takes each component exactly where it needs only the two parties' columns and texts (text,
distance, capacity, cross-region, standing) and from above where it needs the relevance rules. Product
never exceeds the pair's best graph relation ``g`` through the demand's node relevance, combined as head
and purpose combine (``1 − (1 − g)²``), nor the strongest text factor times the text. Policy never exceeds
1. The engine scores candidates in falling bound order and stops once :func:`settled` holds, so the list is
the one that scoring every candidate gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from matching.columns import pair_dots
from matching.components import capacity_score
from matching.county_terms import county_table
from matching.item_index import ItemIndex
from matching.ranking import Scored, served_hits
from matching.relation_matrix import KIND_TEXT
from matching.sides import Side

SCORE_SLACK = 1e-6
"""Scores are rounded to 6 decimals, which may lift one by up to half of this above its exact sum."""


@dataclass
class PairBounds:
    """Per candidate pair: an upper bound of its score, and whether it could serve its demand outright
    (a same-node or specialisation pair at the ``served`` level, which demotes the demand's text pairs)."""

    total: np.ndarray
    may_serve: np.ndarray


def pair_bounds(index: ItemIndex, demand: Side, nodes: sp.csr_matrix, di: np.ndarray, rows: np.ndarray,
                weights: Mapping[str, float]) -> PairBounds:
    """Bounds of the pairs ``(demand[di], offer row rows)``; ``nodes`` is the demands' relevance to each
    supply node (:func:`matching.candidates.supply_candidates_with_nodes`)."""
    offers, p = index.offers, index.params
    uniq, si = np.unique(rows, return_inverse=True)
    slots = offers.ent.view[uniq].astype(np.int64)[si]
    head_nodes, head_conf = offers.head_nodes.view[uniq][si], offers.head_conf.view[uniq][si]
    relevance = nodes.toarray()[di[:, None], np.maximum(head_nodes, 0)]
    graph = np.where(head_nodes >= 0, relevance * head_conf, 0.0).max(axis=1, initial=0.0).astype(np.float64)
    text = np.clip(pair_dots(demand.text, offers.text.rows(uniq), di, si), 0.0, 1.0)
    text_factor = max(p.text_relation_factor, p.linked_text_factor, p.weak_link_text_factor)
    product = np.minimum(1.0, np.maximum(np.where(graph >= 1.0, 1.0, graph * (2.0 - graph)), text_factor * text))
    distance, cross = _party_terms(index, demand, di, slots)
    exact = {
        "product": product, "text": text, "distance": distance,
        "capacity": capacity_score(offers.qty.view[uniq][si], offers.qty_dim.view[uniq][si], demand.qty[di],
                                   demand.qty_dim[di]),
        "cross_region": cross,
        "policy": np.ones(len(di)), "standing": index.ent_standing.view[slots].astype(np.float64),
    }
    total = np.full(len(di), SCORE_SLACK)
    for component, column in exact.items():
        total += weights.get(component, 0.0) * column
    return PairBounds(total=total, may_serve=(graph > 0) & (product >= p.served))


def _party_terms(index: ItemIndex, demand: Side, di: np.ndarray, slots: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``(distance, cross-region)`` of each pair, looked up per county for each demand of the block."""
    counties = county_table(index.regions)
    county = counties.indices(index.ent_code.view[slots])
    distance, cross = np.empty(len(di)), np.empty(len(di))
    for d in np.unique(di).tolist():
        at = di == d
        by_county = counties.terms(float(demand.lat[d]), float(demand.lon[d]), int(demand.code[d]))
        distance[at], cross[at] = by_county[0][county[at]], by_county[1][county[at]]
    return distance, cross


def certain_kth(scored: Scored, keep: np.ndarray, k: int, served: float, rest_may_serve: np.ndarray
                ) -> tuple[float | None, float]:  # fmt: skip
    """``(k-th main score, best doubtful score)`` of the pairs scored so far (``None``: fewer than k main).

    ``scored`` holds the pairs scored so far (backfill already marked among them), ``keep`` those a list
    may hold and ``rest_may_serve`` the demands an unscored pair could serve. A text pair of such a demand
    is doubtful: it could still turn into backfill, so it does not count towards the k.
    """
    main = keep & ~scored.backfill
    unsure = np.setdiff1d(rest_may_serve, scored.di[served_hits(scored, served)])
    doubtful = main & (scored.kind == KIND_TEXT) & np.isin(scored.di, unsure)
    certain = scored.score[main & ~doubtful]
    doubt = float(scored.score[doubtful].max()) if doubtful.any() else -np.inf
    if len(certain) < k:
        return None, doubt
    return float(-np.partition(-certain, k - 1)[k - 1]), doubt


def settled(scored: Scored, keep: np.ndarray, k: int, served: float, rest_max: float,
            rest_may_serve: np.ndarray) -> bool:
    """Whether the top k of the scored pairs is the top k of every candidate: the k-th main score
    (:func:`certain_kth`) beats ``rest_max``, the highest bound among the unscored pairs, and every
    doubtful text pair ranks below it."""
    kth, doubt = certain_kth(scored, keep, k, served, rest_may_serve)
    return kth is not None and kth > rest_max and doubt < kth
