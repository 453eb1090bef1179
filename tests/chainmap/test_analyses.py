"""Gaps, warnings, recruitment targets, plan targets and the chain map on the hand-built set (conftest).

Expected values are worked out from the profiles: e.g. 硫酸锰 is needed by 涪陵锰铁锂 (20,000 t/a) and offered
only by 遵义锰业 and 长沙锰盐, both outside the circle, so it is a ``missing`` gap whose out-of-circle
suppliers are those two, and an ``out_of_circle_only`` warning.
"""

from __future__ import annotations

import polars as pl

from matching import chainmap as cm
from matching.chainmap import ChainFacts
from matching.engine import MatchEngine
from matching.policy import Policy
from matching.profiles import Need


def _gap(report: cm.Report, node_id: str) -> dict[str, object]:
    return next(g for g in report.items if g["node_id"] == node_id)


def test_gaps_missing_and_short_with_needing_firms_and_volumes(facts: ChainFacts) -> None:
    report = cm.gaps(facts)
    kinds = {g["node_id"]: g["gap"] for g in report.items}
    # 聚四氢呋喃: 1,000 t/a in the circle (成都聚醚) against 5,000 t/a posted by 涪陵氨纶: 20 % < 50 %
    ptmeg = _gap(report, "ptmeg")
    assert ptmeg["gap"] == "short" and ptmeg["coverage"] == 0.2
    assert ptmeg["demand_volume"] == {"value": 5000.0, "unit": "t/a"}
    assert {n["enterprise_id"]: n["inferred"] for n in ptmeg["needing"]} == {"fl-spandex": False,
                                                                             "hc-spandex": True}
    assert ptmeg["weight"] == 1.5  # one posted need + half an inferred one: the top gap
    assert report.items[0]["node_id"] == "ptmeg"
    for node in ("manganese_sulfate", "dmac", "mdi", "low_alpha_tin", "paraxylene", "wet_separator"):
        assert kinds[node] == "missing"
    # nodes the circle supplies in full, or that nobody in the circle needs, are no gaps
    for node in ("spandex", "lmfp", "black_mass", "green_tea"):
        assert node not in kinds
    assert [g["weight"] for g in report.items] == sorted((g["weight"] for g in report.items), reverse=True)


def test_gap_suppliers_are_the_engines_match_order(facts: ChainFacts, engine: MatchEngine) -> None:
    gap = _gap(cm.gaps(facts), "manganese_sulfate")
    listed = [s["enterprise_id"] for s in gap["suppliers_outside"]]
    assert listed == ["zy-mn", "hn-mn"]
    proposed = engine.match(Need(id="q", product="硫酸锰"), region_code="500102", k=10)
    outside = [i.supplier.id for i in proposed.items if i.supplier.id in {"zy-mn", "hn-mn"}]
    assert listed == outside
    assert {s["enterprise_id"] for s in _gap(cm.gaps(facts), "wet_separator")["suppliers_outside"]} == {
        "zy-sep-a", "zy-sep-b"}
    assert _gap(cm.gaps(facts), "mdi")["suppliers_outside"] == []  # nobody offers MDI


def test_gaps_filtered_by_region_and_chain(facts: ChainFacts) -> None:
    hechuan = {g["node_id"] for g in cm.gaps(facts, "500117").items}
    assert {"low_alpha_tin", "paraxylene", "wet_separator", "dmac"} <= hechuan
    assert "manganese_sulfate" not in hechuan  # only 涪陵 needs it
    # 合川's PTMEG demand is only inferred (no volume) and 成都聚醚 supplies it in the circle: no gap there
    assert "ptmeg" not in hechuan
    chain = next(c for c, ch in facts.graph.chains.items() if "spandex" in cm.facts.chain_node_ids(ch))
    chained = {g["node_id"] for g in cm.gaps(facts, chain=chain).items}
    assert "manganese_sulfate" not in chained and chained <= set(cm.facts.chain_node_ids(facts.graph.chains[chain]))


