"""Scored pairs → ranked lists: the served rule, explicit-over-inferred de-duplication, and top-k.

Ties break by ids (supplier, offer, buyer, need), so the same inputs always give the same list. Backfill
pairs (weak text, near-textless siblings, look-alikes of an already served demand) only fill a list that
would otherwise be shorter than k.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from matching.array_sets import unique
from matching.relation_matrix import KIND_TEXT
from matching.relevance import SAME, SPEC


@dataclass
class Scored:
    """Kept candidate pairs with their scores (indices into the demand and supply blocks)."""

    di: np.ndarray
    si: np.ndarray
    score: np.ndarray
    backfill: np.ndarray
    kind: np.ndarray
    product: np.ndarray
    inferred: np.ndarray
    buyer: np.ndarray  # buyer slot (−1: the querying party)
    supply_row: np.ndarray  # offer row (−1: the querying party's offer)


def mark_served(s: Scored, served: float) -> None:
    """Text-only pairs of a demand the graph already serves with the very product asked become backfill."""
    hit = ((s.kind == SAME) | (s.kind == SPEC)) & (s.product >= served)
    done = unique(s.di[hit])
    s.backfill |= (s.kind == KIND_TEXT) & np.isin(s.di, done)


def dedupe(s: Scored) -> np.ndarray:
    """Indices to keep: inferred pairs give way to explicit ones for the same offer and buyer, and one
    inferred pair (the best) remains per offer and buyer."""
    n = len(s.di)
    if n == 0:
        return np.zeros(0, np.int64)
    if not s.inferred.any():  # explicit needs only (a single need's list): nothing gives way
        return np.arange(n)
    key = s.supply_row.astype(np.int64) * (1 << 32) + (s.buyer.astype(np.int64) + 1)
    explicit_keys = unique(key[~s.inferred])
    keep = ~s.inferred | ~np.isin(key, explicit_keys)
    inf = np.flatnonzero(keep & s.inferred)
    if len(inf):
        order = inf[np.lexsort((-s.score[inf], key[inf]))]
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = key[order][1:] != key[order][:-1]
        keep[inf] = False
        keep[order[first]] = True
    return np.flatnonzero(keep)


def top_k(s: Scored, idx: np.ndarray, k: int, tie_keys: Callable[[np.ndarray], list[np.ndarray]]) -> np.ndarray:
    """The ranked pair indices (main pairs first, backfill only to fill up to k), best first.

    ``tie_keys(sel)`` gives the id columns that break ties among ``sel``; it is asked only for the pairs
    that can still reach the top k (score at least the k-th best), so ids are never built for thousands.
    """
    if len(idx) == 0:
        return idx

    def contenders(sel: np.ndarray, n: int) -> np.ndarray:
        if n <= 0:
            return sel[:0]
        if len(sel) > n:
            kth = np.partition(-s.score[sel], n - 1)[n - 1]
            sel = sel[-s.score[sel] <= kth]
        return sel

    def ordered(sel: np.ndarray) -> np.ndarray:
        keys = tie_keys(sel)
        return sel[np.lexsort((*reversed(keys), -s.score[sel]))]

    main = ordered(contenders(idx[~s.backfill[idx]], k))[:k]
    spare = ordered(contenders(idx[s.backfill[idx]], k - len(main)))[: max(0, k - len(main))]
    return ordered(np.concatenate([main, spare]))
