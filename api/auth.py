"""API keys and roles (portal < analyst < admin); keys compared as SHA-256 digests in constant time.

Only digests are kept in memory, and only a short digest prefix (``key_id``) is ever logged. Without keys
configured the app factory refuses to start, unless ``generate_admin_key`` is set and the host is loopback:
then it generates an admin key and writes it to ``<data_dir>/admin.key`` (mode 0600), logging only the
file's path. The factory cannot see the address uvicorn binds to, so an explicit opt-in (which
``chainmatch serve`` gives only on loopback) is what makes ``uvicorn --factory ... --host 0.0.0.0`` refuse.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from matching.errors import StartupError
from matching.settings import Settings

log = logging.getLogger("chainmatch.auth")
API_KEY_HEADER = "X-API-Key"


class ConfigurationError(StartupError):
    """The service is misconfigured and must not start (exits with one line, see ``StartupError``)."""


class Role(IntEnum):
    """Roles in increasing power; a role may do everything the ones below it may."""

    portal = 1
    analyst = 2
    admin = 3


@dataclass(frozen=True)
class Principal:
    """The caller: its role and a non-secret key id (first 12 hex digits of the key's SHA-256)."""

    role: Role
    key_id: str


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class KeyRing:
    """Key digests with their roles."""

    def __init__(self, entries: list[tuple[bytes, Role]]) -> None:
        self._entries = list(entries)

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> KeyRing:
        return cls([(digest(key), Role[role]) for key, role in pairs])

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, presented: str | None) -> Principal | None:
        """The principal for a presented key; every stored digest is compared (no early exit)."""
        if not presented:
            return None
        candidate = digest(presented)
        found: Role | None = None
        for stored, role in self._entries:
            if hmac.compare_digest(stored, candidate) and found is None:
                found = role
        if found is None:
            return None
        return Principal(found, candidate.hex()[:12])


def ensure_admin_key(path: Path) -> str:
    """Read the generated admin key at ``path``, creating it (mode 0600) if absent; safe across workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        key = secrets.token_hex(32)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(key + "\n")
            try:
                os.link(tmp, path)  # atomic; fails if another worker won the race
                log.warning("no API keys configured: generated an admin key", extra={"key_file": str(path)})
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        path.chmod(0o600)
    key = path.read_text(encoding="utf-8").strip()
    if not key:
        raise ConfigurationError(f"admin key file {path} is empty; delete it to generate a new key")
    return key


def build_keyring(settings: Settings) -> KeyRing:
    """Keys from settings; or, when explicitly allowed and on loopback only, the generated admin key."""
    pairs = settings.key_pairs()
    if pairs:
        return KeyRing.from_pairs(pairs)
    if not settings.generate_admin_key:
        raise ConfigurationError(
            "refusing to start without CHAINMATCH_API_KEYS (comma-separated key:role, role "
            "portal|analyst|admin); for local use run `chainmatch serve` on 127.0.0.1, or set "
            "CHAINMATCH_GENERATE_ADMIN_KEY=true with a loopback CHAINMATCH_HOST"
        )
    if not settings.host_is_loopback():
        raise ConfigurationError(
            f"refusing to start on non-loopback host {settings.host!r} without CHAINMATCH_API_KEYS "
            "(comma-separated key:role, role portal|analyst|admin)"
        )
    key = ensure_admin_key(settings.admin_key_path())
    log.info("using generated admin key", extra={"key_file": str(settings.admin_key_path())})
    return KeyRing.from_pairs([(key, "admin")])
