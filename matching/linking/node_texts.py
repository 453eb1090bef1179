"""TF-IDF over node texts (terms and description): ranking partial matches and the text fallback."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from matching.chains import ChainGraph
from matching.linking.links import (
    FALLBACK_MAX_CONFIDENCE,
    FALLBACK_MIN_COSINE,
    TAIL_HEAD_CONFIDENCE,
    USE_INPUT_BOOST,
    Link,
)
from matching.text import TextModel


class NodeTexts:
    """Node vectors in sorted node order; call :meth:`fit` with a fitted text model before ranking."""

    def __init__(self, graph: ChainGraph, family: dict[str, str]) -> None:
        self.graph = graph
        self.node_ids: list[str] = sorted(graph.nodes)
        self.node_matrix_: sp.csr_matrix | None = None
        self._text: TextModel | None = None
        self._row: dict[str, int] = {}
        self._family = np.array([family[n] for n in self.node_ids])

    def node_text(self, node_id: str) -> str:
        node = self.graph.nodes[node_id]
        return " ".join([*node.terms(), node.description or ""])

    def fit(self, text: TextModel) -> None:
        """Vectorise node texts with the (already fitted) text model."""
        self.node_matrix_ = text.transform([self.node_text(n) for n in self.node_ids])
        self._text = text
        self._row = {n: i for i, n in enumerate(self.node_ids)}

    @property
    def fitted(self) -> bool:
        return self.node_matrix_ is not None

    def rank_partial(self, phrase: str, found: list[str], rivals: list[str]) -> list[Link]:
        """Rank ``found`` by TF-IDF similarity to ``phrase``; nothing when a rival node is closer."""
        assert self.node_matrix_ is not None and self._text is not None
        query = self._text.transform([phrase])
        rows = [self._row[n] for n in [*found, *rivals]]
        sims = np.asarray((self.node_matrix_[rows] @ query.T).toarray()).ravel()
        found_sims = sims[: len(found)]
        top = float(found_sims.max(initial=0.0))
        if top <= 0 or top <= float(sims[len(found) :].max(initial=0.0)):
            return []
        ranked = sorted(zip(found, found_sims, strict=True), key=lambda x: (-x[1], x[0]))
        return [Link(n, round(TAIL_HEAD_CONFIDENCE * float(v) / top, 4), "head", "partial")
                for n, v in ranked[:3] if v >= 0.75 * top]

    def fallback(self, head_text: str, desc: str, family: str | None, use_inputs: set[str]) -> list[Link]:
        """Up to three nodes whose texts are most like the item's, within ``family``; inputs of what the
        buyer makes (``use_inputs``) are the likelier reading and get a boost."""
        if self.node_matrix_ is None or self._text is None or not (head_text or desc):
            return []
        query = self._text.transform([f"{head_text} {head_text} {desc}".strip()])
        sims = np.asarray((self.node_matrix_ @ query.T).toarray()).ravel()
        if family is not None:
            sims = np.where(self._family == family, sims, 0.0)
        boost = np.zeros(len(self.node_ids))
        boost[[self._row[n] for n in use_inputs if n in self._row]] = USE_INPUT_BOOST
        sims = np.where(sims > 0, sims + boost, 0.0)
        order = np.lexsort((np.arange(len(sims)), -sims))
        links: list[Link] = []
        for idx in order[:12]:
            score = float(sims[idx])
            if score < FALLBACK_MIN_COSINE:
                break
            nid = self.node_ids[int(idx)]
            links.append(Link(nid, round(min(FALLBACK_MAX_CONFIDENCE, score), 4), "head", "text"))
        links.sort(key=lambda lk: (-lk.confidence, lk.node_id))
        return links[:3]
