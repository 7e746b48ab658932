"""Two bot processes, one database: the roles, the per-person lock, the SQLite guard.

Each `Replicas` (or engine) here stands for one process: it has connections of its own. The
real processes, killed mid-broadcast, are in `tests/e2e/test_two_processes.py`.
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import refresh_people
from bot.config import Settings
from bot.flows.catalogue import load_catalogue
from bot.rendering import Renderer
from bot.replicas import AlreadyRunning, Replicas, SqliteLock
from bot.services import Services
from locales import Translator
from storage import locks
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.repositories import facilitators

ROOT = Path(__file__).resolve().parent.parent
pg_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pg_only
async def test_one_person_waits_for_their_own_transaction_in_another_process_only(
    database_url: str, sessions: SessionFactory
) -> None:
    other_engine = create_engine(database_url)
    others = create_session_factory(other_engine)
    try:
        async with sessions.begin() as first:
            await locks.lock_person(first, 42)
            same = asyncio.ensure_future(_locked_transaction(others, 42))
            different = await asyncio.wait_for(_locked_transaction(others, 43), timeout=5)
            assert different == "done"
            await asyncio.sleep(0.3)
            assert not same.done()  # the same person's update waits for this transaction
        assert await asyncio.wait_for(same, timeout=5) == "done"
    finally:
        await other_engine.dispose()


async def _locked_transaction(sessions: SessionFactory, user_id: int) -> str:
    async with sessions.begin() as session:
        await locks.lock_person(session, user_id)
    return "done"


async def test_sqlite_needs_no_lock_and_every_role_is_this_process(
    sessions: SessionFactory, engine: AsyncEngine
) -> None:
    async with sessions.begin() as session:
        await locks.lock_person(session, 42)  # a no-op on SQLite, a lock on PostgreSQL
    if engine.dialect.name != "sqlite":
        return
    replicas = Replicas(engine)
    await replicas.start()
    assert replicas.runs_scheduler and await replicas.may_poll()
    assert replicas.instance is None
    await replicas.close()


@pg_only
async def test_one_scheduler_and_one_poller_and_the_other_takes_over_when_it_stops(
    database_url: str, engine: AsyncEngine
) -> None:
    other_engine = create_engine(database_url)
    woken: list[str] = []
    first = Replicas(engine, check_seconds=3600)
    second = Replicas(other_engine, on_scheduler=lambda: woken.append("tick"), check_seconds=3600)
    try:
        await first.start()
        await second.start()
        assert first.instance != second.instance
        assert (first.runs_scheduler, second.runs_scheduler) == (True, False)
        assert await first.may_poll()
        assert not await second.may_poll()  # the standby waits instead of polling
        await second.check()
        assert (second.runs_scheduler, second.polls) == (False, False)
        # A facilitator's "send now" in the standby reaches the process that runs the scheduler.
        ticks: list[str] = []
        first._on_scheduler = lambda: ticks.append("tick")
        await second.wake_scheduler()
        await _until(lambda: ticks == ["tick"])
        await first.close()  # the first process stops (a kill closes the connection the same)
        await second.check()
        assert (second.runs_scheduler, second.polls) == (True, True)
        assert woken == ["tick"]  # a takeover ticks at once
    finally:
        await first.close()
        await second.close()
        await other_engine.dispose()


@pg_only
async def test_a_lost_connection_stops_the_scheduler_and_comes_back(engine: AsyncEngine) -> None:
    replicas = Replicas(engine, check_seconds=3600)
    try:
        await replicas.start()
        assert await replicas.may_poll() and replicas.runs_scheduler
        async with engine.begin() as admin:  # the server drops the roles connection
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                    "'advisory' AND classid = :space AND objid = :role"
                ),
                {"space": locks.NAMESPACE, "role": locks.SCHEDULER},
            )
        await replicas.check()
        # No scheduler without its lock; polling goes on until another process is seen to
        # poll (when the database is down for everyone, people are still answered).
        assert (replicas.runs_scheduler, replicas.polls) == (False, True)
        await replicas.check()
        assert (replicas.runs_scheduler, replicas.polls) == (True, True)
    finally:
        await replicas.close()


async def _until(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 (a callback from the database, not an event)
            await asyncio.sleep(0.02)


def test_a_second_lock_on_one_sqlite_file_is_refused_with_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'codesign.db'}"
    first, second = SqliteLock.for_url(url), SqliteLock.for_url(url)
    assert first is not None and second is not None
    assert SqliteLock.for_url("sqlite+aiosqlite:///:memory:") is None
    assert SqliteLock.for_url("postgresql+asyncpg://u:p@h/db") is None
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning) as refused:
            second.acquire()
        message = str(refused.value)
        assert "\n" not in message and "codesign.db" in message and "PostgreSQL" in message
    finally:
        first.release()
    second.acquire()  # free again once the first let go
    second.release()


def test_a_second_bot_process_on_one_sqlite_file_refuses_to_start(tmp_path: Path) -> None:
    """The real `codesign-bot run`: the lock is taken before Telegram or the database."""
    database = tmp_path / "codesign.db"
    # The first bot process, as far as the lock goes: a child that holds it.
    script = (
        "import sys, time; from bot.replicas import SqliteLock; "
        "lock = SqliteLock.for_url(sys.argv[1]); lock.acquire(); print('held', flush=True); "
        "time.sleep(60)"
    )
    url = f"sqlite+aiosqlite:///{database}"
    first = subprocess.Popen(
        [sys.executable, "-c", script, url], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "held"
        env = {
            "PATH": "/usr/bin:/bin",
            "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN-abcdefghijklmnop",
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot",  # never reached
            "DATABASE_URL": url,
            "DATA_DIR": str(tmp_path / "data"),
            "ORGANISATION_NAME": "Care Together",
            "ORGANISATION_CONTACT": "team@care.example",
        }
        second = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 1
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1, second.stderr
    assert lines[0].startswith(f"another codesign-bot run (pid {first.pid}) is using")
    assert str(database) in lines[0]
    assert not (tmp_path / "data").exists()  # nothing started


@pg_only
async def test_a_facilitator_promoted_in_one_process_is_one_in_the_other_within_a_check(
    database_url: str, sessions: SessionFactory, engine: AsyncEngine
) -> None:
    catalogue = load_catalogue()
    services = Services(
        settings=Settings(telegram_bot_token="123456:TEST-TOKEN-abc", database_url=database_url),
        catalogue=catalogue,
        renderer=Renderer(Translator(), catalogue),
    )
    services.sessions = sessions
    replicas = Replicas(
        engine, refresh=functools.partial(refresh_people, services), check_seconds=0.05
    )
    await replicas.start()
    try:
        # /addfacilitator in the other process: only the table changes.
        async with sessions.begin() as session:
            await facilitators.promote(session, 7777, added_by=1, now=datetime.now(UTC))
        assert 7777 not in services.facilitators
        await _until(lambda: 7777 in services.facilitators)
    finally:
        await replicas.close()
