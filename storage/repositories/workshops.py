"""Workshop lookups and creation."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Workshop
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
) -> Workshop:
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
    session.add(workshop)
    await session.flush()
    return workshop


async def ensure_default(
    session: AsyncSession, *, title: str, scope: Sequence[str], languages: Sequence[str]
) -> Workshop:
    """The workshop `/start` without a code joins; created once, on first start."""
    existing = await get_default(session)
    if existing is not None:
        return existing
    return await create(session, title=title, scope=scope, languages=languages, is_default=True)
