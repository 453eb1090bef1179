"""MatchEngine behaviour: explanations, inferred demand, determinism, incremental updates, errors."""

from __future__ import annotations

import random
from collections.abc import Callable

import polars as pl
import pytest

from matching.chains import ChainGraph
from matching.columns import SMALL_SIDE
from matching.engine import MatchEngine, profiles_to_frames
from matching.errors import InvalidInputError, NotFoundError
from matching.profiles import Enterprise
from matching.regions import RegionRegistry

from .conftest import StaticPolicy, base_profiles, ent

Make = Callable[[list[Enterprise]], MatchEngine]


def test_every_match_carries_an_explanation_with_summary(engine: MatchEngine) -> None:
    seen = 0
    for eid in engine.enterprise_ids():
        for result in (engine.suppliers_for(eid), engine.buyers_for(eid)):
            for rank, item in enumerate(result.items, start=1):
                assert item.rank == rank
                assert item.explanation.summary_zh.endswith("。")
                assert item.supplier.name in item.explanation.summary_zh
                assert set(item.explanation.contributions) == set(item.components)
                assert "same_enterprise" in item.explanation.filters_applied
                seen += 1
    assert seen >= 10


def test_summary_names_region_product_relation_and_distance(engine: MatchEngine) -> None:
    item = next(i for i in engine.suppliers_for("fl-lmfp", "n2").items if i.supplier.id == "zy-mn")
    expected = "遵义市汇川区的遵义锰业可供应硫酸锰，是涪陵锂电材料所需磷酸锰铁锂的原料，相距222公里。"
    assert item.explanation.summary_zh == expected


def test_buyers_for_finds_inferred_buyer_without_needs(engine: MatchEngine) -> None:
    items = engine.buyers_for("zy-ptmeg").items
    spandex = next(i for i in items if i.buyer.id == "fl-spandex")
    assert spandex.need_id is None and spandex.inferred is True
    assert spandex.explanation.inferred_input == "聚四氢呋喃"
    assert spandex.explanation.chain_path_text == "聚四氢呋喃 —原料→ 氨纶"
    assert "推断需求" in spandex.explanation.summary_zh


def test_suppliers_for_covers_explicit_and_inferred_needs(make_engine: Make) -> None:
    eng = make_engine([
        ent("maker", "500102", [("o1", "氨纶")], [{"id": "n1", "product": "硫酸锰"}]),
        ent("mn", "520303", [("o1", "硫酸锰")]),
        ent("ptmeg", "520303", [("o1", "PTMEG")]),
        ent("mdi", "510104", [("o1", "MDI")]),
    ])
    items = eng.suppliers_for("maker").items
    got = {(i.supplier.id, i.need_id, i.inferred, i.explanation.inferred_input) for i in items}
    assert got == {("mn", "n1", False, None), ("ptmeg", None, True, "聚四氢呋喃"),
                   ("mdi", None, True, "二苯基甲烷二异氰酸酯")}
    # asking for one need returns only explicit matches
    assert [i.supplier.id for i in eng.suppliers_for("maker", "n1").items] == ["mn"]


def test_inferred_demand_skips_what_the_buyer_makes_itself(make_engine: Make) -> None:
    eng = make_engine([ent("integrated", "500102", [("o1", "氨纶"), ("o2", "PTMEG")]),
                       ent("ptmeg", "520303", [("o1", "PTMEG")])])
    assert [i.buyer.id for i in eng.buyers_for("ptmeg").items] == []


def test_deterministic_regardless_of_input_order(graph, regions, policy) -> None:  # type: ignore[no-untyped-def]
    profiles = base_profiles()
    shuffled = profiles[:]
    random.Random(7).shuffle(shuffled)
    a = MatchEngine.build(graph, regions, policy, profiles)
    b = MatchEngine.build(graph, regions, policy, shuffled)
    for eid in a.enterprise_ids():
        for method in ("suppliers_for", "buyers_for"):
            ra = getattr(a, method)(eid, k=20).model_dump()
            assert ra == getattr(b, method)(eid, k=20).model_dump()
            assert ra == getattr(a, method)(eid, k=20).model_dump()


