"""Policy tables: cluster systems, each region's priority chains, and plan targets.

Seed layout (``seeds/policy/``): ``clusters.yaml`` (``systems:``), ``priorities.yaml`` (``priorities:``) and
``targets.yaml`` (``targets:``). Region codes are GB/T 2260 codes at county (``520322``), city (``520300``)
or province (``500000``) level; a county inherits the priorities of its city and province.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from matching.chains import default_seeds_dir, read_yaml
from matching.sources import Source

RegionCode = Annotated[str, Field(pattern=r"^\d{6}$")]
ChainId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
Comparator = Literal[">", ">=", "=", "级"]
"""``>`` 突破/超过, ``>=`` …以上, ``=`` 达到/提高至, ``级`` a scale class such as 千亿级."""


class Cluster(BaseModel):
    """One cluster (or numbered task) of a system, with the chains it maps to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ChainId
    name: str = Field(min_length=1)
    tier: str = Field(min_length=1, description="e.g. 千亿级主导产业集群, 新星产业集群, 重点任务5")
    chains: tuple[ChainId, ...] = ()
    regions: tuple[RegionCode, ...] = Field(default=(), description="Counties the plan assigns it to")
    source: Source
    note: str | None = None


class ClusterSystem(BaseModel):
    """A named cluster system such as Chongqing's 33618 or Hechuan's 2446."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ChainId
    name: str = Field(min_length=1)
    region_code: RegionCode
    sources: tuple[Source, ...] = Field(min_length=1)
    clusters: tuple[Cluster, ...] = ()
    note: str | None = None


class PriorityEntry(BaseModel):
    """The priority chains a region's plan names. ``area`` marks a zone that is no GB/T 2260 division."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region_code: RegionCode
    area: str | None = None
    name: str = Field(min_length=1)
    system: ChainId | None = None
    chains: tuple[ChainId, ...] = ()
    sources: tuple[Source, ...] = Field(min_length=1)
    note: str | None = None


class Target(BaseModel):
    """A numeric plan target. ``year`` is null when the document gives none; figures are never estimated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    region_code: RegionCode
    area: str | None = None
    metric: str = Field(min_length=1)
    year: int | None = Field(default=None, ge=2000, le=2100)
    value: float = Field(ge=0, allow_inf_nan=False)
    unit: str = Field(min_length=1)
    comparator: Comparator = "="
    cluster: ChainId | None = None
    source: Source
    note: str | None = None


def region_scope(region_code: str) -> tuple[str, ...]:
    """The code and its enclosing city and province codes, most specific first, without duplicates."""
    if len(region_code) != 6 or not region_code.isdigit():
        raise ValueError(f"region code must be 6 digits, got {region_code!r}")
    scope = (region_code, region_code[:4] + "00", region_code[:2] + "0000")
    return tuple(dict.fromkeys(scope))


def _duplicates(values: list[str]) -> list[str]:
    return sorted(v for v, n in Counter(values).items() if n > 1)


class Policy(BaseModel):
    """All policy tables; build with :meth:`load`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    systems: tuple[ClusterSystem, ...] = ()
    priorities: tuple[PriorityEntry, ...] = ()
    targets: tuple[Target, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems: list[str] = []
        for what, ids in (
            ("system", [s.id for s in self.systems]),
            ("cluster", [c.id for c in self.clusters]),
            ("target", [t.id for t in self.targets]),
            ("priority region", [f"{p.region_code}/{p.area or ''}" for p in self.priorities]),
        ):
            problems += [f"duplicate {what} id {d!r}" for d in _duplicates(ids)]
        system_ids = {s.id for s in self.systems}
        cluster_ids = {c.id for c in self.clusters}
        problems += [f"priority {p.region_code}: unknown system {p.system!r}"
                     for p in self.priorities if p.system and p.system not in system_ids]
        problems += [f"target {t.id}: unknown cluster {t.cluster!r}"
                     for t in self.targets if t.cluster and t.cluster not in cluster_ids]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def load(cls, seeds_dir: Path | None = None) -> Policy:
        """Read ``seeds/policy/*.yaml``; a missing file counts as empty. Raises ``ValidationError``."""
        root = (seeds_dir or default_seeds_dir()) / "policy"

        def section(file: str, key: str) -> list[object]:
            path = root / file
            data = read_yaml(path) if path.exists() else None
            items = (data or {}).get(key) or []
            if not isinstance(items, list):
                raise ValueError(f"policy/{file}: {key!r} must be a list")
            return items

        return cls.model_validate({
            "systems": section("clusters.yaml", "systems"),
            "priorities": section("priorities.yaml", "priorities"),
            "targets": section("targets.yaml", "targets"),
        })

    @property
    def clusters(self) -> list[Cluster]:
        """Every cluster of every system, in file order."""
        return [c for s in self.systems for c in s.clusters]

    def priority_chains(self, region_code: str) -> frozenset[str]:
        """Chain ids prioritised for a region: its own entry ∪ its city's ∪ its province's.

        Entries carrying an ``area`` (zones such as 新蒲新区) are not inherited.
        """
        scope = set(region_scope(region_code))
        return frozenset(c for p in self.priorities if p.area is None and p.region_code in scope
                         for c in p.chains)

    def targets_for(self, region_code: str, year: int | None = None) -> list[Target]:
        """Targets recorded under exactly this code (including its ``area`` zones), optionally one year."""
        region_scope(region_code)
        return [t for t in self.targets
                if t.region_code == region_code and (year is None or t.year == year)]

    def chain_references(self) -> list[tuple[str, str]]:
        """Every (where, chain id) the tables reference, for validation against the graph."""
        refs = [(f"clusters/{c.id}", chain) for c in self.clusters for chain in c.chains]
        refs += [(f"priorities/{p.region_code}{'/' + p.area if p.area else ''}", chain)
                 for p in self.priorities for chain in p.chains]
        return refs

    def region_references(self) -> list[tuple[str, str]]:
        """Every (where, region code) the tables reference."""
        refs = [(f"clusters/{s.id}", s.region_code) for s in self.systems]
        refs += [(f"clusters/{c.id}", code) for c in self.clusters for code in c.regions]
        refs += [(f"priorities/{p.region_code}", p.region_code) for p in self.priorities]
        refs += [(f"targets/{t.id}", t.region_code) for t in self.targets]
        return refs

    def sources(self) -> list[tuple[str, Source]]:
        """Every (where, citation) in the tables."""
        refs = [(f"clusters/{s.id}", src) for s in self.systems for src in s.sources]
        refs += [(f"clusters/{c.id}", c.source) for c in self.clusters]
        refs += [(f"priorities/{p.region_code}", src) for p in self.priorities for src in p.sources]
        refs += [(f"targets/{t.id}", t.source) for t in self.targets]
        return refs

    def counts(self) -> dict[str, int]:
        return {
            "policy.systems": len(self.systems),
            "policy.clusters": len(self.clusters),
            "policy.priorities": len(self.priorities),
            "policy.targets": len(self.targets),
        }
