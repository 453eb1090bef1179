"""Store fixtures shared with tests/store: an engine on SQLite and, when configured, PostgreSQL."""

from tests.store.conftest import db, db_url

__all__ = ["db", "db_url"]
