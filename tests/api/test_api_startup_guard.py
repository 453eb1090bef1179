"""Start-up safety: secrets never echoed, no keyless server however it is started, one-line start-up errors,
a private database file, HEAD wherever GET, and 401 before a request body is read (issue 9, items 6, 7, 11)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient
from starlette.types import Message

from api.app import create_app
from api.auth import ConfigurationError
from matching.settings import Settings
from tests.api.api_helpers import ADMIN, API_KEYS, PORTAL, enterprise, problem, wait_ready

REPO = Path(__file__).resolve().parents[2]
SECRET = "supersecret-XYZ"
CHAINMATCH = str(Path(sys.executable).with_name("chainmatch"))


def _env(data_dir: Path, seeds_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINMATCH_")}
    env.update(CHAINMATCH_DATA_DIR=str(data_dir), CHAINMATCH_SEEDS_DIR=str(seeds_dir), **extra)
    return env


@pytest.mark.parametrize("value", [f"{SECRET}:root,foo", f"{SECRET},k2:admin", f"k1:admin,{SECRET}:ro:ot"])
def test_bad_key_entry_named_by_position_never_by_value(value: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        Settings(api_keys=value)
    message = str(excinfo.value)
    assert "entry #" in message
    assert SECRET not in message and "XYZ" not in message and "root" not in message and "ro:ot" not in message


def test_cli_prints_the_bad_entry_position_only(tmp_path: Path, seeds_dir: Path) -> None:
    env = _env(tmp_path, seeds_dir, CHAINMATCH_API_KEYS=f"{SECRET}:root,foo")
    done = subprocess.run([CHAINMATCH, "serve"], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "entry #1" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_factory_refuses_without_keys_unless_explicitly_allowed(
    make_settings: Callable[..., Settings], data_dir: Path
) -> None:
    with pytest.raises(ConfigurationError, match="without CHAINMATCH_API_KEYS"):
        create_app(make_settings(api_keys="", host="127.0.0.1"))
    assert not (data_dir / "admin.key").exists()


@pytest.mark.parametrize("host", ["0.0.0.0", "127.0.0.1"])
def test_uvicorn_factory_without_keys_exits_with_one_clear_line(tmp_path: Path, seeds_dir: Path, host: str) -> None:
    """The guard lives in the factory, so plain uvicorn (not only ``chainmatch serve``) refuses."""
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", host, "--port", "0"]
    done = subprocess.run(cmd, env=_env(tmp_path, seeds_dir), cwd=REPO, capture_output=True, text=True, timeout=90)
    assert done.returncode != 0
    assert "refusing to start without CHAINMATCH_API_KEYS" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Application startup complete" not in done.stderr
    assert not (tmp_path / "admin.key").exists()


def test_generated_key_needs_loopback_even_when_allowed(tmp_path: Path, seeds_dir: Path) -> None:
    env = _env(tmp_path, seeds_dir, CHAINMATCH_GENERATE_ADMIN_KEY="true", CHAINMATCH_HOST="0.0.0.0")
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "0.0.0.0", "--port", "0"]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=90)
    assert done.returncode != 0 and "non-loopback" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "admin.key").exists()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://chainmatch:hunter2@127.0.0.1:1/nowhere", "cannot reach the database"),
        ("not a url", "not a valid SQLAlchemy URL"),
    ],
)
def test_serve_with_unreachable_database_prints_one_line(
    tmp_path: Path, seeds_dir: Path, url: str, expected: str
) -> None:
    env = _env(tmp_path, seeds_dir, CHAINMATCH_API_KEYS=API_KEYS)
    cmd = [CHAINMATCH, "serve", "--port", "8999", "--database-url", url]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert expected in lines[0] and "hunter2" not in lines[0]


def test_uvicorn_with_unreachable_database_has_no_traceback(tmp_path: Path, seeds_dir: Path) -> None:
    url = "postgresql+psycopg://chainmatch:hunter2@127.0.0.1:1/nowhere"
    env = _env(tmp_path, seeds_dir, CHAINMATCH_API_KEYS=API_KEYS, CHAINMATCH_DATABASE_URL=url)
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app", "--port", "0"]
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=90)
    assert done.returncode != 0
    assert "cannot reach the database" in done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr


def test_sqlite_file_is_private(make_settings: Callable[..., Settings], data_dir: Path) -> None:
    settings = make_settings(database_url=None)
    with TestClient(create_app(settings)) as client:
        wait_ready(client)
        client.put("/v1/enterprises/priv", json=enterprise(), headers=PORTAL)
    files = [p for p in data_dir.iterdir() if p.name.startswith("chainmatch.db")]
    assert any(p.name == "chainmatch.db" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/v1/enterprises", "/v1/enterprises/seed-zy-mn", "/v1/chains"])
def test_head_works_where_get_does(client: TestClient, path: str) -> None:
    got = client.get(path, headers=ADMIN)
    head = client.head(path, headers=ADMIN)
    assert got.status_code == 200
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]
    assert head.headers["content-length"] == got.headers["content-length"]
    problem(client.get(path + "-missing-xyz", headers=ADMIN), 404) if path.startswith("/v1/enterprises/") else None
    assert client.head("/v1/enterprises", headers={"X-API-Key": "wrong"}).status_code == 401


def test_bad_key_gets_401_before_the_body_is_read(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    chunk = b"x" * 65536
    total_chunks = 160  # 10 MiB
    read = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < total_chunks}

    async def send(message: Message) -> None:
        sent.append(message)

    for key in (b"wrong-key", None):
        read, sent = 0, []
        headers = [(b"content-type", b"application/json")] + ([(b"x-api-key", key)] if key else [])
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PUT", "scheme": "http",
            "path": "/v1/enterprises/big", "raw_path": b"/v1/enterprises/big", "query_string": b"",
            "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000), "root_path": "",
        }  # fmt: skip
        anyio.run(app, scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        assert start["status"] == 401
        assert read == 0
    with TestClient(app) as client:  # a good key still reaches the route
        wait_ready(client)
        assert client.put("/v1/enterprises/big", json=enterprise(), headers=PORTAL).status_code == 201


def test_chainmatch_serve_on_loopback_still_generates_a_key(tmp_path: Path, seeds_dir: Path) -> None:
    """The opt-in the factory needs is given by ``chainmatch serve`` on loopback: the first run just works."""
    import socket
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [CHAINMATCH, "serve", "--port", str(port), "--data-dir", str(tmp_path)],
        env=_env(tmp_path, seeds_dir, CHAINMATCH_LOG_LEVEL="WARNING"),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, "server exited"
            assert time.monotonic() < deadline, "server did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break  # /healthz answers sooner, while the service still loads
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        key = (tmp_path / "admin.key").read_text().strip()
        assert stat.S_IMODE((tmp_path / "admin.key").stat().st_mode) == 0o600
        listed = httpx.get(f"http://127.0.0.1:{port}/v1/enterprises", headers={"X-API-Key": key}, timeout=10)
        assert listed.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
