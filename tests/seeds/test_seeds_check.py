"""Each kind of defect the seed validator catches is caught and named, with its file and entry."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from matching.chains import default_seeds_dir
from matching.cli import app
from matching.seeds_check import check_seeds
from tests.seeds.source_docs import SOURCE_DOCS_DIR

DOC = "000_2ed5d146fa7b3271.txt"


def _chain() -> dict[str, Any]:
    return {
        "id": "mini",
        "name": "迷你链",
        "name_en": "Mini chain",
        "sources": [{"doc": DOC, "section": "二"}],
        "regions": ["500102"],
        "segments": {"上游": ["adipic_acid"], "中游": ["nylon66_salt"], "下游": ["pa66"]},
        "nodes": [
            {"id": "acid", "name": "二元酸", "name_en": "dicarboxylic acid", "kind": "category"},
            {"id": "adipic_acid", "name": "己二酸", "name_en": "adipic acid", "kind": "intermediate",
             "synonyms": ["AA"], "is_a": ["acid"]},
            {"id": "nylon66_salt", "name": "尼龙66盐", "name_en": "nylon 66 salt", "kind": "intermediate",
             "inputs": ["adipic_acid"]},
            {"id": "pa66", "name": "PA66切片", "name_en": "PA66 chips", "kind": "intermediate",
             "inputs": ["nylon66_salt"]},
        ],
    }


def _enterprises() -> list[dict[str, Any]]:
    return [{
        "id": "ent-1", "name": "某化工", "region_code": "500102", "source": {"doc": DOC, "section": "二"},
        "offers": [{"id": "o1", "product": "己二酸"}],
        "needs": [{"id": "n1", "product": "尼龙66盐原料"}],
    }]


def _write(root: Path, chain: dict[str, Any], enterprises: list[dict[str, Any]]) -> None:
    (root / "chains").mkdir(parents=True, exist_ok=True)
    (root / "nodes").mkdir(exist_ok=True)
    (root / "enterprises").mkdir(exist_ok=True)
    shutil.copy(default_seeds_dir() / "regions.yaml", root / "regions.yaml")
    (root / "chains" / "mini.yaml").write_text(yaml.safe_dump(chain, allow_unicode=True), encoding="utf-8")
    (root / "enterprises" / "e.yaml").write_text(yaml.safe_dump(enterprises, allow_unicode=True), encoding="utf-8")


def test_clean_seeds_pass(tmp_path: Path) -> None:
    _write(tmp_path, _chain(), _enterprises())
    report = check_seeds(tmp_path)
    assert report.ok, report.defects
    assert report.counts["nodes"] == 4
    assert report.counts["input_of_edges"] == 2
    assert report.counts["enterprises"] == 1


def _dup_node(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["nodes"].append({**c["nodes"][1], "synonyms": []})


def _dangling_input(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["nodes"][2]["inputs"] = ["hexamethylenediamine"]


def _dangling_segment(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["segments"]["下游"] = ["pa66", "nylon_fibre"]


def _cycle(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["nodes"][0]["is_a"] = ["adipic_acid"]


def _ambiguous(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["nodes"][3]["synonyms"] = ["aa"]


def _bad_region(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    e[0]["region_code"] = "999999"


def _unlinked(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    e[0]["needs"][0]["product"] = "办公用品"


def _dup_enterprise(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    e.append(dict(e[0]))


def _unknown_doc(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["sources"][0]["doc"] = "999_made_up.txt"


def _bad_kind(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    c["nodes"][1]["kind"] = "gadget"


def _unsupported_tag(c: dict[str, Any], e: list[dict[str, Any]]) -> None:
    e[0]["tags"] = ["链主", "规上"]  # the cited section "二" quotes no 链主


@pytest.mark.parametrize(
    ("mutate", "kind", "entry"),
    [
        (_dup_node, "duplicate_id", "adipic_acid"),
        (_dangling_input, "dangling_edge", "nylon66_salt"),
        (_dangling_segment, "dangling_edge", "mini"),
        (_cycle, "is_a_cycle", "acid"),
        (_ambiguous, "ambiguous_synonym", "adipic_acid"),
        (_bad_region, "unknown_region", "ent-1"),
        (_unlinked, "unlinked_need", "ent-1/n1"),
        (_dup_enterprise, "duplicate_id", "ent-1"),
        (_unknown_doc, "unknown_source", "mini"),
        (_bad_kind, "invalid_node", "adipic_acid"),
        (_unsupported_tag, "unsupported_tag", "ent-1"),
    ],
)
def test_each_defect_is_caught_and_named(
    tmp_path: Path, mutate: Callable[[dict[str, Any], list[dict[str, Any]]], None], kind: str, entry: str
) -> None:
    chain, enterprises = _chain(), _enterprises()
    mutate(chain, enterprises)
    _write(tmp_path, chain, enterprises)
    report = check_seeds(tmp_path)
    hits = [d for d in report.defects if d.kind == kind]
    assert hits, f"expected a {kind} defect, got {report.defects}"
    assert any(d.entry == entry for d in hits), hits
    assert all(d.file.endswith(".yaml") for d in hits)


def test_policy_references_are_checked(tmp_path: Path) -> None:
    _write(tmp_path, _chain(), _enterprises())
    (tmp_path / "policy").mkdir()
    priorities = {"priorities": [{"region_code": "500102", "name": "涪陵区", "chains": ["mini", "ghost_chain"],
                                  "sources": [{"doc": DOC, "section": "二"}]},
                                 {"region_code": "990000", "name": "无此省", "chains": ["mini"],
                                  "sources": [{"doc": DOC, "section": "二"}]}]}
    (tmp_path / "policy" / "priorities.yaml").write_text(yaml.safe_dump(priorities, allow_unicode=True),
                                                         encoding="utf-8")
    report = check_seeds(tmp_path)
    kinds = {(d.kind, d.message) for d in report.defects}
    assert ("dangling_reference", "unknown chain 'ghost_chain'") in kinds
    assert ("unknown_region", "region '990000' does not resolve") in kinds
    assert report.counts["policy.priorities"] == 2


def test_a_standing_tag_quoted_by_its_citation_is_accepted(tmp_path: Path) -> None:
    enterprises = _enterprises()
    enterprises[0]["tags"] = ["龙头企业", "规上"]
    enterprises[0]["source"]["section"] = "二（鼓励华峰、万凯等龙头企业强化关键核心技术攻关）"
    _write(tmp_path, _chain(), enterprises)
    assert check_seeds(tmp_path).ok
    enterprises[0]["source"]["section"] = "二（调动华峰、巴斯夫等头部企业积极性）"  # the document's other word
    _write(tmp_path, _chain(), enterprises)
    assert check_seeds(tmp_path).ok


def test_shared_synonym_is_allowed(tmp_path: Path) -> None:
    chain = _chain()
    chain["nodes"][1]["shared_synonyms"] = ["尼龙原料"]
    chain["nodes"][2]["shared_synonyms"] = ["尼龙原料"]
    _write(tmp_path, chain, _enterprises())
    assert check_seeds(tmp_path).ok


def test_cli_exits_nonzero_and_names_the_defect(tmp_path: Path) -> None:
    chain = _chain()
    _dangling_input(chain, [])
    _write(tmp_path, chain, _enterprises())
    result = CliRunner().invoke(app, ["seeds", "check", "--seeds-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "chains/mini.yaml" in result.output
    assert "hexamethylenediamine" in result.output


# -- a node that cites a document must be named in it -------------------------------------------------------

def _docs(root: Path, text: str) -> Path:
    docs = root / "docs"
    docs.mkdir()
    (docs / DOC).write_text(text, encoding="utf-8")
    return docs


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("依托己二酸原料", False),
        ("依托 AA 原料", False),  # an ASCII synonym as a whole word
        ("依托PAA原料", True),  # … but not inside a longer word
        ("强化尼龙66盐产能", True),
    ],
)
def test_a_node_citing_a_document_that_never_names_it_is_caught(tmp_path: Path, text: str, flagged: bool) -> None:
    chain = _chain()
    chain["nodes"][1]["source"] = {"doc": DOC, "section": "二"}  # adipic_acid: 己二酸 / AA
    _write(tmp_path, chain, _enterprises())
    report = check_seeds(tmp_path, _docs(tmp_path, text))
    hits = [d for d in report.defects if d.kind == "citation_not_in_document"]
    assert [(d.file, d.entry) for d in hits] == ([("chains/mini.yaml", "adipic_acid")] if flagged else [])
    assert report.counts["node_citations_checked"] == 1


def test_an_inference_marked_public_is_not_checked(tmp_path: Path) -> None:
    chain = _chain()
    chain["nodes"][1]["source"] = {"doc": "public", "section": "推断：000 二（依托…原料）"}
    _write(tmp_path, chain, _enterprises())
    report = check_seeds(tmp_path, _docs(tmp_path, "与本节点无关的文字"))
    assert report.ok, report.defects
    assert report.counts["nodes.cite_public"] == 1
    assert report.counts["node_citations_checked"] == 0


def test_without_the_documents_the_rule_is_skipped_with_a_note(tmp_path: Path) -> None:
    chain = _chain()
    chain["nodes"][1]["source"] = {"doc": DOC, "section": "二"}
    _write(tmp_path, chain, _enterprises())
    report = check_seeds(tmp_path, tmp_path / "nowhere")
    assert report.ok, report.defects
    assert "node_citations_checked" not in report.counts
    assert any("source documents not found" in n and "skipped" in n for n in report.notes)
    result = CliRunner().invoke(
        app, ["seeds", "check", "--seeds-dir", str(tmp_path), "--source-docs", str(tmp_path / "nowhere")])
    assert result.exit_code == 0, result.output
    assert "NOTE" in result.output and "passed" in result.output


def test_a_planted_citation_defect_in_a_copy_of_the_real_seeds_is_caught(tmp_path: Path) -> None:
    """001 names only 太极集团, never its 藿香正气口服液: citing 001 for that node must fail the check."""
    seeds = tmp_path / "seeds"
    shutil.copytree(default_seeds_dir(), seeds)
    path = seeds / "chains" / "modern_tcm.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = next(n for n in data["nodes"] if n["id"] == "huoxiang_zhengqi_oral_liquid")
    assert node["source"]["doc"] == "public"
    node["source"] = {"doc": "001_39a0fae4dbddedf2.txt", "section": "制造业大区（太极集团）"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    report = check_seeds(seeds, SOURCE_DOCS_DIR)
    assert [(d.file, d.entry, d.kind) for d in report.defects] == [
        ("chains/modern_tcm.yaml", "huoxiang_zhengqi_oral_liquid", "citation_not_in_document")]
    assert "藿香正气口服液" in report.defects[0].message
