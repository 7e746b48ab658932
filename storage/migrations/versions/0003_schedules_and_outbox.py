"""Workshop timing, scheduled jobs, the delivery outbox, nudge counters, pending input.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workshops") as batch:
        batch.add_column(sa.Column("starts_at", UTCDateTime(), nullable=True))
        batch.add_column(
            sa.Column(
                "timezone", sa.String(length=64), nullable=False, server_default="Europe/Brussels"
            )
        )
        batch.add_column(
            sa.Column("followup_days", sa.Integer(), nullable=False, server_default="7")
        )
        batch.add_column(
            sa.Column("nudge_hours", sa.JSON(), nullable=False, server_default="[24, 72]")
        )
    with op.batch_alter_table("people") as batch:
        batch.add_column(
            sa.Column("unreachable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column("nudges_sent", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("progress_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("progress_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_scheduled_jobs_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_jobs")),
    )
    op.create_index(op.f("ix_scheduled_jobs_due_at"), "scheduled_jobs", ["due_at"])
    op.create_index(op.f("ix_scheduled_jobs_state"), "scheduled_jobs", ["state"])
    op.create_index(op.f("ix_scheduled_jobs_workshop_id"), "scheduled_jobs", ["workshop_id"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["scheduled_jobs.id"],
            name=op.f("fk_deliveries_job_id_scheduled_jobs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["telegram_user_id"],
            ["people.telegram_user_id"],
            name=op.f("fk_deliveries_telegram_user_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("job_id", "telegram_user_id", name=op.f("uq_deliveries_job_id")),
    )
    op.create_index(op.f("ix_deliveries_job_id"), "deliveries", ["job_id"])
    op.create_index(op.f("ix_deliveries_state"), "deliveries", ["state"])
    op.create_index(op.f("ix_deliveries_telegram_user_id"), "deliveries", ["telegram_user_id"])
    op.create_table(
        "pending_inputs",
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("workshop_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workshop_id"],
            ["workshops.id"],
            name=op.f("fk_pending_inputs_workshop_id_workshops"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("telegram_user_id", name=op.f("pk_pending_inputs")),
    )


def downgrade() -> None:
    op.drop_table("pending_inputs")
    op.drop_table("deliveries")
    op.drop_table("scheduled_jobs")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("nudges_sent")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("unreachable")
    with op.batch_alter_table("workshops") as batch:
        batch.drop_column("nudge_hours")
        batch.drop_column("followup_days")
        batch.drop_column("timezone")
        batch.drop_column("starts_at")
