"""match index: normalized forms, blocking keys and term counts of matched records

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

KEY = sa.String(length=300).with_variant(sa.String(length=300, collation="C"), "postgresql")


def upgrade() -> None:
    # Empty at first: the next `crmhub match` finds no index fingerprint and builds it.
    op.create_table(
        "match_form",
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
            name=op.f("fk_match_form_source_record_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("source_record_id", name=op.f("pk_match_form")),
    )
    op.create_table(
        "match_key",
        sa.Column("rule", sa.SmallInteger(), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.Column("source_record_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_record_id"],
            ["source_record.id"],
            name=op.f("fk_match_key_source_record_id_source_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule", "key", "source_record_id", name=op.f("pk_match_key")),
    )
    with op.batch_alter_table("match_key", schema=None) as batch_op:
        batch_op.create_index("ix_match_key_source_record_id", ["source_record_id"], unique=False)
    op.create_table(
        "match_term",
        sa.Column("column", sa.String(length=40), nullable=False),
        sa.Column("value", KEY, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("column", "value", name=op.f("pk_match_term")),
    )
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_source_record_deleted",
            ["entity"],
            unique=False,
            sqlite_where=sa.text("deleted IS 1"),
            postgresql_where=sa.text("deleted IS true"),
        )
        batch_op.create_index("ix_source_record_source_key", ["source", "source_key"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("source_record", schema=None) as batch_op:
        batch_op.drop_index("ix_source_record_source_key")
        batch_op.drop_index("ix_source_record_deleted")
    op.drop_table("match_term")
    with op.batch_alter_table("match_key", schema=None) as batch_op:
        batch_op.drop_index("ix_match_key_source_record_id")
    op.drop_table("match_key")
    op.drop_table("match_form")