def test_ties_break_by_ids(make_engine: Make) -> None:
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                       ent("s-z", "520303", [("o2", "硫酸锰"), ("o1", "硫酸锰")]),
                       ent("s-a", "520303", [("o9", "硫酸锰")])])
    items = eng.suppliers_for("b").items
    assert len({i.score for i in items}) == 1
    assert [(i.supplier.id, i.offer_id) for i in items] == [("s-a", "o9"), ("s-z", "o1"), ("s-z", "o2")]


def test_upsert_and_remove_without_refit(engine: MatchEngine, graph, regions, policy) -> None:  # type: ignore[no-untyped-def]
    eng = MatchEngine.build(graph, regions, policy, base_profiles())
    text_model = eng.text_model
    idf = text_model.word_idf_
    n = len(eng)
    assert "new-mn" not in [i.supplier.id for i in eng.suppliers_for("fl-lmfp").items]

    newcomer = ent("new-mn", "520303", [("o1", "硫酸锰（电池级）", "全新供应商")], tags=["链主"])
    eng.upsert(newcomer)
    assert len(eng) == n + 1 and eng.get("new-mn") == newcomer
    assert "new-mn" in [i.supplier.id for i in eng.suppliers_for("fl-lmfp").items]
    assert eng.text_model is text_model
    assert text_model.word_idf_ is not None and text_model.word_idf_ is idf

    # replacing the profile replaces its offers
    eng.upsert(ent("new-mn", "520303", [("o1", "氨纶")]))
    assert "new-mn" not in [i.supplier.id for i in eng.suppliers_for("fl-lmfp").items]
    assert len(eng) == n + 1

    eng.remove("zy-mn")
    assert eng.get("zy-mn") is None and len(eng) == n
    assert "zy-mn" not in [i.supplier.id for i in eng.suppliers_for("fl-lmfp").items]
    assert eng.text_model is text_model
    offers_df = eng.frames[1]
    assert offers_df.filter(pl.col("enterprise_id") == "zy-mn")["alive"].to_list() == [False]

    # a new buyer is found by an existing supplier
    eng.upsert(ent("new-buyer", "510104", needs=[{"id": "n1", "product": "NCM811"}]))
    assert "new-buyer" in [i.buyer.id for i in eng.buyers_for("zy-ncm").items]

    eng.refit()
    assert eng.text_model is not text_model
    assert "new-buyer" in [i.buyer.id for i in eng.buyers_for("zy-ncm").items]
    assert "zy-mn" not in [i.supplier.id for i in eng.suppliers_for("fl-lmfp").items]


def test_build_from_frames_equals_build_from_profiles(engine: MatchEngine, graph, regions, policy) -> None:  # type: ignore[no-untyped-def]
    frames = profiles_to_frames(base_profiles())
    assert frames[0].height == len(base_profiles())
    from_frames = MatchEngine.build(graph, regions, policy, frames)
    nested = pl.DataFrame([p.model_dump(exclude_none=True) for p in base_profiles()])
    from_nested = MatchEngine.build(graph, regions, policy, nested)
    for eng in (from_frames, from_nested):
        assert eng.get("zy-mn") == engine.get("zy-mn")
        assert eng.suppliers_for("hc-cell").model_dump() == engine.suppliers_for("hc-cell").model_dump()


def test_not_found_errors(engine: MatchEngine) -> None:
    with pytest.raises(NotFoundError):
        engine.suppliers_for("nobody")
    with pytest.raises(NotFoundError):
        engine.suppliers_for("fl-lmfp", "n404")
    with pytest.raises(NotFoundError):
        engine.buyers_for("zy-mn", "o404")
    with pytest.raises(NotFoundError):
        engine.remove("nobody")
    with pytest.raises(InvalidInputError):
        engine.suppliers_for("fl-lmfp", k=0)


