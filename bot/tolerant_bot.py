"""A python-telegram-bot `ExtBot` that never stalls on one update it cannot read.

Telegram adds fields to its API every few months. When python-telegram-bot fails to parse one
update of a `getUpdates` batch it raises for the whole batch, the Updater retries the same
offset forever and nobody is answered (and its CRITICAL log line dumps every update's
content). Here the batch is read update by update instead: an unreadable one is logged once
by id and reason, replaced by an empty update with the same id (so the offset moves past it),
and everyone else is answered as usual.

It is also where polling keeps each batch in the update inbox (`bot/inbox.py`) before
returning it: python-telegram-bot confirms a batch to Telegram with its next getUpdates, so the
batch is in the database before Telegram forgets it. And where a standby process (two bot
processes on one database, `bot/replicas.py`) waits instead of polling: Telegram serves one
getUpdates consumer at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.inbox import UpdateInbox
from bot.replicas import STANDBY_WAIT_SECONDS

log = logging.getLogger(__name__)


class _NoUpdateDump(logging.Filter):
    """Keeps what people wrote out of python-telegram-bot's own log lines, at every level.

    Its parse error dumps the whole batch at CRITICAL, and at DEBUG it logs the parameters
    and result of every call (message texts, answers shown in /review) and every update it
    processes: the endpoint and the update id alone are kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Error while parsing updates"):
            return False
        if message.startswith(("Calling Bot API endpoint", "Call to Bot API endpoint")):
            record.msg = "Bot API call `%s`"
            endpoint = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.args = (endpoint,)
        elif message.startswith(("Processing update", "Dropping pending update")):
            # The Application logs whole updates at DEBUG: their id is enough.
            update = record.args[0] if isinstance(record.args, tuple) and record.args else None
            record.msg = message.split("%", 1)[0] + "%s"
            record.args = (f"id {getattr(update, 'update_id', '?')}",)
        return True


class TolerantBot(ExtBot[None]):
    __slots__ = ("_inbox", "_may_poll", "_raw_updates")

    def __init__(
        self,
        *args: Any,
        inbox: UpdateInbox | None = None,
        may_poll: Callable[[], Awaitable[bool]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._raw_updates: list[Any] = []
        # Where each fetched batch is kept before it is returned (None: nowhere, as in PTB).
        self._inbox = inbox
        # Asked before each getUpdates; False: another process polls, wait and return nothing.
        self._may_poll = may_poll
        self._LOGGER.addFilter(_NO_DUMP)
        logging.getLogger("telegram.ext.Application").addFilter(_NO_DUMP)

    async def _post(
        self,
        endpoint: str,
        data: JSONDict | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> Any:
        result = await super()._post(
            endpoint,
            data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            api_kwargs=api_kwargs,
        )
        if endpoint == "getUpdates" and isinstance(result, list):
            self._raw_updates = result  # kept for `get_updates` if the batch will not parse
        return result

    async def get_updates(self, *args: Any, **kwargs: Any) -> tuple[Update, ...]:
        if self._may_poll is not None and not await self._may_poll():
            await asyncio.sleep(STANDBY_WAIT_SECONDS)
            return ()
        self._raw_updates = []
        try:
            updates = await super().get_updates(*args, **kwargs)
        except TelegramError:
            raise
        except Exception:
            updates = tuple(self._read(entry) for entry in self._raw_updates)
            for update in updates:
                self.insert_callback_data(update)
        if updates and self._inbox is not None:
            # Before returning: the Updater's next getUpdates confirms this batch to Telegram.
            await self._inbox.keep(self._raw_updates)
        return updates

    def read_update(self, entry: object) -> Update | None:
        """A raw update (from the inbox) as an Update, the way a fetched one is read; an
        unreadable one with an update id is an empty update, as in a batch."""
        if not isinstance(entry, dict) or not isinstance(entry.get("update_id"), int):
            return None
        update = self._read(entry)
        self.insert_callback_data(update)
        return update

    def _read(self, entry: Any) -> Update:
        try:
            update = Update.de_json(entry, self)
        except Exception as error:
            update_id = entry.get("update_id") if isinstance(entry, dict) else None
            if not isinstance(update_id, int):
                raise
            log.warning(
                "skipped update %d: it could not be read (%s)", update_id, type(error).__name__
            )
            return Update(update_id)
        return update


_NO_DUMP = _NoUpdateDump()
