"""The update inbox: updates taken from Telegram, kept until they have been processed.

An update is written here before Telegram learns that it arrived, and deleted once it has been
processed and answered, so the rows left after a crash are exactly the updates that may still
owe an effect or a reply. Rows are kept by update id, which Telegram hands out in order.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate

_TABLE = cast(Table, InboxUpdate.__table__)
# Built once per dialect, like the processed-updates claim: it runs on every batch.
_KEEP = {
    is_postgresql: (postgresql.insert if is_postgresql else sqlite.insert)(
        _TABLE
    ).on_conflict_do_nothing(index_elements=[_TABLE.c.update_id])
    for is_postgresql in (False, True)
}


@dataclass(frozen=True)
class Kept:
    """One update in the inbox: its id and the JSON Telegram sent."""

    update_id: int
    payload: str


async def keep(session: AsyncSession, updates: Sequence[Kept], now: datetime) -> None:
    """Add the updates; one already there (fetched again after a crash) stays as it was."""
    if not updates:
        return
    statement = _KEEP[session.get_bind().dialect.name == "postgresql"]
    await session.execute(
        statement,
        [
            {"update_id": kept.update_id, "payload": kept.payload, "received_at": now}
            for kept in updates
        ],
    )


async def pending(session: AsyncSession) -> list[Kept]:
    """Every update still in the inbox, oldest first."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload).order_by(InboxUpdate.update_id)
    )
    return [Kept(int(update_id), str(payload)) for update_id, payload in rows]


async def remove(session: AsyncSession, update_ids: Collection[int]) -> int:
    """Forget processed updates; ids that are not there are ignored."""
    if not update_ids:
        return 0
    result = await session.execute(
        delete(InboxUpdate).where(InboxUpdate.update_id.in_(sorted(update_ids)))
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def purge(session: AsyncSession, older_than: datetime) -> int:
    """Drop updates received before `older_than`: too old to act on, and personal data."""
    result = await session.execute(delete(InboxUpdate).where(InboxUpdate.received_at < older_than))
    return int(getattr(result, "rowcount", 0) or 0)
