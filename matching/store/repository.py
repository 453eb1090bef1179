"""The enterprise repository: full profile JSON plus indexed columns, and an append-only change log."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import RowMapping

from matching.errors import PreconditionFailedError
from matching.profiles import Enterprise
from matching.store.db import write_transaction
from matching.store.tables import enterprise_changes, enterprises, store_meta


@dataclass(frozen=True)
class StoredEnterprise:
    """A stored profile with its bookkeeping columns."""

    enterprise: Enterprise
    created_at: datetime
    updated_at: datetime
    seq: int


@dataclass(frozen=True)
class UpsertOutcome:
    """What one upsert did: ``created`` (new id), ``changed`` (profile differs from the stored one)."""

    stored: StoredEnterprise
    created: bool
    changed: bool


@dataclass(frozen=True)
class Change:
    """One change-log entry: ``op`` is ``upsert`` or ``delete``."""

    seq: int
    enterprise_id: str
    op: str


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def profile_json(enterprise: Enterprise) -> dict[str, Any]:
    """The stored JSON form of a profile (``None`` fields dropped, order kept)."""
    return enterprise.model_dump(mode="json", exclude_none=True)


def search_text(enterprise: Enterprise) -> str:
    """Lower-cased NFKC text that ``q`` searches: id, name, park, tags, products."""
    parts = [enterprise.id, enterprise.name, enterprise.park or "", *enterprise.tags]
    parts += [o.product for o in enterprise.offers] + [n.product for n in enterprise.needs]
    return unicodedata.normalize("NFKC", " | ".join(p for p in parts if p)).lower()


def _like_pattern(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{unicodedata.normalize('NFKC', escaped).lower()}%"


def _row_to_stored(row: RowMapping) -> StoredEnterprise:
    return StoredEnterprise(
        enterprise=Enterprise.model_validate(row["profile"]),
        created_at=_utc(row["created_at"]),
        updated_at=_utc(row["updated_at"]),
        seq=int(row["seq"]),
    )


StoredRow = tuple[str, int, Any]
"""``(id, seq, profile JSON object)`` of one stored enterprise, not validated."""
STORE_ID_KEY = "store_id"
BULK_CHUNK = 2000  # profiles per executemany in upsert_many


class StoreReader:
    """A read-only view of the enterprises at one point in time (one transaction), read in pages by id.

    Every pass over :meth:`pages` sees the same rows: an index build reads the store twice (item texts, then
    profiles) and the two passes must agree. ``seq`` is the last change that view includes.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        value = conn.execute(select(func.max(enterprise_changes.c.seq))).scalar_one()
        self.seq = int(value or 0)
        self.count = int(conn.execute(select(func.count()).select_from(enterprises)).scalar_one())

    def pages(self, size: int) -> Iterator[list[StoredRow]]:
        """Rows ordered by id, ``size`` at a time (keyset paging on the primary key)."""
        after: str | None = None
        while True:
            stmt = select(enterprises.c.id, enterprises.c.seq, enterprises.c.profile).order_by(enterprises.c.id)
            if after is not None:
                stmt = stmt.where(enterprises.c.id > after)
            page = [(str(i), int(s), p) for i, s, p in self._conn.execute(stmt.limit(size))]
            if not page:
                return
            yield page
            after = page[-1][0]


