"""Facilitators promoted in the chat. Those in FACILITATOR_IDS are facilitators by config."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Facilitator


async def promote(session: AsyncSession, user_id: int, *, added_by: int, now: datetime) -> bool:
    """Add a facilitator; False if they already were one."""
    if await session.get(Facilitator, user_id) is not None:
        return False
    session.add(Facilitator(telegram_user_id=user_id, added_by=added_by, added_at=now))
    await session.flush()
    return True


async def promoted_ids(session: AsyncSession) -> list[int]:
    return list((await session.scalars(select(Facilitator.telegram_user_id))).all())
