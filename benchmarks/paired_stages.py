"""The engine's single-query cost with this tree's pipeline stages against another tree's, paired in one process.

On a shared, noisy machine two separate processes can differ by 1.5× for the same code, so this answers every
sampled need twice in one process, alternating which goes first: once with this tree's stage modules and once
with another tree's (``--base``, e.g. a ``git worktree`` of an older commit). The other tree's
``matching/{columns,county_terms,candidates,relevance,ranking}.py`` are loaded under private names, each
importing the other tree's versions of the ones before it, and swapped into :mod:`matching.engine` for its
half of the pairs; everything else (index, stored columns, items) is this tree's. Prints the medians, their
ratio and whether any returned list differs. Stages whose functions the other tree lacks cannot be compared.

    git worktree add /tmp/cm-base <commit>
    .venv/bin/python -m benchmarks.paired_stages --index data/bench/engine-1m --base /tmp/cm-base
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import numpy as np

import matching.engine as engine_module
from benchmarks.candidate_cut import load_or_build, sampled_needs

STAGE_MODULES = ("columns", "county_terms", "candidates", "relevance", "ranking")
ENGINE_NAMES = ("supply_candidates", "relevance", "mark_served", "dedupe", "top_k", "unique")


def load_stages(base: Path) -> dict[str, ModuleType]:
    """The other tree's stage modules, each executed while ``sys.modules`` maps the earlier ones to it."""
    loaded: dict[str, ModuleType] = {}
    saved = {name: sys.modules[f"matching.{name}"] for name in STAGE_MODULES}
    try:
        for name in STAGE_MODULES:
            spec = importlib.util.spec_from_file_location(f"base_matching_{name}", base / "matching" / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = sys.modules[f"matching.{name}"] = module
    finally:
        sys.modules.update(saved)
    return loaded


@contextmanager
def stages_of(base: dict[str, ModuleType]) -> Iterator[None]:
    """:mod:`matching.engine` calling the other tree's stages (``np.unique`` where it had no ``unique``)."""
    found = {"supply_candidates": base["candidates"].supply_candidates, "relevance": base["relevance"].relevance,
             "mark_served": base["ranking"].mark_served, "dedupe": base["ranking"].dedupe,
             "top_k": base["ranking"].top_k, "unique": np.unique}  # fmt: skip
    mine = {name: getattr(engine_module, name) for name in ENGINE_NAMES if hasattr(engine_module, name)}
    try:
        for name, fn in found.items():
            setattr(engine_module, name, fn)
        yield
    finally:
        for name, fn in mine.items():
            setattr(engine_module, name, fn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, required=True, help="saved engine (built and saved when absent)")
    parser.add_argument("--base", type=Path, required=True, help="the other source tree")
    parser.add_argument("--size", type=int, default=100_000, help="corpus size when the index must be built")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    engine = load_or_build(args)
    base = load_stages(args.base)
    queries = sampled_needs(engine, args.queries, args.seed)
    for eid, nid in queries[:30]:  # warm-up, both ways
        engine.suppliers_for(eid, nid, k=10)
        with stages_of(base):
            engine.suppliers_for(eid, nid, k=10)
    for round_no in range(1, args.rounds + 1):
        ms: dict[str, list[float]] = {"this": [], "base": []}
        differ = 0
        for j, (eid, nid) in enumerate(queries):
            lists = {}
            for side in (("this", "base") if j % 2 == 0 else ("base", "this")):
                started = time.perf_counter()
                if side == "base":
                    with stages_of(base):
                        items = engine.suppliers_for(eid, nid, k=10).items
                else:
                    items = engine.suppliers_for(eid, nid, k=10).items
                ms[side].append((time.perf_counter() - started) * 1000)
                lists[side] = [(it.supplier.id, it.offer_id, round(it.score, 6)) for it in items]
            differ += lists["this"] != lists["base"]
        this, other = np.median(ms["this"]), np.median(ms["base"])
        print(f"round {round_no} | p50 ms this {this:.2f} base {other:.2f} | ratio {this / other:.3f} | "
              f"mean ratio {np.mean(ms['this']) / np.mean(ms['base']):.3f} | lists differ {differ}", flush=True)


if __name__ == "__main__":
    main()
