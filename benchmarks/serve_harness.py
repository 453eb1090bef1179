"""Start ``chainmatch serve`` on a loopback port over a generated store, for the service benchmarks.

:func:`prepare_store` writes N generated enterprises (``benchmarks/synthetic.py``, realistic corpus) straight
into a fresh SQLite store in one bulk insert (the fast path: no per-row upsert), with one change-log entry each,
exactly as the repository would. :class:`Server` starts ``chainmatch serve`` as a subprocess, waits for
``/readyz`` on every worker, measures the RSS of the whole process tree, and stops it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
from sqlalchemy import Engine, insert

from matching.chains import load_graph
from matching.profiles import Enterprise
from matching.regions import RegionRegistry
from matching.store import create_db_engine
from matching.store import prepare_store as migrate
from matching.store.repository import profile_json, search_text
from matching.store.tables import enterprise_changes, enterprises, store_meta

ADMIN_KEY = "bench-admin-key-0000000000000001"
PORTAL_KEY = "bench-portal-key-000000000000002"
API_KEYS = f"{ADMIN_KEY}:admin,{PORTAL_KEY}:portal"


def generate(n: int, seed: int = 7) -> list[Enterprise]:
    from benchmarks.synthetic import cached_frames
    from matching.frames import frames_to_profiles

    frames, _ = cached_frames(load_graph(), RegionRegistry.load(), n, seed=seed)
    return frames_to_profiles(*frames)


@dataclass
class Corpus:
    """What the load clients need of a generated store, without holding every profile: the firms with
    needs (id and need ids) and a sample of whole profiles to re-PUT."""

    seekers: list[tuple[str, list[str]]]
    writable: list[Enterprise]


def corpus_of(n: int, seed: int = 7, sample: int = 20_000) -> Corpus:
    """The clients' view of the generated corpus of ``n`` firms (read from the frames, not the store)."""
    import polars as pl

    from benchmarks.synthetic import cached_frames
    from matching.frames import frames_to_profiles

    (ents, offers, needs), _ = cached_frames(load_graph(), RegionRegistry.load(), n, seed=seed)
    seekers = needs.group_by("enterprise_id", maintain_order=True).agg(pl.col("need_id")).rows()
    pick = ents.sample(n=min(sample, ents.height), seed=seed)
    mine = pl.col("enterprise_id").is_in(pick["id"].implode())
    return Corpus(seekers, frames_to_profiles(pick, offers.filter(mine), needs.filter(mine)))


def prepare_store_streamed(data_dir: Path, n: int, seed: int = 7) -> float:
    """The generated corpus of ``n`` firms written into a fresh SQLite store one chunk at a time (a 1M
    corpus never exists as 1M profiles at once); returns the seconds it took."""
    from benchmarks.synthetic import cached_frames
    from matching.corpus import FrameChunks

    frames, _ = cached_frames(load_graph(), RegionRegistry.load(), n, seed=seed)
    started = time.perf_counter()
    engine = _fresh_store(data_dir)
    seq = 0
    now = datetime.now(UTC)
    for chunk in FrameChunks(*frames).profiles():
        _insert(engine, chunk, seq, now)
        seq += len(chunk)
    _finish_store(engine, now)
    (data_dir / STORE_MARKER).write_text(f"{n} {seed}\n")
    return time.perf_counter() - started


def prepared(data_dir: Path, n: int, seed: int = 7) -> bool:
    """Whether ``data_dir`` already holds the store :func:`prepare_store_streamed` writes for ``n``, ``seed``."""
    marker = data_dir / STORE_MARKER
    return marker.exists() and marker.read_text().split() == [str(n), str(seed)]


STORE_MARKER = "bench-corpus.txt"


def prepare_store(data_dir: Path, profiles: list[Enterprise]) -> float:
    """Write ``profiles`` into a fresh SQLite store in ``data_dir``; returns the seconds it took."""
    started = time.perf_counter()
    engine = _fresh_store(data_dir)
    now = datetime.now(UTC)
    _insert(engine, profiles, 0, now)
    _finish_store(engine, now)
    return time.perf_counter() - started


def _fresh_store(data_dir: Path) -> Engine:
    data_dir.mkdir(parents=True, exist_ok=True)
    db_file = data_dir / "chainmatch.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    engine = create_db_engine(f"sqlite:///{db_file.resolve()}")
    migrate(engine)
    return engine


def _insert(engine: Engine, profiles: Sequence[Enterprise], seq: int, now: datetime) -> None:
    """Rows and change-log entries exactly as the repository writes them, in one transaction."""
    rows = [
        {"id": e.id, "name": e.name, "region_code": e.region_code, "search_text": search_text(e),
         "profile": profile_json(e), "created_at": now, "updated_at": now, "seq": seq + i + 1}
        for i, e in enumerate(profiles)
    ]  # fmt: skip
    changes = [{"seq": r["seq"], "enterprise_id": r["id"], "op": "upsert", "changed_at": now} for r in rows]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            conn.execute(insert(enterprises), rows[start : start + 5000])
            conn.execute(insert(enterprise_changes), changes[start : start + 5000])


