"""Database engines and write transactions that commit in change-sequence order.

SQLite: WAL, a busy timeout and ``BEGIN IMMEDIATE`` for writes (no read-to-write upgrade deadlocks).
PostgreSQL: each write transaction first takes a transaction-level advisory lock, so change-log sequence
numbers become visible in commit order and a poller never skips a late-committing lower number.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from matching.errors import StartupError

WRITE_LOCK_KEY = 0x63_6D_77_72  # "cmwr": serialises writers on PostgreSQL
STARTUP_LOCK_KEY = 0x63_6D_73_75  # "cmsu": serialises migrations and seeding


def create_db_engine(url: str) -> Engine:
    """An engine for ``url`` with the per-dialect settings this store relies on.

    A new SQLite file is created with mode 0600 (SQLite gives its ``-wal``/``-shm`` files the same mode).
    A malformed URL or a missing driver raises :class:`StartupError` with one line.
    """
    try:
        parsed = make_url(url)
        backend = parsed.get_backend_name()
    except ArgumentError:
        raise StartupError("database URL is not a valid SQLAlchemy URL") from None
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private_file(Path(parsed.database))
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    except (NoSuchModuleError, ImportError) as exc:
        raise StartupError(f"cannot use database {safe_url(url)}: {first_line(exc)}") from None


def _create_private_file(path: Path) -> None:
    """Create ``path`` (and a private parent dir) with mode 0600 if it does not exist yet."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def safe_url(url: str) -> str:
    """``url`` with any password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def first_line(exc: BaseException) -> str:
    """The first line of a driver error, without SQLAlchemy's background link."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return lines[0] if lines else type(inner).__name__


def check_database(url: str) -> None:
    """Connect once; raises :class:`StartupError` with one line when the database cannot be reached."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        raise unreachable(url, exc) from None
    finally:
        engine.dispose()


def unreachable(url: str, exc: BaseException) -> StartupError:
    """The one-line start-up error for a database that cannot be reached."""
    return StartupError(f"cannot reach the database {safe_url(url)}: {first_line(exc)}")


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
