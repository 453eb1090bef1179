"""A small hand-built chain graph and a handful of profiles, with the real region registry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from matching.chains import Chain, ChainGraph, Node, NodeKind
from matching.engine import MatchEngine
from matching.profiles import Enterprise
from matching.regions import RegionRegistry
from matching.sources import Source

PUBLIC = Source(doc="public")


def _n(id: str, name: str, kind: NodeKind, **kw: Any) -> Node:
    return Node(id=id, name=name, name_en=kw.pop("en", id.replace("_", " ")), kind=kind, **kw)


K = NodeKind
NODES = [
    _n("cathode_material", "正极材料", K.category),
    _n("ternary_cathode", "三元正极材料", K.category, is_a=("cathode_material",),
       inputs=("ternary_precursor", "lithium_hydroxide")),
    _n("ncm811", "NCM811", K.intermediate, synonyms=("高镍三元",), is_a=("ternary_cathode",)),
    _n("ncm523", "NCM523", K.intermediate, is_a=("ternary_cathode",)),
    _n("lmfp", "磷酸锰铁锂", K.intermediate, synonyms=("LMFP",), is_a=("cathode_material",),
       inputs=("manganese_sulfate", "iron_phosphate", "lithium_carbonate")),
    _n("manganese_sulfate", "硫酸锰", K.raw_material, shared_synonyms=("锰源",), inputs=("manganese_ore",)),
    _n("electrolytic_manganese", "电解锰", K.raw_material, shared_synonyms=("锰源",),
       inputs=("manganese_ore",)),
    _n("manganese_ore", "锰矿", K.raw_material),
    _n("iron_phosphate", "磷酸铁", K.intermediate),
    _n("lithium_carbonate", "碳酸锂", K.raw_material),
    _n("lithium_hydroxide", "氢氧化锂", K.raw_material),
    _n("ternary_precursor", "三元前驱体", K.intermediate),
    _n("cathode_slurry", "正极浆料", K.intermediate,
       inputs=("cathode_material", "pvdf", "nmp", "conductive_carbon")),
    _n("pvdf", "聚偏氟乙烯", K.intermediate, synonyms=("PVDF",), description="锂电池正极浆料用粘结剂"),
    _n("sbr", "丁苯橡胶", K.intermediate, synonyms=("SBR",), description="负极浆料用水性粘结剂"),
    _n("nmp", "N-甲基吡咯烷酮", K.intermediate, synonyms=("NMP",), description="正极浆料溶剂"),
    _n("conductive_carbon", "导电炭黑", K.intermediate),
    _n("electrolyte", "电解液", K.intermediate),
    _n("separator", "隔膜", K.component),
    _n("battery_cell", "动力电池电芯", K.component, synonyms=("电芯",),
       inputs=("cathode_material", "electrolyte", "separator")),
    _n("li_equipment", "锂电设备", K.category),
    _n("sintering_kiln", "烧结窑炉", K.equipment, synonyms=("辊道窑",), is_a=("li_equipment",),
       description="正极材料高温烧结设备"),
    _n("battery_testing", "电池检测服务", K.service, description="电池材料与电芯的检测认证"),
    _n("power_bank", "充电宝", K.end_product, synonyms=("移动电源",), inputs=("battery_cell",)),
    _n("bdo", "1,4-丁二醇", K.intermediate, synonyms=("BDO",)),
    _n("ptmeg", "聚四氢呋喃", K.intermediate, synonyms=("PTMEG",), inputs=("bdo",)),
    _n("mdi", "二苯基甲烷二异氰酸酯", K.intermediate, synonyms=("MDI",)),
    _n("spandex", "氨纶", K.intermediate, inputs=("ptmeg", "mdi")),
    _n("tin_ball", "低α锡球", K.component),
]
CHAINS = [
    Chain(id="cathode", name="正极材料产业链", name_en="cathode", sources=(PUBLIC,), regions=("520303",),
          segments={"上游": ("manganese_sulfate", "lithium_carbonate", "iron_phosphate", "ternary_precursor"),
                    "中游": ("lmfp", "ncm811", "ncm523", "cathode_material"), "下游": ("battery_cell",)}),
    Chain(id="polyurethane", name="聚氨酯产业链", name_en="polyurethane", sources=(PUBLIC,),
          regions=("500102",), segments={"上游": ("bdo",), "中游": ("ptmeg", "mdi"), "下游": ("spandex",)}),
]


class StaticPolicy:
    """Priority chains per county (the real Policy also inherits city/province plans)."""

    def __init__(self, table: dict[str, frozenset[str]]) -> None:
        self.table = table

    def priority_chains(self, region_code: str) -> frozenset[str]:
        return self.table.get(region_code, frozenset())


def ent(id: str, region: str | None, offers: Sequence[tuple[str, ...] | dict[str, Any]] = (),
        needs: Sequence[dict[str, Any]] = (), **kw: Any) -> Enterprise:
    """Terse profile builder: offers are (id, product[, description]) or dicts."""
    return Enterprise.model_validate({
        "id": id, "name": kw.pop("name", f"{id}公司"), "region_code": region,
        "offers": [o if isinstance(o, dict) else {"id": o[0], "product": o[1],
                   "description": o[2] if len(o) > 2 else None} for o in offers],
        "needs": list(needs), **kw,
    })


def base_profiles() -> list[Enterprise]:
    return [
        ent("zy-mn", "520303", [{"id": "o1", "product": "电池级硫酸锰",
                                 "capacity": {"value": 5, "unit": "万吨/年"}}], tags=["规上"],
            name="遵义锰业"),
        ent("zy-emn", "520302", [("o1", "电解锰", "高纯电解金属锰")], name="红花岗电解锰厂"),
        ent("fl-lmfp", "500102", [("o1", "磷酸锰铁锂")],
            [{"id": "n1", "product": "锰源（磷酸锰铁锂用）", "volume": {"value": 2, "unit": "万吨/年"}},
             {"id": "n2", "product": "磷酸锰铁锂原料"}], name="涪陵锂电材料"),
        ent("hc-cell", "500117", [("o1", "动力电池电芯")],
            [{"id": "n1", "product": "正极材料", "required_certifications": ["IATF 16949"]}],
            name="合川电池"),
        ent("zy-ncm", "520303", [("o1", "NCM811三元正极材料", "高镍三元正极材料，用于动力电池")],
            certifications=["IATF16949"], tags=["专精特新"], name="遵义新材料"),
        ent("cd-trader", "510104", [("o1", "NCM811正极材料", "贸易代理，现货")], name="成都贸易"),
        ent("kiln", "510104", [("o1", "正极材料烧结窑炉", "锂电正极材料烧结用辊道窑")],
            certifications=["IATF16949"], name="成都窑炉"),
        ent("lab", "500117", [("o1", "正极材料检测服务", "三元正极材料成分检测")],
            certifications=["IATF16949"], name="合川检测"),
        ent("pb", "510104", [("o1", "充电宝", "锂电池移动电源")], certifications=["IATF16949"],
            name="成都充电宝"),
        ent("fl-spandex", "500102", [("o1", "氨纶")], tags=["链主"], name="涪陵氨纶"),
        ent("zy-ptmeg", "520303", [("o1", "PTMEG聚四氢呋喃")], name="遵义化工"),
        ent("pvdf", "510104", [("o1", "PVDF粉料", "锂电级")], name="成都氟材料"),
        ent("slurry", "500102", [],
            [{"id": "n1", "product": "正极浆料用粘结剂"}], name="涪陵浆料"),
    ]


@pytest.fixture(scope="session")
def graph() -> ChainGraph:
    return ChainGraph.from_parts(NODES, CHAINS)


@pytest.fixture(scope="session")
def regions() -> RegionRegistry:
    return RegionRegistry.load()


@pytest.fixture(scope="session")
def policy() -> StaticPolicy:
    return StaticPolicy({"520303": frozenset({"cathode"}), "500102": frozenset({"polyurethane"})})


@pytest.fixture(scope="session")
def engine(graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy) -> MatchEngine:
    """Shared read-only engine; tests that mutate build their own with ``make_engine``."""
    return MatchEngine.build(graph, regions, policy, base_profiles())


@pytest.fixture
def make_engine(
    graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy
) -> Callable[[list[Enterprise]], MatchEngine]:
    def make(profiles: list[Enterprise]) -> MatchEngine:
        return MatchEngine.build(graph, regions, policy, profiles)

    return make
