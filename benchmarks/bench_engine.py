"""Engine speed and memory at several corpus sizes, against a same-run brute-force baseline.

The baseline is a dense cosine scan of one query vector against every offer's TF-IDF row (the cheapest
possible "score everything" matcher). Machines here are shared and noisy, so the figure to compare across runs
is the ratio engine / baseline, not the absolute milliseconds.

Run: .venv/bin/python -m benchmarks.bench_engine --sizes 1000 5000 20000
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from collections.abc import Callable

import numpy as np

from benchmarks.synthetic import synthetic_enterprises
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.regions import RegionRegistry
from matching.text import TextModel


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def run(size: int, queries: int) -> dict[str, float]:
    graph, regions, policy = load_graph(), RegionRegistry.load(), Policy.load()
    corpus = synthetic_enterprises(graph, regions, size)
    start = time.perf_counter()
    engine = MatchEngine.build(graph, regions, policy, corpus)
    build_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB

    # Baseline: one TF-IDF model over all offer texts, dense scan per query.
    texts = [f"{o.product} {o.description or ''}" for e in corpus for o in e.offers]
    model = TextModel().fit(texts)
    offer_matrix = model.transform(texts)
    probe = corpus[: min(queries, len(corpus))]

    def engine_queries() -> None:
        for ent in probe:
            engine.suppliers_for(ent.id, k=10)

    def baseline_queries() -> None:
        for ent in probe:
            for need in ent.needs:
                q = model.transform([need.product])
                scores = (offer_matrix @ q.T).toarray().ravel()
                np.argsort(-scores)[:10]

    engine_ms = _median_ms(engine_queries, 3) / len(probe)
    baseline_ms = _median_ms(baseline_queries, 3) / len(probe)
    ent = corpus[0]
    upsert_ms = _median_ms(lambda: engine.upsert(ent), 5)
    return {"size": size, "build_s": build_s, "peak_rss_mb": peak / 2**20, "engine_ms": engine_ms,
            "baseline_ms": baseline_ms, "ratio": engine_ms / baseline_ms, "upsert_ms": upsert_ms}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    print("| enterprises | build s | peak RSS MB | engine ms/query | brute-force ms/query | ratio | upsert ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes:
        r = run(size, args.queries)
        print(f"| {r['size']} | {r['build_s']:.1f} | {r['peak_rss_mb']:.0f} | {r['engine_ms']:.2f} | "
              f"{r['baseline_ms']:.2f} | {r['ratio']:.2f} | {r['upsert_ms']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
