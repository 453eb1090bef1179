"""The snapshot side of :class:`matching.index_sync.IndexSync`: loading and saving the index, refreshing the
saved one as changes pile up, and handing a bulk write over to other workers as a snapshot.

A snapshot is the engine plus the bookkeeping that says which store changes it holds (:class:`SyncSnapshot`),
so a worker that loads one applies only the change log after it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from matching.chains import ChainGraph
from matching.forked_save import FORK_AVAILABLE, CannotForkError, ForkedSaveError, save_forked
from matching.index_snapshot import LoadedSnapshot, SnapshotMismatchError, SnapshotStore, SyncSnapshot
from matching.regions import RegionRegistry
from matching.store import EnterpriseRepository
from matching.store.repository import Change

if TYPE_CHECKING:
    from matching.engine import MatchEngine

log = logging.getLogger("chainmatch.service")
HANDOFF_MIN = 20_000  # a bulk write at least this large reaches other workers as a snapshot (see bulk_write)
FORKED_SAVE_GRACE_S = 300.0  # a forked save running longer than this plus the next per firm is taken as hung
FORKED_SAVE_S_PER_FIRM = 0.001


@dataclass
class SnapshotPolicy:
    """Where snapshots live and when a running service refreshes its own (see :meth:`SnapshotSync.save_snapshot`)."""

    store: SnapshotStore
    refresh_changes: int
    refresh_interval_s: float
    fork: bool = True  # save a running service's index from a forked copy (see _save_live)


@dataclass
class SyncState:
    """Index bookkeeping: last change sequence applied and when the log was last checked."""

    seq: int = 0
    checked_at: float = 0.0
    applied: dict[str, int] = field(default_factory=dict)


class SnapshotSync:
    """Snapshot methods of :class:`~matching.index_sync.IndexSync` (its state is declared here; it sets it)."""

    repository: EnterpriseRepository
    graph: ChainGraph
    regions: RegionRegistry
    policy: Any
    snapshots: SnapshotPolicy | None
    processes: int
    engine: MatchEngine | None
    ready: bool
    lock: threading.RLock
    _sync_lock: threading.Lock
    state: SyncState
    chains_of: dict[str, frozenset[str]]
    source: str | None
    snapshot_seq: int | None
    _snapshot_at: float
    _saver: threading.Thread | None

    def _build_engine(self, on_page: Callable[[str, int], None] | None = None
                      ) -> tuple[MatchEngine, SyncState, dict[str, frozenset[str]]]:
        raise NotImplementedError

    def _install(self, engine: MatchEngine, state: SyncState, chains_of: dict[str, frozenset[str]],
                 source: str, snapshot_seq: int | None) -> None:
        raise NotImplementedError

    def _catch_up(self, *, adopt: bool = True) -> int:
        raise NotImplementedError

    def sync(self, *, force: bool = False) -> int:
        raise NotImplementedError

    def _load_snapshot(self, store: SnapshotStore, skip: str | None) -> tuple[LoadedSnapshot | None, str | None]:
        """The published snapshot, unless absent, named ``skip`` (already tried) or unfit (logged once)."""
        name = store.current()
        if name is None or name == skip:
            return None, name
        started = time.perf_counter()
        store_seq = self.repository.max_seq()  # a database error is the build's to report, not the snapshot's
        try:
            loaded = store.load(self.graph, self.regions, self.policy, store_seq, name)
        except SnapshotMismatchError as exc:
            log.info("index snapshot not used: %s; rebuilding", exc, extra={"snapshot": name})
            return None, name
        except Exception as exc:  # damaged: never fatal, the store is the truth
            log.warning("index snapshot unreadable (%s: %s); rebuilding", type(exc).__name__, exc,
                        extra={"snapshot": name})
            return None, name
        log.info("index snapshot loaded", extra={"snapshot": name, "seq": loaded.state.seq,
                                                 "enterprises": len(loaded.engine),
                                                 "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return loaded, name

    def _save(self, store: SnapshotStore, engine: MatchEngine, state: SyncSnapshot) -> str | None:
        """Save a snapshot (the caller holds the store lock and keeps ``engine`` still); a failure is logged
        and the service goes on without one."""
        started = time.perf_counter()
        try:
            name = store.save(engine, state)
        except Exception as exc:
            log.warning("index snapshot not saved (%s: %s)", type(exc).__name__, exc)
            return None
        log.info("index snapshot saved", extra={"snapshot": name, "seq": state.seq, "enterprises": len(engine),
                                                "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return name

    def build_snapshot(self, on_page: Callable[[str, int], None] | None = None) -> tuple[str | None, int, int]:
        """Build from the store and save a snapshot, offline (``chainmatch index build``); the engine is kept.

        Returns the snapshot's name (``None`` if saving failed), its seq and its enterprise count."""
        policy = self.snapshots
        if policy is None:
            raise ValueError("index snapshots are disabled (CHAINMATCH_INDEX_SNAPSHOT=false)")
        with policy.store.lock():
            engine, state, chains_of = self._build_engine(on_page)
            name = self._save(policy.store, engine, SyncSnapshot(state.seq, state.applied, chains_of))
        self._install(engine, state, chains_of, "built", None if name is None else state.seq)
        return name, state.seq, len(engine)

    def save_snapshot(self, *, min_changes: int = 1, wait: bool = False) -> bool:
        """Save the live index if it is at least ``min_changes`` changes ahead of the published snapshot.

        The save runs in a forked copy of this process (``policy.fork``): writes to this worker's index wait
        only for the fork (the engine, ``applied`` and ``seq`` must agree at that instant). Without ``wait``, a
        save by another process makes this one skip. Returns whether it saved."""
        policy = self.snapshots
        if policy is None or not self.ready or self.engine is None:
            return False
        with policy.store.lock(blocking=wait) as locked:
            return locked and self._save_locked(policy, min_changes)

    def _save_locked(self, policy: SnapshotPolicy, min_changes: int) -> bool:
        if not self.ready:  # building, or rebuilding after a failed write: the engine may be half-written
            return False
        on_disk = policy.store.current_seq()
        if on_disk is not None and self.state.seq - on_disk < min_changes:
            self.snapshot_seq = max(self.snapshot_seq or 0, on_disk)
            self._snapshot_at = time.monotonic()
            return False
        seq = self._save_live(policy)
        self._snapshot_at = time.monotonic()
        if seq is not None:
            self.snapshot_seq = seq
        return seq is not None

    def _save_live(self, policy: SnapshotPolicy) -> int | None:
        """Save the live engine (the caller holds the snapshot lock); returns the saved seq, ``None`` when
        saving failed (logged). Forked (:mod:`matching.forked_save`), writes wait only for the fork."""
        engine = self.engine
        if engine is None:
            return None
        if policy.fork and FORK_AVAILABLE:
            try:
                return self._save_forked(policy, engine)
            except CannotForkError as exc:
                log.warning("index snapshot: cannot fork (%s); saving in process, index writes wait", exc)
        with self.lock:  # the engine cannot change during the save: writes wait
            engine = self.engine
            if engine is None:
                return None
            state = SyncSnapshot(self.state.seq, dict(self.state.applied), dict(self.chains_of))
            name = self._save(policy.store, engine, state)
        return None if name is None else state.seq

    def _save_forked(self, policy: SnapshotPolicy, engine: MatchEngine) -> int | None:
        """:meth:`_save_live` in a forked child; raises :class:`CannotForkError` when there is no child."""
        frozen: list[int] = []

        @contextlib.contextmanager
        def writes_held() -> Iterator[None]:
            with self.lock:
                frozen.append(self.state.seq)
                yield

        def save() -> str:  # in the child: the engine and bookkeeping as they were at the fork
            if not self.ready or self.engine is None:  # a write failed just before the fork
                raise RuntimeError("the index is being rebuilt")
            return policy.store.save(self.engine, SyncSnapshot(self.state.seq, self.state.applied, self.chains_of))

        def after_fork() -> None:
            assert self.engine is not None
            self.engine.after_fork()

        started = time.perf_counter()
        try:
            deadline = FORKED_SAVE_GRACE_S + len(engine) * FORKED_SAVE_S_PER_FIRM
            done = save_forked(save, writes_held(), after_fork, deadline)
        except ForkedSaveError as exc:
            log.warning("index snapshot not saved (%s)", exc)
            return None
        log.info("index snapshot saved", extra={
            "snapshot": done.name, "seq": frozen[0], "enterprises": len(engine), "forked": True,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1), "pause_ms": done.pause_ms,
            "child_max_rss_mb": done.child_max_rss_mb})  # fmt: skip
        return frozen[0]

    @contextlib.contextmanager
    def bulk_write(self, size: int) -> Iterator[Callable[[], None]]:
        """Around this process's bulk write of ``size`` profiles (store, then :meth:`apply_many`).

        The change-log poll waits meanwhile (it would fetch the very profiles being applied). For at least
        :data:`HANDOFF_MIN` profiles, with snapshots on, the snapshot lock is taken before the store write and
        the yielded ``publish()`` (called once the index holds the write) saves a snapshot in the background
        and only then releases the lock: another worker that finds the write in the change log waits for that
        lock and loads the snapshot (:meth:`_handoff`) instead of linking and vectorising the same
        profiles again. When the lock is busy (another process builds or saves), the write goes ahead without
        a handover."""
        policy = self.snapshots if size >= HANDOFF_MIN and self.ready else None
        # the sync lock before the snapshot lock, as in the change-log catch-up (which waits for the latter)
        with self._sync_lock, contextlib.ExitStack() as stack:
            locked = policy is not None and stack.enter_context(policy.store.lock(blocking=False))

            def publish() -> None:
                if policy is None or not locked or not self.ready:  # a failed index write is never published
                    return
                self._catch_up(adopt=False)  # this process holds the snapshot lock: never wait for it
                held = stack.pop_all()  # the lock now belongs to the saver: the import need not wait for it
                self._saver = threading.Thread(target=self._save_and_release, args=(policy, held),
                                               name="chainmatch-index-handoff", daemon=True)  # fmt: skip
                self._saver.start()

            yield publish
        self.sync(force=True)

    def _save_and_release(self, policy: SnapshotPolicy, held: contextlib.ExitStack) -> None:
        with held:
            self._save_locked(policy, 1)

    def _handoff(self, changes: list[Change], handoff: contextlib.ExitStack) -> SnapshotPolicy | bool:
        """Who applies a batch of at least :data:`HANDOFF_MIN` changes this index has not applied (another
        process's bulk write). Waits for the snapshot lock (an importing or building worker holds it until its
        snapshot is saved), then, under that one lock: ``True`` when a published snapshot covering the batch
        replaced the engine; the policy, with the lock kept on ``handoff``, when this worker is to apply the
        batch and publish it for the others; ``False`` to apply it without a handoff. Checking and applying
        under one lock means two workers polling together never both apply the batch."""
        policy = self.snapshots
        if policy is None or self.engine is None:
            return False
        new = [c.seq for c in changes if c.seq > self.state.applied.get(c.enterprise_id, 0)]
        if len(new) < HANDOFF_MIN:
            return False
        with contextlib.ExitStack() as held:
            held.enter_context(policy.store.lock())
            on_disk = policy.store.current_seq()
            if on_disk is not None and on_disk >= new[HANDOFF_MIN - 1]:
                loaded, _ = self._load_snapshot(policy.store, None)
                if loaded is not None:
                    self._adopt(loaded, len(new))
                    return True
            if not self.ready:
                return False
            handoff.enter_context(held.pop_all())
            return policy

    def _adopt(self, loaded: LoadedSnapshot, changes: int) -> None:
        """Swap in a published snapshot's engine in place of applying ``changes`` changes."""
        with self.lock:
            self.engine = loaded.engine
            loaded.engine.index.processes = self.processes
            self.state = SyncState(seq=loaded.state.seq, checked_at=time.monotonic(), applied=loaded.state.applied)
            self.chains_of = loaded.state.chains_of
            self.source = "snapshot"
            self.snapshot_seq = loaded.state.seq
            self._snapshot_at = time.monotonic()
        log.info("index replaced by a published snapshot instead of applying %d changes", changes,
                 extra={"snapshot": loaded.name, "seq": loaded.state.seq})  # fmt: skip

    def _maybe_refresh(self) -> None:
        """Refresh the snapshot in the background once the index is ``refresh_changes`` changes past it and
        ``refresh_interval_s`` has passed since the last save or check."""
        policy = self.snapshots
        if policy is None or not self.ready or policy.refresh_changes <= 0:
            return
        if self.state.seq - (self.snapshot_seq or 0) < policy.refresh_changes:
            return
        if time.monotonic() - self._snapshot_at < policy.refresh_interval_s:
            return
        if self._saver is not None and self._saver.is_alive():
            return
        self._snapshot_at = time.monotonic()
        self._saver = threading.Thread(target=self.save_snapshot, kwargs={"min_changes": policy.refresh_changes},
                                       name="chainmatch-index-snapshot", daemon=True)
        self._saver.start()
