"""The app's cost per ``GET …/suppliers`` request, in process, with and without the fast list routes.

Starts the ASGI app (lifespan included) on a kept data dir (``benchmarks.load --keep-dir``; the index loads
from ``CHAINMATCH_INDEX_SNAPSHOT_DIR`` when set), samples ``--queries`` stored needs, and calls the app directly
(no socket, no HTTP parser) for each request three times in a row: with the fast routes in place, with them
removed from the router so that the FastAPI routes answer (the two in turns first), and the service alone, so
the report splits every figure into the query and the rest. Pairing each request within one process and one
index cancels most of this shared machine's drift, which is large from one minute to the next::

    CHAINMATCH_INDEX_SNAPSHOT_DIR=/work/bench1m-idx .venv/bin/python -m benchmarks.list_routes \\
        --keep-dir /work/bench1m --size 1000000

The app checks that the snapshot was saved by the same ``matching/`` code: to compare two trees, give each
its own snapshot directory, or a tree that does not match rebuilds the index and publishes its own snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from pathlib import Path
from typing import Any

from starlette.types import Message

from api.app import create_app
from api.fast_lists import FastListRoute
from benchmarks.serve_harness import API_KEYS, PORTAL_KEY, corpus_of
from matching.settings import Settings


def _scope(path: str, query: bytes) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "",
            "headers": [(b"host", b"bench"), (b"x-api-key", PORTAL_KEY.encode())],
            "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip


async def _call(app: Any, scope: dict[str, Any]) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    app = create_app(Settings(data_dir=args.keep_dir, api_keys=API_KEYS, log_level="WARNING"))
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}},
                                       inbox.get, outbox.put))  # fmt: skip
    await outbox.get()
    while await _call(app, _scope("/readyz", b"")) != 200:
        await asyncio.sleep(1)
    rng = random.Random(args.seed)
    seekers = corpus_of(args.size, sample=10).seekers
    requests = [(firm, rng.choice(needs)) for firm, needs in rng.sample(seekers, args.queries)]
    service = app.state.service
    fast = [r for r in app.router.routes if isinstance(r, FastListRoute)]
    assert fast, "the fast list routes are off (CHAINMATCH_FAST_LISTS)"
    rest = [r for r in app.router.routes if not isinstance(r, FastListRoute)]
    for firm, need in requests[:50]:  # warm both paths
        await _call(app, _scope(f"/v1/enterprises/{firm}/suppliers", f"need_id={need}&k=10".encode()))
    per: dict[str, list[float]] = {"fast": [], "fastapi": [], "query": []}
    for n in range(1, args.rounds + 1):
        spent = dict.fromkeys(per, 0.0)
        for i, (firm, need) in enumerate(requests):
            path, query = f"/v1/enterprises/{firm}/suppliers", f"need_id={need}&k=10".encode()
            for mode in ("fast", "fastapi") if (i + n) % 2 else ("fastapi", "fast"):
                app.router.routes[:] = fast + rest if mode == "fast" else rest
                started = time.process_time()
                status = await _call(app, _scope(path, query))
                spent[mode] += time.process_time() - started
                assert status == 200, (firm, need, status)
            started = time.process_time()
            service.suppliers_for(firm, need, k=10, weights=None, filters=None, sync=False)
            spent["query"] += time.process_time() - started
        for mode, total in spent.items():
            per[mode].append(total * 1000 / len(requests))
        print(json.dumps({"round": n, **{f"{m}_cpu_ms": round(v[-1], 3) for m, v in per.items()}}), flush=True)
    app.router.routes[:] = fast + rest
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await lifespan
    query = statistics.median(per["query"])
    summary = {mode: {"cpu_ms_per_request": round(statistics.median(per[mode]), 3),
                      "beyond_the_query_ms": round(statistics.median(per[mode]) - query, 3)}
               for mode in ("fast", "fastapi")}  # fmt: skip
    return {"queries": len(requests), "rounds": args.rounds, "query_cpu_ms": round(query, 3), **summary,
            "fast_over_fastapi": round(summary["fast"]["cpu_ms_per_request"]
                                       / summary["fastapi"]["cpu_ms_per_request"], 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-dir", type=Path, required=True, help="data dir kept by benchmarks.load")
    parser.add_argument("--size", type=int, required=True, help="enterprises in the kept store")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    print(json.dumps(asyncio.run(_run(parser.parse_args()))))


if __name__ == "__main__":
    main()
