"""Programmatic Alembic upgrade, guarded so that several workers starting at once migrate and seed once.

SQLite: an exclusive ``fcntl`` lock on ``<database>.lock`` beside the database file.
PostgreSQL: a session-level advisory lock held while migrating and seeding.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from matching.store.db import STARTUP_LOCK_KEY

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Upgrade the schema to head (no lock; see :func:`prepare_store`)."""
    with engine.connect() as conn:
        command.upgrade(alembic_config(conn), "head")
        conn.commit()


@contextmanager
def startup_lock(engine: Engine) -> Iterator[None]:
    """Hold the inter-process start-up lock for the store behind ``engine``."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database).with_name(Path(database).name + ".lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": STARTUP_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": STARTUP_LOCK_KEY})
                conn.commit()
        return
    yield


def prepare_store(engine: Engine, seed: Callable[[], None] | None = None) -> None:
    """Migrate to head and run ``seed`` under the start-up lock (one worker at a time)."""
    with startup_lock(engine):
        if current_revision(engine) != head_revision():
            upgrade(engine)
        if seed is not None:
            seed()
