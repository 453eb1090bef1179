"""A full batch run (issue 10) against the engine's plain ``top_suppliers_all``, in the same process.

Steps on one generated corpus (``benchmarks.synthetic.cached_frames``): build the engine once; then
(1) baseline: ``MatchEngine.top_suppliers_all(k)`` (explicit needs only, suppliers only, no output files);
(2) the run: ``matching.runs.runner.execute`` with the local executor (explicit and inferred needs, supplier
lists and buyer lists, match table with explanations, Parquet + CSV (+ XLSX with ``--xlsx``), manifest,
run record in a SQLite store); (3) ``buyers_for`` on a sample of enterprises, extrapolated to all of them
(what looping single queries would cost instead of the run's reversed candidate sets). Time and peak RSS
(sampled from /proc every 20 ms during each step) are reported, and the run / baseline ratio.

Run: .venv/bin/python -m benchmarks.bench_runs --size 100000 --cache-dir data/bench --json
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.synthetic import cached_frames
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.regions import RegionRegistry
from matching.runs.executors import LocalExecutor
from matching.runs.options import RunOptions
from matching.runs.records import RunStore
from matching.runs.runner import execute
from matching.store import create_db_engine, prepare_store
from matching.weights import DEFAULT_PROFILE


def rss_mb() -> float:
    with Path("/proc/self/status").open(encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measured(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, seconds, peak RSS MB during the call)``."""
    peak = [rss_mb()]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.02):
            peak[0] = max(peak[0], rss_mb())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    try:
        result = fn()
    finally:
        elapsed = time.perf_counter() - start
        stop.set()
        thread.join()
    return result, elapsed, max(peak[0], rss_mb())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--block-size", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--sample", type=int, default=200, help="buyers_for queries to extrapolate")
    parser.add_argument("--xlsx", action="store_true", help="also write the XLSX export")
    parser.add_argument("--cache-dir", type=Path, default=Path("data/bench"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    graph, regions, policy = load_graph(), RegionRegistry.load(), Policy.load()
    frames, _ = cached_frames(graph, regions, args.size, cache_dir=args.cache_dir)
    out: dict[str, Any] = {"size": args.size, "k": args.k, "block_size": args.block_size, "workers": args.workers}
    engine, out["build_s"], out["build_peak_mb"] = measured(lambda: MatchEngine.build(graph, regions, policy, frames))
    base, out["baseline_s"], out["baseline_peak_mb"] = measured(
        lambda: engine.top_suppliers_all(args.k, block_size=args.block_size))
    out["baseline_rows"] = base.height
    del base
    with tempfile.TemporaryDirectory() as tmp:
        db = create_db_engine(f"sqlite:///{tmp}/runs.db")
        prepare_store(db)
        options = RunOptions(k=args.k, block_size=args.block_size)
        record, out["run_s"], out["run_peak_mb"] = measured(lambda: execute(
            engine.index, RunStore(db), Path(tmp) / "runs", options, DEFAULT_PROFILE, LocalExecutor(args.workers),
            xlsx=args.xlsx))
        out["run_counts"], out["run_timings"] = record.counts, record.timings
        run_dir = Path(tmp) / "runs" / record.id
        out["files_mb"] = {p.name: round(p.stat().st_size / 2**20, 1) for p in run_dir.iterdir()}
    out["run_over_baseline"] = round(out["run_s"] / out["baseline_s"], 2)
    ids = random.Random(7).sample(engine.enterprise_ids(), min(args.sample, len(engine)))
    _, sample_s, _ = measured(lambda: [engine.buyers_for(e, k=args.k) for e in ids])
    out["buyers_for_ms"] = round(1000 * sample_s / len(ids), 1)
    out["buyers_for_all_extrapolated_s"] = round(sample_s / len(ids) * len(engine), 1)
    print(json.dumps(out, ensure_ascii=False, indent=2 if args.json else None))


if __name__ == "__main__":
    main()
