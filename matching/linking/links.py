"""What a link is: an item–node pair with a confidence and a role, the item's family, and the confidences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MATERIAL, EQUIPMENT, SERVICE, CONSUMER = "material", "equipment", "service", "consumer"

HEAD_CONFIDENCE = 1.0
SHARED_TERM_CONFIDENCE = 0.9
USE_CONFIDENCE = 0.9
DESCRIPTION_CONFIDENCE = 0.7
FALLBACK_MAX_CONFIDENCE = 0.7
FALLBACK_MIN_COSINE = 0.22
USE_INPUT_BOOST = 0.15
TAIL_HEAD_CONFIDENCE = 0.85  # an unmatched head noun found inside other nodes' terms (集流体)
TAIL_MAX_NODES = 12
SECONDARY_CONFIDENCE = 0.85  # a description term naming a sibling of the product's node


@dataclass(frozen=True)
class Link:
    """One item–node link. ``role`` is ``head`` (the item is this node) or ``use`` (context)."""

    node_id: str
    confidence: float
    role: str
    method: str  # dictionary | description | text | partial


@dataclass(frozen=True)
class ItemLinks:
    """All links of one offer or need, plus the text's family (``None`` when nothing tells)."""

    family: str | None
    head: tuple[Link, ...]
    use: tuple[Link, ...]
    confident: bool = True  # False when the family comes only from the TF-IDF fallback

    def head_nodes(self) -> list[str]:
        return [lk.node_id for lk in self.head]

    def all_nodes(self) -> list[str]:
        return [lk.node_id for lk in (*self.head, *self.use)]


def compatible(a: str | None, b: str | None) -> bool:
    """Whether two families may be matched (an unknown family is compatible with anything)."""
    return a is None or b is None or a == b


def dedupe(links: Sequence[Link]) -> list[Link]:
    """One link per node (the most confident), most confident first, then by node id."""
    best: dict[str, Link] = {}
    for lk in links:
        if lk.node_id not in best or lk.confidence > best[lk.node_id].confidence:
            best[lk.node_id] = lk
    return sorted(best.values(), key=lambda lk: (-lk.confidence, lk.node_id))
