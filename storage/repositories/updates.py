"""The idempotency ledger: Telegram re-delivers updates after a crash, keyed by update_id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


async def claim(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record the update as handled in this transaction; False if it already was."""
    if await session.get(ProcessedUpdate, update_id) is not None:
        return False
    session.add(ProcessedUpdate(update_id=update_id, processed_at=now))
    await session.flush()
    return True


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Telegram keeps undelivered updates for 24 hours; older ids can never come back."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
