"""The engine of one process kept in step with the store's change log.

Writes go to the store first, then straight into this process's engine. Other processes see them through
the change log: :meth:`IndexSync.sync` applies every change with a higher sequence number than the last one
seen (a background task calls it every 0.5 s, and matching calls it lazily), as one batch. Each enterprise
remembers the sequence of the version the engine holds, so a stale version never overwrites a newer one.
Snapshots (loading, saving, refreshing, handing a bulk write over) are :mod:`matching.snapshot_sync`'s part.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from matching.chains import ChainGraph
from matching.collector import collector_paused
from matching.corpus import PagedChunks
from matching.errors import NotFoundError
from matching.index_snapshot import SyncSnapshot
from matching.params import DEFAULT_PARAMS
from matching.profiles import Enterprise
from matching.regions import RegionRegistry
from matching.snapshot_sync import SnapshotPolicy, SnapshotSync, SyncState
from matching.store import EnterpriseRepository
from matching.store.repository import Change

if TYPE_CHECKING:
    from matching.engine import MatchEngine
    from matching.item_work import StartedWork

log = logging.getLogger("chainmatch.service")
MAX_SYNC_BATCH = 200_000  # changes applied per engine batch; bounds the memory of one catch-up
BUILD_PAGE = 20_000  # profiles read from the store per build chunk
PAUSE_COLLECTOR_MIN = 1_000
"""An index batch at least this large runs with the cyclic collector paused (and its objects frozen with
``gc_freeze``); single writes do not, so the garbage cycles of requests are never frozen."""


class IndexSync(SnapshotSync):
    """Builds the engine from the store (or loads a snapshot) and applies the change log to it; answers which
    chains a firm is on."""

    def __init__(self, repository: EnterpriseRepository, graph: ChainGraph, regions: RegionRegistry,
                 policy: Any, sync_interval_s: float, snapshots: SnapshotPolicy | None = None) -> None:
        self.repository = repository
        self.graph = graph
        self.regions = regions
        self.policy = policy
        self.sync_interval_s = sync_interval_s
        self.snapshots = snapshots
        self.processes = 1  # see matching.item_work
        self.gc_freeze = False  # freeze what a build or a batch write allocated (see matching.collector)
        self.engine: MatchEngine | None = None
        self.ready = False  # the engine has caught up with the change log once (matching may use it)
        self.lock = threading.RLock()  # guards the bookkeeping below; matching reads never take it
        self._sync_lock = threading.Lock()
        self.state = SyncState()
        self.chains_of: dict[str, frozenset[str]] = {}
        self.build_error: str | None = None
        self.write_error: str | None = None  # the last index write that failed (a rebuild followed)
        self.source: str | None = None  # "built" or "snapshot"
        self.snapshot_seq: int | None = None  # seq of the snapshot last loaded or saved
        self._snapshot_at = time.monotonic()
        self._saver: threading.Thread | None = None
        self._builder: threading.Thread | None = None

    def start_build(self) -> threading.Thread:
        """Load or build the engine in a background thread (the server answers ``/healthz`` meanwhile)."""
        self.build_error = None
        self._builder = threading.Thread(target=self._start_logged, name="chainmatch-index-build", daemon=True)
        self._builder.start()
        return self._builder

    def _start_logged(self) -> None:
        try:
            self.start()
        except Exception as exc:  # reported by readiness; the process stays up for /healthz and logs
            log.exception("index build failed")
            self.build_error = type(exc).__name__

    @property
    def building(self) -> bool:
        return self._builder is not None and self._builder.is_alive()

    def start(self) -> None:
        """Load the published snapshot if it fits this store, else build from the store and save one; then
        apply the change log since and mark the index ready.

        One process builds at a time (a file lock): a worker that waited for another one's build loads the
        snapshot it saved, and the workers then share the mapped pages."""
        policy = self.snapshots
        if policy is None:
            self.build()
            return
        loaded, seen = self._load_snapshot(policy.store, None)
        if loaded is None:
            with policy.store.lock():
                loaded, _ = self._load_snapshot(policy.store, seen)  # another worker may just have saved one
                if loaded is None:
                    engine, state, chains_of = self._build_engine()
                    name = self._save(policy.store, engine, SyncSnapshot(state.seq, state.applied, chains_of))
            if loaded is None:
                self._install(engine, state, chains_of, "built", None if name is None else state.seq)
                return
        state = SyncState(seq=loaded.state.seq, checked_at=time.monotonic(), applied=loaded.state.applied)
        self._install(loaded.engine, state, loaded.state.chains_of, "snapshot", loaded.state.seq)

    def build(self) -> None:
        """(Re)build the engine from everything stored (no snapshot read or written)."""
        engine, state, chains_of = self._build_engine()
        self._install(engine, state, chains_of, "built", None)

    def _build_engine(self, on_page: Callable[[str, int], None] | None = None
                      ) -> tuple[MatchEngine, SyncState, dict[str, frozenset[str]]]:
        """Build from one consistent view of the store, a page at a time (never every profile at once).

        The view's ``seq`` is recorded: changes committed during the build have higher numbers, and the
        change-log catch-up applies them."""
        from matching.engine import MatchEngine
        from matching.item_index import ItemIndex
        from matching.relation_matrix import RelationMatrix

        started = time.perf_counter()
        with self.repository.reader() as view:
            corpus = PagedChunks(lambda: view.pages(BUILD_PAGE), on_page)
            index = ItemIndex(RelationMatrix(self.graph, DEFAULT_PARAMS), self.regions, self.policy, DEFAULT_PARAMS)
            index.processes = self.processes
            interned: dict[frozenset[str], frozenset[str]] = {}
            chains_of: dict[str, frozenset[str]] = {}

            def chains(linked: dict[str, frozenset[str]]) -> None:  # from the links the build just made
                for eid, nodes in linked.items():
                    found = self._chains_of_nodes(nodes)
                    chains_of[eid] = interned.setdefault(found, found)

            with collector_paused(freeze=self.gc_freeze):  # a build allocates the whole index
                index.fit(corpus, chains)
            seq = view.seq
        engine = MatchEngine(index)
        log.info("index built", extra={"enterprises": len(corpus.seqs), "seq": seq,
                                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return engine, SyncState(seq=seq, checked_at=time.monotonic(), applied=corpus.seqs), chains_of

    def _install(self, engine: MatchEngine, state: SyncState, chains_of: dict[str, frozenset[str]],
                 source: str, snapshot_seq: int | None) -> None:
        """Swap in an engine, apply the change log since its seq, then report ready.

        The sync lock is held from the swap to the end of the catch-up: a catch-up already running on the
        engine being replaced finishes first and cannot move the new state's seq."""
        engine.index.processes = self.processes
        with self._sync_lock:
            with self.lock:
                self.ready = False
                self.engine = engine
                self.state = state
                self.chains_of = chains_of
                self.source = source
                self.snapshot_seq = snapshot_seq
                self._snapshot_at = time.monotonic()
                self.write_error = None
            self._catch_up()
        if self.write_error is not None:  # the catch-up's write failed: this build cannot be trusted either
            raise RuntimeError(f"index write failed while catching up ({self.write_error})")
        self.ready = True

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
            applied = self._catch_up()
        finally:
            self._sync_lock.release()
        self._maybe_refresh()
        return applied

    def _catch_up(self, *, adopt: bool = True) -> int:
        """The body of :meth:`sync` (the caller holds the sync lock).

        A large batch written by another process without a handoff (a CLI import, or an import taken by a
        worker whose index was not ready) is applied by one worker only: the first to take the snapshot lock
        applies it and publishes a snapshot before releasing the lock; the others wait for that lock in
        :meth:`_handoff` and load the snapshot instead of linking the same items again."""
        checked = time.monotonic()
        applied = 0
        while True:
            changes = self._pending_changes()
            if not changes:
                break
            with contextlib.ExitStack() as handoff:
                policy = self._handoff(changes, handoff) if adopt else False
                if policy is True:
                    continue
                if not self._apply_changes(changes):
                    break  # a rebuild replaces this engine and its seq: never advance past what was not applied
                applied += len(changes)
                self.state.seq = changes[-1].seq
                if isinstance(policy, SnapshotPolicy):
                    self._save_locked(policy, 1)
        self.state.checked_at = checked
        return applied

    def _pending_changes(self) -> list[Change]:
        changes: list[Change] = []
        page = self.repository.changes_since(self.state.seq)
        while page:
            changes.extend(page)
            if len(changes) >= MAX_SYNC_BATCH:
                break
            page = self.repository.changes_since(page[-1].seq)
        return changes

    def _apply_changes(self, changes: list[Change]) -> bool:
        latest = {c.enterprise_id: c.seq for c in changes}
        # this worker's own writes are already applied: only fetch what the index has not seen
        ids = [eid for eid, seq in latest.items() if seq > self.state.applied.get(eid, 0)]
        if not ids:
            return True
        current = self.repository.get_many(ids)
        updates = [(eid, current[eid].enterprise, current[eid].seq) for eid in ids if eid in current]
        deletes = [(eid, latest[eid]) for eid in ids if eid not in current]
        return self.apply_many(updates, deletes)

    @contextlib.contextmanager
    def items_started(self, enterprises: Sequence[Enterprise]) -> Iterator[StartedWork | None]:
        """Around a bulk write of ``enterprises``: their offers and needs are linked and vectorised in forked
        processes meanwhile (:meth:`ItemIndex.start_items`); pass the yielded work to :meth:`apply_many`.
        Yields ``None`` (nothing started) before the engine is ready or for a batch too small to fork for."""
        engine = self.engine
        started = engine.index.start_items(enterprises) if engine is not None and self.ready else None
        try:
            yield started
        finally:
            if started is not None:
                started.close()

    def apply_many(self, updates: list[tuple[str, Enterprise, int]], deletes: list[tuple[str, int]],
                   started: StartedWork | None = None) -> bool:  # fmt: skip
        """Apply store versions newer than the index's as one batch (a bulk import is one index write);
        ``started`` is their item work begun by :meth:`items_started`. Returns ``False`` when the write
        failed: the index is then marked not ready and rebuilt (:meth:`_rebuild_after`).

        Before the engine is built this does nothing: the build started from an earlier change sequence, so
        the change-log poll applies these writes once it has finished.
        """
        if self.engine is None:
            return True
        with self.lock:
            engine = self.engine
            if engine is None:
                return True
            fresh = [(eid, e, seq) for eid, e, seq in updates if seq > self.state.applied.get(eid, 0)]
            gone = [(eid, seq) for eid, seq in deletes if seq > self.state.applied.get(eid, 0)]
            big = len(fresh) + len(gone) >= PAUSE_COLLECTOR_MIN  # e.g. another worker's bulk import
            try:
                with collector_paused(freeze=self.gc_freeze) if big else contextlib.nullcontext():
                    for eid, _ in gone:
                        if engine.get(eid) is not None:
                            engine.remove(eid)
                        self.chains_of.pop(eid, None)
                    if fresh:  # the chains come from the links just made: linking again could miss the cache
                        linked = engine.upsert_many([e for _, e, _ in fresh], started)
                        for eid, _, _ in fresh:
                            self.chains_of[eid] = self._chains_of_nodes(linked[eid])
            except Exception as exc:
                log.exception("index update failed; rebuilding the index from the store",
                              extra={"enterprises": len(fresh) + len(gone)})  # fmt: skip
                self._rebuild_after(exc)
                return False
            for eid, _, seq in fresh:
                self.state.applied[eid] = seq
            for eid, seq in gone:
                self.state.applied[eid] = seq
        return True

    def _rebuild_after(self, exc: Exception) -> None:
        """A failed index write may have left the engine half-updated, and the store already holds the write:
        stop answering from this engine (not ready) and rebuild it from the store (or the snapshot plus the
        change log) in the background. A failure that repeats in the build is reported as ``failed``."""
        self.ready = False
        self.write_error = type(exc).__name__
        if not self.building:
            self.start_build()

    def chains_for(self, enterprise_id: str) -> frozenset[str]:
        """Chains whose nodes (or their categories) the indexed offers and needs of an enterprise link to."""
        engine = self.engine
        return frozenset() if engine is None else self._chains_in(engine, enterprise_id)

    def _chains_in(self, engine: MatchEngine, enterprise_id: str) -> frozenset[str]:
        try:
            nodes = engine.linked_nodes(enterprise_id)
        except NotFoundError:
            return frozenset()
        return self._chains_of_nodes(nodes)

    def _chains_of_nodes(self, nodes: frozenset[str]) -> frozenset[str]:
        chains: set[str] = set()
        for node_id in nodes:
            for nid in (node_id, *self.graph.ancestors(node_id)):
                chains.update(self.graph.node_chains.get(nid, ()))
        return frozenset(chains)

    def enterprises_on(self, chain: str) -> set[str]:
        with self.lock:
            return {eid for eid, chains in self.chains_of.items() if chain in chains}
