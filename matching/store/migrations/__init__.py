"""Alembic migration scripts for the chainmatch store."""
