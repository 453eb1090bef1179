"""Chain graph: product nodes, ``is_a`` and ``input_of`` edges, and chains with segments.

Seed layout (``seeds/``): ``nodes/*.yaml`` hold shared nodes (a list under ``nodes:``), and
``chains/*.yaml`` hold one chain each plus the nodes first defined for it. Edges are written on the
node that receives them: ``is_a`` names the node's categories, ``inputs`` names what it is made from.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from matching.sources import Source

SEGMENTS = ("上游", "中游", "下游")


class NodeKind(StrEnum):
    """What a node is; matching never links equipment or services to the material they handle."""

    raw_material = "raw_material"
    intermediate = "intermediate"
    component = "component"
    end_product = "end_product"
    equipment = "equipment"
    service = "service"
    category = "category"


class Node(BaseModel):
    """A product (or category, equipment, service) in the chain graph."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name: str = Field(min_length=1, description="Chinese name")
    name_en: str = Field(min_length=1)
    kind: NodeKind
    synonyms: tuple[str, ...] = ()
    shared_synonyms: tuple[str, ...] = Field(
        default=(), description="Synonyms deliberately shared with other nodes (e.g. 锰源)"
    )
    description: str | None = None
    is_a: tuple[str, ...] = ()
    inputs: tuple[str, ...] = Field(default=(), description="Nodes that are inputs of this node")
    source: Source | None = None

    def terms(self) -> tuple[str, ...]:
        """Every surface form: Chinese and English name, synonyms, shared synonyms."""
        return (self.name, self.name_en, *self.synonyms, *self.shared_synonyms)


