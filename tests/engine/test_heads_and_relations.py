"""Head nouns, purposes, siblings, grades and text-only pairs, on a small graph of their own."""

from __future__ import annotations

from typing import Any

import pytest

from matching.chains import Chain, ChainGraph, Node, NodeKind
from matching.engine import MatchEngine
from matching.linking import Linker
from matching.profiles import Need
from matching.regions import RegionRegistry
from matching.sources import Source

from .conftest import StaticPolicy, ent

K = NodeKind


def _n(id: str, name: str, kind: NodeKind, **kw: Any) -> Node:
    return Node(id=id, name=name, name_en=id.replace("_", " "), kind=kind, **kw)


NODES = [
    _n("packaging_material", "电子封装材料", K.category),
    _n("solder_ball", "锡球", K.intermediate, synonyms=("焊锡球", "BGA锡球"), is_a=("packaging_material",)),
    _n("low_alpha_ball", "低α锡球", K.intermediate, synonyms=("低阿尔法锡球",), is_a=("packaging_material",)),
    _n("solder", "锡焊料", K.intermediate, synonyms=("焊锡丝", "焊锡膏")),
    _n("fastener", "紧固件", K.category),
    _n("bolt", "螺栓", K.component, is_a=("fastener",)),
    _n("aero_fastener", "航空紧固件", K.component, is_a=("fastener",), inputs=("titanium_bar",)),
    _n("titanium_alloy", "钛合金", K.category),
    _n("titanium_bar", "钛合金棒材", K.intermediate, is_a=("titanium_alloy",)),
    _n("cathode_material", "正极材料", K.category, synonyms=("正极",)),
    _n("lmfp", "磷酸锰铁锂", K.intermediate, synonyms=("LMFP",), is_a=("cathode_material",),
       inputs=("manganese_sulfate", "lithium_carbonate")),
    _n("lfp", "磷酸铁锂", K.intermediate, is_a=("cathode_material",), inputs=("lithium_carbonate",)),
    _n("manganese_sulfate", "硫酸锰", K.intermediate, description="锰源"),
    _n("power_cell", "动力电池电芯", K.component, synonyms=("电芯",), inputs=("cathode_material",)),
    _n("lfp_cell", "磷酸铁锂电芯", K.component, is_a=("power_cell",), inputs=("lfp",)),
    _n("ncm_cell", "三元锂电池", K.component, is_a=("power_cell",)),
    _n("lmfp_cell", "磷酸锰铁锂电池", K.component, is_a=("power_cell",), inputs=("lmfp",)),
    _n("al_foil", "锂电池铝箔", K.intermediate, synonyms=("正极集流体铝箔",)),
    _n("cu_foil", "锂电铜箔", K.intermediate, synonyms=("负极集流体铜箔",)),
    _n("electrolyte", "电解液", K.category),
    _n("li_electrolyte", "锂离子电池电解液", K.intermediate, is_a=("electrolyte",),
       inputs=("lipf6", "dmc")),
    _n("lithium_salt", "锂盐", K.category),
    _n("lipf6", "六氟磷酸锂", K.intermediate, is_a=("lithium_salt",)),
    _n("lithium_carbonate", "碳酸锂", K.raw_material, is_a=("lithium_salt",)),
    _n("dmc", "碳酸二甲酯", K.intermediate),
    _n("api", "原料药", K.intermediate, synonyms=("API",)),
    _n("barite_powder", "钻井级重晶石粉", K.intermediate, synonyms=("钻井液加重剂",)),
    _n("natural_gas", "天然气", K.raw_material, inputs=("shale_gas",)),
    _n("shale_gas", "页岩气", K.raw_material),
    _n("li_equipment", "锂电设备", K.category),
    _n("cathode_kiln", "正极材料烧结窑炉", K.equipment, is_a=("li_equipment",)),
]
CHAINS = [
    Chain(id="battery", name="电池产业链", name_en="battery", sources=(Source(doc="public"),),
          regions=("500102",), segments={"中游": ("lmfp", "lfp"), "下游": ("power_cell",)}),
]


@pytest.fixture(scope="module")
def small_engine(regions: RegionRegistry) -> MatchEngine:
    profiles = [
        ent("ball", "500102", [("o1", "低α锡球", "BGA封装用，低α射线")]),
        ent("wire", "500102", [("o1", "焊锡丝", "SMT焊接用")]),
        ent("aero", "520303", [("o1", "航空紧固件", "钛合金高锁螺栓、自锁螺母")]),
        ent("bar", "520303", [("o1", "钛合金棒材", "TC4锻造棒材，航空用")], tags=["链主"]),
        ent("mn", "520303", [("o1", "硫酸锰", "电池级，一水硫酸锰")]),
        ent("li", "510104", [("o1", "碳酸锂", "电池级")]),
        ent("cells", "500102", [("o1", "磷酸锰铁锂电池", "LMFP电芯")], tags=["链主"]),
        ent("lfpcell", "500117", [("o1", "磷酸铁锂电芯", "方形铝壳")]),
        ent("ncmcell", "510104", [("o1", "三元锂电池", "软包")], tags=["链主"]),
        ent("foil", "520303", [("o1", "锂电池铝箔", "12μm")]),
        ent("cufoil", "520303", [("o1", "锂电铜箔", "6μm")]),
        ent("salt", "520303", [("o1", "六氟磷酸锂", "晶体")]),
        ent("elyte", "510104", [("o1", "锂离子电池电解液", "三元体系")], tags=["链主"]),
        ent("gas", "520303", [("o1", "页岩气", "管输天然气，年度合同")]),
        ent("lfpmaker", "510104", [("o1", "磷酸铁锂", "储能型")]),
        ent("kiln", "510104", [("o1", "正极材料烧结窑炉", "辊道窑")]),
        ent("buyer", "500102", [("o1", "电池包")],
            [{"id": "cell", "product": "动力电池电芯", "description": "方形磷酸铁锂电芯，车规级"},
             {"id": "mn", "product": "锰源（LMFP用）", "description": "电池级，Fe、Cu杂质可控"},
             {"id": "gas", "product": "天然气", "description": "合成氨原料气，管输天然气"}]),
    ]
    graph = ChainGraph.from_parts(NODES, CHAINS)
    return MatchEngine.build(graph, regions, StaticPolicy({}), profiles)


