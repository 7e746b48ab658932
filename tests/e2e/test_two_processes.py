"""Two bot processes, one PostgreSQL database: one is killed mid-broadcast, the other goes on.

Both are the real bot (`python -m bot run`, polling) against the fake Telegram server, as in
`test_crash_recovery.py`. The first to start runs the scheduler and polls; the second stands
by. A broadcast to 30 participants starts, and the process sending it is killed with SIGKILL
between two sends. The survivor takes the scheduler over within 30 seconds and finishes the
broadcast: everyone reachable has it exactly once, nobody unreachable has it, and it now
answers people too. (A kill while a message is in flight, between Telegram accepting it and
its row being marked sent, may repeat that one message: the outbox's documented at-least-once
window, the same with one process.)
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.load import Child, LoadServer, _child_env
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from storage.models import Delivery, JobState, Person, ScheduledJob
from storage.repositories import people, schedules, workshops
from tests.fake_telegram import FakeUser

pytestmark = [pytest.mark.e2e, pytest.mark.postgresql]

TOKEN = "123456:TWO-PROCESSES-abcdefghijklmnop"
FIRST_USER = 810_000
PEOPLE = 30
UNREACHABLE = {FIRST_USER + 3, FIRST_USER + 17}  # blocked the bot in an earlier job
BLOCKS_NOW = FIRST_USER + 11  # blocks the bot before this broadcast reaches them
TEXT = "The room has changed: we meet in room 4"
TAKEOVER_LIMIT = 30.0
START_TIMEOUT = 60.0
SCHEDULER_LINE = "this bot process runs the scheduler"
STANDBY_LINE = "another bot process polls Telegram; this one stands by"
POLLING_LINE = "this bot process polls Telegram now"


async def _wait(check: object, timeout: float, what: str, children: list[Child]) -> None:
    """Until `check()` is true; a bot that exits meanwhile fails the test with its log."""
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not await _call(check):
        for child in children:
            assert child.alive(), f"{child.name} exited:\n{child.log_tail()}"
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f}s\n" + "\n".join(
            f"--- {child.name}\n{child.log_tail()}" for child in children
        )
        await asyncio.sleep(0.02)


async def _call(check: object) -> bool:
    assert callable(check)
    result = check()
    if asyncio.iscoroutine(result):
        result = await result
    return bool(result)


def _logged(child: Child, line: str) -> bool:
    return line in child._log_text()


class TwoBots:
    def __init__(self, server: LoadServer, database_url: str, workdir: Path) -> None:
        self.server = server
        self.database_url = database_url
        self.workdir = workdir
        self.children: list[Child] = []

    async def start(self, name: str) -> Child:
        env = _child_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=self.server.api_url,
            DATABASE_URL=self.database_url,
            DATA_DIR=str(self.workdir / "data"),
            SCHEDULER_INTERVAL_SECONDS="1",
            # Four messages a second: a broadcast to 30 takes about 8 s, time to kill mid-way.
            TELEGRAM_RATE_LIMIT="4",
            LOG_LEVEL="INFO",
        )
        log = self.workdir / f"{name}.log"
        child = await Child.start(
            name, [sys.executable, "-m", "bot", "run"], env, Path(__file__).parents[2], log
        )
        self.children.append(child)
        return child

    async def stop(self) -> None:
        await asyncio.gather(*(child.stop() for child in self.children))


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _seed(sessions: SessionFactory) -> list[int]:
    now = datetime.now(UTC)
    ids = list(range(FIRST_USER, FIRST_USER + PEOPLE))
    async with sessions.begin() as session:
        workshop = await workshops.create(
            session, title="Replicas", scope=["h1"], languages=["en"]
        )
        for user_id in ids:
            person = await people.upsert_person(session, user_id, language="en")
            person.unreachable = user_id in UNREACHABLE
            await people.create_participant(
                session, user_id=user_id, workshop_id=workshop.id, position="q.h1.pr", now=now
            )
        workshop_id = workshop.id
    return [workshop_id, *ids]


async def _start_broadcast(sessions: SessionFactory, workshop_id: int) -> int:
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        job = await schedules.add(
            session,
            workshop_id=workshop_id,
            kind="broadcast",
            due_at=now,
            payload={"text": TEXT},
            now=now,
        )
        return job.id


async def _sent_rows(sessions: SessionFactory, job_id: int) -> int:
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.job_id == job_id, Delivery.state == "sent")
        )
    return int(count or 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_scheduler_process_killed_mid_broadcast_everyone_gets_it_once(
    sessions: SessionFactory, database_url: str, tmp_path: Path
) -> None:
    workshop_id, *ids = await _seed(sessions)
    reachable = [user_id for user_id in ids if user_id not in UNREACHABLE | {BLOCKS_NOW}]
    async with LoadServer() as server, contextlib.AsyncExitStack() as stack:
        bots = TwoBots(server, database_url, tmp_path)
        stack.push_async_callback(bots.stop)
        server.block(BLOCKS_NOW)
        first = await bots.start("first")
        await _wait(
            lambda: _logged(first, SCHEDULER_LINE) and server.calls("getUpdates"),
            START_TIMEOUT,
            "the first process polling and running the scheduler",
            bots.children,
        )
        second = await bots.start("second")
        await _wait(
            lambda: _logged(second, STANDBY_LINE),
            START_TIMEOUT,
            "the second process standing by",
            bots.children,
        )
        assert not _logged(second, SCHEDULER_LINE)

        def received() -> Counter[int]:
            return Counter(m.chat_id for m in server.messages if TEXT in (m.text or ""))

        job_id = await _start_broadcast(sessions, workshop_id)
        await _wait(lambda: sum(received().values()) >= 10, 30, "10 sends", bots.children)

        # Kill between two sends: once every message Telegram has is recorded as sent (the
        # next send is 250 ms away), not inside a send's own at-least-once window.
        async def between_sends() -> bool:
            return await _sent_rows(sessions, job_id) == sum(received().values())

        await _wait(between_sends, 10, "a moment between two sends", bots.children)
        first.process.kill()  # SIGKILL: no handler, no clean-up
        killed_at = time.monotonic()
        await first.process.wait()
        before = sum(received().values())
        assert before < len(reachable), "the broadcast ended before the kill"

        await _wait(
            lambda: _logged(second, SCHEDULER_LINE),
            TAKEOVER_LIMIT,
            "the survivor taking the scheduler over",
            [second],
        )
        takeover = time.monotonic() - killed_at
        assert takeover < TAKEOVER_LIMIT

        async def job_done() -> bool:
            async with sessions() as session:
                state = await session.scalar(
                    select(ScheduledJob.state).where(ScheduledJob.id == job_id)
                )
            return state == JobState.DONE

        await _wait(job_done, 40, "the rest of the broadcast", [second])
        async with sessions() as session:
            states = Counter(
                await session.scalars(select(Delivery.state).where(Delivery.job_id == job_id))
            )
            blocked = await session.get(Person, BLOCKS_NOW)
        # Exactly once each, nobody unreachable, the one who blocked us marked so.
        counts = received()
        assert sorted(counts) == reachable
        assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
        assert states == {"sent": len(reachable), "blocked": 1}
        assert blocked is not None and blocked.unreachable

        # The survivor polls Telegram now too: a person is answered.
        await _wait(lambda: _logged(second, POLLING_LINE), 20, "the survivor polling", [second])
        ana = FakeUser(server, FIRST_USER + 99, first_name="Ana")
        ana.send_command("/start")
        await _wait(lambda: bool(ana.inbox), 20, "an answer from the survivor", [second])
        print(
            f"takeover after {takeover:.1f} s; {before} of {len(reachable)} sent before the kill"
        )
    for child in bots.children:
        assert "Traceback (most recent call last)" not in child._log_text(), child.log_tail(60)
    # Nothing left running or pending.
    async with sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.state == "pending")
        )
    assert left == 0
