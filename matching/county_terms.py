"""Distance and cross-region components per county, so a query computes them once per county, not per pair.

An enterprise's coordinates are its county seat's (:class:`matching.item_index.ItemIndex` reads them from the
region registry by code), so both components of a pair depend only on the two region codes. Ranking
thousands of graph candidates then gathers two small per-county arrays instead of evaluating the
great-circle formula for every candidate.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from matching.components import cross_region_score, distance_score, great_circle_km
from matching.scoring import RegionLookup

CODE_LIMIT = 1_000_000  # six-digit division codes index a lookup array directly
TERMS_KEPT = 4096  # asking locations whose terms are kept (China has about 2,850 counties)


class CountyTable:
    """Region codes seen so far as small indices, with their county seats' coordinates (NaN where the
    registry does not know the code); index 0 stands for no code (−1)."""

    def __init__(self, regions: RegionLookup) -> None:
        self._regions = regions
        self._lock = threading.Lock()
        self._index = np.full(CODE_LIMIT, -1, dtype=np.int32)  # -1: not seen yet
        # (codes, lat, lon), replaced as one tuple before the new codes' indices are published
        self._columns = (np.array([-1], dtype=np.int64), np.array([np.nan]), np.array([np.nan]))
        # terms() per asking county, for the columns they were computed against (a query asks once per block)
        self._terms: tuple[object, dict[tuple[int, float | None, float | None], tuple[np.ndarray, np.ndarray]]] = (
            self._columns, {})

    @property
    def lookup(self) -> np.ndarray:
        """Region code → table index (−1: not seen yet), for compiled readers; an index is published only after
        the columns that :meth:`terms` reads hold it."""
        return self._index

    def indices(self, codes: np.ndarray) -> np.ndarray:
        """The table index of each region code (codes it has not seen yet are added)."""
        known = (codes >= 0) & (codes < CODE_LIMIT)
        safe = np.where(known, codes, 0)
        idx = self._index[safe]
        if (known & (idx < 0)).any():
            self._add(np.unique(codes[known & (idx < 0)]))
            idx = self._index[safe]
        out: np.ndarray = np.where(known, idx, 0)
        return out

    def _add(self, codes: np.ndarray) -> None:
        with self._lock:  # columns are replaced, never changed in place, so readers need no lock
            fresh = [int(c) for c in codes.tolist() if self._index[c] < 0]
            if not fresh:
                return
            regions = [self._regions.get(f"{c:06d}") for c in fresh]
            known, lat, lon = self._columns
            self._columns = (
                np.concatenate([known, np.array(fresh, dtype=np.int64)]),
                np.concatenate([lat, [np.nan if r is None else float(getattr(r, "lat", np.nan)) for r in regions]]),
                np.concatenate([lon, [np.nan if r is None else float(getattr(r, "lon", np.nan)) for r in regions]]),
            )
            self._index[np.array(fresh)] = np.arange(len(known), len(known) + len(fresh))

    def terms(self, lat: float, lon: float, code: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distance, cross-region)`` components of a party at ``(lat, lon)`` in region ``code`` (−1:
        unknown) against each county of the table, as :mod:`matching.components` scores them per pair; kept
        per location (read-only) until the table learns a county."""
        columns = self._columns
        cached_for, cache = self._terms
        if cached_for is not columns:
            cache = {}
            self._terms = (columns, cache)
        key = (code, None if np.isnan(lat) else lat, None if np.isnan(lon) else lon)
        hit = cache.get(key)
        if hit is None:
            codes, lats, lons = columns
            hit = (distance_score(great_circle_km(lat, lon, lats, lons)),
                   cross_region_score(np.full(len(codes), code), codes))
            for column in hit:
                column.flags.writeable = False  # shared by every query from this location
            if len(cache) >= TERMS_KEPT:
                cache.clear()
            cache[key] = hit
        return hit


_tables: OrderedDict[int, tuple[RegionLookup, CountyTable]] = OrderedDict()
_tables_lock = threading.Lock()
KEPT_TABLES = 4  # a service has one registry; tests build a few


def county_table(regions: RegionLookup) -> CountyTable:
    """The county table of a region registry (one per registry object; the last few are kept)."""
    hit = _tables.get(id(regions))
    if hit is None or hit[0] is not regions:
        with _tables_lock:
            hit = _tables[id(regions)] = (regions, CountyTable(regions))
            while len(_tables) > KEPT_TABLES:
                _tables.popitem(last=False)
    return hit[1]
