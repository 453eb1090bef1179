"""The matching engine: candidates → components → filters → weighted score → top-k with explanations.

Candidates come from chain-graph blocking (offers posted at the need's node, its specialisations and
categories, or at the inputs of what the buyer makes) united with a sparse text top-n
(``sparse_dot_topn.sp_matmul_topn``), so a query never scores every offer.

A pair's product component is its best graph relation (see :mod:`matching.relations`); a need that names
a purpose (``X用Y``) also scores inputs of X and combines both confirmations; siblings count in proportion
to their text similarity; among exact-node matches the text decides which one meets the asked
specification. A pair the graph does not relate is kept on its text alone (discounted when both sides are
on the graph). A need naming only a category plus an unknown noun (电梯对重块) is no need for the whole end
product of that category. Inferred demand takes direct inputs and 2-hop inputs through a concrete
intermediate (碎玻璃 → 配合料 → 玻璃瓶); an equipment or service offer makes no material it handles.

Only a confident clash rules a pair out: families (material against equipment, service, consumer goods),
or a known wrong direction (the offer is the need's purpose, is made from it, or is a part or product
assembled from the asked material). Cut-offs rank rather than truncate: weak text pairs, near-textless
siblings and look-alikes of an already served need only fill a list that would be shorter than k.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np
import polars as pl
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

from matching.chains import ChainGraph, NodeKind
from matching.errors import InvalidInputError, NotFoundError
from matching.explain import SummaryParts, region_label, summary_zh
from matching.filters import PairFilter, certification_keys
from matching.index import EntState, ItemRow, MatchIndex, frames_to_profiles, profiles_to_frames
from matching.linking import EQUIPMENT, SERVICE, ItemLinks, Link, compatible
from matching.profiles import Enterprise, Need, Offer, Quantity
from matching.relations import Relation
from matching.results import Explanation, MatchItem, MatchResult, Party
from matching.scoring import (
    NO_STANDING,
    PolicyLookup,
    RegionLookup,
    capacity_component,
    cross_region_component,
    distance_component,
    policy_component,
    weighted,
)
from matching.text import item_text, normalise_text, shared_terms
from matching.weights import COMPONENTS, DEFAULT_PROFILE, MatchFilters, WeightProfile

__all__ = ["MatchEngine", "frames_to_profiles", "profiles_to_frames"]

# Offers taken from the graph per demand before scoring (whole relation tiers; exact matches always).
GRAPH_CANDIDATE_BUDGET = 60
TEXT_TOP_N = 50
TEXT_CANDIDATE_MIN = 0.05
TEXT_RELATION_MIN = 0.3
TEXT_RELATION_FACTOR = 0.5  # one side names no graph node: the text decides
LINKED_TEXT_FACTOR = 0.25  # both sides are on the graph yet unrelated: text alone, discounted
HEAD_NOT_FOR_USE = 0.9  # the named kind, but not known as an input of the named purpose
SERVED = 0.8  # a demand with a same/specialisation pair this strong needs no text-only look-alikes
OUTSIDE_REFINEMENT = 0.8  # another kind of the need's head than the kind its description names
SIBLING_TEXT_MIN = 0.05
SIBLING_TEXT_FULL = 0.35  # a sibling counts fully once the texts are this similar
SIBLING_FLOOR = 0.2  # a sibling with (almost) no shared text keeps this share, as a backfill only
BACKFILL_TEXT_MIN = 0.1  # a text-only pair this similar may still fill a list shorter than k
SPEC_SPAN = 0.15  # an exact-node match loses up to this share when its text does not agree
SPEC_TEXT_FULL = 0.5  # ... and none once the texts are this similar
PART_OF_CATEGORY = 0.5  # a whole end product for a need naming only its category plus an unknown noun
_ASSEMBLED = frozenset({NodeKind.component, NodeKind.end_product})
QUERY_ID = "(query)"
QUERY_NAME = "临时查询"

VecRef = tuple[str, int]  # (matrix name, row): offer | need | node | query


@dataclass(frozen=True)
class _Side:
    id: str
    name: str
    region_code: str | None
    standing: float
    certs: frozenset[str]
    made_nodes: frozenset[str] = frozenset()
    need_cover: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Supply:
    party: _Side
    offer_id: str | None
    product: str
    links: ItemLinks
    vec: VecRef
    tokens: list[str]
    quantity: Quantity | None


@dataclass(frozen=True)
class _Demand:
    party: _Side
    need_id: str | None
    product: str
    links: ItemLinks
    vec: VecRef | None  # None for inferred demand (the inferred input node's vector is used)
    tokens: list[str]
    quantity: Quantity | None
    required: frozenset[str] = frozenset()
    use_node: str | None = None  # inferred demand: what the buyer makes
    use_conf: float = 1.0


@dataclass
class _Pair:
    supply: _Supply
    demand: _Demand
    product: float
    relation: Relation | None
    demand_vec: VecRef
    text_factor: float = TEXT_RELATION_FACTOR  # product = factor × text when there is no graph relation
    text: float = 0.0
    backfill: bool = False  # below the usual cut-offs: only fills a list shorter than k
    components: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    contributions: dict[str, float] = field(default_factory=dict)

    @property
    def inferred_input(self) -> str | None:
        if self.demand.use_node is None or self.relation is None:
            return None
        return self.relation.via or self.relation.path[-2]

    def sort_key(self) -> tuple[float, str, str, str, str, str]:
        return (
            -self.score, self.supply.party.id, self.supply.offer_id or "", self.demand.party.id,
            self.demand.need_id or "", self.inferred_input or "",
        )


class MatchEngine:
    """Ranked suppliers and buyers over an incrementally updatable index. Build with :meth:`build`."""

    def __init__(self, index: MatchIndex, policy: PolicyLookup) -> None:
        self.index = index
        self.policy = policy
        self._distance: dict[tuple[str, str], float | None] = {}
        self._priority: dict[str, frozenset[str]] = {}
        self._node_pos = {n: i for i, n in enumerate(index.linker.node_ids)}
        self._node_tokens: dict[str, list[str]] = {}
        self._part_cache: dict[tuple[str, tuple[str, ...]], bool] = {}

    # -- construction and updates -------------------------------------------------------------------

    @classmethod
    def build(
        cls,
        graph: ChainGraph,
        regions: RegionLookup,
        policy: PolicyLookup,
        enterprises: pl.DataFrame
        | tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]
        | Iterable[Enterprise],
    ) -> MatchEngine:
        """Index ``enterprises``: profiles, :func:`profiles_to_frames` frames, or one nested frame."""
        if isinstance(enterprises, pl.DataFrame):
            profiles = frames_to_profiles(enterprises)
        elif isinstance(enterprises, tuple) and all(isinstance(f, pl.DataFrame) for f in enterprises):
            profiles = frames_to_profiles(*enterprises)
        else:
            profiles = list(enterprises)  # type: ignore[arg-type]
        seen: set[str] = set()
        for e in profiles:
            if e.id in seen:
                raise InvalidInputError(f"duplicate enterprise id {e.id!r}")
            seen.add(e.id)
        index = MatchIndex(graph, regions)
        index.fit(profiles)
        return cls(index, policy)

    def upsert(self, enterprise: Enterprise) -> None:
        """Insert or replace one profile without refitting the vocabulary."""
        if enterprise.id in self.index.enterprises:
            self.index.remove(enterprise.id)
        self.index.add_many([enterprise])

    def remove(self, enterprise_id: str) -> None:
        if enterprise_id not in self.index.enterprises:
            raise NotFoundError("enterprise", enterprise_id)
        self.index.remove(enterprise_id)

    def get(self, enterprise_id: str) -> Enterprise | None:
        state = self.index.enterprises.get(enterprise_id)
        return None if state is None else state.enterprise

    def __len__(self) -> int:
        return len(self.index.enterprises)

    def linked_nodes(self, enterprise_id: str) -> frozenset[str]:
        """Chain nodes the enterprise's indexed offers and needs link to (head nodes, not categories)."""
        state = self.index.enterprises.get(enterprise_id)
        if state is None:
            raise NotFoundError("enterprise", enterprise_id)
        rows = [self.index.offers.rows[r] for r in state.offer_rows]
        rows += [self.index.needs.rows[r] for r in state.need_rows]
        return frozenset(node for row in rows for node in row.links.head_nodes())

    def refit(self) -> None:
        """Explicit full rebuild: refit TF-IDF on the current profiles and re-link everything."""
        self.index.fit([s.enterprise for s in self.index.enterprises.values()])
        self._node_pos = {n: i for i, n in enumerate(self.index.linker.node_ids)}

    @property
    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """``(enterprises_df, offers_df, needs_df)``; item frames carry ``row``, ``alive``, ``nodes``."""
        return self.index.enterprises_df, self.index.offers_df, self.index.needs_df

    # -- queries ------------------------------------------------------------------------------------

    def suppliers_for(
        self,
        enterprise_id: str,
        need_id: str | None = None,
        *,
        k: int = 10,
        weights: WeightProfile | None = None,
        filters: MatchFilters | None = None,
    ) -> MatchResult:
        """Suppliers for one need, or for all of the enterprise's explicit and inferred needs."""
        state = self._state(enterprise_id)
        side = self._side(state)
        if need_id is not None:
            row = self._item_row(self.index.needs.rows, state.need_rows, need_id, "need")
            demands = [self._explicit_demand(side, row)]
        else:
            demands = [self._explicit_demand(side, self.index.needs.rows[r]) for r in state.need_rows]
            demands += self._inferred_demands(side, state)
        pairs: list[_Pair] = []
        for d in demands:
            pairs += self._pairs_for_demand(d)
        return self._finish(pairs, k, weights, filters, state.enterprise.unit_warnings(), enterprise_id)

    def buyers_for(
        self,
        enterprise_id: str,
        offer_id: str | None = None,
        *,
        k: int = 10,
        weights: WeightProfile | None = None,
        filters: MatchFilters | None = None,
    ) -> MatchResult:
        """Likely buyers (explicit needs and inferred demand) for one offer or all of them."""
        state = self._state(enterprise_id)
        side = self._side(state)
        rows = (
            [self._item_row(self.index.offers.rows, state.offer_rows, offer_id, "offer")]
            if offer_id is not None
            else [self.index.offers.rows[r] for r in state.offer_rows]
        )
        pairs: list[_Pair] = []
        for row in rows:
            pairs += self._pairs_for_supply(self._stored_supply(side, row))
        return self._finish(pairs, k, weights, filters, state.enterprise.unit_warnings(), enterprise_id)

    def match(
        self,
        query: Need | Offer,
        *,
        region_code: str | None = None,
        certifications: list[str] | None = None,
        k: int = 10,
        weights: WeightProfile | None = None,
        filters: MatchFilters | None = None,
    ) -> MatchResult:
        """Ad-hoc: a Need returns suppliers, an Offer returns buyers (explicit and inferred); nothing stored.

        ``region_code`` and ``certifications`` describe the querying party (its certifications count when an
        Offer query meets needs that require certifications).
        """
        side = _Side(QUERY_ID, QUERY_NAME, region_code, NO_STANDING, certification_keys(certifications or []))
        vec = self.index.text.transform([item_text(query.product, query.description)])
        tokens = self.index.text.tokens(f"{query.product} {query.description or ''}")
        links = self.index.linker.link(query.product, query.description)
        warnings: list[str] = []
        if isinstance(query, Need):
            if query.volume is not None and not query.volume.unit_known():
                warnings.append(_unit_warning("volume.unit", query.volume.unit))
            demand = _Demand(side, query.id, query.product, links, ("query", 0), tokens, query.volume,
                             certification_keys(query.required_certifications))
            pairs = self._pairs_for_demand(demand, vec)
        else:
            if query.capacity is not None and not query.capacity.unit_known():
                warnings.append(_unit_warning("capacity.unit", query.capacity.unit))
            supply = _Supply(side, query.id, query.product, links, ("query", 0), tokens, query.capacity)
            pairs = self._pairs_for_supply(supply, vec)
        return self._finish(pairs, k, weights, filters, warnings, None, vec)

    # -- sides --------------------------------------------------------------------------------------

    def _state(self, enterprise_id: str) -> EntState:
        state = self.index.enterprises.get(enterprise_id)
        if state is None:
            raise NotFoundError("enterprise", enterprise_id)
        return state

    @staticmethod
    def _item_row(rows: list[ItemRow], owned: list[int], item_id: str, what: str) -> ItemRow:
        for r in owned:
            if rows[r].item_id == item_id:
                return rows[r]
        raise NotFoundError(what, item_id)

    @staticmethod
    def _side(state: EntState) -> _Side:
        e = state.enterprise
        return _Side(e.id, e.name, state.region_code, state.standing, state.certs, state.made_nodes,
                     state.need_cover)

    def _side_of(self, enterprise_id: str) -> _Side:
        return self._side(self.index.enterprises[enterprise_id])

    @staticmethod
    def _stored_supply(side: _Side, row: ItemRow) -> _Supply:
        vec: VecRef = ("offer", row.row)
        return _Supply(side, row.item_id, row.product, row.links, vec, row.tokens, row.quantity)

    @staticmethod
    def _explicit_demand(side: _Side, row: ItemRow) -> _Demand:
        return _Demand(side, row.item_id, row.product, row.links, ("need", row.row), row.tokens, row.quantity,
                       row.required)

    def _inferred_demands(self, side: _Side, state: EntState) -> list[_Demand]:
        best: dict[str, float] = {}
        for r in state.offer_rows:
            links = self.index.offers.rows[r].links
            for lk in links.head:
                if self._makes(links, lk.node_id):
                    best[lk.node_id] = max(best.get(lk.node_id, 0.0), lk.confidence)
        return [self._inferred(side, node, conf) for node, conf in sorted(best.items())]

    def _makes(self, links: ItemLinks, node: str) -> bool:
        """Whether an offer's head link says its enterprise makes ``node`` (and so consumes its inputs):
        an equipment or service offer does not make the material it handles (a 冷媒 charging machine)."""
        if links.family in (EQUIPMENT, SERVICE):
            return self.index.linker.family[node] in (EQUIPMENT, SERVICE)
        return True

    def _inferred(self, side: _Side, node: str, conf: float) -> _Demand:
        name = self.index.graph.nodes[node].name
        no_links = ItemLinks(None, (), ())
        return _Demand(side, None, name, no_links, None, [], None, use_node=node, use_conf=conf)

    # -- candidates and relations -------------------------------------------------------------------

    def _text_top(self, vec: sp.csr_matrix, store_t: sp.csr_matrix) -> list[int]:
        if store_t.shape[1] == 0 or vec.nnz == 0:
            return []
        top = sp_matmul_topn(vec, store_t, top_n=TEXT_TOP_N, threshold=TEXT_CANDIDATE_MIN)
        return [int(i) for i in top.indices]

    def _pairs_for_demand(self, d: _Demand, query_vec: sp.csr_matrix | None = None) -> list[_Pair]:
        rel = self.index.relations
        offers = self.index.offers
        strength: dict[str, float] = {}  # candidate node -> its best relation score to the demand
        if d.use_node is not None:
            maps = [rel.use[d.use_node]]
        else:  # 扩链剂（TPU用）: what goes into TPU, as well as the named kind
            maps = [*(rel.head[lk.node_id] for lk in d.links.head), *(rel.use[lk.node_id] for lk in d.links.use)]
        for relmap in maps:
            for node, relation in relmap.items():
                if d.use_node is not None and not rel.inferable(d.use_node, relation):
                    continue
                strength[node] = max(strength.get(node, 0.0), relation.score)
        rows: set[int] = set()
        # Blocking budget: take whole tiers of equally strong relations, strongest first, until the budget is
        # met, so a broad category or a deep input tree on a large corpus does not score every offer.
        ranked = sorted(strength.items(), key=lambda kv: (-kv[1], kv[0]))
        for score, tier in groupby(ranked, key=lambda kv: kv[1]):
            if len(rows) >= GRAPH_CANDIDATE_BUDGET and score < 1.0:
                break
            for node, _ in tier:
                rows.update(offers.head_postings.get(node, ()))
        if d.vec is not None:
            vec = query_vec if d.vec[0] == "query" else self.index.needs.matrix[d.vec[1]]
            if vec is not None:
                rows.update(self._text_top(vec, offers.matrix_t))
        pairs: list[_Pair] = []
        for r in sorted(rows):
            row = offers.rows[r]
            if not row.alive:
                continue
            pair = self._relate(self._stored_supply(self._side_of(row.enterprise_id), row), d)
            if pair is not None:
                pairs.append(pair)
        return pairs

    def _pairs_for_supply(self, s: _Supply, query_vec: sp.csr_matrix | None = None) -> list[_Pair]:
        rel = self.index.relations
        needs = self.index.needs
        need_rows: set[int] = set()
        inferred: dict[tuple[str, str], float] = {}
        for x in s.links.head_nodes():
            for n in rel.rev_head.get(x, ()):
                need_rows.update(needs.head_postings.get(n, ()))
            for u in rel.rev_use.get(x, ()):
                need_rows.update(needs.use_postings.get(u, ()))
            for u in rel.rev_inferred.get(x, ()):
                self._collect_makers(u, inferred)
        for u in self._equipment_uses(s):  # a kiln for 正极材料: every cathode maker may buy one
            for made in (u, *self.index.graph.descendants(u)):
                self._collect_makers(made, inferred)
        vec = query_vec if s.vec[0] == "query" else self.index.offers.matrix[s.vec[1]]
        if vec is not None:
            need_rows.update(self._text_top(vec, needs.matrix_t))
        demands: list[_Demand] = []
        for r in sorted(need_rows):
            row = needs.rows[r]
            if row.alive:
                demands.append(self._explicit_demand(self._side_of(row.enterprise_id), row))
        for (buyer, node), conf in sorted(inferred.items()):
            demands.append(self._inferred(self._side_of(buyer), node, conf))
        pairs: list[_Pair] = []
        for d in demands:
            pair = self._relate(s, d)
            if pair is not None:
                pairs.append(pair)
        return pairs

    def _collect_makers(self, node: str, inferred: dict[tuple[str, str], float]) -> None:
        """Enterprises offering ``node`` (they make it, so they consume its inputs), best confidence."""
        for r in self.index.offers.head_postings.get(node, ()):
            row = self.index.offers.rows[r]
            if not self._makes(row.links, node):
                continue
            conf = max(lk.confidence for lk in row.links.head if lk.node_id == node)
            key = (row.enterprise_id, node)
            inferred[key] = max(inferred.get(key, 0.0), conf)

    def _equipment_uses(self, s: _Supply) -> tuple[str, ...]:
        """What an equipment or service offer is for: its use links and what its nodes' names say."""
        if s.links.family not in (EQUIPMENT, SERVICE):
            return ()
        uses = [lk.node_id for lk in s.links.use]
        for lk in s.links.head:
            uses.extend(u for u in self.index.linker.equipment_use(lk.node_id) if u not in uses)
        return tuple(uses)

    def _relate(self, s: _Supply, d: _Demand) -> _Pair | None:
        """The best product relation of a pair, or ``None`` when the pair can never match.

        Only a confident clash of families (material against equipment, service or consumer goods) rules
        a pair out; pairs without a graph relation are kept for the text to decide.
        """
        if s.party.id == d.party.id:
            return None
        if not compatible(s.links.family, d.links.family) and s.links.confident and d.links.confident:
            return None
        rel = self.index.relations
        if d.use_node is not None:
            return self._relate_inferred(s, d)
        assert d.vec is not None
        head = self._best_head(s, d)
        use = _best(d.links.use, s.links.head, rel.use)
        if head is not None and use is not None:
            # Named kind and an input of the named purpose: two independent confirmations (noisy-or).
            score = 1.0 - (1.0 - head[0]) * (1.0 - use[0])
            return _Pair(s, d, score, head[1] if head[0] >= use[0] else use[1], d.vec)
        if head is not None:
            factor = HEAD_NOT_FOR_USE if d.links.use else 1.0
            if self._part_of_category(d) and self._end_product(head[1].path[0]):
                factor *= PART_OF_CATEGORY  # 电梯对重块 is not met by a whole 乘客电梯
            return _Pair(s, d, head[0] * factor, head[1], d.vec)
        if use is not None and self._use_alone(d.links):
            return _Pair(s, d, use[0], use[1], d.vec)
        sibling = self._sibling(s, d)
        if sibling is not None:
            return _Pair(s, d, sibling[0], sibling[1], d.vec)
        if self._wrong_direction(s, d):
            return None  # made from what the buyer asks for or makes: the wrong direction, text or not
        linked = bool(s.links.head and (d.links.head or d.links.use)) and not self._part_of_category(d)
        # Both sides on the graph and unrelated: only a strong text overlap may still propose the pair.
        return _Pair(s, d, 0.0, None, d.vec, text_factor=LINKED_TEXT_FACTOR if linked else TEXT_RELATION_FACTOR)

    def _best_head(self, s: _Supply, d: _Demand) -> tuple[float, Relation] | None:
        """Best head relation; when the need also names a specialisation of its own head (动力电池电芯,
        described as 磷酸铁锂电芯), offers reached only through the broader head are substitutes."""
        graph = self.index.graph
        nodes = {lk.node_id for lk in d.links.head}
        refined = [lk for lk in d.links.head if nodes & set(graph.ancestors(lk.node_id))]
        if not refined:
            return _best(d.links.head, s.links.head, self.index.relations.head)
        narrow = _best(refined, s.links.head, self.index.relations.head)
        broad = _best([lk for lk in d.links.head if lk not in refined], s.links.head,
                      self.index.relations.head)
        if broad is not None:
            broad = (broad[0] * OUTSIDE_REFINEMENT, broad[1])
        candidates = [b for b in (narrow, broad) if b is not None]
        return max(candidates, key=lambda b: b[0]) if candidates else None

    def _wrong_direction(self, s: _Supply, d: _Demand) -> bool:
        """Whether the graph knows the pair runs the wrong way: the offer is the need's purpose or made from
        it (磷酸锰铁锂电池 for a 锰源 needed for 磷酸锰铁锂), or a part or product assembled from the asked
        product (储能电芯 for 磷酸铁锂). A material made from the asked one (重晶石粉 for 重晶石) or an
        ingredient described as the product (页岩气 as 管输天然气) may stay, on its text."""
        graph = self.index.graph
        use, head = self.index.relations.use, self.index.relations.head
        for lo in s.links.head:
            made_from = use[lo.node_id]
            if any(lk.node_id in made_from or lo.node_id in head[lk.node_id] for lk in d.links.use):
                return True
            if graph.nodes[lo.node_id].kind in _ASSEMBLED and any(
                lk.node_id in made_from for lk in d.links.head
            ):
                return True
        return False

    def _part_of_category(self, d: _Demand) -> bool:
        """A need linked only to categories through a term that is not its whole product name
        (电梯对重块 → 电梯): what is asked for is an unknown thing of that category, often a part."""
        if d.use_node is not None or d.links.use or not d.links.head:
            return False
        key = (d.product, tuple(lk.node_id for lk in d.links.head))
        if key not in self._part_cache:
            self._part_cache[key] = _part_of_category(self.index.graph, *key)
        return self._part_cache[key]

    def _end_product(self, node_id: str) -> bool:
        return self.index.graph.nodes[node_id].kind == NodeKind.end_product

    def _use_alone(self, links: ItemLinks) -> bool:
        """Whether an input of the named purpose may match without being the named kind: yes when the
        product itself names the purpose (扩链剂（TPU用）) and the kind is vague (a category, or linked
        only by text), or names no kind at all; a purpose read from the description only re-ranks."""
        if not any(lk.method != "description" for lk in links.use):
            return False
        graph = self.index.graph
        return all(
            lk.method in ("text", "partial") or graph.nodes[lk.node_id].kind == NodeKind.category
            for lk in links.head
        )

    def _sibling(self, s: _Supply, d: _Demand) -> tuple[float, Relation] | None:
        best: tuple[float, Relation] | None = None
        for ln in d.links.head:
            for lo in s.links.head:
                r = self.index.relations.sibling(lo.node_id, ln.node_id)
                if r is not None:
                    score = r.score * lo.confidence * ln.confidence
                    if best is None or score > best[0]:
                        best = (score, r)
        return best

    def _relate_inferred(self, s: _Supply, d: _Demand) -> _Pair | None:
        assert d.use_node is not None
        rel = self.index.relations
        best: tuple[float, Relation] | None = None
        umap = rel.use[d.use_node]
        for lo in s.links.head:
            r = umap.get(lo.node_id)
            if r is None or not rel.inferable(d.use_node, r):
                continue
            if lo.node_id in d.party.made_nodes or lo.node_id in d.party.need_cover:
                continue  # self-supplied, or asked for (with its conditions) by an explicit need
            score = r.score * lo.confidence * d.use_conf
            if best is None or score > best[0]:
                best = (score, r)
        uses = self._equipment_uses(s)
        if best is None and uses:
            for lo in s.links.head:
                r = rel.equipment_for(lo.node_id, uses, d.use_node)
                if r is not None and lo.node_id not in d.party.need_cover:
                    score = r.score * lo.confidence * d.use_conf
                    if best is None or score > best[0]:
                        best = (score, r)
            if best is not None:
                return _Pair(s, d, best[0], best[1], ("node", self._node_pos[d.use_node]))
        if best is None:
            return None
        via = best[1].via or best[1].path[-2]
        return _Pair(s, d, best[0], best[1], ("node", self._node_pos[via]))

    # -- scoring and ranking ------------------------------------------------------------------------

    def _finish(
        self,
        pairs: list[_Pair],
        k: int,
        weights: WeightProfile | None,
        filters: MatchFilters | None,
        warnings: Sequence[str],
        query_enterprise: str | None,
        query_vec: sp.csr_matrix | None = None,
    ) -> MatchResult:
        if k < 1:
            raise InvalidInputError("k must be at least 1")
        profile = weights or DEFAULT_PROFILE
        pfilter = PairFilter.from_filters(filters or profile.filters, self.index.regions.in_circle_codes())
        pairs = [
            p for p in pairs
            if pfilter.allows(p.supply.party.id, p.supply.party.region_code, p.supply.party.certs,
                              p.demand.party.id, p.demand.party.region_code, p.demand.required)
        ]
        if pairs:
            cos = self._cosines(pairs, query_vec)
            kept: list[_Pair] = []
            for p, c in zip(pairs, cos, strict=True):
                p.text = float(min(1.0, max(0.0, c)))
                if p.relation is None:
                    if p.text < BACKFILL_TEXT_MIN:
                        continue
                    p.backfill = p.text < TEXT_RELATION_MIN
                    p.product = p.text_factor * p.text
                elif p.relation.kind == "sibling":
                    p.backfill = p.text < SIBLING_TEXT_MIN
                    p.product *= max(SIBLING_FLOOR, min(1.0, p.text / SIBLING_TEXT_FULL))
                elif p.relation.kind in ("same", "specialisation") and not p.demand.links.use:
                    # Among exact matches, the one whose text agrees with the asked specification wins
                    # (a named purpose is the better judge where there is one).
                    p.product *= 1.0 - SPEC_SPAN * (1.0 - min(1.0, p.text / SPEC_TEXT_FULL))
                self._score(p, profile)
                if p.score >= pfilter.min_score:
                    kept.append(p)
            pairs = kept
        _mark_needless_text_pairs(pairs)
        pairs = _dedupe(pairs)
        pairs.sort(key=_Pair.sort_key)
        main = [p for p in pairs if not p.backfill]
        # Cut-offs rank, they do not truncate: below-threshold candidates fill a list shorter than k.
        spare = [p for p in pairs if p.backfill][: max(0, k - len(main))]
        top = sorted([*main[:k], *spare], key=_Pair.sort_key)
        items = [self._item(rank, p, pfilter) for rank, p in enumerate(top, start=1)]
        prefix = f"{query_enterprise}: " if query_enterprise else ""
        all_warnings = [prefix + w for w in warnings]
        for p in top:
            for party, what, item_id, qty in (
                (p.supply.party.id, "offer", p.supply.offer_id, p.supply.quantity),
                (p.demand.party.id, "need", p.demand.need_id, p.demand.quantity),
            ):
                if qty is not None and not qty.unit_known() and party != query_enterprise:
                    w = f"{party}: " + _unit_warning(f"{what} {item_id}", qty.unit)
                    if w not in all_warnings:
                        all_warnings.append(w)
        return MatchResult(
            items=items, weights={"name": profile.name, "version": profile.version}, warnings=all_warnings
        )

    def _cosines(self, pairs: Sequence[_Pair], query_vec: sp.csr_matrix | None) -> np.ndarray:
        mats: dict[str, sp.csr_matrix] = {
            "offer": self.index.offers.matrix,
            "need": self.index.needs.matrix,
        }
        node_matrix = self.index.linker.node_matrix_
        if node_matrix is not None:
            mats["node"] = node_matrix
        if query_vec is not None:
            mats["query"] = query_vec
        left = _gather([p.supply.vec for p in pairs], mats)
        right = _gather([p.demand_vec for p in pairs], mats)
        return np.asarray(left.multiply(right).sum(axis=1)).ravel()

    def _score(self, p: _Pair, profile: WeightProfile) -> None:
        s, d = p.supply, p.demand
        km = self._km(s.party.region_code, d.party.region_code)
        nodes = list(p.relation.path) if p.relation else [*s.links.head_nodes(), *d.links.head_nodes()]
        chains = {c for n in nodes for c in self.index.graph.node_chains.get(n, ())}
        priority = self._priority_of(s.party.region_code) | self._priority_of(d.party.region_code)
        p.components = {
            "product": min(1.0, p.product),
            "text": p.text,
            "distance": distance_component(km),
            "capacity": capacity_component(s.quantity, d.quantity),
            "cross_region": cross_region_component(s.party.region_code, d.party.region_code),
            "policy": policy_component(chains, priority),
            "standing": s.party.standing,
        }
        score, contributions = weighted(p.components, profile)
        p.score = round(score, 6)
        p.contributions = contributions

    def _km(self, a: str | None, b: str | None) -> float | None:
        if a is None or b is None:
            return None
        key = (a, b) if a <= b else (b, a)
        if key not in self._distance:
            try:
                self._distance[key] = self.index.regions.distance_km(a, b)
            except (KeyError, LookupError, ValueError):
                self._distance[key] = None
        return self._distance[key]

    def _priority_of(self, code: str | None) -> frozenset[str]:
        if code is None:
            return frozenset()
        if code not in self._priority:
            try:
                self._priority[code] = frozenset(self.policy.priority_chains(code))
            except (KeyError, LookupError, ValueError):
                self._priority[code] = frozenset()
        return self._priority[code]

    # -- items --------------------------------------------------------------------------------------

    def _item(self, rank: int, p: _Pair, pfilter: PairFilter) -> MatchItem:
        s, d = p.supply, p.demand
        graph = self.index.graph
        rel = p.relation
        km = self._km(s.party.region_code, d.party.region_code)
        demand_tokens = d.tokens if d.use_node is None else self._tokens_of_node(p.inferred_input)
        inferred_input = graph.nodes[p.inferred_input].name if p.inferred_input else None
        if rel is not None:
            offer_label = graph.nodes[rel.path[0]].name
            need_label = graph.nodes[rel.path[-1]].name
            via = graph.nodes[rel.path[-2]].name if rel.kind in ("input_2hop", "sibling") else None
        else:
            offer_label, need_label, via = s.product, d.product, None
        summary = summary_zh(SummaryParts(
            supplier_region=region_label(self.index.regions, s.party.region_code),
            supplier_name=s.party.name, offer_label=offer_label, buyer_name=d.party.name,
            relation=rel.kind if rel else "text", need_label=need_label, via_label=via,
            inferred=d.use_node is not None, distance_km=km,
        ))
        explanation = Explanation(
            chain_path=[graph.nodes[n].name for n in rel.path] if rel else [],
            chain_path_text=self.index.relations.render(rel) if rel and len(rel.path) > 1 else None,
            relation=rel.kind if rel else "text",
            shared_terms=shared_terms(s.tokens, demand_tokens),
            distance_km=None if km is None else round(km, 1),
            inferred_input=inferred_input,
            contributions={c: round(v, 4) for c, v in p.contributions.items()},
            filters_applied=pfilter.applied(sorted(d.required)),
            summary_zh=summary,
        )
        return MatchItem(
            rank=rank,
            score=p.score,
            supplier=Party(id=s.party.id, name=s.party.name, region_code=s.party.region_code),
            offer_id=s.offer_id,
            buyer=Party(id=d.party.id, name=d.party.name, region_code=d.party.region_code),
            need_id=d.need_id,
            inferred=d.use_node is not None,
            components={c: round(p.components[c], 4) for c in COMPONENTS},
            explanation=explanation,
        )

    def _tokens_of_node(self, node_id: str | None) -> list[str]:
        if node_id is None:
            return []
        if node_id not in self._node_tokens:
            self._node_tokens[node_id] = self.index.text.tokens(self.index.linker.node_text(node_id))
        return self._node_tokens[node_id]


