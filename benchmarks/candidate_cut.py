"""Single-query cost and list quality of the candidate cut, against the uncapped engine in the same run.

Loads an engine saved with ``MatchEngine.save`` (``--index``; built from the generated corpus and saved there
first when absent), samples ``--queries`` stored needs, and answers each with ``suppliers_for(k=10)`` under
several ``graph_top_n`` values and with the cut ranked by the pair's party columns (the engine's rule) or
arbitrary among equal relations (the rule before it). The reference is the uncapped list (every graph
candidate kept). Reports, per setting: overlap@10 with the reference, the share of queries whose top result
is the same, the relative loss of the top-10 score sum, and latency p50/p90/p99.

    .venv/bin/python -m benchmarks.candidate_cut --size 100000 --index data/bench/engine-100k --queries 300
    .venv/bin/python -m benchmarks.candidate_cut --size 1000000 --index data/bench/engine-1m --queries 300
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

import matching.candidates as candidates
from benchmarks.synthetic import cached_frames
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.regions import RegionRegistry

Listing = list[tuple[str, str | None, float]]
UNCAPPED = 1 << 30


def load_or_build(args: argparse.Namespace) -> MatchEngine:
    """The engine saved at ``args.index``; built from the generated corpus of ``args.size`` and saved first
    when absent."""
    graph, regions, policy = load_graph(), RegionRegistry.load(), Policy.load()
    if not (args.index / "manifest.json").exists():
        frames, _ = cached_frames(graph, regions, args.size, seed=args.seed)
        started = time.perf_counter()
        built = MatchEngine.build(graph, regions, policy, frames)
        print(f"built in {time.perf_counter() - started:.1f} s", flush=True)
        built.save(args.index)
    return MatchEngine.load(args.index, graph, regions, policy)


def sampled_needs(engine: MatchEngine, count: int, seed: int) -> list[tuple[str, str]]:
    """``(enterprise, need)`` of ``count`` firms with needs, drawn with ``seed``: each firm's first need."""
    ix = engine.index
    with_needs = [r for r in ix.records.values() if r.need_rows]
    picks = random.Random(seed).sample(with_needs, min(count, len(with_needs)))
    return [(r.enterprise.id, ix.needs.item_id[r.need_rows[0]]) for r in picks]


@contextmanager
def _setting(engine: MatchEngine, top_n: int, ranked: bool) -> Iterator[None]:
    """``graph_top_n`` and the cut rule for the block; the arbitrary rule ranks by the relation alone."""
    params, key = engine.params, candidates._supplier_key
    engine.params = params.model_copy(update={"graph_top_n": top_n})
    if not ranked:
        candidates._supplier_key = lambda index, demands, weights: lambda i, rows, scores: scores
    try:
        yield
    finally:
        engine.params, candidates._supplier_key = params, key


def _answer(engine: MatchEngine, queries: list[tuple[str, str]]) -> tuple[list[Listing], np.ndarray]:
    lists: list[Listing] = []
    ms: list[float] = []
    for eid, nid in queries:
        started = time.perf_counter()
        items = engine.suppliers_for(eid, nid, k=10).items
        ms.append((time.perf_counter() - started) * 1000)
        lists.append([(i.supplier.id, i.offer_id, i.score) for i in items])
    return lists, np.array(ms)


def _quality(reference: list[Listing], got: list[Listing]) -> dict[str, float]:
    pairs = list(zip(reference, got, strict=True))
    overlap = [len({x[:2] for x in a} & {x[:2] for x in b}) / max(1, len(a)) for a, b in pairs]
    top1 = [a[:1] == b[:1] for a, b in pairs]
    loss = [(sum(x[2] for x in a) - sum(x[2] for x in b)) / max(1e-9, sum(x[2] for x in a)) for a, b in pairs]
    return {"overlap_at_10": float(np.mean(overlap)), "same_top1": float(np.mean(top1)),
            "score_loss": float(np.mean(loss))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--index", type=Path, required=True, help="saved engine (built and saved when absent)")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--top-n", type=int, nargs="+", default=[2048, 1024, 512, 256])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    engine = load_or_build(args)
    queries = sampled_needs(engine, args.queries, args.seed)
    _answer(engine, queries[:30])  # warm the caches and the memory-mapped pages
    settings = [(UNCAPPED, True), (2048, False)] + [(n, True) for n in args.top_n]
    reference: list[Listing] = []
    rows: list[dict[str, object]] = []
    for top_n, ranked in settings:
        with _setting(engine, top_n, ranked):
            lists, ms = _answer(engine, queries)
        reference = reference or lists
        row: dict[str, object] = {"graph_top_n": "all" if top_n == UNCAPPED else top_n,
                                  "cut": "ranked" if ranked else "arbitrary", **_quality(reference, lists),
                                  **{f"p{q}_ms": float(np.percentile(ms, q)) for q in (50, 90, 99)}}
        rows.append(row)
        print(" | ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
    if args.json:
        print(json.dumps({"size": args.size, "queries": len(queries), "rows": rows}))


if __name__ == "__main__":
    main()
