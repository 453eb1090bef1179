"""Does the cost of a write stay flat? Repeated PUTs of the same 10 ids through HTTP against ``chainmatch serve``.

Each PUT changes one offer's description, so every one is a real write (store, change log, index). Reports the
p50 per window of 200 PUTs, the last/first window ratio (target ≈ 1), the server's RSS before and after, and the
SQLite WAL size. The baseline is the first window of the same run.

    .venv/bin/python -m benchmarks.write_cost --size 10000 --updates 1600
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.serve_harness import PORTAL_KEY, Server, generate, prepare_store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=10_000, help="generated enterprises in the store")
    parser.add_argument("--updates", type=int, default=1600)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    profiles = generate(args.size)
    targets = [p for p in profiles if p.offers][:10]
    with tempfile.TemporaryDirectory(prefix="cm-write-") as tmp:
        data_dir = Path(tmp)
        load_s = prepare_store(data_dir, profiles)
        with Server(data_dir, workers=args.workers) as server:
            print(f"store {args.size} loaded in {load_s:.1f} s; healthz after {server.healthz_s:.1f} s, "
                  f"ready after {server.ready_s:.1f} s")  # fmt: skip
            rss_start = server.rss_mb()
            times: list[float] = []
            with httpx.Client(base_url=server.base, headers={"X-API-Key": PORTAL_KEY}, timeout=30) as http:
                for n in range(args.updates):
                    e = targets[n % len(targets)]
                    body = e.model_dump(mode="json", exclude={"id"}, exclude_none=True)
                    body["offers"][0]["description"] = f"更新 {n}"
                    started = time.perf_counter()
                    response = http.put(f"/v1/enterprises/{e.id}", json=body)
                    times.append(time.perf_counter() - started)
                    assert response.status_code in (200, 201), response.text
            rss_end = server.rss_mb()
            wal = data_dir / "chainmatch.db-wal"
            wal_mb = wal.stat().st_size / 1e6 if wal.exists() else 0.0
    windows = [times[i : i + args.window] for i in range(0, len(times), args.window)]
    p50s = [statistics.median(w) * 1000 for w in windows if len(w) == args.window]
    print("p50 ms per window of", args.window, ":", " ".join(f"{p:.2f}" for p in p50s))
    print(f"last/first p50 ratio: {p50s[-1] / p50s[0]:.2f}; max {max(times) * 1000:.1f} ms")
    print(f"RSS {rss_start:.0f} → {rss_end:.0f} MB ({(rss_end / rss_start - 1) * 100:+.1f}%); WAL {wal_mb:.1f} MB")


if __name__ == "__main__":
    main()
