"""The tuning tables: migrations create exactly the metadata; versions are insert-only; feedback is
recorded once per event id (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError

from matching.errors import ConflictError, InvalidInputError, NotFoundError
from matching.store import prepare_store
from matching.store.tables import metadata, weight_profile_versions
from matching.tuning import FeedbackEvent, FeedbackStore, ProfileStore, parse_spec
from matching.tuning.feedback import pair_labels


def test_migrations_create_exactly_the_tables(db: Engine) -> None:
    prepare_store(db)
    with db.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_versions_are_appended_never_rewritten(db: Engine) -> None:
    prepare_store(db)
    store = ProfileStore(db, latest_ttl_s=0.0)
    v2 = store.publish("default", {"product": 2, "distance": 2}, None, reason="equal", author="analyst:abc")
    assert v2.version == 2 and v2.weights["product"] == 0.5 and v2.created_by == "analyst:abc"
    v3 = store.publish("default", {"text": 1}, None, reason="text", author="admin:def")
    assert store.get("default", 2) == v2 and store.get("default").version == v3.version == 3
    assert [v.version for v in store.history("default")] == [1, 2, 3]
    # the primary key forbids a second row for an existing version, even bypassing the store
    with pytest.raises(IntegrityError), db.begin() as conn:
        conn.execute(insert(weight_profile_versions).values(**{**v2.model_dump(), "filters": {}}))
    fresh = ProfileStore(db)  # another worker reads the same versions
    assert fresh.get("default", 2).weights == v2.weights and fresh.resolve("default@3").weights["text"] == 1.0
    with pytest.raises(InvalidInputError):
        store.publish("default", {"text": 1}, None, reason="  ", author="a")
    with pytest.raises(ConflictError):
        store.publish("default", {"text": 1}, None, reason="stale", author="a", expected_version=2)
    with pytest.raises(NotFoundError):
        store.get("missing")
    assert [v.version for v in store.history("default")] == [1, 2, 3]


def test_cached_latest_version_expires(db: Engine) -> None:
    prepare_store(db)
    reader, writer = ProfileStore(db, latest_ttl_s=3600), ProfileStore(db)
    assert reader.resolve(None).version == 1
    writer.publish("default", {"text": 1}, None, reason="r", author="a")
    assert reader.resolve(None).version == 1  # within the TTL
    assert reader.resolve("default@2").version == 2  # an explicit version is read through
    reader.latest_ttl_s = 0.0
    assert reader.resolve(None).version == 2
    with db.begin() as conn:  # a row rewritten behind the store's back is not what a cached version serves
        conn.execute(update(weight_profile_versions).values(reason="tampered"))
    assert reader.get("default", 2).reason == "r"


def test_spec_spellings() -> None:
    assert parse_spec("default") == ("default", None)
    assert parse_spec("a.b-c@12") == ("a.b-c", 12)
    assert parse_spec("x:3") == ("x", 3)
    for bad in ("x@", "x@y", "a b", "x@1@2"):
        with pytest.raises(InvalidInputError):
            parse_spec(bad)


def _event(event_id: str, outcome: str = "met", **extra: object) -> FeedbackEvent:
    return FeedbackEvent.model_validate(
        {"event_id": event_id, "buyer_id": "b", "supplier_id": "s", "offer_id": "o1", "outcome": outcome, **extra}
    )


def test_feedback_recorded_once_even_under_concurrent_replays(db: Engine) -> None:
    prepare_store(db)
    store = FeedbackStore(db)
    results: list[bool] = []
    lock = threading.Lock()

    def post() -> None:
        result = store.record(_event("same"), recorded_by="portal:x")
        with lock:
            results.append(result.created)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
    assert store.count() == 1
    with pytest.raises(ConflictError):
        store.record(_event("same", outcome="rejected"), recorded_by="portal:x")
    assert [s.event.outcome for s in store.all()] == ["met"]


def test_ladder_labels() -> None:
    events = [
        _event("1", "shown"),
        _event("2", "contacted"),
        _event("3", "met"),
        _event("4", "shown", offer_id="o2"),
        _event("5", "contracted", offer_id="o3", value_cny=1e6),
        _event("6", "met", offer_id="o4"),
        _event("7", "rejected", offer_id="o4", reason="价格"),
    ]
    labels = pair_labels(events)
    assert labels == {
        ("b", None, "s", "o1"): 2,
        ("b", None, "s", "o2"): 0,
        ("b", None, "s", "o3"): 3,
        ("b", None, "s", "o4"): 0,
    }
