"""Auth: every role × every class of endpoint, missing and wrong keys; key generation on loopback."""

from __future__ import annotations

import io
import json
import logging
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ConfigurationError, KeyRing, Role
from api.logs import JsonFormatter
from matching.settings import Settings
from tests.api.api_helpers import KEYS, enterprise, problem, wait_ready

Call = tuple[str, str, dict[str, Any]]
CSV = "enterprise_id,name,region_code\nauth-imp,导入,500102\n".encode()

READ: list[Call] = [
    ("GET", "/v1/enterprises", {}),
    ("GET", "/v1/enterprises/seed-zy-mn", {}),
    ("GET", "/v1/enterprises/seed-zy-mn/buyers", {}),
    ("GET", "/v1/enterprises/seed-hc-cell/suppliers", {}),
    ("POST", "/v1/match", {"json": {"need": {"product": "硫酸锰"}}}),
    ("GET", "/v1/regions", {}),
    ("GET", "/v1/regions/520303", {}),
    ("GET", "/v1/chains", {}),
    ("GET", "/v1/chains/t_lmfp", {}),
]
WRITE: list[Call] = [("PUT", "/v1/enterprises/auth-put", {"json": enterprise()})]
ADMIN_ONLY: list[Call] = [
    ("DELETE", "/v1/enterprises/seed-fl-adipic", {}),
    ("POST", "/v1/imports", {"files": {"file": ("a.csv", CSV)}}),
]
PUBLIC: list[Call] = [("GET", "/healthz", {}), ("GET", "/readyz", {}), ("GET", "/metrics", {}),
                      ("GET", "/openapi.json", {})]  # fmt: skip
MIN_ROLE = {"read": Role.portal, "write": Role.portal, "admin": Role.admin}
CLASSES = {"read": READ, "write": WRITE, "admin": ADMIN_ONLY}


def _send(client: TestClient, call: Call, headers: dict[str, str]) -> Any:
    method, path, kwargs = call
    return client.request(method, path, headers=headers, **kwargs)


@pytest.mark.parametrize("who", ["missing", "wrong", "portal", "analyst", "admin"])
def test_role_matrix(client: TestClient, who: str) -> None:
    headers = {} if who == "missing" else {"X-API-Key": "not-a-key" if who == "wrong" else KEYS[who]}
    mismatches: list[str] = []
    for cls, calls in CLASSES.items():
        for call in calls:
            response = _send(client, call, headers)
            if who in ("missing", "wrong"):
                expected = 401
            elif Role[who] < MIN_ROLE[cls]:
                expected = 403
            else:
                expected = 200
            got = response.status_code
            ok = got == expected if expected != 200 else 200 <= got < 300
            if not ok:
                mismatches.append(
                    f"{cls} {call[0]} {call[1]}: {got} (expected {expected}) {response.text[:200]}"
                )
            elif expected >= 400:
                body = problem(response, expected)
                if expected == 401:
                    assert body["detail"] == (
                        "missing X-API-Key header" if who == "missing" else "unknown API key"
                    )
                    assert response.headers["www-authenticate"].startswith("APIKey")
    for call in PUBLIC:
        response = _send(client, call, headers)
        if response.status_code != 200:
            mismatches.append(f"public {call[1]}: {response.status_code}")
    assert not mismatches, "\n".join(mismatches)


def test_denied_writes_change_nothing(client: TestClient) -> None:
    portal = {"X-API-Key": KEYS["portal"]}
    problem(client.delete("/v1/enterprises/seed-zy-mn", headers=portal), 403)
    assert client.get("/v1/enterprises/seed-zy-mn", headers=portal).status_code == 200
    problem(client.put("/v1/enterprises/x1", json=enterprise(), headers={"X-API-Key": "nope"}), 401)
    problem(client.get("/v1/enterprises/x1", headers=portal), 404)


def test_keyring_compares_digests() -> None:
    ring = KeyRing.from_pairs([("k1-secret", "portal"), ("k2-secret", "admin")])
    principal = ring.authenticate("k2-secret")
    assert principal is not None and principal.role is Role.admin
    assert "k2" not in principal.key_id and len(principal.key_id) == 12
    assert ring.authenticate("k2-secreT") is None
    assert ring.authenticate("") is None and ring.authenticate(None) is None


def test_bad_key_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown role"):
        Settings(api_keys="abc:superuser")
    with pytest.raises(ValueError, match="key:role"):
        Settings(api_keys="justakey")


def test_refuses_non_loopback_without_keys(make_settings: Callable[..., Settings], data_dir: Path) -> None:
    with pytest.raises(ConfigurationError, match="non-loopback"):
        create_app(make_settings(api_keys="", host="0.0.0.0", generate_admin_key=True))
    assert not (data_dir / "admin.key").exists()


def test_loopback_generates_admin_key_file(make_settings: Callable[..., Settings], data_dir: Path) -> None:
    records = io.StringIO()
    handler = logging.StreamHandler(records)
    handler.setFormatter(JsonFormatter())
    app = create_app(make_settings(api_keys="", host="127.0.0.1", log_level="INFO", generate_admin_key=True))
    logger = logging.getLogger("chainmatch")
    logger.addHandler(handler)
    try:
        key_file = data_dir / "admin.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        assert len(key) >= 32
        with TestClient(app) as client:
            wait_ready(client)
            assert client.delete("/v1/enterprises/seed-zy-mn", headers={"X-API-Key": key}).status_code == 204
            problem(client.get("/v1/enterprises", headers={"X-API-Key": "wrong"}), 401)
        # a restart reuses the same key
        app2 = create_app(make_settings(api_keys="", host="localhost", log_level="INFO", generate_admin_key=True))
        with TestClient(app2) as client:
            wait_ready(client)
            assert client.get("/v1/enterprises", headers={"X-API-Key": key}).status_code == 200
        logged = records.getvalue()
        assert str(key_file) in logged
        assert key not in logged
        for line in logged.splitlines():
            json.loads(line)  # structured lines only
    finally:
        logger.removeHandler(handler)


def test_configured_keys_never_logged(make_settings: Callable[..., Settings]) -> None:
    records = io.StringIO()
    handler = logging.StreamHandler(records)
    handler.setFormatter(JsonFormatter())
    app = create_app(make_settings(log_level="INFO"))
    logger = logging.getLogger("chainmatch")
    logger.addHandler(handler)
    try:
        with TestClient(app) as client:
            wait_ready(client)
            client.get("/v1/enterprises", headers={"X-API-Key": KEYS["portal"]})
            client.get("/v1/enterprises", headers={"X-API-Key": "a-wrong-key-value"})
        logged = records.getvalue()
        assert "/v1/enterprises" in logged
        assert KEYS["portal"] not in logged and "a-wrong-key-value" not in logged
        assert all(k not in logged for k in KEYS.values())
    finally:
        logger.removeHandler(handler)
