"""Fitting weights from feedback: synthetic outcomes from known true weights, recovered by the fit.

The engine ranks the dev evaluation corpus; a simulated analyst grades the shown pairs of every need by
the true weights (best contracted, then met, contacted, shown, and the worst two rejected). The fit sees
only the feedback events and the components the engine recomputes.
"""

from __future__ import annotations

import numpy as np
import pytest

from matching.evaluation import build_engine, load_eval_set
from matching.evaluation.metrics import ndcg_at_k
from matching.tuning.evaluate import feedback_metrics
from matching.tuning.feedback import FeedbackEvent
from matching.tuning.fit import InsufficientFeedbackError, MinimumData, fit_weights
from matching.tuning.pools import Pool, build_pools, pools_for_queries, weight_vector
from matching.weights import COMPONENTS, DEFAULT_PROFILE

TRUE_WEIGHTS = {"distance": 0.45, "cross_region": 0.30, "product": 0.15, "standing": 0.10}
SHOWN = 8


@pytest.fixture(scope="module")
def engine():  # type: ignore[no-untyped-def]
    return build_engine(load_eval_set().enterprises)


def synthetic_feedback(pools: list[Pool], true: dict[str, float]) -> list[FeedbackEvent]:
    w = weight_vector(true)
    events: list[FeedbackEvent] = []
    for pool in pools:
        shown = list(range(min(SHOWN, len(pool.items))))
        if len(shown) < 2:
            continue
        order = np.argsort(-(pool.features[shown] @ w), kind="stable")
        for rank, i in enumerate(order.tolist()):
            item = pool.items[shown[i]]
            if rank < 3:
                outcome = ("contracted", "met", "contacted")[rank]
            else:
                outcome = "rejected" if rank >= len(order) - 2 else "shown"
            events.append(
                FeedbackEvent(
                    event_id=f"syn-{len(events)}",
                    buyer_id=pool.buyer_id,
                    need_id=pool.need_id,
                    supplier_id=item.supplier.id,
                    offer_id=item.offer_id,
                    outcome=outcome,  # type: ignore[arg-type]
                )
            )
    return events


def test_fit_recovers_the_order_of_true_weights_and_beats_default(engine) -> None:  # type: ignore[no-untyped-def]
    needs = [(e.id, n.id) for e in load_eval_set().enterprises for n in e.needs]
    events = synthetic_feedback(pools_for_queries(engine, needs), TRUE_WEIGHTS)
    pools, lost = build_pools(engine, events)
    assert not lost
    result = fit_weights(pools, DEFAULT_PROFILE)
    fitted = result.weights
    assert abs(sum(fitted.values()) - 1.0) < 1e-6 and min(fitted.values()) >= 0.0
    truth = sorted(TRUE_WEIGHTS, key=lambda c: -TRUE_WEIGHTS[c])
    assert sorted(truth, key=lambda c: -fitted[c]) == truth, fitted  # the true order, exactly
    smallest = min(fitted[c] for c in truth)
    assert all(fitted[c] < smallest for c in COMPONENTS if c not in TRUE_WEIGHTS), fitted
    # better than the default profile, in sample and on held-out buyers
    assert result.after.ndcg > result.before.ndcg
    assert result.cv_after.ndcg > result.cv_before.ndcg
    assert result.cv_after.queries == result.queries >= 8
    # the fitted weights come close to the ceiling set by the true weights themselves
    ceiling = feedback_metrics(pools, TRUE_WEIGHTS).ndcg
    assert result.after.ndcg >= ceiling - 0.02


def test_ndcg_of_a_reversed_ranking_is_lower() -> None:
    assert ndcg_at_k([0, 1, 3], [3, 1], 3) < ndcg_at_k([3, 1, 0], [3, 1], 3)


def test_minimum_data_rule_names_what_is_missing(engine) -> None:  # type: ignore[no-untyped-def]
    needs = [(e.id, n.id) for e in load_eval_set().enterprises for n in e.needs][:6]
    events = synthetic_feedback(pools_for_queries(engine, needs), TRUE_WEIGHTS)
    pools, _ = build_pools(engine, events)
    with pytest.raises(InsufficientFeedbackError) as caught:
        fit_weights(pools, DEFAULT_PROFILE, rule=MinimumData(judged_pairs=1000))
    assert "1000" in str(caught.value) and {e.loc for e in caught.value.errors} == {"feedback"}


def test_outcomes_that_are_all_equal_carry_no_signal(engine) -> None:  # type: ignore[no-untyped-def]
    needs = [(e.id, n.id) for e in load_eval_set().enterprises for n in e.needs]
    pools = pools_for_queries(engine, needs)
    events = [
        FeedbackEvent(
            event_id=f"s{i}",
            buyer_id=p.buyer_id,
            need_id=p.need_id,
            supplier_id=it.supplier.id,
            offer_id=it.offer_id,
            outcome="shown",
        )
        for i, p in enumerate(pools)
        for it in p.items[:3]
    ]
    with pytest.raises(InsufficientFeedbackError, match="differently graded"):
        fit_weights(build_pools(engine, events)[0], DEFAULT_PROFILE)