def test_k_limits_and_unit_warnings(make_engine: Make) -> None:
    eng = make_engine([
        ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰", "volume": {"value": 3, "unit": "桶"}}]),
        *[ent(f"s{i}", "520303", [("o1", "硫酸锰")]) for i in range(5)],
    ])
    result = eng.suppliers_for("b", k=3)
    assert len(result.items) == 3
    assert result.warnings and "桶" in result.warnings[0] and result.warnings[0].startswith("b: ")


def test_a_counterpart_item_with_an_unknown_unit_is_warned_of_once_and_other_items_are_not(
    make_engine: Make,
) -> None:
    odd = {"value": 3, "unit": "桶"}
    eng = make_engine([
        ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}, {"id": "n2", "product": "电解锰", "volume": odd}]),
        ent("s0", "520303", [{"id": "o1", "product": "硫酸锰", "capacity": odd},
                             {"id": "o2", "product": "磷酸锰铁锂", "capacity": {"value": 1, "unit": "车皮"}}]),
        ent("s1", "520303", [("o1", "硫酸锰")]),
        ent("c", "500117", needs=[{"id": "n1", "product": "硫酸锰", "volume": odd}]),
    ])
    result = eng.suppliers_for("b", "n1", k=5)
    assert {i.supplier.id for i in result.items} == {"s0", "s1"}
    # the asking firm's own profile, then the listed offer's unit only (not s0's other offer, 车皮)
    assert result.warnings == ["b: needs[1].volume.unit: unknown unit '桶' kept as given; capacity fit is neutral",
                               "s0: offer o1: unknown unit '桶' kept as given; capacity fit is neutral"]
    buyers = eng.buyers_for("s0", "o1", k=5)
    assert [i.need_id for i in buyers.items if i.buyer.id == "b"] == ["n1"]
    assert [w for w in buyers.warnings if w.startswith("b: ")] == []  # b's odd unit is on n2, not listed
    assert [w for w in buyers.warnings if not w.startswith("s0: offers[")] == [
        "c: need n1: unknown unit '桶' kept as given; capacity fit is neutral"]


def test_linked_nodes_names_the_nodes_of_offers_and_needs(engine: MatchEngine) -> None:
    assert "ptmeg" in engine.linked_nodes("zy-ptmeg")
    assert "lmfp" in engine.linked_nodes("fl-lmfp")  # its offer; its needs name LMFP only as their purpose
    assert "sintering_kiln" in engine.linked_nodes("kiln")
    assert "cathode_material" not in engine.linked_nodes("kiln")
    with pytest.raises(NotFoundError):
        engine.linked_nodes("nobody")


def test_graph_candidates_take_the_strongest_relations_first(graph, regions, policy) -> None:  # type: ignore[no-untyped-def]
    from matching.params import MatchParams

    many = 12
    lmfp = [ent(f"lmfp-{i:03d}", "520303", [("o1", "磷酸锰铁锂")]) for i in range(many)]  # 正极材料's child
    ncm = ent("ncm-deep", "520303", [("o1", "NCM811")])  # a grandchild: a weaker specialisation
    buyer = ent("buyer", "500102", needs=[{"id": "n1", "product": "正极材料"}])
    narrow = MatchEngine.build(graph, regions, policy, [*lmfp, ncm, buyer], MatchParams(graph_top_n=many))
    ids = {i.supplier.id for i in narrow.suppliers_for("buyer", "n1", k=100).items}
    assert ids == {e.id for e in lmfp}  # the candidate cap keeps the strongest relations
    wide = MatchEngine.build(graph, regions, policy, [*lmfp, ncm, buyer])
    assert "ncm-deep" in {i.supplier.id for i in wide.suppliers_for("buyer", "n1", k=100).items}


PRODUCTS_ASKED = ["硫酸锰", "电解锰", "磷酸锰铁锂", "正极材料", "锂电池隔膜", "电解液", "碳酸锂"]


