"""Table definitions. The Alembic revisions in ``migrations/versions`` create exactly these."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ProfileJSON = JSON().with_variant(JSONB(), "postgresql")
SeqType = BigInteger().with_variant(Integer(), "sqlite")

enterprises = Table(
    "enterprises",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("region_code", String(6), nullable=True),
    Column("search_text", Text, nullable=False),
    Column("profile", ProfileJSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Index("ix_enterprises_region_code", "region_code"),
    Index("ix_enterprises_seq", "seq"),
    Index("ix_enterprises_updated_at", "updated_at"),
)

# Every write appends one row; workers poll ``seq > last_seen`` to keep their index in step.
enterprise_changes = Table(
    "enterprise_changes",
    metadata,
    Column("seq", SeqType, primary_key=True, autoincrement=True),
    Column("enterprise_id", String(64), nullable=False),
    Column("op", String(8), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_enterprise_changes_enterprise_id", "enterprise_id"),
    sqlite_autoincrement=True,
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Weight profile versions are insert-only: a (name, version) row is never updated, and each row is the
# audit entry of its publish (who, when, why).
weight_profile_versions = Table(
    "weight_profile_versions",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("weights", ProfileJSON, nullable=False),
    Column("filters", ProfileJSON, nullable=False),
    Column("params_version", Integer, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
)

# One row per outcome event; the event id makes posting idempotent, ``body_hash`` detects a reused id.
feedback_events = Table(
    "feedback_events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("buyer_id", String(64), nullable=False),
    Column("need_id", String(64), nullable=True),
    Column("supplier_id", String(64), nullable=False),
    Column("offer_id", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("value_cny", Float, nullable=True),
    Column("reason", Text, nullable=True),
    Column("body_hash", String(64), nullable=False),
    Column("recorded_by", String(128), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("seq", SeqType, nullable=False),
    Index("ix_feedback_events_buyer_id", "buyer_id"),
    Index("ix_feedback_events_seq", "seq"),
)

# Bulk-import jobs, readable from any worker. ``owner`` is ``host:pid`` of the worker running it; ``updated_at``
# is its heartbeat. ``report`` holds the per-row report once the job has finished.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("phase", String(16), nullable=False),
    Column("filename", String(255), nullable=True),
    Column("format", String(8), nullable=True),
    Column("dry_run", Boolean, nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("rows_total", Integer, nullable=True),
    Column("enterprises_total", Integer, nullable=True),
    Column("enterprises_done", Integer, nullable=False),
    Column("owner", String(128), nullable=False),
    Column("error", Text, nullable=True),
    Column("report", ProfileJSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_import_jobs_created_at", "created_at"),
)

# Batch runs (matching.runs): one row per run; a 'running' row is also the lock that keeps runs from overlapping.
runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("reason", Text, nullable=True),
    Column("data_fingerprint", String(64), nullable=True),
    Column("weights_name", String(64), nullable=False),
    Column("weights_version", Integer, nullable=False),
    Column("params_version", Integer, nullable=False),
    Column("code_version", String(64), nullable=False),
    Column("options", ProfileJSON, nullable=False),
    Column("counts", ProfileJSON, nullable=True),
    Column("timings", ProfileJSON, nullable=True),
    Index("ix_runs_status", "status"),
)
