"""The compiled relevance rules for explicit demand (``matching.explicit_relevance``) equal the NumPy rules of
``matching.relevance`` bit for bit.

Profiles written the way firms write them (the benchmark corpus: synonyms, grades, brands, English names,
category-only needs) over the real chain graph, so that every rule fires: graph relations of each kind,
siblings, category needs, weak links, family clashes, text-only pairs and offers made from what is asked.
Pairs are both the engine's candidates and random pairs, which reach the rare branches more often.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from benchmarks.synthetic import realistic_frames
from matching.candidates import supply_candidates
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.profiles import Need
from matching.regions import RegionRegistry
from matching.relation_matrix import KIND_CODES, KIND_TEXT
from matching.relevance import Relevance, relevance
from matching.sides import Side, query, stored
from matching.text import item_text
from tests.engine.conftest import ent

AD_HOC = (("导热胶", "用于电池包"), ("己二酸", None), ("火锅底料", "牛油"), ("Q235B 热轧卷板", None),
          ("电梯对重块", None), ("摩托车发动机配件", None), ("汽车座椅骨架", None), ("电池包结构件", None))
FIELDS = ("keep", "product", "text", "kind", "demand_node", "supply_node", "backfill")


@pytest.fixture(scope="module")
def engine() -> MatchEngine:
    graph, regions = load_graph(), RegionRegistry.load()
    return MatchEngine.build(graph, regions, Policy.load(), realistic_frames(graph, regions, 2_000, seed=11))


def _same(a: Relevance, b: Relevance) -> None:
    for name in FIELDS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        assert np.array_equal(x, y), name  # equal floats, not close ones


def test_compiled_rules_equal_the_numpy_rules_on_candidates_and_random_pairs(engine: MatchEngine) -> None:
    ix = engine.index
    rng = np.random.default_rng(4)
    need_rows = rng.choice(len(ix.needs.item_id), size=250, replace=False)
    kinds: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    for row in need_rows.tolist():
        demand = stored(ix, ix.needs, np.array([row]))
        di, offer_rows = supply_candidates(ix, demand, engine.params.graph_top_n)
        random_rows = rng.choice(len(ix.offers.item_id), size=60, replace=False)
        rows = np.concatenate([offer_rows, random_rows])
        uniq, si = np.unique(rows, return_inverse=True)
        di = np.concatenate([di, np.zeros(len(random_rows), np.int64)])
        supply = stored(ix, ix.offers, uniq)
        fast = relevance(ix, demand, supply, di, si, equipment=False)
        slow = relevance(ix, demand, supply, di, si, equipment=False, compiled=False)
        _same(fast, slow)
        kinds.update(str(KIND_CODES[k]) for k in fast.kind.tolist())
        flags.update({"dropped": int((~fast.keep).sum()), "backfill": int(fast.backfill.sum()),
                      "text_only": int(((fast.kind == KIND_TEXT) & fast.keep).sum())})
    # the corpus reached the rules worth comparing
    assert {"same", "specialisation", "sibling", "input", "text"} <= set(kinds), kinds
    assert min(flags.values()) > 0, flags


def _both(engine: MatchEngine, demand: Side) -> None:
    ix = engine.index
    di, offer_rows = supply_candidates(ix, demand, engine.params.graph_top_n)
    uniq, si = np.unique(offer_rows, return_inverse=True)
    supply = stored(ix, ix.offers, uniq)
    _same(relevance(ix, demand, supply, di, si, equipment=False),
          relevance(ix, demand, supply, di, si, equipment=False, compiled=False))


def test_compiled_rules_equal_the_numpy_rules_for_blocks_and_ad_hoc_needs(engine: MatchEngine) -> None:
    ix = engine.index
    firms = [r for r in ix.records.values() if len(r.need_rows) >= 2][:60]
    assert firms
    for rec in firms:  # several needs of one firm in one block
        _both(engine, stored(ix, ix.needs, np.array(rec.need_rows, np.int64)))
    part_of_category = 0
    for product, description in AD_HOC:
        need = Need(id="q", product=product, description=description)
        links = ix.links.link(need.product, need.description, is_need=True)
        demand = query(ix, links, ix.text.transform([item_text(need.product, need.description)]), product=product,
                       region_code="500117", certs=frozenset(), qty=(np.nan, -1), is_need=True, required=frozenset())
        _both(engine, demand)
        part_of_category += int(demand.part_of_category[0])
    assert part_of_category  # needs named by a part of a category (whose end products score half) were asked


def test_an_offer_made_from_what_is_asked_is_dropped_by_both() -> None:
    """The offers' own words (以己二酸为原料) are read in Python after the compiled pass: such an offer is
    downstream of the need even without a graph edge, and neither path proposes it."""
    engine = MatchEngine.build(load_graph(), RegionRegistry.load(), Policy.load(), [  # its own engine: none shared
        ent("made-from-adipic", "500117", [("o1", "弹力面料", "以己二酸为原料的弹力面料，性能稳定")]),
        ent("asks-adipic", "510104", needs=[{"id": "n1", "product": "己二酸", "description": "工业级"}]),
        ent("makes-adipic", "520302", [("o1", "己二酸", "工业级己二酸")]),
    ])
    ix = engine.index
    demand = stored(ix, ix.needs, np.array(ix.records["asks-adipic"].need_rows, np.int64))
    offer_row = ix.records["made-from-adipic"].offer_rows[0]
    di, offer_rows = supply_candidates(ix, demand, engine.params.graph_top_n)
    uniq, si = np.unique(np.concatenate([offer_rows, [offer_row]]), return_inverse=True)
    di = np.concatenate([di, [0]])
    supply = stored(ix, ix.offers, uniq)
    fast = relevance(ix, demand, supply, di, si, equipment=False)
    _same(fast, relevance(ix, demand, supply, di, si, equipment=False, compiled=False))
    pair = len(di) - 1
    assert fast.product[pair] > 0 and fast.text[pair] >= engine.params.backfill_text_min  # text alone would keep it
    assert not fast.keep[pair]
    assert fast.keep[:-1].any()  # the maker of 己二酸 itself is still proposed