def test_warnings_are_exactly_the_fragile_needs(facts: ChainFacts) -> None:
    got = {(w["kind"], w["enterprise_id"], w["node_id"], w["severity"]) for w in cm.warnings(facts).items}
    assert got == {
        ("single_supplier", "hc-cell", "low_alpha_tin", "high"),  # one supplier, in 昆明, outside the circle
        ("import_dependent", "hc-cell", "paraxylene", "high"),
        ("out_of_circle_only", "fl-lmfp", "manganese_sulfate", "medium"),
        ("out_of_circle_only", "hc-cell", "wet_separator", "medium"),
        ("one_county", "hc-cell", "wet_separator", "low"),  # both 湿法隔膜 makers are in 桐梓
        ("single_supplier", "fl-spandex", "dmac", "medium"),  # inferred: one step lower
        ("single_supplier", "hc-spandex", "dmac", "medium"),
    }
    limited = cm.warnings(facts, limit=2)
    assert len(limited.items) == 2 and limited.meta["total"] == 7
    high = cm.warnings(facts, severity="high")
    assert {w["kind"] for w in high.items} == {"single_supplier", "import_dependent"}
    assert all("reason_zh" in w and w["reason"] for w in high.items)
    assert {w["enterprise_id"] for w in cm.warnings(facts, "500102").items} == {"fl-lmfp", "fl-spandex"}


def test_recruitment_targets_for_fuling(facts: ChainFacts) -> None:
    report = cm.recruitment_targets(facts, "500102")
    assert [t["enterprise_id"] for t in report.items] == ["zy-mn", "hn-mn", "js-ptmeg", "zy-dmac"]
    first = report.items[0]
    assert [g["node_id"] for g in first["gaps"]] == ["manganese_sulfate"]
    assert first["firms_served"] == ["fl-lmfp"] and "硫酸锰" in first["reason_zh"] and "涪陵区" in first["reason_zh"]
    assert all(not facts.firms.filter(pl.col("enterprise_id") == t["enterprise_id"])["in_circle"].item()
               for t in report.items)


def test_plan_targets_count_zunyi_firms_supplying_the_circle(facts: ChainFacts) -> None:
    report = cm.targets(facts, Policy.load())
    by_id = {t["id"]: t for t in report.items}
    assert len(by_id) == len(Policy.load().targets)  # every target listed, none dropped
    assert by_id["zy-huichuan-2025-suppliers"]["measured"] == 2  # 遵义锰业, 遵义溶剂; not 遵义茶业
    assert {f["enterprise_id"] for f in by_id["zy-huichuan-2025-suppliers"]["firms"]} == {"zy-mn", "zy-dmac"}
    assert by_id["zy-tongzi-2027-suppliers"]["measured"] == 2
    assert by_id["zy-2025-suppliers"]["measured"] == 4  # the city counts its counties
    assert by_id["zy-2025-suppliers"]["reached"] is False
    assert by_id["zy-bozhou-2025-suppliers"]["measured"] == 0
    output = by_id["zy-2025-output"]
    assert output["measurable"] is False and "output" in output["reason"]
    assert by_id["hc-2027-listed-firms"]["measurable"] is True and by_id["hc-2027-listed-firms"]["measured"] == 0
    assert {t["id"] for t in cm.targets(facts, Policy.load(), "520322").items} == {
        t.id for t in Policy.load().targets if t.region_code == "520322"}


def test_chain_map_counts_inside_outside_and_per_region(facts: ChainFacts) -> None:
    chain = next(c for c, ch in facts.graph.chains.items() if "ptmeg" in cm.facts.chain_node_ids(ch))
    node = next(n for n in cm.chain_map(facts, chain).items if n["node_id"] == "ptmeg")
    assert node["supplies"]["total"] == 2 and node["supplies"]["in_circle"] == 1
    assert node["supplies"]["by_region"] == {"320585": 1, "510104": 1}
    assert [f["enterprise_id"] for f in node["needs"]["firms"]] == ["fl-spandex"]
    assert [f["enterprise_id"] for f in node["needs_inferred"]["firms"]] == ["hc-spandex"]
    local = next(n for n in cm.chain_map(facts, chain, "500117").items if n["node_id"] == "ptmeg")
    assert (local["supplies"]["total"], local["needs"]["total"], local["needs_inferred"]["total"]) == (0, 0, 1)


def test_reports_render_json_csv_xlsx(facts: ChainFacts) -> None:
    import io
    import json

    from openpyxl import load_workbook

    report = cm.gaps(facts)
    assert json.loads(cm.render(report, "json"))["items"][0]["node_id"] == "ptmeg"
    csv = pl.read_csv(io.BytesIO(cm.render(report, "csv")))
    assert csv.height == len(report.items) and csv["node_id"][0] == "ptmeg"
    sheet = load_workbook(io.BytesIO(cm.render(report, "xlsx"))).active
    assert sheet is not None and sheet.max_row == len(report.items) + 1


