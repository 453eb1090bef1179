"""Restart cost: time to ``/readyz`` and memory, cold build vs index snapshot, and the build's peak RSS.

One generated SQLite store of N firms (``serve_harness.prepare_store``), then, one at a time:

1. ``build-rss``: the index build in a fresh process, twice: ``whole`` (every stored profile validated into one
   list, then ``MatchEngine.build``: the service before the paged build) and ``paged`` (``IndexSync`` reading
   the store a page at a time). Reports wall time and peak RSS (``ru_maxrss``) of each.
2. ``chainmatch index build`` (offline snapshot), timed.
3. ``chainmatch serve`` with ``--workers`` 1 and 2: from that snapshot, and cold (snapshots off); and with 2
   workers, snapshots on but none saved yet (one worker builds and saves, the other waits and loads it).
   Each reports seconds to ``/readyz`` on every worker, RSS and PSS of the process tree (PSS counts a shared
   mapped page once per sharer's share, so it shows what the mapped snapshot saves between workers).

    .venv/bin/python -m benchmarks.restart --size 100000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.serve_harness import Server, generate, prepare_store


def build_once(data_dir: Path, mode: str) -> dict[str, float]:
    """One build in this process; returns seconds and peak RSS (MB)."""
    from matching.service import ChainmatchService, default_settings

    settings = default_settings(data_dir).model_copy(update={"index_snapshot": False, "seed_on_empty": False})
    service = ChainmatchService.open(settings, build_index=False)
    started = time.perf_counter()
    if mode == "whole":
        from matching.engine import MatchEngine

        stored = service.repository.all_stored()
        engine = MatchEngine.build(service.graph, service.regions, service.policy, [s.enterprise for s in stored])
        service.index.engine = engine  # what IndexSync.build did next: the chains of every firm
        chains = {s.enterprise.id: service.index.chains_for(s.enterprise.id) for s in stored}
        count = len(chains)
    else:
        service.build_index()
        count = service.index_size()
    seconds = time.perf_counter() - started
    service.close()
    return {"enterprises": count, "seconds": round(seconds, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


def memory(server: Server) -> dict[str, float]:
    """RSS and PSS (MB) summed over the server's process tree."""
    assert server.proc is not None
    parent = psutil.Process(server.proc.pid)
    rss = pss = 0
    for p in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = p.memory_full_info()
            rss += info.rss
            pss += info.pss
    return {"rss_mb": round(rss / 1e6, 1), "pss_mb": round(pss / 1e6, 1)}


def serve_once(data_dir: Path, workers: int, snapshots: bool) -> dict[str, Any]:
    env = {"CHAINMATCH_INDEX_SNAPSHOT": "true" if snapshots else "false"}
    with Server(data_dir, workers=workers, env=env) as server:
        time.sleep(2)  # let the workers settle after their last readiness answer
        sources = {}
        for _ in range(10 * workers):  # /readyz per worker: fresh connections land on either
            body = httpx.get(f"{server.base}/readyz", timeout=10).json()
            sources[body["index_source"]] = body["snapshot_seq"]
        return {"workers": workers, "ready_s": round(server.ready_s or 0, 1), "sources": sources, **memory(server)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--build-once", choices=("whole", "paged"), help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build_once:
        print(json.dumps(build_once(args.data_dir, args.build_once)))
        return
    results: dict[str, Any] = {"size": args.size}
    with tempfile.TemporaryDirectory(prefix="cm-restart-") as tmp:
        data_dir = Path(tmp)
        results["store_s"] = round(prepare_store(data_dir, generate(args.size)), 1)
        for mode in ("whole", "paged"):
            out = subprocess.run([sys.executable, "-m", "benchmarks.restart", "--build-once", mode,
                                  "--data-dir", str(data_dir)], capture_output=True, text=True, check=True)
            results[f"build_{mode}"] = json.loads(out.stdout.strip().splitlines()[-1])
            print(mode, results[f"build_{mode}"], flush=True)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from matching.cli import app; app()", "index", "build",
                        "--data-dir", str(data_dir)], check=True, capture_output=True,
                       env={**os.environ, "CHAINMATCH_LOG_LEVEL": "WARNING"})
        results["index_build_cli_s"] = round(time.perf_counter() - started, 1)
        print("index build", results["index_build_cli_s"], flush=True)
        runs = []
        for workers, snapshots, fresh in ((1, True, False), (2, True, False), (1, False, False),
                                          (2, True, True), (2, False, False)):
            if fresh:
                shutil.rmtree(data_dir / "index", ignore_errors=True)
            run = {"snapshots": snapshots, "fresh": fresh, **serve_once(data_dir, workers, snapshots)}
            print(run, flush=True)
            runs.append(run)
        results["serve"] = runs
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
