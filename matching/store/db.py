"""Database engines and write transactions that commit in change-sequence order.

SQLite: WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes (no read-to-write upgrade deadlocks).
PostgreSQL: each write transaction first takes a transaction-level advisory lock, so change-log sequence
numbers become visible in commit order and a poller never skips a late-committing lower number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

WRITE_LOCK_KEY = 0x63_6D_77_72  # "cmwr": serialises writers on PostgreSQL
STARTUP_LOCK_KEY = 0x63_6D_73_75  # "cmsu": serialises migrations and seeding


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-dialect settings this store relies on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see begin hook)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("chainmatch_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for writes: exclusive among writers, committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn.execution_options(chainmatch_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
            yield conn
