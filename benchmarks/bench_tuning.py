"""Tuning costs against a same-run baseline: the engine's own per-need query at k=50.

* preview: re-ranking N needs under current and proposed weights (offline deltas off) — expected ≈ 2×
  the baseline, since it asks the engine twice per need and adds only τ and overlaps;
* pools: recomputing components for every feedback pair (one engine query per (buyer, need)) — ≈ 1×;
* fit: the pairwise ridge with GroupKFold over those pools — should be a small share of the pools' cost.

Run: .venv/bin/python -m benchmarks.bench_tuning --size 2000 --needs 200
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.synthetic import synthetic_enterprises
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.regions import RegionRegistry
from matching.tuning.feedback import FeedbackEvent
from matching.tuning.fit import fit_weights
from matching.tuning.pools import POOL_DEPTH, build_pools, pools_for_queries, weight_vector
from matching.tuning.preview import preview
from matching.weights import DEFAULT_PROFILE, WeightProfile

TRUE = {"distance": 0.45, "cross_region": 0.30, "product": 0.15, "standing": 0.10}


def _timed(fn):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def run(size: int, needs: int) -> dict[str, float]:
    graph, regions, policy = load_graph(), RegionRegistry.load(), Policy.load()
    corpus = synthetic_enterprises(graph, regions, size)
    engine = MatchEngine.build(graph, regions, policy, corpus)
    all_needs = sorted((e.id, n.id) for e in corpus for n in e.needs)
    rng = np.random.default_rng(0)
    chosen = [all_needs[i] for i in sorted(rng.choice(len(all_needs), size=min(needs, len(all_needs)), replace=False))]

    def baseline() -> None:
        for buyer, need in chosen:
            engine.suppliers_for(buyer, need, k=POOL_DEPTH)

    baseline()  # warm caches
    _, t_base = _timed(baseline)
    proposed = WeightProfile(name="default", version=2, weights=TRUE)
    _, t_preview = _timed(lambda: preview(engine, chosen, DEFAULT_PROFILE, proposed, k=10, sample=None, eval_set=None))
    pools = pools_for_queries(engine, chosen)
    w = weight_vector(TRUE)
    events = []
    for pool in pools:
        shown = list(range(min(8, len(pool.items))))
        order = np.argsort(-(pool.features[shown] @ w), kind="stable")
        for rank, i in enumerate(order.tolist()):
            item = pool.items[shown[i]]
            outcome = ("contracted", "met", "contacted")[rank] if rank < 3 else "shown"
            events.append(
                FeedbackEvent(
                    event_id=f"b{len(events)}",
                    buyer_id=pool.buyer_id,
                    need_id=pool.need_id,
                    supplier_id=item.supplier.id,
                    offer_id=item.offer_id,
                    outcome=outcome,
                )
            )  # type: ignore[arg-type]
    (labelled, _lost), t_pools = _timed(lambda: build_pools(engine, events))
    result, t_fit = _timed(lambda: fit_weights(labelled, DEFAULT_PROFILE))
    return {
        "size": size,
        "needs": len(chosen),
        "events": len(events),
        "baseline_s": t_base,
        "preview_s": t_preview,
        "preview_ratio": t_preview / t_base,
        "pools_s": t_pools,
        "pools_ratio": t_pools / t_base,
        "fit_s": t_fit,
        "fit_ratio": t_fit / t_base,
        "ndcg_before": result.cv_before.ndcg,
        "ndcg_after": result.cv_after.ndcg,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--needs", type=int, default=200)
    args = parser.parse_args()
    r = run(args.size, args.needs)
    print("| enterprises | needs | events | baseline s | preview s (×) | pools s (×) | fit s (×) | held-out NDCG@5 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {r['size']} | {r['needs']} | {r['events']} | {r['baseline_s']:.2f} | {r['preview_s']:.2f} "
        f"({r['preview_ratio']:.2f}) | {r['pools_s']:.2f} ({r['pools_ratio']:.2f}) | {r['fit_s']:.2f} "
        f"({r['fit_ratio']:.2f}) | {r['ndcg_before']:.3f} → {r['ndcg_after']:.3f} |"
    )


if __name__ == "__main__":
    main()
