"""``POST /v1/feedback`` (outcomes on proposed pairs) and ``GET /v1/graph-suggestions``.

Feedback is idempotent by ``event_id``: the first post stores it (201), the same body again returns the
stored record (200, ``created: false``), and the same id with another body is a 409. Grades: shown 0,
contacted 1, met 2, contracted 3, rejected 0.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from starlette.status import HTTP_200_OK, HTTP_201_CREATED

from api.deps import AnalystKey, PortalKey
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from api.problems import TOO_LARGE, problem_openapi_response
from api.routers.weights import TuningDep, author
from api.schemas_tuning import FeedbackPage, FeedbackRecord, SuggestionPage
from matching.tuning.feedback import FeedbackEvent, StoredFeedback

router = APIRouter(prefix="/v1", tags=["feedback"])


def _record(stored: StoredFeedback, created: bool) -> FeedbackRecord:
    return FeedbackRecord(event=stored.event, created=created, received_at=stored.received_at, seq=stored.seq)


@router.post(
    "/feedback",
    response_model=FeedbackRecord,
    status_code=HTTP_201_CREATED,
    summary="Record an outcome on a proposed pair",
    responses={
        200: {"model": FeedbackRecord, "description": "The same event was already recorded (idempotent replay)"},
        409: problem_openapi_response("The event id was recorded with a different body"),
        **TOO_LARGE,
    },
)
def post_feedback(body: FeedbackEvent, response: Response, tuning: TuningDep, key: PortalKey) -> FeedbackRecord:
    """Outcomes form a ladder: shown (0) → contacted (1) → met (2) → contracted (3, with `value_cny`), or
    rejected (0, with a `reason`). Stored before the response; posting the same event again is safe.

    中文：记录推荐配对的结果（展示、联系、会面、签约或拒绝）；按 event_id 幂等。"""
    result = tuning.record(body, recorded_by=author(key))
    if not result.created:
        response.status_code = HTTP_200_OK
    return _record(result.stored, result.created)


@router.get("/feedback", response_model=FeedbackPage, summary="List recorded feedback")
def list_feedback(
    tuning: TuningDep,
    _key: AnalystKey,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="From a previous page's next_cursor")] = None,
) -> FeedbackPage:
    """中文：按接收顺序列出反馈记录。"""
    after = decode_cursor(cursor)
    start = int(after) if after and after.isdigit() else 0
    rows = tuning.feedback.page(start, limit + 1)
    page = rows[:limit]
    more = len(rows) > limit
    return FeedbackPage(
        items=[_record(s, True) for s in page], next_cursor=encode_cursor(str(page[-1].seq)) if more else None
    )


@router.get("/graph-suggestions", response_model=SuggestionPage, summary="Graph edits proposed from outcomes")
def graph_suggestions(
    tuning: TuningDep,
    _key: AnalystKey,
    min_support: Annotated[int, Query(ge=1, le=1000, description="Distinct buyers a proposal needs")] = 2,
) -> SuggestionPage:
    """Missing input_of edges, synonyms and doubtful relations, each with the feedback behind it. Nothing
    is applied: export with `chainmatch graph suggestions` and merge into `seeds/` after review.

    中文：根据签约与拒绝结果提出图谱修改建议（附证据），须人工审核后并入 seeds/。"""
    return SuggestionPage(items=tuning.suggestions(min_support=min_support), feedback_events=tuning.feedback.count())