def _finish_store(engine: Engine, now: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(store_meta).values(key="seeded_at", value=now.isoformat()))
    engine.dispose()


def _forked(process: psutil.Process) -> bool:
    """A fork without exec: the command line of its parent (uvicorn's workers are spawned, with their own)."""
    parent = process.parent()
    return parent is not None and process.cmdline() == parent.cmdline()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``chainmatch serve`` on loopback over ``data_dir``; ``with Server(...) as s:`` starts and stops it."""

    def __init__(self, data_dir: Path, *, workers: int = 1, env: dict[str, str] | None = None,
                 ready_timeout_s: float = 3600, code_dir: Path | None = None) -> None:  # fmt: skip
        self.data_dir = data_dir
        self.code_dir = code_dir  # another source tree to serve (first on the path), e.g. a git worktree
        self.workers = workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CHAINMATCH_API_KEYS": API_KEYS, "CHAINMATCH_LOG_LEVEL": "WARNING",
                    "CHAINMATCH_SEED_ON_EMPTY": "false", **(env or {})}  # fmt: skip
        self.ready_timeout_s = ready_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.healthz_s: float | None = None
        self.ready_s: float | None = None

    def __enter__(self) -> Server:
        started = time.perf_counter()
        cmd = [sys.executable, "-c", "from matching.cli import app; app()", "serve", "--port", str(self.port),
               "--workers", str(self.workers), "--data-dir", str(self.data_dir)]  # fmt: skip
        log = (self.data_dir / "server.log").open("wb")
        env = self.env if self.code_dir is None else {**self.env, "PYTHONPATH": str(self.code_dir)}
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.code_dir)  # ``-c`` puts the working directory first on the path
        deadline = started + self.ready_timeout_s
        streak = 0
        ready_workers: set[int] = set()  # pids that answered ready: the kernel may send every probe to one
        with httpx.Client(base_url=self.base, timeout=5) as http:
            while streak < 5 * self.workers or len(ready_workers) < self.workers:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited; see {self.data_dir / 'server.log'}")
                if time.perf_counter() > deadline:
                    raise TimeoutError("server not ready")
                try:
                    if self.healthz_s is None and http.get("/healthz").status_code == 200:
                        self.healthz_s = time.perf_counter() - started
                    ready = httpx.get(f"{self.base}/readyz", timeout=5)  # a fresh connection: any worker
                    ok = ready.status_code == 200
                    if ok:
                        ready_workers.add(int(ready.json()["worker"]))
                except httpx.TransportError:
                    ok = False
                streak = streak + 1 if ok else 0
                if not ok:
                    time.sleep(0.2)
        self.ready_s = time.perf_counter() - started
        return self

    def _own_processes(self) -> list[psutil.Process]:
        """The server and its workers. Processes a worker forked (an index snapshot save, a batch's item work)
        are left out: they are brief, and their RSS counts the pages they share with it."""
        assert self.proc is not None
        parent = psutil.Process(self.proc.pid)
        own = [parent]
        for p in parent.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                if not _forked(p):
                    own.append(p)
        return own

    def rss_mb(self) -> float:
        """RSS of the server and its workers (:meth:`_own_processes`), in MB."""
        total = 0
        for p in self._own_processes():
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        return total / 1e6

    def rss_split_mb(self) -> tuple[float, float]:
        """``(anonymous, file-backed)`` RSS of the server and its workers, in MB (``/proc/<pid>/status``).
        File-backed pages are a mapped index snapshot's, which the kernel can drop and re-read; anonymous ones
        are the heap."""
        anon = file = 0
        for p in self._own_processes():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                fields = dict(line.split(":", 1) for line in Path(f"/proc/{p.pid}/status").read_text().splitlines())
                if "RssAnon" not in fields:  # a process that has exited but is not yet reaped has no memory lines
                    continue
                anon += int(fields["RssAnon"].split()[0])
                file += int(fields["RssFile"].split()[0]) + int(fields["RssShmem"].split()[0])
        return anon * 1024 / 1e6, file * 1024 / 1e6

    def forks(self) -> int:
        """Processes the server's workers have forked and that run now (see :meth:`rss_mb`)."""
        assert self.proc is not None
        found = 0
        for p in psutil.Process(self.proc.pid).children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                found += _forked(p)
        return found

    def worker_pids(self) -> list[int]:
        assert self.proc is not None
        return [p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)] or [self.proc.pid]

    def __exit__(self, *exc: Any) -> None:
        if self.proc is None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        log = self.data_dir / "server.log"
        if log.exists():  # the data dir is usually temporary: keep the last server log for a look
            shutil.copy(log, Path(tempfile.gettempdir()) / "chainmatch-bench-server.log")
