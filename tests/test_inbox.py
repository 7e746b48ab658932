"""The update inbox: its table, and the bot's side of it (keep, finish, fall back)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update

from bot.inbox import UpdateInbox
from bot.tolerant_bot import TolerantBot
from storage import locks
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.models import InboxUpdate
from storage.repositories import inbox
from storage.repositories.inbox import Kept
from tests.fake_telegram import FakeBotApi, FakeUser

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"


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


async def test_finished_updates_leave_the_inbox_in_one_batch(sessions: SessionFactory) -> None:
    from telegram import Update

    box = UpdateInbox(lambda: sessions, lambda: NOW)
    assert await box.keep([{"update_id": n, "message": {}} for n in (5, 6, 7)])
    assert await box.keep([{"no": "update id"}, "junk"])  # nothing to keep: fine
    for update_id in (5, 7):
        box.finished(Update(update_id))
    box.finished("not an update")
    await box.close()
    assert list(await _rows(sessions)) == [6]


async def test_when_the_database_refuses_updates_pass_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from telegram import Update

    # A directory where the database file should be: every connection fails.
    (tmp_path / "db").mkdir()
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'db'}")
    try:
        box = UpdateInbox(lambda: create_session_factory(engine), lambda: NOW)
        with caplog.at_level(logging.WARNING):
            assert not await box.keep([{"update_id": 1, "message": {"text": "secret words"}}])
            box.finished(Update(1))
            box.finished(Update(2))
            await box.flush()
            box.finished(Update(3))
            await box.flush()
    finally:
        await engine.dispose()
    assert [r.getMessage()[:40] for r in caplog.records] == [
        "could not keep 1 update(s) in the inbox ",
        "could not remove 2 processed update(s) f",
    ]
    assert "secret words" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


async def test_polling_keeps_a_batch_before_returning_it(sessions: SessionFactory) -> None:
    """The Updater confirms a batch with its next getUpdates: by then it is in the database,
    the update that cannot be read included (as Telegram sent it)."""
    box = UpdateInbox(lambda: sessions, lambda: NOW)
    async with FakeBotApi() as server:
        user = FakeUser(server, 4242)
        first = user.send_text("Time to talk it through")
        unreadable = server.push_update({"message": {"date": "not a date", "chat": 5}})
        bot = TolerantBot(TOKEN, base_url=server.api_url, inbox=box)
        async with bot:
            updates = await bot.get_updates(timeout=0)
            rows = await _rows(sessions)
            assert [u.update_id for u in updates] == [first["update_id"], unreadable]
            assert updates[1].message is None  # read as an empty update, as before
            assert list(rows) == [first["update_id"], unreadable]
            assert json.loads(rows[first["update_id"]]) == first
            assert bot.read_update(json.loads(rows[first["update_id"]])) == updates[0]
            assert bot.read_update("junk") is None
            # Fetched again (not confirmed yet): kept once. Confirmed: nothing more comes.
            assert len(await bot.get_updates(timeout=0)) == 2
            assert await bot.get_updates(offset=unreadable + 1, timeout=0) == ()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 2


# ------------------------------------------------------- two bot processes (PostgreSQL only)


class _Processing:
    """Just enough of an Application for `adopt`: records the updates it processes."""

    def __init__(self) -> None:
        self.processed: list[int] = []
        self.update_processor = self

    async def process_update(self, update: object, coroutine: Any = None) -> None:
        if coroutine is not None:
            await coroutine
        else:
            assert isinstance(update, Update)
            self.processed.append(update.update_id)


def _read(raw: object) -> Update | None:
    return Update(raw["update_id"]) if isinstance(raw, dict) else None


async def _owners(sessions: SessionFactory) -> dict[int, int | None]:
    async with sessions() as session:
        rows = await session.execute(select(InboxUpdate.update_id, InboxUpdate.claimed_by))
        return {int(update_id): owner for update_id, owner in rows}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_only_the_updates_of_a_process_that_is_gone_are_taken_over(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    live, dead, me = 101, 102, 103
    box = UpdateInbox(lambda: sessions, lambda: NOW)
    box.owner = me
    application = _Processing()
    async with engine.connect() as live_process:
        assert await locks.try_instance(live_process, live)
        await live_process.commit()
        async with sessions.begin() as session:
            await inbox.keep(session, [_kept(1)], NOW, live)
            await inbox.keep(session, [_kept(2)], NOW, dead)
            await inbox.keep(session, [_kept(3)], NOW)  # kept before two processes were possible
        # While running: the dead process's update only (the unclaimed one may be an older
        # version's, still at work).
        assert await box.adopt(application, _read) == 1  # type: ignore[arg-type]
        assert application.processed == [2]
        # At start: the unclaimed one too; never the live process's.
        assert await box.replay(application, _read) == 1  # type: ignore[arg-type]
        assert application.processed == [2, 3]
        assert await _owners(sessions) == {1: live, 2: me, 3: me}
        await live_process.invalidate()  # closed, not back to the pool with its lock
    # The live process stopped (its connection, and so its lock, went): its update is taken.
    assert await box.adopt(application, _read) == 1  # type: ignore[arg-type]
    assert application.processed == [2, 3, 1]
    assert await box.adopt(application, _read) == 0  # type: ignore[arg-type]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_an_update_fetched_again_by_another_process_becomes_its(
    sessions: SessionFactory,
) -> None:
    async with sessions.begin() as session:
        await inbox.keep(session, [_kept(7)], NOW, 1)
    async with sessions.begin() as session:
        await inbox.keep(session, [_kept(7, "again")], NOW, 2)
    assert await _owners(sessions) == {7: 2}
    assert json.loads((await _rows(sessions))[7])["text"] == "hello"
