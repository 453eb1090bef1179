"""One loader, two modes: ``strict`` stops at the first defect and names it; ``collect`` keeps the good entries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from matching.chains import load_graph
from matching.seed_enterprises import SeedEnterpriseError, load_seed_enterprises
from matching.seed_loader import SeedError, read_enterprises, read_graph

NODE: dict[str, Any] = {"id": "adipic_acid", "name": "己二酸", "name_en": "adipic acid", "kind": "intermediate"}
CHAIN: dict[str, Any] = {
    "id": "mini", "name": "迷你链", "name_en": "Mini chain", "sources": [{"doc": "public"}],
    "segments": {"上游": ["adipic_acid"], "中游": ["salt"], "下游": ["salt"]},
    "nodes": [{"id": "salt", "name": "尼龙66盐", "name_en": "nylon 66 salt", "kind": "intermediate",
               "inputs": ["adipic_acid"]}],
}
ENTERPRISE: dict[str, Any] = {"id": "e1", "name": "某企业", "region_code": "500102",
                              "source": {"doc": "public"}, "offers": [{"id": "o1", "product": "己二酸"}]}


def _dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _seeds(root: Path, nodes: list[Any], chain: dict[str, Any], enterprises: list[Any]) -> Path:
    _dump(root / "nodes" / "shared.yaml", {"nodes": nodes})
    _dump(root / "chains" / "mini.yaml", chain)
    _dump(root / "enterprises" / "plan.yaml", {"enterprises": enterprises})
    return root


def test_both_modes_read_clean_seeds_alike(tmp_path: Path) -> None:
    root = _seeds(tmp_path, [NODE], CHAIN, [ENTERPRISE])
    strict, collected = read_graph(root, "strict"), read_graph(root, "collect")
    assert strict.defects == collected.defects == ()
    assert sorted(strict.value.nodes) == sorted(collected.value.nodes) == ["adipic_acid", "salt"]
    assert strict.value.node_files == {"adipic_acid": "nodes/shared.yaml", "salt": "chains/mini.yaml"}
    assert [n.id for n in strict.value.chains["mini"].nodes] == ["salt"]  # the chain keeps the nodes it defines
    assert load_graph(root).node_files == strict.value.node_files
    assert [s.enterprise.id for s in read_enterprises(root, "collect").value] == ["e1"]
    assert [e.id for e in load_seed_enterprises(root)] == ["e1"]


def test_strict_names_the_file_and_entry_collect_keeps_the_rest(tmp_path: Path) -> None:
    bad = {**NODE, "id": "bad_kind", "name": "怪东西", "kind": "gadget"}
    root = _seeds(tmp_path, [NODE, bad, dict(NODE)], CHAIN, [ENTERPRISE])
    with pytest.raises(SeedError) as exc:
        load_graph(root)
    assert (exc.value.file, exc.value.entry, exc.value.defect.kind) == ("nodes/shared.yaml", "bad_kind", "invalid_node")
    assert "nodes/shared.yaml [bad_kind]" in str(exc.value) and "kind" in str(exc.value)
    loaded = read_graph(root, "collect")
    assert sorted(loaded.value.nodes) == ["adipic_acid", "salt"]
    assert [(d.file, d.entry, d.kind) for d in loaded.defects] == [
        ("nodes/shared.yaml", "bad_kind", "invalid_node"), ("nodes/shared.yaml", "adipic_acid", "duplicate_id")]


def test_a_file_that_is_not_yaml_or_not_the_expected_shape_is_a_defect(tmp_path: Path) -> None:
    root = _seeds(tmp_path, [NODE], CHAIN, [ENTERPRISE])
    (root / "nodes" / "broken.yaml").write_text("nodes: [unclosed", encoding="utf-8")
    _dump(root / "enterprises" / "typo.yaml", {"enterprise": [ENTERPRISE]})
    with pytest.raises(SeedError, match=r"nodes/broken.yaml \[<file>\] yaml"):
        read_graph(root, "strict")
    assert [(d.file, d.kind) for d in read_graph(root, "collect").defects] == [("nodes/broken.yaml", "yaml")]
    with pytest.raises(SeedEnterpriseError, match=r"enterprises/typo.yaml: expected a list under 'enterprises:'"):
        read_enterprises(root, "strict")
    collected = read_enterprises(root, "collect")
    assert [(d.file, d.kind) for d in collected.defects] == [("enterprises/typo.yaml", "invalid_file")]
    assert [s.enterprise.id for s in collected.value] == ["e1"]


def test_enterprise_defects_in_both_modes(tmp_path: Path) -> None:
    unsourced = {k: v for k, v in ENTERPRISE.items() if k != "source"} | {"id": "e2"}
    invalid = {**ENTERPRISE, "id": "e3", "region_code": "5001"}
    root = _seeds(tmp_path, [NODE], CHAIN, [ENTERPRISE, unsourced, invalid, ENTERPRISE])
    with pytest.raises(SeedEnterpriseError, match=r"enterprises/plan.yaml entry #1: missing source \(e2\)") as exc:
        read_enterprises(root, "strict")
    assert exc.value.index == 1 and exc.value.entry == "e2"
    collected = read_enterprises(root, "collect")
    assert [(d.entry, d.kind) for d in collected.defects] == [
        ("e2", "missing_source"), ("e3", "invalid_enterprise"), ("e1", "duplicate_id")]
    assert [s.enterprise.id for s in collected.value] == ["e1", "e2"]  # an unsourced entry is still checked


def test_an_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown load mode"):
        read_graph(tmp_path, "lenient")  # type: ignore[arg-type]
