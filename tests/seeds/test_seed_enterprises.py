"""Plan enterprises: every profile validates, cites its source, resolves its region and links to the graph."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml

from matching.chains import ChainGraph, load_graph
from matching.profiles import Enterprise, Need, Offer
from matching.regions import RegionRegistry
from matching.scoring import standing_component
from matching.seed_enterprises import SeedEnterpriseError, load_seed_enterprises
from matching.seeds_check import linked_nodes
from matching.sources import SOURCE_DOCS
from tests.seeds.source_docs import SOURCE_DOCS_DIR


@pytest.fixture(scope="module")
def enterprises() -> list[Enterprise]:
    return load_seed_enterprises()


@pytest.fixture(scope="module")
def graph() -> ChainGraph:
    return load_graph()


def _items(e: Enterprise) -> list[Offer | Need]:
    return [*e.offers, *e.needs]


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def test_all_profiles_validate_with_unique_ids(enterprises: list[Enterprise]) -> None:
    assert len(enterprises) >= 45
    ids = [e.id for e in enterprises]
    assert len(ids) == len(set(ids))
    assert sum(len(e.offers) for e in enterprises) >= 60
    assert sum(len(e.needs) for e in enterprises) >= 80


def test_every_profile_cites_a_known_source_with_a_section(enterprises: list[Enterprise]) -> None:
    bad = [e.id for e in enterprises if e.source is None or not e.source.is_known() or not e.source.section]
    assert not bad, bad


def test_every_region_resolves(enterprises: list[Enterprise]) -> None:
    regions = RegionRegistry.load()
    bad = [(e.id, e.region_code) for e in enterprises
           if e.region_code is None or e.region_code not in regions]
    assert not bad, bad
    by_id = {e.id: e for e in enterprises}
    assert by_id["fl-wankai"].region_code == "500102"
    assert by_id["cs-basf"].region_code == "500115"
    assert by_id["sc-cac"].region_code == "510105"


def test_the_documents_named_firms_are_all_present(enterprises: list[Enterprise]) -> None:
    names = " ".join(e.name for e in enterprises)
    named = ["华峰化工", "华峰新材料", "华峰氨纶", "华峰铝业", "万凯", "卡涞", "蓬威石化", "巴斯夫", "建峰",
             "群威电子", "理工清科", "瑞浦兰钧", "赣锋锂电", "吉利电池", "太极集团", "联洋", "耀肯", "中石化",
             "双盛电气", "榆琳科技", "彩阳电暖", "森永科工", "航锐航空", "精立航太", "飞宇电子", "大地和电气",
             "蓝辉新材料", "新蓝辉金属", "长征汽车零部件", "正合铝业", "容百锂电", "梅岭电源", "天磁锰业",
             "遵义华明电力", "遵义钛业", "航天江南集团", "中航工业", "长安汽车", "长城汽车", "赛力斯", "成都客车",
             "成都飞机工业", "中航成飞民用飞机", "中国航发成都发动机", "西南铝业", "重庆国际复合材料",
             "桐梓煤化工企业"]
    missing = [n for n in named if n not in names]
    assert not missing, missing
    # Firms no document names (a cluster's best-known firm, the maker behind a county's industry) stay out.
    assert not [n for n in ("涪陵榨菜", "遵义铝业", "赤天化") if n in names]


def test_standing_tags_are_the_documents_words(enterprises: list[Enterprise]) -> None:
    """No document names a firm 链主 (002 only counts Fuling's six); 000, 001 and 003 call 13 seed firms
    龙头企业 (or 头部企业, 工业龙头, 国内龙头地位), which stands 0.8: below a formal 链主 designation."""
    tags = [t for e in enterprises for t in e.tags]
    assert "链主" not in tags
    leaders = sorted(e.id for e in enterprises if "龙头企业" in e.tags)
    assert len(leaders) == 13
    assert {"fl-huafeng-chemical", "fl-wankai", "fl-kalai", "cs-basf", "fl-taiji", "zy-rongbai", "zy-meiling",
            "zy-tianci", "zy-zuntai"} <= set(leaders)
    assert standing_component(["龙头企业", "规上"]) == 0.8
    assert standing_component(["规上"]) < standing_component(["龙头企业"]) < standing_component(["链主"])


def test_capacities_only_where_the_cited_document_states_them(enterprises: list[Enterprise]) -> None:
    stated = []
    for e in enterprises:
        for o in e.offers:
            if o.capacity is None or o.capacity.value is None:
                continue
            where = f"{e.id}/{o.id}"
            assert e.source is not None and e.source.doc in SOURCE_DOCS, f"{where}: capacity, no document"
            text = _norm((SOURCE_DOCS_DIR / e.source.doc).read_text(encoding="utf-8"))
            stated_as = f"{o.capacity.value:g}{_norm(o.capacity.unit).split('/')[0]}"  # e.g. 150万吨
            assert stated_as in text, f"{where}: {stated_as} not in {e.source.doc}"
            stated.append(e.id)
    assert {"fl-huafeng-chemical", "fl-jianfeng", "fl-ruipu", "fl-kalai"} <= set(stated)
    # 万凯: 001 gives only the phase-3 project's 60万吨/年, not the firm's capacity.
    assert "fl-wankai" not in stated


def test_every_offer_and_need_links_to_a_chain_node(enterprises: list[Enterprise], graph: ChainGraph) -> None:
    failures = [
        f"{e.id}/{item.id}: {item.product}"
        for e in enterprises
        for item in _items(e)
        if not linked_nodes(graph, f"{item.product} {item.description or ''}")
    ]
    print("\n".join(failures))
    assert not failures, f"{len(failures)} products link to no node"


def test_most_products_name_a_node_exactly(enterprises: list[Enterprise], graph: ChainGraph) -> None:
    items = [(e.id, i) for e in enterprises for i in _items(e)]
    inexact = [f"{eid}/{i.id}: {i.product}" for eid, i in items if not graph.resolve(i.product)]
    print("\n".join(inexact))
    assert len(inexact) <= len(items) // 10, inexact


def test_a_buyer_and_its_supplier_meet_on_the_same_node(
    enterprises: list[Enterprise], graph: ChainGraph
) -> None:
    by_id = {e.id: e for e in enterprises}
    offered = {n for o in by_id["zy-lanhui"].offers for n in graph.resolve(o.product)}
    needed = {n for need in by_id["zy-dadihe"].needs for n in graph.resolve(need.product)}
    assert offered & needed  # 电机壳体
    ptmeg = set(graph.resolve("聚四氢呋喃"))
    assert ptmeg & {n for o in by_id["fl-jianfeng"].offers for n in graph.resolve(o.product)}
    assert ptmeg & {n for need in by_id["fl-huafeng-spandex"].needs for n in graph.resolve(need.product)}


# -- loader errors ------------------------------------------------------------------------------------------

def _write(root: Path, name: str, entries: list[dict[str, Any]]) -> None:
    (root / "enterprises").mkdir(parents=True, exist_ok=True)
    (root / "enterprises" / name).write_text(yaml.safe_dump({"enterprises": entries}, allow_unicode=True),
                                             encoding="utf-8")


GOOD: dict[str, Any] = {"id": "e1", "name": "某企业", "region_code": "500102",
                        "source": {"doc": "public", "section": "x"},
                        "offers": [{"id": "o1", "product": "己二酸"}]}


def test_loader_names_file_and_entry_index_on_a_bad_entry(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", [GOOD, {**GOOD, "id": "e2", "region_code": "5001"}])
    with pytest.raises(SeedEnterpriseError) as exc:
        load_seed_enterprises(tmp_path)
    assert "enterprises/a.yaml entry #1" in str(exc.value)
    assert "(e2)" in str(exc.value) and "region_code" in str(exc.value)
    assert exc.value.index == 1


def test_loader_rejects_duplicates_across_files_and_missing_sources(tmp_path: Path) -> None:
    _write(tmp_path, "a.yaml", [GOOD])
    _write(tmp_path, "b.yaml", [GOOD])
    with pytest.raises(SeedEnterpriseError, match=r"enterprises/b.yaml entry #0: duplicate id 'e1'"):
        load_seed_enterprises(tmp_path)
    _write(tmp_path, "b.yaml", [{k: v for k, v in GOOD.items() if k != "source"} | {"id": "e3"}])
    with pytest.raises(SeedEnterpriseError, match="missing source"):
        load_seed_enterprises(tmp_path)


def test_loader_reads_valid_files_in_name_order(tmp_path: Path) -> None:
    _write(tmp_path, "b.yaml", [{**GOOD, "id": "e2"}])
    _write(tmp_path, "a.yaml", [GOOD])
    assert [e.id for e in load_seed_enterprises(tmp_path)] == ["e1", "e2"]
    assert load_seed_enterprises(tmp_path / "nowhere") == []
