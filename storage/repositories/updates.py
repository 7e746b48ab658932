"""The idempotency ledger: Telegram re-delivers updates after a crash, keyed by update_id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate


async def claim(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record the update as handled in this transaction; False if it already was.

    One `INSERT ... ON CONFLICT DO NOTHING` rather than a look-up and an insert: it runs on
    every update, and when two deliveries of one update race, PostgreSQL makes the second
    wait for the first to commit and then inserts nothing, so the loser simply gets False.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(ProcessedUpdate)
        .values(update_id=update_id, processed_at=now)
        .on_conflict_do_nothing(index_elements=[ProcessedUpdate.update_id])
    )
    result = await session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Telegram keeps undelivered updates for 24 hours; older ids can never come back."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
