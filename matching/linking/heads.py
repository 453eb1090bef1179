"""The head-noun rules: which matched term of a phrase is the product, and which only modify or serve it.

The family comes from whatever ends last in the head span (a matched node or a cue word). The last matched
term of the head span is the head noun. An earlier term that is neither a specialisation nor a category of
it is a modifier: it becomes a ``use`` link when the head is one of its inputs (正极浆料粘结剂) and is dropped
otherwise (钛合金 in 钛合金螺栓). Unmatched trailing text that ends in an ingredient noun (电解液溶质) turns
the whole phrase into a use phrase; other unmatched trailing text that appears inside other nodes' terms
(集流体 in 正极集流体铝箔) is the head noun.
"""

from __future__ import annotations

from matching.chains import NodeKind
from matching.linking.cues import INGREDIENT_NOUNS, last_cue
from matching.linking.dictionary import Dictionary
from matching.linking.graph_facts import GraphFacts
from matching.linking.links import (
    MATERIAL,
    SHARED_TERM_CONFIDENCE,
    TAIL_MAX_NODES,
    USE_CONFIDENCE,
    Link,
    compatible,
)
from matching.linking.node_texts import NodeTexts
from matching.linking.spans import CJK, Span, segment
from matching.term_matcher import TermMatch

Analysis = tuple[str | None, list[Link], list[Link], bool]
"""Family, head links, use links, and whether the head span had modifiers or a purpose noun."""


