"""xref by master id, method and source record: a master's records and the run summary's
count of records sharing a master are read from the index alone

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every `crmhub match` counts the customer records that share their master (a GROUP BY
    # master_id over xref, related records' rule links left out), and reads the records of
    # the masters it touches (master id -> source record ids). With ix_xref_master_id alone
    # each xref row was then read from the table; with method and source record in the
    # index both are index-only (1M master, 10k new records: the count 0.38 -> 0.18 s CPU).
    with op.batch_alter_table("xref", schema=None) as batch_op:
        batch_op.create_index(
            "ix_xref_master_id_method", ["master_id", "method", "source_record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("xref", schema=None) as batch_op:
        batch_op.drop_index("ix_xref_master_id_method")
