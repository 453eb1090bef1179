"""The product relation of candidate pairs, as column operations over the relation matrices.

For pairs ``(demand i, supply j)`` every demand link is crossed with every supply link at once (links are
padded to a few per item), the dense relation matrices are gathered, and the best relation, its kind and
its two nodes come out as arrays. The rules fuse graph and text: a pair the graph does not relate keeps
its text score (discounted when both sides are confidently linked), a weakly linked demand lets strong
text outrank its uncertain graph pairs, and a supplier downstream of the need is never proposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.explicit_relevance import PARAMS, explicit_relevance
from matching.item_index import ItemIndex
from matching.kernels import best_links
from matching.relation_matrix import KIND_TEXT, kind_code
from matching.relations import RelationKind
from matching.sides import Side, text_dots
from matching.text import made_from, normalise_text

SAME, SPEC, SIBLING = (kind_code(k) for k in (RelationKind.same, RelationKind.specialisation,
                                              RelationKind.sibling))
EQUIP = kind_code(RelationKind.equipment_for)
_KINDS = np.array([KIND_TEXT, SAME, SPEC, SIBLING], np.int8)  # the codes the compiled rules read


@dataclass
class Relevance:
    """Per pair: product and text components, relation kind and nodes, and whether it is backfill."""

    keep: np.ndarray
    product: np.ndarray
    text: np.ndarray
    kind: np.ndarray
    demand_node: np.ndarray
    supply_node: np.ndarray
    backfill: np.ndarray


def _best(matrix: np.ndarray, dn: np.ndarray, dc: np.ndarray, sn: np.ndarray, sc: np.ndarray,
          rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best ``dc · M[dn, sn] · sc`` over every link combination: ``(score, demand node, supply node)``.

    Only ``rows`` (a mask) are computed, the rest score 0 (compiled: one pass over the pairs' links).
    """
    return best_links(matrix, dn, dc, sn, sc, rows)


