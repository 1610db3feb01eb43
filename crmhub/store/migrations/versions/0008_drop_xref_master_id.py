"""drop ix_xref_master_id: ix_xref_master_id_method (0007) starts with the same column and
serves every look-up by master id, so the older index was only written, never needed

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An incremental run (1M master, 10k new records) wrote about 1,000 WAL pages for this
    # index alone (docs/matching/README.md).
    with op.batch_alter_table("xref", schema=None) as batch_op:
        batch_op.drop_index("ix_xref_master_id")


def downgrade() -> None:
    with op.batch_alter_table("xref", schema=None) as batch_op:
        batch_op.create_index("ix_xref_master_id", ["master_id"], unique=False)