@pytest.fixture(scope="module")
def many_needs(graph: ChainGraph, regions: RegionRegistry, policy: StaticPolicy) -> MatchEngine:
    """More needs than :data:`SMALL_SIDE`, so one batch block multiplies gathered pairs."""
    buyers = [ent(f"buyer-{i:02d}", "500102", needs=[{"id": "n1", "product": PRODUCTS_ASKED[i % 7],
                                                       "description": f"长期采购 {PRODUCTS_ASKED[(i + 3) % 7]}"}])
              for i in range(3 * SMALL_SIDE)]  # fmt: skip
    return MatchEngine.build(graph, regions, policy, [*base_profiles(), *buyers])


# Single queries score text by scattering their few demand rows; a batch block of more than SMALL_SIDE
# demand rows gathers each pair's rows. Both must give the same scores, to the last bit.
@pytest.mark.parametrize(("fixture", "block_size"), [("engine", 3), ("many_needs", 4096)])
def test_batch_top_k_equals_single_queries(fixture: str, block_size: int, request: pytest.FixtureRequest) -> None:
    engine: MatchEngine = request.getfixturevalue(fixture)
    needs = sum(len(engine.get(e).needs) for e in engine.enterprise_ids())  # type: ignore[union-attr]
    assert block_size < SMALL_SIDE or needs > SMALL_SIDE
    batch = engine.top_suppliers_all(k=5, block_size=block_size)
    assert batch.height > 0
    seen = 0
    for (buyer, need), group in batch.group_by(["buyer_id", "need_id"], maintain_order=True):
        single = engine.suppliers_for(str(buyer), str(need), k=5).items
        assert group["rank"].to_list() == list(range(1, group.height + 1))
        assert list(zip(group["supplier_id"], group["offer_id"], strict=True)) == [
            (i.supplier.id, i.offer_id) for i in single
        ]
        assert group["score"].to_list() == [i.score for i in single]
        seen += 1
    assert 0 < seen <= needs


def test_a_capped_candidate_list_keeps_the_suppliers_that_can_score_best(graph, regions, policy) -> None:  # type: ignore[no-untyped-def]
    """Equally related offers beyond ``graph_top_n`` are cut by what the parties' columns add (distance,
    cross-region, standing), so the cap does not change the top of the list."""
    from matching.params import MatchParams

    far = [ent(f"lmfp-{i:02d}", ("650102", "230102")[i % 2], [("o1", "磷酸锰铁锂")]) for i in range(18)]
    near = [ent(f"lmfp-{i:02d}", ("520303", "510104")[i % 2], [("o1", "磷酸锰铁锂")], tags=["专精特新"])
            for i in range(18, 24)]  # fmt: skip
    makers = [*far, *near]  # the best come last: an arbitrary cut would not find them
    buyer = ent("buyer", "500102", needs=[{"id": "n1", "product": "磷酸锰铁锂"}])
    wide = MatchEngine.build(graph, regions, policy, [*makers, buyer])
    narrow = MatchEngine.build(graph, regions, policy, [*makers, buyer], MatchParams(graph_top_n=6, text_top_n=1))
    best = [(i.supplier.id, i.score) for i in wide.suppliers_for("buyer", "n1", k=6).items]
    assert [(i.supplier.id, i.score) for i in narrow.suppliers_for("buyer", "n1", k=6).items] == best
    assert len({s for _, s in best}) > 1  # the six differ in score: the cut had something to choose
    for engine in (wide, narrow):  # a removed supplier's dead row takes no place in the cut
        engine.remove("lmfp-19")
    best = [(i.supplier.id, i.score) for i in wide.suppliers_for("buyer", "n1", k=6).items]
    assert "lmfp-19" not in {s for s, _ in best}
    assert [(i.supplier.id, i.score) for i in narrow.suppliers_for("buyer", "n1", k=6).items] == best
