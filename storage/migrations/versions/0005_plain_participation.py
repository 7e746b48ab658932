"""Plain participation: easy-read mode per person, and which message an answer came from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("easy_read", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("message_id")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("easy_read")
