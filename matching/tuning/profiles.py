"""Weight profiles in the store: insert-only versions, each row the audit entry of its publish.

The built-in ``default`` profile is version 1 (:data:`matching.weights.DEFAULT_PROFILE`) and is never stored
as a row: a first publish to ``default`` becomes version 2. Every version is pinned to the
:class:`matching.params.MatchParams` version it was made under. Explicit versions are cached forever (they
never change); "latest" lookups are cached for a short TTL so that a version one worker publishes is seen by
every other worker within that time.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from matching.errors import ConflictError, FieldError, InvalidInputError, NotFoundError
from matching.params import DEFAULT_PARAMS
from matching.store.db import write_transaction
from matching.store.tables import weight_profile_versions
from matching.weights import DEFAULT_PROFILE, MatchFilters, WeightProfile

SPEC = re.compile(r"^(?P<name>[A-Za-z0-9._-]{1,64}?)(?:[@:](?P<version>[0-9]{1,9}))?$")
T = weight_profile_versions
BUILTIN_AUTHOR = "built-in"
BUILTIN_REASON = "Built-in default weights (matching/weights.py DEFAULT_WEIGHTS)"
BUILTIN_TIME = datetime(2025, 1, 1, tzinfo=UTC)


class ProfileVersion(BaseModel):
    """One immutable version with its audit entry (who, when, why) and pinned params version."""

    name: str
    version: int = Field(ge=1)
    weights: dict[str, float]
    filters: MatchFilters
    params_version: int
    created_by: str
    created_at: datetime
    reason: str

    def profile(self) -> WeightProfile:
        return WeightProfile(name=self.name, version=self.version, weights=self.weights, filters=self.filters)


BUILTIN_DEFAULT = ProfileVersion(
    name=DEFAULT_PROFILE.name,
    version=DEFAULT_PROFILE.version,
    weights=dict(DEFAULT_PROFILE.weights),
    filters=DEFAULT_PROFILE.filters,
    params_version=DEFAULT_PARAMS.version,
    created_by=BUILTIN_AUTHOR,
    created_at=BUILTIN_TIME,
    reason=BUILTIN_REASON,
)


def parse_spec(spec: str) -> tuple[str, int | None]:
    """``name``, ``name@version`` or (kept for compatibility) ``name:version``."""
    match = SPEC.match(spec)
    if match is None:
        raise InvalidInputError("bad weights", [FieldError("weights", "use name, name@version or name:version")])
    version = match.group("version")
    return match.group("name"), None if version is None else int(version)


class ProfileStore:
    """Reads and publishes weight-profile versions over one database."""

    def __init__(self, engine: Engine, latest_ttl_s: float = 1.0) -> None:
        self.engine = engine
        self.latest_ttl_s = latest_ttl_s
        self._versions: dict[tuple[str, int], ProfileVersion] = {}
        self._latest: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    # -- reads ----------------------------------------------------------------------------------
    def get(self, name: str, version: int | None = None) -> ProfileVersion:
        """A version (latest when ``version`` is None); raises :class:`NotFoundError`."""
        if version is None:
            version = self._latest_version(name)
            if version is None:
                raise NotFoundError("weight profile", name)
        key = (name, version)
        cached = self._versions.get(key)
        if cached is not None:
            return cached
        found = self._read(name, version)
        if found is None:
            raise NotFoundError("weight profile", f"{name}@{version}")
        with self._lock:
            self._versions[key] = found
        return found

    def resolve(self, spec: str | None) -> WeightProfile:
        """The profile a match request names (``None`` or empty: the latest ``default``)."""
        if not spec:
            return self.get(DEFAULT_PROFILE.name).profile()
        name, version = parse_spec(spec)
        try:
            return self.get(name, version).profile()
        except NotFoundError as exc:
            raise NotFoundError("weight profile", spec) from exc  # name it as the caller wrote it

    def params_note(self, name: str, version: int, engine_params: int) -> str | None:
        """A warning when a version was made under other matching parameters than the engine runs."""
        try:
            pinned = self.get(name, version).params_version
        except NotFoundError:
            return None
        if pinned == engine_params:
            return None
        return (
            f"weight profile {name}@{version} was made under MatchParams v{pinned}; the engine runs "
            f"v{engine_params}, so scores may differ from its preview (权重方案与当前匹配参数版本不一致)"
        )

    def history(self, name: str) -> list[ProfileVersion]:
        """Every version of a profile, oldest first (the audit trail)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T).where(T.c.name == name).order_by(T.c.version)).mappings().all()
        versions = [_from_row(r) for r in rows]
        if name == DEFAULT_PROFILE.name:
            versions.insert(0, BUILTIN_DEFAULT)
        if not versions:
            raise NotFoundError("weight profile", name)
        return versions

    def list_latest(self) -> list[ProfileVersion]:
        """The latest version of every profile, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(T.c.name, func.max(T.c.version)).group_by(T.c.name)).all()
        latest = {str(name): int(v) for name, v in rows}
        latest.setdefault(DEFAULT_PROFILE.name, DEFAULT_PROFILE.version)
        return [self.get(name, v) for name, v in sorted(latest.items())]

    # -- publish --------------------------------------------------------------------------------
    def publish(
        self,
        name: str,
        weights: dict[str, float],
        filters: MatchFilters | None,
        *,
        reason: str,
        author: str,
        params_version: int = DEFAULT_PARAMS.version,
        expected_version: int | None = None,
    ) -> ProfileVersion:
        """Append the next version of ``name`` (creating the profile); never rewrites an existing one.

        ``expected_version`` (optimistic concurrency): the version the caller based the edit on; a publish
        racing ahead of it raises :class:`ConflictError`.
        """
        try:
            profile = WeightProfile(name=name, version=1, weights=weights, filters=filters or MatchFilters())
        except ValueError as exc:
            raise InvalidInputError("bad weight profile", [FieldError("weights", _first_error(exc))]) from exc
        if not reason.strip():
            raise InvalidInputError("a reason is required", [FieldError("reason", "say why this version exists")])
        try:
            with write_transaction(self.engine) as conn:
                current = conn.execute(select(func.max(T.c.version)).where(T.c.name == name)).scalar()
                latest = int(current) if current is not None else (1 if name == DEFAULT_PROFILE.name else 0)
                if expected_version is not None and expected_version != latest:
                    raise ConflictError(
                        f"weight profile {name!r} is at version {latest}, not {expected_version}; re-read it"
                    )
                row = {
                    "name": name,
                    "version": latest + 1,
                    "weights": dict(profile.weights),
                    "filters": profile.filters.model_dump(mode="json"),
                    "params_version": params_version,
                    "created_by": author,
                    "created_at": datetime.now(UTC),
                    "reason": reason.strip(),
                }
                conn.execute(insert(T).values(**row))
        except IntegrityError as exc:  # another writer took the number first (cannot happen under the lock)
            raise ConflictError(f"weight profile {name!r} changed concurrently; retry") from exc
        with self._lock:
            self._latest[name] = (time.monotonic(), latest + 1)
        return self.get(name, latest + 1)

    # -- internals ------------------------------------------------------------------------------
    def _latest_version(self, name: str) -> int | None:
        now = time.monotonic()
        cached = self._latest.get(name)
        if cached is not None and now - cached[0] < self.latest_ttl_s:
            return cached[1]
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(T.c.version)).where(T.c.name == name)).scalar()
        version = (
            int(value) if value is not None else (DEFAULT_PROFILE.version if name == DEFAULT_PROFILE.name else None)
        )
        if version is not None:
            with self._lock:
                self._latest[name] = (now, version)
        return version

    def _read(self, name: str, version: int) -> ProfileVersion | None:
        if name == DEFAULT_PROFILE.name and version == DEFAULT_PROFILE.version:
            return BUILTIN_DEFAULT
        with self.engine.connect() as conn:
            row = conn.execute(select(T).where(T.c.name == name, T.c.version == version)).mappings().first()
        return None if row is None else _from_row(row)


def _from_row(row: object) -> ProfileVersion:
    data = dict(row)  # type: ignore[call-overload]
    moment = data["created_at"]
    data["created_at"] = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite: naive
    return ProfileVersion.model_validate(data)


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        found = errors()
        if found:
            return str(found[0].get("msg", exc))
    return str(exc)
