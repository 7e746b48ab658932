"""Safe participation: safeguarding alerts, consent records, quote permission, retention.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workshops") as batch:
        batch.add_column(sa.Column("organisation", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("contact", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("privacy_url", sa.String(length=500), nullable=True))
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("helpline", sa.String(length=200), nullable=True))
        batch.add_column(
            sa.Column("safeguarding_leads", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(
            sa.Column("retention_months", sa.Integer(), nullable=False, server_default="12")
        )
        batch.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("retention_warned_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("purged_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("retained_counts", sa.JSON(), nullable=True))
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("relay_alert_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("participants") as batch:
        batch.add_column(sa.Column("consent_version", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("consent_language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("quote_consent", sa.Boolean(), nullable=True))
    with op.batch_alter_table("answers") as batch:
        batch.add_column(
            sa.Column("sensitive", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("may_quote", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column(
                "quote_status", sa.String(length=16), nullable=False, server_default="pending"
            )
        )
    with op.batch_alter_table("pending_inputs") as batch:
        batch.add_column(sa.Column("ref_id", sa.Integer(), nullable=True))
    op.create_table(
        "safeguarding_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("recommendation_id", sa.String(length=16), nullable=True),
        sa.Column("question", sa.String(length=16), nullable=True),
        sa.Column("words", sa.Text(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("notified_at", UTCDateTime(), nullable=True),
        sa.Column("contact_requested_at", UTCDateTime(), nullable=True),
        sa.Column("handled_by", sa.BigInteger(), nullable=True),
        sa.Column("handled_at", UTCDateTime(), nullable=True),
        sa.Column("relay_lead_id", sa.BigInteger(), nullable=True),
        sa.Column("relay_started_at", UTCDateTime(), nullable=True),
        sa.Column("relay_ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_safeguarding_alerts_participant_id_participants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_safeguarding_alerts_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safeguarding_alerts")),
    )
    op.create_index(
        op.f("ix_safeguarding_alerts_participant_id"), "safeguarding_alerts", ["participant_id"]
    )
    op.create_index(
        op.f("ix_safeguarding_alerts_workshop_id"), "safeguarding_alerts", ["workshop_id"]
    )


def downgrade() -> None:
    op.drop_table("safeguarding_alerts")
    with op.batch_alter_table("pending_inputs") as batch:
        batch.drop_column("ref_id")
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("quote_status")
        batch.drop_column("may_quote")
        batch.drop_column("sensitive")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("quote_consent")
        batch.drop_column("consent_language")
        batch.drop_column("consent_version")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("relay_alert_id")
    with op.batch_alter_table("workshops") as batch:
        for column in (
            "retained_counts",
            "purged_at",
            "retention_warned_at",
            "closed_at",
            "retention_months",
            "safeguarding_leads",
            "helpline",
            "country",
            "privacy_url",
            "contact",
            "organisation",
        ):
            batch.drop_column(column)
