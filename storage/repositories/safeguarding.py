"""Safeguarding alerts and the conversations between a lead and a participant."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import ScalarSelect

from storage.models import Participant, PendingInput, Person, SafeguardingAlert, Workshop

RELAY_INPUT = "relay"


@dataclass(frozen=True)
class AlertContext:
    """An alert with what a lead's screen and the relay need around it."""

    alert: SafeguardingAlert
    participant: Participant
    workshop: Workshop


async def create(
    session: AsyncSession,
    *,
    workshop_id: int,
    participant_id: int,
    words: str,
    categories: Sequence[str],
    recommendation_id: str | None,
    question: str | None,
    now: datetime,
) -> SafeguardingAlert:
    alert = SafeguardingAlert(
        workshop_id=workshop_id,
        participant_id=participant_id,
        words=words,
        categories=list(categories),
        recommendation_id=recommendation_id,
        question=question,
        created_at=now,
    )
    session.add(alert)
    return alert


async def latest_open(session: AsyncSession, participant_id: int) -> SafeguardingAlert | None:
    """The newest alert of a participant that no lead has marked handled."""
    return await session.scalar(
        select(SafeguardingAlert)
        .where(
            SafeguardingAlert.participant_id == participant_id,
            SafeguardingAlert.handled_at.is_(None),
        )
        .order_by(SafeguardingAlert.id.desc())
        .limit(1)
    )


async def context(session: AsyncSession, alert_id: int) -> AlertContext | None:
    row = (
        await session.execute(
            select(SafeguardingAlert, Participant, Workshop)
            .join(Participant, Participant.id == SafeguardingAlert.participant_id)
            .join(Workshop, Workshop.id == SafeguardingAlert.workshop_id)
            .where(SafeguardingAlert.id == alert_id)
        )
    ).first()
    return AlertContext(row[0], row[1], row[2]) if row else None


async def unnotified(session: AsyncSession, created_before: datetime) -> list[int]:
    """Alerts whose leads were never reached (a send failed): the scheduler tries again."""
    rows = await session.scalars(
        select(SafeguardingAlert.id)
        .where(
            SafeguardingAlert.notified_at.is_(None),
            SafeguardingAlert.created_at <= created_before,
        )
        .order_by(SafeguardingAlert.id)
    )
    return list(rows)


def unhandled_alert_of(
    participant_id: InstrumentedAttribute[int] | ScalarSelect[int],
) -> ColumnElement[bool]:
    """A WHERE clause: this participant has an alert nobody has handled yet.

    Automatic reminders and nudges wait for a lead: after words of distress, the next message
    from the bot must come from a person, not a "continue where you stopped".
    """
    return exists().where(
        SafeguardingAlert.participant_id == participant_id,
        SafeguardingAlert.handled_at.is_(None),
    )


async def has_unhandled(session: AsyncSession, user_id: int, workshop_id: int) -> bool:
    participant_id = (
        select(Participant.id)
        .where(Participant.telegram_user_id == user_id, Participant.workshop_id == workshop_id)
        .scalar_subquery()
    )
    return bool(await session.scalar(select(unhandled_alert_of(participant_id))))


async def open_relay(
    session: AsyncSession, found: AlertContext, lead_id: int, now: datetime
) -> int | None:
    """Start the conversation; returns the lead's previous relay alert id, if one was open."""
    previous = await session.get(PendingInput, lead_id)
    previous_alert: int | None = None
    if previous is not None:
        if previous.kind == RELAY_INPUT and previous.ref_id != found.alert.id:
            previous_alert = previous.ref_id
        await session.delete(previous)
        await session.flush()
    if previous_alert is not None:
        await close_relay(session, previous_alert, now)
    found.alert.relay_lead_id = lead_id
    found.alert.relay_started_at = now
    found.alert.relay_ended_at = None
    person = await session.get(Person, found.participant.telegram_user_id)
    if person is not None:
        person.relay_alert_id = found.alert.id
    session.add(
        PendingInput(
            telegram_user_id=lead_id,
            kind=RELAY_INPUT,
            workshop_id=found.workshop.id,
            ref_id=found.alert.id,
            created_at=now,
        )
    )
    return previous_alert


async def close_relay(session: AsyncSession, alert_id: int, now: datetime) -> AlertContext | None:
    """End the conversation from either side; returns the alert it belonged to."""
    found = await context(session, alert_id)
    if found is None:
        return None
    found.alert.relay_ended_at = now
    person = await session.get(Person, found.participant.telegram_user_id)
    if person is not None and person.relay_alert_id == alert_id:
        person.relay_alert_id = None
    await session.execute(
        delete(PendingInput).where(
            PendingInput.kind == RELAY_INPUT, PendingInput.ref_id == alert_id
        )
    )
    return found


async def relay_lead_ids(session: AsyncSession) -> list[int]:
    rows = await session.scalars(
        select(PendingInput.telegram_user_id).where(PendingInput.kind == RELAY_INPUT)
    )
    return list(rows)


async def relay_of_lead(session: AsyncSession, lead_id: int) -> AlertContext | None:
    """The conversation a lead is in: where their typed words go."""
    pending = await session.get(PendingInput, lead_id)
    if pending is None or pending.kind != RELAY_INPUT or pending.ref_id is None:
        return None
    found = await context(session, pending.ref_id)
    if found is None or found.alert.relay_ended_at is not None:
        return None
    return found
