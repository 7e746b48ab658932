"""The idempotency ledger: Telegram re-delivers updates after a crash, keyed by update_id."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ProcessedUpdate

# Built once (per dialect): this runs on every update, and a reused statement also keeps its
# cache key, which SQLAlchemy otherwise recomputes each time.
# On the table, not the mapped class: with its parameters given apart, an ORM insert would be
# an ORM "bulk" insert, which reports no row count.
_TABLE = cast(Table, ProcessedUpdate.__table__)
_CLAIM = {
    is_postgresql: (postgresql.insert if is_postgresql else sqlite.insert)(_TABLE)
    .values(update_id=bindparam("update_id"), processed_at=bindparam("processed_at"))
    .on_conflict_do_nothing(index_elements=[_TABLE.c.update_id])
    for is_postgresql in (False, True)
}


async def claim(session: AsyncSession, update_id: int, now: datetime) -> bool:
    """Record the update as handled in this transaction; False if it already was.

    One `INSERT ... ON CONFLICT DO NOTHING` rather than a look-up and an insert: it runs on
    every update, and when two deliveries of one update race, PostgreSQL makes the second
    wait for the first to commit and then inserts nothing, so the loser simply gets False.
    """
    statement = _CLAIM[session.get_bind().dialect.name == "postgresql"]
    result = await session.execute(statement, {"update_id": update_id, "processed_at": now})
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def prune(session: AsyncSession, older_than: datetime) -> int:
    """Telegram keeps undelivered updates for 24 hours; older ids can never come back."""
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)
