"""The four failure kinds of the graph-first engine (issue 8), on constructed cases of a small graph.

1. A category product with a specific description links to the specific node (category as fallback).
2. A known term with a generic suffix (花椒产品, 铝材料) still finds the offers that share the term.
3. Context in the description (用于电池包模组) never moves the need to another chain step.
4. A supplier downstream of the need (made from it) is never proposed, however much text it shares.
"""

from __future__ import annotations

from typing import Any

import pytest

from matching.chains import Chain, ChainGraph, Node, NodeKind
from matching.engine import MatchEngine
from matching.profiles import Enterprise, Need
from matching.regions import RegionRegistry
from matching.results import MatchResult
from matching.sources import Source

from .conftest import StaticPolicy, ent

K = NodeKind


def _n(id: str, name: str, kind: NodeKind, **kw: Any) -> Node:
    return Node(id=id, name=name, name_en=id.replace("_", " "), kind=kind, **kw)


NODES = [
    _n("li_aux", "锂电辅材", K.category, synonyms=("锂电池辅材",)),
    _n("conductive_carbon", "导电炭黑", K.intermediate, synonyms=("SP导电剂", "Super P"), is_a=("li_aux",),
       inputs=("feedstock_oil",)),
    _n("separator", "隔膜", K.component, synonyms=("锂电隔膜",), is_a=("li_aux",)),
    _n("feedstock_oil", "炭黑原料油", K.raw_material, synonyms=("蒽油",)),
    _n("sichuan_pepper", "花椒", K.raw_material, synonyms=("青花椒", "红花椒")),
    _n("aluminium", "铝", K.raw_material, synonyms=("原铝", "铝锭")),
    _n("thermal_adhesive", "导热胶", K.intermediate, synonyms=("导热结构胶",)),
    _n("battery_pack", "电池包", K.end_product, synonyms=("PACK", "电池模组"), inputs=("thermal_adhesive",)),
    _n("adipic_acid", "己二酸", K.intermediate, synonyms=("AA",)),
    _n("nylon66_salt", "尼龙66盐", K.intermediate, synonyms=("PA66盐",), inputs=("adipic_acid",)),
    _n("pa66", "尼龙66切片", K.intermediate, synonyms=("PA66",), inputs=("nylon66_salt",)),
]
CHAINS = [
    Chain(id="demo", name="演示链", name_en="demo", sources=(Source(doc="public"),), regions=(),
          segments={"上游": ("adipic_acid",), "中游": ("nylon66_salt",), "下游": ("pa66",)}),
]


@pytest.fixture(scope="module")
def engine() -> MatchEngine:
    graph = ChainGraph.from_parts(NODES, CHAINS)
    return MatchEngine.build(graph, RegionRegistry.load(), StaticPolicy({}), profiles())


def profiles() -> list[Enterprise]:
    return [
        ent("carbon", "430104", [("o1", "导电炭黑", "SP级，锂电池正极导电剂，可长期供货")]),
        ent("oil", "500102", [("o1", "炭黑原料油", "导电炭黑生产原料，蒽油")]),
        ent("film", "510104", [("o1", "锂电隔膜", "湿法PE隔膜")]),
        ent("pepper-a", "511423", [("o1", "汉源花椒", "红花椒，干货")]),
        ent("pepper-b", "500118", [("o1", "青花椒", "江津九叶青，保鲜花椒")]),
        ent("glue", "440306", [("o1", "导热结构胶", "双组分聚氨酯导热胶，动力电池模组用")]),
        ent("pack", "500112", [("o1", "电池包", "动力电池包PACK，含模组与BMS")]),
        ent("aa", "500102", [("o1", "己二酸", "AA，纯度99.8%")]),
        ent("salt", "500102", [("o1", "尼龙66盐", "以己二酸和己二胺为原料，PA66盐溶液")]),
        ent("chips", "320583", [("o1", "尼龙66切片", "PA66切片，由己二酸路线尼龙66盐聚合")]),
        ent("spandex", "500102", [("o1", "氨纶", "氨纶纤维，以己二酸为原料发展的新材料项目之一")]),  # no graph node
        ent("aa-2", "320583", [("o1", "精己二酸", "以环己醇为原料制得，纯度99.7%")]),
    ]


