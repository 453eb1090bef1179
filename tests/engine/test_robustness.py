"""Robustness on a small graph of its own: weak graph links, 2-hop inferred demand, short lists, equipment
offers that handle a material, and the asked specification among exact-node matches."""

from __future__ import annotations

from typing import Any

import pytest

from matching.chains import Chain, ChainGraph, Node, NodeKind
from matching.engine import MatchEngine
from matching.linking import EQUIPMENT
from matching.profiles import Enterprise, Need
from matching.regions import RegionRegistry
from matching.results import MatchResult
from matching.sources import Source
from matching.text import item_text

from .conftest import StaticPolicy, ent

K = NodeKind


def _n(id: str, name: str, kind: NodeKind, **kw: Any) -> Node:
    return Node(id=id, name=name, name_en=id.replace("_", " "), kind=kind, **kw)


NODES = [
    _n("elevator", "电梯", K.category, synonyms=("升降机",)),
    _n("passenger_elevator", "乘客电梯", K.end_product, synonyms=("客梯",), is_a=("elevator",),
       inputs=("guide_rail",)),
    _n("elevator_component", "电梯零部件", K.category),
    _n("guide_rail", "电梯导轨", K.component, is_a=("elevator_component",)),
    _n("quartz_sand", "石英砂", K.raw_material),
    _n("cullet", "碎玻璃", K.raw_material, synonyms=("废玻璃",)),
    _n("glass_batch", "玻璃配合料", K.intermediate, synonyms=("配合料",), inputs=("quartz_sand", "cullet")),
    _n("glass_bottle", "玻璃瓶", K.component, inputs=("glass_batch",)),
    _n("soda_ash", "纯碱", K.raw_material),
    _n("glass_raw", "玻璃原料", K.category, inputs=("soda_ash",)),
    _n("glassware", "玻璃器皿", K.component, inputs=("glass_raw",)),
    _n("ahf", "无水氢氟酸", K.intermediate, synonyms=("AHF",)),
    _n("refrigerant", "含氟制冷剂", K.category, synonyms=("制冷剂", "冷媒")),
    _n("r32", "二氟甲烷", K.intermediate, synonyms=("R32",), is_a=("refrigerant",), inputs=("ahf",)),
    _n("air_conditioner", "空调", K.end_product, inputs=("r32",)),
    _n("fastener", "紧固件", K.category),
    _n("bolt", "螺栓", K.component, synonyms=("六角螺栓",), is_a=("fastener",)),
    _n("nut", "螺母", K.component, synonyms=("六角螺母",), is_a=("fastener",)),
]
CHAINS = [
    Chain(id="glass", name="玻璃产业链", name_en="glass", sources=(Source(doc="public"),), regions=(),
          segments={"上游": ("cullet", "quartz_sand"), "中游": ("glass_batch",), "下游": ("glass_bottle",)}),
]


@pytest.fixture(scope="module")
def graph() -> ChainGraph:
    return ChainGraph.from_parts(NODES, CHAINS)


def profiles() -> list[Enterprise]:
    return [
        # elevators: a whole-lift maker close by, a counterweight foundry far away
        ent("lift", "500117", [("o1", "乘客电梯", "曳引式乘客电梯整机")], tags=["链主"]),
        ent("weights", "520303", [("o1", "对重块", "铸铁对重块、补偿链配重")]),
        ent("rails", "510104", [("o1", "滑轨", "导轨、滑块")]),
        ent("lift-buyer", "500102", needs=[{"id": "n1", "product": "电梯对重块", "description": "铸铁对重块"}]),
        # glass: cullet two hops upstream of bottles; soda ash upstream only through a category
        ent("cullet", "520302", [("o1", "碎玻璃", "分色回收碎玻璃")]),
        ent("bottles", "500102", [("o1", "玻璃瓶", "啤酒瓶、饮料瓶")]),
        ent("soda", "510104", [("o1", "纯碱")]),
        ent("green-bottles", "510104", [("o1", "玻璃瓶", "回收碎玻璃再生玻璃瓶")]),
        ent("cullet-buyer", "500117", needs=[{"id": "n1", "product": "碎玻璃", "description": "回收碎玻璃"}]),
        ent("glassware", "500117", [("o1", "玻璃器皿")]),
        # refrigerant: an air-conditioner maker, and charging machines that only handle 冷媒
        ent("hf", "520303", [("o1", "无水氢氟酸")]),
        ent("r32", "500102", [("o1", "R32制冷剂")]),
        ent("ac", "500117", [("o1", "空调")]),
        ent("charger", "510104", [("o1", "冷媒充注机", "空调生产线R32冷媒定量充注"),
                                  ("o2", "冷媒加注系统", "汽车空调冷媒回收加注")]),
        # fasteners: the asked hex bolt far away; a look-alike bolt and flange nuts nearby, from 链主 firms
        ent("hex", "520303", [("o1", "螺栓", "六角螺栓 M12 8.8级 热镀锌")]),
        ent("anchor", "500102", [("o1", "螺栓", "地脚螺栓、化学锚栓、预埋件")], tags=["链主"]),
        ent("nuts", "500102", [("o1", "螺母", "六角法兰面螺母 M12 热镀锌")], tags=["链主"]),
        ent("rods", "510104", [("o1", "螺杆", "六角头螺杆 M12 热镀锌")]),
        ent("bolt-buyer", "500117",
            needs=[{"id": "n1", "product": "六角螺栓", "description": "M12 8.8级 热镀锌六角螺栓"}]),
    ]


