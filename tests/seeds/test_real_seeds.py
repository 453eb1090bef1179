"""The repository's seeds: valid, big enough, covering the documents' chains and product terms."""

from __future__ import annotations

import csv
from functools import cache
from itertools import pairwise
from pathlib import Path

import pytest

from matching.chains import ChainGraph, default_seeds_dir, load_graph, normalise_term
from matching.seeds_check import SeedReport, check_seeds
from tests.seeds.source_docs import SOURCE_DOCS_DIR

TERMS_DIR = Path(__file__).resolve().parent / "terms"


@cache
def _report() -> SeedReport:
    return check_seeds()


@cache
def _graph() -> ChainGraph:
    return load_graph()


def test_seeds_check_passes() -> None:
    report = _report()
    assert report.ok, "\n".join(str(d) for d in report.defects[:50])


def test_minimum_size() -> None:
    counts = _report().counts
    assert counts["chains"] >= 35
    assert counts["nodes"] >= 500
    assert counts["input_of_edges"] >= 700


def _term_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for path in sorted(TERMS_DIR.glob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                rows.append((path.name, row["term"].strip(), row["doc"].strip(), row.get("context") or ""))
    return rows


def test_term_lists_exist_for_all_documents() -> None:
    docs = {doc for _, _, doc, _ in _term_rows()}
    assert docs >= {"000_2ed5d146fa7b3271.txt", "001_39a0fae4dbddedf2.txt", "002_5c18a5dec94362c3.txt",
                    "003_1bc59414bff406b1.txt", "004_ab94c550cb50952a.txt"}
    assert len({term for _, term, _, _ in _term_rows()}) >= 200


def test_every_listed_term_occurs_in_its_document() -> None:
    missing = []
    for file, term, doc, _ in _term_rows():
        text = (SOURCE_DOCS_DIR / doc).read_text(encoding="utf-8")
        if term not in text:
            missing.append(f"{file}: {term!r} not in {doc}")
    assert not missing, "\n".join(missing)


def test_every_document_term_resolves_to_a_node() -> None:
    graph = _graph()
    unresolved = sorted({f"{term} ({doc})" for _, term, doc, _ in _term_rows() if not graph.resolve(term)})
    assert not unresolved, f"{len(unresolved)} unresolved: " + ", ".join(unresolved)


def test_every_chain_cites_a_document_and_has_three_segments() -> None:
    graph = _graph()
    for chain in graph.chains.values():
        assert chain.sources, chain.id
        assert all(chain.segments.get(seg) for seg in ("上游", "中游", "下游")), chain.id


def test_node_kinds_keep_equipment_and_services_apart() -> None:
    graph = _graph()
    kinds = {n.kind.value for n in graph.nodes.values()}
    assert {"equipment", "service", "category", "raw_material", "intermediate", "component"} <= kinds
    for nid, node in graph.nodes.items():
        if node.kind.value in {"equipment", "service"}:
            for parent in node.is_a:
                assert graph.nodes[parent].kind.value in {node.kind.value, "category"}, (nid, parent)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (["硫酸锰", "磷酸锰铁锂", "动力电池电芯"], "input"),
        (["己二酸", "尼龙66盐"], "input"),
        (["PTMEG", "氨纶"], "input"),
        (["MDI", "氨纶"], "input"),
        (["NCM811", "三元正极材料", "正极材料"], "is_a"),
        # issue 7 corrections: the feedstock that is really used
        (["邻硝基氯苯", "邻氯苯胺", "MOCA"], "input"),
        (["铆钉线", "航空铆钉"], "input"),
        (["铆钉线", "铆钉"], "input"),
        (["偏二氯乙烯", "R142b"], "input"),
        (["黄磷", "三氯化磷"], "input"),
        (["氧化铁", "锰锌铁氧体"], "input"),
        (["五氧化二钒", "铝钒中间合金"], "input"),
        (["压电陶瓷", "超声探头"], "input"),
        (["混合二甲苯", "间二甲苯", "精间苯二甲酸"], "input"),
    ],
)
def test_design_examples_hold(path: list[str], kind: str) -> None:
    graph = _graph()
    ids = []
    for term in path:
        found = graph.resolve(term)
        assert found, term
        ids.append(found)
    for a_ids, b_ids in pairwise(ids):
        if kind == "input":
            assert any(a in graph.inputs.get(b, ()) for a in a_ids for b in b_ids), (a_ids, b_ids)
        else:
            assert any(b in graph.ancestors(a) for a in a_ids for b in b_ids), (a_ids, b_ids)


def test_seeds_dir_is_the_repository_default() -> None:
    assert (default_seeds_dir() / "regions.yaml").is_file()
    assert normalise_term(" PTMEG ") == "ptmeg"


def test_wrong_input_edges_stay_removed() -> None:
    """MOCA is not made from 苯胺 alone, rivets not from 电工圆铝杆, PIA not straight from mixed xylene."""
    inputs = _graph().inputs
    assert "aniline" not in inputs["moca"]
    assert "aluminium_rod" not in inputs["rivet"] and "aluminium_rod" not in inputs["aero_rivet"]
    assert "mixed_xylene" not in inputs["purified_isophthalic_acid"]


@pytest.mark.parametrize(
    ("term", "chain"),
    [("船舶", "shipbuilding"), ("造船", "shipbuilding"), ("高端纺织", "polyester"), ("数字文创", "digital_creative"),
     ("量子传感", "instruments"), ("液力变速器", "construction_rescue_equipment"),
     ("智慧物流", "hotpot_ingredients"), ("农产品流通加工", "hotpot_ingredients")],
)
def test_products_the_documents_name_are_on_a_chain(term: str, chain: str) -> None:
    graph = _graph()
    ids = graph.resolve(term)
    assert ids, term
    assert any(chain in graph.node_chains.get(i, []) for i in ids), (term, [graph.node_chains.get(i) for i in ids])
