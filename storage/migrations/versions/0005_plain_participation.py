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

SIX_LANGUAGES = ("en", "fr", "de", "es", "it", "nl")


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("easy_read", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("message_id", sa.BigInteger(), nullable=True))
    # The default workshop offered every language the bot spoke (English and French); it now
    # speaks six, so a default workshop nobody restricted offers the new ones too.
    workshops = sa.table(
        "workshops",
        sa.column("id", sa.Integer()),
        sa.column("is_default", sa.Boolean()),
        sa.column("languages", sa.JSON()),
    )
    bind = op.get_bind()
    defaults = sa.select(workshops.c.id, workshops.c.languages).where(
        workshops.c.is_default.is_(True)
    )
    for row in bind.execute(defaults).all():
        if list(row.languages or []) == ["en", "fr"]:
            bind.execute(
                workshops.update()
                .where(workshops.c.id == row.id)
                .values(languages=list(SIX_LANGUAGES))
            )


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("message_id")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("easy_read")
