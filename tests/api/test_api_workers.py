"""Persistence across restarts, several workers on one store, and ``chainmatch serve --workers 2``."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from fastapi.testclient import TestClient

from matching.commands.serve import serve
from matching.service import ChainmatchService
from matching.settings import Settings
from tests.api.api_helpers import ADMIN, API_KEYS, PORTAL, enterprise, problem

REPO = Path(__file__).resolve().parents[2]


def _suppliers_of_adipic(client: TestClient) -> set[str]:
    body = client.post("/v1/match", json={"need": {"product": "己二酸"}, "k": 50}, headers=PORTAL).json()
    return {i["supplier"]["id"] for i in body["items"]}


def test_data_survives_restart(make_client: Callable[..., TestClient]) -> None:
    first = make_client()
    offers = [{"id": "o1", "product": "己二酸"}]
    first.put("/v1/enterprises/keep-me", json=enterprise(offers=offers), headers=PORTAL)
    first.delete("/v1/enterprises/seed-zy-mn", headers=ADMIN)
    first.__exit__(None, None, None)

    second = make_client()
    stored = second.get("/v1/enterprises/keep-me", headers=PORTAL)
    assert stored.status_code == 200 and stored.json()["enterprise"]["offers"][0]["product"] == "己二酸"
    assert "keep-me" in _suppliers_of_adipic(second)
    # seeds load only into a never-seeded store: a deleted seed stays deleted
    problem(second.get("/v1/enterprises/seed-zy-mn", headers=PORTAL), 404)
    ids = [r["enterprise"]["id"] for r in second.get("/v1/enterprises", headers=PORTAL).json()["items"]]
    assert ids == ["keep-me", "seed-cs-lmfp", "seed-fl-adipic", "seed-hc-cell"]


def test_write_reaches_other_worker_within_two_seconds(make_client: Callable[..., TestClient]) -> None:
    worker_a = make_client()
    worker_b = make_client()
    assert "w-new" not in _suppliers_of_adipic(worker_b)

    revision = worker_a.put(
        "/v1/enterprises/w-new", json=enterprise(offers=[{"id": "o1", "product": "己二酸"}]), headers=PORTAL
    ).json()["revision"]
    assert "w-new" in _suppliers_of_adipic(worker_a)  # at once on the worker that took it

    # the background poller alone brings worker B's index up to date (readyz does not sync)
    deadline = time.monotonic() + 2.0
    while worker_b.get("/readyz").json()["index_seq"] < revision:
        assert time.monotonic() < deadline, "worker B's poller did not apply the change within 2 s"
        time.sleep(0.05)
    assert "w-new" in _suppliers_of_adipic(worker_b)

    worker_b.delete("/v1/enterprises/w-new", headers=ADMIN)
    assert "w-new" not in _suppliers_of_adipic(worker_b)
    deadline = time.monotonic() + 2.0
    while "w-new" in _suppliers_of_adipic(worker_a):
        assert time.monotonic() < deadline, "worker A still matches a deleted enterprise after 2 s"
        time.sleep(0.05)


def test_stale_version_never_overwrites_newer(make_settings: Callable[..., Settings]) -> None:
    service_a = ChainmatchService.open(make_settings())
    service_b = ChainmatchService.open(make_settings())
    try:
        old = service_a.upsert(_ent("v-1", "己二酸")).stored
        new = service_b.upsert(_ent("v-1", "硫酸锰")).stored
        assert new.seq > old.seq
        service_a.sync(force=True)
        assert service_a.engine is not None and service_a.engine.get("v-1") == new.enterprise
        service_a._apply("v-1", old.enterprise, old.seq)  # a late, stale apply is ignored
        assert service_a.engine.get("v-1") == new.enterprise
    finally:
        service_a.close()
        service_b.close()


def _ent(eid: str, product: str) -> Any:
    from matching.profiles import Enterprise

    return Enterprise.model_validate({"id": eid, **enterprise(offers=[{"id": "o1", "product": product}])})


def test_concurrent_start_migrates_and_seeds_once(
    make_settings: Callable[..., Settings], data_dir: Path
) -> None:
    settings = make_settings()
    env = {
        **os.environ,
        "CHAINMATCH_DATA_DIR": str(data_dir),
        "CHAINMATCH_SEEDS_DIR": str(settings.seeds_dir),
    }
    if settings.database_url:
        env["CHAINMATCH_DATABASE_URL"] = settings.database_url
    code = (
        "from matching.service import ChainmatchService; from matching.settings import Settings;"
        "s = ChainmatchService.open(Settings(), build_index=False); print(s.repository.count()); s.close()"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == ["4", "4"]
    service = ChainmatchService.open(settings, build_index=False)
    try:
        changes = service.repository.changes_since(0)
        assert len(changes) == 4  # each seed written exactly once
    finally:
        service.close()


def test_serve_refuses_public_host_without_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CHAINMATCH_API_KEYS", raising=False)
    with pytest.raises(typer.Exit) as excinfo:
        serve(host="0.0.0.0", port=8999, data_dir=tmp_path)
    assert excinfo.value.exit_code == 2
    assert not (tmp_path / "admin.key").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Lines:
    """Collect a pipe's lines in a background thread."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace"))

    def json_records(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


def wait_all_ready(base: str, timeout: float = 120.0) -> None:
    """Poll ``/readyz`` on fresh connections until 10 answers in a row are 200 (each worker builds its index)."""
    deadline = time.monotonic() + timeout
    streak = 0
    while streak < 10:
        assert time.monotonic() < deadline, "workers did not become ready"
        ok = httpx.get(f"{base}/readyz", timeout=5).status_code == 200
        streak = streak + 1 if ok else 0
        if not ok:
            time.sleep(0.1)


@contextlib.contextmanager
def two_worker_server(settings: Settings, data_dir: Path) -> Iterator[tuple[str, _Lines]]:
    """``chainmatch serve --workers 2`` on a free loopback port, both workers ready: ``(base URL, stderr)``."""
    port = _free_port()
    env = {**os.environ, "CHAINMATCH_API_KEYS": API_KEYS, "CHAINMATCH_SEEDS_DIR": str(settings.seeds_dir),
           "CHAINMATCH_LOG_LEVEL": "INFO"}  # fmt: skip
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # serve sets up its own
    args = ["--port", str(port), "--workers", "2", "--data-dir", str(data_dir)]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    code = "import typer; from matching.commands.serve import serve; typer.run(serve)"
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    stderr = _Lines(proc.stderr)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while sum("Application startup complete" in line for line in stderr.lines) < 2:
            assert proc.poll() is None, "".join(stderr.lines)
            assert time.monotonic() < deadline, "workers did not start:\n" + "".join(stderr.lines[-20:])
            time.sleep(0.1)
        wait_all_ready(base)
        yield base, stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_serve_with_two_workers(make_settings: Callable[..., Settings], data_dir: Path) -> None:
    with two_worker_server(make_settings(), data_dir) as (base, stderr):
        put = httpx.put(f"{base}/v1/enterprises/srv-new", headers=PORTAL, timeout=10,
                        json=enterprise(offers=[{"id": "o1", "product": "己二酸"}]))  # fmt: skip
        assert put.status_code == 201, put.text
        put_request = put.headers["x-request-id"]
        time.sleep(2.0)
        served: set[int] = set()
        for _ in range(40):  # fresh connections until both workers have answered
            with httpx.Client(base_url=base, headers=PORTAL, timeout=10) as http:
                response = http.post("/v1/match", json={"need": {"product": "己二酸"}, "k": 50})
                assert "srv-new" in {i["supplier"]["id"] for i in response.json()["items"]}
                rid = response.headers["x-request-id"]
            time.sleep(0.05)
            records = stderr.json_records()
            served |= {r["pid"] for r in records if r.get("request_id") == rid and r.get("msg") == "request"}
            if len(served) >= 2:
                break
        writer = {r["pid"] for r in stderr.json_records() if r.get("request_id") == put_request}
        assert len(writer) == 1
        assert served - writer, "no match request reached the worker that did not take the write"
        seeded = [r for r in stderr.json_records() if r.get("msg") == "seeded store"]
        assert len(seeded) == 1 and seeded[0]["enterprises"] == 4  # one worker seeded, once
        listed = httpx.get(f"{base}/v1/enterprises", headers=PORTAL, timeout=10).json()["items"]
        assert len(listed) == 5
