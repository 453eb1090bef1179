"""A running service saves its index snapshot from a forked copy of itself: writes and matching go on during
the save, the snapshot holds the index as it was when the save began, and a save that fails, dies or hangs is
reported and leaves the service serving and able to save again."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import matching.snapshot_sync as snapshot_sync
from matching.index_snapshot import SnapshotStore
from matching.service import ChainmatchService
from matching.settings import Settings
from tests.api.api_helpers import PORTAL, Captured, enterprise, running

ORIGINAL_SAVE = SnapshotStore.save
WAIT_S = 60.0


class GatedSave:
    """Replaces :meth:`SnapshotStore.save`: writes its process id to ``saving``, then waits until ``release``
    exists before saving (or failing, as ``then`` says). Files, not events: the save may run in a forked
    process."""

    def __init__(self, root: Path, then: str = "save") -> None:
        self.saving, self.release, self.then = root / "saving", root / "release", then

    def __call__(self, store: SnapshotStore, engine: Any, state: Any) -> str:
        self.saving.write_text(str(os.getpid()))
        deadline = time.monotonic() + WAIT_S
        while not self.release.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self.then == "raise":
            raise RuntimeError("disk full (test)")
        if self.then == "die":
            os.kill(os.getpid(), signal.SIGKILL)
        return ORIGINAL_SAVE(store, engine, state)

    def wait_saving(self) -> int:
        """The id of the process that saves, once it has begun."""
        deadline = time.monotonic() + WAIT_S
        while not (self.saving.exists() and self.saving.read_text()):
            assert time.monotonic() < deadline, "the save never started"
            time.sleep(0.02)
        return int(self.saving.read_text())


@pytest.fixture
def gated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[str], GatedSave]:
    def install(then: str = "save") -> GatedSave:
        gate = GatedSave(tmp_path, then)

        def save(store: SnapshotStore, engine: Any, state: Any) -> str:  # a function, bound as the method was
            return gate(store, engine, state)

        monkeypatch.setattr(SnapshotStore, "save", save)
        return gate

    return install


def _settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(index_snapshot_refresh_changes=0)  # saves only when the test asks


def _in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(target()), daemon=True)
    thread.start()
    return thread, out


@pytest.fixture
def server(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    with running(_settings(make_settings)) as client:
        yield client


def test_writes_and_matches_go_on_while_the_snapshot_is_saved(
    gated: Callable[[str], GatedSave], make_settings: Callable[..., Settings],
) -> None:
    settings = _settings(make_settings)
    with running(settings) as client:
        seq_at_save = _save_with_a_write_during_it(client, gated("save"))
        # the snapshot holds the index as it was when the save began: another worker starting now loads it
        # and replays the write made during the save from the change log
        other = ChainmatchService.open(settings, build_index=False)
        try:
            other.index.start()
            assert (other.index.source, other.index.snapshot_seq) == ("snapshot", seq_at_save)
            assert other.index.state.seq == other.repository.max_seq() == seq_at_save + 1
            assert other.index.engine is not None and other.index.engine.get("during-save") is not None
        finally:
            other.close()


def _save_with_a_write_during_it(client: TestClient, gate: GatedSave) -> int:
    service = client.app.state.service  # type: ignore[attr-defined]
    before = client.put("/v1/enterprises/before-save", json=enterprise(), headers=PORTAL)
    assert before.status_code == 201
    service.sync(force=True)  # the index's seq follows the change log (a write of its own is applied already)
    seq_at_save = client.get("/readyz").json()["index_seq"]
    saver, saved = _in_thread(lambda: service.index.save_snapshot(wait=True))
    assert gate.wait_saving() != os.getpid(), "the save ran in the serving process"

    # the save is under way and cannot finish until released: a write and a match must not wait for it
    writer, answers = _in_thread(lambda: (
        client.put("/v1/enterprises/during-save", json=enterprise(offers=[
            {"id": "o1", "product": "己二酸", "capacity": {"value": 5.0, "unit": "万吨/年"}}]), headers=PORTAL),
        client.post("/v1/match", json={"need": {"product": "己二酸"}, "k": 20}, headers=PORTAL)))
    writer.join(timeout=WAIT_S / 2)
    finished = not writer.is_alive()
    gate.release.touch()
    saver.join(timeout=WAIT_S)
    assert finished, "a write waited for the snapshot save"
    put, match = answers[0]
    assert put.status_code == 201
    assert "during-save" in {item["supplier"]["id"] for item in match.json()["items"]}
    assert saved == [True]
    service.sync(force=True)
    ready = client.get("/readyz").json()
    assert ready["snapshot_seq"] == seq_at_save < ready["index_seq"] == ready["store_seq"]
    return int(seq_at_save)


@pytest.mark.parametrize(("then", "reported"), [
    ("raise", "RuntimeError: disk full (test)"),
    ("die", f"killed by signal {signal.SIGKILL}"),
    ("hang", "overran"),
])
def test_a_failed_save_is_reported_and_the_next_one_succeeds(
    server: TestClient, gated: Callable[[str], GatedSave], service_log: Captured,
    monkeypatch: pytest.MonkeyPatch, then: str, reported: str,
) -> None:
    client = server
    service = client.app.state.service  # type: ignore[attr-defined]
    published = client.get("/readyz").json()["snapshot_seq"]
    assert client.put("/v1/enterprises/unsaved", json=enterprise(), headers=PORTAL).status_code == 201
    service.sync(force=True)
    gate = gated(then)
    if then == "hang":  # never released: the deadline must end it
        monkeypatch.setattr(snapshot_sync, "FORKED_SAVE_GRACE_S", 1.0)
        monkeypatch.setattr(snapshot_sync, "FORKED_SAVE_S_PER_FIRM", 0.0)
    else:
        gate.release.touch()
    assert service.index.save_snapshot(wait=True) is False
    assert any(reported in line for line in service_log.lines(logging.WARNING)), service_log.lines(logging.WARNING)
    assert client.get("/readyz").json()["snapshot_seq"] == published
    assert client.get("/v1/enterprises/unsaved/buyers", headers=PORTAL).status_code == 200

    monkeypatch.setattr(SnapshotStore, "save", ORIGINAL_SAVE)
    assert service.index.save_snapshot(wait=True) is True  # the snapshot lock was released
    ready = client.get("/readyz").json()
    assert ready["snapshot_seq"] == ready["store_seq"] > published


def test_the_saving_process_keeps_no_connection_of_the_server_open(
    server: TestClient, gated: Callable[[str], GatedSave],
) -> None:
    """A connection the server closes during a save must close for its peer at once, not when the save ends."""
    client = server
    service = client.app.state.service  # type: ignore[attr-defined]
    assert client.put("/v1/enterprises/conn", json=enterprise(), headers=PORTAL).status_code == 201
    service.sync(force=True)
    ours, peer = socket.socketpair()
    gate = gated("save")
    saver, _ = _in_thread(lambda: service.index.save_snapshot(wait=True))
    try:
        gate.wait_saving()
        ours.close()  # the saving process was forked while this socket was open
        peer.settimeout(10)
        try:
            closed = peer.recv(1) == b""
        except TimeoutError:
            closed = False
    finally:
        gate.release.touch()
        saver.join(timeout=WAIT_S)
        peer.close()
    assert closed, "the saving process held a copy of the socket"


def test_without_fork_the_save_runs_in_process_and_holds_writes(
    make_settings: Callable[..., Settings], gated: Callable[[str], GatedSave],
) -> None:
    settings = make_settings(index_snapshot_refresh_changes=0, index_snapshot_fork=False)
    with running(settings) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        assert client.put("/v1/enterprises/in-process", json=enterprise(), headers=PORTAL).status_code == 201
        service.sync(force=True)
        gate = gated("save")
        saver, saved = _in_thread(lambda: service.index.save_snapshot(wait=True))
        assert gate.wait_saving() == os.getpid()
        writer, _ = _in_thread(lambda: client.put("/v1/enterprises/held", json=enterprise(), headers=PORTAL))
        writer.join(timeout=1.0)
        held = writer.is_alive()  # the documented cost of this setting
        gate.release.touch()
        saver.join(timeout=WAIT_S)
        writer.join(timeout=WAIT_S)
        assert held and saved == [True]
        service.sync(force=True)
        ready = client.get("/readyz").json()
        assert ready["snapshot_seq"] < ready["index_seq"] == ready["store_seq"]
