"""Allocation of supplier lists under constraints: an exposure cap and a minimum of other-region candidates.

Greedy by score in one deterministic order: candidate pairs sorted by (main before backfill, score
descending, buyer id, supplier id). A pair is accepted into its buyer's list while the list has room, the
supplier has appeared in fewer than ``exposure_cap`` lists, and, when ``min_other_region`` is set, while
the list still keeps enough free places for candidates from another prefecture-level city (市, the first
four digits of the county code) than the buyer's. A second pass in the same order fills the places that
were kept free but found no other-region candidate, so a list is never shorter than it has to be. Then
each list is ranked by (main first, score descending, supplier id). Without constraints this is exactly
each buyer's top k.
"""

from __future__ import annotations

import numpy as np
import polars as pl


def allocate(candidates: pl.DataFrame, ent_rank: np.ndarray, ent_code: np.ndarray, k: int,
             exposure_cap: int | None = None, min_other_region: int = 0) -> pl.DataFrame:
    """``candidates`` (columns ``buyer, supplier, backfill, score`` …, integer slots) → each buyer's list,
    with ``rank`` (1-based)."""
    rank = pl.Series(ent_rank, dtype=pl.Int64)
    frame = candidates.with_columns(_b=rank.gather(candidates["buyer"]), _s=rank.gather(candidates["supplier"]))
    if exposure_cap is None and min_other_region <= 0:
        chosen = frame.sort(["_b", "backfill", "score", "_s"], descending=[False, False, True, False])
        chosen = chosen.group_by("buyer", maintain_order=True).head(k)
    else:
        order = frame.sort(["backfill", "score", "_b", "_s"], descending=[False, True, False, False])
        buyers = order["buyer"].to_numpy()
        suppliers = order["supplier"].to_numpy()
        city = ent_code // 100
        other = city[buyers] != city[suppliers]
        accepted = _greedy(buyers, suppliers, other, k, exposure_cap, min(min_other_region, k))
        chosen = order.filter(pl.Series(accepted))
    chosen = chosen.sort(["_b", "backfill", "score", "_s"], descending=[False, False, True, False])
    chosen = chosen.with_columns(rank=pl.int_range(1, pl.len() + 1).over("buyer").cast(pl.Int32))
    return chosen.drop("_b", "_s")


def _greedy(buyers: np.ndarray, suppliers: np.ndarray, other: np.ndarray, k: int, cap: int | None,
            min_other: int) -> np.ndarray:
    accepted = np.zeros(len(buyers), dtype=np.bool_)
    size: dict[int, int] = {}
    same: dict[int, int] = {}
    exposure: dict[int, int] = {}
    limit = cap if cap is not None else len(buyers) + 1
    for final in (False, True):  # pass 1 keeps places for other regions; pass 2 fills what stayed empty
        for i, (b, s, o) in enumerate(zip(buyers.tolist(), suppliers.tolist(), other.tolist(), strict=True)):
            if accepted[i] or size.get(b, 0) >= k or exposure.get(s, 0) >= limit:
                continue
            if not final and not o and same.get(b, 0) >= k - min_other:
                continue
            accepted[i] = True
            size[b] = size.get(b, 0) + 1
            exposure[s] = exposure.get(s, 0) + 1
            if not o:
                same[b] = same.get(b, 0) + 1
        if min_other == 0:
            break
    return accepted
