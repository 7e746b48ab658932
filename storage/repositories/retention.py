"""Queries for a workshop's lifecycle: when its data was last touched, its counts, deletion.

Deleting a workshop (`/deleteworkshop`) and purging it at the end of retention remove the same
personal data; only the workshop row differs (deleted, or kept with aggregate counts). Both
run inside the caller's transaction, so either everything goes or nothing does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Answer,
    Delivery,
    Participant,
    PendingInput,
    Person,
    SafeguardingAlert,
    ScheduledJob,
    Theme,
    Workshop,
)

# Bulk statements below must not try to match rows in the session: the workshop row the
# caller holds is the only one it uses afterwards.
_BULK = {"synchronize_session": False}


@dataclass(frozen=True)
class Removed:
    """What went with a workshop's personal data: counts for the reply, files for the disk."""

    participants: int
    answers: int
    people: int
    voice_paths: list[str]
    pseudonyms: list[str]


@dataclass(frozen=True)
class Aggregates:
    """Group counts of one workshop, the raw material of `workshops.retained_counts`."""

    roles: list[tuple[str | None, int, int]]
    """(role, participants, finished)"""
    answers: list[tuple[str, str, int]]
    """(recommendation, question, answers given) in the counted round"""
    priorities: list[tuple[str, str | None, str | None, int]]
    """(recommendation, role, priority value, count) in the counted round"""


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def last_activity(
    session: AsyncSession, workshop_id: int | None = None
) -> dict[int, datetime]:
    """When each workshop with participants was last used: its newest answer or edit.

    A workshop whose participants have answered nothing yet counts from the newest join. A
    workshop nobody joined is absent: it holds no participant's personal data.
    """
    only = () if workshop_id is None else (Participant.workshop_id == workshop_id,)
    answered = (
        select(Participant.workshop_id, func.max(Answer.answered_at), func.max(Answer.edited_at))
        .join(Answer, Answer.participant_id == Participant.id)
        .where(*only)
        .group_by(Participant.workshop_id)
    )
    joined = (
        select(Participant.workshop_id, func.max(Participant.consented_at))
        .where(*only)
        .group_by(Participant.workshop_id)
    )
    latest: dict[int, datetime] = {}
    for wid, last_answered, last_edited in await session.execute(answered):
        latest[wid] = max(d for d in (last_answered, last_edited) if d is not None)
    for wid, last_joined in await session.execute(joined):
        latest.setdefault(wid, last_joined)
    return latest


async def with_personal_data(session: AsyncSession) -> list[tuple[Workshop, datetime]]:
    """Workshops still holding participants' data (active or closed), with their last use."""
    activity = await last_activity(session)
    if not activity:
        return []
    rows = await session.scalars(
        select(Workshop)
        .where(Workshop.status.in_(("active", "closed")), Workshop.id.in_(list(activity)))
        .order_by(Workshop.id)
    )
    return [(workshop, activity[workshop.id]) for workshop in rows]


async def participant_count(session: AsyncSession, workshop_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Participant).where(Participant.workshop_id == workshop_id)
    )
    return int(count or 0)


async def aggregates(
    session: AsyncSession, workshop_id: int, *, counted_round: int, priority_question: str
) -> Aggregates:
    """Counts only: nothing here names a person or repeats their words."""
    roles = await session.execute(
        select(Participant.role, func.count(), func.count(Participant.finished_at))
        .where(Participant.workshop_id == workshop_id)
        .group_by(Participant.role)
    )
    given = (
        select(Answer.recommendation_id)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Participant.workshop_id == workshop_id,
            Answer.round == counted_round,
            Answer.skipped.is_(False),
        )
    )
    answers = await session.execute(
        given.add_columns(Answer.question, func.count()).group_by(
            Answer.recommendation_id, Answer.question
        )
    )
    priorities = await session.execute(
        given.add_columns(Participant.role, Answer.value, func.count())
        .where(Answer.question == priority_question)
        .group_by(Answer.recommendation_id, Participant.role, Answer.value)
    )
    return Aggregates(
        roles=[(role, int(n), int(done)) for role, n, done in roles],
        answers=[(rec, question, int(n)) for rec, question, n in answers],
        priorities=[(rec, role, value, int(n)) for rec, role, value, n in priorities],
    )


