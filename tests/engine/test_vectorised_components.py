"""The vectorised components equal the per-pair definitions in :mod:`matching.scoring` (the specification).

Random firms in random counties all over China with random capacities and volumes; every returned item's
distance, capacity, cross-region, standing and total score are recomputed pair by pair.
"""

from __future__ import annotations

import random

import pytest

from matching.engine import MatchEngine
from matching.profiles import Enterprise, Quantity
from matching.regions import RegionRegistry
from matching.scoring import (
    capacity_component,
    cross_region_component,
    distance_component,
    standing_component,
    weighted,
)
from matching.weights import DEFAULT_PROFILE

from .conftest import ent

UNITS = ["吨/年", "万吨/年", "t/a", "件/年", "台/年", "桶/年"]
TAGS = [[], ["规上"], ["专精特新"], ["单项冠军"]]


def _profiles(regions: RegionRegistry, n: int, seed: int) -> list[Enterprise]:
    rng = random.Random(seed)
    codes = [r.code for r in regions.all()]
    out: list[Enterprise] = []
    for i in range(n):
        qty = {"value": rng.choice([None, 0, 5, 120.0, 3e4]), "unit": rng.choice(UNITS)}
        offers = [{"id": "o1", "product": rng.choice(["硫酸锰", "电解锰", "PTMEG"]), "capacity": qty}]
        needs = [{"id": "n1", "product": rng.choice(["硫酸锰", "氨纶", "NCM811"]),
                  "volume": {"value": rng.choice([None, 1, 80.0, 2e4]), "unit": rng.choice(UNITS)}}]
        out.append(ent(f"r{i:03d}", rng.choice(codes), offers, needs, tags=rng.choice(TAGS)))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_components_equal_the_per_pair_definitions(graph, regions, policy, seed: int) -> None:  # type: ignore[no-untyped-def]
    profiles = _profiles(regions, 40, seed)
    engine = MatchEngine.build(graph, regions, policy, profiles)
    by_id = {e.id: e for e in profiles}
    checked = 0
    for e in profiles:
        for item in engine.suppliers_for(e.id, "n1", k=50).items:
            supplier, buyer = by_id[item.supplier.id], by_id[item.buyer.id]
            sc, bc = supplier.region_code, buyer.region_code
            assert sc is not None and bc is not None
            km = regions.distance_km(sc, bc)
            offer = supplier.offers[0]
            need = buyer.needs[0]
            assert isinstance(offer.capacity, Quantity) and isinstance(need.volume, Quantity)
            expected = {
                "distance": distance_component(km),
                "capacity": capacity_component(offer.capacity, need.volume),
                "cross_region": cross_region_component(sc, bc),
                "standing": standing_component(supplier.tags),
            }
            for name, value in expected.items():
                assert item.components[name] == pytest.approx(value, abs=1e-3), (name, sc, bc)
            total, _ = weighted(item.components, DEFAULT_PROFILE)
            assert item.score == pytest.approx(total, abs=1e-3)
            checked += 1
    assert checked >= 20
