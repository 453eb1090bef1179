"""The held-out case set (matching/evaluation/sets/holdout/): validity, engine vs text baseline, certification filter.

The held-out set was written after the engine and the chain graph were tuned and judged blind; nobody tunes
against it. Its floors are the measured numbers, not hoped-for ones.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

from matching.chains import load_graph
from matching.evaluation import (
    HARD_CASE_TAGS,
    EvalReport,
    EvalSet,
    eval_set_dir,
    evaluate_baseline,
    load_eval_set,
)
from matching.regions import RegionRegistry
from matching.seeds_check import linked_nodes

HOLDOUT_DIR = eval_set_dir("holdout")
K = 5

# Measured at k=5 on the first run (53 cases, graph of 1793 nodes): engine NDCG@5 0.901 vs baseline 0.873,
# MRR 0.943 vs 0.925. The margin is small (+0.028 NDCG), so the floor only says "not worse than the baseline".
NDCG_MARGIN_FLOOR = 0.0

# Query / relevant-item products of the held-out set that contain no chain-graph term (gaps found by this set,
# reported to the graph owners; do not close them by tuning against this set).
KNOWN_GRAPH_GAPS = frozenset({
    "钛阳极网", "钌铱涂层钛阳极（DSA）", "電梯導軌", "底料包装膜", "高温蒸煮复合膜", "車規貼片電容", "T80",
})


@cache
def holdout() -> EvalSet:
    return load_eval_set(HOLDOUT_DIR / "cases.yaml")


@cache
def baseline_report() -> EvalReport:
    return evaluate_baseline(holdout(), K)


@cache
def engine_report() -> EvalReport:
    from matching.evaluation import evaluate_engine

    return evaluate_engine(holdout(), K)


def test_holdout_size_reasoning_and_query_kinds() -> None:
    data = holdout()  # loading checks every referenced enterprise / offer / need id
    assert 60 <= len(data.enterprises) <= 80
    assert len(data.cases) >= 30
    assert all(len(c.reasoning) >= 40 for c in data.cases)
    assert sum(1 for c in data.cases if c.query.buyers_of is not None) >= 8
    assert sum(1 for c in data.cases if c.query.need is not None or c.query.offer is not None) >= 3


def test_holdout_covers_every_tag_twice() -> None:
    counts = Counter(tag for c in holdout().cases for tag in c.tags)
    assert set(counts) <= {*HARD_CASE_TAGS, "plain"}, set(counts)
    assert all(counts[tag] >= 2 for tag in (*HARD_CASE_TAGS, "plain")), counts


def test_holdout_firms_are_fictional_and_sit_in_real_counties() -> None:
    registry = RegionRegistry.load()
    for e in holdout().enterprises:
        assert e.id.startswith("ho-") and e.name.endswith("(留出评测)"), e.id
        assert e.region_code is not None and e.region_code in registry, e.id
    assert {e.region_code[:2] for e in holdout().enterprises if e.region_code} == {"50", "51", "52"}


def test_holdout_shares_no_firm_with_the_tuning_set() -> None:
    tuning = load_eval_set()
    assert not {e.id for e in tuning.enterprises} & {e.id for e in holdout().enterprises}
    assert not {e.name for e in tuning.enterprises} & {e.name for e in holdout().enterprises}


def test_certification_cases_are_consistent() -> None:
    """Relevant suppliers hold every required certificate; must_not parties hold none of them."""
    data = holdout()
    by_id = {e.id: e for e in data.enterprises}
    cases = [c for c in data.cases if "certification" in c.tags]
    assert len(cases) >= 2
    for case in cases:
        q = case.query
        if q.need_of is not None:
            owner = by_id[q.need_of.enterprise]
            required = next(n for n in owner.needs if n.id == q.need_of.need).required_certifications
        else:
            assert q.need is not None
            required = q.need.required_certifications
        assert required and case.must_not, case.id
        for ref in case.must_not:
            assert not set(required) & set(by_id[ref.enterprise].certifications), case.id
        for j in case.relevant:
            assert set(required) <= set(by_id[j.enterprise].certifications), (case.id, j.enterprise)


def test_inferred_cases_name_a_buyer_who_posted_no_such_need() -> None:
    cases = [c for c in holdout().cases if "inferred" in c.tags]
    assert len(cases) >= 2
    assert all(any(j.item is None for j in c.relevant) for c in cases)


def test_graph_gaps_are_the_known_ones() -> None:
    """Products of the set that no chain-graph term covers; a new unexplained gap fails the test."""
    graph = load_graph()
    products = holdout().products()
    unresolved = {p for p in products if not linked_nodes(graph, p)}
    assert unresolved == KNOWN_GRAPH_GAPS, (sorted(unresolved ^ KNOWN_GRAPH_GAPS))


def test_baseline_leaks_the_uncertified_party() -> None:
    """The text baseline has no certification filter, so the must_not parties are real look-alikes."""
    assert [r.id for r in baseline_report().cases if r.must_not_hits]


def test_engine_answers_every_holdout_case_without_error() -> None:
    assert not {r.id: r.error for r in engine_report().cases if r.error}


def test_engine_not_worse_than_baseline_on_holdout_ndcg() -> None:
    engine, base = engine_report().overall, baseline_report().overall
    assert engine.ndcg >= base.ndcg + NDCG_MARGIN_FLOOR, (engine.ndcg, base.ndcg)


def test_engine_never_returns_the_uncertified_party_on_holdout() -> None:
    cert = [r for r in engine_report().cases if "certification" in r.tags]
    assert cert
    assert not {r.id: r.must_not_hits for r in cert if r.must_not_hits}
