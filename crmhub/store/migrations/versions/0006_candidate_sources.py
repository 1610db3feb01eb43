"""review queue by source: each candidate's two sources, indexed with status and score

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_source", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("right_source", sa.String(length=100), nullable=True))
    # Existing candidates: copied from their records once; new ones get them at insert.
    op.execute(
        "UPDATE match_candidate SET "
        "left_source = (SELECT s.source FROM source_record s "
        "WHERE s.id = match_candidate.left_record_id), "
        "right_source = (SELECT s.source FROM source_record s "
        "WHERE s.id = match_candidate.right_record_id)"
    )
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        # right_source last: the count of pairs with the source on both sides stays in
        # the index.
        batch_op.create_index(
            "ix_match_candidate_left_source",
            ["status", "left_source", "score", "right_source"],
            unique=False,
        )
        batch_op.create_index(
            "ix_match_candidate_right_source", ["status", "right_source", "score"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("match_candidate", schema=None) as batch_op:
        batch_op.drop_index("ix_match_candidate_right_source")
        batch_op.drop_index("ix_match_candidate_left_source")
        batch_op.drop_column("right_source")
        batch_op.drop_column("left_source")
