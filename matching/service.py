"""Glue between the store and the matching engine; used by the REST API and the CLI (no web imports).

Writes go to the store first, then into this process's engine; :mod:`matching.index_sync` keeps the engine in
step with the other processes' writes through the store's change log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError

from matching.chains import ChainGraph, load_graph
from matching.errors import FieldError, InvalidInputError, NotFoundError, UnavailableError
from matching.imports import Format, ImportPlan, RowError, collector_paused, plan_import
from matching.index_snapshot import SnapshotStore, build_identity
from matching.index_sync import IndexSync
from matching.profiles import Enterprise, Need, Offer
from matching.regions import RegionRegistry
from matching.results import MatchResult
from matching.settings import Settings
from matching.snapshot_sync import SnapshotPolicy
from matching.store import EnterpriseRepository, StoredEnterprise, create_db_engine, prepare_store
from matching.store.db import unreachable
from matching.store.repository import UpsertOutcome
from matching.text_safety import unsafe_character
from matching.tuning.profiles import ProfileStore
from matching.weights import MatchFilters, WeightProfile

if TYPE_CHECKING:
    from matching.engine import MatchEngine

log = logging.getLogger("chainmatch.service")

SEEDED_KEY = "seeded_at"


@dataclass
class ImportOutcome:
    """A stored import: the parse plan (rows updated with storage results) and what was written."""

    plan: ImportPlan
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


ImportProgress = Callable[[str, int, int], None]
"""``progress(phase, done, total)`` for :meth:`ChainmatchService.import_bytes`."""


def _no_progress(phase: str, done: int, total: int) -> None:
    return None


class ChainmatchService:
    """Enterprise CRUD, imports and matching over one store and one in-memory engine."""

    def __init__(
        self,
        settings: Settings,
        repository: EnterpriseRepository,
        graph: ChainGraph,
        regions: RegionRegistry,
        policy: Any,
    ) -> None:
        self.settings = settings
        self.repository = repository
        self.graph = graph
        self.regions = regions
        self.policy = policy
        self.index = IndexSync(repository, graph, regions, policy, settings.sync_interval_s)
        self.index.processes = settings.index_processes
        self.index.gc_freeze = settings.gc_freeze
        # latest-version lookups are cached as long as the change-log poll interval: same staleness bound
        self.profiles = ProfileStore(repository.engine, latest_ttl_s=settings.sync_interval_s)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def open(cls, settings: Settings, *, build_index: bool = True) -> ChainmatchService:
        """Connect, migrate (and seed an empty store) under the start-up lock, then build the index."""
        service = cls.load(settings)
        service.prepare_store()
        if build_index:
            service.build_index()
        return service

    @classmethod
    def load(cls, settings: Settings) -> ChainmatchService:
        """Load the chain graph, regions and policy and connect lazily; the store is not touched yet."""
        from matching.policy import Policy

        seeds_dir = settings.seeds_dir
        graph = load_graph(seeds_dir)
        regions = RegionRegistry.load(seeds_dir) if seeds_dir else RegionRegistry.load()
        policy = Policy.load(seeds_dir) if seeds_dir else Policy.load()
        db = create_db_engine(settings.resolved_database_url())
        return cls(settings, EnterpriseRepository(db), graph, regions, policy)

    def prepare_store(self) -> None:
        """Migrate (and seed an empty store) under the inter-process start-up lock; one line if unreachable."""
        db = self.repository.engine
        try:
            prepare_store(db, seed=self._seed if self.settings.seed_on_empty else None)
        except OperationalError as exc:  # unreachable or unusable: one line, not a driver traceback
            db.dispose()
            raise unreachable(self.settings.resolved_database_url(), exc) from None
        if self.settings.index_snapshot:  # the store's id names its snapshots, so only after migrating
            self.index.snapshots = self.snapshot_policy()

    def snapshot_policy(self) -> SnapshotPolicy:
        """Index snapshots of this store under ``index_snapshot_dir`` (default ``<data_dir>/index``)."""
        root = self.settings.index_snapshot_dir or self.settings.data_dir / "index"
        store = SnapshotStore(root, self.repository.store_id(), build_identity(self.settings.seeds_dir),
                              freeze=self.settings.gc_freeze)
        return SnapshotPolicy(store, self.settings.index_snapshot_refresh_changes,
                              self.settings.index_snapshot_refresh_s, fork=self.settings.index_snapshot_fork)

    def close(self) -> None:
        self.repository.engine.dispose()

    def _seed(self) -> None:
        self.seed_if_empty()

    def seed_if_empty(self) -> int:
        """Load the seed enterprises into an empty, never-seeded store; returns how many were stored."""
        if self.repository.get_meta(SEEDED_KEY) is not None:
            return 0
        stored = 0
        if self.repository.count() == 0:
            from matching.seed_enterprises import load_seed_enterprises

            valid: list[Enterprise] = []
            for enterprise in load_seed_enterprises(self.settings.seeds_dir):
                try:
                    valid.append(self.prepare(enterprise))
                except InvalidInputError as exc:
                    log.warning(
                        "seed enterprise rejected",
                        extra={"enterprise_id": enterprise.id, "reason": _describe(exc)},
                    )
            stored = len(self.repository.upsert_many(valid))
            log.info("seeded store", extra={"enterprises": stored})
        self.repository.set_meta(SEEDED_KEY, datetime.now(UTC).isoformat())
        return stored

    def build_index(self) -> None:
        """(Re)build the engine from everything stored."""
        self.index.build()

    @property
    def engine(self) -> MatchEngine | None:
        """The engine once it has caught up with the change log (``None`` while building or loading)."""
        return self.index.engine if self.index.ready else None

    @property
    def index_ready(self) -> bool:
        return self.index.ready and self.index.engine is not None

    @property
    def index_seq(self) -> int:
        return self.index.state.seq

    def index_size(self) -> int:
        return self.index.size()

    def sync(self, *, force: bool = False) -> int:
        """Apply changes other processes wrote (see :class:`matching.index_sync.IndexSync`)."""
        return self.index.sync(force=force)

    def _apply(self, enterprise_id: str, enterprise: Enterprise | None, seq: int) -> None:
        if enterprise is None:
            self.index.apply_many([], [(enterprise_id, seq)])
        else:
            self.index.apply_many([(enterprise_id, enterprise, seq)], [])

    # -- enterprises ---------------------------------------------------------------------------
    def prepare(self, enterprise: Enterprise) -> Enterprise:
        """Domain checks before storing: the region exists, or the address resolves to one."""
        if enterprise.region_code is not None:
            region = self.regions.get(enterprise.region_code)
            if region is None:
                raise InvalidInputError(
                    "unknown region code",
                    [FieldError("region_code", f"unknown GB/T 2260 county code {enterprise.region_code!r}")],
                )
            if region.code != enterprise.region_code:
                return enterprise.model_copy(update={"region_code": region.code})
            return enterprise
        resolved = self.regions.resolve_address(enterprise.address or "")
        if resolved is None:
            raise InvalidInputError(
                "address does not resolve to a region",
                [FieldError("address", "cannot resolve the address to a county; give region_code instead")],
            )
        return enterprise.model_copy(update={"region_code": resolved.code})

    def upsert(self, enterprise: Enterprise, *, expected_seq: int | None = None) -> UpsertOutcome:
        """Validate and store; ``expected_seq`` makes it conditional (see ``EnterpriseRepository.upsert``)."""
        outcome = self.repository.upsert(self.prepare(enterprise), expected_seq=expected_seq)
        if outcome.changed:
            self._apply(enterprise.id, outcome.stored.enterprise, outcome.stored.seq)
        return outcome

    def get(self, enterprise_id: str) -> StoredEnterprise:
        found = self.repository.get(enterprise_id)
        if found is None:
            raise NotFoundError("enterprise", enterprise_id)
        return found

    def delete(self, enterprise_id: str) -> None:
        seq = self.repository.delete(enterprise_id)
        if seq is None:
            raise NotFoundError("enterprise", enterprise_id)
        self._apply(enterprise_id, None, seq)

    def list_enterprises(
        self,
        *,
        region_code: str | None = None,
        chain: str | None = None,
        q: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> tuple[list[StoredEnterprise], bool]:
        """A page of profiles ordered by id and whether more follow."""
        unsafe = unsafe_character(q) if q else None
        if unsafe:  # PostgreSQL would fail on a NUL; no stored text holds these characters anyway
            raise InvalidInputError("unsafe characters in q", [FieldError("q", unsafe)])
        ids: set[str] | None = None
        if chain is not None:
            if chain not in self.graph.chains:
                raise NotFoundError("chain", chain)
            self._engine()
            self.sync()
            ids = self.index.enterprises_on(chain)
        rows = self.repository.page(region_code=region_code, ids=ids, q=q, after=after, limit=limit + 1)
        return rows[:limit], len(rows) > limit

    # -- imports -------------------------------------------------------------------------------
    def import_bytes(
        self,
        data: bytes,
        *,
        filename: str | None,
        content_type: str | None = None,
        fmt: Format | None = None,
        dry_run: bool = False,
        progress: ImportProgress | None = None,
    ) -> ImportOutcome:
        """Parse and store an upload; rows of profiles that fail to store are reported as rejected.

        The store write is one transaction and the index applies the whole import as one batch. A dry run
        stores nothing and lists which ids it would create, update or leave unchanged. ``progress(phase,
        done, total)`` is told ``parsing``, ``storing`` (enterprises written so far), ``indexing``.
        """
        with collector_paused(freeze=self.settings.gc_freeze):
            return self._import(data, filename, content_type, fmt, dry_run, progress or _no_progress)

    def _import(self, data: bytes, filename: str | None, content_type: str | None, fmt: Format | None,
                dry_run: bool, report: ImportProgress) -> ImportOutcome:  # fmt: skip
        """The body of :meth:`import_bytes` (the cyclic collector is paused throughout)."""
        report("parsing", 0, 0)
        plan = plan_import(
            data,
            filename=filename,
            content_type=content_type,
            fmt=fmt,
            check=self.prepare,
            max_rows=self.settings.max_import_rows,
        )
        outcome = ImportOutcome(plan)
        planned = [p.enterprise for p in plan.enterprises]
        total = len(planned)
        if dry_run:
            for eid, what in self.repository.classify(planned).items():
                getattr(outcome, what).append(eid)
            report("storing", total, total)
            return outcome
        if not planned:
            return outcome
        report("storing", 0, total)
        with self.index.bulk_write(total) as publish, self.index.items_started(planned) as started:
            # forked processes link and vectorise the items while this one writes the store
            results = self.repository.upsert_many(planned, on_progress=lambda done: report("storing", done, total))
            changed = [(r.stored.enterprise.id, r.stored.enterprise, r.stored.seq) for r in results if r.changed]
            report("indexing", 0, len(changed))
            self.index.apply_many(changed, [], started)  # the whole import is one index write
            publish()  # a large import reaches the other workers as a snapshot
            report("indexing", len(changed), len(changed))
        for result in results:
            stored = result.stored
            bucket = (
                outcome.created
                if result.created
                else outcome.updated
                if result.changed
                else outcome.unchanged
            )
            bucket.append(stored.enterprise.id)
        return outcome

    # -- matching ------------------------------------------------------------------------------
    def resolve_weights(self, spec: str | None) -> WeightProfile:
        """A stored weight profile from ``name``, ``name@version`` or ``name:version`` (default: latest
        ``default``); see :class:`matching.tuning.ProfileStore`."""
        return self.profiles.resolve(spec)

    def _engine(self) -> MatchEngine:
        if self.engine is None:
            raise UnavailableError("index building: the matching index is not ready yet (索引构建中), retry shortly")
        return self.engine

    def suppliers_for(
        self,
        enterprise_id: str,
        need_id: str | None,
        *,
        k: int,
        weights: str | None,
        filters: MatchFilters | None = None,
        sync: bool = True,
    ) -> MatchResult:
        """Ranked suppliers. ``sync=False`` skips the change-log check: the web layer answers on its event
        loop and never applies a batch there; its poll task keeps the index within ``sync_interval_s``."""
        profile = self.resolve_weights(weights)
        if sync:
            self.sync()  # reads take no lock: the engine's reads are pure and its writes swap in new blocks
        try:
            return self._engine().suppliers_for(enterprise_id, need_id, k=k, weights=profile, filters=filters)
        except NotFoundError as exc:
            raise self._unindexed(enterprise_id) or exc from None

    def buyers_for(
        self,
        enterprise_id: str,
        offer_id: str | None,
        *,
        k: int,
        weights: str | None,
        filters: MatchFilters | None = None,
        sync: bool = True,
    ) -> MatchResult:
        """Ranked likely buyers (``sync`` as in :meth:`suppliers_for`)."""
        profile = self.resolve_weights(weights)
        if sync:
            self.sync()
        try:
            return self._engine().buyers_for(enterprise_id, offer_id, k=k, weights=profile, filters=filters)
        except NotFoundError as exc:
            raise self._unindexed(enterprise_id) or exc from None

    def _unindexed(self, enterprise_id: str) -> UnavailableError | None:
        """When the index lacks an enterprise (or its offer or need) that the store holds in a newer revision,
        this worker has not applied that write yet: a 503 to retry, not a 404 (only read on that path)."""
        stored = self.repository.get(enterprise_id)
        if stored is None or stored.seq <= self.index.state.applied.get(enterprise_id, 0):
            return None
        return UnavailableError(
            f"enterprise {enterprise_id!r} is stored but this worker's index has not applied its latest revision "
            "yet (索引尚未同步该企业的最新版本), retry shortly"
        )

    def match(
        self,
        query: Need | Offer,
        *,
        region_code: str | None,
        certifications: Iterable[str] | None,
        k: int,
        weights: str | None,
        filters: MatchFilters | None = None,
        sync: bool = True,
    ) -> MatchResult:
        """An ad-hoc query (``sync`` as in :meth:`suppliers_for`)."""
        profile = self.resolve_weights(weights)
        if region_code is not None:
            region = self.regions.get(region_code)
            if region is None:
                raise InvalidInputError(
                    "unknown region code",
                    [FieldError("region_code", f"unknown GB/T 2260 county code {region_code!r}")],
                )
            region_code = region.code  # a superseded code counts as its successor (same county)
        if sync:
            self.sync()
        return self._engine().match(
            query,
            region_code=region_code,
            certifications=list(certifications or []),
            k=k,
            weights=profile,
            filters=filters,
        )

    def readiness(self) -> dict[str, Any]:
        """Checks for ``/readyz``; raises when the database is down.

        ``store_seq`` is the store's last change, ``index_seq`` the last one this worker's index applied, and
        ``lag`` their difference (while building, the whole store). ``ready`` is false while the index is
        not built or trails by more than ``ready_max_lag`` changes. ``index_source`` says whether the index
        was ``built`` or loaded from a ``snapshot``; ``snapshot_seq`` is the seq of the snapshot it was
        loaded from or last saved to (``None`` without one).
        """
        store_seq = self.repository.max_seq()
        index_seq = self.index_seq if self.index_ready else 0
        lag = max(0, store_seq - index_seq)
        index = self.index
        if self.index_ready:
            state = "ok"
        elif index.build_error:
            state = "failed"
        else:  # "rebuilding": an index write failed and the engine is rebuilt from the store
            state = "rebuilding" if index.write_error else "building"
        return {
            "ready": self.index_ready and lag <= self.settings.ready_max_lag,
            "database": "ok",
            "index": state,
            "store_seq": store_seq,
            "index_seq": index_seq,
            "lag": lag,
            "max_lag": self.settings.ready_max_lag,
            "enterprises": self.index_size(),
            "index_source": self.index.source if self.index_ready else None,
            "snapshot_seq": self.index.snapshot_seq if self.index_ready else None,
        }


def _describe(exc: InvalidInputError) -> str:
    return "; ".join(f"{e.loc}: {e.msg}" for e in exc.errors) or str(exc)


def describe_row_errors(errors: Sequence[RowError]) -> str:
    return "; ".join(f"{e.field}: {e.reason}" for e in errors)


def default_settings(data_dir: Path | None = None, database_url: str | None = None) -> Settings:
    """Settings from the environment with optional overrides (for commands)."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    return Settings(**overrides)