class PhraseAnalyser:
    """Head and use links of one phrase (a product text or a description clause)."""

    def __init__(self, facts: GraphFacts, dictionary: Dictionary, texts: NodeTexts) -> None:
        self.facts = facts
        self.graph = facts.graph
        self.family = facts.family
        self.dictionary = dictionary
        self.texts = texts

    def analyse(
        self, text: str, confidence: float, context: str | None = None
    ) -> tuple[str | None, list[Link], list[Link]]:
        """Family, head and use links of a description clause (``context``: the item's product text)."""
        family, head, use, _ = self.analyse_full(text, confidence, context)
        return family, head, use

    def analyse_full(self, text: str, confidence: float, context: str | None = None) -> Analysis:
        """Family, head links, use links, and whether the head span had modifiers or a purpose noun.

        ``context`` is the product text when ``text`` is a description clause (``None`` for the product).
        """
        head_span, spans = segment(text)
        matches = self.dictionary.match(text, context)
        # The family comes from whatever ends last in the head span: a node match or a cue word.
        family: str | None = None
        last_end = -1
        # A term straddling the use marker (正极浆料用粘结剂 as one synonym) names the product as a whole.
        straddling = {m for m in matches if not any(s.start <= m.start and m.end <= s.end for s in spans)}
        for m in matches:
            in_main = head_span is not None and head_span.start <= m.start and m.end <= head_span.end
            if (in_main or m in straddling) and m.end > last_end:
                fams = {self.family[n] for n in m.nodes}
                family = sorted(fams)[0] if len(fams) == 1 else MATERIAL
                last_end = m.end
        if head_span is not None:
            cue_end, cue_family = last_cue(text, head_span.start, head_span.end)
            if cue_family is not None and cue_end > last_end:
                family = cue_family
        head: list[Link] = []
        use: list[Link] = []
        main: list[TermMatch] = []  # head-noun candidates in the main head span, in text order
        for m in matches:
            span = next((s for s in spans if s.start <= m.start and m.end <= s.end), None)
            in_head = m in straddling or (span is not None and span.role == "head")
            if in_head and span is head_span and any(compatible(family, self.family[n]) for n in m.nodes):
                main.append(m)
                continue
            for nid in m.nodes:
                conf = confidence * (SHARED_TERM_CONFIDENCE if m.shared else 1.0)
                if in_head and compatible(family, self.family[nid]):
                    head.append(Link(nid, conf, "head", "dictionary"))
                elif self.family[nid] == MATERIAL:
                    use.append(Link(nid, conf * USE_CONFIDENCE, "use", "dictionary"))
        heads, uses, modified = self._head_noun(text, head_span, main, family, confidence)
        return family, [*heads, *head], [*uses, *use], modified

    def partial(self, phrase: str, family: str | None) -> list[Link]:
        """A product naming no node whose whole text appears inside a few nodes' terms (加重剂)."""
        if len(phrase) < 2 or not CJK.match(phrase) or not self.texts.fitted:
            return []
        found = [n for n in self.dictionary.matcher.containing(phrase) if compatible(family, self.family[n])]
        if not found or len(found) > TAIL_MAX_NODES:
            return []
        return self.texts.rank_partial(phrase, found, [])

    def _head_noun(
        self, text: str, span: Span | None, main: list[TermMatch], family: str | None, confidence: float
    ) -> tuple[list[Link], list[Link], bool]:
        """Head and use links of the main head span: the last term is the head, earlier ones modify it."""
        heads: list[Link] = []
        uses: list[Link] = []
        if not main or span is None:
            return heads, uses, False

        def links(m: TermMatch, role: str) -> list[Link]:
            conf = confidence * (SHARED_TERM_CONFIDENCE if m.shared else 1.0)
            if role == "use":
                return [Link(n, conf * USE_CONFIDENCE, "use", "dictionary")
                        for n in m.nodes if self.family[n] == MATERIAL]
            return [Link(n, conf, "head", "dictionary") for n in m.nodes if compatible(family, self.family[n])]

        last = main[-1]
        tail = text[last.end : span.end].strip()
        if CJK.match(tail) and tail.endswith(INGREDIENT_NOUNS):
            # 电解液溶质: the product is an ingredient of everything named before the noun.
            return heads, [lk for m in main for lk in links(m, "use")], True
        tail_links = self._tail_head(text[span.start : span.end].strip(), tail, last, family)
        head_nodes = list(last.nodes)
        if tail_links:
            heads.extend(Link(lk.node_id, round(lk.confidence * confidence, 4), "head", lk.method)
                         for lk in tail_links)
            head_nodes = [lk.node_id for lk in tail_links]
            modifiers = main
        else:
            heads.extend(links(last, "head"))
            modifiers = main[:-1]
        modified = False
        generic_head = all(self.graph.nodes[h].kind == NodeKind.category for h in head_nodes)
        for m in modifiers:
            if any(self.facts.related(a, b) for a in m.nodes for b in head_nodes):
                heads.extend(links(m, "head"))  # NCM811 … 三元正极材料: the specific one wins later
                continue
            modified = True
            if any(self.facts.is_input_of(h, a) for a in m.nodes for h in head_nodes):
                uses.extend(links(m, "use"))  # 正极浆料 … 粘结剂: what the head goes into
            elif generic_head and not tail_links and any(
                self.graph.nodes[a].kind != NodeKind.category for a in m.nodes
            ):
                heads.extend(links(m, "head"))  # 聚四氟乙烯 + 树脂: a generic form word as head
            # else a material or form modifier (钛合金 in 钛合金螺栓): not what is traded
        return heads, uses, modified

    def _tail_head(self, phrase: str, tail: str, last: TermMatch, family: str | None) -> list[Link]:
        """Links for an unmatched head noun after the last term (正极 + 集流体 → 正极集流体铝箔)."""
        if len(tail) < 2 or not CJK.match(tail) or not self.texts.fitted:
            return []
        containing = self.dictionary.matcher.containing
        whole = [n for n in containing(phrase) if compatible(family, self.family[n])]
        if whole and len(whole) <= TAIL_MAX_NODES and not any(
            self.facts.related(n, m) for n in whole for m in last.nodes
        ):
            return self.texts.rank_partial(phrase, whole, [])  # 正极集流体 inside 正极集流体铝箔
        found = [n for n in containing(tail) if compatible(family, self.family[n])]
        if not found or len(found) > TAIL_MAX_NODES:
            return []  # unknown, or a generic form word (树脂, 粉) shared by many nodes
        if any(self.facts.related(n, m) for n in found for m in last.nodes):
            return []  # the tail only restates the matched product (聚四氟乙烯 + 悬浮树脂)
        return self.texts.rank_partial(phrase, found, list(last.nodes))
