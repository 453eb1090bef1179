"""The chain-graph questions linking asks (families, categories, inputs, siblings), cached per graph."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from matching.chains import ChainGraph
from matching.linking.cues import node_family
from matching.linking.links import Link


class GraphFacts:
    """Cached lookups over one chain graph; lives as long as the graph."""

    def __init__(self, graph: ChainGraph) -> None:
        self.graph = graph
        self.family: dict[str, str] = {nid: node_family(graph, nid) for nid in graph.nodes}

    @lru_cache(maxsize=65536)  # noqa: B019 - the facts live as long as their graph
    def ancestor_set(self, nid: str) -> frozenset[str]:
        return frozenset(self.graph.ancestors(nid))

    def related(self, a: str, b: str) -> bool:
        """Same node, or one is a category of the other."""
        return a == b or a in self.ancestor_set(b) or b in self.ancestor_set(a)

    def siblings(self, a: str, b: str) -> bool:
        """Kinds of one category, neither made from the other (硫酸锰 and 磷酸锰铁锂 are not siblings)."""
        if not set(self.graph.parents.get(a, ())) & set(self.graph.parents.get(b, ())):
            return False
        return not (self.is_input_of(a, b) or self.is_input_of(b, a))

    @lru_cache(maxsize=65536)  # noqa: B019
    def input_closure(self, nid: str) -> frozenset[str]:
        """Everything that may go into ``nid`` or one of its specialisations (inputs and their kinds)."""
        makers = [nid, *self.graph.ancestors(nid), *self.graph.descendants(nid)[:40]]
        out: set[str] = set()
        for m in makers:
            for inp in self.graph.inputs.get(m, ()):
                out.add(inp)
                out.update(self.graph.descendants(inp))
        return frozenset(out)

    def is_input_of(self, part: str, product: str) -> bool:
        """Whether ``part`` (or a kind of it) goes into ``product``: 粘结剂 into 正极浆料."""
        closure = self.input_closure(product)
        return part in closure or any(d in closure for d in self.graph.descendants(part)[:40])

    def use_inputs(self, use: Sequence[Link]) -> set[str]:
        """Inputs (and their kinds) of what the use links name, or of their categories."""
        nodes: set[str] = set()
        for lk in use:
            for anc in [lk.node_id, *self.graph.ancestors(lk.node_id)]:
                for inp in self.graph.inputs.get(anc, ()):
                    nodes.add(inp)
                    nodes.update(self.graph.descendants(inp))
        return nodes

    def most_specific(self, links: list[Link]) -> list[Link]:
        """Drop a head link whose node is a category of another head link (NCM811正极材料 → NCM811)."""
        nodes = {lk.node_id for lk in links}
        covered = {a for n in nodes for a in self.graph.ancestors(n)}
        return [lk for lk in links if lk.node_id not in covered]
