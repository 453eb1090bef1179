"""Start-up: seconds from starting ``chainmatch serve`` to the first ``/healthz`` 200 and to ``/readyz`` 200, over
a store of N generated enterprises, with one worker and two.

``--code-dir DIR`` runs the server from another source tree (e.g. ``git archive main | tar -x -C DIR``), with
the same interpreter and the same store, so old and new start-ups compare in one run:

    .venv/bin/python -m benchmarks.startup --size 20000 --reps 3
    .venv/bin/python -m benchmarks.startup --size 20000 --reps 3 --code-dir /tmp/cm-main
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.serve_harness import API_KEYS, free_port, generate, prepare_store


def start_once(data_dir: Path, workers: int, code_dir: Path | None, *, healthz_only: bool = False,
               timeout_s: float = 900) -> tuple[float, float | None]:  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CHAINMATCH_API_KEYS": API_KEYS, "CHAINMATCH_LOG_LEVEL": "WARNING",
           "CHAINMATCH_SEED_ON_EMPTY": "false"}  # fmt: skip
    cwd = None
    if code_dir is not None:  # ``-c`` puts the working directory first on sys.path: run from that tree
        env["PYTHONPATH"] = str(code_dir)
        cwd = str(code_dir)
    cmd = [sys.executable, "-c", "from matching.cli import app; app()", "serve", "--port", str(port),
           "--workers", str(workers), "--data-dir", str(data_dir)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    healthz_s: float | None = None
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("server exited")
            if time.perf_counter() - started > timeout_s:
                raise TimeoutError("server not ready")
            try:
                if healthz_s is None and httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    healthz_s = time.perf_counter() - started
                    if healthz_only:
                        return healthz_s, None
                if healthz_s is not None and httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    return healthz_s, time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--code-dir", type=Path)
    parser.add_argument("--healthz-only", action="store_true", help="stop each server at its first /healthz")
    args = parser.parse_args()
    result: dict[str, object] = {"size": args.size, "code_dir": str(args.code_dir or "")}
    with tempfile.TemporaryDirectory(prefix="cm-startup-") as tmp:
        data_dir = Path(tmp)
        prepare_store(data_dir, generate(args.size, seed=7))
        for workers in (int(w) for w in args.workers.split(",")):
            runs = [start_once(data_dir, workers, args.code_dir, healthz_only=args.healthz_only)
                    for _ in range(args.reps)]  # fmt: skip
            entry = {"healthz_s": [round(h, 2) for h, _ in runs],
                     "ready_s": [None if r is None else round(r, 1) for _, r in runs],
                     "healthz_median_s": round(statistics.median(h for h, _ in runs), 2)}  # fmt: skip
            result[f"workers_{workers}"] = entry
            print(workers, entry, flush=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
