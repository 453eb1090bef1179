"""The :class:`Linker` facade: product and description of one item in, its node links out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import scipy.sparse as sp

from matching.chains import ChainGraph
from matching.linking.dictionary import Dictionary
from matching.linking.graph_facts import GraphFacts
from matching.linking.heads import PhraseAnalyser
from matching.linking.links import (
    DESCRIPTION_CONFIDENCE,
    EQUIPMENT,
    HEAD_CONFIDENCE,
    MATERIAL,
    SECONDARY_CONFIDENCE,
    SERVICE,
    ItemLinks,
    Link,
    compatible,
    dedupe,
)
from matching.linking.node_texts import NodeTexts
from matching.linking.spans import COORD, clauses, head_text
from matching.term_matcher import TermMatcher
from matching.text import TextModel, normalise_text


class Linker:
    """Dictionary + TF-IDF linker over a chain graph. Call :meth:`fit_text` before :meth:`link`."""

    def __init__(self, graph: ChainGraph) -> None:
        self.graph = graph
        self.matcher = TermMatcher.for_graph(graph)
        self.facts = GraphFacts(graph)
        self.family: dict[str, str] = self.facts.family
        self.texts = NodeTexts(graph, self.family)
        self.node_ids: list[str] = self.texts.node_ids
        self.dictionary = Dictionary(self.matcher, self.facts)
        self.phrases = PhraseAnalyser(self.facts, self.dictionary, self.texts)

    @property
    def node_matrix_(self) -> sp.csr_matrix | None:
        """Node TF-IDF vectors in :attr:`node_ids` order (``None`` before :meth:`fit_text`)."""
        return self.texts.node_matrix_

    def terms(self) -> list[str]:
        """Every normalised dictionary term (for the jieba user dictionary)."""
        return self.matcher.terms()

    def node_text(self, node_id: str) -> str:
        return self.texts.node_text(node_id)

    def fit_text(self, text: TextModel) -> None:
        """Vectorise node texts with the (already fitted) text model for the TF-IDF fallback."""
        self.texts.fit(text)

    def link(self, product: str, description: str | None = None) -> ItemLinks:
        """Links for one offer or need.

        The product's dictionary terms decide the head; failing that, a description clause, then a product
        found inside a few nodes' terms, then TF-IDF similarity (not confident). Description terms that
        specialise the head or are its siblings add head links; a stated purpose adds use links.
        """
        text = normalise_text(product)
        family, head, use, modified = self.phrases.analyse_full(text, HEAD_CONFIDENCE)
        modified = modified or bool(use)
        desc = normalise_text(description or "")
        parts = clauses(desc)
        confident = True
        if not head and desc:
            for clause in parts:
                d_family, d_head, d_use = self.phrases.analyse(clause, DESCRIPTION_CONFIDENCE, context=text)
                if family is None and d_family is not None:
                    family = d_family
                d_head = [lk for lk in d_head if compatible(family, self.family[lk.node_id])]
                if d_head:
                    head = [Link(lk.node_id, lk.confidence, "head", "description") for lk in d_head]
                    use = use or d_use
                    break
        if not head:
            head = self.phrases.partial(head_text(text), family)
            if family is None and head:
                family = self.family[head[0].node_id]
        if not head:
            head = self.texts.fallback(head_text(text), desc, family, self.facts.use_inputs(use))
            if family is None and head:
                family = self.family[head[0].node_id]
                confident = False
        head = self.facts.most_specific(dedupe(head))
        if head and parts and not modified:
            head = dedupe([*head, *self._secondary(head, parts, family, text)])
        if head and not use and parts:
            use = self._description_use(parts, text)
        return ItemLinks(family, tuple(head), tuple(dedupe(use)), confident)

    def _secondary(
        self, head: Sequence[Link], parts: Sequence[str], family: str | None, context: str
    ) -> list[Link]:
        """Description terms that specialise a product head (at its confidence) or are its siblings."""
        out: list[Link] = []
        for clause in parts:
            pieces = [clause] if ("用" in clause or "供" in clause) else COORD.split(clause)
            for piece in (p.strip() for p in pieces):
                if not piece:
                    continue
                _, d_head, _ = self.phrases.analyse(piece, HEAD_CONFIDENCE, context=context)
                for lk in d_head:
                    if not compatible(family, self.family[lk.node_id]):
                        continue
                    for h in head:
                        if lk.node_id == h.node_id:
                            continue
                        if h.node_id in self.facts.ancestor_set(lk.node_id):
                            out.append(Link(lk.node_id, h.confidence, "head", "description"))
                        elif self.facts.siblings(lk.node_id, h.node_id):
                            conf = round(h.confidence * SECONDARY_CONFIDENCE, 4)
                            out.append(Link(lk.node_id, conf, "head", "description"))
        return out

    def _description_use(self, parts: Sequence[str], context: str) -> list[Link]:
        """Purposes a description names (磷酸铁锂固相烧结用锂源 → 磷酸铁锂), at description confidence."""
        out: list[Link] = []
        for clause in parts:
            if "用" not in clause and "供" not in clause:
                continue
            _, _, d_use = self.phrases.analyse(clause, DESCRIPTION_CONFIDENCE, context=context)
            out.extend(Link(lk.node_id, lk.confidence, "use", "description") for lk in d_use)
        return out

    def equipment_use(self, node_id: str) -> tuple[str, ...]:
        """Materials an equipment or service node is for, read from its name (正极材料烧结窑炉 → 正极材料)."""
        if self.family[node_id] not in (EQUIPMENT, SERVICE):
            return ()
        return self._equipment_use(node_id)

    @lru_cache(maxsize=8192)  # noqa: B019 - the linker lives as long as its graph
    def _equipment_use(self, node_id: str) -> tuple[str, ...]:
        node = self.graph.nodes[node_id]
        found: list[str] = []
        for text in (node.name, *node.synonyms, node.description or ""):
            for m in self.dictionary.match(normalise_text(text), exclude=node_id):
                found.extend(n for n in m.nodes if self.family[n] == MATERIAL and n not in found)
            if found:
                break
        return tuple(found)
