"""``chainmatch seeds check``: validate everything in ``seeds/`` and report each defect with its file.

Checks: every file parses and validates; unique ids; no dangling edges or chain/policy references; no
``is_a`` cycles; no ambiguous synonyms unless marked shared; every citation names a known document; a node
that cites a document is named there (its name or a synonym occurs in the document's text; nodes the
documents only imply cite ``doc: public``); a seed enterprise's tag that raises standing (链主, 龙头企业, …) is
quoted by its citation; every enterprise's region resolves; every offer and need links to at least one node.

The citation-text rule reads the source documents from :func:`matching.sources.default_source_docs_dir`; they
are not part of the repository, so when they are absent the rule is skipped with a note, never a defect.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from matching.chains import Chain, ChainGraph, Node, default_seeds_dir, normalise_term, read_yaml
from matching.profiles import Enterprise
from matching.regions import RegionRegistry
from matching.scoring import STANDING_TAGS
from matching.sources import PUBLIC_KNOWLEDGE, SOURCE_DOCS, Source, default_source_docs_dir


@dataclass(frozen=True)
class Defect:
    """One problem found in a seed file."""

    file: str
    entry: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} [{self.entry}] {self.kind}: {self.message}"


@dataclass
class SeedReport:
    """Counts of what loaded, every defect found, and notes on checks that were skipped."""

    counts: dict[str, int] = field(default_factory=dict)
    defects: list[Defect] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.defects


def _validation_messages(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<entry>'}: {e['msg']}" for e in exc.errors())


def _load_yaml(path: Path, root: Path, report: SeedReport) -> Any:
    try:
        return read_yaml(path)
    except yaml.YAMLError as exc:
        report.defects.append(Defect(str(path.relative_to(root)), "<file>", "yaml", str(exc)))
        return None


def _check_source(source: Source | None, file: str, entry: str, report: SeedReport) -> None:
    if source is not None and not source.is_known():
        report.defects.append(Defect(file, entry, "unknown_source", f"unknown source document {source.doc!r}"))


def _load_nodes_and_chains(root: Path, report: SeedReport) -> ChainGraph:
    nodes: dict[str, Node] = {}
    node_files: dict[str, str] = {}
    chains: dict[str, Chain] = {}
    chain_files: dict[str, str] = {}

    def add_node(raw: Any, file: str, index: int) -> None:
        ident = raw.get("id", f"#{index}") if isinstance(raw, dict) else f"#{index}"
        try:
            node = Node.model_validate(raw)
        except ValidationError as exc:
            report.defects.append(Defect(file, str(ident), "invalid_node", _validation_messages(exc)))
            return
        if node.id in nodes:
            report.defects.append(
                Defect(file, node.id, "duplicate_id", f"node id also defined in {node_files[node.id]}")
            )
            return
        _check_source(node.source, file, node.id, report)
        nodes[node.id] = node
        node_files[node.id] = file

    for path in sorted((root / "nodes").glob("*.yaml")):
        file = str(path.relative_to(root))
        data = _load_yaml(path, root, report)
        for i, raw in enumerate((data or {}).get("nodes") or []):
            add_node(raw, file, i)
    for path in sorted((root / "chains").glob("*.yaml")):
        file = str(path.relative_to(root))
        data = _load_yaml(path, root, report)
        if not isinstance(data, dict):
            report.defects.append(Defect(file, "<file>", "invalid_chain", "expected a mapping"))
            continue
        for i, raw in enumerate(data.get("nodes") or []):
            add_node(raw, file, i)
        try:
            chain = Chain.model_validate({**data, "nodes": []})
        except ValidationError as exc:
            report.defects.append(Defect(file, str(data.get("id", "<chain>")), "invalid_chain",
                                         _validation_messages(exc)))
            continue
        if chain.id in chains:
            report.defects.append(Defect(file, chain.id, "duplicate_id",
                                         f"chain id also defined in {chain_files[chain.id]}"))
            continue
        for source in chain.sources:
            _check_source(source, file, chain.id, report)
        chains[chain.id] = chain
        chain_files[chain.id] = file
    graph = ChainGraph(nodes=nodes, chains=chains, node_files=node_files, chain_files=chain_files)
    return graph


def _check_graph(graph: ChainGraph, regions: RegionRegistry, report: SeedReport) -> None:
    for nid, node in sorted(graph.nodes.items()):
        file = graph.node_files[nid]
        for target in node.is_a:
            if target not in graph.nodes:
                report.defects.append(Defect(file, nid, "dangling_edge", f"is_a → unknown node {target!r}"))
        for target in node.inputs:
            if target not in graph.nodes:
                report.defects.append(Defect(file, nid, "dangling_edge", f"inputs ← unknown node {target!r}"))
            elif target == nid:
                report.defects.append(Defect(file, nid, "self_edge", "a node cannot be its own input"))
    for cid, chain in sorted(graph.chains.items()):
        file = graph.chain_files[cid]
        for segment, ids in chain.segments.items():
            for nid in ids:
                if nid not in graph.nodes:
                    report.defects.append(Defect(file, cid, "dangling_edge",
                                                 f"segment {segment} lists unknown node {nid!r}"))
        if not chain.node_ids():
            report.defects.append(Defect(file, cid, "empty_chain", "no nodes in any segment"))
        for code in chain.regions:
            if code not in regions:
                report.defects.append(Defect(file, cid, "unknown_region", f"region {code!r} does not resolve"))
    for cycle in graph.is_a_cycles():
        report.defects.append(Defect(graph.node_files.get(cycle[0], "?"), cycle[0], "is_a_cycle",
                                     " → ".join(cycle)))
    for term, owners in sorted(graph.term_index.items()):
        if len(owners) < 2:
            continue
        shared = [o for o in owners if term in {normalise_term(t) for t in graph.nodes[o].shared_synonyms}]
        if len(shared) < len(owners):
            where = ", ".join(f"{o} ({graph.node_files[o]})" for o in owners)
            report.defects.append(Defect(graph.node_files[owners[0]], owners[0], "ambiguous_synonym",
                                         f"term {term!r} names several nodes: {where}; "
                                         "mark it in shared_synonyms on each if intended"))


_ASCII_TERM = re.compile(r"^[a-z0-9.+\-/ ]+$")


class TermMatcher:
    """Finds node terms inside a text: CJK terms as substrings, ASCII terms as whole words."""

    def __init__(self, graph: ChainGraph) -> None:
        self._cjk: dict[str, list[str]] = {}
        self._ascii: dict[str, list[str]] = {}
        for term, owners in graph.term_index.items():
            if len(term) >= 2:
                (self._ascii if _ASCII_TERM.match(term) else self._cjk)[term] = owners
        alternation = "|".join(re.escape(t) for t in sorted(self._ascii, key=len, reverse=True))
        self._ascii_re = re.compile(rf"(?<![a-z0-9])(?:{alternation})(?![a-z0-9])") if alternation else None

    def nodes_in(self, text: str) -> list[str]:
        key = normalise_term(text)
        found: set[str] = set()
        for term, owners in self._cjk.items():
            if term in key:
                found.update(owners)
        if self._ascii_re is not None:
            # Overlapping ASCII matches: scan every start position so "pa66" and "pa" both count.
            for start in range(len(key)):
                match = self._ascii_re.match(key, start)
                if match:
                    found.update(self._ascii[match.group(0)])
        return sorted(found)


def term_occurs(term: str, normalised_text: str) -> bool:
    """Whether ``term`` occurs in a text already passed through :func:`normalise_term`.

    CJK terms match as substrings, ASCII terms as whole words; one-character terms (煤, 铝) never count.
    """
    key = normalise_term(term)
    if len(key) < 2:
        return False
    if _ASCII_TERM.match(key):
        return re.search(rf"(?<![a-z0-9]){re.escape(key)}(?![a-z0-9])", normalised_text) is not None
    return key in normalised_text


def _check_node_citations(graph: ChainGraph, docs_dir: Path, report: SeedReport) -> None:
    """A node citing a document must be named there: its name or one of its synonyms occurs in the text.

    A node the documents only imply (a firm's known product, an input of a named product) cites
    ``doc: public`` and may say in ``section`` which passage it was inferred from.
    """
    cited = [(nid, node, node.source.doc) for nid, node in sorted(graph.nodes.items())
             if node.source is not None and node.source.doc in SOURCE_DOCS]
    report.counts["nodes.cite_document"] = len(cited)
    report.counts["nodes.cite_public"] = sum(
        1 for node in graph.nodes.values() if node.source is not None and node.source.doc == PUBLIC_KNOWLEDGE)
    if not docs_dir.is_dir():
        report.notes.append(f"source documents not found at {docs_dir}: the rule that a cited document names "
                            "the node was skipped (set CHAINMATCH_SOURCE_DOCS or --source-docs)")
        return
    texts: dict[str, str] = {}
    for doc in sorted(SOURCE_DOCS):
        path = docs_dir / doc
        if path.is_file():
            texts[doc] = normalise_term(path.read_text(encoding="utf-8"))
        else:
            report.notes.append(f"source document {doc} not found in {docs_dir}: nodes citing it were not checked")
    checked = 0
    for nid, node, doc in cited:
        text = texts.get(doc)
        if text is None:
            continue
        checked += 1
        if not any(term_occurs(term, text) for term in node.terms()):
            report.defects.append(Defect(
                graph.node_files[nid], nid, "citation_not_in_document",
                f"cites {doc} but neither {node.name!r} nor any synonym occurs in it; cite the document "
                "that names it or mark the inference {doc: public}"))
    report.counts["node_citations_checked"] = checked


_MATCHERS: dict[int, tuple[ChainGraph, TermMatcher]] = {}


def linked_nodes(graph: ChainGraph, text: str) -> list[str]:
    """Node ids whose name or synonym occurs in ``text`` (ASCII terms must match whole words)."""
    cached = _MATCHERS.get(id(graph))
    if cached is None or cached[0] is not graph:
        cached = (graph, TermMatcher(graph))
        _MATCHERS[id(graph)] = cached
    return cached[1].nodes_in(text)


_BASE_STANDING = min(value for _, value in STANDING_TAGS)


def _standing_keywords(tag: str) -> tuple[str, ...]:
    """The keywords of the best standing tier ``tag`` matches above the base tier (规上), else ``()``."""
    for keys, value in STANDING_TAGS:
        if value > _BASE_STANDING and any(k in tag for k in keys):
            return keys
    return ()


def _check_standing_tags(ent: Enterprise, file: str, report: SeedReport) -> None:
    """A tag that lifts standing (链主, 龙头企业, …) must be backed by its citation: the cited section quotes the
    document's word for it (e.g. "龙头企业", "头部企业"), so an unsupported tag cannot change rankings."""
    section = ent.source.section if ent.source is not None else None
    for tag in ent.tags:
        keys = _standing_keywords(tag)
        if keys and not (section and any(k in section for k in keys)):
            report.defects.append(Defect(file, ent.id, "unsupported_tag",
                                         f"tag {tag!r} raises standing but the cited section quotes none of "
                                         f"{' / '.join(keys)}"))


def _check_enterprises(root: Path, graph: ChainGraph, regions: RegionRegistry, report: SeedReport) -> None:
    seen: dict[str, str] = {}
    offers = needs = 0
    for path in sorted((root / "enterprises").glob("*.yaml")):
        file = str(path.relative_to(root))
        data = _load_yaml(path, root, report)
        entries = data.get("enterprises", []) if isinstance(data, dict) else data or []
        for i, raw in enumerate(entries):
            ident = raw.get("id", f"#{i}") if isinstance(raw, dict) else f"#{i}"
            try:
                ent = Enterprise.model_validate(raw)
            except ValidationError as exc:
                report.defects.append(Defect(file, str(ident), "invalid_enterprise", _validation_messages(exc)))
                continue
            if ent.id in seen:
                report.defects.append(Defect(file, ent.id, "duplicate_id", f"enterprise also in {seen[ent.id]}"))
                continue
            seen[ent.id] = file
            if ent.source is None:
                report.defects.append(Defect(file, ent.id, "missing_source", "every seed enterprise cites a source"))
            _check_source(ent.source, file, ent.id, report)
            _check_standing_tags(ent, file, report)
            located = ent.region_code in regions if ent.region_code else (
                ent.address is not None and regions.resolve_address(ent.address) is not None)
            if not located:
                report.defects.append(Defect(file, ent.id, "unknown_region",
                                             f"region {ent.region_code or ent.address!r} does not resolve"))
            for kind, items in (("offer", ent.offers), ("need", ent.needs)):
                for item in items:
                    if not linked_nodes(graph, f"{item.product} {item.description or ''}"):
                        report.defects.append(Defect(file, f"{ent.id}/{item.id}", "unlinked_" + kind,
                                                     f"{item.product!r} links to no chain node"))
            offers += len(ent.offers)
            needs += len(ent.needs)
    report.counts.update(enterprises=len(seen), offers=offers, needs=needs)


def _check_policy(root: Path, graph: ChainGraph, regions: RegionRegistry, report: SeedReport) -> None:
    from matching.policy import Policy

    try:
        policy = Policy.load(root)
    except (ValidationError, ValueError, KeyError, TypeError) as exc:
        report.defects.append(Defect("policy/", "<load>", "invalid_policy", str(exc)))
        return
    for where, chain_id in policy.chain_references():
        if chain_id not in graph.chains:
            report.defects.append(Defect("policy/", where, "dangling_reference", f"unknown chain {chain_id!r}"))
    for where, code in policy.region_references():
        if not regions.covers(code):
            report.defects.append(Defect("policy/", where, "unknown_region", f"region {code!r} does not resolve"))
    for where, source in policy.sources():
        _check_source(source, "policy/", where, report)
    report.counts.update(policy.counts())


def check_seeds(seeds_dir: Path | None = None, source_docs_dir: Path | None = None) -> SeedReport:
    """Validate all of ``seeds/`` and return counts, defects and notes (never raises on bad content).

    ``source_docs_dir`` holds the five source documents (default :func:`default_source_docs_dir`); without
    them the citation-text rule is skipped and the report carries a note saying so.
    """
    root = seeds_dir or default_seeds_dir()
    report = SeedReport()
    regions = RegionRegistry.load(root)
    graph = _load_nodes_and_chains(root, report)
    _check_graph(graph, regions, report)
    report.counts.update(
        chains=len(graph.chains),
        nodes=len(graph.nodes),
        is_a_edges=graph.is_a_edge_count(),
        input_of_edges=graph.input_edge_count(),
        regions=len(regions),
    )
    _check_node_citations(graph, source_docs_dir or default_source_docs_dir(), report)
    _check_enterprises(root, graph, regions, report)
    if (root / "policy").is_dir():
        _check_policy(root, graph, regions, report)
    terms_by_kind: dict[str, int] = defaultdict(int)
    for node in graph.nodes.values():
        terms_by_kind[node.kind.value] += 1
    report.counts.update({f"nodes.{k}": v for k, v in sorted(terms_by_kind.items())})
    return report
