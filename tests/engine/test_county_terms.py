"""Distance and cross-region looked up per county (``matching.county_terms``) equal the per-pair components."""

from __future__ import annotations

import random

import numpy as np

from matching.components import cross_region_score, distance_score, great_circle_km
from matching.county_terms import county_table
from matching.regions import RegionRegistry


def test_county_terms_equal_the_components_computed_per_pair() -> None:
    regions = RegionRegistry.load()
    table = county_table(regions)
    assert county_table(regions) is table
    sample = random.Random(2).sample([r.code for r in regions.all()], 300)
    # Unregistered and missing codes too: a six-digit code the registry lacks has no coordinates but still
    # counts for cross-region; −1 is no code at all.
    codes = np.array([int(c) for c in sample] + [999999, 0, -1, int(sample[0])], dtype=np.int64)
    seats = [regions.get(f"{c:06d}") for c in codes.tolist()]
    lat = np.array([np.nan if r is None else r.lat for r in seats])
    lon = np.array([np.nan if r is None else r.lon for r in seats])
    first = table.indices(codes)
    assert first[-2] == 0 and first[-1] == first[0]
    for asker in ("500117", "520303", None):  # Hechuan, Zunyi, an ad-hoc query with no region
        region = regions.get(asker) if asker else None
        a_lat, a_lon = (region.lat, region.lon) if region else (np.nan, np.nan)
        a_code = int(asker) if asker else -1
        distance, cross = table.terms(a_lat, a_lon, a_code)
        county = table.indices(codes)
        np.testing.assert_allclose(distance[county], distance_score(great_circle_km(a_lat, a_lon, lat, lon)),
                                   rtol=1e-12)
        assert np.array_equal(cross[county], cross_region_score(np.full(len(codes), a_code), codes))
