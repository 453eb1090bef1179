"""Match items with explanations, built only for the k pairs a response returns."""

from __future__ import annotations

import numpy as np

from matching.explain import SummaryParts, region_label, summary_zh
from matching.filters import PairFilter
from matching.item_columns import ItemColumns
from matching.item_index import ItemIndex
from matching.relation_matrix import KIND_CODES
from matching.relations import RelationKind
from matching.results import Explanation, MatchItem, Party
from matching.sides import Side
from matching.text import terms_in
from matching.weights import COMPONENTS, WeightProfile

QUERY_ID = "(query)"
QUERY_NAME = "临时查询"


class ItemBuilder:
    """Turns ranked pair indices into :class:`MatchItem` objects (one builder per response: it keeps what the
    response's items share, such as the asking party, its need's tokens and the filters it applied)."""

    def __init__(self, index: ItemIndex) -> None:
        self.index = index
        self._node_tokens: dict[int, list[str]] = {}
        self._item_tokens: dict[tuple[int, int], list[str]] = {}
        self._parties: dict[tuple[int, str | None], Party] = {}
        self._labels: dict[str | None, str] = {}
        self._applied: dict[frozenset[str], list[str]] = {}

    def party(self, slot: int, region: str | None = None) -> Party:
        key = (slot, region if slot < 0 else None)
        hit = self._parties.get(key)
        if hit is None:
            ix = self.index
            hit = self._parties[key] = (
                Party(id=QUERY_ID, name=QUERY_NAME, region_code=region) if slot < 0
                else Party(id=ix.ent_id[slot], name=ix.ent_name[slot], region_code=ix.ent_region[slot]))
        return hit

    def _region_label(self, code: str | None) -> str:
        if code not in self._labels:
            self._labels[code] = region_label(self.index.regions, code)
        return self._labels[code]

    def _filters(self, pfilter: PairFilter, required: frozenset[str]) -> list[str]:
        if required not in self._applied:  # one response applies one filter set
            self._applied[required] = pfilter.applied(required)
        return self._applied[required]

    def item(
        self, rank: int, *, demand: Side, supply: Side, d: int, s: int, score: float, comps: dict[str, float],
        kind: int, demand_node: int, supply_node: int, km: float, profile: WeightProfile, pfilter: PairFilter,
        query_region: str | None, query_item: str | None, query_text: str,
    ) -> MatchItem:
        ix = self.index
        rel = ix.relations
        graph = ix.graph
        relation_kind = KIND_CODES[kind]
        inferred = bool(demand.use_node[d] >= 0)
        buyer = self.party(int(demand.slot[d]), query_region)
        supplier = self.party(int(supply.slot[s]), query_region)
        need_row, offer_row = int(demand.row[d]), int(supply.row[s])
        need_id = ix.needs.item_id[need_row] if need_row >= 0 else (None if inferred else query_item)
        offer_id = ix.offers.item_id[offer_row] if offer_row >= 0 else query_item
        relation = None
        if relation_kind != RelationKind.text and demand_node >= 0 and supply_node >= 0:
            relation = rel.explain(relation_kind, rel.node_ids[demand_node], rel.node_ids[supply_node])
        inferred_input = None
        if inferred and relation is not None:
            inferred_input = relation.via or relation.path[-2] if len(relation.path) > 1 else None
        demand_tokens = (self._tokens_of_node(rel.pos[inferred_input]) if inferred_input else []) if inferred \
            else self._tokens(ix.needs, need_row, query_text)
        supply_text = query_text if offer_row < 0 else \
            f"{ix.offers.product[offer_row]} {ix.offers.description[offer_row] or ''}"
        if relation is not None:
            offer_label = graph.nodes[relation.path[0]].name
            need_label = graph.nodes[relation.path[-1]].name
            via = graph.nodes[relation.path[-2]].name if relation.kind in ("input_2hop", "sibling") else None
        else:
            offer_label = ix.offers.product[offer_row] if offer_row >= 0 else query_text
            need_label = ix.needs.product[need_row] if need_row >= 0 else (
                graph.nodes[rel.node_ids[int(demand.use_node[d])]].name if inferred else query_text)
            via = None
        dist = None if np.isnan(km) else float(km)
        summary = summary_zh(SummaryParts(
            supplier_region=self._region_label(supplier.region_code), supplier_name=supplier.name,
            offer_label=offer_label, buyer_name=buyer.name, relation=str(relation_kind) if relation else "text",
            need_label=need_label, via_label=via, inferred=inferred, distance_km=dist,
        ))
        contributions = {c: round(profile.weights.get(c, 0.0) * comps[c], 4) for c in COMPONENTS}
        explanation = Explanation(
            chain_path=[graph.nodes[n].name for n in relation.path] if relation else [],
            chain_path_text=rel.relations.render(relation) if relation and len(relation.path) > 1 else None,
            relation=str(relation.kind) if relation else "text",
            shared_terms=terms_in(supply_text, demand_tokens),
            distance_km=None if dist is None else round(dist, 1),
            inferred_input=graph.nodes[inferred_input].name if inferred_input else None,
            contributions=contributions, filters_applied=self._filters(pfilter, demand.required[d]),
            summary_zh=summary,
        )
        return MatchItem(
            rank=rank, score=score, supplier=supplier, offer_id=offer_id, buyer=buyer, need_id=need_id,
            inferred=inferred, components={c: round(comps[c], 4) for c in COMPONENTS}, explanation=explanation,
        )

    def _tokens(self, cols: ItemColumns, row: int, query_text: str) -> list[str]:
        key = (id(cols), row)
        if key not in self._item_tokens:  # one need is explained once per response, not once per item
            text = query_text if row < 0 else f"{cols.product[row]} {cols.description[row] or ''}"
            self._item_tokens[key] = self.index.text.tokens(text)
        return self._item_tokens[key]

    def _tokens_of_node(self, node: int) -> list[str]:
        if node not in self._node_tokens:
            nid = self.index.relations.node_ids[node]
            self._node_tokens[node] = self.index.text.tokens(self.index.linker.node_text(nid))
        return self._node_tokens[node]
