"""Hard filters, each observed through the public API, and their record in the explanation."""

from __future__ import annotations

from collections.abc import Callable

from matching.engine import MatchEngine
from matching.profiles import Enterprise, Need
from matching.weights import MatchFilters, WeightProfile

from .conftest import ent

Make = Callable[[list[Enterprise]], MatchEngine]


def suppliers(engine: MatchEngine, eid: str, **kw: object) -> list[str]:
    return [i.supplier.id for i in engine.suppliers_for(eid, **kw).items]  # type: ignore[arg-type]


def test_certification_filter_drops_uncertified_trader(engine: MatchEngine) -> None:
    result = engine.suppliers_for("hc-cell", "n1")
    ids = [i.supplier.id for i in result.items]
    assert "zy-ncm" in ids  # holds IATF16949 (written without the space)
    assert "cd-trader" not in ids  # lists the same part, no certification
    assert result.items[0].explanation.filters_applied == ["same_enterprise", "certifications:IATF16949"]


def test_certification_filter_also_applies_to_buyers_for(engine: MatchEngine) -> None:
    buyers = [i.buyer.id for i in engine.buyers_for("cd-trader").items]
    assert "hc-cell" not in buyers
    assert "hc-cell" in [i.buyer.id for i in engine.buyers_for("zy-ncm").items]


def test_uncertified_supplier_is_not_offered_through_inferred_demand(engine: MatchEngine) -> None:
    # hc-cell's explicit need for 正极材料 (with IATF16949) supersedes the inferred one.
    assert "cd-trader" not in suppliers(engine, "hc-cell")


def test_never_the_same_enterprise(make_engine: Make) -> None:
    eng = make_engine([ent("both", "500102", [("o1", "硫酸锰")], [{"id": "n1", "product": "硫酸锰"}]),
                       ent("other", "520303", [("o1", "硫酸锰")])])
    assert suppliers(eng, "both") == ["other"]
    assert [i.buyer.id for i in eng.buyers_for("both").items] == []


def test_cross_region_only(make_engine: Make) -> None:
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                       ent("local", "500102", [("o1", "硫酸锰")]), ent("away", "520303", [("o1", "硫酸锰")])])
    assert set(suppliers(eng, "b")) == {"local", "away"}
    only_cross = MatchFilters(cross_region_only=True)
    result = eng.suppliers_for("b", filters=only_cross)
    assert [i.supplier.id for i in result.items] == ["away"]
    assert "cross_region_only" in result.items[0].explanation.filters_applied
    # the same filter carried by a weight profile applies when no explicit filters are given
    profile = WeightProfile(name="x", version=1, weights={"product": 1.0}, filters=only_cross)
    assert suppliers(eng, "b", weights=profile) == ["away"]


def test_exclusions(make_engine: Make) -> None:
    eng = make_engine([ent("b", "500102", needs=[{"id": "n1", "product": "硫酸锰"}]),
                       ent("s1", "520303", [("o1", "硫酸锰")]), ent("s2", "510104", [("o1", "硫酸锰")])])
    assert suppliers(eng, "b", filters=MatchFilters(exclude_enterprises=["s1"])) == ["s2"]
    res = eng.suppliers_for("b", filters=MatchFilters(exclude_regions=["510104"]))
    assert [i.supplier.id for i in res.items] == ["s1"]
    assert "exclude_regions:510104" in res.items[0].explanation.filters_applied
    assert suppliers(eng, "b", filters=MatchFilters(exclude_regions=["500102"])) == []


def test_min_score(engine: MatchEngine) -> None:
    scores = [i.score for i in engine.suppliers_for("fl-lmfp").items]
    cut = sorted(scores)[len(scores) // 2]
    res = engine.suppliers_for("fl-lmfp", filters=MatchFilters(min_score=cut))
    assert res.items and all(i.score >= cut for i in res.items)
    assert len(res.items) < len(scores)
    assert f"min_score:{cut:g}" in res.items[0].explanation.filters_applied


def test_kind_discipline_equipment_service_consumer_distractors(engine: MatchEngine) -> None:
    # kiln, lab and power-bank makers hold IATF16949 and mention 正极材料 / 锂电池, yet never rank.
    for eid in ("hc-cell", "fl-lmfp"):
        ids = suppliers(engine, eid, k=50)
        assert not {"kiln", "lab", "pb"} & set(ids)
    res = engine.match(Need(id="q", product="正极材料"), k=50)
    assert not {"kiln", "lab", "pb"} & {i.supplier.id for i in res.items}
