"""Each score component, observed through MatchEngine results."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest

from matching.engine import MatchEngine
from matching.profiles import Enterprise, Need, Offer
from matching.regions import RegionRegistry
from matching.results import MatchItem, MatchResult
from matching.weights import COMPONENTS, DEFAULT_PROFILE, WeightProfile

from .conftest import ent

Make = Callable[[list[Enterprise]], MatchEngine]


def only(result: MatchResult, supplier: str) -> MatchItem:
    items = [i for i in result.items if i.supplier.id == supplier]
    assert len(items) == 1, result.items
    return items[0]


def test_every_item_has_all_components_in_unit_interval(engine: MatchEngine) -> None:
    for eid in ("fl-lmfp", "hc-cell", "fl-spandex", "slurry"):
        for item in engine.suppliers_for(eid).items:
            assert set(item.components) == set(COMPONENTS)
            assert all(0.0 <= v <= 1.0 for v in item.components.values())


def test_product_relation_levels(engine: MatchEngine) -> None:
    same = only(engine.suppliers_for("fl-lmfp", "n1"), "zy-mn")
    assert same.explanation.relation == "same"
    spec = only(engine.suppliers_for("hc-cell", "n1"), "zy-ncm")
    assert spec.explanation.relation == "specialisation"
    assert spec.explanation.chain_path == ["NCM811", "三元正极材料", "正极材料"]
    assert spec.explanation.chain_path_text == "NCM811 —属于→ 三元正极材料 —属于→ 正极材料"
    inp = only(engine.suppliers_for("fl-lmfp", "n2"), "zy-mn")
    assert inp.explanation.relation == "input"
    assert inp.explanation.chain_path_text == "硫酸锰 —原料→ 磷酸锰铁锂"
    # shared synonym 锰源 costs a little confidence (0.9); 硫酸锰 is also an input of the named purpose
    # 磷酸锰铁锂 (0.6 × use-link 0.9), and the two confirmations combine as a noisy-or
    assert inp.components["product"] < spec.components["product"] < 1.0
    assert same.components["product"] == pytest.approx(1 - (1 - 0.9) * (1 - 0.6 * 0.9))


def test_wrong_direction_scores_nothing(make_engine: Make) -> None:
    # A buyer of 硫酸锰 is not served by a 磷酸锰铁锂 maker (downstream of the need).
    eng = make_engine([ent("buyer", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                ent("down", "520303", [("o1", "磷酸锰铁锂")])])
    assert eng.suppliers_for("buyer").items == []


def test_two_hop_input_for_a_use_phrased_need(make_engine: Make) -> None:
    eng = make_engine([ent("buyer", "500102", needs=[{"id": "n1", "product": "氨纶原料"}]),
                ent("bdo", "520303", [("o1", "BDO")]), ent("ptmeg", "520303", [("o1", "PTMEG")])])
    items = {i.supplier.id: i for i in eng.suppliers_for("buyer").items}
    assert items["ptmeg"].explanation.relation == "input"
    assert items["bdo"].explanation.relation == "input_2hop"
    assert items["bdo"].explanation.chain_path_text == "1,4-丁二醇 —原料→ 聚四氢呋喃 —原料→ 氨纶"
    assert items["bdo"].components["product"] == pytest.approx(0.35 * 0.9)
    assert items["ptmeg"].rank < items["bdo"].rank


def test_text_component_is_cosine(engine: MatchEngine) -> None:
    item = only(engine.suppliers_for("hc-cell", "n1"), "zy-ncm")
    assert 0.0 < item.components["text"] < 1.0
    assert "正极材料" in item.explanation.shared_terms


def test_distance_decays_with_km_and_unknown_is_neutral(engine: MatchEngine, make_engine: Make,
                                                        regions: RegionRegistry) -> None:
    item = only(engine.suppliers_for("fl-lmfp", "n1"), "zy-mn")
    km = regions.distance_km("520303", "500102")
    assert km is not None
    assert item.explanation.distance_km == pytest.approx(km, abs=0.1)
    assert item.components["distance"] == pytest.approx(math.exp(-km / 300), abs=1e-4)
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                       Enterprise(id="s", name="无定位", address="某工业园",
                                  offers=[Offer(id="o1", product="硫酸锰")])])
    far = only(eng.suppliers_for("b"), "s")
    assert far.components["distance"] == 0.5 and far.explanation.distance_km is None
    assert "距离未知" in far.explanation.summary_zh


@pytest.mark.parametrize(
    ("capacity", "expected"),
    [({"value": 5, "unit": "万吨/年"}, 1.0), ({"value": 5000, "unit": "吨/年"}, 0.25),
     ({"value": 5, "unit": "万件/年"}, 0.5), ({"value": 5, "unit": "桶/季"}, 0.5), (None, 0.5)],
)
def test_capacity_fit(make_engine: Make, capacity: dict[str, object] | None, expected: float) -> None:
    offer = {"id": "o1", "product": "硫酸锰", "capacity": capacity}
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰",
                                           "volume": {"value": 2, "unit": "万吨/年"}}]),
                ent("s", "520303", [offer])])
    result = eng.suppliers_for("b")
    assert only(result, "s").components["capacity"] == pytest.approx(expected)
    if capacity and capacity["unit"] == "桶/季":
        assert any("桶/季" in w for w in result.warnings)
    else:
        assert result.warnings == []


@pytest.mark.parametrize(
    ("supplier_region", "expected"),
    [("500102", 0.0), ("500117", 0.3), ("520303", 1.0), ("510104", 1.0)],
)
def test_cross_region(make_engine: Make, supplier_region: str, expected: float) -> None:
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                ent("s", supplier_region, [("o1", "硫酸锰")])])
    assert only(eng.suppliers_for("b"), "s").components["cross_region"] == expected


def test_cross_region_different_city_same_province(make_engine: Make) -> None:
    # 遵义市汇川区 vs 贵阳市南明区
    eng = make_engine([ent("b", "520102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                ent("s", "520303", [("o1", "硫酸锰")])])
    assert only(eng.suppliers_for("b"), "s").components["cross_region"] == 0.7


def test_policy_priority(make_engine: Make) -> None:
    # cathode chain is a priority of 520303 (supplier side); polyurethane of 500102.
    eng = make_engine([
        ent("b", "510104", needs=[{"id": "n1", "product": "硫酸锰"}, {"id": "n2", "product": "低α锡球"}]),
        ent("prio", "520303", [("o1", "硫酸锰")]),
        ent("chain", "510105", [("o1", "硫酸锰")]),
        ent("none", "510105", [("o1", "低α锡球")]),
    ])
    result = eng.suppliers_for("b")
    assert only(result, "prio").components["policy"] == 1.0
    assert only(result, "chain").components["policy"] == 0.5
    assert only(result, "none").components["policy"] == 0.0


@pytest.mark.parametrize(
    ("tags", "expected"),
    [(["链主"], 1.0), (["国家级单项冠军"], 1.0), (["专精特新“小巨人”"], 0.8), (["规上"], 0.6), ([], 0.3)],
)
def test_standing(make_engine: Make, tags: list[str], expected: float) -> None:
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                ent("s", "520303", [("o1", "硫酸锰")], tags=tags)])
    assert only(eng.suppliers_for("b"), "s").components["standing"] == expected


def test_weighted_sum_and_contributions(engine: MatchEngine) -> None:
    result = engine.suppliers_for("fl-lmfp")
    assert result.weights == {"name": "default", "version": 1}
    for item in result.items:
        contrib = item.explanation.contributions
        for c in COMPONENTS:
            assert contrib[c] == pytest.approx(DEFAULT_PROFILE.weights[c] * item.components[c], abs=2e-4)
        assert item.score == pytest.approx(sum(contrib.values()), abs=1e-3)


def test_custom_weights_change_the_order(make_engine: Make) -> None:
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                ent("near", "500117", [("o1", "硫酸锰")]),
                ent("far", "510104", [("o1", "硫酸锰")], tags=["链主"])])
    by_distance = WeightProfile(name="near", version=3, weights={"product": 0.2, "distance": 0.8})
    by_standing = WeightProfile(name="big", version=1, weights={"product": 0.2, "standing": 0.8})
    assert eng.suppliers_for("b", weights=by_distance).items[0].supplier.id == "near"
    res = eng.suppliers_for("b", weights=by_standing)
    assert res.items[0].supplier.id == "far"
    assert res.weights == {"name": "big", "version": 1}


def test_adhoc_need_and_offer(engine: MatchEngine) -> None:
    res = engine.match(Need(id="q", product="NCM811"), region_code="500117", k=5)
    assert res.items and res.items[0].supplier.id in {"zy-ncm", "cd-trader"}
    assert all(i.buyer.id == "(query)" for i in res.items)
    res = engine.match(Offer(id="q", product="聚四氢呋喃"), region_code="520303")
    assert [(i.buyer.id, i.inferred) for i in res.items] == [("fl-spandex", True)]
    assert res.items[0].offer_id == "q" and res.items[0].need_id is None