def _best(
    need_links: Sequence[Link], offer_links: Sequence[Link], maps: dict[str, dict[str, Relation]]
) -> tuple[float, Relation] | None:
    """The best relation score (× both confidences) of any need link to any offer link."""
    best: tuple[float, Relation] | None = None
    for ln in need_links:
        rmap = maps[ln.node_id]
        for lo in offer_links:
            r = rmap.get(lo.node_id)
            if r is not None:
                score = r.score * lo.confidence * ln.confidence
                if best is None or score > best[0]:
                    best = (score, r)
    return best


def _mark_needless_text_pairs(pairs: list[_Pair]) -> None:
    """Text-only pairs are a fallback: for a demand the graph already serves with the very product asked
    for (a same-node or specialisation hit) they only add look-alikes, so they become backfill."""
    served = {
        _demand_key(p) for p in pairs
        if p.relation is not None and p.relation.kind in ("same", "specialisation") and p.product >= SERVED
    }
    for p in pairs:
        if p.relation is None and _demand_key(p) in served:
            p.backfill = True


def _part_of_category(graph: ChainGraph, product: str, heads: tuple[str, ...]) -> bool:
    if not all(graph.nodes[h].kind == NodeKind.category for h in heads):
        return False
    text = normalise_text(product).replace(" ", "")
    terms = {normalise_text(t).replace(" ", "") for h in heads for t in graph.nodes[h].terms()}
    return text not in terms