@pytest.fixture(scope="module")
def engine(graph: ChainGraph, regions: RegionRegistry) -> MatchEngine:
    return MatchEngine.build(graph, regions, StaticPolicy({}), profiles())


def suppliers(result: MatchResult) -> list[str]:
    return [i.supplier.id for i in result.items]


def buyers(result: MatchResult) -> list[str]:
    return [i.buyer.id for i in result.items]


def test_category_only_need_prefers_text_matched_part_over_whole_end_product(engine: MatchEngine) -> None:
    # 电梯对重块 links only to the category 电梯; the whole 乘客电梯 is no counterweight.
    ids = suppliers(engine.suppliers_for("lift-buyer", "n1", k=5))
    assert "weights" in ids
    assert ids[0] == "weights"
    item = engine.suppliers_for("lift-buyer", "n1", k=5).items[0]
    assert item.explanation.relation == "text" and item.components["product"] > 0


def test_need_with_no_graph_link_still_gets_text_matches(engine: MatchEngine) -> None:
    # An abbreviation the graph lacks: the text alone proposes the foundry.
    res = engine.match(Need(id="q", product="CWT对重块", description="电梯铸铁对重"), region_code="500102", k=5)
    assert suppliers(res)[0] == "weights"


def test_two_hop_inferred_demand_through_an_intermediate(engine: MatchEngine) -> None:
    item = next(i for i in engine.buyers_for("cullet", k=10).items if i.buyer.id == "bottles")
    assert item.inferred and item.need_id is None
    assert item.explanation.relation == "input_2hop"
    assert item.explanation.inferred_input == "碎玻璃"
    assert item.explanation.chain_path_text == "碎玻璃 —原料→ 玻璃配合料 —原料→ 玻璃瓶"
    assert "经玻璃配合料" in item.explanation.summary_zh and "推断需求" in item.explanation.summary_zh
    # a one-hop input scores above a two-hop one, and the other direction finds the same pair
    assert item.components["product"] < 0.6
    supplied = engine.suppliers_for("bottles", k=10).items
    assert [(i.supplier.id, i.explanation.inferred_input) for i in supplied] == [("cullet", "碎玻璃")]


def test_two_hop_inferred_demand_never_goes_through_a_category(engine: MatchEngine) -> None:
    # 纯碱 → 玻璃原料 (a category) → 玻璃器皿: no inferred buyer
    assert "glassware" not in buyers(engine.buyers_for("soda", k=10))


def test_short_lists_are_filled_with_weaker_plausible_candidates(engine: MatchEngine) -> None:
    # 螺杆 names no node, and the need is already served by the very product asked for: it used to be
    # dropped as a look-alike; now it fills the list, below the graph matches.
    res = engine.suppliers_for("bolt-buyer", "n1", k=5)
    ids = suppliers(res)
    assert len(ids) == 4 and set(ids) == {"hex", "anchor", "nuts", "rods"}
    assert ids.index("rods") > ids.index("hex")
    scores = [i.score for i in res.items]
    assert scores == sorted(scores, reverse=True)
    # k still caps the list
    assert len(engine.suppliers_for("bolt-buyer", "n1", k=1).items) == 1


def test_backfill_keeps_text_pairs_below_the_usual_cut(engine: MatchEngine) -> None:
    # 滑轨 names no node and shares only 导轨 with the need: a weak but plausible item
    res = engine.match(Need(id="q", product="电梯导轨", description="T型导轨"), region_code="500102", k=5)
    weak = [i for i in res.items if i.supplier.id == "rails"]
    assert weak and 0.0 < weak[0].components["text"] < 0.3
    assert weak[0].explanation.relation == "text"


def test_equipment_that_handles_a_material_is_no_inferred_buyer(engine: MatchEngine) -> None:
    assert engine.links_of("charger", engine.get("charger").offers[0].id).family == EQUIPMENT  # type: ignore[union-attr]
    assert "charger" not in buyers(engine.buyers_for("hf", k=10))
    assert "charger" not in buyers(engine.buyers_for("r32", k=10))
    assert "ac" in buyers(engine.buyers_for("r32", k=10))  # the real consumer of R32 stays
    assert "charger" not in suppliers(engine.match(Need(id="q", product="冷媒"), region_code="500102", k=5))


def test_exact_node_match_that_agrees_with_the_specification_ranks_first(engine: MatchEngine) -> None:
    items = engine.suppliers_for("bolt-buyer", "n1", k=5).items
    assert items[0].supplier.id == "hex"
    by_id = {i.supplier.id: i for i in items}
    assert by_id["hex"].components["product"] > by_id["anchor"].components["product"]
    assert by_id["anchor"].components["product"] > by_id["nuts"].components["product"]
    assert by_id["nuts"].explanation.relation == "sibling"


def test_text_never_proposes_a_product_assembled_from_the_asked_material(engine: MatchEngine) -> None:
    need_item = engine.get("cullet-buyer").needs[0]  # type: ignore[union-attr]
    bottle_item = engine.get("green-bottles").offers[0]  # type: ignore[union-attr]
    need = engine.text_model.transform([item_text(need_item.product, need_item.description)])
    bottle = engine.text_model.transform([item_text(bottle_item.product, bottle_item.description)])
    assert float((need @ bottle.T).toarray()[0, 0]) > 0.3  # the texts alone would propose it
    ids = suppliers(engine.suppliers_for("cullet-buyer", "n1", k=5))
    assert ids[0] == "cullet"
    assert "green-bottles" not in ids  # 玻璃瓶 is made from 碎玻璃 (via 配合料): the wrong direction
