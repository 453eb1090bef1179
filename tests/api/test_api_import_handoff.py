"""A large import reaches the other workers as an index snapshot; a small one through the change log."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from matching import snapshot_sync
from matching.index_snapshot import SnapshotStore
from matching.service import ChainmatchService
from matching.settings import Settings
from tests.api.api_helpers import enterprise

PRODUCTS = ("己二酸", "硫酸锰", "磷酸锰铁锂", "氨纶", "聚四氢呋喃")


def _jsonl(prefix: str, n: int) -> bytes:
    rows = [{"id": f"{prefix}-{i}", **enterprise(offers=[{"id": "o1", "product": PRODUCTS[i % 5]}],
                                                 needs=[{"id": "n1", "product": PRODUCTS[(i + 2) % 5]}])}
            for i in range(n)]  # fmt: skip
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()


@pytest.fixture
def two_workers(make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[tuple[ChainmatchService, ChainmatchService]]:  # fmt: skip
    monkeypatch.setattr(snapshot_sync, "HANDOFF_MIN", 6)
    services = []
    for _ in range(2):
        service = ChainmatchService.open(make_settings(), build_index=False)
        service.index.start()  # as a worker starts: from the snapshot if one fits, else build and save one
        services.append(service)
    yield services[0], services[1]
    for service in services:
        service.close()


def _suppliers(service: ChainmatchService, firm: str) -> object:
    engine = service.engine
    assert engine is not None
    return engine.suppliers_for(firm, "n1", k=20).model_dump()


def test_large_import_is_handed_over_as_a_snapshot(two_workers: tuple[ChainmatchService, ChainmatchService]) -> None:
    importer, other = two_workers
    before = other.index.engine
    outcome = importer.import_bytes(_jsonl("big", 8), filename="firms.jsonl")
    assert len(outcome.created) == 8
    store_seq = importer.repository.max_seq()
    other.sync(force=True)  # waits for the snapshot the importer saves in the background
    assert importer.index.snapshot_seq == store_seq  # saved once the importer's index held the import
    assert other.index.engine is not before and other.index.source == "snapshot"
    assert other.index_seq == store_seq and other.index_size() == importer.index_size()
    assert other.index.enterprises_on("t_lmfp") == importer.index.enterprises_on("t_lmfp") != set()
    assert _suppliers(other, "big-3") == _suppliers(importer, "big-3")
    assert "big-5" in {i["supplier"]["id"] for i in _suppliers(other, "big-3")["items"]}  # type: ignore[index]
    other.upsert(other.get("big-1").enterprise.model_copy(update={"name": "改名"}))  # still writable
    importer.sync(force=True)
    assert importer.engine is not None and importer.engine.get("big-1").name == "改名"  # type: ignore[union-attr]


def test_the_other_worker_waits_for_the_snapshot_of_an_import_in_progress(
        two_workers: tuple[ChainmatchService, ChainmatchService], monkeypatch: pytest.MonkeyPatch) -> None:
    importer, other = two_workers
    stored = threading.Event()
    release = threading.Event()
    apply_many = importer.index.apply_many

    def slow_apply(*args: object) -> None:  # the importer's index write starts only once the other polled
        stored.set()
        assert release.wait(10)
        apply_many(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(importer.index, "apply_many", slow_apply)
    job = threading.Thread(target=importer.import_bytes, args=(_jsonl("big", 8),), kwargs={"filename": "f.jsonl"})
    job.start()
    assert stored.wait(10)
    poll = threading.Thread(target=other.sync, kwargs={"force": True})
    poll.start()  # sees 8 new changes in the log and waits for the importer's snapshot lock
    poll.join(0.5)
    assert poll.is_alive()
    release.set()
    job.join(10)
    poll.join(10)
    assert other.index.source == "snapshot" and other.index_seq == importer.repository.max_seq()
    assert _suppliers(other, "big-3") == _suppliers(importer, "big-3")


def test_small_import_goes_through_the_change_log(two_workers: tuple[ChainmatchService, ChainmatchService]) -> None:
    importer, other = two_workers
    saved = importer.index.snapshot_seq
    before = other.index.engine
    importer.import_bytes(_jsonl("small", 5), filename="firms.jsonl")
    assert importer.index.snapshot_seq == saved
    other.sync(force=True)
    assert other.index.engine is before and other.index_seq == importer.repository.max_seq()
    assert _suppliers(other, "small-3") == _suppliers(importer, "small-3")
    for service in (importer, other):  # the chains of a firm come from the links its import made
        chains = {f"small-{i}": service.index.chains_for(f"small-{i}") for i in range(5)}
        assert chains == {eid: service.index.chains_of[eid] for eid in chains}
        assert {"t_lmfp", "t_polyamide"} <= set().union(*chains.values())


def test_a_failed_import_index_write_is_never_handed_over(
        two_workers: tuple[ChainmatchService, ChainmatchService]) -> None:
    """The importer's index write fails half-way: no snapshot of that engine is published for the other
    worker to adopt; the importer rebuilds, and both end up with every imported firm."""
    importer, other = two_workers
    published = importer.index.snapshots.store.current_seq()  # type: ignore[union-attr]
    engine = importer.index.engine
    assert engine is not None
    upsert_many = engine.upsert_many

    def half_then_fail(enterprises: list[object], started: object = None) -> object:
        engine.upsert_many = upsert_many  # type: ignore[method-assign]  # once: a retry on it would succeed
        upsert_many(enterprises[: len(enterprises) // 2], None)  # type: ignore[arg-type]
        raise MemoryError("injected")

    engine.upsert_many = half_then_fail  # type: ignore[method-assign]
    outcome = importer.import_bytes(_jsonl("big", 8), filename="firms.jsonl")
    assert len(outcome.created) == 8  # the store kept the import
    for thread in (importer.index._saver, importer.index._builder):  # a handover would be saved meanwhile
        if thread is not None:
            thread.join(60)
    assert importer.index.snapshots.store.current_seq() == published  # type: ignore[union-attr]
    builder = importer.index._builder
    assert builder is not None
    builder.join(60)
    assert importer.index_ready and importer.index.engine is not engine
    store_seq = importer.repository.max_seq()
    other.sync(force=True)
    for service in (importer, other):
        assert service.index_seq == store_seq and service.index_size() == other.index_size()
        assert "big-5" in {i["supplier"]["id"] for i in _suppliers(service, "big-3")["items"]}  # type: ignore[index]


@pytest.mark.parametrize(("together", "contended"), [(False, False), (True, False), (True, True)])
def test_a_large_batch_from_elsewhere_is_applied_by_one_worker_and_adopted_by_the_other(
        two_workers: tuple[ChainmatchService, ChainmatchService], make_settings: Callable[..., Settings],
        monkeypatch: pytest.MonkeyPatch, together: bool, contended: bool) -> None:  # fmt: skip
    """A CLI import (no index of its own) reaches the workers only through the change log: the first worker
    to take the snapshot lock applies it and publishes a snapshot, the other loads that snapshot.

    ``contended`` makes both workers want the lock at once: each holds it a while to look for a published
    snapshot, and a worker that lets it go pauses, so the waiting one takes it first. When the look and the
    apply were two lock takings, each worker then found the lock busy with the other's look, gave up the
    handoff, and both applied the batch."""
    if contended:
        current_seq, lock = SnapshotStore.current_seq, SnapshotStore.lock

        def slow_current_seq(store: SnapshotStore) -> int | None:
            time.sleep(0.3)
            return current_seq(store)

        @contextlib.contextmanager
        def yielding_lock(store: SnapshotStore, *, blocking: bool = True) -> Iterator[bool]:
            with lock(store, blocking=blocking) as taken:
                yield taken
            if blocking:
                time.sleep(0.1)

        monkeypatch.setattr(SnapshotStore, "current_seq", slow_current_seq)
        monkeypatch.setattr(SnapshotStore, "lock", yielding_lock)
    first, second = two_workers
    engines = {id(s): s.index.engine for s in two_workers}
    cli = ChainmatchService.open(make_settings(), build_index=False)
    try:
        assert len(cli.import_bytes(_jsonl("cli", 8), filename="firms.jsonl").created) == 8
        store_seq = cli.repository.max_seq()
    finally:
        cli.close()
    polls = [threading.Thread(target=s.sync, kwargs={"force": True}) for s in (first, second)]
    for poll in polls:
        poll.start()
        if not together:
            poll.join(30)
    for poll in polls:
        poll.join(30)
    replaced = [s for s in two_workers if s.index.engine is not engines[id(s)]]
    applied = [s for s in two_workers if s.index.engine is engines[id(s)]]
    assert len(replaced) == 1 and len(applied) == 1  # one linked the batch, the other loaded its snapshot
    assert applied[0].index.snapshot_seq == store_seq and replaced[0].index.source == "snapshot"
    for service in two_workers:
        assert service.index_seq == store_seq and service.index_size() == first.index_size()
    assert _suppliers(first, "cli-3") == _suppliers(second, "cli-3")
    assert "cli-5" in {i["supplier"]["id"] for i in _suppliers(second, "cli-3")["items"]}  # type: ignore[index]
