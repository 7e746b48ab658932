"""The update inbox: updates taken from Telegram and not yet processed, kept across a crash.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "update_inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_update_inbox")),
    )
    op.create_index(op.f("ix_update_inbox_received_at"), "update_inbox", ["received_at"])


def downgrade() -> None:
    op.drop_table("update_inbox")
