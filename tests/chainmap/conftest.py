"""A hand-built enterprise set over the real seed graph, regions and policy, whose gaps, warnings, recruitment
targets and target counts are worked out by hand in the tests.

Circle counties: 500102 涪陵, 500117 合川, 510104 成都锦江. Outside: 520303 遵义汇川, 520322 桐梓, 320585 太仓,
430102 长沙芙蓉, 530102 昆明五华. Products (real graph nodes): 氨纶 is made from PTMEG, MDI, 乙二胺,
DMAC …; 磷酸锰铁锂 from 硫酸锰 ….
"""

from __future__ import annotations

from typing import Any

import pytest

from matching.chainmap import ChainFacts, build_facts
from matching.chains import load_graph
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.profiles import Enterprise


def ent(eid: str, region: str, offers: list[tuple[str, str, Any]] | None = None,
        needs: list[dict[str, Any]] | None = None, **kw: Any) -> Enterprise:
    return Enterprise.model_validate({
        "id": eid, "name": kw.pop("name", eid), "region_code": region,
        "offers": [{"id": i, "product": p, **({"capacity": q} if q else {})} for i, p, q in offers or []],
        "needs": needs or [], **kw})


def t_a(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "吨/年"}


PROFILES = [
    # in the circle
    ent("fl-lmfp", "500102", [("o1", "磷酸锰铁锂", None)],
        [{"id": "n1", "product": "硫酸锰", "volume": t_a(20000)}], name="涪陵锰铁锂"),
    ent("fl-spandex", "500102", [("o1", "氨纶", None)],
        [{"id": "n1", "product": "PTMEG", "volume": t_a(5000)}], name="涪陵氨纶"),
    ent("hc-spandex", "500117", [("o1", "氨纶", None)], name="合川氨纶"),
    ent("cd-ptmeg", "510104", [("o1", "聚四氢呋喃", t_a(1000))], name="成都聚醚"),
    ent("hc-cell", "500117", needs=[{"id": "n1", "product": "湿法隔膜"},
                                    {"id": "n2", "product": "对二甲苯", "import_dependent": True},
                                    {"id": "n3", "product": "低阿尔法锡"}],
        name="合川电芯"),
    # outside the circle
    ent("zy-mn", "520303", [("o1", "硫酸锰", t_a(50000))], name="遵义锰业"),
    ent("hn-mn", "430102", [("o1", "电池级硫酸锰", None)], name="长沙锰盐"),
    ent("zy-sep-a", "520322", [("o1", "湿法隔膜", None)], name="桐梓隔膜甲"),
    ent("zy-sep-b", "520322", [("o1", "湿法隔膜", None)], name="桐梓隔膜乙"),
    ent("js-ptmeg", "320585", [("o1", "PTMEG", None)], name="太仓聚醚"),
    ent("zy-tea", "520303", [("o1", "绿茶", None)], name="遵义茶业"),
    ent("zy-dmac", "520303", [("o1", "DMAC", None)], name="遵义溶剂"),
    ent("yn-tin", "530102", [("o1", "低阿尔法锡", None)], name="昆明锡业"),
]


@pytest.fixture(scope="session")
def engine() -> MatchEngine:
    from matching.regions import RegionRegistry

    return MatchEngine.build(load_graph(), RegionRegistry.load(), Policy.load(), PROFILES)


@pytest.fixture(scope="session")
def facts(engine: MatchEngine) -> ChainFacts:
    return build_facts(engine.index)
