"""Outcome feedback on proposed pairs: an idempotent, append-only event log and graded pair labels.

The ladder (gains for the ranking metrics and the fit): ``shown`` 0 (an impression: no evidence either
way), ``contacted`` 1, ``met`` 2, ``contracted`` 3, ``rejected`` 0. A pair's label is the highest grade it
reached, unless its latest event is a rejection (then 0): a rejection after a meeting ends the match.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, func, insert, select

from matching.errors import ConflictError
from matching.profiles import ID_PATTERN
from matching.store.db import write_transaction
from matching.store.tables import feedback_events

T = feedback_events


class Outcome(StrEnum):
    shown = "shown"
    contacted = "contacted"
    met = "met"
    contracted = "contracted"
    rejected = "rejected"


OUTCOME_GRADES: dict[Outcome, int] = {
    Outcome.shown: 0,
    Outcome.contacted: 1,
    Outcome.met: 2,
    Outcome.contracted: 3,
    Outcome.rejected: 0,
}


class FeedbackEvent(BaseModel):
    """One outcome on a proposed supplier–buyer pair (``need_id``/``offer_id`` null: the whole party)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$", description="Client-chosen; makes posting idempotent")
    buyer_id: str = Field(pattern=ID_PATTERN)
    need_id: str | None = Field(default=None, pattern=ID_PATTERN)
    supplier_id: str = Field(pattern=ID_PATTERN)
    offer_id: str | None = Field(default=None, pattern=ID_PATTERN)
    outcome: Outcome
    value_cny: float | None = Field(default=None, ge=0, description="Contract value in yuan")
    reason: str | None = Field(default=None, max_length=2000, description="e.g. why it was rejected")

    @property
    def grade(self) -> int:
        return OUTCOME_GRADES[self.outcome]

    @property
    def pair(self) -> PairKey:
        return (self.buyer_id, self.need_id, self.supplier_id, self.offer_id)

    def body_hash(self) -> str:
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


PairKey = tuple[str, str | None, str, str | None]


class StoredFeedback(BaseModel):
    event: FeedbackEvent
    recorded_by: str
    received_at: datetime
    seq: int


@dataclass(frozen=True)
class RecordResult:
    """``created`` False means the very same event was already stored (an idempotent replay)."""

    stored: StoredFeedback
    created: bool


class FeedbackStore:
    """The feedback log: insert-once by ``event_id``; a reused id with another body is a conflict."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record(self, event: FeedbackEvent, *, recorded_by: str) -> RecordResult:
        digest = event.body_hash()
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(T).where(T.c.event_id == event.event_id)).mappings().first()
            if row is not None:
                if row["body_hash"] != digest:
                    raise ConflictError(f"feedback event {event.event_id!r} was already recorded with a different body")
                return RecordResult(_stored(row), created=False)
            seq = int(conn.execute(select(func.coalesce(func.max(T.c.seq), 0))).scalar_one()) + 1
            values = {
                **event.model_dump(mode="json"),
                "body_hash": digest,
                "recorded_by": recorded_by,
                "received_at": datetime.now(UTC),
                "seq": seq,
            }
            conn.execute(insert(T).values(**values))
        return RecordResult(
            StoredFeedback(event=event, recorded_by=recorded_by, received_at=values["received_at"], seq=seq),
            created=True,
        )

    def record_many(self, events: Iterable[FeedbackEvent], *, recorded_by: str) -> list[RecordResult]:
        return [self.record(e, recorded_by=recorded_by) for e in events]

    def all(self) -> list[StoredFeedback]:
        """Every event in the order received."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T).order_by(T.c.seq)).mappings().all()
        return [_stored(r) for r in rows]

    def page(self, after_seq: int, limit: int) -> list[StoredFeedback]:
        """Up to ``limit`` events received after ``after_seq``, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.seq > after_seq).order_by(T.c.seq).limit(limit)).mappings().all()
        return [_stored(r) for r in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(T)).scalar_one())


def _stored(row: object) -> StoredFeedback:
    data = dict(row)  # type: ignore[call-overload]
    fields = set(FeedbackEvent.model_fields)
    event = FeedbackEvent.model_validate({k: v for k, v in data.items() if k in fields})
    return StoredFeedback(
        event=event, recorded_by=data["recorded_by"], received_at=aware(data["received_at"]), seq=int(data["seq"])
    )


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def pair_labels(events: Sequence[FeedbackEvent]) -> dict[PairKey, int]:
    """Each pair's graded label (see the module docstring), events taken in the order given."""
    best: dict[PairKey, int] = {}
    last: dict[PairKey, Outcome] = {}
    for e in events:
        best[e.pair] = max(best.get(e.pair, 0), e.grade)
        last[e.pair] = e.outcome
    return {p: 0 if last[p] is Outcome.rejected else g for p, g in best.items()}
