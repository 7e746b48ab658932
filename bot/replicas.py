"""Two bot processes, one database: who runs the scheduler, who polls, who is still alive.

PostgreSQL only; SQLite is one process (`SqliteLock` refuses a second `codesign-bot run` on
the same file), and there `Replicas` simply holds every role.

Each process keeps one connection of its own, the *roles connection*, for as long as it runs,
and holds session-level advisory locks on it (`storage/locks.py`). A lock goes when its
connection goes: a process killed with SIGKILL frees its locks at once (the kernel closes the
socket), a machine that vanishes within about 20 seconds (TCP keepalives set on the
connection). Every `CHECK_SECONDS` each process checks the connection and tries for the roles
it does not hold, so a survivor takes a dead process's role within seconds.

- *Instance*: a random id, held for life. Updates this process keeps in the inbox are claimed
  with it; another process replays them only once this lock is free (`UpdateInbox.adopt`).
- *Scheduler*: the process that holds it runs the scheduler's timer (due jobs, nudges,
  retention, alert retries). A takeover ticks at once. A process that loses its connection
  stops ticking until it has the lock again.
- *Poller* (polling mode): Telegram serves one getUpdates consumer at a time (a second gets
  409 Conflict), so polling processes are active and standby: `TolerantBot.get_updates` asks
  `may_poll`, and a standby waits instead of asking Telegram. Unlike the scheduler, a poller
  that loses its connection keeps polling until it sees that another process holds the lock:
  when the database is down for everyone, people are still told to try again. Webhook mode
  never asks, and every process takes updates.

Each check also reruns `refresh` (the facilitators promoted and the safeguarding leads in a
conversation, kept in memory) and `adopt` (the inbox of processes that are gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage import locks

log = logging.getLogger(__name__)

CHECK_SECONDS = 3.0
# A check that takes longer counts as a lost connection.
CHECK_TIMEOUT_SECONDS = 5.0
# How long a standby's getUpdates waits before it asks again whether it may poll.
STANDBY_WAIT_SECONDS = 2.0
# A dead peer is noticed by the server after idle + interval * count seconds.
_KEEPALIVES = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}
WAKE_CHANNEL = "codesign_bot_scheduler"


class AlreadyRunning(Exception):
    """Another `codesign-bot run` uses this SQLite database."""


class SqliteLock:
    """An exclusive lock on a file next to the SQLite database, for the life of the process.

    `flock` is released by the kernel when the process ends, however it ends (kill -9 too), so
    a stale lock file never blocks a start. The file holds the pid of its holder, for the
    message.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: TextIO | None = None

    @classmethod
    def for_url(cls, database_url: str) -> SqliteLock | None:
        """The lock for a SQLite file database; None for PostgreSQL or an in-memory one."""
        url = make_url(database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        database = Path(url.database)
        return cls(database.with_name(database.name + ".bot.lock"))

    def acquire(self) -> None:
        """Take the lock, or raise AlreadyRunning with one line that says what to do."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            database = self.path.name.removesuffix(".bot.lock")
            raise AlreadyRunning(
                f"another codesign-bot run (pid {holder}) is using the SQLite database "
                f"{self.path.parent / database}; SQLite takes one bot process: stop that one, "
                "or use PostgreSQL (DATABASE_URL) to run two"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases the flock
            self._file = None


def _nothing() -> None:
    return None


class Replicas:
    """This process among the bot processes that share one database (see the module)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        on_scheduler: Callable[[], None] = _nothing,
        refresh: Callable[[], Awaitable[None]] | None = None,
        adopt: Callable[[], Awaitable[object]] | None = None,
        check_seconds: float = CHECK_SECONDS,
    ) -> None:
        """`on_scheduler`: called when this process takes the scheduler over from another one
        (not for the first try at start), and when another process asks it to tick."""
        self._engine = engine
        self.shared = engine.dialect.name == "postgresql"
        # Random, so a new process never takes the id of a dead one whose rows wait.
        self.instance: int | None = 1 + secrets.randbelow(2**31 - 2) if self.shared else None
        self.runs_scheduler = not self.shared
        self.polls = not self.shared
        self._on_scheduler = on_scheduler
        self._refresh = refresh
        self._adopt = adopt
        self._check_seconds = check_seconds
        self._connection: AsyncConnection | None = None
        self._backend: tuple[int, Any] | None = None  # (pid, backend_start) of the connection
        self._held: set[str] = set()
        self._wants_poller = False
        self._started = False
        self._failing = False
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        """Take what can be taken now, then keep checking in the background."""
        if not self.shared:
            return
        await self.check()
        self._started = True
        if not self.runs_scheduler:
            log.info("another bot process runs the scheduler; this one takes over if it stops")
        self._task = asyncio.get_running_loop().create_task(self._keep_checking())

    async def close(self) -> None:
        """Give every role up (closing the connection frees its locks)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        async with self._lock:
            await self._drop_connection()
        self.runs_scheduler = self.polls = not self.shared

    async def _keep_checking(self) -> None:
        while True:
            await asyncio.sleep(self._check_seconds)
            await self.check()
            for name, work in (("refresh", self._refresh), ("inbox adoption", self._adopt)):
                if work is None:
                    continue
                try:
                    await work()
                except Exception as error:  # the database is away: the next check retries
                    log.debug("%s failed (%s)", name, type(error).__name__)

    # ------------------------------------------------------------------ roles

    async def may_poll(self) -> bool:
        """Whether this process may ask Telegram for updates now (polling mode)."""
        if not self.shared:
            return True
        if not self._wants_poller:
            self._wants_poller = True
            await self.check()
            if not self.polls:
                log.info("another bot process polls Telegram; this one stands by")
        return self.polls

    async def check(self) -> None:
        """Check the roles connection, and try for the roles not held (one at a time)."""
        async with self._lock:
            try:
                async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                    await self._check()
            except Exception as error:
                await self._lost(error)
            else:
                if self._failing:
                    log.info("the roles connection to the database is back")
                self._failing = False

    async def _check(self) -> None:
        if self._connection is None:
            self._connection = await self._connect()
            self._held = set()
        connection = self._connection
        assert self.instance is not None
        if "instance" not in self._held and await locks.try_instance(connection, self.instance):
            self._held.add("instance")
        backend = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        if self._backend is None or backend != self._backend[0]:
            # SQLAlchemy reconnected underneath: the locks of the old session are gone.
            raise ConnectionError("the roles connection was replaced")
        if "scheduler" not in self._held and await locks.try_role(connection, locks.SCHEDULER):
            self._held.add("scheduler")
            await self._listen(connection)
            self.runs_scheduler = True
            log.info("this bot process runs the scheduler")
            if self._started:
                self._on_scheduler()
        if self._wants_poller and "poller" not in self._held:
            if await locks.try_role(connection, locks.POLLER):
                self._held.add("poller")
                if not self.polls:
                    log.info("this bot process polls Telegram now")
                self.polls = True
            elif self.polls:
                log.warning("another bot process polls Telegram now; this one stands by")
                self.polls = False
        await connection.commit()

    async def _connect(self) -> AsyncConnection:
        connection = await self._engine.connect()
        try:
            for name, value in _KEEPALIVES.items():
                await connection.execute(text(f"SET {name} = {int(value)}"))
            row = (
                await connection.execute(
                    text(
                        "SELECT pg_backend_pid(), backend_start FROM pg_stat_activity "
                        "WHERE pid = pg_backend_pid()"
                    )
                )
            ).one()
            previous, self._backend = self._backend, (int(row[0]), row[1])
            if previous is not None:
                # Our old connection may still look alive to the server (a network cut): end
                # it, or it would keep our locks until the server's keepalives gave up.
                await connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE pid = :pid AND backend_start = :start"
                    ),
                    {"pid": previous[0], "start": previous[1]},
                )
            await connection.commit()
        except BaseException:
            await connection.close()
            raise
        return connection

    async def _listen(self, connection: AsyncConnection) -> None:
        """As the scheduler, tick when another process asks (`wake_scheduler`)."""
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        if driver is not None:
            await driver.add_listener(WAKE_CHANNEL, self._woken)

    def _woken(self, *_args: object) -> None:
        if self.runs_scheduler:
            self._on_scheduler()

    async def wake_scheduler(self) -> None:
        """Ask the process that runs the scheduler to tick now (a facilitator's "send now")."""
        if not self.shared or self.runs_scheduler:
            self._on_scheduler()
            return
        try:
            async with self._engine.begin() as connection:
                await connection.execute(
                    text("SELECT pg_notify(:channel, '')"), {"channel": WAKE_CHANNEL}
                )
        except Exception as error:  # its own timer sends it a little later
            log.warning("could not wake the scheduler (%s)", type(error).__name__)

    async def _lost(self, error: BaseException) -> None:
        if not self._failing:
            log.warning(
                "lost the roles connection to the database (%s); retrying every %.0f s",
                type(error).__name__,
                self._check_seconds,
            )
        self._failing = True
        if self.runs_scheduler:
            log.warning("this bot process stops running the scheduler until it is back")
        self.runs_scheduler = False
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        self._held = set()
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()
