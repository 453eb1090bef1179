"""The compiled components (``matching.pair_components``) equal the NumPy components bit for bit.

Candidate pairs of the benchmark corpus (counties all over China, capacities and volumes in several units,
priority chains by region) plus random pairs, for stored needs, a firm's several needs, inferred demand and
ad-hoc queries with and without a region; and hand-made quantities for the corner cases (zero, negative,
missing and infinite volumes).
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.synthetic import realistic_frames
from matching.candidates import supply_candidates
from matching.chains import load_graph
from matching.components import components
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.profiles import Need
from matching.regions import RegionRegistry
from matching.relevance import relevance
from matching.sides import Side, concat, inferred, query, stored
from matching.text import item_text


@pytest.fixture(scope="module")
def engine() -> MatchEngine:
    graph, regions = load_graph(), RegionRegistry.load()
    return MatchEngine.build(graph, regions, Policy.load(), realistic_frames(graph, regions, 2_000, seed=13))


def _check(engine: MatchEngine, demand: Side, extra: np.ndarray | None = None) -> dict[str, int]:
    ix = engine.index
    di, rows = supply_candidates(ix, demand, engine.params.graph_top_n)
    if extra is not None:
        rows = np.concatenate([rows, extra])
        di = np.concatenate([di, np.arange(len(extra)) % max(len(demand), 1)])
    uniq, si = np.unique(rows, return_inverse=True)
    supply = stored(ix, ix.offers, uniq)
    rel = relevance(ix, demand, supply, di, si, equipment=True)
    fast, km_fast = components(ix, demand, supply, di, si, rel)
    slow, km_slow = components(ix, demand, supply, di, si, rel, compiled=False)
    assert np.array_equal(km_fast, km_slow, equal_nan=True)
    for name, column in slow.items():
        assert fast[name].dtype == column.dtype, name
        assert np.array_equal(fast[name], column), name  # the same bits, not close values
    return {f"{name}={value:g}": int((slow[name] == value).sum()) for name in ("capacity", "cross_region", "policy")
            for value in np.unique(slow[name]).tolist()}


def test_compiled_components_equal_the_numpy_components(engine: MatchEngine) -> None:
    ix = engine.index
    rng = np.random.default_rng(8)
    seen: dict[str, int] = {}
    for row in rng.choice(len(ix.needs.item_id), size=150, replace=False).tolist():
        extra = rng.choice(len(ix.offers.item_id), size=40, replace=False)
        for key, count in _check(engine, stored(ix, ix.needs, np.array([row])), extra).items():
            seen[key] = seen.get(key, 0) + count
    firms = [r for r in ix.records.values() if r.need_rows and r.made][:30]
    for rec in firms:  # a firm's needs and the demand inferred from what it makes, in one block
        made = sorted(rec.made.items())
        _check(engine, concat(stored(ix, ix.needs, np.array(rec.need_rows, np.int64)),
                              inferred(ix, np.full(len(made), rec.slot), np.array([m for m, _ in made]),
                                       np.array([c for _, c in made], np.float32))))
    for region in ("500117", "520302", None):
        need = Need(id="q", product="己二酸")
        links = ix.links.link(need.product, None, is_need=True)
        _check(engine, query(ix, links, ix.text.transform([item_text(need.product, None)]), product=need.product,
                             region_code=region, certs=frozenset(), qty=(5.0, 0), is_need=True, required=frozenset()))
    # every branch was reached: each cross-region level, both policy levels, capacities cut, full and neutral
    for key in ("cross_region=1", "cross_region=0.7", "cross_region=0.3", "cross_region=0", "policy=1",
                "policy=0.5", "capacity=1", "capacity=0.5"):
        assert seen.get(key, 0) > 0, (key, seen)
    assert any(k.startswith("capacity=") and k not in ("capacity=1", "capacity=0.5") for k in seen), seen


def test_quantity_corner_cases_equal_the_numpy_components(engine: MatchEngine) -> None:
    ix = engine.index
    demand = stored(ix, ix.needs, np.arange(8))
    supply = stored(ix, ix.offers, np.arange(8))
    demand.qty = np.array([0.0, -1.0, np.nan, np.inf, 10.0, 10.0, np.inf, 3.0])
    supply.qty = np.array([5.0, 5.0, 5.0, np.inf, np.nan, 30.0, 1.0, 0.0])
    # municipalities (one city), counties administered by the province (each its own city), unknown codes
    demand.code = np.array([500101, 429004, 429004, 110101, 510104, 510104, -1, 659001])
    supply.code = np.array([500230, 429005, 420102, 110102, 510105, 511002, 510104, 659001])
    demand.qty_dim = np.array([0, 0, 0, 0, 0, 1, 0, -1], np.int16)
    supply.qty_dim = np.array([0, 0, 0, 0, 0, 1, 0, -1], np.int16)
    di = np.repeat(np.arange(8), 8)
    si = np.tile(np.arange(8), 8)
    rel = relevance(ix, demand, supply, di, si, equipment=False)
    fast, _ = components(ix, demand, supply, di, si, rel)
    slow, _ = components(ix, demand, supply, di, si, rel, compiled=False)
    assert np.array_equal(fast["capacity"], slow["capacity"], equal_nan=True)
    assert np.isnan(slow["capacity"]).any()  # inf / inf: NumPy's minimum keeps the NaN, and so does the kernel
    assert np.array_equal(fast["cross_region"], slow["cross_region"])
    diagonal = slow["cross_region"][np.arange(8) * 9]
    assert diagonal.tolist() == [0.3, 0.7, 0.7, 0.3, 0.3, 0.7, 0.5, 0.0]
