"""golden record search keys; candidate queue index by status and score

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

KEY = sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "golden_search_key",
        sa.Column("golden_id", sa.Integer(), nullable=False),
        sa.Column("key", KEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["golden_id"],
            ["golden_record.id"],
            name=op.f("fk_golden_search_key_golden_id_golden_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("golden_id", "key", name=op.f("pk_golden_search_key")),
    )
    with op.batch_alter_table("golden_search_key", schema=None) as batch_op:
        batch_op.create_index("ix_golden_search_key_key", ["key", "golden_id"], unique=False)
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        batch_op.create_index("ix_match_candidate_status_score", ["status", "score"], unique=False)
    if not context.is_offline_mode():
        # Existing masters get their keys now; later writes keep them current.
        from crmhub.store.search_keys import fill_search_keys

        fill_search_keys(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        batch_op.drop_index("ix_match_candidate_status_score")
    with op.batch_alter_table("golden_search_key", schema=None) as batch_op:
        batch_op.drop_index("ix_golden_search_key_key")
    op.drop_table("golden_search_key")
