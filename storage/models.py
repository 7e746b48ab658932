"""Database tables.

Conversation state lives here (not in memory) so a participant can leave at any step and come
back after a restart. Personal data is kept to the minimum the workshop needs: the Telegram user
id, a language, a role, and the answers. No names, no usernames, no message text other than
answers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime, also on SQLite which drops the zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class Workshop(Base):
    __tablename__ = "workshops"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    scope: Mapped[list[str]] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON)
    is_open: Mapped[bool] = mapped_column(Boolean, default=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The live event: when it starts (UTC) and the zone people read times in.
    starts_at: Mapped[datetime | None] = mapped_column(nullable=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Brussels")
    followup_days: Mapped[int] = mapped_column(Integer, default=7)
    nudge_hours: Mapped[list[int]] = mapped_column(JSON, default=lambda: [24, 72])
    # Who is responsible and how people reach a human (consent, /help, the safety reply).
    # None means "the settings' default" (ORGANISATION_NAME, ORGANISATION_CONTACT, ...).
    organisation: Mapped[str | None] = mapped_column(String(200), nullable=True)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    privacy_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    # A helpline that replaces the country's default one in the safety reply.
    helpline: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Telegram ids alerted when someone writes something worrying; empty: the creator.
    safeguarding_leads: Mapped[list[int]] = mapped_column(JSON, default=list)
    retention_months: Mapped[int] = mapped_column(Integer, default=12)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    retention_warned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Personal data deleted at the end of retention; only these counts are kept.
    purged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    retained_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)

    participants: Mapped[list[Participant]] = relationship(
        back_populates="workshop", cascade="all, delete-orphan", passive_deletes=True
    )


class Person(Base):
    """One row per Telegram user who agreed to take part in at least one workshop."""

    __tablename__ = "people"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    language: Mapped[str] = mapped_column(String(8))
    active_workshop_id: Mapped[int | None] = mapped_column(
        ForeignKey("workshops.id", ondelete="SET NULL"), nullable=True
    )
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Reads the easy-read version of every text (Inclusion Europe's "Information for all").
    easy_read: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when Telegram answers 403 (the person blocked the bot): no more sends until they return.
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    # The safeguarding alert whose conversation with the team is open: what they type goes
    # to the team, not into an answer. Loaded with the person, so it costs no query.
    relay_alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participations: Mapped[list[Participant]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class Participant(Base):
    """A person's place in one workshop: consent, role, and where they are in the questions."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("telegram_user_id", "workshop_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    telegram_user_id: Mapped[int] = mapped_column(
        ForeignKey("people.telegram_user_id", ondelete="CASCADE"), index=True
    )
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    role_other: Mapped[str | None] = mapped_column(String(100), nullable=True)
    position: Mapped[str] = mapped_column(String(64))
    return_to: Mapped[str | None] = mapped_column(String(64), nullable=True)
    consented_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Which consent text they agreed to (a hash of it) and in which language.
    consent_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    consent_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # May their words be shown, without their name, to others? None: not asked yet.
    quote_consent: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    nudges_sent: Mapped[int] = mapped_column(Integer, default=0)

    person: Mapped[Person] = relationship(back_populates="participations")
    workshop: Mapped[Workshop] = relationship(back_populates="participants")
    answers: Mapped[list[Answer]] = relationship(
        back_populates="participant", cascade="all, delete-orphan", passive_deletes=True
    )


