"""An index write that fails never leaves a worker "ready" without the firms the store holds, and a worker that
has not applied a write yet answers 503 (retry), not 404.

The failure is injected into the engine's batch write: no real input is known to break it, and the point is
what the service does when something does (memory, a bug)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from matching.errors import NotFoundError, UnavailableError
from matching.profiles import Enterprise
from matching.service import ChainmatchService
from matching.settings import Settings
from tests.api.api_helpers import enterprise


def _ent(eid: str, product: str) -> Enterprise:
    return Enterprise.model_validate({"id": eid, **enterprise(offers=[{"id": "o1", "product": product}])})


def _supplier_ids(service: ChainmatchService, product: str) -> set[str]:
    from matching.profiles import Need

    result = service.match(Need(id="q", product=product), region_code=None, certifications=None, k=50, weights=None)
    return {item.supplier.id for item in result.items}


def _wait_ready(service: ChainmatchService, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        checks = service.readiness()
        if checks["ready"]:
            return checks
        assert checks["index"] in ("rebuilding", "building"), checks
        assert time.monotonic() < deadline, f"not ready again after {timeout} s: {checks}"
        time.sleep(0.02)


def _fail_next_write(service: ChainmatchService) -> list[int]:
    """Make the engine's next batch write raise; returns a list that counts the failures."""
    engine = service.index.engine
    assert engine is not None
    failures: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        failures.append(1)
        raise MemoryError("injected")

    engine.upsert_many = failing  # type: ignore[method-assign]
    return failures


@pytest.fixture
def open_service(make_settings: Callable[..., Settings]) -> Iterator[Callable[[], ChainmatchService]]:
    opened: list[ChainmatchService] = []

    def factory() -> ChainmatchService:
        service = ChainmatchService.open(make_settings())
        opened.append(service)
        return service

    yield factory
    for service in opened:
        service.close()


def test_a_failed_catch_up_is_rebuilt_and_never_skipped(open_service: Callable[[], ChainmatchService]) -> None:
    """Before: the change-log catch-up logged the failure and moved its seq past the change, so the worker
    reported lag 0 and ready while the firm was missing for good."""
    service_a, service_b = open_service(), open_service()
    failures = _fail_next_write(service_a)
    broken = service_a.index.engine
    written = service_b.upsert(_ent("fail-1", "己二酸")).stored

    service_a.sync(force=True)
    assert failures == [1]
    assert service_a.engine is None  # not answering from a half-written engine
    checks = _wait_ready(service_a)
    assert service_a.index.engine is not broken
    assert checks["index"] == "ok" and checks["index_seq"] == checks["store_seq"] == written.seq
    assert "fail-1" in _supplier_ids(service_a, "己二酸")


def test_a_failed_request_write_is_stored_and_becomes_matchable(
    open_service: Callable[[], ChainmatchService],
) -> None:
    service = open_service()
    failures = _fail_next_write(service)
    outcome = service.upsert(_ent("fail-2", "己二酸"))
    assert failures == [1]
    assert service.get("fail-2").enterprise.id == "fail-2"  # the store kept the write
    checks = _wait_ready(service)
    assert checks["lag"] == 0 and checks["index_seq"] == outcome.stored.seq
    assert "fail-2" in _supplier_ids(service, "己二酸")


def test_a_firm_this_worker_has_not_applied_yet_is_503_not_404(
    open_service: Callable[[], ChainmatchService],
) -> None:
    service_a, service_b = open_service(), open_service()
    service_b.upsert(_ent("late-1", "己二酸"))
    for ask in (service_a.suppliers_for, service_a.buyers_for):
        with pytest.raises(UnavailableError, match="not applied"):
            ask("late-1", None, k=5, weights=None, sync=False)
        with pytest.raises(NotFoundError):  # neither stored nor indexed: a real 404
            ask("never-stored", None, k=5, weights=None, sync=False)
    # an offer added in a newer revision is "not yet" on the lagging worker, not "no such offer"
    service_a.sync(force=True)
    assert service_a.buyers_for("late-1", "o1", k=5, weights=None, sync=False).items is not None
    offers = [{"id": "o1", "product": "己二酸"}, {"id": "o2", "product": "硫酸锰"}]
    service_b.upsert(Enterprise.model_validate({"id": "late-1", **enterprise(offers=offers)}))
    with pytest.raises(UnavailableError, match="not applied"):
        service_a.buyers_for("late-1", "o2", k=5, weights=None, sync=False)
    service_a.sync(force=True)
    assert service_a.buyers_for("late-1", "o2", k=5, weights=None, sync=False).items is not None
    with pytest.raises(NotFoundError):  # caught up: an offer no revision has is a 404 again
        service_a.buyers_for("late-1", "o-missing", k=5, weights=None, sync=False)
