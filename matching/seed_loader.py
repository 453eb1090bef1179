"""The one reader of ``seeds/``: the chain graph and the plan enterprises, validated entry by entry.

Every function takes a mode:

- ``"strict"`` raises :class:`SeedError` on the first defect, naming the file and the entry. The service and
  :func:`matching.chains.load_graph` load this way.
- ``"collect"`` keeps the good entries and returns every defect beside them. ``chainmatch seeds check``
  loads this way and adds its cross-checks (edges, citations, regions, links) on top.

Defects found here: a file that is not YAML or not the expected shape, an entry that does not validate, a
duplicate id, and a seed enterprise without a source. An empty file holds no entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

import yaml
from pydantic import ValidationError

from matching.chains import Chain, ChainGraph, Node, default_seeds_dir, read_yaml
from matching.errors import ChainmatchError
from matching.profiles import Enterprise

LoadMode = Literal["strict", "collect"]
T = TypeVar("T")


@dataclass(frozen=True)
class Defect:
    """One problem found in a seed file."""

    file: str
    entry: str
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.file} [{self.entry}] {self.kind}: {self.message}"


class SeedError(ChainmatchError):
    """A seed file or entry is malformed (strict loading); the message names the file and the entry."""

    def __init__(self, defect: Defect, message: str | None = None) -> None:
        super().__init__(message or str(defect))
        self.defect = defect
        self.file = defect.file
        self.entry = defect.entry


class SeedEnterpriseError(SeedError):
    """A seed enterprise file or entry is malformed; the message names the file and entry index."""

    def __init__(self, file: str, index: int | None, reason: str, defect: Defect | None = None) -> None:
        where = file if index is None else f"{file} entry #{index}"
        super().__init__(defect or Defect(file, "<file>" if index is None else f"#{index}", "invalid_file", reason),
                         f"{where}: {reason}")
        self.index = index


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """What loaded, and the defects found on the way (always empty in strict mode)."""

    value: T
    defects: tuple[Defect, ...] = ()


@dataclass(frozen=True)
class SeedEnterprise:
    """A seed enterprise and the file that defines it."""

    file: str
    enterprise: Enterprise


class _Defects:
    """Collects defects, or raises the first one in strict mode."""

    def __init__(self, mode: LoadMode, error: Callable[[Defect, int | None], SeedError] | None = None) -> None:
        if mode not in ("strict", "collect"):
            raise ValueError(f"unknown load mode {mode!r}; use 'strict' or 'collect'")
        self.mode = mode
        self.found: list[Defect] = []
        self._error = error or (lambda defect, _: SeedError(defect))

    def add(self, file: str, entry: str, kind: str, message: str, index: int | None = None) -> None:
        defect = Defect(file, entry, kind, message)
        if self.mode == "strict":
            raise self._error(defect, index)
        self.found.append(defect)


def _messages(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<entry>'}: {e['msg']}" for e in exc.errors())


def _ident(raw: Any, index: int) -> str:
    ident = raw.get("id") if isinstance(raw, dict) else None
    return str(ident) if ident else f"#{index}"


def _read(path: Path, file: str, defects: _Defects) -> tuple[bool, Any]:
    """``(True, data)`` for a YAML file, ``(False, None)`` after recording a parse defect."""
    try:
        return True, read_yaml(path)
    except yaml.YAMLError as exc:
        defects.add(file, "<file>", "yaml", str(exc))
        return False, None


def _entries(data: Any, key: str, file: str, defects: _Defects, *, required: bool = False) -> list[Any]:
    """The entries under ``key``; an empty file has none. With ``required`` the mapping must hold ``key``
    and the file may also be the list itself (the enterprise files' two layouts)."""
    if data is None:
        return []
    if isinstance(data, dict):
        entries = data.get(key)
        if entries is None and not required:
            return []
    else:
        entries = data if required else None
    if not isinstance(entries, list):
        defects.add(file, "<file>", "invalid_file", f"expected a list under '{key}:'")
        return []
    return entries


def read_graph(seeds_dir: Path | None = None, mode: LoadMode = "strict") -> Loaded[ChainGraph]:
    """Nodes from ``nodes/*.yaml`` and chains (with the nodes they define) from ``chains/*.yaml``."""
    root = seeds_dir or default_seeds_dir()
    defects = _Defects(mode)
    nodes: dict[str, Node] = {}
    node_files: dict[str, str] = {}
    chains: dict[str, Chain] = {}
    chain_files: dict[str, str] = {}

    def add_node(raw: Any, file: str, index: int) -> Node | None:
        try:
            node = Node.model_validate(raw)
        except ValidationError as exc:
            defects.add(file, _ident(raw, index), "invalid_node", _messages(exc))
            return None
        if node.id in nodes:
            defects.add(file, node.id, "duplicate_id", f"node id also defined in {node_files[node.id]}")
            return None
        nodes[node.id] = node
        node_files[node.id] = file
        return node

    for path in sorted((root / "nodes").glob("*.yaml")):
        file = str(path.relative_to(root))
        _, data = _read(path, file, defects)
        for i, raw in enumerate(_entries(data, "nodes", file, defects)):
            add_node(raw, file, i)
    for path in sorted((root / "chains").glob("*.yaml")):
        file = str(path.relative_to(root))
        ok, data = _read(path, file, defects)
        if not ok:
            continue
        if not isinstance(data, dict):
            defects.add(file, "<file>", "invalid_chain", "expected a mapping")
            continue
        defined = [n for i, raw in enumerate(_entries(data, "nodes", file, defects))
                   if (n := add_node(raw, file, i)) is not None]
        try:
            chain = Chain.model_validate({**data, "nodes": []})
        except ValidationError as exc:
            defects.add(file, str(data.get("id", "<chain>")), "invalid_chain", _messages(exc))
            continue
        if chain.id in chains:
            defects.add(file, chain.id, "duplicate_id", f"chain id also defined in {chain_files[chain.id]}")
            continue
        chains[chain.id] = chain.model_copy(update={"nodes": tuple(defined)})
        chain_files[chain.id] = file
    graph = ChainGraph(nodes=nodes, chains=chains, node_files=node_files, chain_files=chain_files)
    return Loaded(graph, tuple(defects.found))


def read_enterprises(seeds_dir: Path | None = None, mode: LoadMode = "strict") -> Loaded[list[SeedEnterprise]]:
    """Plan enterprises from ``enterprises/*.yaml`` (a list under ``enterprises:``, or a bare list), file by
    file in name order; each must validate as a profile, have a unique id and cite a source."""
    root = seeds_dir or default_seeds_dir()
    defects = _Defects(mode, lambda d, index: SeedEnterpriseError(d.file, index, d.message, d))
    result: list[SeedEnterprise] = []
    seen: dict[str, str] = {}
    for path in sorted((root / "enterprises").glob("*.yaml")):
        file = str(path.relative_to(root))
        _, data = _read(path, file, defects)
        for index, raw in enumerate(_entries(data, "enterprises", file, defects, required=True)):
            ident = raw.get("id") if isinstance(raw, dict) else None
            label = f" ({ident})" if ident else ""
            try:
                enterprise = Enterprise.model_validate(raw)
            except ValidationError as exc:
                reason = f"invalid profile{label}: {_messages(exc)}"
                defects.add(file, _ident(raw, index), "invalid_enterprise", reason, index)
                continue
            if enterprise.id in seen:
                defects.add(file, enterprise.id, "duplicate_id",
                            f"duplicate id {enterprise.id!r} (also in {seen[enterprise.id]})", index)
                continue
            seen[enterprise.id] = file
            if enterprise.source is None:
                defects.add(file, enterprise.id, "missing_source",
                            f"missing source{label}: every seed enterprise cites one", index)
            result.append(SeedEnterprise(file, enterprise))
    return Loaded(result, tuple(defects.found))
