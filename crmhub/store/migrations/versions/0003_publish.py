"""what each target accepted per record (publish ledger and retry list)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "publish_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=50), nullable=False),
        sa.Column("record_key", sa.String(length=500), nullable=False),
        sa.Column("remote_id", sa.String(length=500), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("disposition", sa.String(length=20), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publish_record")),
        sa.UniqueConstraint(
            "target",
            "stream",
            "record_key",
            name=op.f("uq_publish_record_target_stream_record_key"),
        ),
    )
    with op.batch_alter_table("publish_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publish_record_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("publish_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publish_record_status"))
    op.drop_table("publish_record")