class Chain(BaseModel):
    """An industrial chain as a plan names it, grouped into 上游 / 中游 / 下游."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name: str
    name_en: str
    sources: tuple[Source, ...] = Field(min_length=1)
    regions: tuple[str, ...] = Field(default=(), description="County codes whose plan names the chain")
    segments: dict[str, tuple[str, ...]]
    nodes: tuple[Node, ...] = ()

    @field_validator("segments")
    @classmethod
    def _known_segments(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = set(value) - set(SEGMENTS)
        if unknown:
            raise ValueError(f"unknown segment(s) {sorted(unknown)}; use {list(SEGMENTS)}")
        return value

    def node_ids(self) -> list[str]:
        return [n for seg in SEGMENTS for n in self.segments.get(seg, ())]


@dataclass(frozen=True)
class Located:
    """An entry together with the seed file that defined it, for error messages."""

    file: str
    value: Any


@dataclass
class ChainGraph:
    """The loaded graph with lookup tables. Build with :func:`load_graph` or :meth:`from_parts`."""

    nodes: dict[str, Node]
    chains: dict[str, Chain]
    node_files: dict[str, str] = field(default_factory=dict)
    chain_files: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parents: dict[str, tuple[str, ...]] = {k: n.is_a for k, n in self.nodes.items()}
        self.children: dict[str, list[str]] = defaultdict(list)
        self.inputs: dict[str, tuple[str, ...]] = {k: n.inputs for k, n in self.nodes.items()}
        self.outputs: dict[str, list[str]] = defaultdict(list)
        for nid, node in sorted(self.nodes.items()):
            for p in node.is_a:
                self.children[p].append(nid)
            for i in node.inputs:
                self.outputs[i].append(nid)
        self.node_chains: dict[str, list[str]] = defaultdict(list)
        for cid, chain in sorted(self.chains.items()):
            for nid in chain.node_ids():
                if cid not in self.node_chains[nid]:
                    self.node_chains[nid].append(cid)
        self.term_index: dict[str, list[str]] = defaultdict(list)
        for nid, node in sorted(self.nodes.items()):
            for term in node.terms():
                key = normalise_term(term)
                if nid not in self.term_index[key]:
                    self.term_index[key].append(nid)

    @classmethod
    def from_parts(cls, nodes: Iterable[Node], chains: Iterable[Chain]) -> ChainGraph:
        chain_list = list(chains)
        all_nodes = [*nodes, *(n for c in chain_list for n in c.nodes)]
        return cls(nodes={n.id: n for n in all_nodes}, chains={c.id: c for c in chain_list})

    def resolve(self, term: str) -> list[str]:
        """Node ids whose name, English name or synonym equals ``term`` (case- and width-insensitive)."""
        return list(self.term_index.get(normalise_term(term), []))

    def ancestors(self, node_id: str) -> list[str]:
        """Categories of a node, nearest first (breadth-first over ``is_a``)."""
        return _bfs(node_id, self.parents)

    def descendants(self, node_id: str) -> list[str]:
        """Specialisations of a node, nearest first."""
        return _bfs(node_id, self.children)

    def is_a_cycles(self) -> list[list[str]]:
        """Every ``is_a`` cycle, each as the list of node ids along it."""
        colour: dict[str, int] = {}
        cycles: list[list[str]] = []
        for start in sorted(self.nodes):
            if colour.get(start):
                continue
            stack: list[tuple[str, Iterator[str]]] = [(start, iter(self.parents.get(start, ())))]
            path = [start]
            colour[start] = 1
            while stack:
                nid, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    colour[nid] = 2
                    stack.pop()
                    path.pop()
                elif colour.get(nxt) == 1:
                    cycles.append([*path[path.index(nxt) :], nxt])
                elif not colour.get(nxt) and nxt in self.nodes:
                    colour[nxt] = 1
                    path.append(nxt)
                    stack.append((nxt, iter(self.parents.get(nxt, ()))))
        return cycles

    def input_edge_count(self) -> int:
        return sum(len(v) for v in self.inputs.values())

    def is_a_edge_count(self) -> int:
        return sum(len(v) for v in self.parents.values())


def _bfs(start: str, adjacency: dict[str, Any]) -> list[str]:
    seen = {start}
    order: list[str] = []
    queue = deque(adjacency.get(start, ()))
    while queue:
        nid = queue.popleft()
        if nid in seen:
            continue
        seen.add(nid)
        order.append(nid)
        queue.extend(adjacency.get(nid, ()))
    return order


def normalise_term(term: str) -> str:
    """Lookup key for a term: NFKC, lower case, inner spaces removed."""
    import unicodedata

    return "".join(unicodedata.normalize("NFKC", term).lower().split())


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def default_seeds_dir() -> Path:
    """``CHAINMATCH_SEEDS_DIR`` if set, else the repository's ``seeds/``, else the wheel's ``chainmatch_seeds``."""
    import os

    configured = os.environ.get("CHAINMATCH_SEEDS_DIR")
    if configured:
        return Path(configured)
    repository = Path(__file__).resolve().parent.parent / "seeds"
    if repository.is_dir():
        return repository
    import importlib.util

    spec = importlib.util.find_spec("chainmatch_seeds")  # the copy an installed wheel carries
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return repository


def load_graph(seeds_dir: Path | None = None) -> ChainGraph:
    """Load and validate the chain graph; raises ``pydantic.ValidationError`` on a malformed entry.

    Use :func:`matching.seeds_check.check_seeds` for the full report with file names.
    """
    root = seeds_dir or default_seeds_dir()
    nodes: list[Node] = []
    node_files: dict[str, str] = {}
    for path in sorted((root / "nodes").glob("*.yaml")):
        for raw in read_yaml(path).get("nodes", []):
            node = Node.model_validate(raw)
            nodes.append(node)
            node_files.setdefault(node.id, path.name)
    chains: list[Chain] = []
    chain_files: dict[str, str] = {}
    for path in sorted((root / "chains").glob("*.yaml")):
        chain = Chain.model_validate(read_yaml(path))
        chains.append(chain)
        chain_files[chain.id] = path.name
        for node in chain.nodes:
            node_files.setdefault(node.id, path.name)
    graph = ChainGraph.from_parts(nodes, chains)
    graph.node_files = node_files
    graph.chain_files = chain_files
    return graph
