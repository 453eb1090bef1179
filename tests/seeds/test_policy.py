"""Policy tables: the cluster systems, priority inheritance, and targets quoted from the plans."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from matching.chains import load_graph
from matching.policy import Policy
from matching.regions import RegionRegistry
from matching.sources import SOURCE_DOCS
from tests.seeds.source_docs import SOURCE_DOCS_DIR

ZUNYI_SUPPLIERS = "与成渝地区相互配套规模以上企业数（关键材料、关键零部件、关键设备）"
ZUNYI_OUTPUT = "与成渝地区相互配套产业产值"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return Policy.load()


@cache
def _doc_text(doc: str) -> str:
    return _norm((SOURCE_DOCS_DIR / doc).read_text(encoding="utf-8"))


def _norm(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _write_policy(root: Path, systems: list[object], priorities: list[object], targets: list[object]) -> None:
    (root / "policy").mkdir(parents=True)
    tables = (("clusters.yaml", "systems", systems), ("priorities.yaml", "priorities", priorities),
              ("targets.yaml", "targets", targets))
    for file, key, items in tables:
        text = yaml.safe_dump({key: items}, allow_unicode=True)
        (root / "policy" / file).write_text(text, encoding="utf-8")


SRC = {"doc": "003_1bc59414bff406b1.txt", "section": "三"}


# -- structure of the cluster systems ---------------------------------------------------------------------

def test_cluster_systems_have_the_documented_shape(policy: Policy) -> None:
    systems = {s.id: s for s in policy.systems}
    assert {"cq_33618", "fuling_2349", "fuling_1238", "hechuan_2446", "zunyi_tasks"} <= set(systems)
    tiers = [c.tier for c in systems["fuling_2349"].clusters]
    # 001 announces 9 新星 clusters (3 future + 6 high-growth) but names only 5 high-growth ones.
    assert (tiers.count("千亿级主导产业集群"), sum("五百亿" in t for t in tiers),
            sum("百亿级特色" in t for t in tiers), sum("新星" in t for t in tiers)) == (2, 3, 4, 8)
    assert "只列出5个" in (systems["fuling_2349"].note or "")
    hechuan = systems["hechuan_2446"].clusters
    assert [sum(c.tier == t for c in hechuan) for t in ("主导产业集群", "特色产业集群", "优势产业集群",
                                                       "新星产业集群")] == [2, 4, 4, 6]
    names = {c.name for c in hechuan}
    assert names >= {"智能网联新能源汽车零部件", "重庆火锅食材", "信创与网络安全", "农机装备"}
    assert [c.tier for c in systems["fuling_1238"].clusters].count("重点领域") == 8
    assert len(systems["zunyi_tasks"].clusters) == 18
    advanced = next(c for c in systems["cq_33618"].clusters if c.name == "先进材料")
    assert advanced.source.doc == "002_5c18a5dec94362c3.txt" and "polyamide" in advanced.chains
    # 000 names the 合成材料 action plan, not its place among the 33618 新星 clusters.
    synthetic = next(c for c in systems["cq_33618"].clusters if c.name == "合成材料")
    assert synthetic.source.doc == "public"


def test_zunyi_tasks_assign_the_chains_the_plan_names(policy: Policy) -> None:
    tasks = {c.tier: c for c in policy.clusters if c.tier.startswith("重点任务")}
    battery = {"battery_cathode_ternary", "sodium_ion_battery", "battery_cathode_phosphate"}
    assert battery <= set(tasks["重点任务5"].chains)
    assert set(tasks["重点任务6"].chains) == {"aerospace_parts", "fasteners"}
    assert "power_equipment" in tasks["重点任务8"].chains
    assert {"aluminium", "titanium", "manganese"} <= set(tasks["重点任务9"].chains)
    assert "fluorine_chemicals" in tasks["重点任务10"].chains
    assert "520326" in tasks["重点任务10"].regions


def test_every_policy_entry_cites_a_known_document(policy: Policy) -> None:
    unknown = [(where, src.doc) for where, src in policy.sources() if not src.is_known()]
    assert not unknown, unknown
    missing_section = [where for where, src in policy.sources() if not src.section]
    assert not missing_section, missing_section


def test_every_chain_referenced_by_policy_exists_in_the_graph(policy: Policy) -> None:
    graph = load_graph()
    refs = policy.chain_references()
    missing = sorted({(chain, where) for where, chain in refs if chain not in graph.chains})
    print("\n".join(f"{chain}  ← {where}" for chain, where in missing))
    assert not missing, f"{len({c for c, _ in missing})} chain ids missing from seeds/chains/"


def test_every_policy_region_resolves(policy: Policy) -> None:
    regions = RegionRegistry.load()
    codes = [r.code for r in regions.all()]
    bad = []
    for where, code in policy.region_references():
        if code[4:] != "00":
            ok = code in regions
        elif code[2:] == "0000":
            ok = any(c.startswith(code[:2]) for c in codes)
        else:
            ok = any(c.startswith(code[:4]) for c in codes)
        if not ok:
            bad.append((where, code))
    assert not bad, bad


# -- priorities -----------------------------------------------------------------------------------------

def test_priority_inheritance_on_the_real_tables(policy: Policy) -> None:
    tongzi = policy.priority_chains("520322")
    assert "coal_chemical" in tongzi  # county task 10
    assert "battery_cathode_ternary" in tongzi  # inherited from 遵义市 520300
    assert policy.priority_chains("520303") == policy.priority_chains("520300")  # 汇川: no chain of its own
    assert "aluminium" in policy.priority_chains("520304") and "aluminium" in policy.priority_chains("520300")
    fuling = policy.priority_chains("500102")
    assert "zhacai" in fuling  # county
    assert "vehicle_assembly" in fuling  # inherited from 重庆市 500000 (33618)
    assert "zhacai" not in policy.priority_chains("500117")
    assert "hotpot_ingredients" in policy.priority_chains("500117")
    assert "fluorine_chemicals" in policy.priority_chains("520326")
    assert policy.priority_chains("510105") == frozenset()  # Chengdu: no plan among the documents


def test_priority_inheritance_county_city_province_and_area(tmp_path: Path) -> None:
    _write_policy(tmp_path, [], [
        {"region_code": "520000", "name": "省", "chains": ["p"], "sources": [SRC]},
        {"region_code": "520300", "name": "市", "chains": ["c"], "sources": [SRC]},
        {"region_code": "520322", "name": "县", "chains": ["k"], "sources": [SRC]},
        {"region_code": "520300", "area": "新蒲新区", "name": "新区", "chains": ["x"], "sources": [SRC]},
    ], [])
    policy = Policy.load(tmp_path)
    assert policy.priority_chains("520322") == {"p", "c", "k"}
    assert policy.priority_chains("520304") == {"p", "c"}
    assert policy.priority_chains("520300") == {"p", "c"}
    assert policy.priority_chains("520000") == {"p"}
    assert policy.priority_chains("510105") == frozenset()


@pytest.mark.parametrize("code", ["5203", "52032a", "", "5203220"])
def test_priority_chains_rejects_malformed_codes(policy: Policy, code: str) -> None:
    with pytest.raises(ValueError, match="6 digits"):
        policy.priority_chains(code)


# -- targets ----------------------------------------------------------------------------------------------

def test_every_target_cites_a_document(policy: Policy) -> None:
    assert len(policy.targets) >= 60
    not_doc = [t.id for t in policy.targets if t.source.doc not in SOURCE_DOCS]
    assert not not_doc, f"targets must cite a plan document, not public knowledge: {not_doc}"


_SCALE_WORDS = {1000: ("千亿",), 500: ("五百亿",), 100: ("百亿",), 1: ("零突破",)}


def test_every_target_figure_is_quoted_from_its_document(policy: Policy) -> None:
    """The section quotes the passage (fragments joined by …); each fragment occurs in the document and the
    quoted passage contains the figure."""
    problems = []
    for t in policy.targets:
        quote = re.search(r"（(.+)）\s*$", t.source.section or "")
        if not quote:
            problems.append(f"{t.id}: section has no quoted passage")
            continue
        text = _doc_text(t.source.doc)
        for fragment in quote.group(1).split("…"):
            if fragment and _norm(fragment) not in text:
                problems.append(f"{t.id}: {fragment!r} not in {t.source.doc}")
        figure, words = f"{t.value:g}", _SCALE_WORDS.get(int(t.value), ())
        if figure not in quote.group(1) and not any(w in quote.group(1) for w in words):
            problems.append(f"{t.id}: figure {figure} not in the quoted passage")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("year", "metric", "total"), [
    (2025, ZUNYI_SUPPLIERS, 75), (2025, ZUNYI_OUTPUT, 90),
    (2027, ZUNYI_SUPPLIERS, 110), (2027, ZUNYI_OUTPUT, 175),
])
def test_zunyi_county_targets_add_up_to_the_city_target(
    policy: Policy, year: int, metric: str, total: int
) -> None:
    city = [t for t in policy.targets_for("520300", year) if t.metric == metric and t.area is None]
    assert [t.value for t in city] == [total]
    parts = [t for t in policy.targets if t.year == year and t.metric == metric
             and (t.region_code != "520300" or t.area is not None)]
    assert len(parts) == 8  # 桐梓, 红花岗, 汇川, 播州, 新蒲新区, 道真, 正安, 务川
    assert sum(t.value for t in parts) == total


def test_targets_for_a_county_and_year(policy: Policy) -> None:
    tongzi = policy.targets_for("520322")
    assert {(t.year, t.unit, t.value) for t in tongzi} == {(2025, "家", 10), (2025, "亿元", 10),
                                                           (2027, "家", 15), (2027, "亿元", 15)}
    assert [t.value for t in policy.targets_for("520322", 2027) if t.unit == "亿元"] == [15]
    xinpu = [t for t in policy.targets_for("520300", 2027) if t.area == "新蒲新区"]
    assert sorted(t.value for t in xinpu) == [10, 15]
    hechuan = {t.id: t for t in policy.targets_for("500117", 2027)}
    assert hechuan["hc-2027-revenue"].value == 1600
    assert hechuan["hc-2027-ev-parts"].cluster == "hc_2446_ev_parts"
    fuling = {t.id: t for t in policy.targets_for("500102")}
    capacity = fuling["fl-battery-cluster-capacity"]
    assert capacity.value == 72 and capacity.unit == "GWh" and capacity.year is None
    assert fuling["fl-2025-battery-lightweight-output"].value == 140
    forecast = fuling["fl-2023-new-project-output"]  # 001: 新投产项目预计全年可实现产值103亿元
    assert (forecast.year, forecast.value, forecast.unit) == (2023, 103, "亿元") and "预计" in (forecast.note or "")
    assert "fl-innovation-consortia" not in fuling  # 000: 成立10个产业创新联合体 is done, not a target


# -- loading and validation ------------------------------------------------------------------------------

def test_missing_policy_files_load_as_empty(tmp_path: Path) -> None:
    policy = Policy.load(tmp_path)
    assert policy.counts() == {"policy.systems": 0, "policy.clusters": 0, "policy.priorities": 0,
                               "policy.targets": 0}
    assert policy.priority_chains("500102") == frozenset()


def test_duplicate_ids_and_dangling_cluster_references_are_rejected(tmp_path: Path) -> None:
    cluster = {"id": "a", "name": "A", "tier": "t", "source": SRC}
    system = {"id": "s", "name": "S", "region_code": "520300", "sources": [SRC],
              "clusters": [cluster, cluster]}
    target = {"id": "t1", "region_code": "520300", "metric": "m", "year": 2025, "value": 1, "unit": "家",
              "cluster": "nope", "source": SRC}
    _write_policy(tmp_path, [system], [], [target])
    with pytest.raises(ValidationError) as exc:
        Policy.load(tmp_path)
    assert "duplicate cluster id 'a'" in str(exc.value)
    assert "unknown cluster 'nope'" in str(exc.value)


def test_a_target_without_a_source_is_rejected(tmp_path: Path) -> None:
    target = {"id": "t1", "region_code": "520300", "metric": "m", "value": 1, "unit": "家"}
    _write_policy(tmp_path, [], [], [target])
    with pytest.raises(ValidationError, match="source"):
        Policy.load(tmp_path)
