"""Runtime configuration from ``CHAINMATCH_*`` environment variables (each also a CLI option).

``CHAINMATCH_DATA_DIR`` (default ``./data``), ``CHAINMATCH_DATABASE_URL`` (default SQLite in the data
dir) and ``CHAINMATCH_API_KEYS`` (comma-separated ``key:role``; role ``portal``, ``analyst`` or ``admin``).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROLES: tuple[str, ...] = ("portal", "analyst", "admin")
SQLITE_FILE = "chainmatch.db"
ADMIN_KEY_FILE = "admin.key"


class Settings(BaseSettings):
    """Service settings. Construct with keyword arguments in tests; the server reads the environment."""

    # Validation errors never echo the input: CHAINMATCH_API_KEYS holds secrets.
    model_config = SettingsConfigDict(env_prefix="CHAINMATCH_", extra="ignore", hide_input_in_errors=True)

    data_dir: Path = Field(default=Path("data"), description="Runtime data dir (SQLite file, admin key)")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/chainmatch.db"
    )
    api_keys: SecretStr = Field(default=SecretStr(""), description="Comma-separated key:role pairs")
    host: str = Field(default="127.0.0.1", description="Address the server binds to (loopback check)")
    generate_admin_key: bool = Field(
        default=False,
        description="Without CHAINMATCH_API_KEYS, generate an admin key (loopback hosts only); "
        "`chainmatch serve` sets it on loopback, any other way of starting refuses to run without keys",
    )
    seeds_dir: Path | None = Field(default=None, description="Seed directory; default the repo's seeds/")
    seed_on_empty: bool = Field(default=True, description="Load seed enterprises into an empty store")
    sync_interval_s: float = Field(default=0.5, gt=0, le=0.5, description="Change-log poll interval")
    malloc_arenas: int = Field(
        default=2,
        ge=0,
        description="glibc malloc arenas a server worker's threads share (mallopt M_ARENA_MAX; as MALLOC_ARENA_MAX); "
        "glibc's default of eight per core lets RSS climb with the request threads; 0 keeps the default",
    )
    gc_freeze: bool = Field(
        default=True,
        description="Freeze the built index out of the garbage collector's full collections (gc.freeze); off "
        "in processes that start many short-lived apps, such as a test suite",
    )
    fast_lists: bool = Field(
        default=True,
        description="Serve plain GET supplier and buyer lists without FastAPI's per-request dependency solving "
        "(api/fast_lists.py); off: every request takes the FastAPI route",
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Largest JSON request body")
    max_import_bytes: int = Field(default=10 << 20, ge=1024, description="Largest import upload")
    max_import_rows: int = Field(default=50_000, ge=1)
    ready_max_lag: int = Field(
        default=1000, ge=0, description="/readyz is 503 while the index trails the store by more changes"
    )
    import_job_min_bytes: int = Field(
        default=256 << 10, ge=0, description="Uploads at least this large run as a job (202); smaller answer 200"
    )
    import_job_stale_s: float = Field(
        default=30.0, gt=0, description="A running job whose heartbeat is older than this is reported failed"
    )
    index_snapshot: bool = Field(
        default=True, description="Start from a saved index snapshot when one fits the store; save one after a build"
    )
    index_snapshot_dir: Path | None = Field(default=None, description="Snapshot directory; default <data_dir>/index")
    index_snapshot_refresh_changes: int = Field(
        default=20_000, ge=0,
        description="A running service re-saves its snapshot once it is this many changes past it (0: never); "
        "a restart replays these changes, so this bounds the replay",
    )
    index_snapshot_refresh_s: float = Field(
        default=300.0, ge=0, description="Least time between two snapshot saves of a running service"
    )
    index_snapshot_fork: bool = Field(
        default=True,
        description="A running service saves its snapshot from a forked copy of itself, so index writes wait "
        "only for the fork, not for the save; false: save in process, holding writes meanwhile",
    )
    index_processes: int = Field(
        default_factory=lambda: min(4, os.cpu_count() or 1), ge=1, le=64,
        description="Processes (forked) that link and vectorise a large index batch, such as a bulk import "
        "or another worker's import read from the change log; 1: this process only",
    )
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=True, description="Structured JSON log lines")

    @field_validator("api_keys")
    @classmethod
    def _check_keys(cls, value: SecretStr) -> SecretStr:
        parse_api_keys(value.get_secret_value())
        return value

    def resolved_database_url(self) -> str:
        """The configured URL, or SQLite in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / SQLITE_FILE).resolve()}"

    def key_pairs(self) -> list[tuple[str, str]]:
        """The configured ``(key, role)`` pairs."""
        return parse_api_keys(self.api_keys.get_secret_value())

    def admin_key_path(self) -> Path:
        return self.data_dir / ADMIN_KEY_FILE

    def host_is_loopback(self) -> bool:
        return is_loopback(self.host)


def parse_api_keys(text: str) -> list[tuple[str, str]]:
    """Parse ``key:role,key:role``; raises ``ValueError`` naming the bad entry by position only (a mistyped
    entry may hold a key, or part of one, anywhere in it)."""
    pairs: list[tuple[str, str]] = []
    for index, entry in enumerate(e.strip() for e in text.split(",")):
        if not entry:
            continue
        key, sep, role = entry.rpartition(":")
        if not sep or not key.strip():
            raise ValueError(f"API key entry #{index + 1} is not of the form key:role")
        if role.strip() not in ROLES:
            raise ValueError(f"API key entry #{index + 1} has an unknown role; use one of {', '.join(ROLES)}")
        pairs.append((key.strip(), role.strip()))
    return pairs


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