class Answer(Base):
    """One answer to one question about one recommendation, in one round.

    Saved the moment it is given. A later change updates the row and sets `edited_at`; a
    follow-up round is a new row with a higher `round`, never an overwrite of the first.
    """

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("participant_id", "recommendation_id", "question", "round"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    recommendation_id: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(String(16))
    round: Mapped[int] = mapped_column(Integer, default=1)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    voice_file_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    voice_duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Where the downloaded recording lives, relative to DATA_DIR (None until it is fetched).
    voice_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Showed signs of distress or abuse: never quoted, never in a group message or report.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    # The person said their words may be shown without their name.
    may_quote: Mapped[bool] = mapped_column(Boolean, default=False)
    # A facilitator's decision on quoting it: pending, approved or hidden.
    quote_status: Mapped[str] = mapped_column(String(16), default="pending")
    # The Telegram message a typed answer came from, so editing that message edits the answer.
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    participant: Mapped[Participant] = relationship(back_populates="answers")


class SafeguardingAlert(Base):
    """Someone wrote words that may show distress or abuse; a lead must look at it.

    The words are kept here (not only in an answer) because they may have been typed where no
    answer is stored; they go with the participant when their data is deleted.
    """

    __tablename__ = "safeguarding_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participants.id", ondelete="CASCADE"), index=True
    )
    recommendation_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    question: Mapped[str | None] = mapped_column(String(16), nullable=True)
    words: Mapped[str] = mapped_column(Text)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the leads were told; None until a send succeeded (the scheduler tries again).
    notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    contact_requested_at: Mapped[datetime | None] = mapped_column(nullable=True)
    handled_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    handled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The conversation through the bot: which lead, since when, until when.
    relay_lead_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    relay_started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    relay_ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Facilitator(Base):
    """A facilitator promoted in the chat with /addfacilitator (FACILITATOR_IDS are implicit)."""

    __tablename__ = "facilitators"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    added_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobState(StrEnum):
    """Where a scheduled job is. A broadcast starts as a DRAFT until its author confirms it; a
    job left RUNNING by a crash is runnable again, so it resumes."""

    DRAFT = "draft"
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    MISSED = "missed"


class ScheduledJob(Base):
    """Something the bot must send at a time: a reminder, a session prompt, a broadcast...

    This table, not the timer library, is the source of truth: on start the bot reads what is
    due from here, so nothing is lost or repeated across restarts.
    """

    __tablename__ = "scheduled_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # Where to show live progress (a facilitator's chat and message), for broadcasts.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="job", cascade="all, delete-orphan", passive_deletes=True
    )


class Delivery(Base):
    """The outbox: one row per job and recipient, written before anything is sent.

    A crash mid-broadcast resumes from the rows still pending; the unique constraint makes a
    second row for the same person and job impossible.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("job_id", "telegram_user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_jobs.id", ondelete="CASCADE"), index=True
    )
    telegram_user_id: Mapped[int] = mapped_column(
        ForeignKey("people.telegram_user_id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255), nullable=True)
    message_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)

    job: Mapped[ScheduledJob] = relationship(back_populates="deliveries")


class PendingInput(Base):
    """A facilitator the bot is waiting for typed input from (the text of a broadcast)."""

    __tablename__ = "pending_inputs"

    telegram_user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    workshop_id: Mapped[int] = mapped_column(ForeignKey("workshops.id", ondelete="CASCADE"))
    # What the input is about beyond the workshop (the safeguarding alert of a relay).
    ref_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ThemeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    HIDDEN = "hidden"


class Theme(Base):
    """A keyword group of one topic's typed answers, for the follow-up round's member check.

    Computed from the answers (bot.report.keywords), then shown to participants only once a
    facilitator approved it (`/themes`). `signature` identifies the group across recomputations
    (its top word stems), so a decision survives new answers that leave the group the same.
    """

    __tablename__ = "themes"
    __table_args__ = (
        UniqueConstraint("workshop_id", "recommendation_id", "question", "signature"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workshop_id: Mapped[int] = mapped_column(
        ForeignKey("workshops.id", ondelete="CASCADE"), index=True
    )
    recommendation_id: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(String(16))
    signature: Mapped[str] = mapped_column(String(255))
    # The words that name it, per reading language: {"en": ["training", ...], "fr": [...]}.
    words: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    by_role: Mapped[dict[str, int]] = mapped_column(JSON)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=ThemeStatus.PENDING)
    decided_by: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessedUpdate(Base):
    """Telegram update ids already handled: a re-delivered update becomes a no-op."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InboxUpdate(Base):
    """An update taken from Telegram whose processing has not finished (the reply included).

    Written before Telegram is told the update arrived (the next getUpdates, or the webhook's
    200), deleted once it has been processed, so an update in flight when the bot dies is
    processed at the next start instead of lost. It holds the raw update as Telegram sent it,
    names and words included, for those seconds only (rows older than a day are dropped).
    """

    __tablename__ = "update_inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # PostgreSQL with two bot processes: the instance (`bot/replicas.py`) that took the update.
    # Only that process replays it, unless it is gone. Empty on SQLite (one process).
    claimed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
