"""A batch's offers are stored in the order of their strongest chain node (for a query's memory locality);
what a profile says, and every list, must not depend on that order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from matching.chains import ChainGraph
from matching.engine import MatchEngine
from matching.item_index import ItemIndex
from matching.profiles import Enterprise
from matching.regions import RegionRegistry
from matching.scoring import standing_component
from tests.engine.conftest import StaticPolicy, base_profiles, ent


def _mixed() -> list[Enterprise]:
    """Profiles whose offers interleave nodes, the later ones linking to nodes that sort first."""
    return [*base_profiles(),
            ent("mix-a", "520303", [
                {"id": "x1", "product": "三元前驱体"},
                {"id": "x2", "product": "碳酸锂", "capacity": {"value": 3, "unit": "车皮"}},
                {"id": "x3", "product": "硫酸锰"},
                {"id": "x4", "product": "NCM811"},
            ], name="混合材料"),
            ent("mix-b", "510104", [("y1", "磷酸铁"), ("y2", "电池级碳酸锂"), ("y3", "电解锰")],
                [{"id": "m1", "product": "锰源"}], name="混合贸易")]


def _strongest_nodes(engine: MatchEngine) -> np.ndarray:
    return engine.index.offers.head_nodes.view[:, 0]


def test_a_built_batch_keeps_offers_grouped_by_their_strongest_node(
    make_engine: Callable[[list[Enterprise]], MatchEngine],
) -> None:
    engine = make_engine(_mixed())
    nodes = _strongest_nodes(engine)
    assert len(nodes) == sum(len(e.offers) for e in _mixed())
    assert np.all(np.diff(nodes) >= 0)  # one batch: sorted, unlinked (−1) first
    assert len(set(nodes.tolist())) > 3  # the check means something: several nodes were interleaved


def test_each_record_lists_its_offers_in_its_profiles_order(
    make_engine: Callable[[list[Enterprise]], MatchEngine],
) -> None:
    engine = make_engine(_mixed())
    ix = engine.index
    for profile in _mixed():
        rows = ix.records[profile.id].offer_rows
        assert [ix.offers.item_id[r] for r in rows] == [o.id for o in profile.offers]
        assert [ix.offers.product[r] for r in rows] == [o.product for o in profile.offers]
    # a warning names the offer by its position in the profile, not by its row
    warnings = engine.buyers_for("mix-a").warnings
    assert any("offers[1].capacity.unit" in w and "车皮" in w for w in warnings), warnings


def test_lists_do_not_depend_on_the_order_profiles_were_loaded_in(
    make_engine: Callable[[list[Enterprise]], MatchEngine],
) -> None:
    forward = make_engine(_mixed())
    backward = make_engine(list(reversed(_mixed())))
    assert not np.array_equal(forward.index.offers.item_id, backward.index.offers.item_id)

    def lists(engine: MatchEngine, eid: str) -> list[tuple[str, str | None, float]]:
        return [(i.supplier.id, i.offer_id, round(i.score, 9)) for i in engine.suppliers_for(eid, k=20).items]

    for eid in ("mix-b", "fl-lmfp", "hc-cell"):
        assert lists(forward, eid) == lists(backward, eid)
        assert lists(forward, eid)  # a list to compare


def test_an_upserted_profile_keeps_its_offer_order(make_engine: Callable[[list[Enterprise]], MatchEngine]) -> None:
    engine = make_engine(base_profiles())
    changed = ent("mix-a", "520303", [("z1", "硫酸锰"), ("z2", "碳酸锂"), ("z3", "三元前驱体")])
    engine.upsert(changed)
    rows = engine.index.records["mix-a"].offer_rows
    assert [engine.index.offers.item_id[r] for r in rows] == ["z1", "z2", "z3"]
    assert {i.offer_id for i in engine.buyers_for("mix-a").items} <= {"z1", "z2", "z3"}


def test_offer_party_copies_follow_their_enterprise_through_writes_and_a_reload(
    make_engine: Callable[[list[Enterprise]], MatchEngine], graph: ChainGraph, regions: RegionRegistry,
    policy: StaticPolicy, tmp_path: Path,
) -> None:
    """The graph cut reads each offer's region code and standing from per-offer copies: they must equal the
    enterprise's own columns after a build, an upsert that moves the firm, a removal, and a reload."""
    engine = make_engine(_mixed())
    moved = ent("mix-a", "500117", [("z1", "硫酸锰"), ("z2", "碳酸锂")], name="混合材料", tags=["专精特新"])
    engine.upsert(moved)
    engine.remove("mix-b")

    def check(ix: ItemIndex) -> None:
        slots = ix.offers.ent.view
        assert np.array_equal(ix.offers.code.view, ix.ent_code.view[slots])
        assert np.array_equal(ix.offers.standing.view, ix.ent_standing.view[slots])

    ix = engine.index
    check(ix)
    rows = ix.records["mix-a"].offer_rows
    assert set(ix.offers.code.view[rows].tolist()) == {500117}  # the new rows carry the new region
    raised = np.float32(standing_component(["专精特新"]))
    assert raised != np.float32(standing_component([]))  # the check means something
    assert set(ix.offers.standing.view[rows].tolist()) == {raised}  # and the new standing
    engine.save(tmp_path / "ix")
    check(MatchEngine.load(tmp_path / "ix", graph, regions, policy).index)