def relevance(
    index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray, *, equipment: bool,
    compiled: bool = True,
) -> Relevance:
    """Product relation and text similarity for the candidate pairs ``(demand[di], supply[si])``.

    ``equipment``: whether equipment for what an inferred buyer makes counts (buyer lists of equipment
    offers); supplier lists of an enterprise never propose machines for what it makes. Pairs of explicit
    demand only go through the compiled rules (:mod:`matching.explicit_relevance`) unless ``compiled`` is
    false; the NumPy rules below are their reference.
    """
    rel = index.relations
    p = index.params
    if compiled and not (demand.use_node >= 0).any():
        return _explicit(index, demand, supply, di, si)
    dn, dc = demand.head_nodes[di], demand.head_conf[di]
    un, uc = demand.use_nodes[di], demand.use_conf[di]
    sn, sc = supply.head_nodes[si], supply.head_conf[si]
    inferred = demand.use_node[di] >= 0
    head, h_d, h_s = _best(rel.head, dn, dc, sn, sc)
    head_kind = rel.head_kind[np.maximum(h_d, 0), np.maximum(h_s, 0)]
    use, u_d, u_s = _best(rel.use, un, uc, sn, sc, ~inferred)
    inf, i_d, i_s = _best(rel.inferable_use, un, uc, sn, sc, inferred)
    use = np.where(inferred, inf, use)
    u_d, u_s = np.where(inferred, i_d, u_d), np.where(inferred, i_s, u_s)
    use_kind = rel.use_kind[np.maximum(u_d, 0), np.maximum(u_s, 0)]
    sib, s_d, s_s = _best(rel.sibling, dn, dc, sn, sc, (head == 0) & (use == 0) & ~inferred)
    text = np.clip(text_dots(demand, supply, di, si), 0.0, 1.0)

    n = len(di)
    product = np.zeros(n, np.float64)
    kind = np.full(n, KIND_TEXT, np.int8)
    d_node = np.where(dn[:, 0] >= 0, dn[:, 0], un[:, 0]).astype(np.int64)
    s_node = sn[:, 0].astype(np.int64)
    has_use = (un >= 0).any(axis=1) & ~inferred

    both = (head > 0) & (use > 0)
    only_head = (head > 0) & ~both
    only_use = (use > 0) & (head == 0) & (demand.use_alone[di] | inferred)
    product = np.where(both, 1 - (1 - head) * (1 - use), product)
    factor = np.where(has_use, p.head_not_for_use, 1.0)
    whole = demand.part_of_category[di] & rel.end_product[np.maximum(h_s, 0)]
    factor = np.where(whole, factor * 0.5, factor)
    product = np.where(only_head, head * factor, product)
    product = np.where(only_use, use, product)
    pick_use = only_use | (both & (use > head))
    kind = np.where(head > 0, head_kind, kind)
    kind = np.where(pick_use, use_kind, kind)
    d_node = np.where(head > 0, h_d, d_node)
    s_node = np.where(head > 0, h_s, s_node)
    d_node = np.where(pick_use, u_d, d_node)
    s_node = np.where(pick_use, u_s, s_node)

    # Inferred demand: nothing the buyer makes itself or already asks for; equipment for what it makes.
    excluded = _excluded(index, demand, di, s_node) & inferred & (product > 0)
    product = np.where(excluded, 0.0, product)
    equip = np.zeros(len(di), np.bool_)
    if equipment and inferred.any():  # a single need's supplier list has no inferred rows: nothing to look up
        equip = _equipment(index, demand, supply, di, si) & inferred & (product == 0) & ~excluded
    product = np.where(equip, p.relation_equipment_for * demand.use_conf[di, 0], product)
    kind = np.where(equip, EQUIP, kind)
    d_node = np.where(equip, demand.use_node[di], d_node)
    keep = ~inferred | (product > 0)

    sibling = (product == 0) & (sib > 0) & ~inferred
    kind = np.where(sibling, SIBLING, kind)
    d_node, s_node = np.where(sibling, s_d, d_node), np.where(sibling, s_s, s_node)
    product = np.where(sibling, sib * np.maximum(p.sibling_floor, np.minimum(1.0, text / p.sibling_text_full)),
                       product)
    backfill = sibling & (text < p.sibling_text_min)

    exact = ((kind == SAME) | (kind == SPEC)) & ~has_use & ~inferred
    product = np.where(exact, product * (1 - p.spec_span * (1 - np.minimum(1.0, text / p.spec_text_full))),
                       product)

    # No graph relation: the text decides, unless the supplier is downstream of what is asked for.
    none = (product == 0) & ~inferred
    downstream = _any_downstream(index, demand, supply, di, si, none)
    downstream |= _made_from_demand(index, demand, supply, di, si, none & (text >= p.backfill_text_min))
    d_fam, s_fam = demand.family[di], supply.family[si]
    clash = (d_fam > 0) & (s_fam > 0) & (d_fam != s_fam) & demand.confident[di] & supply.confident[si]
    linked = (sn[:, 0] >= 0) & ((dn[:, 0] >= 0) | (un[:, 0] >= 0)) & ~demand.part_of_category[di]
    weak = (dn[:, 0] >= 0) & (demand.head_conf[di].max(axis=1) < p.low_confidence) & ~inferred
    weak &= demand.use_conf[di].max(axis=1) < p.low_confidence  # a confident purpose is evidence enough
    text_factor = np.where(weak, p.weak_link_text_factor,
                           np.where(linked, p.linked_text_factor, p.text_relation_factor))
    product = np.where(none, text_factor * text, product)
    keep &= ~(none & ((text < p.backfill_text_min) | downstream))
    keep &= ~clash
    backfill |= none & (text < p.text_relation_min)
    # A weakly linked demand: a strong text match may outrank its uncertain graph pairs.
    product = np.where(weak & ~none, np.maximum(product, p.weak_link_text_factor * text), product)
    return Relevance(keep, np.minimum(product, 1.0), text, kind.astype(np.int8), d_node.astype(np.int64),
                     s_node.astype(np.int64), backfill)


