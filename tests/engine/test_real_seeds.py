"""Smoke tests on the real seed graph, regions and policy (seeds/)."""

from __future__ import annotations

import pytest

from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.profiles import Need
from matching.regions import RegionRegistry

from .conftest import ent


@pytest.fixture(scope="module")
def real() -> MatchEngine:
    profiles = [
        ent("zy-mn", "520303", [("o1", "电池级硫酸锰")], name="遵义锰业"),
        ent("fl-lmfp", "500102", [("o1", "磷酸锰铁锂")], [{"id": "n1", "product": "磷酸锰铁锂原料"}],
            name="涪陵锂电"),
        ent("kiln", "510104", [("o1", "正极材料烧结窑炉")], name="窑炉厂"),
        ent("lab", "500117", [("o1", "正极材料检测服务")], name="检测所"),
        ent("pb", "510104", [("o1", "充电宝")], name="充电宝厂"),
        ent("ncm", "520303", [("o1", "NCM811三元正极材料")], name="三元厂"),
        ent("cell", "500117", [("o1", "动力电池电芯")], [{"id": "n1", "product": "正极材料"}], name="电芯厂"),
        ent("slurry", "500102", needs=[{"id": "n1", "product": "正极浆料用粘结剂"}], name="浆料厂"),
        ent("pvdf", "520303", [("o1", "锂电级PVDF")], name="氟化工"),
    ]
    return MatchEngine.build(load_graph(), RegionRegistry.load(), Policy.load(), profiles)


def test_real_graph_material_need_ignores_equipment_service_consumer(real: MatchEngine) -> None:
    ids = [i.supplier.id for i in real.suppliers_for("cell", "n1", k=50).items]
    assert "ncm" in ids
    assert not {"kiln", "lab", "pb"} & set(ids)


def test_real_graph_input_relation_and_policy(real: MatchEngine) -> None:
    item = next(i for i in real.suppliers_for("fl-lmfp", "n1").items if i.supplier.id == "zy-mn")
    assert item.explanation.chain_path_text == "硫酸锰 —原料→ 磷酸锰铁锂"
    assert item.components["policy"] == 1.0  # 涪陵's plan names the phosphate-cathode chain


def test_real_graph_use_phrased_binder_need_reaches_pvdf(real: MatchEngine) -> None:
    assert real.suppliers_for("slurry").items[0].supplier.id == "pvdf"


def test_provenance_notes_are_not_text_evidence() -> None:
    """Seed descriptions end in notes such as （公开信息）; two unrelated items sharing only that note are no match."""
    profiles = [
        ent("herb", "500102",
            needs=[{"id": "n1", "product": "广藿香", "description": "口服液主要药材之一（公开信息）"}]),
        ent("plane", "510104", [("o1", "军用飞机整机", "歼击机总装（公开信息）")]),
        ent("gear", "520303", [("o1", "减速器齿轮", "精密齿轮（公开工艺知识）")]),
    ]
    engine = MatchEngine.build(load_graph(), RegionRegistry.load(), Policy.load(), profiles)
    assert engine.suppliers_for("herb", "n1", k=10).items == []


def test_an_offer_made_from_the_need_is_no_supplier_on_the_real_seeds() -> None:
    """华峰氨纶's 氨纶 is described as 以己二酸为原料发展的…项目: a buyer of 己二酸, not a supplier of it (the
    graph has no 己二酸 → 氨纶 edge, so only the description says so)."""
    from matching.seed_enterprises import load_seed_enterprises

    engine = MatchEngine.build(load_graph(), RegionRegistry.load(), Policy.load(), load_seed_enterprises())
    ids = [i.supplier.id for i in engine.match(Need(id="q", product="己二酸"), region_code="500102", k=10).items]
    assert ids and ids[0] == "fl-huafeng-chemical"
    assert "fl-huafeng-spandex" not in ids
