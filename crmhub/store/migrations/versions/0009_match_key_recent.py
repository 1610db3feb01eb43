"""match_key_recent: the blocking keys of incrementally indexed records, merged into
match_key in one sorted pass now and then instead of scattered over its B-tree every run

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEY = sa.String(length=300).with_variant(sa.String(length=300, collation="C"), "postgresql")


def upgrade() -> None:
    # Empty at first: match_key keeps every key until the next incremental run adds some.
    op.create_table(
        "match_key_recent",
        sa.Column("rule", sa.SmallInteger(), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
            name=op.f("fk_match_key_recent_source_record_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "rule", "key", "source_record_id", name=op.f("pk_match_key_recent")
        ),
    )
    with op.batch_alter_table("match_key_recent", schema=None) as batch_op:
        batch_op.create_index(
            "ix_match_key_recent_source_record_id", ["source_record_id"], unique=False
        )


def downgrade() -> None:
    # Keys not merged yet would be lost with the table: move them first.
    op.execute(
        "INSERT INTO match_key (rule, key, source_record_id) "
        "SELECT rule, key, source_record_id FROM match_key_recent"
    )
    with op.batch_alter_table("match_key_recent", schema=None) as batch_op:
        batch_op.drop_index("ix_match_key_recent_source_record_id")
    op.drop_table("match_key_recent")