def _explicit(index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray) -> Relevance:
    """:func:`relevance` for a block without inferred demand, compiled; the offers' own words are read here."""
    rel = index.relations
    p = index.params
    n = len(di)
    text = np.clip(text_dots(demand, supply, di, si), 0.0, 1.0)
    keep, backfill, none = np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty(n, np.bool_)
    product, kind = np.empty(n, np.float64), np.empty(n, np.int8)
    d_node, s_node = np.empty(n, np.int64), np.empty(n, np.int64)
    explicit_relevance(
        np.asarray(di, np.int64), np.asarray(si, np.int64), demand.head_nodes, demand.head_conf,
        demand.use_nodes, demand.use_conf, demand.use_alone, demand.part_of_category, demand.family,
        demand.confident, supply.head_nodes, supply.head_conf, supply.family, supply.confident, text, rel.head,
        rel.use, rel.sibling, rel.head_kind, rel.use_kind, rel.end_product, rel.downstream, rel.is_kind_of.T,
        np.array([getattr(p, name) for name in PARAMS], np.float64), np.float32(p.low_confidence), _KINDS,
        keep, product, kind, d_node, s_node, backfill, none,
    )
    keep &= ~_made_from_demand(index, demand, supply, di, si, none & (text >= p.backfill_text_min))
    return Relevance(keep, product, text, kind, d_node, s_node, backfill)


def _any_downstream(
    index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Whether some supply head node is made from some demand head node, or is (a kind of) the buyer's
    stated purpose (导热胶 用于电池包: a battery pack is what the buyer makes, not what it buys)."""
    rel = index.relations
    ones_s = np.ones_like(supply.head_conf[si])
    score, _, _ = _best(rel.downstream, demand.head_nodes[di], np.ones_like(demand.head_conf[di]),
                        supply.head_nodes[si], ones_s, rows)
    purpose, _, _ = _best(rel.is_kind_of.T, demand.use_nodes[di], np.ones_like(demand.use_conf[di]),
                          supply.head_nodes[si], ones_s, rows & (demand.use_node[di] < 0))
    return (score > 0) | (purpose > 0)


def _made_from_demand(
    index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    """Whether an offer's own words say it is made from what is asked for (以己二酸为原料的氨纶): the
    offer is downstream of the need even where the graph has no edge between the two products."""
    out = np.zeros(len(di), dtype=np.bool_)
    offers, needs, graph = index.offers, index.needs, index.graph
    node_ids = index.relations.node_ids
    for k in np.flatnonzero(rows).tolist():
        offer_row = int(supply.row[si[k]])
        if offer_row < 0:
            continue
        spans = made_from(offers.description[offer_row] or "")
        if not spans:
            continue
        d = int(di[k])
        terms = [graph.nodes[node_ids[n]].name for n in demand.head_nodes[d].tolist() if n >= 0]
        if demand.row[d] >= 0:
            terms.append(needs.product[int(demand.row[d])])
        asked = {normalise_text(t) for t in terms if len(t) >= 2}
        out[k] = any(term in span for span in spans for term in asked)
    return out


def _excluded(index: ItemIndex, demand: Side, di: np.ndarray, s_node: np.ndarray) -> np.ndarray:
    out = np.zeros(len(di), dtype=np.bool_)
    for k in np.flatnonzero((demand.use_node[di] >= 0) & (demand.slot[di] >= 0)).tolist():
        slot, node = int(demand.slot[di[k]]), int(s_node[k])
        rec = index.records.get(index.ent_id[slot])
        heads = index.relations.head
        if rec is not None and (node in rec.made or any(heads[h, node] > 0 for h in rec.need_heads)):
            out[k] = True
    return out


def _equipment(index: ItemIndex, demand: Side, supply: Side, di: np.ndarray, si: np.ndarray) -> np.ndarray:
    """Equipment or a service for making what the buyer makes (or one of its categories)."""
    anc = index.relations.self_and_ancestors
    fors = supply.for_nodes[si]
    made = np.maximum(demand.use_node[di], 0)
    hit = np.zeros(len(di), dtype=np.bool_)
    for col in range(fors.shape[1]):
        f = fors[:, col]
        ok = f >= 0
        if ok.any():
            vals = np.asarray(anc[made[ok], f[ok]]).ravel() > 0
            hit[np.flatnonzero(ok)[vals]] = True
    return hit