class EnterpriseRepository:
    """Reads and writes enterprise profiles; every write appends to the change log in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reads ---------------------------------------------------------------------------------
    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def get(self, enterprise_id: str) -> StoredEnterprise | None:
        with self.engine.connect() as conn:
            row = (
                conn.execute(select(enterprises).where(enterprises.c.id == enterprise_id)).mappings().first()
            )
        return None if row is None else _row_to_stored(row)

    def get_many(self, ids: Collection[str]) -> dict[str, StoredEnterprise]:
        if not ids:
            return {}
        out: dict[str, StoredEnterprise] = {}
        id_list = sorted(ids)
        with self.engine.connect() as conn:
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                rows = conn.execute(select(enterprises).where(enterprises.c.id.in_(chunk))).mappings()
                for row in rows:
                    out[row["id"]] = _row_to_stored(row)
        return out

    def page(
        self,
        *,
        region_code: str | None = None,
        ids: Collection[str] | None = None,
        q: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> list[StoredEnterprise]:
        """Profiles ordered by id, starting after ``after``; ``ids`` restricts to a given id set."""
        if ids is not None and not ids:
            return []
        conditions = []
        if region_code:
            conditions.append(enterprises.c.region_code == region_code)
        if q:
            conditions.append(enterprises.c.search_text.like(_like_pattern(q), escape="\\"))
        if after is not None:
            conditions.append(enterprises.c.id > after)
        stmt = select(enterprises).where(and_(True, *conditions)).order_by(enterprises.c.id)
        if ids is None:
            with self.engine.connect() as conn:
                return [_row_to_stored(r) for r in conn.execute(stmt.limit(limit)).mappings()]
        wanted = sorted(i for i in ids if after is None or i > after)
        found: list[StoredEnterprise] = []
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = conn.execute(stmt.where(enterprises.c.id.in_(chunk))).mappings()
                found.extend(_row_to_stored(r) for r in rows)
                if len(found) >= limit:
                    break
        return found[:limit]

    def all_stored(self) -> list[StoredEnterprise]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(enterprises).order_by(enterprises.c.id)).mappings()
            return [_row_to_stored(r) for r in rows]

    @contextmanager
    def reader(self) -> Iterator[StoreReader]:
        """A consistent view for a long read (an index build): one SQLite read transaction (WAL keeps it
        stable while writers commit), or one PostgreSQL ``REPEATABLE READ`` transaction."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield StoreReader(conn)

    def store_id(self) -> str:
        """A random id this database keeps for life (created on first use): what an index snapshot belongs to.
        A reset or another database has another id, whatever its URL."""
        known = self.get_meta(STORE_ID_KEY)
        if known is not None:
            return known
        with write_transaction(self.engine) as conn:
            value = conn.execute(select(store_meta.c.value).where(store_meta.c.key == STORE_ID_KEY)).scalar()
            if value is None:
                value = uuid.uuid4().hex
                conn.execute(insert(store_meta).values(key=STORE_ID_KEY, value=value))
        return str(value)

    def all_enterprises(self) -> list[Enterprise]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(enterprises.c.profile).order_by(enterprises.c.id)).scalars()
            return [Enterprise.model_validate(p) for p in rows]

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(enterprises)).scalar_one())

    def max_seq(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(enterprise_changes.c.seq))).scalar_one()
        return int(value or 0)

    def changes_since(self, seq: int, limit: int = 5000) -> list[Change]:
        stmt = (
            select(enterprise_changes.c.seq, enterprise_changes.c.enterprise_id, enterprise_changes.c.op)
            .where(enterprise_changes.c.seq > seq)
            .order_by(enterprise_changes.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [Change(int(s), e, o) for s, e, o in conn.execute(stmt)]

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(store_meta.c.value).where(store_meta.c.key == key)).scalar()
        return None if value is None else str(value)

    # -- writes --------------------------------------------------------------------------------
    def set_meta(self, key: str, value: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(delete(store_meta).where(store_meta.c.key == key))
            conn.execute(insert(store_meta).values(key=key, value=value))

    def upsert(self, enterprise: Enterprise, *, expected_seq: int | None = None) -> UpsertOutcome:
        """Upsert one profile; with ``expected_seq`` only if the stored revision is that one (``0``: only if
        absent), checked inside the write transaction so two conditional writers cannot both win."""
        with write_transaction(self.engine) as conn:
            existing = conn.execute(select(enterprises).where(enterprises.c.id == enterprise.id)).mappings().first()
            current = 0 if existing is None else int(existing["seq"])
            if expected_seq is not None and current != expected_seq:
                raise PreconditionFailedError(enterprise.id, expected_seq, current)
            return self._upsert(conn, enterprise, existing)

    def upsert_many(
        self, items: Sequence[Enterprise], on_progress: Callable[[int], None] | None = None
    ) -> list[UpsertOutcome]:
        """Upsert several profiles in one transaction; an unchanged profile is not rewritten.

        Each chunk of :data:`BULK_CHUNK` is written with one executemany per statement (change-log rows,
        inserts, updates) after one query for its stored rows; an id repeated in a batch is compared with,
        and written after, its earlier occurrence. ``on_progress(done)`` is called after each chunk. Nothing
        is visible to readers before the whole batch commits.
        """
        outcomes: list[UpsertOutcome] = []
        with write_transaction(self.engine) as conn:
            for start in range(0, len(items), BULK_CHUNK):
                outcomes += self._upsert_chunk(conn, items[start : start + BULK_CHUNK])
                if on_progress is not None:
                    on_progress(len(outcomes))
        return outcomes

    def _upsert_chunk(self, conn: Connection, chunk: Sequence[Enterprise]) -> list[UpsertOutcome]:
        ids = list({e.id for e in chunk})
        stored: dict[str, RowMapping] = {}
        for part in range(0, len(ids), 500):
            rows = conn.execute(select(enterprises).where(enterprises.c.id.in_(ids[part : part + 500])))
            stored.update((row["id"], row) for row in rows.mappings())
        current = {eid: row["profile"] for eid, row in stored.items()}  # as of the item before
        plan: list[tuple[Enterprise, dict[str, Any] | None]] = []  # (profile, its JSON if it is written)
        for enterprise in chunk:
            profile = profile_json(enterprise)
            changed = current.get(enterprise.id) != profile
            current[enterprise.id] = profile
            plan.append((enterprise, profile if changed else None))
        now = datetime.now(UTC)
        seqs = iter(self._append_changes(conn, [e.id for e, p in plan if p is not None], now))
        outcomes: list[UpsertOutcome] = []
        latest: dict[str, StoredEnterprise] = {}
        columns: dict[str, dict[str, Any]] = {}  # the row each written id ends up with
        for enterprise, written in plan:
            eid = enterprise.id
            if written is None:
                same = latest.get(eid) or _row_to_stored(stored[eid])
                outcomes.append(UpsertOutcome(same, created=False, changed=False))
                continue
            seq = next(seqs)
            created = eid not in stored and eid not in latest
            if created:
                created_at = now
            else:
                created_at = latest[eid].created_at if eid in latest else _utc(stored[eid]["created_at"])
            # the given profile is validated: validating its JSON again gives an equal model
            latest[eid] = StoredEnterprise(enterprise, created_at, now, seq)
            outcomes.append(UpsertOutcome(latest[eid], created=created, changed=True))
            columns[eid] = {"name": enterprise.name, "region_code": enterprise.region_code,
                            "search_text": search_text(enterprise), "profile": written, "updated_at": now,
                            "seq": seq}  # fmt: skip
        inserts = [{"id": eid, "created_at": now, **v} for eid, v in columns.items() if eid not in stored]
        updates = [{"b_id": eid, **{f"b_{k}": x for k, x in v.items()}} for eid, v in columns.items() if eid in stored]
        if inserts:
            conn.execute(insert(enterprises), inserts)
        if updates:
            values: dict[str, Any] = {k: bindparam(f"b_{k}") for k in next(iter(columns.values()))}
            conn.execute(update(enterprises).where(enterprises.c.id == bindparam("b_id")).values(values), updates)
        return outcomes

    def classify(self, items: Sequence[Enterprise]) -> dict[str, str]:
        """What :meth:`upsert_many` would do to each id, without writing: created, updated or unchanged."""
        stored = self.get_many([e.id for e in items])
        out: dict[str, str] = {}
        for enterprise in items:
            found = stored.get(enterprise.id)
            if found is None:
                out[enterprise.id] = "created"
            elif profile_json(found.enterprise) == profile_json(enterprise):
                out[enterprise.id] = "unchanged"
            else:
                out[enterprise.id] = "updated"
        return out

    def _upsert(self, conn: Connection, enterprise: Enterprise, existing: Any) -> UpsertOutcome:
        profile = profile_json(enterprise)
        if existing is not None and existing["profile"] == profile:
            return UpsertOutcome(_row_to_stored(existing), created=False, changed=False)
        now = datetime.now(UTC)
        seq = self._append_change(conn, enterprise.id, "upsert", now)
        values = {
            "name": enterprise.name,
            "region_code": enterprise.region_code,
            "search_text": search_text(enterprise),
            "profile": profile,
            "updated_at": now,
            "seq": seq,
        }
        if existing is None:
            conn.execute(insert(enterprises).values(id=enterprise.id, created_at=now, **values))
            created_at = now
        else:
            conn.execute(update(enterprises).where(enterprises.c.id == enterprise.id).values(**values))
            created_at = _utc(existing["created_at"])
        stored = StoredEnterprise(Enterprise.model_validate(profile), created_at, now, seq)
        return UpsertOutcome(stored, created=existing is None, changed=True)

    def delete(self, enterprise_id: str) -> int | None:
        """Delete a profile; returns the change sequence, or ``None`` when it did not exist."""
        with write_transaction(self.engine) as conn:
            result = conn.execute(delete(enterprises).where(enterprises.c.id == enterprise_id))
            if result.rowcount == 0:
                return None
            return self._append_change(conn, enterprise_id, "delete", datetime.now(UTC))

    def delete_all(self, ids: Iterable[str]) -> int:
        """Delete several profiles (maintenance); returns how many existed."""
        count = 0
        for enterprise_id in ids:
            count += self.delete(enterprise_id) is not None
        return count

    @staticmethod
    def _append_changes(conn: Connection, enterprise_ids: Sequence[str], when: datetime) -> list[int]:
        """Append one ``upsert`` change per id (one executemany); their sequences in the same order."""
        stmt = insert(enterprise_changes).returning(enterprise_changes.c.seq, sort_by_parameter_order=True)
        if not enterprise_ids:
            return []
        rows = [{"enterprise_id": eid, "op": "upsert", "changed_at": when} for eid in enterprise_ids]
        return [int(seq) for seq in conn.execute(stmt, rows).scalars()]

    @staticmethod
    def _append_change(conn: Connection, enterprise_id: str, op: str, when: datetime) -> int:
        result = conn.execute(
            insert(enterprise_changes)
            .values(enterprise_id=enterprise_id, op=op, changed_at=when)
            .returning(enterprise_changes.c.seq)
        )
        return int(result.scalar_one())
