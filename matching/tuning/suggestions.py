"""Graph edits proposed from outcomes, each with its evidence; nothing here changes the graph.

From contracted pairs (label 3: contracted and not rejected afterwards) and rejected pairs:

* ``missing_input_of`` (Y → X): buyers that make X, with no posted need, contract with makers of Y, and
  the graph relates Y to X in no way (not the same node, no ``is_a``, no input within two hops).
* ``synonym`` (term → Y): buyers whose need's product links to no node contract with makers of Y; the
  need's product text is proposed as a synonym of Y.
* ``wrong_relation``: the graph relates the supplier's product to the demand through an input, two-hop
  input, sibling or generalisation, yet buyers reject such pairs and never engage; the edges on that
  path are proposed for review.

A proposal needs ``min_support`` distinct buyers. :func:`to_yaml` renders the proposals in the seed
vocabulary (``inputs`` / ``synonyms`` on the node's file) for an analyst to review and merge by hand.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal, Protocol

import yaml
from pydantic import BaseModel, Field

from matching.chains import ChainGraph, normalise_term
from matching.linking import ItemLinks
from matching.profiles import Enterprise
from matching.tuning.feedback import FeedbackEvent, Outcome, pair_labels

SuggestionKind = Literal["missing_input_of", "synonym", "wrong_relation"]
GRAPH_RELATIONS = ("input", "input_2hop", "sibling", "generalisation")
Edge = tuple[str, str, str]  # (source, target, kind): input_of = source is an input of target; is_a


class LinkSource(Protocol):
    def get(self, enterprise_id: str) -> Enterprise | None: ...
    def links_of(self, enterprise_id: str, item_id: str, kind: str = "offer") -> ItemLinks: ...


class Evidence(BaseModel):
    event_id: str
    buyer_id: str
    need_id: str | None
    supplier_id: str
    offer_id: str | None
    outcome: Outcome
    value_cny: float | None = None
    reason: str | None = None


class GraphSuggestion(BaseModel):
    """One proposed edit with the feedback that supports it."""

    kind: Literal["missing_input_of", "synonym", "wrong_relation"]
    source: str = Field(description="input_of: the input node; synonym: the term; wrong_relation: supply node")
    target: str = Field(description="input_of: what it is used to make; synonym: the node; wrong_relation: demand")
    relation: str | None = Field(default=None, description="wrong_relation: the graph's relation kind")
    edges: list[tuple[str, str, str]] = Field(default_factory=list, description="(source, target, kind) to review")
    buyers: int = Field(description="Distinct buyers behind the evidence")
    seed_file: str | None = Field(default=None, description="Seed file defining the node to edit")
    summary_zh: str
    evidence: list[Evidence]


def relation_path(graph: ChainGraph, a: str, b: str) -> tuple[str | None, list[Edge]]:
    """How the graph relates supply node ``a`` to demand node ``b``, with the edges that say so."""
    if a == b:
        return "same", []
    up_a = [a, *graph.ancestors(a)]
    if b in up_a:
        return "specialisation", [(a, b, "is_a")]
    if a in graph.ancestors(b):
        return "generalisation", [(b, a, "is_a")]
    family = set(up_a) | set(graph.descendants(a))
    up_b = [b, *graph.ancestors(b)]
    for q in up_b:
        for i in graph.inputs.get(q, ()):
            if i in family:
                return "input", [(i, q, "input_of")]
    for q in up_b:
        for i in graph.inputs.get(q, ()):
            for j in graph.inputs.get(i, ()):
                if j in family:
                    return "input_2hop", [(j, i, "input_of"), (i, q, "input_of")]
    shared = sorted(set(graph.parents.get(a, ())) & set(graph.parents.get(b, ())))
    if shared:
        return "sibling", [(a, shared[0], "is_a"), (b, shared[0], "is_a")]
    return None, []


def _nodes(links: LinkSource, enterprise_id: str, item_id: str | None, kind: str) -> list[str]:
    ent = links.get(enterprise_id)
    if ent is None:
        return []
    items = ent.offers if kind == "offer" else ent.needs
    ids = [i.id for i in items if item_id is None or i.id == item_id]
    return sorted({n for i in ids for n in links.links_of(enterprise_id, i, kind).head_nodes()})


def suggest(
    graph: ChainGraph, links: LinkSource, events: Sequence[FeedbackEvent], *, min_support: int = 2
) -> list[GraphSuggestion]:
    """Proposals from the feedback log, strongest support first."""
    labels = pair_labels(events)
    by_pair: dict[tuple[str, str | None, str, str | None], list[FeedbackEvent]] = defaultdict(list)
    for e in events:
        by_pair[e.pair].append(e)
    groups: dict[tuple[SuggestionKind, str, str, str | None], list[FeedbackEvent]] = defaultdict(list)
    engaged: set[tuple[str, str]] = set()
    rejected: dict[tuple[str, str], list[FeedbackEvent]] = defaultdict(list)
    written: dict[str, str] = {}
    for pair, label in labels.items():
        buyer, need, supplier, offer = pair
        supply = _nodes(links, supplier, offer, "offer")
        demand = _nodes(links, buyer, need, "need") if need is not None else _nodes(links, buyer, None, "offer")
        last = by_pair[pair][-1]
        for a in supply:
            for b in demand:
                if label > 0:
                    engaged.add((a, b))
                elif last.outcome is Outcome.rejected:
                    rejected[(a, b)].extend(by_pair[pair])
        if label < 3 or not supply:
            continue
        if need is None:
            for a in supply:
                for b in demand:
                    if relation_path(graph, a, b)[0] is None:
                        groups[("missing_input_of", a, b, None)].extend(by_pair[pair])
        elif not demand and len(supply) == 1:
            buyer_ent = links.get(buyer)
            product = next((n.product for n in buyer_ent.needs if n.id == need), None) if buyer_ent else None
            if product and not graph.resolve(product):
                written.setdefault(normalise_term(product), product)  # grouped normalised, proposed as written
                groups[("synonym", normalise_term(product), supply[0], None)].extend(by_pair[pair])
    for (a, b), evs in rejected.items():
        if (a, b) in engaged:
            continue
        kind, _ = relation_path(graph, a, b)
        if kind in GRAPH_RELATIONS:
            groups[("wrong_relation", a, b, kind)].extend(evs)
    found = []
    for (kind, source, target, relation), evs in groups.items():
        buyers = len({e.buyer_id for e in evs})
        if buyers >= min_support:
            found.append(
                _suggestion(
                    graph,
                    kind,
                    written.get(source, source) if kind == "synonym" else source,
                    target,
                    relation,
                    buyers,
                    evs,
                )
            )
    found.sort(key=lambda s: (-s.buyers, s.kind, s.source, s.target))
    return found


def _suggestion(
    graph: ChainGraph,
    kind: Literal["missing_input_of", "synonym", "wrong_relation"],
    source: str,
    target: str,
    relation: str | None,
    buyers: int,
    evs: Sequence[FeedbackEvent],
) -> GraphSuggestion:
    def name(node: str) -> str:
        found = graph.nodes.get(node)
        return found.name if found else node

    edges: list[Edge] = []
    if kind == "missing_input_of":
        summary = (
            f"{buyers}家生产「{name(target)}」的企业与「{name(source)}」供应商签约，图谱中二者无原料关系："
            f"建议增加 {name(source)} —原料→ {name(target)}"
        )
        seed_node = target
    elif kind == "synonym":
        summary = (
            f"{buyers}家企业以「{source}」为需求与「{name(target)}」供应商签约，该词未链接任何节点："
            f"建议作为「{name(target)}」的同义词"
        )
        seed_node = target
    else:
        edges = relation_path(graph, source, target)[1]
        summary = (
            f"{buyers}家企业拒绝了图谱以「{relation}」关系连接的「{name(source)}」→「{name(target)}」配对，"
            "且无成功案例：建议复核该关系"
        )
        seed_node = edges[-1][1] if edges else target
    unique = list({e.event_id: e for e in evs}.values())
    return GraphSuggestion(
        kind=kind,
        source=source,
        target=target,
        relation=relation,
        edges=edges,
        buyers=buyers,
        seed_file=graph.node_files.get(seed_node),
        summary_zh=summary,
        evidence=[
            Evidence.model_validate(e.model_dump(exclude={"event_id"}) | {"event_id": e.event_id}) for e in unique
        ],
    )


def to_yaml(suggestions: Sequence[GraphSuggestion]) -> str:
    """Proposals as reviewable YAML: each names the node, the seed field to extend, and its evidence."""
    out = []
    for s in suggestions:
        edit: dict[str, object]
        if s.kind == "missing_input_of":
            edit = {"node": s.target, "add": {"inputs": [s.source]}}
        elif s.kind == "synonym":
            edit = {"node": s.target, "add": {"synonyms": [s.source]}}
        else:
            edit = {"review": [{"source": a, "target": b, "kind": k} for a, b, k in s.edges]}
        out.append(
            {
                "kind": s.kind,
                "edit": edit,
                "seed_file": s.seed_file,
                "buyers": s.buyers,
                "summary_zh": s.summary_zh,
                "evidence": [e.model_dump(mode="json", exclude_none=True) for e in s.evidence],
            }
        )
    header = (
        "# Graph suggestions from match outcomes (chainmatch graph suggestions).\n"
        "# Nothing here is applied: review each edit and merge it into the named seed file by hand.\n"
    )
    return header + yaml.safe_dump({"suggestions": out}, allow_unicode=True, sort_keys=False)
