"""What a facilitator is expected to type next (a broadcast's text, a workshop code to
confirm a deletion): at most one per person, replaced when a new one is asked for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PendingInput


async def expect(
    session: AsyncSession, user_id: int, kind: str, workshop_id: int, now: datetime
) -> None:
    await clear(session, user_id)
    session.add(
        PendingInput(telegram_user_id=user_id, kind=kind, workshop_id=workshop_id, created_at=now)
    )


async def get(session: AsyncSession, user_id: int) -> PendingInput | None:
    return await session.get(PendingInput, user_id)


async def clear(session: AsyncSession, user_id: int) -> None:
    await session.execute(delete(PendingInput).where(PendingInput.telegram_user_id == user_id))