async def delete_personal_data(session: AsyncSession, workshop_id: int) -> Removed:
    """Remove every participant of the workshop with all that hangs on them.

    Answers, safeguarding alerts, the outbox and every job of the workshop (a nudge's payload
    lists Telegram ids), pending facilitator inputs about it, and the people who are in no
    other workshop. People who stay lose their pointers into it (current workshop, an open
    conversation with a lead). The workshop row itself stays.
    """
    in_workshop = select(Participant.id).where(Participant.workshop_id == workshop_id)
    user_ids = select(Participant.telegram_user_id).where(Participant.workshop_id == workshop_id)
    elsewhere = select(Participant.telegram_user_id).where(Participant.workshop_id != workshop_id)
    lonely = Person.telegram_user_id.in_(user_ids) & Person.telegram_user_id.not_in(elsewhere)
    voice_paths = await session.scalars(
        select(Answer.voice_path).where(
            Answer.participant_id.in_(in_workshop), Answer.voice_path.is_not(None)
        )
    )
    paths = [path for path in voice_paths if path]
    pseudonyms = list(
        await session.scalars(
            select(Participant.pseudonym).where(Participant.workshop_id == workshop_id)
        )
    )
    alert_ids = select(SafeguardingAlert.id).where(SafeguardingAlert.workshop_id == workshop_id)
    await session.execute(
        update(Person)
        .where(Person.relay_alert_id.in_(alert_ids))
        .values(relay_alert_id=None)
        .execution_options(**_BULK)
    )
    await session.execute(
        update(Person)
        .where(Person.active_workshop_id == workshop_id)
        .values(active_workshop_id=None)
        .execution_options(**_BULK)
    )
    # Keyword groups are made of the participants' words: they go with them.
    await session.execute(
        delete(Theme).where(Theme.workshop_id == workshop_id).execution_options(**_BULK)
    )
    job_ids = select(ScheduledJob.id).where(ScheduledJob.workshop_id == workshop_id)
    lonely_ids = select(Person.telegram_user_id).where(lonely)
    await session.execute(
        delete(Delivery)
        .where(Delivery.job_id.in_(job_ids) | Delivery.telegram_user_id.in_(lonely_ids))
        .execution_options(**_BULK)
    )
    await session.execute(
        delete(ScheduledJob)
        .where(ScheduledJob.workshop_id == workshop_id)
        .execution_options(**_BULK)
    )
    await session.execute(
        delete(PendingInput)
        .where(PendingInput.workshop_id == workshop_id)
        .execution_options(**_BULK)
    )
    await session.execute(
        delete(SafeguardingAlert)
        .where(
            (SafeguardingAlert.workshop_id == workshop_id)
            | SafeguardingAlert.participant_id.in_(in_workshop)
        )
        .execution_options(**_BULK)
    )
    answers = await session.execute(
        delete(Answer).where(Answer.participant_id.in_(in_workshop)).execution_options(**_BULK)
    )
    # While the participants still exist, so "in no other workshop" can be asked of them.
    people = await session.execute(delete(Person).where(lonely).execution_options(**_BULK))
    # (Deleting a person took their participation with it: count from the pseudonyms.)
    await session.execute(
        delete(Participant)
        .where(Participant.workshop_id == workshop_id)
        .execution_options(**_BULK)
    )
    return Removed(
        participants=len(pseudonyms),
        answers=_rowcount(answers),
        people=_rowcount(people),
        voice_paths=paths,
        pseudonyms=pseudonyms,
    )


async def delete_workshop(session: AsyncSession, workshop_id: int) -> Removed:
    """The workshop and every row that belongs to it, in any table."""
    removed = await delete_personal_data(session, workshop_id)
    await session.execute(
        delete(Workshop).where(Workshop.id == workshop_id).execution_options(**_BULK)
    )
    return removed
