"""Keyword groups kept for the member check, and the facilitators' decision on each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Theme, ThemeStatus


@dataclass(frozen=True)
class ComputedTheme:
    recommendation_id: str
    question: str
    signature: str
    words: Mapping[str, Sequence[str]]
    by_role: Mapping[str, int]
    size: int


@dataclass(frozen=True)
class ThemeRow:
    id: int
    recommendation_id: str
    question: str
    words: Mapping[str, Sequence[str]]
    by_role: Mapping[str, int]
    size: int
    status: ThemeStatus


def _row(theme: Theme) -> ThemeRow:
    return ThemeRow(
        theme.id,
        theme.recommendation_id,
        theme.question,
        dict(theme.words),
        dict(theme.by_role),
        theme.size,
        ThemeStatus(theme.status),
    )


async def sync(
    session: AsyncSession, workshop_id: int, computed: Sequence[ComputedTheme], now: datetime
) -> list[ThemeRow]:
    """Store the groups as computed now, keeping every decision already taken on the same
    group. Approved groups that are no longer computed stay: a facilitator approved those
    words for participants to see. Undecided and hidden ones that vanished go."""
    stored = {
        (theme.recommendation_id, theme.question, theme.signature): theme
        for theme in await session.scalars(select(Theme).where(Theme.workshop_id == workshop_id))
    }
    seen = set()
    for group in computed:
        key = (group.recommendation_id, group.question, group.signature)
        seen.add(key)
        theme = stored.get(key)
        if theme is None:
            theme = Theme(
                workshop_id=workshop_id,
                recommendation_id=group.recommendation_id,
                question=group.question,
                signature=group.signature,
                status=ThemeStatus.PENDING,
            )
            session.add(theme)
        theme.words = {language: list(words) for language, words in group.words.items()}
        theme.by_role = dict(group.by_role)
        theme.size = group.size
        theme.computed_at = now
    gone = [
        theme.id
        for key, theme in stored.items()
        if key not in seen and theme.status != ThemeStatus.APPROVED
    ]
    if gone:
        await session.execute(delete(Theme).where(Theme.id.in_(gone)))
    await session.flush()
    return await listing(session, workshop_id)


async def listing(session: AsyncSession, workshop_id: int) -> list[ThemeRow]:
    rows = await session.scalars(
        select(Theme)
        .where(Theme.workshop_id == workshop_id)
        .order_by(Theme.recommendation_id, Theme.question, Theme.size.desc(), Theme.id)
    )
    return [_row(theme) for theme in rows]


async def approved(session: AsyncSession, workshop_id: int) -> list[ThemeRow]:
    return [
        row for row in await listing(session, workshop_id) if row.status is ThemeStatus.APPROVED
    ]


async def workshop_of(session: AsyncSession, theme_id: int) -> int | None:
    return await session.scalar(select(Theme.workshop_id).where(Theme.id == theme_id))


async def decide(
    session: AsyncSession, theme_id: int, status: ThemeStatus, by: int, now: datetime
) -> ThemeRow | None:
    theme = await session.get(Theme, theme_id)
    if theme is None:
        return None
    theme.status = status
    theme.decided_by = by
    theme.decided_at = now
    return _row(theme)
