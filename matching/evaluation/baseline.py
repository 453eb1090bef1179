"""The text-only baseline every quality claim is compared with."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from matching.errors import NotFoundError
from matching.profiles import Enterprise, Need, Offer
from matching.results import Explanation, MatchItem, MatchResult, Party
from matching.weights import MatchFilters, WeightProfile

QUERY_PARTY_ID = "query"

# ── text-only baseline ────────────────────────────────────────────────────────────────────────────


def _normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def item_text(product: str, description: str | None) -> str:
    """Text of an offer or need; the product name counts twice (it is the strongest field)."""
    return f"{product} {product} {description or ''}"


class TextBaseline:
    """Character 1–3-gram TF-IDF cosine over all counterpart items. No graph, no distance, no filters.

    The buyer direction ranks posted needs only, so it cannot find buyers who posted none.
    """

    def __init__(self, enterprises: Iterable[Enterprise]) -> None:
        self.enterprises_: dict[str, Enterprise] = {e.id: e for e in enterprises}
        self.offer_refs_: list[tuple[Enterprise, Offer]] = [
            (e, o) for e in self.enterprises_.values() for o in e.offers
        ]
        self.need_refs_: list[tuple[Enterprise, Need]] = [
            (e, n) for e in self.enterprises_.values() for n in e.needs
        ]
        offer_texts = [item_text(o.product, o.description) for _, o in self.offer_refs_]
        need_texts = [item_text(n.product, n.description) for _, n in self.need_refs_]
        self.vectorizer_ = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), preprocessor=_normalise, sublinear_tf=True
        )
        self.vectorizer_.fit(offer_texts + need_texts)
        self.offer_matrix_ = self.vectorizer_.transform(offer_texts)
        self.need_matrix_ = self.vectorizer_.transform(need_texts)

    def _enterprise(self, enterprise_id: str) -> Enterprise:
        try:
            return self.enterprises_[enterprise_id]
        except KeyError:
            raise NotFoundError("enterprise", enterprise_id) from None

    def suppliers_for(
        self, enterprise_id: str, need_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        ent = self._enterprise(enterprise_id)
        needs = [n for n in ent.needs if need_id is None or n.id == need_id]
        if not needs:
            raise NotFoundError("need", f"{enterprise_id}/{need_id}")
        me = _party(ent)
        scored = [(s, sup, me, o.id, n.id) for n in needs for s, sup, o in self._offers_like(n, ent.id)]
        return _result(scored, k)

    def buyers_for(
        self, enterprise_id: str, offer_id: str | None = None, *, k: int = 10,
        weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        ent = self._enterprise(enterprise_id)
        offers = [o for o in ent.offers if offer_id is None or o.id == offer_id]
        if not offers:
            raise NotFoundError("offer", f"{enterprise_id}/{offer_id}")
        me = _party(ent)
        scored = [(s, me, buy, o.id, n.id) for o in offers for s, buy, n in self._needs_like(o, ent.id)]
        return _result(scored, k)

    def match(
        self, query: Need | Offer, *, region_code: str | None = None, certifications: list[str] | None = None,
        k: int = 10, weights: WeightProfile | None = None, filters: MatchFilters | None = None,
    ) -> MatchResult:
        me = Party(id=QUERY_PARTY_ID, name="查询", region_code=region_code)
        if isinstance(query, Need):
            return _result([(s, sup, me, o.id, query.id) for s, sup, o in self._offers_like(query, None)], k)
        return _result([(s, me, buy, query.id, n.id) for s, buy, n in self._needs_like(query, None)], k)

    def _offers_like(self, need: Need, exclude: str | None) -> list[tuple[float, Party, Offer]]:
        sims = self._cosines(need.product, need.description, self.offer_matrix_)
        return [(float(s), _party(e), o) for s, (e, o) in zip(sims, self.offer_refs_, strict=True)
                if s > 0 and e.id != exclude]

    def _needs_like(self, offer: Offer, exclude: str | None) -> list[tuple[float, Party, Need]]:
        sims = self._cosines(offer.product, offer.description, self.need_matrix_)
        return [(float(s), _party(e), n) for s, (e, n) in zip(sims, self.need_refs_, strict=True)
                if s > 0 and e.id != exclude]

    def _cosines(self, product: str, description: str | None, matrix: Any) -> np.ndarray:
        vec = self.vectorizer_.transform([item_text(product, description)])
        return np.asarray((matrix @ vec.T).toarray()).ravel()


def _party(e: Enterprise) -> Party:
    return Party(id=e.id, name=e.name, region_code=e.region_code)


def _result(scored: list[tuple[float, Party, Party, str, str]], k: int) -> MatchResult:
    """Top k by score, ties by ids; one entry per (supplier, offer, buyer, need)."""
    best: dict[tuple[str, str, str, str], tuple[float, Party, Party, str, str]] = {}
    for row in scored:
        key = (row[1].id, row[3], row[2].id, row[4])
        if key not in best or row[0] > best[key][0]:
            best[key] = row
    ranked = sorted(best.values(), key=lambda r: (-r[0], r[1].id, r[3], r[2].id, r[4]))[:k]
    items = [
        MatchItem(
            rank=i, score=round(s, 6), supplier=sup, offer_id=oid, buyer=buy, need_id=nid, inferred=False,
            components={"text": round(s, 6)},
            explanation=Explanation(relation="text", contributions={"text": round(s, 6)},
                                    summary_zh=f"文本相似度基线：字符n-gram TF-IDF余弦 {s:.2f}"),
        )
        for i, (s, sup, buy, oid, nid) in enumerate(ranked, start=1)
    ]
    return MatchResult(items=items, weights={"name": "text-baseline", "version": 1})
