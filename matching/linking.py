"""Link offer and need texts to chain-graph nodes, with a confidence and a role.

Chinese product phrases are head-final: in 正极材料烧结窑炉 the product is the 窑炉, and 正极材料 only says
what the kiln is for. Linking therefore

1. splits the product text into a *head* span and *use* spans (``X用Y``, ``用于X的Y``, ``Y（X用）``,
   ``X原料``);
2. finds dictionary terms (longest first; a term inside a longer match does not count separately; a term
   followed by 级 is a grade such as 电池级 or API级, not a product; in descriptions, ASCII terms of three
   characters or fewer are ignored because they are too often common words);
3. decides the text's *family* (material, equipment, service, consumer) from whatever ends last in the head
   span: a matched node or a cue word such as 设备 / 窑炉 / 检测 / 服务 / 回收 / 充电宝;
4. picks the *head noun*: the last matched term of the head span. An earlier term that is neither a
   specialisation nor a category of it is a modifier: it becomes a ``use`` link when the head is one of
   its inputs (正极浆料粘结剂) and is dropped otherwise (钛合金 in 钛合金螺栓). Unmatched trailing text
   that ends in an ingredient noun (电解液溶质) turns the whole phrase into a use phrase; other unmatched
   trailing text that appears inside other nodes' terms (集流体 in 正极集流体铝箔) is the head noun;
5. keeps head matches of that family as ``head`` links; other matches become ``use`` links (context: what
   the buyer makes, or what the equipment is for);
6. adds description terms that specialise or are siblings of a product head (动力电池电芯 described as
   方形磷酸铁锂电芯) as extra head links;
7. falls back to TF-IDF similarity against node texts (name, synonyms, description) when the product names
   no node, with a lower confidence and only within the text's family.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.sparse as sp

from matching.chains import ChainGraph, NodeKind
from matching.text import TextModel, normalise_text

MATERIAL, EQUIPMENT, SERVICE, CONSUMER = "material", "equipment", "service", "consumer"

EQUIPMENT_CUES: tuple[str, ...] = (
    "设备", "装备", "窑炉", "辊道窑", "回转窑", "烧结炉", "电炉", "炉", "窑", "生产线", "产线", "机床",
    "机械", "机组", "仪器", "仪表", "反应釜", "涂布机", "卷绕机", "叠片机", "分切机", "辊压机", "注塑机",
    "挤出机", "搅拌机", "压机", "冲床", "机器人", "模具", "检测仪", "测试仪", "测试设备", "检测设备",
    "一体机", "充注机", "加注机", "充注系统", "加注系统", "灌装机", "包装机", "清洗机", "破碎机", "粉碎机",
    "球磨机", "切割机", "焊接机", "分选机", "检漏仪",
)
SERVICE_CUES: tuple[str, ...] = (
    "检测", "测试", "检验", "化验", "认证", "服务", "咨询", "维修", "维保", "运维", "物流", "仓储",
    "运输", "回收", "拆解", "租赁", "培训", "安装", "代工", "外包", "设计", "研发服务",
)
CONSUMER_CUES: tuple[str, ...] = (
    "充电宝", "移动电源", "手机", "平板电脑", "笔记本电脑", "耳机", "电子烟", "玩具", "家电", "电动牙刷",
    "剃须刀", "手电筒", "消费电子", "蓝牙音箱", "智能手表", "手环", "自拍杆",
)
# Trailing words saying "inputs for the preceding product": 磷酸锰铁锂原料 → the buyer makes 磷酸锰铁锂.
INPUT_SUFFIXES: tuple[str, ...] = ("原材料", "原料", "辅料", "配套材料")
# Head nouns saying "an ingredient of the preceding product": 电解液溶质 → an input of 电解液.
INGREDIENT_NOUNS: tuple[str, ...] = (
    "溶质", "溶剂", "添加剂", "助剂", "粘结剂", "黏结剂", "导电剂", "原料", "原材料", "辅料", "配料",
)
# 用 is a use marker unless it is part of one of these words.
_NOT_USE_BEFORE = set("费作信利采使适常试应通")
_NOT_USE_AFTER = set("户途")
_PAREN = re.compile(r"\(([^()]*)\)")
_ASCII_WORD = re.compile(r"[0-9a-z]")
_CLAUSE = re.compile(r"[，。；,;！!？?\n]")
# Description clauses also split at coordinations: 高压线束及低压整车线束 names two products.
_COORD = re.compile(r"[、/]|以及|及|和|与|或")
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_GRADE_SUFFIX = "级"
SHORT_ASCII_MAX = 3

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
    method: str  # dictionary | description | text


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


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    term: str
    nodes: tuple[str, ...]
    shared: bool


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    role: str  # head | use


def compatible(a: str | None, b: str | None) -> bool:
    """Whether two families may be matched (an unknown family is compatible with anything)."""
    return a is None or b is None or a == b


class Linker:
    """Dictionary + TF-IDF linker over a chain graph. Call :meth:`fit_text` before :meth:`link`."""

    def __init__(self, graph: ChainGraph) -> None:
        self.graph = graph
        self._terms: dict[str, list[tuple[str, tuple[str, ...], bool]]] = defaultdict(list)
        shared_terms: set[str] = set()
        term_nodes: dict[str, list[str]] = defaultdict(list)
        for nid in sorted(graph.nodes):
            node = graph.nodes[nid]
            for term in node.terms():
                key = normalise_text(term)
                if key and nid not in term_nodes[key]:
                    term_nodes[key].append(nid)
            for term in node.shared_synonyms:
                shared_terms.add(normalise_text(term))
        for key, nids in term_nodes.items():
            self._terms[key[0]].append((key, tuple(nids), key in shared_terms or len(nids) > 1))
        for bucket in self._terms.values():
            bucket.sort(key=lambda item: (-len(item[0]), item[0]))
        self.family: dict[str, str] = {nid: self._node_family(nid) for nid in graph.nodes}
        self.node_ids: list[str] = sorted(graph.nodes)
        self.node_matrix_: sp.csr_matrix | None = None
        self._node_row: dict[str, int] = {}
        self._node_family_arr: np.ndarray = np.array([self.family[n] for n in self.node_ids])

    def terms(self) -> list[str]:
        """Every normalised dictionary term (for the jieba user dictionary)."""
        return sorted(t for bucket in self._terms.values() for t, _, _ in bucket)

    def node_text(self, node_id: str) -> str:
        node = self.graph.nodes[node_id]
        return " ".join([*node.terms(), node.description or ""])

    def fit_text(self, text: TextModel) -> None:
        """Vectorise node texts with the (already fitted) text model for the TF-IDF fallback."""
        self.node_matrix_ = text.transform([self.node_text(n) for n in self.node_ids])
        self._text = text
        self._node_row = {n: i for i, n in enumerate(self.node_ids)}

    # -- families ---------------------------------------------------------------------------------

    def _node_family(self, nid: str) -> str:
        node = self.graph.nodes[nid]
        if node.kind == NodeKind.equipment:
            return EQUIPMENT
        if node.kind == NodeKind.service:
            return SERVICE
        if node.kind == NodeKind.end_product and _cue_family(normalise_text(node.name)) == CONSUMER:
            return CONSUMER
        if node.kind == NodeKind.category:
            kinds = {
                self.graph.nodes[d].kind
                for d in self.graph.descendants(nid)
                if d in self.graph.nodes and self.graph.nodes[d].kind != NodeKind.category
            }
            if kinds == {NodeKind.equipment}:
                return EQUIPMENT
            if kinds == {NodeKind.service}:
                return SERVICE
            if not kinds:
                cue = _cue_family(normalise_text(node.name))
                if cue in (EQUIPMENT, SERVICE):
                    return cue
        return MATERIAL

    # -- linking ----------------------------------------------------------------------------------

    def link(self, product: str, description: str | None = None) -> ItemLinks:
        """Links for one offer or need."""
        text = normalise_text(product)
        family, head, use, modified = self._analyse_full(text, HEAD_CONFIDENCE)
        modified = modified or bool(use)
        desc = normalise_text(description or "")
        clauses = [c.strip() for c in _CLAUSE.split(desc) if c.strip()]
        confident = True
        if not head and desc:
            for clause in clauses:
                d_family, d_head, d_use = self._analyse(clause, DESCRIPTION_CONFIDENCE, context=text)
                if family is None and d_family is not None:
                    family = d_family
                d_head = [lk for lk in d_head if compatible(family, self.family[lk.node_id])]
                if d_head:
                    head = [Link(lk.node_id, lk.confidence, "head", "description") for lk in d_head]
                    use = use or d_use
                    break
        if not head:
            head = self._partial(_head_text(text), family)
            if family is None and head:
                family = self.family[head[0].node_id]
        if not head:
            head = self._fallback(_head_text(text), desc, family, use)
            if family is None and head:
                family = self.family[head[0].node_id]
                confident = False
        head = self._most_specific(_dedupe(head))
        if head and clauses and not modified:
            head = _dedupe([*head, *self._secondary(head, clauses, family, text)])
        if head and not use and clauses:
            use = self._description_use(clauses, text)
        return ItemLinks(family, tuple(head), tuple(_dedupe(use)), confident)

    def _secondary(
        self, head: Sequence[Link], clauses: Sequence[str], family: str | None, context: str
    ) -> list[Link]:
        """Description terms that specialise a product head (at its confidence) or are its siblings."""
        out: list[Link] = []
        for clause in clauses:
            parts = [clause] if ("用" in clause or "供" in clause) else _COORD.split(clause)
            for part in (p.strip() for p in parts):
                if not part:
                    continue
                _, d_head, _ = self._analyse(part, HEAD_CONFIDENCE, context=context)
                for lk in d_head:
                    if not compatible(family, self.family[lk.node_id]):
                        continue
                    for h in head:
                        if lk.node_id == h.node_id:
                            continue
                        if h.node_id in self._ancestor_set(lk.node_id):
                            out.append(Link(lk.node_id, h.confidence, "head", "description"))
                        elif self._siblings(lk.node_id, h.node_id):
                            conf = round(h.confidence * SECONDARY_CONFIDENCE, 4)
                            out.append(Link(lk.node_id, conf, "head", "description"))
        return out

    def _description_use(self, clauses: Sequence[str], context: str) -> list[Link]:
        """Purposes a description names (磷酸铁锂固相烧结用锂源 → 磷酸铁锂), at description confidence."""
        out: list[Link] = []
        for clause in clauses:
            if "用" not in clause and "供" not in clause:
                continue
            _, _, d_use = self._analyse(clause, DESCRIPTION_CONFIDENCE, context=context)
            out.extend(Link(lk.node_id, lk.confidence, "use", "description") for lk in d_use)
        return out

    def _most_specific(self, links: list[Link]) -> list[Link]:
        """Drop a head link whose node is a category of another head link (NCM811正极材料 → NCM811)."""
        nodes = {lk.node_id for lk in links}
        covered = {a for n in nodes for a in self.graph.ancestors(n)}
        return [lk for lk in links if lk.node_id not in covered]

    # -- graph helpers ----------------------------------------------------------------------------

    @lru_cache(maxsize=65536)  # noqa: B019 - the linker lives as long as its graph
    def _ancestor_set(self, nid: str) -> frozenset[str]:
        return frozenset(self.graph.ancestors(nid))

    def _siblings(self, a: str, b: str) -> bool:
        """Kinds of one category, neither made from the other (硫酸锰 and 磷酸锰铁锂 are not siblings)."""
        if not set(self.graph.parents.get(a, ())) & set(self.graph.parents.get(b, ())):
            return False
        return not (self._is_input_of(a, b) or self._is_input_of(b, a))

    def _partial(self, phrase: str, family: str | None) -> list[Link]:
        """A product naming no node whose whole text appears inside a few nodes' terms (加重剂)."""
        if len(phrase) < 2 or not _CJK.match(phrase) or self.node_matrix_ is None:
            return []
        found = [n for n in self._containing(phrase) if compatible(family, self.family[n])]
        if not found or len(found) > TAIL_MAX_NODES:
            return []
        return self._rank_partial(phrase, found, [])

    def _related(self, a: str, b: str) -> bool:
        """Same node, or one is a category of the other."""
        return a == b or a in self._ancestor_set(b) or b in self._ancestor_set(a)

    @lru_cache(maxsize=65536)  # noqa: B019
    def _input_closure(self, nid: str) -> frozenset[str]:
        """Everything that may go into ``nid`` or one of its specialisations (inputs and their kinds)."""
        makers = [nid, *self.graph.ancestors(nid), *self.graph.descendants(nid)[:40]]
        out: set[str] = set()
        for m in makers:
            for inp in self.graph.inputs.get(m, ()):
                out.add(inp)
                out.update(self.graph.descendants(inp))
        return frozenset(out)

    def _confirmed(self, m: _Match, matches: Sequence[_Match], context: str) -> bool:
        """A short ASCII term in a description backed by a related term there, or by the product text
        sharing two characters with one of the node's Chinese terms (SBR for 丁苯橡胶乳液 via 丁苯乳液)."""
        for k in matches:
            if k is not m and not _short_ascii(k.term) and any(
                self._related(a, b) for a in m.nodes for b in k.nodes
            ):
                return True
        grams = {context[i : i + 2] for i in range(len(context) - 1)}
        for nid in m.nodes:
            for term in self.graph.nodes[nid].terms():
                t = normalise_text(term)
                if any(t[i : i + 2] in grams for i in range(len(t) - 1) if _CJK.match(t[i : i + 2])):
                    return True
        return False

    def equipment_use(self, node_id: str) -> tuple[str, ...]:
        """Materials an equipment or service node is for, read from its name (正极材料烧结窑炉 → 正极材料)."""
        if self.family[node_id] not in (EQUIPMENT, SERVICE):
            return ()
        return self._equipment_use(node_id)

    @lru_cache(maxsize=8192)  # noqa: B019
    def _equipment_use(self, node_id: str) -> tuple[str, ...]:
        node = self.graph.nodes[node_id]
        found: list[str] = []
        for text in (node.name, *node.synonyms, node.description or ""):
            for m in self._match(normalise_text(text), exclude=node_id):
                found.extend(n for n in m.nodes if self.family[n] == MATERIAL and n not in found)
            if found:
                break
        return tuple(found)

    def _is_input_of(self, part: str, product: str) -> bool:
        """Whether ``part`` (or a kind of it) goes into ``product``: 粘结剂 into 正极浆料."""
        closure = self._input_closure(product)
        return part in closure or any(d in closure for d in self.graph.descendants(part)[:40])

    @lru_cache(maxsize=16384)  # noqa: B019
    def _containing(self, fragment: str) -> tuple[str, ...]:
        """Nodes with a term that contains ``fragment`` without being equal to it."""
        found: list[str] = []
        for bucket in self._terms.values():
            for term, nodes, _ in bucket:
                if fragment in term and term != fragment:
                    found.extend(n for n in nodes if n not in found)
        return tuple(sorted(found))

    # -- linking ----------------------------------------------------------------------------------

    def _analyse(
        self, text: str, confidence: float, context: str | None = None
    ) -> tuple[str | None, list[Link], list[Link]]:
        """Family, head and use links of a description clause (``context``: the item's product text)."""
        family, head, use, _ = self._analyse_full(text, confidence, context)
        return family, head, use

    def _analyse_full(
        self, text: str, confidence: float, context: str | None = None
    ) -> tuple[str | None, list[Link], list[Link], bool]:
        """Family, head links, use links, and whether the head span had modifiers or a purpose noun.

        ``context`` is the product text when ``text`` is a description clause (``None`` for the product).
        """
        head_span, spans = _segment(text)
        matches = self._match(text, context)
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
            cue_end, cue_family = _last_cue(text, head_span.start, head_span.end)
            if cue_family is not None and cue_end > last_end:
                family = cue_family
        head: list[Link] = []
        use: list[Link] = []
        main: list[_Match] = []  # head-noun candidates in the main head span, in text order
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

    def _head_noun(
        self, text: str, span: _Span | None, main: list[_Match], family: str | None, confidence: float
    ) -> tuple[list[Link], list[Link], bool]:
        """Head and use links of the main head span: the last term is the head, earlier ones modify it."""
        heads: list[Link] = []
        uses: list[Link] = []
        if not main or span is None:
            return heads, uses, False

        def links(m: _Match, role: str, factor: float = 1.0) -> list[Link]:
            conf = confidence * factor * (SHARED_TERM_CONFIDENCE if m.shared else 1.0)
            if role == "use":
                return [Link(n, conf * USE_CONFIDENCE, "use", "dictionary")
                        for n in m.nodes if self.family[n] == MATERIAL]
            return [Link(n, conf, "head", "dictionary") for n in m.nodes if compatible(family, self.family[n])]

        last = main[-1]
        tail = text[last.end : span.end].strip()
        if _CJK.match(tail) and tail.endswith(INGREDIENT_NOUNS):
            # 电解液溶质: the product is an ingredient of everything named before the noun.
            return heads, [lk for m in main for lk in links(m, "use")], True
        tail_links = self._tail_head(text[span.start : span.end].strip(), tail, last, family)
        head_nodes = [n for n in last.nodes]
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
            if any(self._related(a, b) for a in m.nodes for b in head_nodes):
                heads.extend(links(m, "head"))  # NCM811 … 三元正极材料: the specific one wins later
                continue
            modified = True
            if any(self._is_input_of(h, a) for a in m.nodes for h in head_nodes):
                uses.extend(links(m, "use"))  # 正极浆料 … 粘结剂: what the head goes into
            elif generic_head and not tail_links and any(
                self.graph.nodes[a].kind != NodeKind.category for a in m.nodes
            ):
                heads.extend(links(m, "head"))  # 聚四氟乙烯 + 树脂: a generic form word as head
            # else a material or form modifier (钛合金 in 钛合金螺栓): not what is traded
        return heads, uses, modified

    def _tail_head(self, phrase: str, tail: str, last: _Match, family: str | None) -> list[Link]:
        """Links for an unmatched head noun after the last term (正极 + 集流体 → 正极集流体铝箔)."""
        if len(tail) < 2 or not _CJK.match(tail) or self.node_matrix_ is None:
            return []
        whole = [n for n in self._containing(phrase) if compatible(family, self.family[n])]
        if whole and len(whole) <= TAIL_MAX_NODES and not any(
            self._related(n, m) for n in whole for m in last.nodes
        ):
            return self._rank_partial(phrase, whole, [])  # 正极集流体 inside 正极集流体铝箔
        found = [n for n in self._containing(tail) if compatible(family, self.family[n])]
        if not found or len(found) > TAIL_MAX_NODES:
            return []  # unknown, or a generic form word (树脂, 粉) shared by many nodes
        if any(self._related(n, m) for n in found for m in last.nodes):
            return []  # the tail only restates the matched product (聚四氟乙烯 + 悬浮树脂)
        return self._rank_partial(phrase, found, list(last.nodes))

    def _rank_partial(self, phrase: str, found: list[str], rivals: list[str]) -> list[Link]:
        """Rank ``found`` by TF-IDF similarity to ``phrase``; nothing when a rival node is closer."""
        assert self.node_matrix_ is not None
        query = self._text.transform([phrase])
        rows = [self._node_row[n] for n in [*found, *rivals]]
        sims = np.asarray((self.node_matrix_[rows] @ query.T).toarray()).ravel()
        found_sims = sims[: len(found)]
        top = float(found_sims.max(initial=0.0))
        if top <= 0 or top <= float(sims[len(found) :].max(initial=0.0)):
            return []
        ranked = sorted(zip(found, found_sims, strict=True), key=lambda x: (-x[1], x[0]))
        return [Link(n, round(TAIL_HEAD_CONFIDENCE * float(v) / top, 4), "head", "partial")
                for n, v in ranked[:3] if v >= 0.75 * top]

    def _match(self, text: str, context: str | None = None, exclude: str | None = None) -> list[_Match]:
        """Dictionary matches; ``context`` (the product text) marks ``text`` as a description clause."""
        found: list[_Match] = []
        for i, ch in enumerate(text):
            for term, nodes, shared in self._terms.get(ch, ()):
                if not text.startswith(term, i) or exclude in nodes:
                    continue
                end = i + len(term)
                if _ASCII_WORD.match(term[0]) and i > 0 and _ASCII_WORD.match(text[i - 1]):
                    continue
                if _ASCII_WORD.match(term[-1]) and end < len(text) and _ASCII_WORD.match(text[end]):
                    continue
                if len(term) == 1 and text.strip() != term:
                    continue  # a one-character term (锡) only counts when it is the whole text
                found.append(_Match(i, end, term, nodes, shared))
        # Longest first; drop matches inside an already kept longer match.
        found.sort(key=lambda m: (-(m.end - m.start), m.start))
        kept: list[_Match] = []
        for m in found:
            if not any(k.start <= m.start and m.end <= k.end for k in kept):
                kept.append(m)
        # A term followed by 级 is a grade (电池级, API级), not the product.
        kept = [m for m in kept if not text.startswith(_GRADE_SUFFIX, m.end)]
        if context is not None:
            # API, PC, AA in running text are as often common words as products: a short ASCII term
            # counts only when another term of the text confirms it (SBR next to 负极粘结剂).
            kept = [m for m in kept if not _short_ascii(m.term) or self._confirmed(m, kept, context)]
        kept.sort(key=lambda m: m.start)
        return kept

    def _fallback(self, head_text: str, desc: str, family: str | None, use: Sequence[Link]) -> list[Link]:
        if self.node_matrix_ is None or not (head_text or desc):
            return []
        query = self._text.transform([f"{head_text} {head_text} {desc}".strip()])
        sims = np.asarray((self.node_matrix_ @ query.T).toarray()).ravel()
        if family is not None:
            sims = np.where(self._node_family_arr == family, sims, 0.0)
        use_inputs = self._use_inputs(use)
        # Inputs of what the buyer makes (the use context) are the likelier reading.
        boost = np.array([USE_INPUT_BOOST if n in use_inputs else 0.0 for n in self.node_ids])
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

    def _use_inputs(self, use: Sequence[Link]) -> set[str]:
        nodes: set[str] = set()
        for lk in use:
            for anc in [lk.node_id, *self.graph.ancestors(lk.node_id)]:
                for inp in self.graph.inputs.get(anc, ()):
                    nodes.add(inp)
                    nodes.update(self.graph.descendants(inp))
        return nodes


