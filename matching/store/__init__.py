"""Persistence adapter: SQLAlchemy 2 tables, the enterprise repository, Alembic migrations."""

from matching.store.db import create_db_engine, write_transaction
from matching.store.migrate import prepare_store, upgrade
from matching.store.repository import Change, EnterpriseRepository, StoredEnterprise

__all__ = [
    "Change",
    "EnterpriseRepository",
    "StoredEnterprise",
    "create_db_engine",
    "prepare_store",
    "upgrade",
    "write_transaction",
]
