"""A run's computation: plan blocks, run them on an executor, merge, allocate.

Supplier lists: each buyer's candidates (its best ``depth`` suppliers per block; a buyer is never split over
blocks) go through :func:`matching.runs.allocate.allocate`. Buyer lists: each block yields each supplier's
best ``k`` buyers among the block's buyers; the best ``k`` of those over all blocks are exactly the
supplier's best ``k`` buyers over every pair the run scored. This reverses the demand-side candidate
search, so no per-supplier query runs at all (a single ``buyers_for`` per enterprise is measured in
``benchmarks/bench_runs.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from matching.item_index import ItemIndex
from matching.runs.allocate import allocate
from matching.runs.blocks import PAIR_SCHEMA, BlockContext, BlockResult, cut, plan_blocks
from matching.runs.executors import Executor, LocalExecutor
from matching.runs.options import RunOptions
from matching.weights import WeightProfile

ProgressFn = Callable[[int, int], None]


@dataclass
class Computed:
    """Allocated supplier lists and buyer lists (integer slots), with counts and timings."""

    suppliers: pl.DataFrame
    buyers: pl.DataFrame
    ctx: BlockContext
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def compute(index: ItemIndex, options: RunOptions, weights: WeightProfile, executor: Executor | None = None,
            progress: ProgressFn | None = None) -> Computed:
    executor = executor or LocalExecutor()
    t0 = time.perf_counter()
    filters = weights.filters.model_copy(update={"cross_region_only": options.cross_region_only
                                                 or weights.filters.cross_region_only})
    constrained = options.exposure_cap is not None or options.min_other_region > 0
    depth = options.k * options.candidate_factor if constrained else options.k
    ctx = BlockContext(index, weights, filters, options.k, depth)
    blocks = plan_blocks(index, options.block_size)
    total = sum(len(index.records[e].need_rows) + len(index.records[e].made) for b in blocks for e in b)
    merge = _Merge(options.k, ctx)
    if progress is not None:
        progress(0, total)

    def consume(result: BlockResult) -> None:
        merge.add(result)
        if progress is not None:
            progress(merge.demands, total)

    t1 = time.perf_counter()
    executor.map_blocks(ctx, blocks, consume)
    t2 = time.perf_counter()
    candidates, buyer_parts = merge.result()
    suppliers = allocate(candidates, ctx.ent_rank, index.ent_code.view[: len(index.ent_id)], options.k,
                         options.exposure_cap, options.min_other_region)
    buyers = cut(buyer_parts, "supplier", "buyer", options.k, ctx.ent_rank)
    buyers = buyers.with_columns(rank=pl.int_range(1, pl.len() + 1).over("supplier").cast(pl.Int32))
    t3 = time.perf_counter()
    counts: dict[str, Any] = {
        "enterprises": len(index.records), "blocks": len(blocks), "demand_rows": total,
        "candidates": candidates.height, "supplier_pairs": suppliers.height, "buyer_pairs": buyers.height,
    }
    timings = {"plan_s": t1 - t0, "blocks_s": t2 - t1, "allocate_s": t3 - t2}
    return Computed(suppliers, buyers, ctx, counts, timings)


class _Merge:
    """Block results as they arrive: supplier candidates are kept (bounded by the output: k × factor per
    buyer); buyer parts are folded into each supplier's best k whenever they exceed the kept rows, so memory
    stays bounded whatever the number of blocks. Cuts use total orders, so arrival order does not matter."""

    def __init__(self, k: int, ctx: BlockContext) -> None:
        self.k = k
        self.ctx = ctx
        self.suppliers: list[pl.DataFrame] = []
        self.buyers = pl.DataFrame(schema=PAIR_SCHEMA)
        self.pending: list[pl.DataFrame] = []
        self.pending_rows = 0
        self.demands = 0

    def add(self, result: BlockResult) -> None:
        self.demands += result.demands
        self.suppliers.append(result.suppliers)
        self.pending.append(result.buyers)
        self.pending_rows += result.buyers.height
        if self.pending_rows > max(self.buyers.height, 1 << 20):
            self._fold()

    def _fold(self) -> None:
        self.buyers = cut(pl.concat([self.buyers, *self.pending]), "supplier", "buyer", self.k, self.ctx.ent_rank)
        self.pending, self.pending_rows = [], 0

    def result(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        self._fold()
        return pl.concat([pl.DataFrame(schema=PAIR_SCHEMA), *self.suppliers]), self.buyers
