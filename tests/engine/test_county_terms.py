"""Distance and cross-region looked up per county (``matching.county_terms``) equal the per-pair components."""

from __future__ import annotations

import random

import numpy as np

from matching.components import cross_region_score, distance_score, great_circle_km
from matching.county_terms import CountyTable, county_table
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


def test_terms_kept_per_location_cover_counties_learnt_after_them() -> None:
    regions = RegionRegistry.load()
    table = CountyTable(regions)
    codes = [int(r.code) for r in regions.all()]
    table.indices(np.array(codes[:10], dtype=np.int64))
    distance, cross = table.terms(29.99, 106.27, 500117)
    assert table.terms(29.99, 106.27, 500117)[0] is distance  # asked again: the kept arrays
    assert not distance.flags.writeable
    late = np.array([codes[500]], dtype=np.int64)
    county = table.indices(late)  # a county learnt after the terms were computed
    distance, cross = table.terms(29.99, 106.27, 500117)
    assert len(distance) == len(cross) == 12  # "no code", ten counties, the late one
    seat = regions.get(f"{codes[500]:06d}")
    assert seat is not None
    assert distance[county[0]] == distance_score(great_circle_km(29.99, 106.27, np.array([seat.lat]),
                                                                 np.array([seat.lon])))[0]
    assert cross[county[0]] == cross_region_score(np.array([500117]), late)[0]
