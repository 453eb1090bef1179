"""Bulk import end to end: N generated enterprises POSTed as one JSONL file to ``chainmatch serve`` until every
worker can match them.

Starts the server on loopback over an empty store (seeds only), uploads the file (``POST /v1/imports``, which
answers 202 with a job), polls ``GET /v1/imports/{id}`` until it has succeeded, then polls ``/readyz`` on fresh
connections until every worker reports lag 0, and checks that an imported firm's suppliers are served. Reports
the upload, job, and matchable times. The upload limits are raised for the run (the defaults are 10 MiB and
50,000 rows). With ``--via cli`` the file is imported by ``chainmatch import`` straight into the server's
store instead, and the workers pick it up from the change log.

    .venv/bin/python -m benchmarks.import_e2e --size 100000 --workers 1
    .venv/bin/python -m benchmarks.import_e2e --size 100000 --workers 2
    .venv/bin/python -m benchmarks.import_e2e --size 100000 --workers 2 --via cli
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.serve_harness import ADMIN_KEY, PORTAL_KEY, Server, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--via", choices=("job", "cli"), default="job",
                        help="POST /v1/imports (a job), or `chainmatch import` writing the store directly")
    args = parser.parse_args()
    profiles = generate(args.size, seed=11)
    lines = [json.dumps({**p.model_dump(mode="json", exclude_none=True)}, ensure_ascii=False) for p in profiles]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    probe = next(p for p in profiles if p.needs)
    env = {"CHAINMATCH_MAX_IMPORT_BYTES": str(len(data) + (1 << 20)),
           "CHAINMATCH_MAX_IMPORT_ROWS": str(args.size + 10), "CHAINMATCH_SEED_ON_EMPTY": "true"}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="cm-import-") as tmp, \
            Server(Path(tmp), workers=args.workers, env=env) as server:  # fmt: skip
        cpu = server_cpu_s(server)
        started = time.perf_counter()
        if args.via == "cli":
            accepted_s, report = _cli_import(server, data, env)
        else:
            accepted_s, report = _job_import(server, data, started)
        job_s = time.perf_counter() - started
        caught_up: dict[int, bool] = {}  # per worker (its pid): the kernel may send every probe to one of them
        while len(caught_up) < args.workers or not all(caught_up.values()):
            body = httpx.get(f"{server.base}/readyz", timeout=30)  # a fresh connection: any worker may answer
            if body.status_code == 200:
                caught_up[body.json()["worker"]] = body.json()["lag"] == 0
            else:
                time.sleep(0.2)
        matchable_s = time.perf_counter() - started
        cpu = server_cpu_s(server) - cpu
        portal = {"X-API-Key": PORTAL_KEY}
        found = httpx.get(f"{server.base}/v1/enterprises/{probe.id}/suppliers", headers=portal, timeout=30)
        assert found.status_code == 200, found.text[:300]
        print(f"{args.size} enterprises ({len(data) / 1e6:.0f} MB JSONL), {args.workers} worker(s), "
              f"via {args.via}: accepted after {accepted_s:.1f} s, stored (job or CLI done) after {job_s:.1f} s, "
              f"matchable on every worker after {matchable_s:.1f} s; rows {report['rows']}, accepted "
              f"{report['accepted']}, created {len(report['enterprises']['created'])}; RSS {server.rss_mb():.0f} MB; "
              f"server CPU {cpu:.1f} s (with its exited children)")  # fmt: skip


def _job_import(server: Server, data: bytes, started: float) -> tuple[float, dict[str, Any]]:
    """POST the file as an import job and poll it until it has finished; (seconds to the 202, its report)."""
    admin = httpx.Client(base_url=server.base, headers={"X-API-Key": ADMIN_KEY}, timeout=600)
    response = admin.post("/v1/imports", files={"file": ("bulk.jsonl", data)})
    accepted_s = time.perf_counter() - started
    assert response.status_code == 202, response.text[:500]
    job_id = response.json()["id"]
    last_phase = None
    while True:
        try:  # a fresh connection each time: a busy server may have closed an idle keep-alive one
            job = httpx.get(f"{server.base}/v1/imports/{job_id}", headers={"X-API-Key": ADMIN_KEY},
                            timeout=120).json()  # fmt: skip
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if job["phase"] != last_phase:
            last_phase = job["phase"]
            print(f"  {time.perf_counter() - started:7.1f} s  {job['status']} {job['phase']} {job['progress']}")
        if job["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "succeeded", job["error"]
    return accepted_s, dict(job["report"])


def _cli_import(server: Server, data: bytes, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """``chainmatch import`` of the file into the server's store (no index of its own: the workers catch up
    through the change log); (its run time, its report)."""
    file = server.data_dir / "bulk.jsonl"
    file.write_bytes(data)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from matching.cli import app; app()", "import", str(file),
                           "--json", "--data-dir", str(server.data_dir)],
                          env={**server.env, **env}, capture_output=True, check=True)  # fmt: skip
    report = json.loads(done.stdout)
    return time.perf_counter() - started, dict(report)


def server_cpu_s(server: Server) -> float:
    """CPU seconds of the server's processes so far, with their exited children (the forked index processes)."""
    assert server.proc is not None
    parent = psutil.Process(server.proc.pid)
    total = 0.0
    for proc in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


if __name__ == "__main__":
    main()
