"""The engine of one process kept in step with the store's change log.

Writes go to the store first, then straight into this process's engine. Other processes see them through
the change log: :meth:`IndexSync.sync` applies every change with a higher sequence number than the last one
seen (a background task calls it every 0.5 s, and matching calls it lazily), as one batch. Each enterprise
remembers the sequence of the version the engine holds, so a stale version never overwrites a newer one.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from matching.chains import ChainGraph
from matching.errors import NotFoundError
from matching.profiles import Enterprise
from matching.regions import RegionRegistry
from matching.store import EnterpriseRepository
from matching.store.repository import Change

if TYPE_CHECKING:
    from matching.engine import MatchEngine

log = logging.getLogger("chainmatch.service")
MAX_SYNC_BATCH = 200_000  # changes applied per engine batch; bounds the memory of one catch-up


@dataclass
class SyncState:
    """Index bookkeeping: last change sequence applied and when the log was last checked."""

    seq: int = 0
    checked_at: float = 0.0
    applied: dict[str, int] = field(default_factory=dict)


class IndexSync:
    """Builds the engine from the store and applies the change log to it; answers which chains a firm is on."""

    def __init__(self, repository: EnterpriseRepository, graph: ChainGraph, regions: RegionRegistry,
                 policy: Any, sync_interval_s: float) -> None:
        self.repository = repository
        self.graph = graph
        self.regions = regions
        self.policy = policy
        self.sync_interval_s = sync_interval_s
        self.engine: MatchEngine | None = None
        self.lock = threading.RLock()  # guards the bookkeeping below; matching reads never take it
        self._sync_lock = threading.Lock()
        self.state = SyncState()
        self.chains_of: dict[str, frozenset[str]] = {}
        self.build_error: str | None = None
        self._builder: threading.Thread | None = None

    def start_build(self) -> threading.Thread:
        """Build the engine in a background thread (the server answers ``/healthz`` meanwhile)."""
        self.build_error = None
        self._builder = threading.Thread(target=self._build_logged, name="chainmatch-index-build", daemon=True)
        self._builder.start()
        return self._builder

    def _build_logged(self) -> None:
        try:
            self.build()
        except Exception as exc:  # reported by readiness; the process stays up for /healthz and logs
            log.exception("index build failed")
            self.build_error = type(exc).__name__

    @property
    def building(self) -> bool:
        return self._builder is not None and self._builder.is_alive()

    def build(self) -> None:
        """(Re)build the engine from everything stored."""
        from matching.engine import MatchEngine

        started = time.perf_counter()
        seq = self.repository.max_seq()
        stored = self.repository.all_stored()
        engine = MatchEngine.build(self.graph, self.regions, self.policy, [s.enterprise for s in stored])
        with self.lock:
            self.engine = engine
            self.state = SyncState(
                seq=seq, checked_at=time.monotonic(), applied={s.enterprise.id: s.seq for s in stored}
            )
            self.chains_of = {s.enterprise.id: self.chains_for(s.enterprise.id) for s in stored}
        log.info("index built", extra={"enterprises": len(stored), "seq": seq,
                                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)})

    def size(self) -> int:
        engine = self.engine
        return 0 if engine is None else len(engine)

    def sync(self, *, force: bool = False) -> int:
        """Apply changes other processes wrote; returns how many entries were applied.

        Without ``force`` this is a no-op when the log was checked less than ``sync_interval_s`` ago.
        Pending changes are read in full (up to :data:`MAX_SYNC_BATCH`) and applied as one engine batch, so
        another worker's bulk import reaches this index as one ``upsert_many``, not one per log page.
        """
        if self.engine is None:
            return 0
        if not force and time.monotonic() - self.state.checked_at < self.sync_interval_s:
            return 0
        if not self._sync_lock.acquire(blocking=force):
            return 0
        try:
            checked = time.monotonic()
            applied = 0
            while True:
                changes = self._pending_changes()
                if not changes:
                    break
                applied += len(changes)
                self._apply_changes(changes)
                self.state.seq = changes[-1].seq
            self.state.checked_at = checked
            return applied
        finally:
            self._sync_lock.release()

    def _pending_changes(self) -> list[Change]:
        changes: list[Change] = []
        page = self.repository.changes_since(self.state.seq)
        while page:
            changes.extend(page)
            if len(changes) >= MAX_SYNC_BATCH:
                break
            page = self.repository.changes_since(page[-1].seq)
        return changes

    def _apply_changes(self, changes: list[Change]) -> None:
        latest = {c.enterprise_id: c.seq for c in changes}
        # this worker's own writes are already applied: only fetch what the index has not seen
        ids = [eid for eid, seq in latest.items() if seq > self.state.applied.get(eid, 0)]
        if not ids:
            return
        current = self.repository.get_many(ids)
        updates = [(eid, current[eid].enterprise, current[eid].seq) for eid in ids if eid in current]
        deletes = [(eid, latest[eid]) for eid in ids if eid not in current]
        self.apply_many(updates, deletes)

    def apply_many(self, updates: list[tuple[str, Enterprise, int]], deletes: list[tuple[str, int]]) -> None:
        """Apply store versions newer than the index's as one batch (a bulk import is one index write).

        Before the engine is built this does nothing: the build started from an earlier change sequence, so
        the change-log poll applies these writes once it has finished.
        """
        if self.engine is None:
            return
        with self.lock:
            engine = self.engine
            if engine is None:
                return
            fresh = [(eid, e, seq) for eid, e, seq in updates if seq > self.state.applied.get(eid, 0)]
            gone = [(eid, seq) for eid, seq in deletes if seq > self.state.applied.get(eid, 0)]
            try:
                for eid, _ in gone:
                    if engine.get(eid) is not None:
                        engine.remove(eid)
                    self.chains_of.pop(eid, None)
                if fresh:
                    engine.upsert_many([e for _, e, _ in fresh])
                    for eid, _, _ in fresh:
                        self.chains_of[eid] = self.chains_for(eid)
            except Exception:
                log.exception("index update failed", extra={"enterprises": len(fresh) + len(gone)})
                return
            for eid, _, seq in fresh:
                self.state.applied[eid] = seq
            for eid, seq in gone:
                self.state.applied[eid] = seq

    def chains_for(self, enterprise_id: str) -> frozenset[str]:
        """Chains whose nodes (or their categories) the indexed offers and needs of an enterprise link to."""
        engine = self.engine
        if engine is None:
            return frozenset()
        try:
            nodes = engine.linked_nodes(enterprise_id)
        except NotFoundError:
            return frozenset()
        chains: set[str] = set()
        for node_id in nodes:
            for nid in (node_id, *self.graph.ancestors(node_id)):
                chains.update(self.graph.node_chains.get(nid, ()))
        return frozenset(chains)

    def enterprises_on(self, chain: str) -> set[str]:
        with self.lock:
            return {eid for eid, chains in self.chains_of.items() if chain in chains}
