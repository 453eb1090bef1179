"""The matching engine: candidates → components → filters → weighted score → top-k with explanations.

Candidates come from chain-graph blocking (offers posted at the need's node, its specialisations and
categories, or at the inputs of what the buyer makes) united with a sparse text top-n
(``sparse_dot_topn.sp_matmul_topn``), so a query never scores every offer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

from matching.chains import ChainGraph
from matching.errors import InvalidInputError, NotFoundError
from matching.explain import SummaryParts, region_label, summary_zh
from matching.filters import PairFilter, certification_keys
from matching.index import EntState, ItemRow, MatchIndex, frames_to_profiles, profiles_to_frames
from matching.linking import ItemLinks, compatible
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
from matching.text import shared_terms
from matching.weights import COMPONENTS, DEFAULT_PROFILE, MatchFilters, WeightProfile

__all__ = ["MatchEngine", "frames_to_profiles", "profiles_to_frames"]

TEXT_TOP_N = 50
TEXT_CANDIDATE_MIN = 0.05
TEXT_RELATION_MIN = 0.3
TEXT_RELATION_FACTOR = 0.5
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
    text: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    score: float = 0.0
    contributions: dict[str, float] = field(default_factory=dict)

    @property
    def inferred_input(self) -> str | None:
        if self.demand.use_node is None or self.relation is None:
            return None
        return self.relation.path[-2]

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
        text = f"{query.product} {query.description or ''}"
        vec = self.index.text.transform([text])
        tokens = self.index.text.tokens(text)
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
            for lk in self.index.offers.rows[r].links.head:
                best[lk.node_id] = max(best.get(lk.node_id, 0.0), lk.confidence)
        return [self._inferred(side, node, conf) for node, conf in sorted(best.items())]

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
        nodes: set[str] = set()
        if d.use_node is not None:
            nodes = {o for o, r in rel.use[d.use_node].items() if r.kind == "input"}
        elif d.links.head:
            for lk in d.links.head:
                nodes.update(rel.head[lk.node_id])
        else:
            for lk in d.links.use:
                nodes.update(rel.use[lk.node_id])
        rows: set[int] = set()
        for n in nodes:
            rows.update(offers.head_postings.get(n, ()))
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
            for u in rel.rev_use1.get(x, ()):
                for r in self.index.offers.head_postings.get(u, ()):
                    row = self.index.offers.rows[r]
                    conf = max(lk.confidence for lk in row.links.head if lk.node_id == u)
                    key = (row.enterprise_id, u)
                    inferred[key] = max(inferred.get(key, 0.0), conf)
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

    def _relate(self, s: _Supply, d: _Demand) -> _Pair | None:
        """The best product relation of a pair, or ``None`` when the pair can never match."""
        if s.party.id == d.party.id or not compatible(s.links.family, d.links.family):
            return None
        rel = self.index.relations
        best: tuple[float, Relation] | None = None
        if d.use_node is not None:
            umap = rel.use[d.use_node]
            for lo in s.links.head:
                r = umap.get(lo.node_id)
                if r is None or r.kind != "input":
                    continue
                if lo.node_id in d.party.made_nodes or lo.node_id in d.party.need_cover:
                    continue  # self-supplied, or asked for (with its conditions) by an explicit need
                score = r.score * lo.confidence * d.use_conf
                if best is None or score > best[0]:
                    best = (score, r)
            if best is None:
                return None
            via = best[1].path[-2]
            return _Pair(s, d, best[0], best[1], ("node", self._node_pos[via]))
        targets = [(lk, rel.head[lk.node_id]) for lk in d.links.head] or [
            (lk, rel.use[lk.node_id]) for lk in d.links.use
        ]
        for ln, rmap in targets:
            for lo in s.links.head:
                r = rmap.get(lo.node_id)
                if r is None:
                    continue
                score = r.score * lo.confidence * ln.confidence
                if best is None or score > best[0]:
                    best = (score, r)
        assert d.vec is not None
        if best is not None:
            return _Pair(s, d, best[0], best[1], d.vec)
        if s.links.head and targets:
            return None  # both sides are on the graph and unrelated
        return _Pair(s, d, 0.0, None, d.vec)  # decided by text similarity once cosines are known

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
        pfilter = PairFilter.from_filters(filters or profile.filters)
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
                    if p.text < TEXT_RELATION_MIN:
                        continue
                    p.product = TEXT_RELATION_FACTOR * p.text
                self._score(p, profile)
                if p.score >= pfilter.min_score:
                    kept.append(p)
            pairs = kept
        pairs = _dedupe(pairs)
        pairs.sort(key=_Pair.sort_key)
        top = pairs[:k]
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
            via = graph.nodes[rel.path[-2]].name if rel.kind == "input_2hop" else None
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
