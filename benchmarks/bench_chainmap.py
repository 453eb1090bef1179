"""Chain-map benchmark (issue 11): facts, gaps, recruitment targets, warnings, plan targets and a chain map over
the whole corpus, against two baselines measured in the same run on the same data:

* the engine build (``MatchEngine.build``), which every analysis needs anyway: ratio = analysis / build;
* a naive per-need Python loop (for each demand, scan every live offer and test the relation) timed on a
  seeded sample of demands and extrapolated to all of them: ratio = loop / vectorised facts.

Run: .venv/bin/python -m benchmarks.bench_chainmap --size 100000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import time
from pathlib import Path
from typing import Any

from benchmarks.synthetic import cached_frames
from matching import chainmap as cm
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.regions import RegionRegistry


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(results: dict[str, Any], name: str, fn: Any) -> Any:
    start = time.perf_counter()
    out = fn()
    results[f"{name}_s"] = round(time.perf_counter() - start, 3)
    print(f"{name}: {results[f'{name}_s']} s (peak RSS {_rss_mb():.0f} MB)", flush=True)
    return out


def naive_viable_counts(engine: MatchEngine, facts: cm.ChainFacts, sample: int, seed: int = 11) -> float:
    """Seconds per demand of a per-need loop over every live offer (the baseline), on ``sample`` demands."""
    ix = engine.index
    rel = ix.relations.head
    p = facts.params
    demand = facts.demand.select("slot", "node").to_numpy()
    rng = random.Random(seed)
    picks = [demand[i] for i in rng.sample(range(len(demand)), min(sample, len(demand)))]
    offers = [r for r in range(len(ix.offers)) if ix.offers.alive.view[r]]
    heads = ix.offers.head_nodes.view
    confs = ix.offers.head_conf.view
    ent = ix.offers.ent.view
    start = time.perf_counter()
    for slot, node in picks:
        suppliers: set[int] = set()
        for r in offers:
            for h, c in zip(heads[r].tolist(), confs[r].tolist(), strict=True):
                if h >= 0 and c >= p.viable_link_confidence and rel[node, h] >= p.viable_relation:
                    suppliers.add(int(ent[r]))
        suppliers.discard(int(slot))
    return (time.perf_counter() - start) / max(len(picks), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--naive-sample", type=int, default=20, help="Demands the naive loop is timed on")
    ap.add_argument("--region", default="500000", help="Region of the recruitment-target query")
    ap.add_argument("--chain", default="battery_cathode_phosphate", help="Chain of the chain-map query")
    ap.add_argument("--cache-dir", type=Path, default=Path("data/bench"))
    ap.add_argument("--json", type=Path, default=None, help="Also write the results here")
    args = ap.parse_args()
    graph, regions, policy = load_graph(), RegionRegistry.load(), Policy.load()
    (ents, offers, needs), _ = cached_frames(graph, regions, args.size, seed=args.seed, cache_dir=args.cache_dir)
    results: dict[str, Any] = {"size": args.size, "offers": offers.height, "needs": needs.height}
    engine = _timed(results, "engine_build", lambda: MatchEngine.build(graph, regions, policy, (ents, offers, needs)))
    facts = _timed(results, "facts", lambda: cm.build_facts(engine.index))
    results |= {"demand_rows": facts.demand.height, "inferred_rows": int(facts.demand["inferred"].sum()),
                "viable_pairs": facts.viable.height, "circle_firms": int(facts.firms["in_circle"].sum())}
    gaps = _timed(results, "gaps_all", lambda: cm.gaps(facts))
    results["gaps"] = len(gaps.items)
    warns = _timed(results, "warnings_all", lambda: cm.warnings(facts))
    results["warnings"] = len(warns.items)
    rec = _timed(results, "recruitment_region", lambda: cm.recruitment_targets(facts, args.region))
    results["recruitment_targets"] = len(rec.items)
    chain = args.chain if args.chain in graph.chains else sorted(graph.chains)[0]
    _timed(results, "chain_map", lambda: cm.chain_map(facts, chain))
    plan = _timed(results, "targets", lambda: cm.targets(facts, policy))
    results["targets_measurable"] = plan.meta["measurable"]
    per_need = naive_viable_counts(engine, facts, args.naive_sample)
    results["naive_loop_s_per_demand"] = round(per_need, 4)
    results["naive_loop_extrapolated_s"] = round(per_need * facts.demand.height, 1)
    analyses = sum(results[k] for k in ("facts_s", "gaps_all_s", "warnings_all_s", "recruitment_region_s",
                                        "chain_map_s", "targets_s"))
    results["analyses_total_s"] = round(analyses, 3)
    results["analyses_vs_build"] = round(analyses / results["engine_build_s"], 3)
    results["naive_vs_facts"] = round(results["naive_loop_extrapolated_s"] / max(results["facts_s"], 1e-9), 1)
    results["peak_rss_mb"] = round(_rss_mb())
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
