"""Scheduled jobs and who they go to. The tables are the truth; the timer only wakes us."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, JobState, Participant, Person, ScheduledJob, Workshop
from storage.repositories.safeguarding import unhandled_alert_of


async def add(
    session: AsyncSession,
    *,
    workshop_id: int,
    kind: str,
    due_at: datetime,
    payload: Mapping[str, Any] | None = None,
    created_by: int | None = None,
    now: datetime,
    state: JobState = JobState.PENDING,
) -> ScheduledJob:
    """A new job; a broadcast starts as a DRAFT, sent only once its author confirms it."""
    job = ScheduledJob(
        workshop_id=workshop_id,
        kind=kind,
        due_at=due_at,
        state=state,
        payload=dict(payload or {}),
        created_by=created_by,
        created_at=now,
    )
    session.add(job)
    await session.flush()
    return job


async def cancel_pending(session: AsyncSession, workshop_id: int, kinds: Iterable[str]) -> int:
    """Cancel a workshop's pending jobs of these kinds (a new date replaces the old plan)."""
    result = await session.execute(
        update(ScheduledJob)
        .where(
            ScheduledJob.workshop_id == workshop_id,
            ScheduledJob.state == JobState.PENDING,
            ScheduledJob.kind.in_(list(kinds)),
        )
        .values(state=JobState.CANCELLED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get(session: AsyncSession, job_id: int) -> ScheduledJob | None:
    return await session.get(ScheduledJob, job_id)


async def cancel(session: AsyncSession, job_id: int) -> ScheduledJob | None:
    """Cancel one job if it has not started (pending, or a broadcast draft); returns it, or
    None if it could not be."""
    job = await session.get(ScheduledJob, job_id)
    if job is None or job.state not in (JobState.PENDING, JobState.DRAFT):
        return None
    job.state = JobState.CANCELLED
    return job


async def confirm_draft(
    session: AsyncSession,
    job_id: int,
    *,
    due_at: datetime,
    progress: tuple[int, int] | None = None,
) -> ScheduledJob | None:
    """A broadcast draft becomes pending (due now); progress is shown in (chat, message)."""
    job = await session.get(ScheduledJob, job_id)
    if job is None or job.state != JobState.DRAFT:
        return None
    job.state = JobState.PENDING
    job.due_at = due_at
    if progress is not None:
        job.progress_chat_id, job.progress_message_id = progress
    return job


async def pending_for(session: AsyncSession, workshop_id: int) -> Sequence[ScheduledJob]:
    result = await session.scalars(
        select(ScheduledJob)
        .where(ScheduledJob.workshop_id == workshop_id, ScheduledJob.state == JobState.PENDING)
        .order_by(ScheduledJob.due_at, ScheduledJob.id)
    )
    return result.all()


async def nudge_candidates(
    session: AsyncSession,
) -> Sequence[tuple[Participant, Person, Workshop]]:
    """Unfinished participants of active workshops who accept reminders, can be reached and
    have no safeguarding alert waiting: the timeline decides which are due a nudge."""
    rows = await session.execute(
        select(Participant, Person, Workshop)
        .join(Person, Person.telegram_user_id == Participant.telegram_user_id)
        .join(Workshop, Workshop.id == Participant.workshop_id)
        .where(
            Participant.finished_at.is_(None),
            Workshop.status == "active",
            Person.reminders_enabled.is_(True),
            Person.unreachable.is_(False),
            ~unhandled_alert_of(Participant.id),
        )
    )
    return [(participant, person, workshop) for participant, person, workshop in rows]


async def unfinished_of_roles(
    session: AsyncSession, workshop_id: int, roles: Sequence[str]
) -> list[int]:
    """Who a report's nudge reaches: unfinished participants with one of `roles` who accept
    reminders, can be reached and have no safeguarding alert waiting (like automatic nudges)."""
    result = await session.scalars(
        select(Participant.telegram_user_id)
        .join(Person, Person.telegram_user_id == Participant.telegram_user_id)
        .where(
            Participant.workshop_id == workshop_id,
            Participant.finished_at.is_(None),
            Participant.role.in_(list(roles)),
            Person.reminders_enabled.is_(True),
            Person.unreachable.is_(False),
            ~unhandled_alert_of(Participant.id),
        )
        .order_by(Participant.id)
    )
    return list(result.all())


async def next_due(session: AsyncSession, workshop_id: int, kind: str) -> datetime | None:
    """When the next pending job of this kind runs for the workshop."""
    return await session.scalar(
        select(func.min(ScheduledJob.due_at)).where(
            ScheduledJob.workshop_id == workshop_id,
            ScheduledJob.kind == kind,
            ScheduledJob.state == JobState.PENDING,
        )
    )


async def runnable(session: AsyncSession, now: datetime) -> Sequence[ScheduledJob]:
    """Pending jobs that are due, and running ones a crash interrupted."""
    result = await session.scalars(
        select(ScheduledJob)
        .where(
            (ScheduledJob.state == JobState.RUNNING)
            | and_(ScheduledJob.state == JobState.PENDING, ScheduledJob.due_at <= now)
        )
        .order_by(ScheduledJob.due_at, ScheduledJob.id)
    )
    return result.all()


async def mark_missed(session: AsyncSession, job_id: int, now: datetime) -> None:
    await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.id == job_id, ScheduledJob.state == JobState.PENDING)
        .values(state=JobState.MISSED, finished_at=now)
    )


async def reachable_participants(
    session: AsyncSession, workshop_id: int, *, respect_setting: bool = True
) -> list[int]:
    """Everyone who joined and has not blocked the bot (and, for reminders, wants them)."""
    statement = (
        select(Participant.telegram_user_id)
        .join(Person, Person.telegram_user_id == Participant.telegram_user_id)
        .where(Participant.workshop_id == workshop_id, Person.unreachable.is_(False))
        .order_by(Participant.id)
    )
    if respect_setting:
        statement = statement.where(
            Person.reminders_enabled.is_(True), ~unhandled_alert_of(Participant.id)
        )
    return list((await session.scalars(statement)).all())


async def participants_who_answered(session: AsyncSession, workshop_id: int) -> list[int]:
    """Follow-up recipients: those with at least one real (not skipped) first-round answer."""
    answered = (
        select(Answer.participant_id)
        .where(Answer.round == 1, Answer.skipped.is_(False))
        .distinct()
        .scalar_subquery()
    )
    result = await session.scalars(
        select(Participant.telegram_user_id)
        .join(Person, Person.telegram_user_id == Participant.telegram_user_id)
        .where(
            Participant.workshop_id == workshop_id,
            Participant.id.in_(answered),
            Person.unreachable.is_(False),
        )
        .order_by(Participant.id)
    )
    return list(result.all())
