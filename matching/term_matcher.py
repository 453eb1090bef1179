"""The one dictionary matcher over chain-graph terms, shared by the engine's linker and ``seeds check``.

Every node term (Chinese and English name, synonyms, shared synonyms), normalised with
:func:`matching.text.normalise_text`, is a key of one Aho–Corasick automaton (pyahocorasick) whose value
names the term's nodes. One pass over a text returns every occurrence with its span.

What "a term occurs" means, everywhere it is asked:

- an ASCII letter or digit at an edge of a term must not touch an ASCII letter or digit of the text, so
  ASCII terms match as whole words (AA in "依托 aa 原料", not in "paa"; PA66 not in PPA66) while Chinese
  terms match as substrings;
- a one-character term (锡, 铝) counts only when it is the whole text.

The linker matches texts after :func:`matching.text.normalise_text`, which also converts Traditional script to
Simplified; ``seeds check`` matches after :func:`literal_text`, which does not, because it asks whether the
seeds' own words occur as written (電梯導軌 is a gap in the graph's terms even though the engine reads it).

Callers add their own rules on top: the linker keeps the longest match (:mod:`matching.linking.dictionary`);
``seeds check`` asks only whether a node's term occurs at all.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

from matching.chains import ChainGraph
from matching.text import normalise_text

_WORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Term:
    """A normalised term and the nodes it names; ``shared`` when it is a shared synonym or names several."""

    key: str
    nodes: tuple[str, ...]
    shared: bool


@dataclass(frozen=True)
class TermMatch:
    """One occurrence of a term in a normalised text: ``text[start:end] == term``."""

    start: int
    end: int
    term: str
    nodes: tuple[str, ...]
    shared: bool


def literal_text(text: str) -> str:
    """NFKC, lower case, single spaces: :func:`normalise_text` without the Traditional → Simplified step."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def whole_word(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` does not run into ASCII letters or digits around it (where it has them)."""
    if text[start] in _WORD_CHARS and start > 0 and text[start - 1] in _WORD_CHARS:
        return False
    return not (text[end - 1] in _WORD_CHARS and end < len(text) and text[end] in _WORD_CHARS)


def occurs_at(text: str, start: int, end: int) -> bool:
    """The occurrence rules for ``text[start:end]``: whole ASCII words, one character only as the whole text."""
    if end - start == 1 and text.strip() != text[start:end]:
        return False
    return whole_word(text, start, end)


def term_occurs(term: str, text: str) -> bool:
    """Whether ``term`` occurs in ``text`` (already passed through :func:`literal_text` or
    :func:`normalise_text`) by the occurrence rules."""
    key = normalise_text(term)
    if not key:
        return False
    start = text.find(key)
    while start >= 0:
        if occurs_at(text, start, start + len(key)):
            return True
        start = text.find(key, start + 1)
    return False


class TermMatcher:
    """Aho–Corasick automaton over every normalised node term of a graph."""

    def __init__(self, graph: ChainGraph) -> None:
        term_nodes: dict[str, list[str]] = defaultdict(list)
        shared_terms: set[str] = set()
        for nid in sorted(graph.nodes):
            node = graph.nodes[nid]
            for term in node.terms():
                key = normalise_text(term)
                if key and nid not in term_nodes[key]:
                    term_nodes[key].append(nid)
            shared_terms.update(normalise_text(term) for term in node.shared_synonyms)
        self._entries: dict[str, Term] = {
            key: Term(key, tuple(nids), key in shared_terms or len(nids) > 1) for key, nids in term_nodes.items()
        }
        self._automaton = ahocorasick.Automaton()
        for key, entry in self._entries.items():
            self._automaton.add_word(key, entry)
        if self._entries:
            self._automaton.make_automaton()
        # Character postings for :meth:`containing`: the terms that hold each character.
        self._keys: tuple[str, ...] = tuple(sorted(self._entries))
        postings: dict[str, list[int]] = defaultdict(list)
        for i, key in enumerate(self._keys):
            for ch in set(key):
                postings[ch].append(i)
        self._postings: dict[str, tuple[int, ...]] = {ch: tuple(ids) for ch, ids in postings.items()}

    @classmethod
    def for_graph(cls, graph: ChainGraph) -> TermMatcher:
        """The matcher of ``graph``, built once and shared while the graph lives."""
        cached = _MATCHERS.get(id(graph))
        if cached is None or cached[0]() is not graph:
            cached = (weakref.ref(graph), cls(graph))
            _MATCHERS[id(graph)] = cached
            weakref.finalize(graph, _MATCHERS.pop, id(graph), None)
        return cached[1]

    def terms(self) -> list[str]:
        """Every normalised term, sorted."""
        return list(self._keys)

    def entry(self, key: str) -> Term | None:
        """The nodes a normalised term names, if it is one."""
        return self._entries.get(key)

    def find(self, text: str, exclude: str | None = None) -> list[TermMatch]:
        """Every occurrence in an already normalised ``text`` by the occurrence rules, ordered by start and
        then longest first; terms of node ``exclude`` are skipped."""
        if not self._entries or not text:
            return []
        found: list[TermMatch] = []
        for last, entry in self._automaton.iter(text):
            start, end = last + 1 - len(entry.key), last + 1
            if (exclude is None or exclude not in entry.nodes) and occurs_at(text, start, end):
                found.append(TermMatch(start, end, entry.key, entry.nodes, entry.shared))
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        return found

    def found_terms(self, text: str) -> set[str]:
        """The terms occurring in an already normalised ``text``."""
        return {m.term for m in self.find(text)}

    def nodes_in(self, text: str) -> list[str]:
        """Ids of every node with a term occurring in ``text`` as written (see :func:`literal_text`), sorted."""
        return sorted({n for m in self.find(literal_text(text)) for n in m.nodes})

    @lru_cache(maxsize=16384)  # noqa: B019 - the matcher lives as long as its graph
    def containing(self, fragment: str) -> tuple[str, ...]:
        """Nodes with a term that contains ``fragment`` without being equal to it, sorted."""
        if not fragment:
            return ()
        rarest = min((self._postings.get(ch, ()) for ch in set(fragment)), key=len)
        found = {
            n
            for i in rarest
            if fragment in (key := self._keys[i]) and key != fragment
            for n in self._entries[key].nodes
        }
        return tuple(sorted(found))


_MATCHERS: dict[int, tuple[weakref.ref[ChainGraph], TermMatcher]] = {}