def _short_ascii(term: str) -> bool:
    return len(term) <= SHORT_ASCII_MAX and term.isascii()


def _dedupe(links: Sequence[Link]) -> list[Link]:
    best: dict[str, Link] = {}
    for lk in links:
        if lk.node_id not in best or lk.confidence > best[lk.node_id].confidence:
            best[lk.node_id] = lk
    return sorted(best.values(), key=lambda lk: (-lk.confidence, lk.node_id))


def _cue_family(text: str) -> str | None:
    return _last_cue(text, 0, len(text))[1]


def _last_cue(text: str, start: int, end: int) -> tuple[int, str | None]:
    """The cue ending last within ``text[start:end]`` (longest on ties) and its family."""
    best_end, best_len, best_family = -1, 0, None
    for family, cues in ((EQUIPMENT, EQUIPMENT_CUES), (SERVICE, SERVICE_CUES), (CONSUMER, CONSUMER_CUES)):
        for cue in cues:
            pos = text.rfind(cue, start, end)
            if pos < 0:
                continue
            cue_end = pos + len(cue)
            if cue_end > best_end or (cue_end == best_end and len(cue) > best_len):
                best_end, best_len, best_family = cue_end, len(cue), family
    return best_end, best_family


def _segment(text: str) -> tuple[_Span | None, list[_Span]]:
    """The main head span and all spans of a product phrase (head-final Chinese noun phrases)."""
    spans: list[_Span] = []
    masked = list(text)
    for m in _PAREN.finditer(text):
        inner = m.group(1)
        role = "use" if "用" in inner or any(inner.endswith(s) for s in INPUT_SUFFIXES) else "head"
        spans.append(_Span(m.start(1), m.end(1), role))
        for i in range(m.start(), m.end()):
            masked[i] = " "
    main = "".join(masked)
    lo = len(main) - len(main.lstrip())
    hi = len(main.rstrip())
    head: _Span | None = None
    split = _use_split(main, lo, hi)
    if split is not None:
        use_span, head = split
        spans.append(use_span)
    else:
        suffix = next((s for s in INPUT_SUFFIXES if main[lo:hi].endswith(s)), None)
        if suffix and hi - len(suffix) > lo:
            spans.append(_Span(lo, hi - len(suffix), "use"))
        elif hi > lo:
            head = _Span(lo, hi, "head")
    if head is not None:
        spans.insert(0, head)
    return head, spans


def _use_split(text: str, lo: int, hi: int) -> tuple[_Span, _Span] | None:
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
                return _Span(pos + 2, de, "use"), _Span(de + 1, hi, "head")
            if pos > lo:  # 粘结剂用于正极浆料: the head comes first
                return _Span(pos + 2, hi, "use"), _Span(lo, pos, "head")
            return _Span(pos + 2, hi, "use"), _Span(hi, hi, "head")  # 用于X: a use clause, no product
        if pos + 1 < hi and text[pos + 1 : hi].strip():
            return _Span(lo, pos, "use"), _Span(pos + 1, hi, "head")
        if pos > lo:
            return _Span(lo, pos, "head"), _Span(pos, pos, "use")
        return None


def _head_text(text: str) -> str:
    head, _ = _segment(text)
    return text[head.start : head.end].strip() if head else ""
