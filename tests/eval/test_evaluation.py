"""Evaluation: metric formulas, the judged data set, the text baseline, the CLI, and engine vs baseline."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import pytest
import typer
import yaml
from pydantic import ValidationError
from sklearn.metrics import ndcg_score
from typer.testing import CliRunner

from matching.chains import load_graph
from matching.commands.evaluate import evaluate as evaluate_command
from matching.evaluation import (
    HARD_CASE_TAGS,
    EvalReport,
    EvalSet,
    Judgement,
    TextBaseline,
    dcg_at_k,
    default_eval_dir,
    evaluate_baseline,
    grade_hits,
    load_eval_set,
    ndcg_at_k,
    precision_at_k,
    reciprocal_rank,
    score_case,
)
from matching.regions import RegionRegistry
from matching.seeds_check import linked_nodes

EVAL_DIR = default_eval_dir()
K = 5

# Floors measured on this case set at k=5 (engine minus baseline, overall), not hoped-for numbers.
# Measured 2026-11-23 (58 chains, 1,793 nodes): MRR 1.000 vs 0.887 (+0.113), NDCG@5 0.988 vs 0.815 (+0.173).
# The engine and the graph were both improved while looking at this set's failures, so these are development
# figures; sets/holdout/ holds the old held-out set. The floors leave room for graph edits to move a case or two.
MRR_MARGIN_FLOOR = 0.08
NDCG_MARGIN_FLOOR = 0.12

# Query / relevant-item products that contain no chain-graph term yet (reported to the graph owners).
# The test fails when a new gap appears or a listed one is closed (then remove it here).
KNOWN_GRAPH_GAPS: frozenset[str] = frozenset()


@cache
def eval_set() -> EvalSet:
    return load_eval_set()


@cache
def baseline_report() -> EvalReport:
    return evaluate_baseline(eval_set(), K)


# ── metric formulas on hand-computed examples ────────────────────────────────────────────────────


def test_precision_counts_relevant_slots_over_k() -> None:
    assert precision_at_k([3, 0, 2, 0, 0], 5) == pytest.approx(0.4)
    assert precision_at_k([3, 0, 2, 0, 0], 2) == pytest.approx(0.5)
    assert precision_at_k([3], 5) == pytest.approx(0.2)  # a short list does not shrink the denominator
    with pytest.raises(ValueError):
        precision_at_k([1], 0)


def test_reciprocal_rank_is_one_over_first_relevant_rank() -> None:
    assert reciprocal_rank([0, 0, 1, 3]) == pytest.approx(1 / 3)
    assert reciprocal_rank([2]) == 1.0
    assert reciprocal_rank([0, 0]) == 0.0
    assert reciprocal_rank([]) == 0.0


def test_dcg_and_ndcg_by_hand() -> None:
    gains = [3, 2, 0, 1]
    expected_dcg = 3 + 2 / math.log2(3) + 0 + 1 / math.log2(5)
    assert dcg_at_k(gains, 4) == pytest.approx(expected_dcg)
    assert dcg_at_k(gains, 1) == pytest.approx(3.0)
    ideal = 3 + 2 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(gains, [3, 2, 1], 4) == pytest.approx(expected_dcg / ideal)
    assert ndcg_at_k([0, 0], [2], 2) == 0.0
    assert ndcg_at_k([0], [], 3) == 0.0
    # A relevant item that was never retrieved still counts in the ideal ranking.
    assert ndcg_at_k([3], [3, 3], 2) == pytest.approx(3 / (3 + 3 / math.log2(3)))


def test_ndcg_agrees_with_sklearn_when_all_relevant_are_retrieved() -> None:
    gains = [1, 3, 0, 2, 0]
    ours = ndcg_at_k(gains, [g for g in gains if g], 5)
    theirs = ndcg_score([gains], [[5, 4, 3, 2, 1]], k=5)
    assert ours == pytest.approx(theirs)


def test_grade_hits_credits_each_judgement_once_and_null_items_match_any() -> None:
    relevant = [
        Judgement(enterprise="a", item="o1", grade=3),
        Judgement(enterprise="b", item=None, grade=2),
    ]
    hits = [("a", "o1"), ("a", "o1"), ("b", "n7"), ("b", None), ("c", "o1"), ("a", "o2")]
    assert grade_hits(hits, relevant) == [3, 0, 2, 0, 0, 0]


def test_grade_hits_prefers_the_exact_judgement_over_the_wildcard() -> None:
    relevant = [
        Judgement(enterprise="b", item=None, grade=1),
        Judgement(enterprise="b", item="n1", grade=3),
    ]
    assert grade_hits([("b", "n1"), ("b", "n2")], relevant) == [3, 1]


# ── the judged data set ──────────────────────────────────────────────────────────────────────────


def test_dataset_size_and_reasoning() -> None:
    data = eval_set()
    assert 80 <= len(data.enterprises) <= 120
    assert len(data.cases) >= 45
    assert all(len(c.reasoning.split()) >= 3 or len(c.reasoning) >= 20 for c in data.cases)
    assert sum(1 for c in data.cases if c.query.buyers_of is not None) >= 8
    assert sum(1 for c in data.cases if c.query.need is not None or c.query.offer is not None) >= 8


def test_tags_cover_every_hard_case_kind() -> None:
    counts = {tag: 0 for tag in HARD_CASE_TAGS}
    for case in eval_set().cases:
        for tag in case.tags:
            if tag in counts:
                counts[tag] += 1
    assert all(n >= 3 for n in counts.values()), counts


def test_corpus_firms_are_marked_fictional_and_sit_in_real_counties() -> None:
    registry = RegionRegistry.load()
    for e in eval_set().enterprises:
        assert e.id.startswith("ev-") and e.name.endswith("(评测)"), e.id
        assert e.region_code is not None and e.region_code in registry, e.id
    provinces = {e.region_code[:2] for e in eval_set().enterprises if e.region_code}
    assert provinces == {"50", "51", "52"}


def test_certification_cases_name_an_uncertified_trader_that_lists_the_part() -> None:
    data = eval_set()
    by_id = {e.id: e for e in data.enterprises}
    cases = [c for c in data.cases if "certification" in c.tags and c.must_not]
    assert len(cases) >= 5
    for case in cases:
        need = case.query.need
        if case.query.need_of is not None:
            owner = by_id[case.query.need_of.enterprise]
            required = next(n for n in owner.needs if n.id == case.query.need_of.need).required_certifications
        else:
            assert need is not None
            required = need.required_certifications
        assert required, case.id
        for ref in case.must_not:
            assert not set(required) & set(by_id[ref.enterprise].certifications), case.id
        for j in case.relevant:
            assert set(required) <= set(by_id[j.enterprise].certifications), (case.id, j.enterprise)


def test_inferred_cases_have_a_buyer_who_posted_no_such_need() -> None:
    cases = [c for c in eval_set().cases if "inferred" in c.tags]
    assert len(cases) >= 5
    assert all(any(j.item is None for j in c.relevant) for c in cases)


def test_dangling_reference_is_rejected(tmp_path: Path) -> None:
    raw = yaml.safe_load((EVAL_DIR / "cases.yaml").read_text(encoding="utf-8"))
    dangling = {"enterprise": "ev-cq-baitao-ptmeg", "item": "no-such-offer", "grade": 2}
    raw["cases"][0]["relevant"].append(dangling)
    (tmp_path / "cases.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    corpus = (EVAL_DIR / "corpus.yaml").read_text(encoding="utf-8")
    (tmp_path / "corpus.yaml").write_text(corpus, encoding="utf-8")
    with pytest.raises(ValidationError, match="no-such-offer"):
        load_eval_set(tmp_path / "cases.yaml")


def test_query_and_relevant_products_name_chain_graph_terms() -> None:
    """Every query product and every relevant item's product contains a term the chain graph knows."""
    graph = load_graph()
    products = eval_set().products()
    unresolved = {p for p in products if not linked_nodes(graph, p)}
    assert unresolved == KNOWN_GRAPH_GAPS, (sorted(unresolved ^ KNOWN_GRAPH_GAPS))