def _demand_key(p: _Pair) -> tuple[str, str, str]:
    return (p.demand.party.id, p.demand.need_id or "", p.demand.use_node or "")


def _unit_warning(where: str, unit: str) -> str:
    return f"{where}: unknown unit {unit!r} kept as given; capacity fit is neutral"


def _gather(refs: Sequence[VecRef], mats: dict[str, sp.csr_matrix]) -> sp.csr_matrix:
    """Stack the referenced rows in order."""
    order: list[int] = []
    blocks: list[sp.csr_matrix] = []
    for src in sorted({s for s, _ in refs}):
        idx = [i for i, (s, _) in enumerate(refs) if s == src]
        blocks.append(mats[src][[refs[i][1] for i in idx]])
        order.extend(idx)
    stacked = sp.vstack(blocks, format="csr")
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[np.asarray(order)] = np.arange(len(order))
    return stacked[inverse]


def _dedupe(pairs: list[_Pair]) -> list[_Pair]:
    """One item per pair; inferred items give way to explicit ones for the same offer and buyer."""
    best: dict[tuple[str, str, str, str, str], _Pair] = {}
    for p in pairs:
        key = (p.supply.party.id, p.supply.offer_id or "", p.demand.party.id, p.demand.need_id or "",
               p.inferred_input or "")
        if key not in best or p.sort_key() < best[key].sort_key():
            best[key] = p
    explicit = {(k[0], k[1], k[2]) for k, p in best.items() if p.demand.use_node is None}
    inferred: dict[tuple[str, str, str], _Pair] = {}
    out: list[_Pair] = []
    for key, p in best.items():
        if p.demand.use_node is None:
            out.append(p)
            continue
        trio = (key[0], key[1], key[2])
        if trio in explicit:
            continue
        if trio not in inferred or p.sort_key() < inferred[trio].sort_key():
            inferred[trio] = p
    return out + list(inferred.values())