def ask(engine: MatchEngine, product: str, description: str | None = None, k: int = 5) -> MatchResult:
    return engine.match(Need(id="q", product=product, description=description), region_code="500102", k=k)


def suppliers(result: MatchResult) -> list[str]:
    return [i.supplier.id for i in result.items]


def test_category_product_with_a_specific_description_links_to_the_named_item(engine: MatchEngine) -> None:
    links = engine.index.links.link("锂电辅材", "导电炭黑，SP级")
    confidence = {lk.node_id: lk.confidence for lk in links.head}
    assert confidence["conductive_carbon"] > confidence.get("li_aux", 0.0)
    ids = suppliers(ask(engine, "锂电辅材", "导电炭黑，SP级"))
    assert ids[0] == "carbon"  # exactly the named item, not its raw material two steps upstream
    assert "oil" not in ids[:2]


def test_a_suffixed_term_still_finds_the_offers_that_share_it(engine: MatchEngine) -> None:
    ids = suppliers(ask(engine, "花椒产品", "川菜调味用"))
    assert ids and set(ids[:2]) == {"pepper-a", "pepper-b"}
    assert engine.index.links.link("铝材料", None).head_nodes() == ["aluminium"]


def test_description_context_leaves_the_product_node_unchanged(engine: MatchEngine) -> None:
    links = engine.index.links.link("导热胶", "用于电池包模组")
    assert links.head_nodes() == ["thermal_adhesive"]
    ids = suppliers(ask(engine, "导热胶", "用于电池包模组"))
    assert ids[0] == "glue"
    assert "pack" not in ids  # a battery-pack maker is no adhesive supplier


def test_a_downstream_product_is_never_proposed_as_a_supplier(engine: MatchEngine) -> None:
    result = ask(engine, "己二酸", "尼龙66盐生产用，99.8%", k=10)
    ids = suppliers(result)
    assert ids[0] == "aa"
    assert "salt" not in ids and "chips" not in ids  # both are made from 己二酸: the wrong direction


def test_an_offer_made_from_what_is_asked_is_no_supplier_even_without_a_graph_edge(engine: MatchEngine) -> None:
    """氨纶 is no graph node here, so only the text relates it to 己二酸; its description says it is made
    from 己二酸, which makes its maker a buyer of 己二酸, not a supplier. An offer made *of* something else
    (精己二酸 from 环己醇) is still proposed."""
    ids = suppliers(ask(engine, "己二酸", None, k=10))
    assert "spandex" not in ids
    assert "aa" in ids and "aa-2" in ids


def test_items_found_by_text_alone_say_so(engine: MatchEngine) -> None:
    assert engine.index.links.link("锂电池正极导电剂", None).head_nodes() == []  # names no node
    result = ask(engine, "锂电池正极导电剂", None, k=5)  # the text still finds the carbon maker
    assert result.items and result.items[0].supplier.id == "carbon"
    first = result.items[0]
    assert first.explanation.relation == "text" and first.explanation.chain_path == []
    assert "文本相近" in first.explanation.summary_zh
    assert "导电" in first.explanation.shared_terms


def test_a_clause_ending_in_yong_names_a_purpose_not_the_product(engine: MatchEngine) -> None:
    links = engine.index.links.link("复合包装材料", "电池包模组用，耐高温", is_need=True)
    assert "battery_pack" not in links.head_nodes()
    assert "pack" not in suppliers(ask(engine, "复合包装材料", "电池包模组用，耐高温"))


def test_alternatives_a_buyer_names_count_but_inputs_and_purposes_do_not(engine: MatchEngine) -> None:
    links = engine.index.links.link("花椒", "青花椒或导电炭黑均可", is_need=True)  # odd, but explicit
    assert {"sichuan_pepper", "conductive_carbon"} <= set(links.head_nodes())
    assert engine.index.links.link("花椒", "青花椒或导电炭黑均可").head_nodes() == ["sichuan_pepper"]  # offers
    input_named = engine.index.links.link("尼龙66盐", "以己二酸为原料或外购均可", is_need=True)
    assert "adipic_acid" not in input_named.head_nodes()