# ── the text-only baseline ───────────────────────────────────────────────────────────────────────


def test_baseline_ranks_by_text_and_excludes_the_asking_enterprise() -> None:
    data = eval_set()
    baseline = TextBaseline(data.enterprises)
    result = baseline.suppliers_for("ev-cq-ruiyu", "n-foil", k=5)
    assert result.items and result.items[0].supplier.id == "ev-zy-bozhou-foil"
    assert all(i.supplier.id != "ev-cq-ruiyu" for i in result.items)
    scores = [i.score for i in result.items]
    assert scores == sorted(scores, reverse=True)
    assert len(result.items) <= 5


def test_baseline_cannot_see_buyers_without_posted_needs() -> None:
    report = baseline_report()
    silent = {e.id for e in eval_set().enterprises if not e.needs}
    buyer_cases = [c.id for c in eval_set().cases if c.query.direction == "buyers"]
    assert buyer_cases
    for case_id in buyer_cases:
        hits = report.result(case_id).hits
        assert hits and not [h for h in hits if h[0] in silent or h[1] is None], case_id


def test_baseline_has_no_certification_filter() -> None:
    leaks = [r.id for r in baseline_report().cases if r.must_not_hits]
    assert leaks, "the text baseline should show the uncertified trader somewhere"


def test_score_case_reports_distractors_and_forbidden_items() -> None:
    case = eval_set().cases[0]
    distractor = case.distractors[0]
    first = case.relevant[0]
    result = score_case(case, [(distractor.enterprise, distractor.item), (first.enterprise, first.item)], K)
    assert result.rr == 0.5
    assert result.distractor_hits == [(distractor.enterprise, distractor.item)]


