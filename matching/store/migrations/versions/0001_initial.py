"""Initial store: enterprises, change log, store metadata.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "enterprises",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("profile", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_enterprises"),
    )
    op.create_index("ix_enterprises_region_code", "enterprises", ["region_code"])
    op.create_index("ix_enterprises_seq", "enterprises", ["seq"])
    op.create_index("ix_enterprises_updated_at", "enterprises", ["updated_at"])
    op.create_table(
        "enterprise_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=False,
            autoincrement=True,
        ),
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_enterprise_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_enterprise_changes_enterprise_id", "enterprise_changes", ["enterprise_id"])
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_store_meta"),
    )


def downgrade() -> None:
    op.drop_table("store_meta")
    op.drop_index("ix_enterprise_changes_enterprise_id", table_name="enterprise_changes")
    op.drop_table("enterprise_changes")
    op.drop_index("ix_enterprises_updated_at", table_name="enterprises")
    op.drop_index("ix_enterprises_seq", table_name="enterprises")
    op.drop_index("ix_enterprises_region_code", table_name="enterprises")
    op.drop_table("enterprises")
