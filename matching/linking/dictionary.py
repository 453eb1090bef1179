"""Dictionary matches for linking: the shared term matcher plus the linker's own rules.

On top of every occurrence :class:`matching.term_matcher.TermMatcher` finds, linking keeps the longest match
first and drops a term inside a longer kept match; a term followed by 级 is a grade (电池级, API级), not a
product; and in a description, an ASCII term of three characters or fewer (API, PC, AA are as often common
words) counts only when something else confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from matching.linking.graph_facts import GraphFacts
from matching.linking.spans import CJK
from matching.term_matcher import TermMatch, TermMatcher
from matching.text import normalise_text

GRADE_SUFFIX = "级"
SHORT_ASCII_MAX = 3


def short_ascii(term: str) -> bool:
    return len(term) <= SHORT_ASCII_MAX and term.isascii()


class Dictionary:
    """The linker's dictionary matches over one graph."""

    def __init__(self, matcher: TermMatcher, facts: GraphFacts) -> None:
        self.matcher = matcher
        self.facts = facts

    def match(self, text: str, context: str | None = None, exclude: str | None = None) -> list[TermMatch]:
        """Matches in a normalised ``text`` in text order; ``context`` (the item's product text) marks
        ``text`` as a description clause; terms of node ``exclude`` are ignored."""
        found = self.matcher.find(text, exclude)
        # Longest first; drop matches inside an already kept longer match.
        found.sort(key=lambda m: (-(m.end - m.start), m.start))
        kept: list[TermMatch] = []
        for m in found:
            if not any(k.start <= m.start and m.end <= k.end for k in kept):
                kept.append(m)
        kept = [m for m in kept if not text.startswith(GRADE_SUFFIX, m.end)]
        if context is not None:
            # A short ASCII term counts only when another term of the text confirms it (SBR next to 负极粘结剂).
            kept = [m for m in kept if not short_ascii(m.term) or self._confirmed(m, kept, context)]
        kept.sort(key=lambda m: m.start)
        return kept

    def _confirmed(self, m: TermMatch, matches: Sequence[TermMatch], context: str) -> bool:
        """A short ASCII term in a description backed by a related term there, or by the product text
        sharing two characters with one of the node's Chinese terms (SBR for 丁苯橡胶乳液 via 丁苯乳液)."""
        for k in matches:
            if k is not m and not short_ascii(k.term) and any(
                self.facts.related(a, b) for a in m.nodes for b in k.nodes
            ):
                return True
        grams = {context[i : i + 2] for i in range(len(context) - 1)}
        return any(not grams.isdisjoint(self._cjk_bigrams(nid)) for nid in m.nodes)

    @lru_cache(maxsize=8192)  # noqa: B019 - lives as long as its graph
    def _cjk_bigrams(self, nid: str) -> frozenset[str]:
        """The two-character Chinese stretches of a node's normalised terms."""
        out: set[str] = set()
        for term in self.facts.graph.nodes[nid].terms():
            t = normalise_text(term)
            out.update(t[i : i + 2] for i in range(len(t) - 1) if CJK.match(t[i : i + 2]))
        return frozenset(out)
