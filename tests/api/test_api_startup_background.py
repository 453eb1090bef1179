"""Real servers in subprocesses: /healthz answers before the service has loaded, with one worker and two, and a
keyless multi-worker uvicorn stops instead of respawning its workers forever (issue 9, item 2)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from matching.settings import Settings
from matching.store import create_db_engine
from matching.store.migrate import startup_lock
from tests.api.api_helpers import API_KEYS, PORTAL, problem

REPO = Path(__file__).resolve().parents[2]
CHAINMATCH = str(Path(sys.executable).with_name("chainmatch"))


def _env(data_dir: Path, seeds_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINMATCH_")}
    env.update(CHAINMATCH_DATA_DIR=str(data_dir), CHAINMATCH_SEEDS_DIR=str(seeds_dir),
               CHAINMATCH_LOG_LEVEL="WARNING", **extra)  # fmt: skip
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _poll(url: str, status: int, deadline: float) -> httpx.Response:
    while True:
        assert time.monotonic() < deadline, f"{url} never answered {status}"
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == status:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.05)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_answers_healthz_while_start_up_waits(tmp_path: Path, seeds_dir: Path, workers: int) -> None:
    """The test holds the store's start-up lock (as a worker migrating would), so no worker can finish
    starting: every worker must still answer /healthz, and /readyz must say it is starting."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = create_db_engine(f"sqlite:///{data_dir / 'chainmatch.db'}")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [CHAINMATCH, "serve", "--port", str(port), "--workers", str(workers), "--data-dir", str(data_dir)]
    held = startup_lock(store)
    held.__enter__()
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=_env(data_dir, seeds_dir, CHAINMATCH_API_KEYS=API_KEYS), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        _poll(f"{base}/healthz", 200, started + 90)
        for _ in range(4 * workers):  # fresh connections: each worker gets asked
            assert httpx.get(f"{base}/healthz", timeout=5).json() == {"status": "ok"}
            not_ready = httpx.get(f"{base}/readyz", timeout=5)
            assert not_ready.status_code == 503, not_ready.text
            assert "starting" in not_ready.json()["detail"]
            assert proc.poll() is None
        held.__exit__(None, None, None)
        held = None
        ready = _poll(f"{base}/readyz", 200, time.monotonic() + 120).json()
        assert ready["index"] == "ok" and ready["enterprises"] > 0
    finally:
        if held is not None:
            held.__exit__(None, None, None)
        store.dispose()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def test_keyless_multi_worker_uvicorn_stops_instead_of_respawning(tmp_path: Path, seeds_dir: Path) -> None:
    """Each worker refuses with one line and uvicorn's start-up failure status; the supervisor then stops."""
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--workers", "2",
           "--host", "0.0.0.0", "--port", str(_free_port())]  # fmt: skip
    done = subprocess.run(cmd, env=_env(tmp_path, seeds_dir), cwd=REPO, capture_output=True, text=True, timeout=120)
    refusals = done.stderr.count("refusing to start")
    assert 1 <= refusals <= 2, done.stderr  # once per worker at most: no respawn
    assert "failed to start, stopping the parent process" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Application startup complete" not in done.stderr


def _broken_seeds(seeds_dir: Path, into: Path) -> Path:
    shutil.copytree(seeds_dir, into)
    (into / "chains" / "t_lmfp.yaml").write_text("chain: [oops", encoding="utf-8")
    return into


def test_background_start_up_failure_is_reported_by_readyz(
    make_settings: Callable[..., Settings], seeds_dir: Path, tmp_path: Path
) -> None:
    app = create_app(make_settings(seeds_dir=_broken_seeds(seeds_dir, tmp_path / "broken")))
    with TestClient(app, raise_server_exceptions=False) as client:
        deadline = time.monotonic() + 60
        while app.state.startup.error is None:
            assert time.monotonic() < deadline, "start-up never failed"
            time.sleep(0.02)
        assert client.get("/healthz").status_code == 200
        body = problem(client.get("/readyz"), 503)
        assert body["detail"].startswith("start-up failed: ") and "t_lmfp.yaml" in body["detail"]
        assert "start-up failed" in problem(client.get("/v1/enterprises", headers=PORTAL), 503)["detail"]


def test_uvicorn_worker_whose_start_up_fails_exits_with_one_line(tmp_path: Path, seeds_dir: Path) -> None:
    broken = _broken_seeds(seeds_dir, tmp_path / "broken")
    env = _env(tmp_path / "data", broken, CHAINMATCH_API_KEYS=API_KEYS)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--port", str(_free_port())]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("chainmatch: ")]
    assert len(lines) == 1 and "start-up failed" in lines[0] and "t_lmfp.yaml" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_multi_worker_uvicorn_with_unreachable_database_stops(tmp_path: Path, seeds_dir: Path) -> None:
    """The database is checked in each worker's background start-up: it exits 3 with one line, and the
    supervisor stops rather than respawning it."""
    url = "postgresql+psycopg://chainmatch:hunter2@127.0.0.1:1/nowhere"
    env = _env(tmp_path, seeds_dir, CHAINMATCH_API_KEYS=API_KEYS, CHAINMATCH_DATABASE_URL=url)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--workers", "2",
           "--port", str(_free_port())]  # fmt: skip
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.startswith("chainmatch: ")]
    assert 1 <= len(lines) <= 2, done.stderr  # once per worker at most: no respawn
    assert all("cannot reach the database" in line for line in lines)
    assert "stopping the parent process" in done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