# ── the command ──────────────────────────────────────────────────────────────────────────────────


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("evaluate")(evaluate_command)
    app.command("noop")(lambda: None)
    return app


def test_command_prints_json_for_both_systems() -> None:
    result = CliRunner().invoke(_cli(), ["evaluate", "--k", "3", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)["dev"]
    assert payload["k"] == 3 and payload["cases"] == len(eval_set().cases)
    base = payload["baseline"]["overall"]
    assert set(base) >= {"precision", "mrr", "ndcg", "hit3", "recall"} and 0 < base["mrr"] <= 1
    assert "synonym" in payload["baseline"]["by_tag"]
    assert set(payload["engine"]["by_direction"]) == {"suppliers", "buyers"}


def test_command_runs_a_named_set_and_refuses_an_unknown_one() -> None:
    result = CliRunner().invoke(_cli(), ["evaluate", "--set", "holdout", "--json"])
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.output)) == {"holdout"}
    bad = CliRunner().invoke(_cli(), ["evaluate", "--set", "nope"])
    assert bad.exit_code != 0 and "unknown set" in bad.output


def test_command_prints_a_table() -> None:
    result = CliRunner().invoke(_cli(), ["evaluate"], terminal_width=140)
    assert result.exit_code == 0, result.output
    assert "overall" in result.output and "NDCG@5" in result.output and "certification" in result.output


# ── engine vs baseline ───────────────────────────────────────────────────────────────────────────


@cache
def engine_report() -> EvalReport:
    from matching.evaluation import evaluate_engine

    return evaluate_engine(eval_set(), K)


def test_engine_answers_every_case_without_error() -> None:
    errors = {r.id: r.error for r in engine_report().cases if r.error}
    assert not errors


def test_engine_beats_baseline_overall() -> None:
    engine, base = engine_report().overall, baseline_report().overall
    assert engine.mrr >= base.mrr + MRR_MARGIN_FLOOR, (engine.mrr, base.mrr)
    assert engine.ndcg >= base.ndcg + NDCG_MARGIN_FLOOR, (engine.ndcg, base.ndcg)


def test_engine_never_returns_the_uncertified_trader() -> None:
    report = engine_report()
    cert = [r for r in report.cases if "certification" in r.tags]
    assert cert
    assert not {r.id: r.must_not_hits for r in cert if r.must_not_hits}
