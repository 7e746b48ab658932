"""Member check: the keyword groups facilitators approve for the follow-up round.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "themes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.String(length=16), nullable=False),
        sa.Column("question", sa.String(length=16), nullable=False),
        sa.Column("signature", sa.String(length=255), nullable=False),
        sa.Column("words", sa.JSON(), nullable=False),
        sa.Column("by_role", sa.JSON(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_themes_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_themes")),
        sa.UniqueConstraint(
            "workshop_id",
            "recommendation_id",
            "question",
            "signature",
            name=op.f("uq_themes_workshop_id"),
        ),
    )
    op.create_index(op.f("ix_themes_workshop_id"), "themes", ["workshop_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_themes_workshop_id"), table_name="themes")
    op.drop_table("themes")
