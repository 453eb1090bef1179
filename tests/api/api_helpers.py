"""Shared helpers for the API tests: keys per role, problem assertions, profile bodies, a running server and
the service's log records."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

    from matching.settings import Settings

KEYS = {
    "portal": "portal-key-for-tests-0001",
    "analyst": "analyst-key-for-tests-0002",
    "admin": "admin-key-for-tests-0003",
}
API_KEYS = ",".join(f"{key}:{role}" for role, key in KEYS.items())


def auth(role: str) -> dict[str, str]:
    return {"X-API-Key": KEYS[role]}


PORTAL, ANALYST, ADMIN = auth("portal"), auth("analyst"), auth("admin")


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with ``status`` and return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert "Traceback" not in response.text
    return body


def error_fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


def enterprise(eid: str = "t-ent", **overrides: Any) -> dict[str, Any]:
    """A valid profile body."""
    body: dict[str, Any] = {
        "name": "测试企业",
        "region_code": "520303",
        "offers": [{"id": "o1", "product": "硫酸锰", "capacity": {"value": 2.0, "unit": "万吨/年"}}],
        "needs": [],
    }
    body.update(overrides)
    return body


def wait_ready(client: Any, timeout: float = 60.0) -> dict[str, Any]:
    """Poll ``/readyz`` until 200 (the index builds in the background at start-up); return its body."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        response = client.get("/readyz")
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        assert time.monotonic() < deadline, f"not ready after {timeout} s: {response.text}"
        time.sleep(0.02)


@contextmanager
def running(settings: Settings) -> Iterator[TestClient]:
    """One server start (lifespan included) until the block ends: a clean shutdown."""
    from fastapi.testclient import TestClient

    from api.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        wait_ready(client)
        yield client


class Captured(logging.Handler):
    """Records of the ``chainmatch.service`` logger (the app's logger does not propagate to caplog); the
    ``service_log`` fixture installs one."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno == level]
