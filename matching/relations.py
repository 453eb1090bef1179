"""Product relations between an offer's node and a need's node, with the chain path that explains them.

Two lookups, both precomputed per target node:

* ``head[n][o]`` — the buyer wants node ``n`` itself: 1.0 same node, 0.9 the offer is a specialisation
  (``o`` is_a … ``n``, e.g. NCM811 for 正极材料), 0.5 the offer is the broader category (正极材料 for NCM811).
* ``use[u][o]`` — the buyer *makes* ``u`` (inferred demand, or a need phrased ``u用…`` / ``u原料``):
  0.6 ``o`` is a direct input of ``u`` (0.57 when ``o`` specialises that input), 0.35 a 2-hop input
  (inferred demand takes 2-hop inputs only through a concrete intermediate, see :meth:`inferable`).
  Inputs are inherited from categories: an NCM811 maker consumes what 三元正极材料 makers consume.

* ``sibling(o, n)`` — both are kinds of one category and neither is made from the other (低α锡球 for
  锡球, both 电子封装材料): 0.5 before the engine scales it by the pair's text similarity.
* ``equipment_for(o, m)`` — equipment or a service for making ``m`` (正极材料烧结窑炉 for an LFP maker): 0.45.

A category's use map also takes the inputs of its specialisations (电解液 → 六氟磷酸锂 via 锂离子电池电解液).
Everything else is 0: the wrong direction (the offer is downstream of the need) and unrelated nodes.
Equipment/service versus material never reaches here: the linker keeps families apart.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from enum import StrEnum

from matching.chains import ChainGraph, NodeKind
from matching.params import DEFAULT_PARAMS, MatchParams


class RelationKind(StrEnum):
    """How an offer's node relates to the demand's node (``text``: no graph relation, text only)."""

    same = "same"
    specialisation = "specialisation"
    generalisation = "generalisation"
    input = "input"
    input_2hop = "input_2hop"
    sibling = "sibling"
    equipment_for = "equipment_for"
    text = "text"


_NOT_INTERMEDIATE = frozenset({NodeKind.category, NodeKind.equipment, NodeKind.service})

EDGE_LABELS = {"is_a": "属于", "includes": "包括", "input": "原料", "for": "用于"}


@dataclass(frozen=True)
class Relation:
    """A scored relation; ``path`` runs from the offer's node to the need's node, ``edges`` label each hop."""

    score: float
    kind: RelationKind
    path: tuple[str, ...]
    edges: tuple[str, ...]

    @property
    def via(self) -> str | None:
        """The input node a use relation goes through (the inferred input for inferred demand)."""
        if self.kind not in ("input", "input_2hop"):
            return None
        return self.path[-2] if self.kind == "input" else self.path[-3]


class RelationIndex:
    """Precomputed relation maps and their reverses (offer node → need/use nodes) for blocking."""

    def __init__(self, graph: ChainGraph, params: MatchParams = DEFAULT_PARAMS) -> None:
        self.graph = graph
        self.params = params
        self.head: dict[str, dict[str, Relation]] = {}
        self.use: dict[str, dict[str, Relation]] = {}
        self.rev_head: dict[str, set[str]] = defaultdict(set)
        self.rev_use: dict[str, set[str]] = defaultdict(set)
        self.rev_use1: dict[str, set[str]] = defaultdict(set)
        self.rev_inferred: dict[str, set[str]] = defaultdict(set)
        self._down = {nid: self._down_paths(nid) for nid in graph.nodes}
        for nid in sorted(graph.nodes):
            self.head[nid] = self._head_map(nid)
            self.use[nid] = self._use_map(nid)
            for o in self.head[nid]:
                self.rev_head[o].add(nid)
            for o, rel in self.use[nid].items():
                self.rev_use[o].add(nid)
                if rel.kind == "input":
                    self.rev_use1[o].add(nid)
                if self.inferable(nid, rel):
                    self.rev_inferred[o].add(nid)

    def inferable(self, made: str, rel: Relation) -> bool:
        """Whether a maker of ``made`` is inferred to buy the offer at the end of ``rel``: a direct input,
        or a 2-hop input through a concrete intermediate (碎玻璃 → 配合料 → 玻璃瓶), never through categories."""
        if rel.kind == "input":
            return True
        if rel.kind != "input_2hop":
            return False
        nodes = self.graph.nodes
        middle = nodes[rel.path[-2]].kind
        return nodes[made].kind != NodeKind.category and middle not in _NOT_INTERMEDIATE

    def effective_inputs(self, node_id: str) -> list[str]:
        """Inputs of the node and of its categories, nearest first; a category adds its kinds' inputs."""
        makers = [node_id, *self.graph.ancestors(node_id)]
        if self.graph.nodes[node_id].kind == NodeKind.category:
            makers += self.graph.descendants(node_id)[: self.params.category_input_span]
        out: list[str] = []
        for nid in makers:
            for inp in self.graph.inputs.get(nid, ()):
                if inp not in out and inp in self.graph.nodes and inp != node_id:
                    out.append(inp)
        return out

    def sibling(self, offer_node: str, need_node: str) -> Relation | None:
        """Kinds of one category, neither an input of the other (see module docstring)."""
        if offer_node == need_node:
            return None
        shared = sorted(set(self.graph.parents.get(offer_node, ())) & set(self.graph.parents.get(need_node, ())))
        if not shared:
            return None
        if offer_node in self.use[need_node] or need_node in self.use[offer_node]:
            return None
        path = (offer_node, shared[0], need_node)
        return Relation(self.params.relation_sibling, RelationKind.sibling, path, ("is_a", "includes"))

    def equipment_for(self, offer_node: str, uses: tuple[str, ...], made: str) -> Relation | None:
        """Equipment/service ``offer_node`` for one of ``uses``, and ``made`` is (a kind of) that use."""
        for u in uses:
            if made == u or u in self.graph.ancestors(made):
                path = (offer_node, made)
                return Relation(self.params.relation_equipment_for, RelationKind.equipment_for, path, ("for",))
        return None

    def _down_paths(self, nid: str) -> dict[str, tuple[str, ...]]:
        """Descendants of ``nid`` with their is_a path up to ``nid`` (descendant first)."""
        paths: dict[str, tuple[str, ...]] = {nid: (nid,)}
        queue = deque([nid])
        while queue:
            cur = queue.popleft()
            for child in sorted(self.graph.children.get(cur, ())):
                if child not in paths:
                    paths[child] = (child, *paths[cur])
                    queue.append(child)
        return paths

    def _head_map(self, nid: str) -> dict[str, Relation]:
        p = self.params
        rels: dict[str, Relation] = {nid: Relation(p.relation_same, RelationKind.same, (nid,), ())}
        for desc, path in self._down[nid].items():
            if desc != nid:
                depth = len(path) - 1
                score = max(p.relation_specialisation_min,
                            p.relation_specialisation - p.relation_specialisation_step * (depth - 1))
                rels[desc] = Relation(score, RelationKind.specialisation, path, ("is_a",) * depth)
        for anc, path in self._up_paths(nid).items():
            if anc not in rels:
                edges = ("includes",) * (len(path) - 1)
                rels[anc] = Relation(p.relation_generalisation, RelationKind.generalisation, path, edges)
        return rels

    def _up_paths(self, nid: str) -> dict[str, tuple[str, ...]]:
        """Ancestors with the path from the ancestor down to ``nid``."""
        paths: dict[str, tuple[str, ...]] = {}
        queue: deque[tuple[str, tuple[str, ...]]] = deque([(nid, (nid,))])
        seen = {nid}
        while queue:
            cur, path = queue.popleft()
            for parent in sorted(self.graph.parents.get(cur, ())):
                if parent not in seen and parent in self.graph.nodes:
                    seen.add(parent)
                    paths[parent] = (parent, *path)
                    queue.append((parent, (parent, *path)))
        return paths

    def _use_map(self, nid: str) -> dict[str, Relation]:
        p = self.params
        rels: dict[str, Relation] = {}
        first = self.effective_inputs(nid)
        for inp in first:
            for desc, path in self._down[inp].items():
                if desc == nid:
                    continue
                score = p.relation_input if desc == inp else p.relation_input_specialised
                rel = Relation(score, RelationKind.input, (*path, nid), ("is_a",) * (len(path) - 1) + ("input",))
                if desc not in rels or rels[desc].score < score:
                    rels[desc] = rel
        for inp in first:
            for inp2 in self.effective_inputs(inp):
                for desc, path in self._down[inp2].items():
                    if desc in rels or desc == nid:
                        continue
                    edges = ("is_a",) * (len(path) - 1) + ("input", "input")
                    rels[desc] = Relation(p.relation_input_2hop, RelationKind.input_2hop, (*path, inp, nid), edges)
        return rels

    def render(self, rel: Relation) -> str:
        """``硫酸锰 —原料→ 磷酸锰铁锂`` / ``NCM811 —属于→ 三元正极材料 —属于→ 正极材料``."""
        names = [self.graph.nodes[n].name for n in rel.path]
        parts = [names[0]]
        for edge, name in zip(rel.edges, names[1:], strict=True):
            parts.append(f" —{EDGE_LABELS[edge]}→ {name}")
        return "".join(parts)
