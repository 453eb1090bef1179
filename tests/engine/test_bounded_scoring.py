"""Bounded scoring (``matching.bounds``): a supplier query scores its candidates in falling bound order and
stops early, yet returns exactly the list that scoring every candidate returns.

The corpus is the benchmarks' generated one at 3,000 firms over the real graph, so a need has hundreds of
candidates, as at scale, and most queries stop early.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import pytest

import matching.bounds
import matching.engine
from benchmarks.synthetic import synthetic_enterprises
from matching.bounds import pair_bounds
from matching.candidates import supply_candidates_with_nodes
from matching.chains import load_graph
from matching.components import components, filter_mask, weighted_score
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.profiles import Need
from matching.ranking import Scored, served_hits
from matching.regions import RegionRegistry
from matching.relevance import relevance
from matching.sides import stored
from matching.weights import COMPONENTS, DEFAULT_PROFILE, MatchFilters, WeightProfile

SCORE_EVERYTHING = 1 << 40


@pytest.fixture(scope="module")
def engine() -> MatchEngine:
    graph, regions = load_graph(), RegionRegistry.load()
    return MatchEngine.build(graph, regions, Policy.load(), synthetic_enterprises(graph, regions, 3000, seed=11))


def _profiles() -> Iterator[WeightProfile]:
    yield DEFAULT_PROFILE
    yield WeightProfile(name="text-led", version=1, weights={"text": 0.6, "product": 0.2, "distance": 0.2})
    yield WeightProfile(name="product-only", version=1, weights={"product": 1.0})
    yield WeightProfile(name="near", version=1, weights={"distance": 0.5, "cross_region": 0.1, "product": 0.4})
    rng = random.Random(3)
    for n in range(3):
        yield WeightProfile(name=f"random-{n}", version=1, weights={c: rng.random() for c in COMPONENTS})


def _queries(engine: MatchEngine, count: int) -> list[tuple[str, str]]:
    ix = engine.index
    firms = sorted((r for r in ix.records.values() if r.need_rows), key=lambda r: r.enterprise.id)
    picks = random.Random(5).sample(firms, count)
    return [(r.enterprise.id, ix.needs.item_id[r.need_rows[0]]) for r in picks]


def test_bounded_lists_equal_the_lists_of_scoring_every_candidate(
    engine: MatchEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    stopped = []
    settled = matching.bounds.settled

    def spy(*args: object, **kwargs: object) -> bool:
        out = settled(*args, **kwargs)  # type: ignore[arg-type]
        stopped.append(out)
        return out

    monkeypatch.setattr(matching.engine, "settled", spy)
    filters = [None, MatchFilters(cross_region_only=True), MatchFilters(min_score=0.5)]
    asked = 0
    for n, (profile, (eid, nid)) in enumerate(zip(list(_profiles()) * 12, _queries(engine, 84), strict=True)):
        k, active = (1, 5, 10, 25)[n % 4], filters[n % 3]
        bounded = engine.suppliers_for(eid, nid, k=k, weights=profile, filters=active).model_dump()
        whole_need = engine.suppliers_for(eid, k=k, weights=profile).model_dump()
        adhoc_need = Need(id="q", product=engine.index.needs.product[engine.index.records[eid].need_rows[0]])
        adhoc = engine.match(adhoc_need, region_code="500102", k=k, weights=profile).model_dump()
        with monkeypatch.context() as m:
            m.setattr(matching.engine, "FIRST_SCORED", SCORE_EVERYTHING)
            assert engine.suppliers_for(eid, nid, k=k, weights=profile, filters=active).model_dump() == bounded
            assert engine.suppliers_for(eid, k=k, weights=profile).model_dump() == whole_need
            assert engine.match(adhoc_need, region_code="500102", k=k, weights=profile).model_dump() == adhoc
        asked += bool(bounded["items"])
    assert asked > 60
    assert sum(stopped) > 30, "many queries should stop before scoring every candidate"


def test_no_candidate_scores_above_its_bound(engine: MatchEngine) -> None:
    ix = engine.index
    checked = 0
    for profile, (eid, nid) in zip(list(_profiles()) * 12, _queries(engine, 84), strict=True):
        row = next(r for r in ix.records[eid].need_rows if ix.needs.item_id[r] == nid)
        demand = stored(ix, ix.needs, np.array([row]))
        di, rows, nodes = supply_candidates_with_nodes(ix, demand, 1 << 30, profile.weights)
        bounds = pair_bounds(ix, demand, nodes, di, rows, profile.weights)
        supply = stored(ix, ix.offers, rows)
        si = np.arange(len(rows))
        ok = filter_mask(ix, demand, supply, di, si, MatchFilters())
        rel = relevance(ix, demand, supply, di, si, equipment=False)
        comps, _ = components(ix, demand, supply, di, si, rel)
        score = weighted_score(comps, profile)
        assert np.all(score <= bounds.total), profile.name
        scored = Scored(di=di, si=si, score=score, backfill=rel.backfill, kind=rel.kind, product=rel.product,
                        inferred=np.zeros(len(di), np.bool_), buyer=demand.slot[di], supply_row=rows)
        assert not np.any(served_hits(scored, ix.params.served) & ok & ~bounds.may_serve)
        checked += len(di)
    assert checked > 2500


def _scored(scores: list[float], kinds: list[int], demand: list[int] | None = None) -> Scored:
    n = len(scores)
    return Scored(di=np.array(demand or [0] * n), si=np.arange(n), score=np.array(scores),
                  backfill=np.zeros(n, np.bool_), kind=np.array(kinds, np.int8), product=np.full(n, 0.5),
                  inferred=np.zeros(n, np.bool_), buyer=np.zeros(n, np.int64), supply_row=np.arange(n))


def test_the_stop_rule_needs_k_main_scores_above_every_unscored_bound() -> None:
    from matching.bounds import settled
    from matching.relation_matrix import KIND_TEXT
    from matching.relevance import SAME

    s = _scored([0.9, 0.8, 0.7], [SAME] * 3)
    keep = np.ones(3, np.bool_)
    none = np.zeros(0, np.int64)
    assert settled(s, keep, 2, 0.8, 0.79, none)
    assert not settled(s, keep, 2, 0.8, 0.8, none)  # an unscored pair could tie the k-th and win on ids
    assert not settled(s, keep, 4, 0.8, 0.0, none)  # fewer than k main pairs: the rest must be scored
    assert not settled(s, np.array([True, False, True]), 2, 0.8, 0.75, none)  # a pair the list may not keep
    s.backfill[0] = True
    assert not settled(s, keep, 2, 0.8, 0.75, none)  # backfill only fills a short list

    # A text pair above the k-th whose demand an unscored pair may still serve could turn into backfill.
    t = _scored([0.95, 0.9, 0.8], [KIND_TEXT, SAME, SAME])
    assert not settled(t, keep, 2, 0.8, 0.7, np.array([0]))
    assert settled(t, keep, 2, 0.8, 0.7, np.array([1]))  # another demand: no doubt
    t.product[1] = 0.85  # a scored pair already serves demand 0, so its text pairs are backfill already
    assert settled(t, keep, 2, 0.8, 0.7, np.array([0]))
