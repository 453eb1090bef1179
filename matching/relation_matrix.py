"""The direction-aware relation matrices over chain nodes (DESIGN.md §3), precomputed once per graph.

Rows are demand nodes, columns supply nodes; every entry is a relation strength in [0, 1]:

* ``head[n, o]`` — the buyer wants ``n`` itself: same node, specialisation or broader category;
* ``use[u, o]`` — the buyer makes ``u``: ``o`` is a direct or 2-hop input (``inferable`` marks the inputs a
  maker of ``u`` is inferred to buy without posting a need);
* ``sibling[n, o]`` — kinds of one category, neither made from the other;
* ``downstream[n, o]`` — ``o`` is made from ``n`` (1 or 2 hops): the wrong direction for a supplier.

The graph has about two thousand nodes, so dense ``float32`` arrays (16 MB each) make every lookup a
vectorised gather; sparse copies serve the candidate products.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from matching.chains import ChainGraph, NodeKind
from matching.params import DEFAULT_PARAMS, MatchParams
from matching.relations import Relation, RelationIndex, RelationKind

KIND_CODES: tuple[RelationKind, ...] = tuple(RelationKind)
"""``kind`` arrays hold the position of a :class:`RelationKind` in this tuple."""
KIND_TEXT = KIND_CODES.index(RelationKind.text)


def kind_code(kind: RelationKind) -> int:
    return KIND_CODES.index(kind)


class RelationMatrix:
    """Dense relation strengths and kinds between chain nodes, plus the chain-membership bit masks."""

    def __init__(self, graph: ChainGraph, params: MatchParams = DEFAULT_PARAMS) -> None:
        self.graph = graph
        self.relations = RelationIndex(graph, params)
        self.node_ids: list[str] = sorted(graph.nodes)
        self.pos: dict[str, int] = {n: i for i, n in enumerate(self.node_ids)}
        n = len(self.node_ids)
        self.head = np.zeros((n, n), dtype=np.float32)
        self.head_kind = np.full((n, n), KIND_TEXT, dtype=np.int8)
        self.use = np.zeros((n, n), dtype=np.float32)
        self.use_kind = np.full((n, n), KIND_TEXT, dtype=np.int8)
        self.inferable = np.zeros((n, n), dtype=bool)
        self.sibling = np.zeros((n, n), dtype=np.float32)
        rel = self.relations
        for demand, i in self.pos.items():
            for supply, r in rel.head[demand].items():
                j = self.pos[supply]
                self.head[i, j] = r.score
                self.head_kind[i, j] = kind_code(r.kind)
            for supply, r in rel.use[demand].items():
                j = self.pos[supply]
                self.use[i, j] = r.score
                self.use_kind[i, j] = kind_code(r.kind)
                self.inferable[i, j] = rel.inferable(demand, r)
        for parent in graph.nodes:
            kids = sorted(c for c in graph.children.get(parent, ()) if c in self.pos)
            for a in kids:
                for b in kids:
                    if a != b and rel.sibling(b, a) is not None:
                        self.sibling[self.pos[a], self.pos[b]] = params.relation_sibling
        self.downstream = (self.use > 0).T.astype(np.float32)
        self.inferable_use = np.where(self.inferable, self.use, 0.0).astype(np.float32)
        anc = np.eye(n, dtype=np.float32)
        for node, i in self.pos.items():
            for a in graph.ancestors(node):
                if a in self.pos:
                    anc[i, self.pos[a]] = 1.0
        self.self_and_ancestors = sp.csr_matrix(anc)
        self.end_product = np.array([graph.nodes[x].kind == NodeKind.end_product for x in self.node_ids])
        self.head_sparse = sp.csr_matrix(self.head)
        self.head_sibling = np.maximum(self.head, self.sibling)
        self.head_sibling_sparse = sp.csr_matrix(self.head_sibling)
        self.head_sibling_sparse_t = self.head_sibling_sparse.T.tocsr()
        self.use_sparse = sp.csr_matrix(self.use)
        self.inferable_sparse = sp.csr_matrix(self.inferable_use)
        self.use_sparse_t = self.use_sparse.T.tocsr()
        self.inferable_sparse_t = self.inferable_sparse.T.tocsr()
        chains = sorted({c for cs in graph.node_chains.values() for c in cs})
        self.chain_ids = chains
        self.chain_bit = {c: i for i, c in enumerate(chains)}
        words = max(1, (len(chains) + 63) // 64)
        self.node_chains = np.zeros((n, words), dtype=np.uint64)
        for node, cs in graph.node_chains.items():
            if node in self.pos:
                for c in cs:
                    self.node_chains[self.pos[node]] |= self.chain_mask([c])

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def chain_mask(self, chains: list[str] | tuple[str, ...] | frozenset[str]) -> np.ndarray:
        """Bit mask (``uint64`` words) of the given chain ids; unknown ids are ignored."""
        mask = np.zeros(self.node_chains.shape[1], dtype=np.uint64)
        for c in chains:
            bit = self.chain_bit.get(c)
            if bit is not None:
                mask[bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
        return mask

    def explain(self, kind: RelationKind, demand_node: str, supply_node: str) -> Relation | None:
        """The chain path behind a scored relation, for the few items a response returns."""
        rel = self.relations
        if kind in (RelationKind.same, RelationKind.specialisation, RelationKind.generalisation):
            return rel.head[demand_node].get(supply_node)
        if kind in (RelationKind.input, RelationKind.input_2hop):
            return rel.use[demand_node].get(supply_node)
        if kind == RelationKind.sibling:
            return rel.sibling(supply_node, demand_node)
        if kind == RelationKind.equipment_for:
            return Relation(rel.params.relation_equipment_for, kind, (supply_node, demand_node), ("for",))
        return None
