"""At-least-once processing: an update is in the database before Telegram forgets it.

Telegram forgets an update once the bot confirms it: in polling mode by asking for the next
batch (a getUpdates with a higher offset), in webhook mode by answering 200. python-telegram-bot
confirms a batch as soon as it is in its in-memory queue, so whatever was waiting there or being
processed when the process died (a kill -9, a power cut, the OOM killer) was lost for good.

- Keep: `TolerantBot.get_updates` keeps each batch here, in one transaction, before it returns
  it (so before the next getUpdates confirms it); the webhook keeps an update before it
  answers 200. When the database refuses, the update is processed all the same (it fails there
  too, and the person is told to try again, as before) and a warning says so.
- Finish: the update processor reports each update once it has been processed, its reply
  included. Its row goes with the next update's transaction (`run_once` takes the finished
  ids: one more statement there, no transaction of its own), or, when no update comes within
  `RIDE_ALONG_SECONDS`, in a DELETE of its own. On SQLite, whose one connection every update
  queues for, a DELETE of its own would wait behind all of them, and the rows of updates long
  answered would be replayed after a crash.
- Replay: at start, before any new update is taken, the updates still here are processed
  again, oldest first, through the same update processor (one person's in order). One that was
  never processed is processed as usual. One whose effect was stored (its id is in the
  processed-updates table, so nothing changes twice) may not have been answered:
  `was_replayed` tells the handler, which then shows the person where they are, once. A plain
  re-delivery by Telegram of an update already answered stays silent.

Rows older than `MAX_AGE` are dropped at start, with a warning of how many. Processing each
update in the same transaction as its effect and deleting its row afterwards is what makes the
effect exactly-once and the reply at-least-once; a crash between the reply and the DELETE makes
the person see their current step once more.

Two bot processes on one PostgreSQL database (`bot/replicas.py`): each row is claimed by the
instance that kept it (`owner`, `claimed_by`). Replay at start takes only rows nobody claimed
and those of processes that are gone (their instance lock is free), never a live process's;
while running, each process also takes over the rows of a process that died (`adopt`), within
seconds. On SQLite (one process) every row is this process's.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application

from storage import locks
from storage.engine import SessionFactory
from storage.repositories import inbox

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
# Telegram itself keeps an unconfirmed update for 24 hours.
MAX_AGE = timedelta(days=1)
# How long the row of a finished update waits for the next update's transaction to take it.
RIDE_ALONG_SECONDS = 0.05
# Ids of finished updates waiting for their DELETE while the database is away: beyond this,
# the oldest are forgotten (their rows are then replayed once at the next start, harmlessly).
MAX_UNREMOVED = 10_000


def update_id_of(entry: object) -> int | None:
    """The update id of a raw update from Telegram, if it has one."""
    if isinstance(entry, dict):
        update_id = entry.get("update_id")
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            return update_id
    return None


class UpdateInbox:
    """The `update_inbox` table seen from the bot: keep, finish, replay."""

    def __init__(
        self, sessions: Callable[[], SessionFactory], clock: Callable[[], datetime]
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._finished: dict[int, None] = {}  # ordered, so the oldest can be forgotten
        self._removing: asyncio.Task[None] | None = None
        self._replaying: set[int] = set()
        self._failing = False
        # This process's instance id (PostgreSQL, `bot/replicas.py`); None: the only process.
        self.owner: int | None = None

    # ------------------------------------------------------------------ keep

    async def keep(self, entries: Sequence[object]) -> bool:
        """Store raw updates (as Telegram sent them) in one transaction; False if it failed."""
        kept = [
            inbox.Kept(update_id, json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
            for entry in entries
            if (update_id := update_id_of(entry)) is not None
        ]
        if not kept:
            return True
        try:
            async with self._sessions()() as session, session.begin():
                await inbox.keep(session, kept, self._clock(), self.owner)
        # Whatever the driver raises (a refused connection is not always wrapped): the updates
        # are processed without the inbox, as before it existed. Only the kind is logged.
        except Exception as error:
            log.warning(
                "could not keep %d update(s) in the inbox (%s): they are processed all the "
                "same, but a crash before they are done would lose them",
                len(kept),
                type(error).__name__,
            )
            return False
        return True

    # ------------------------------------------------------------------ finish

    def finished(self, update: object) -> None:
        """The update was processed and answered: its row goes (soon, in a batch)."""
        if not isinstance(update, Update):
            return
        self._finished[update.update_id] = None
        while len(self._finished) > MAX_UNREMOVED:
            del self._finished[next(iter(self._finished))]
        if self._removing is None or self._removing.done():
            self._removing = asyncio.get_running_loop().create_task(self._remove_finished())

    def take_finished(self) -> list[int]:
        """The finished updates whose rows the caller's transaction deletes (`remove_in`);
        `give_back` if it does not commit."""
        taken = list(self._finished)
        self._finished.clear()
        return taken

    def give_back(self, update_ids: Sequence[int]) -> None:
        for update_id in update_ids:
            self._finished.setdefault(update_id, None)

    async def remove_in(self, session: AsyncSession, update_ids: Sequence[int]) -> None:
        """Delete those rows in the caller's transaction."""
        if update_ids:
            await inbox.remove(session, update_ids)

    async def _remove_finished(self, wait: float = RIDE_ALONG_SECONDS) -> None:
        """Delete the rows of finished updates that no update's transaction took meanwhile."""
        while self._finished:
            if wait:
                await asyncio.sleep(wait)
            batch = self.take_finished()
            if not batch:
                return
            try:
                async with self._sessions()() as session, session.begin():
                    await inbox.remove(session, batch)
            except Exception as error:
                self.give_back(batch)
                if not self._failing:
                    log.warning(
                        "could not remove %d processed update(s) from the inbox (%s); "
                        "retried after the next update",
                        len(batch),
                        type(error).__name__,
                    )
                self._failing = True
                return
            self._failing = False

    async def flush(self) -> None:
        """Wait until the rows of every finished update are deleted (or the database refused)."""
        task = self._removing
        if task is not None:
            await task
        if self._finished:
            await self._remove_finished(wait=0)

    async def close(self) -> None:
        """Before the database closes: no finished update may be replayed at the next start."""
        await self.flush()

    # ------------------------------------------------------------------ replay

    async def replay(
        self, application: AnyApplication, read: Callable[[object], Update | None]
    ) -> int:
        """Process the updates a previous run kept and did not finish; returns how many.

        Call it once the database is open and before any new update is taken. `read` turns a
        raw update into an Update (None when it cannot be read: its row is dropped).
        """
        async with self._sessions()() as session, session.begin():
            dropped = await inbox.purge(session, self._clock() - MAX_AGE)
            rows = await self._claim(session, at_start=True)
        if dropped:
            log.warning("dropped %d update(s) older than a day from the inbox", dropped)
        return await self._process(application, read, rows, "taken before the bot last stopped")

    async def adopt(
        self, application: AnyApplication, read: Callable[[object], Update | None]
    ) -> int:
        """Process the updates another bot process kept and did not finish before it stopped
        (PostgreSQL; a no-op with one process). Returns how many."""
        if self.owner is None:
            return 0
        async with self._sessions()() as session, session.begin():
            rows = await self._claim(session, at_start=False)
        return await self._process(
            application, read, rows, "another bot process took and did not finish"
        )

    async def _claim(self, session: AsyncSession, *, at_start: bool) -> list[inbox.Kept]:
        """The rows this process should process again, made its own.

        Unclaimed rows (kept before two processes were possible) only at start: a process of
        an older version may still be working on them.
        """
        if self.owner is None:
            return await inbox.pending(session)
        gone: list[int | None] = []
        for owner in await inbox.owners(session):
            if owner is None:
                if at_start:
                    gone.append(None)
            elif owner != self.owner and await locks.instance_gone(session, owner):
                gone.append(owner)
        return await inbox.take(session, self.owner, gone)

    async def _process(
        self,
        application: AnyApplication,
        read: Callable[[object], Update | None],
        rows: Sequence[inbox.Kept],
        origin: str,
    ) -> int:
        if not rows:
            return 0
        updates: list[Update] = []
        for row in rows:
            update = _parse(row, read)
            if update is None:
                self._finished[row.update_id] = None
            else:
                updates.append(update)
        log.info("processing %d update(s) %s", len(updates), origin)
        replaying = {update.update_id for update in updates}
        self._replaying |= replaying
        processor = application.update_processor
        try:
            # Started in order: the per-person locks are taken in this order, so one person's
            # updates run oldest first, and different people's run side by side.
            await asyncio.gather(
                *(
                    processor.process_update(update, application.process_update(update))
                    for update in updates
                ),
                return_exceptions=True,
            )
        finally:
            self._replaying -= replaying
        await self.flush()
        return len(updates)

    def was_replayed(self, update_id: int) -> bool:
        """Whether this update is being processed again after the bot stopped, so its effect
        may be stored and its reply lost. True once per update: ask only when it matters."""
        if update_id in self._replaying:
            self._replaying.discard(update_id)
            return True
        return False


def _parse(row: inbox.Kept, read: Callable[[object], Update | None]) -> Update | None:
    try:
        update = read(json.loads(row.payload))
    except Exception:  # not JSON any more, or not an update: nothing to process
        update = None
    if update is None:
        log.warning("skipped update %d from the inbox: it could not be read", row.update_id)
    return update
