"""People (one per Telegram user who consented) and their participations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    Facilitator,
    Participant,
    PendingInput,
    Person,
    SafeguardingAlert,
    ScheduledJob,
    Workshop,
    utcnow,
)
from storage.repositories.codes import random_pseudonym


async def get_person(session: AsyncSession, user_id: int) -> Person | None:
    return await session.get(Person, user_id)


# Built once: it runs on every message (a reused statement also keeps its cache key).
_WITH_ACTIVE_PARTICIPATION = (
    select(Person, Participant, Workshop)
    .outerjoin(
        Participant,
        (Participant.telegram_user_id == Person.telegram_user_id)
        & (Participant.workshop_id == Person.active_workshop_id),
    )
    .outerjoin(Workshop, Workshop.id == Participant.workshop_id)
    .where(Person.telegram_user_id == bindparam("user_id"))
)


async def with_active_participation(
    session: AsyncSession, user_id: int
) -> tuple[Person, Participant | None, Workshop | None] | None:
    """The person, the participation they are in now and its workshop, in one query.

    Every message a person sends starts here, so this is one round trip instead of three.
    """
    row = (await session.execute(_WITH_ACTIVE_PARTICIPATION, {"user_id": user_id})).first()
    if row is None:
        return None
    return row[0], row[1], row[2]


async def upsert_person(session: AsyncSession, user_id: int, *, language: str) -> Person:
    person = await session.get(Person, user_id)
    if person is None:
        person = Person(telegram_user_id=user_id, language=language, reminders_enabled=True)
        session.add(person)
    else:
        person.language = language
    await session.flush()
    return person


async def get_participant(
    session: AsyncSession, user_id: int, workshop_id: int
) -> Participant | None:
    return await session.scalar(
        select(Participant).where(
            Participant.telegram_user_id == user_id, Participant.workshop_id == workshop_id
        )
    )


async def create_participant(
    session: AsyncSession, *, user_id: int, workshop_id: int, position: str, now: datetime
) -> Participant:
    while True:
        pseudonym = random_pseudonym()
        taken = await session.scalar(
            select(Participant.id).where(Participant.pseudonym == pseudonym)
        )
        if taken is None:
            break
    participant = Participant(
        telegram_user_id=user_id,
        workshop_id=workshop_id,
        pseudonym=pseudonym,
        position=position,
        consented_at=now,
        last_active_at=now,
    )
    session.add(participant)
    await session.flush()
    return participant


async def voice_paths(session: AsyncSession, user_id: int) -> list[str]:
    """Recordings on disk that belong to this person, so /forget can remove them too."""
    rows = await session.scalars(
        select(Answer.voice_path)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Participant.telegram_user_id == user_id, Answer.voice_path.is_not(None))
    )
    return [path for path in rows if path]


async def delete_everything(session: AsyncSession, user_id: int) -> int:
    """Remove a person, every participation and answer, and facilitator traces (a pending
    input, a promotion, the creator id on workshops and jobs). Returns people rows removed."""
    await session.execute(delete(PendingInput).where(PendingInput.telegram_user_id == user_id))
    await session.execute(delete(Facilitator).where(Facilitator.telegram_user_id == user_id))
    await session.execute(
        update(Workshop).where(Workshop.created_by == user_id).values(created_by=None)
    )
    await session.execute(
        update(ScheduledJob).where(ScheduledJob.created_by == user_id).values(created_by=None)
    )
    participant_ids = select(Participant.id).where(Participant.telegram_user_id == user_id)
    await session.execute(
        delete(SafeguardingAlert).where(SafeguardingAlert.participant_id.in_(participant_ids))
    )
    await session.execute(
        update(SafeguardingAlert)
        .where(SafeguardingAlert.handled_by == user_id)
        .values(handled_by=None)
    )
    # A lead who leaves ends their conversations: the participants' words go nowhere else.
    relayed = select(SafeguardingAlert.id).where(SafeguardingAlert.relay_lead_id == user_id)
    await session.execute(
        update(Person).where(Person.relay_alert_id.in_(relayed)).values(relay_alert_id=None)
    )
    await session.execute(
        update(SafeguardingAlert)
        .where(
            SafeguardingAlert.relay_lead_id == user_id,
            SafeguardingAlert.relay_ended_at.is_(None),
        )
        .values(relay_ended_at=utcnow())
    )
    await session.execute(
        update(SafeguardingAlert)
        .where(SafeguardingAlert.relay_lead_id == user_id)
        .values(relay_lead_id=None)
    )
    await session.execute(delete(Answer).where(Answer.participant_id.in_(participant_ids)))
    await session.execute(delete(Participant).where(Participant.telegram_user_id == user_id))
    result = await session.execute(delete(Person).where(Person.telegram_user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def mark_unreachable(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(Person).where(Person.telegram_user_id == user_id).values(unreachable=True)
    )


async def count_participations(session: AsyncSession, user_id: int) -> int:
    statement = select(func.count()).where(Participant.telegram_user_id == user_id)
    return int(await session.scalar(statement) or 0)


async def participation_voice_paths(session: AsyncSession, participant_id: int) -> list[str]:
    rows = await session.scalars(
        select(Answer.voice_path).where(
            Answer.participant_id == participant_id, Answer.voice_path.is_not(None)
        )
    )
    return [path for path in rows if path]


async def delete_participation(session: AsyncSession, user_id: int, workshop_id: int) -> bool:
    """Remove one workshop's answers, alerts and place of a person; the person too when it
    was their only workshop. Returns True when the person row went as well."""
    participant = await get_participant(session, user_id, workshop_id)
    if participant is not None:
        await session.execute(
            delete(SafeguardingAlert).where(SafeguardingAlert.participant_id == participant.id)
        )
        await session.execute(delete(Answer).where(Answer.participant_id == participant.id))
        await session.execute(delete(Participant).where(Participant.id == participant.id))
    if await count_participations(session, user_id) == 0:
        await delete_everything(session, user_id)
        return True
    person = await session.get(Person, user_id)
    if person is not None and person.active_workshop_id == workshop_id:
        person.active_workshop_id = None
        person.relay_alert_id = None
    return False


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def describe_person(session: AsyncSession, user_id: int) -> dict[str, Any] | None:
    """Everything stored about one person, as plain data, for `/mydata`."""
    person = await session.get(Person, user_id)
    if person is None:
        return None
    rows = await session.execute(
        select(Participant, Workshop)
        .join(Workshop, Workshop.id == Participant.workshop_id)
        .where(Participant.telegram_user_id == user_id)
        .order_by(Participant.id)
    )
    participations = []
    for participant, workshop in rows:
        answers = await session.scalars(
            select(Answer)
            .where(Answer.participant_id == participant.id)
            .order_by(Answer.round, Answer.id)
        )
        participations.append(
            {
                "workshop_code": workshop.code,
                "workshop_title": workshop.title,
                "pseudonym": participant.pseudonym,
                "role": participant.role,
                "role_other": participant.role_other,
                "position": participant.position,
                "consented_at": _iso(participant.consented_at),
                "consent_version": participant.consent_version,
                "consent_language": participant.consent_language,
                "quote_consent": participant.quote_consent,
                "safeguarding_alerts": [
                    {
                        "created_at": _iso(alert.created_at),
                        "words": alert.words,
                        "contact_requested": alert.contact_requested_at is not None,
                        "handled_at": _iso(alert.handled_at),
                    }
                    for alert in await session.scalars(
                        select(SafeguardingAlert)
                        .where(SafeguardingAlert.participant_id == participant.id)
                        .order_by(SafeguardingAlert.id)
                    )
                ],
                "last_active_at": _iso(participant.last_active_at),
                "finished_at": _iso(participant.finished_at),
                "answers": [
                    {
                        "recommendation_id": a.recommendation_id,
                        "question": a.question,
                        "round": a.round,
                        "value": a.value,
                        "skipped": a.skipped,
                        "voice_message": a.voice_file_id is not None,
                        "voice_duration_seconds": a.voice_duration,
                        "answered_at": _iso(a.answered_at),
                        "edited_at": _iso(a.edited_at),
                        "sensitive": a.sensitive,
                        "may_quote": a.may_quote,
                    }
                    for a in answers
                ],
            }
        )
    return {
        "telegram_user_id": person.telegram_user_id,
        "language": person.language,
        "reminders_enabled": person.reminders_enabled,
        "easy_read": person.easy_read,
        "created_at": _iso(person.created_at),
        "participations": participations,
    }