@pytest.fixture(scope="module")
def linker(small_engine: MatchEngine) -> Linker:
    return small_engine.index.linker


def suppliers(result: Any) -> list[str]:
    return [i.supplier.id for i in result.items]


def test_material_modifier_of_a_part_is_not_the_product(linker: Linker) -> None:
    links = linker.link("钛合金高锁螺栓", "飞机装配用")
    assert links.head_nodes() == ["bolt"]
    assert "titanium_alloy" not in links.all_nodes()


def test_part_need_never_offers_the_raw_material(small_engine: MatchEngine) -> None:
    result = small_engine.match(Need(id="q", product="钛合金高锁螺栓", description="飞机装配用"),
                                region_code="510116", k=5)
    ids = suppliers(result)
    assert ids[0] == "aero"  # the description names 高锁螺栓: a bolt maker among 紧固件
    assert "bar" not in ids[:1]


def test_unmatched_head_noun_beats_the_modifier(linker: Linker) -> None:
    links = linker.link("正极集流体", "锂电池用")
    assert links.head_nodes()[0] == "al_foil"
    assert "cathode_material" not in links.head_nodes()


def test_ingredient_head_noun_turns_the_product_into_a_purpose(
    linker: Linker, small_engine: MatchEngine
) -> None:
    links = linker.link("电解液溶质", "锂离子电池电解液用锂盐")
    assert "electrolyte" not in links.head_nodes()
    assert "electrolyte" in [lk.node_id for lk in links.use]
    result = small_engine.match(Need(id="q", product="电解液溶质", description="锂离子电池电解液用锂盐"),
                                region_code="510104", k=5)
    assert suppliers(result)[0] == "salt"  # an input of 电解液 and a 锂盐, above the electrolyte itself


def test_purpose_phrase_asks_for_inputs_never_outputs(small_engine: MatchEngine) -> None:
    ids = suppliers(small_engine.suppliers_for("buyer", "mn"))
    assert ids[0] == "mn"
    assert "cells" not in ids  # 磷酸锰铁锂电池 is made FROM LMFP
    assert "lfpcell" not in ids


def test_grade_words_and_short_ascii_in_descriptions_do_not_link(linker: Linker) -> None:
    links = linker.link("加重剂", "水基钻井液加重用，API级")
    assert "api" not in links.all_nodes()
    assert links.head_nodes() == ["barite_powder"]  # 加重剂 inside the synonym 钻井液加重剂
    assert "power_cell" not in linker.link("锰源", "电池级").all_nodes()


def test_sibling_with_strong_text_is_proposed(small_engine: MatchEngine) -> None:
    result = small_engine.match(Need(id="q", product="焊锡球", description="BGA植球用，低α"),
                                region_code="500102", k=5)
    first = result.items[0]
    assert first.supplier.id == "ball"
    assert first.explanation.relation == "sibling"
    assert "电子封装材料" in first.explanation.summary_zh


def test_unrelated_graph_nodes_still_match_on_strong_text(small_engine: MatchEngine) -> None:
    items = small_engine.suppliers_for("buyer", "gas").items
    assert [i.supplier.id for i in items] == ["gas"]
    assert items[0].explanation.relation == "text"
    assert items[0].components["product"] < 0.25  # discounted: the graph says 页岩气 is upstream


def test_description_narrows_a_category_need(small_engine: MatchEngine) -> None:
    # 三元锂电池's maker has the better standing; the description asks for 磷酸铁锂电芯.
    ids = suppliers(small_engine.suppliers_for("buyer", "cell"))
    assert ids.index("lfpcell") < ids.index("ncmcell")


def test_equipment_buyers_are_inferred_from_what_it_is_for(small_engine: MatchEngine) -> None:
    items = small_engine.buyers_for("kiln").items
    by_buyer = {i.buyer.id: i for i in items}
    assert "lfpmaker" in by_buyer
    assert by_buyer["lfpmaker"].inferred
    assert by_buyer["lfpmaker"].explanation.relation == "equipment_for"
    assert "gas" not in by_buyer  # a gas producer does not make cathode material


