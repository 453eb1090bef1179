"""A throw-away PostgreSQL schema per test, when ``CHAINMATCH_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_URL = os.environ.get("CHAINMATCH_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgres"] if PG_URL else [])]


@contextmanager
def fresh_schema(prefix: str) -> Iterator[str]:
    """Create a uniquely named schema, yield a URL whose ``search_path`` is that schema, then drop it."""
    assert PG_URL is not None
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
