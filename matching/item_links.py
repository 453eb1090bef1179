"""Product-first linking on top of :class:`matching.linking.Linker`, cached for bulk loads.

The product field decides the node; a description only narrows it. A category product whose description
names one of its kinds (锂电辅材 described as 导电炭黑) links to that kind and keeps the category at a lower
confidence as a fallback. A product naming no node is retried without a generic suffix (钛原料 → 钛,
铝材料 → 铝). Results are cached per (product, description), so a million firms writing the same products
link in seconds.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import replace

from matching.chains import NodeKind
from matching.linking import (
    CONSUMER,
    DESCRIPTION_CONFIDENCE,
    EQUIPMENT,
    MATERIAL,
    SECONDARY_CONFIDENCE,
    SERVICE,
    USE_CONFIDENCE,
    ItemLinks,
    Link,
    Linker,
    compatible,
)
from matching.linking.cues import INPUT_SUFFIXES
from matching.linking.links import dedupe
from matching.linking.spans import CLAUSE, segment
from matching.params import DEFAULT_PARAMS, MatchParams
from matching.text import MADE_FROM, normalise_text

GENERIC_SUFFIXES: tuple[str, ...] = ("原材料", "原料", "材料", "产品", "制品", "系列", "类", "等")
_SUFFIX = re.compile("(" + "|".join(GENERIC_SUFFIXES) + r")+$")
_USE_MARK = ("用", "供", "适用", "配套")
ALTERNATIVE_CUES = ("均可", "也可", "亦可", "或", "可替代")  # the buyer names more than one acceptable product
_INPUT_MARKS = ("原料", "由", "制成", "制备")
FAMILY_CODES: dict[str | None, int] = {None: 0, MATERIAL: 1, EQUIPMENT: 2, SERVICE: 3, CONSUMER: 4}
CACHE_SIZE = 262_144


class ProductLinker:
    """:meth:`link` gives an item's links with product-first rules, memoised (bounded LRU)."""

    def __init__(self, linker: Linker, params: MatchParams = DEFAULT_PARAMS) -> None:
        self.linker = linker
        self.graph = linker.graph
        self.params = params
        self._cache: OrderedDict[tuple[str, str], ItemLinks] = OrderedDict()
        self._lock = threading.Lock()  # guards the LRU order only; concurrent queries may link ad-hoc items
        self._fresh: list[tuple[str, str]] | None = None  # keys linked since after_fork (in a forked child)

    def after_fork(self) -> None:
        """In a forked child: a new cache lock (another thread of the parent may have held it at the fork),
        and remember what is linked from now on (see :meth:`fresh_entries`)."""
        self._lock = threading.Lock()
        self._fresh = []

    def fresh_entries(self) -> list[tuple[tuple[str, str], ItemLinks]]:
        """In a forked child: the cache entries linked since :meth:`after_fork`, for the parent to absorb."""
        return [(key, self._cache[key]) for key in self._fresh or () if key in self._cache]

    def absorb(self, entries: list[tuple[tuple[str, str], ItemLinks]]) -> None:
        """Take cache entries a forked child linked (the same values this process would compute)."""
        for key, links in entries:
            self._remember(key, links)

    def _remember(self, key: tuple[str, str], links: ItemLinks) -> None:
        with self._lock:
            self._cache[key] = links
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        if self._fresh is not None:
            self._fresh.append(key)

    def link(self, product: str, description: str | None, *, is_need: bool = False) -> ItemLinks:
        """Links of an offer or a need; a need's description may name acceptable alternatives."""
        desc = description or ""
        key = (product, desc if self._description_matters(product, desc) else "")
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is None:
            hit = self._link(*key)
            self._remember(key, hit)
        if is_need and hit.head and any(cue in desc for cue in ALTERNATIVE_CUES):
            return self._alternatives(hit, product, desc)
        return hit

    def _alternatives(self, links: ItemLinks, product: str, desc: str) -> ItemLinks:
        """Products a buyer names as acceptable too (干花椒与花椒油均可): extra heads at a lower confidence.
        Only clauses that say so count, and never a purpose (用于…) or an input (…为原料)."""
        linker = self.linker
        have = {lk.node_id for lk in links.head}
        extra: list[Link] = []
        for clause in (c.strip() for c in CLAUSE.split(normalise_text(desc))):
            if not any(cue in clause for cue in ALTERNATIVE_CUES) or any(m in clause for m in _INPUT_MARKS):
                continue
            _, spans = segment(clause)
            for m in linker.dictionary.match(clause, context=normalise_text(product)):
                if any(sp.role == "use" and sp.start <= m.start and m.end <= sp.end for sp in spans):
                    continue
                extra += [Link(n, self.params.alternative_confidence, "head", "description") for n in m.nodes
                          if n not in have and compatible(links.family, linker.family[n])]
        if not extra:
            return links
        return ItemLinks(links.family, tuple(dedupe([*links.head, *extra])), links.use, links.confident)

    def _description_matters(self, product: str, desc: str) -> bool:
        """Only a category product, an unknown product or a stated purpose needs the description."""
        if not desc:
            return False
        if any(m in desc for m in _USE_MARK):
            return True
        base = self._product_links(product)
        if not base.head:
            return True
        nodes = self.graph.nodes
        return any(nodes[lk.node_id].kind == NodeKind.category or self.graph.children.get(lk.node_id)
                   for lk in base.head)

    def _link(self, product: str, desc: str) -> ItemLinks:
        p = self.params
        base = self._product_links(product) if desc else None
        named = base is not None and base.confident and any(lk.method == "dictionary" for lk in base.head)
        if base is not None and named:
            links = self._narrow(base, product, desc)  # product-first: the description only narrows
        elif desc:
            links = self._from_description(product, desc)
        else:
            links = self.linker.link(product, None)
        if (not links.head and not links.use) or not links.confident:
            stripped = _SUFFIX.sub("", normalise_text(product)).strip()
            if stripped and stripped != normalise_text(product):
                retry = self.linker.link(stripped, desc or None)
                if retry.head and retry.confident:
                    found = tuple(replace(lk, confidence=min(lk.confidence, p.suffix_confidence))
                                  for lk in retry.head)
                    if normalise_text(product).endswith(INPUT_SUFFIXES):  # 钛原料: what titanium is made from
                        uses = tuple(replace(lk, role="use") for lk in found)
                        links = ItemLinks(retry.family, (), (*uses, *retry.use), True)
                    else:  # 铝材料, 花椒产品: the term is the product
                        links = ItemLinks(retry.family, found, retry.use, True)
        head: list[Link] = list(links.head)
        # A head taken from the description alone is a guess: text must be able to outrank it.
        head = [replace(lk, confidence=min(lk.confidence, p.description_head_confidence))
                if lk.method == "description" and not any(h.method != "description" for h in head) else lk
                for lk in head]
        # A category narrowed by a kind its description names stays only as a fallback.
        nodes = {lk.node_id for lk in head}
        narrowed = {a for n in nodes for a in self.graph.ancestors(n)}
        head = [replace(lk, confidence=min(lk.confidence, p.category_fallback_confidence))
                if lk.node_id in narrowed else lk for lk in head]
        return ItemLinks(links.family, tuple(head), links.use, links.confident)

    def _product_links(self, product: str) -> ItemLinks:
        with self._lock:
            hit = self._cache.get((product, ""))
        if hit is None:
            hit = self._link(product, "")
            self._remember((product, ""), hit)
        return hit

    def _from_description(self, product: str, desc: str) -> ItemLinks:
        """A product naming no node: the description may say what it is, but its purposes (用于X, X用) only
        ever become use links; they are masked before the linker and its text fallback read it."""
        kept: list[str] = []
        purposes: list[Link] = []
        for clause in (c.strip() for c in CLAUSE.split(normalise_text(desc))):
            if not clause:
                continue
            _, spans = segment(clause)
            masked = list(clause)
            for sp in spans:
                if sp.role == "use":
                    for m in self.linker.dictionary.match(clause[sp.start : sp.end]):
                        purposes += [Link(n, DESCRIPTION_CONFIDENCE * USE_CONFIDENCE, "use", "description")
                                     for n in m.nodes if self.linker.family[n] == MATERIAL]
                    masked[sp.start : sp.end] = " " * (sp.end - sp.start)
            # what the item is made from (以己二酸为原料) is an input, never the product itself
            text = MADE_FROM.sub(lambda m: " " * len(m.group(0)), "".join(masked))
            text = text.replace("用于", " ").replace("用", " ").strip()
            if text:
                kept.append(text)
        links = self.linker.link(product, "，".join(kept) or None)
        uses = dedupe([*links.use, *purposes])
        return ItemLinks(links.family, links.head, tuple(uses), links.confident)

    def _narrow(self, base: ItemLinks, product: str, desc: str) -> ItemLinks:
        """Kinds of the product's head named in the description (head links, a sibling a little lower) and
        the purposes its ``X用…`` clauses name (use links), from one dictionary scan per clause."""
        linker = self.linker
        context = normalise_text(product)
        heads = list(base.head)
        uses = list(base.use)
        modified = bool(base.use)  # a product with a stated purpose is not narrowed further (old rule)
        for clause in (c.strip() for c in CLAUSE.split(normalise_text(desc))):
            if not clause:
                continue
            _, spans = segment(clause)
            for m in linker.dictionary.match(clause, context=context):
                in_use = any(sp.role == "use" and sp.start <= m.start and m.end <= sp.end for sp in spans)
                for node in m.nodes:
                    if in_use:
                        if not base.use and linker.family[node] == MATERIAL:
                            uses.append(Link(node, DESCRIPTION_CONFIDENCE * USE_CONFIDENCE, "use", "description"))
                        continue
                    if modified or not compatible(base.family, linker.family[node]):
                        continue
                    for h in base.head:
                        if node == h.node_id:
                            continue
                        if h.node_id in linker.facts.ancestor_set(node):
                            heads.append(Link(node, h.confidence, "head", "description"))
                        elif linker.facts.siblings(node, h.node_id):
                            conf = round(h.confidence * SECONDARY_CONFIDENCE, 4)
                            heads.append(Link(node, conf, "head", "description"))
        return ItemLinks(base.family, tuple(dedupe(heads)), tuple(dedupe(uses)), base.confident)

    def use_alone(self, links: ItemLinks) -> bool:
        """An input of the named purpose may match without being the named kind: the product itself names
        the purpose (扩链剂（TPU用）) and the kind is vague or absent."""
        if not any(lk.method != "description" for lk in links.use):
            return False
        return all(
            lk.method in ("text", "partial") or self.graph.nodes[lk.node_id].kind == NodeKind.category
            for lk in links.head
        )

    def part_of_category(self, product: str, links: ItemLinks) -> bool:
        """A need linked only to categories through a term that is not its whole name (电梯对重块 → 电梯)."""
        if links.use or not links.head:
            return False
        heads = [lk.node_id for lk in links.head]
        if not all(self.graph.nodes[h].kind == NodeKind.category for h in heads):
            return False
        text = normalise_text(product).replace(" ", "")
        terms = {normalise_text(t).replace(" ", "") for h in heads for t in self.graph.nodes[h].terms()}
        return text not in terms

    def makes(self, links: ItemLinks, node: str) -> bool:
        """An equipment or service offer does not make the material it handles (a 冷媒 charging machine)."""
        if links.family in (EQUIPMENT, SERVICE):
            return self.linker.family[node] in (EQUIPMENT, SERVICE)
        return True

    def equipment_uses(self, links: ItemLinks) -> tuple[str, ...]:
        """What an equipment or service offer is for: its use links and what its nodes' names say."""
        if links.family not in (EQUIPMENT, SERVICE):
            return ()
        uses = [lk.node_id for lk in links.use]
        for lk in links.head:
            uses.extend(u for u in self.linker.equipment_use(lk.node_id) if u not in uses)
        return tuple(uses)
