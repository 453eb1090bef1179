"""Product relations between an offer's node and a need's node, with the chain path that explains them.

Two lookups, both precomputed per target node:

* ``head[n][o]`` — the buyer wants node ``n`` itself: 1.0 same node, 0.9 the offer is a specialisation
  (``o`` is_a … ``n``, e.g. NCM811 for 正极材料), 0.5 the offer is the broader category (正极材料 for NCM811).
* ``use[u][o]`` — the buyer *makes* ``u`` (inferred demand, or a need phrased ``u用…`` / ``u原料``):
  0.6 ``o`` is a direct input of ``u`` (0.57 when ``o`` specialises that input), 0.35 a 2-hop input.
  Inputs are inherited from categories: an NCM811 maker consumes what 三元正极材料 makers consume.

Everything else is 0: the wrong direction (the offer is downstream of the need) and unrelated nodes.
Equipment/service versus material never reaches here: the linker keeps families apart.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass

from matching.chains import ChainGraph

SAME = 1.0
SPECIALISATION = 0.9
GENERALISATION = 0.5
INPUT = 0.6
INPUT_SPECIALISED = 0.57
INPUT_2HOP = 0.35

EDGE_LABELS = {"is_a": "属于", "includes": "包括", "input": "原料"}


@dataclass(frozen=True)
class Relation:
    """A scored relation; ``path`` runs from the offer's node to the need's node, ``edges`` label each hop."""

    score: float
    kind: str  # same | specialisation | generalisation | input | input_2hop
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

    def __init__(self, graph: ChainGraph) -> None:
        self.graph = graph
        self.head: dict[str, dict[str, Relation]] = {}
        self.use: dict[str, dict[str, Relation]] = {}
        self.rev_head: dict[str, set[str]] = defaultdict(set)
        self.rev_use: dict[str, set[str]] = defaultdict(set)
        self.rev_use1: dict[str, set[str]] = defaultdict(set)
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

    def effective_inputs(self, node_id: str) -> list[str]:
        """Inputs of the node and of its categories, nearest first."""
        out: list[str] = []
        for nid in (node_id, *self.graph.ancestors(node_id)):
            for inp in self.graph.inputs.get(nid, ()):
                if inp not in out and inp in self.graph.nodes:
                    out.append(inp)
        return out

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
        rels: dict[str, Relation] = {nid: Relation(SAME, "same", (nid,), ())}
        for desc, path in self._down[nid].items():
            if desc != nid:
                depth = len(path) - 1
                score = max(0.8, SPECIALISATION - 0.03 * (depth - 1))
                rels[desc] = Relation(score, "specialisation", path, ("is_a",) * depth)
        for anc, path in self._up_paths(nid).items():
            if anc not in rels:
                rels[anc] = Relation(GENERALISATION, "generalisation", path, ("includes",) * (len(path) - 1))
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
        rels: dict[str, Relation] = {}
        first = self.effective_inputs(nid)
        for inp in first:
            for desc, path in self._down[inp].items():
                if desc == nid:
                    continue
                score = INPUT if desc == inp else INPUT_SPECIALISED
                rel = Relation(score, "input", (*path, nid), ("is_a",) * (len(path) - 1) + ("input",))
                if desc not in rels or rels[desc].score < score:
                    rels[desc] = rel
        for inp in first:
            for inp2 in self.effective_inputs(inp):
                for desc, path in self._down[inp2].items():
                    if desc in rels or desc == nid:
                        continue
                    edges = ("is_a",) * (len(path) - 1) + ("input", "input")
                    rels[desc] = Relation(INPUT_2HOP, "input_2hop", (*path, inp, nid), edges)
        return rels

    def render(self, rel: Relation) -> str:
        """``硫酸锰 —原料→ 磷酸锰铁锂`` / ``NCM811 —属于→ 三元正极材料 —属于→ 正极材料``."""
        names = [self.graph.nodes[n].name for n in rel.path]
        parts = [names[0]]
        for edge, name in zip(rel.edges, names[1:], strict=True):
            parts.append(f" —{EDGE_LABELS[edge]}→ {name}")
        return "".join(parts)