def test_a_write_changes_the_gaps(engine: MatchEngine) -> None:
    from tests.chainmap.conftest import PROFILES, ent

    fresh = MatchEngine.build(engine.index.graph, engine.index.regions, engine.index.policy, PROFILES)
    fresh.upsert(ent("fl-mn", "500102", [("o1", "硫酸锰", {"value": 30000, "unit": "吨/年"})]))
    facts = cm.build_facts(fresh.index)
    assert "manganese_sulfate" not in {g["node_id"] for g in cm.gaps(facts).items}
    assert not [w for w in cm.warnings(facts).items if w["node_id"] == "manganese_sulfate"]


def test_an_empty_index_gives_empty_reports_and_every_target(engine: MatchEngine) -> None:
    empty = MatchEngine.build(engine.index.graph, engine.index.regions, engine.index.policy, [])
    facts = cm.build_facts(empty.index)
    assert cm.gaps(facts).items == [] and cm.warnings(facts).items == []
    assert cm.recruitment_targets(facts, "500102").items == []
    plan = cm.targets(facts, Policy.load())
    assert len(plan.items) == len(Policy.load().targets) and plan.meta["measurable"] == 22
    assert all(t["measured"] in (0, None) for t in plan.items)
    assert cm.render(cm.warnings(facts), "csv").decode("utf-8-sig").startswith("severity,kind")


def test_a_need_counts_on_its_strongest_links_only(engine: MatchEngine) -> None:
    from tests.chainmap.conftest import ent

    # "线束" narrowed by "整车线束" links 汽车线束 (1.0) and keeps the category 线束 as a fallback (0.6)
    one = MatchEngine.build(engine.index.graph, engine.index.regions, engine.index.policy, [
        ent("cq-car", "500117", needs=[{"id": "n1", "product": "线束", "description": "整车线束"}])])
    heads = {lk.node_id: lk.confidence for lk in one.links_of("cq-car", "n1", "need").head}
    assert heads["auto_wire_harness"] > heads["wire_harness"]
    facts = cm.build_facts(one.index)
    explicit = facts.demand.filter(~pl.col("inferred")).join(facts.node_frame(), on="node")
    assert explicit["node_id"].to_list() == ["auto_wire_harness"]
    assert [g["node_id"] for g in cm.gaps(facts).items] == ["auto_wire_harness"]


def test_coverage_share_is_a_parameter(facts: ChainFacts) -> None:
    # PTMEG: 1,000 t/a in the circle for 5,000 t/a posted: 20 % coverage
    assert "ptmeg" not in {g["node_id"] for g in cm.gaps(facts, coverage_share=0.2).items}
    report = cm.gaps(facts, coverage_share=0.25)
    assert _gap(report, "ptmeg")["gap"] == "short" and report.params["coverage_share"] == 0.25
    assert "25%" in str(_gap(report, "ptmeg")["summary_zh"])


def test_a_supplier_without_a_required_certification_is_not_viable(engine: MatchEngine) -> None:
    from tests.chainmap.conftest import ent

    firms = [
        ent("cq-oem", "500117", needs=[{"id": "n1", "product": "驱动电机", "required_certifications": ["IATF 16949"]},
                                       {"id": "n2", "product": "驱动电机"}]),
        ent("zy-motor-a", "520303", [("o1", "驱动电机", None)], certifications=["IATF16949"]),
        ent("zy-motor-b", "520302", [("o1", "驱动电机", None)]),
    ]
    small = MatchEngine.build(engine.index.graph, engine.index.regions, engine.index.policy, firms)
    got = {(w["need_id"], w["kind"], w["viable_suppliers"]) for w in cm.warnings(cm.build_facts(small.index)).items}
    # n1 requires IATF 16949: only zy-motor-a holds it, as the engine's filter would keep; n2 has both
    assert got == {("n1", "single_supplier", 1), ("n2", "out_of_circle_only", 2)}
    listed = {i.supplier.id for i in small.suppliers_for("cq-oem", "n1", k=10).items}
    assert listed == {"zy-motor-a"}
