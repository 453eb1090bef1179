"""Segmentation of a product phrase into a head span and use spans, and of descriptions into clauses.

Chinese product phrases are head-final: in 正极材料烧结窑炉 the product is the 窑炉. The use spans are what
the product is for: ``X用Y``, ``用于X的Y``, ``Y（X用）`` and ``X原料`` (the buyer makes X).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from matching.linking.cues import INPUT_SUFFIXES

# 用 is a use marker unless it is part of one of these words.
_NOT_USE_BEFORE = set("费作信利采使适常试应通")
_NOT_USE_AFTER = set("户途")
_PAREN = re.compile(r"\(([^()]*)\)")
CLAUSE = re.compile(r"[，。；,;！!？?\n]")
# Description clauses also split at coordinations: 高压线束及低压整车线束 names two products.
COORD = re.compile(r"[、/]|以及|及|和|与|或")
CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class Span:
    """A stretch ``text[start:end]`` that names the product (``head``) or what it is for (``use``)."""

    start: int
    end: int
    role: str  # head | use


def clauses(text: str) -> list[str]:
    """The non-empty clauses of a normalised description."""
    return [c.strip() for c in CLAUSE.split(text) if c.strip()]


def segment(text: str) -> tuple[Span | None, list[Span]]:
    """The main head span and all spans of a product phrase (head-final Chinese noun phrases)."""
    spans: list[Span] = []
    masked = list(text)
    for m in _PAREN.finditer(text):
        inner = m.group(1)
        role = "use" if "用" in inner or any(inner.endswith(s) for s in INPUT_SUFFIXES) else "head"
        spans.append(Span(m.start(1), m.end(1), role))
        for i in range(m.start(), m.end()):
            masked[i] = " "
    main = "".join(masked)
    lo = len(main) - len(main.lstrip())
    hi = len(main.rstrip())
    head: Span | None = None
    split = _use_split(main, lo, hi)
    if split is not None:
        use_span, head = split
        spans.append(use_span)
    else:
        suffix = next((s for s in INPUT_SUFFIXES if main[lo:hi].endswith(s)), None)
        if suffix and hi - len(suffix) > lo:
            spans.append(Span(lo, hi - len(suffix), "use"))
        elif hi > lo:
            head = Span(lo, hi, "head")
    if head is not None:
        spans.insert(0, head)
    return head, spans


def _use_split(text: str, lo: int, hi: int) -> tuple[Span, Span] | None:
    pos = hi
    while True:
        pos = text.rfind("用", lo, pos)
        if pos < 0:
            return None
        before = text[pos - 1] if pos > lo else ""
        after = text[pos + 1] if pos + 1 < hi else ""
        if before in _NOT_USE_BEFORE or after in _NOT_USE_AFTER:
            continue
        if after == "于":
            de = text.find("的", pos + 2, hi)
            if de > 0 and de + 1 < hi:
                return Span(pos + 2, de, "use"), Span(de + 1, hi, "head")
            if pos > lo:  # 粘结剂用于正极浆料: the head comes first
                return Span(pos + 2, hi, "use"), Span(lo, pos, "head")
            return Span(pos + 2, hi, "use"), Span(hi, hi, "head")  # 用于X: a use clause, no product
        if pos + 1 < hi and text[pos + 1 : hi].strip():
            return Span(lo, pos, "use"), Span(pos + 1, hi, "head")
        if pos > lo:  # 榨菜丝小包装用: X用 with nothing after names a purpose, not a product
            return Span(lo, pos, "use"), Span(pos, pos, "head")
        return None


def head_text(text: str) -> str:
    """The text of the main head span ("" when the phrase has none)."""
    head, _ = segment(text)
    return text[head.start : head.end].strip() if head else ""
