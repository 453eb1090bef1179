"""Analyst tuning: weight profile versions (insert-only, the audit trail) and feedback events.

Revision ID: 0003_tuning
Revises: 0002_import_jobs
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_tuning"
down_revision = "0002_import_jobs"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "weight_profile_versions",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("weights", _JSON, nullable=False),
        sa.Column("filters", _JSON, nullable=False),
        sa.Column("params_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", "version", name="pk_weight_profile_versions"),
    )
    op.create_table(
        "feedback_events",
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("need_id", sa.String(64), nullable=True),
        sa.Column("supplier_id", sa.String(64), nullable=False),
        sa.Column("offer_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("value_cny", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_feedback_events"),
    )
    op.create_index("ix_feedback_events_buyer_id", "feedback_events", ["buyer_id"])
    op.create_index("ix_feedback_events_seq", "feedback_events", ["seq"])


def downgrade() -> None:
    op.drop_index("ix_feedback_events_seq", table_name="feedback_events")
    op.drop_index("ix_feedback_events_buyer_id", table_name="feedback_events")
    op.drop_table("feedback_events")
    op.drop_table("weight_profile_versions")
