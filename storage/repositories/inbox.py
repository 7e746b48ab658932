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

from sqlalchemy import ColumnElement, Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxUpdate

_TABLE = cast(Table, InboxUpdate.__table__)
# Built once per dialect, like the processed-updates claim: it runs on every batch. On
# PostgreSQL an update fetched again (by the process that took over polling) moves to it.
_PG_INSERT = postgresql.insert(_TABLE)
_KEEP = {
    False: sqlite.insert(_TABLE).on_conflict_do_nothing(index_elements=[_TABLE.c.update_id]),
    True: _PG_INSERT.on_conflict_do_update(
        index_elements=[_TABLE.c.update_id], set_={"claimed_by": _PG_INSERT.excluded.claimed_by}
    ),
}


@dataclass(frozen=True, order=True)
class Kept:
    """One update in the inbox: its id and the JSON Telegram sent."""

    update_id: int
    payload: str


async def keep(
    session: AsyncSession, updates: Sequence[Kept], now: datetime, owner: int | None = None
) -> None:
    """Add the updates, taken by `owner` (an instance id, None on SQLite). One already there
    (fetched again after a crash) keeps its payload; on PostgreSQL it becomes `owner`'s."""
    if not updates:
        return
    statement = _KEEP[session.get_bind().dialect.name == "postgresql"]
    await session.execute(
        statement,
        [
            {
                "update_id": kept.update_id,
                "payload": kept.payload,
                "received_at": now,
                "claimed_by": owner,
            }
            for kept in updates
        ],
    )


async def pending(session: AsyncSession) -> list[Kept]:
    """Every update still in the inbox, oldest first."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload).order_by(InboxUpdate.update_id)
    )
    return [Kept(int(update_id), str(payload)) for update_id, payload in rows]


async def owners(session: AsyncSession) -> list[int | None]:
    """The instances whose updates are in the inbox (None: rows nobody claimed)."""
    rows = await session.scalars(select(InboxUpdate.claimed_by).distinct())
    return list(rows)


async def take(
    session: AsyncSession, owner: int, from_owners: Collection[int | None]
) -> list[Kept]:
    """Make the rows of `from_owners` (stopped processes, None for unclaimed) `owner`'s and
    return them, oldest first. Another process taking the same rows at once waits for this
    transaction, and then finds them claimed by `owner` and takes nothing."""
    if not from_owners:
        return []
    named = sorted(o for o in from_owners if o is not None)
    condition: ColumnElement[bool] = InboxUpdate.claimed_by.in_(named)
    if None in from_owners:
        condition = or_(condition, InboxUpdate.claimed_by.is_(None))
    rows = await session.execute(
        update(InboxUpdate)
        .where(condition)
        .values(claimed_by=owner)
        .returning(InboxUpdate.update_id, InboxUpdate.payload)
        .execution_options(synchronize_session=False)
    )
    return sorted(Kept(int(update_id), str(payload)) for update_id, payload in rows)


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
