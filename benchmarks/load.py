"""Loopback load test of ``chainmatch serve``: N clients, 70% GET suppliers / 30% PUT, for a fixed time.

Generates N enterprises (``benchmarks/synthetic.py``), writes them straight into a fresh SQLite store one chunk
at a time (``--keep-dir`` keeps the store, and the server's index snapshot, for the next run), starts the
server on a loopback port, waits until every worker is ready, then runs ``--clients`` threads (one keep-alive
httpx client each) for ``--duration`` seconds and stops by itself. Each request is a GET
``/v1/enterprises/{id}/suppliers?need_id=…&k=10`` for a random firm with needs, or a PUT that changes one offer's
description of a random firm (a real write: store, change log, index). Reports req/s, p50/p99/max per op,
errors, requests over 1 s, and the server's RSS at the start and end (and sampled every 10 s), with its
anonymous (heap) and file-backed (a mapped index snapshot) parts every 10 s.

    .venv/bin/python -m benchmarks.load --size 100000 --clients 8 --duration 60
    .venv/bin/python -m benchmarks.load --size 100000 --clients 8 --duration 600 --workers 1   # soak
    .venv/bin/python -m benchmarks.load --size 1000000 --keep-dir data/bench/serve-1m \\
        --phase 0:30:1 --phase 0:60 --phase 0.3:600   # 1 client, then 8 read-only, then the soak

``--reads-with-wrk`` drives the read-only phases with ``wrk`` (:mod:`benchmarks.wrk_reads`), whose client costs
the shared cores far less than Python threads; phases with writes keep the Python clients.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from benchmarks.serve_harness import PORTAL_KEY, Corpus, Server, corpus_of, prepare_store_streamed, prepared
from benchmarks.wrk_reads import available as wrk_available
from benchmarks.wrk_reads import run_reads


@dataclass
class OpStats:
    latencies: list[float] = field(default_factory=list)
    slow: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds) of requests over 1 s
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)


@dataclass
class ClientResult:
    get: OpStats = field(default_factory=OpStats)
    put: OpStats = field(default_factory=OpStats)


def _client(base: str, corpus: Corpus, write_share: float, stop_at: float, seed: int, out: ClientResult) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, headers={"X-API-Key": PORTAL_KEY}, timeout=30) as http:
        n = 0
        while time.perf_counter() < stop_at:
            n += 1
            if rng.random() < write_share:
                e = rng.choice(corpus.writable)
                body = e.model_dump(mode="json", exclude={"id"}, exclude_none=True)
                if body.get("offers"):
                    body["offers"][0]["description"] = f"负载更新 {seed}-{n}"
                else:
                    body["name"] = f"{e.name}{n % 7}"
                op, method, url, kwargs = out.put, "PUT", f"/v1/enterprises/{e.id}", {"json": body}
            else:
                firm, needs = rng.choice(corpus.seekers)
                op, method, url, kwargs = out.get, "GET", f"/v1/enterprises/{firm}/suppliers", {
                    "params": {"need_id": rng.choice(needs), "k": 10}}  # fmt: skip
            started = time.perf_counter()
            try:
                response = http.request(method, url, **kwargs)  # type: ignore[arg-type]
                ok = response.status_code in (200, 201)
                detail = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                ok, detail = False, repr(exc)
            op.latencies.append(time.perf_counter() - started)
            if op.latencies[-1] > 1:
                op.slow.append((started, op.latencies[-1]))
            if not ok:
                op.errors += 1
                if len(op.error_samples) < 3:
                    op.error_samples.append(f"{method} {url}: {detail}")


def _summary(name: str, stats: list[OpStats], duration: float) -> dict[str, float | int | str]:
    lat = np.array([x for s in stats for x in s.latencies]) * 1000
    if lat.size == 0:
        return {"op": name, "requests": 0}
    return {
        "op": name,
        "requests": int(lat.size),
        "req_s": round(lat.size / duration, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p99_ms": round(float(np.percentile(lat, 99)), 2),
        "max_ms": round(float(lat.max()), 1),
        "over_1s": int((lat > 1000).sum()),
        "errors": sum(s.errors for s in stats),
    }


def _wrk_phase(server: Server, corpus: Corpus, clients: int, duration: float) -> dict[str, object]:
    """A read-only phase driven by ``wrk`` (RSS at its start and end)."""
    rss = [server.rss_mb()]
    gets = run_reads(server.base, corpus, clients, duration)
    rss.append(server.rss_mb())
    return {
        "clients": clients, "write_share": 0.0, "client": "wrk", "duration_s": round(duration, 1),
        "total_req_s": gets["req_s"], "ops": [gets], "rss_start_mb": round(rss[0]), "rss_end_mb": round(rss[-1]),
        "rss_max_mb": round(max(rss)), "rss_growth_pct": round((rss[-1] / rss[0] - 1) * 100, 1), "error_samples": [],
    }  # fmt: skip


def _phase(server: Server, corpus: Corpus, clients: int, duration: float, write_share: float,
           reads_with_wrk: bool = False) -> dict[str, object]:  # fmt: skip
    """``clients`` threads for ``duration`` seconds at ``write_share`` writes; RSS sampled every 10 s. A
    read-only phase runs on ``wrk`` instead when ``reads_with_wrk``."""
    if reads_with_wrk and write_share == 0:
        return _wrk_phase(server, corpus, clients, duration)
    rss = [server.rss_mb()]
    split = [server.rss_split_mb()]
    saves = _Saves(server)
    saves.start()
    results = [ClientResult() for _ in range(clients)]
    stop_at = time.perf_counter() + duration
    threads = [threading.Thread(target=_client, args=(server.base, corpus, write_share, stop_at, i, results[i]),
                                daemon=True) for i in range(clients)]  # fmt: skip
    started = time.perf_counter()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        time.sleep(min(10.0, max(0.1, stop_at - time.perf_counter())))
        rss.append(server.rss_mb())
        split.append(server.rss_split_mb())
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    gets = _summary("GET suppliers", [r.get for r in results], elapsed)
    puts = _summary("PUT enterprise", [r.put for r in results], elapsed)
    total = gets.get("requests", 0) + puts.get("requests", 0)  # type: ignore[operator]
    return {
        "clients": clients, "write_share": write_share, "duration_s": round(elapsed, 1),
        "total_req_s": round(total / elapsed, 1),
        "ops": [gets, puts], "rss_start_mb": round(rss[0]), "rss_end_mb": round(rss[-1]),
        "rss_max_mb": round(max(rss)), "rss_growth_pct": round((rss[-1] / rss[0] - 1) * 100, 1),
        "rss_anon_mb": [round(a) for a, _ in split], "rss_file_mb": [round(f) for _, f in split],
        **saves.report(started, [x for r in results for op in (r.get, r.put) for x in op.slow]),
        "error_samples": [s for r in results for op in (r.get, r.put) for s in op.error_samples][:5],
    }  # fmt: skip


class _Saves(threading.Thread):
    """Index snapshot saves during a phase: the snapshot seq ``/readyz`` reports (one worker's) every 10 s, and
    when a forked saving process ran (sampled every 0.5 s), to tell whether slow requests met a save."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.seqs = [self._seq()]
        self.forked: list[list[float]] = []  # [first, last] sample times with a forked process running
        self.halt = threading.Event()

    def _seq(self) -> int | None:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            seq = httpx.get(f"{self.server.base}/readyz", timeout=5).json()["snapshot_seq"]
            return None if seq is None else int(seq)
        return None

    def run(self) -> None:
        last_seq = time.perf_counter()
        while not self.halt.wait(0.5):
            now = time.perf_counter()
            with contextlib.suppress(Exception):  # a process ending mid-sample
                if self.server.forks():
                    if self.forked and now - self.forked[-1][1] < 1.0:
                        self.forked[-1][1] = now
                    else:
                        self.forked.append([now, now])
            if now - last_seq >= 10:
                self.seqs.append(self._seq())
                last_seq = now

    def report(self, started: float, slow: list[tuple[float, float]]) -> dict[str, object]:
        self.halt.set()
        self.join()
        self.seqs.append(self._seq())
        seen = [s for s in self.seqs if s is not None]
        near = [(t, d) for t, d in slow if any(a - 1 <= t + d and t <= b + 1 for a, b in self.forked)]
        return {"snapshot_seq_start": seen[0] if seen else None, "snapshot_seq_end": seen[-1] if seen else None,
                "snapshot_saves_seen": len(set(seen)) - 1 if seen else 0,
                "forked_s": [[round(a - started), round(b - started)] for a, b in self.forked],
                "slow_at_s": sorted(round(t - started, 1) for t, _ in slow),
                "slow_during_a_fork": len(near)}  # fmt: skip


def run(size: int, clients: int, phases: list[tuple[float, float, int | None]], workers: int,
        keep_dir: Path | None = None, reads_with_wrk: bool = False) -> dict[str, object]:  # fmt: skip
    """One server over ``size`` firms; each phase is ``(write share, seconds, clients or None for the
    default)``, run one after another (read-only ones on ``wrk`` when ``reads_with_wrk``)."""
    if reads_with_wrk and not wrk_available():
        raise SystemExit("--reads-with-wrk needs the wrk binary (Debian: apt-get install wrk)")
    with contextlib.ExitStack() as stack:
        data_dir = keep_dir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cm-load-")))
        load_s = 0.0 if keep_dir is not None and prepared(data_dir, size) else prepare_store_streamed(data_dir, size)
        corpus = corpus_of(size)
        with Server(data_dir, workers=workers) as server:
            startup = {"healthz_s": round(server.healthz_s or 0, 1), "ready_s": round(server.ready_s or 0, 1)}
            results = [_phase(server, corpus, n or clients, seconds, share, reads_with_wrk)
                       for share, seconds, n in phases]
    return {"size": size, "clients": clients, "workers": workers, "store_load_s": round(load_s, 1), **startup,
            "phases": results}  # fmt: skip


def _parse_phase(text: str) -> tuple[float, float, int | None]:
    share, seconds, *clients = text.split(":")
    return float(share), float(seconds), int(clients[0]) if clients else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="generated enterprises in the store")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (one phase)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--write-share", type=float, default=0.3)
    parser.add_argument("--phase", action="append", type=_parse_phase, metavar="SHARE:SECONDS[:CLIENTS]",
                        help="instead of --write-share/--duration: phases run one after another on the same "
                             "server, e.g. --phase 0:30:1 --phase 0:60 --phase 0.3:600")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--keep-dir", type=Path, help="data dir to keep (store, index snapshot) instead of a temp dir")
    parser.add_argument("--reads-with-wrk", action="store_true",
                        help="drive read-only phases with wrk (a C client) instead of Python threads")
    args = parser.parse_args()
    phases = args.phase or [(args.write_share, args.duration, None)]
    result = run(args.size, args.clients, phases, args.workers, args.keep_dir, args.reads_with_wrk)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    print(f"{result['size']} enterprises, {result['workers']} worker(s), {result['clients']} clients; ready after "
          f"{result['ready_s']} s (healthz {result['healthz_s']} s)")  # fmt: skip
    for phase in result["phases"]:  # type: ignore[attr-defined]
        print(f"{phase['clients']} clients, {phase['write_share']:.0%} writes for {phase['duration_s']} s: total "
              f"{phase['total_req_s']} req/s")  # fmt: skip
        for op in phase["ops"]:
            print("  " + ", ".join(f"{k} {v}" for k, v in op.items()))
        print(f"  RSS {phase['rss_start_mb']} → {phase['rss_end_mb']} MB ({phase['rss_growth_pct']:+} %), "
              f"max {phase['rss_max_mb']} MB")  # fmt: skip
        if "rss_anon_mb" in phase:
            print(f"  of which anonymous, every 10 s: {phase['rss_anon_mb']} MB; file-backed (a mapped snapshot) "
                  f"{phase['rss_file_mb'][0]} → {phase['rss_file_mb'][-1]} MB")  # fmt: skip
        if "snapshot_saves_seen" in phase:
            print(f"  snapshot seq {phase['snapshot_seq_start']} → {phase['snapshot_seq_end']} "
                  f"({phase['snapshot_saves_seen']} saves seen); forked processes at {phase['forked_s']} s; "
                  f"requests over 1 s at {phase['slow_at_s']} s, {phase['slow_during_a_fork']} near a fork")
        for sample in phase["error_samples"]:
            print("  error:", sample)


if __name__ == "__main__":
    main()
