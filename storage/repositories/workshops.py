"""Workshop lookups and creation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Participant, Workshop
from storage.repositories.codes import random_code


async def get_by_code(session: AsyncSession, code: str) -> Workshop | None:
    return await session.scalar(select(Workshop).where(Workshop.code == code.strip().upper()))


async def get(session: AsyncSession, workshop_id: int) -> Workshop | None:
    return await session.get(Workshop, workshop_id)


async def get_default(session: AsyncSession) -> Workshop | None:
    return await session.scalar(select(Workshop).where(Workshop.is_default.is_(True)))


async def create(
    session: AsyncSession,
    *,
    title: str,
    scope: Sequence[str],
    languages: Sequence[str],
    created_by: int | None = None,
    is_default: bool = False,
    retention_months: int | None = None,
) -> Workshop:
    """A new active workshop with a fresh code; `retention_months` None keeps the column's
    default (the settings' RETENTION_MONTHS is passed by /newworkshop)."""
    while True:
        code = random_code()
        if await get_by_code(session, code) is None:
            break
    workshop = Workshop(
        code=code,
        title=title,
        scope=list(scope),
        languages=list(languages),
        is_open=True,
        is_default=is_default,
        status="active",
        created_by=created_by,
    )
    if retention_months is not None:
        workshop.retention_months = retention_months
    session.add(workshop)
    await session.flush()
    return workshop


async def ensure_default(
    session: AsyncSession,
    *,
    title: str,
    scope: Sequence[str],
    languages: Sequence[str],
    retention_months: int = 12,
) -> Workshop:
    """The workshop `/start` without a code joins; created once, on first start."""
    existing = await get_default(session)
    if existing is not None:
        return existing
    return await create(
        session,
        title=title,
        scope=scope,
        languages=languages,
        is_default=True,
        retention_months=retention_months,
    )


async def update_timing(
    session: AsyncSession,
    workshop_id: int,
    *,
    starts_at: datetime | None = None,
    timezone: str | None = None,
    followup_days: int | None = None,
    nudge_hours: Sequence[int] | None = None,
) -> None:
    """Set a workshop's start, zone, follow-up delay or nudge hours (None: unchanged)."""
    workshop = await session.get(Workshop, workshop_id)
    assert workshop is not None
    if starts_at is not None:
        workshop.starts_at = starts_at
    if timezone is not None:
        workshop.timezone = timezone
    if followup_days is not None:
        workshop.followup_days = followup_days
    if nudge_hours is not None:
        workshop.nudge_hours = list(nudge_hours)


async def mark_retention_warned(session: AsyncSession, workshop_id: int, now: datetime) -> None:
    await session.execute(
        update(Workshop).where(Workshop.id == workshop_id).values(retention_warned_at=now)
    )


async def latest(session: AsyncSession) -> Workshop | None:
    """The most recently created workshop: what `/stats` and `/export` mean without a code."""
    return await session.scalar(
        select(Workshop).order_by(Workshop.created_at.desc(), Workshop.id.desc()).limit(1)
    )


@dataclass(frozen=True)
class WorkshopOverview:
    workshop: Workshop
    by_role: Mapping[str, int]
    started: int
    finished: int


async def overview(session: AsyncSession) -> list[WorkshopOverview]:
    """Every workshop with participant counts by role and completion, newest first."""
    rows = await session.execute(
        select(
            Participant.workshop_id,
            Participant.role,
            func.count(),
            func.count(Participant.finished_at),
        ).group_by(Participant.workshop_id, Participant.role)
    )
    by_role: dict[int, dict[str, int]] = {}
    finished: dict[int, int] = {}
    for workshop_id, role, count, done in rows:
        roles = by_role.setdefault(workshop_id, {})
        key = role or "none"
        roles[key] = roles.get(key, 0) + int(count)
        finished[workshop_id] = finished.get(workshop_id, 0) + int(done)
    result = await session.scalars(
        select(Workshop).order_by(Workshop.created_at.desc(), Workshop.id.desc())
    )
    return [
        WorkshopOverview(
            workshop=workshop,
            by_role=by_role.get(workshop.id, {}),
            started=sum(by_role.get(workshop.id, {}).values()),
            finished=finished.get(workshop.id, 0),
        )
        for workshop in result
    ]
