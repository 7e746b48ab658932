"""The update inbox: its table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from storage.engine import SessionFactory
from storage.repositories import inbox
from storage.repositories.inbox import Kept

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _kept(update_id: int, text: str = "hello") -> Kept:
    return Kept(update_id, json.dumps({"update_id": update_id, "text": text}))


async def _rows(sessions: SessionFactory) -> dict[int, str]:
    async with sessions() as session:
        return {kept.update_id: kept.payload for kept in await inbox.pending(session)}


async def test_kept_updates_come_back_oldest_first_and_a_second_copy_changes_nothing(
    sessions: SessionFactory,
) -> None:
    async with sessions() as session, session.begin():
        await inbox.keep(session, [_kept(12), _kept(10)], NOW)
    async with sessions() as session, session.begin():
        await inbox.keep(session, [_kept(10, "again"), _kept(11)], NOW)
        await inbox.keep(session, [], NOW)
    async with sessions() as session:
        kept = await inbox.pending(session)
    assert [k.update_id for k in kept] == [10, 11, 12]
    assert json.loads(kept[0].payload)["text"] == "hello"


async def test_processed_updates_are_removed_and_unknown_ids_ignored(
    sessions: SessionFactory,
) -> None:
    async with sessions() as session, session.begin():
        await inbox.keep(session, [_kept(1), _kept(2), _kept(3)], NOW)
    async with sessions() as session, session.begin():
        assert await inbox.remove(session, [1, 3, 99]) == 2
        assert await inbox.remove(session, []) == 0
    assert list(await _rows(sessions)) == [2]


async def test_purge_drops_only_rows_received_before_the_limit(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        await inbox.keep(session, [_kept(1)], NOW - timedelta(days=2))
        await inbox.keep(session, [_kept(2)], NOW - timedelta(hours=1))
    async with sessions() as session, session.begin():
        assert await inbox.purge(session, NOW - timedelta(days=1)) == 1
    assert list(await _rows(sessions)) == [2]
