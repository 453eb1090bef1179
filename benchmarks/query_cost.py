"""The engine's cost per single supplier query, in process, from a saved index: the number to compare code by.

Loads an engine saved with ``MatchEngine.save`` (``--index``; built from the generated corpus and saved there
first when absent), samples ``--queries`` stored needs (seeded), warms up, and answers each with
``suppliers_for(enterprise, need, k=10)`` for ``--rounds`` rounds. Prints per round the wall p50 / p90 / p99
and the process CPU per query, and a digest of every returned list (supplier, offer, score), so two trees
can be checked to return the same lists. ``--stages`` also times the pipeline's stages by wrapping the
functions :mod:`matching.engine` calls (the wrappers add a little to every figure).

Old against new on the same saved index, alternately (``PYTHONPATH`` picks the tree)::

    PYTHONPATH=/tmp/cm-base .venv/bin/python -m benchmarks.query_cost --index data/bench/engine-100k
    .venv/bin/python -m benchmarks.query_cost --index data/bench/engine-100k
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import matching.engine as engine_module
from benchmarks.candidate_cut import load_or_build, sampled_needs
from matching.engine import MatchEngine
from matching.items import ItemBuilder

STAGES = ("supply_candidates", "stored", "filter_mask", "relevance", "components", "weighted_score",
          "mark_served", "dedupe", "top_k")


def _timed_stages(totals: dict[str, float]) -> None:
    """Wrap the stage functions the engine module calls, adding their wall time to ``totals``."""

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - started
        return timed

    for name in STAGES:
        if hasattr(engine_module, name):
            setattr(engine_module, name, wrap(name, getattr(engine_module, name)))
    ItemBuilder.item = wrap("items", ItemBuilder.item)  # type: ignore[method-assign]


def _round(engine: MatchEngine, queries: list[tuple[str, str]]) -> tuple[np.ndarray, float, str]:
    digest = hashlib.sha256()
    ms: list[float] = []
    cpu = time.process_time()
    for eid, nid in queries:
        started = time.perf_counter()
        items = engine.suppliers_for(eid, nid, k=10).items
        ms.append((time.perf_counter() - started) * 1000)
        for it in items:
            digest.update(f"{it.supplier.id}|{it.offer_id}|{it.score:.6f};".encode())
        digest.update(b"\n")
    cpu_ms = (time.process_time() - cpu) * 1000 / max(1, len(queries))
    return np.array(ms), cpu_ms, digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000, help="corpus size when the index must be built")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--index", type=Path, required=True, help="saved engine (built and saved when absent)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stages", action="store_true", help="time the pipeline's stages too")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engine = load_or_build(args)
    queries = sampled_needs(engine, args.queries, args.seed)
    _round(engine, queries[:30])  # warm the caches and the pages
    totals: dict[str, float] = defaultdict(float)
    if args.stages:
        _timed_stages(totals)
    rounds: list[dict[str, Any]] = []
    for n in range(1, args.rounds + 1):
        totals.clear()
        ms, cpu_ms, digest = _round(engine, queries)
        row: dict[str, Any] = {"round": n, **{f"p{q}_ms": round(float(np.percentile(ms, q)), 2) for q in (50, 90, 99)},
                               "cpu_ms_per_query": round(cpu_ms, 2), "lists": digest}
        if args.stages:
            whole = float(ms.sum()) / 1000
            row["stages_share"] = {k: round(v / whole, 3) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}
            row["stages_share"]["rest"] = round(1 - sum(totals.values()) / whole, 3)
        rounds.append(row)
        print(" | ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    if args.json:
        print(json.dumps({"index": str(args.index), "queries": len(queries), "rounds": rounds}))


if __name__ == "__main__":
    main()
