"""Concurrent across people, strictly in order for one person.

Two taps from the same participant must never race on their stored position; different
participants must not wait for each other. python-telegram-bot's update-processor hook is the
supported place for this policy. It is also where an update is known to be finished (its
handler returned, the reply included), which the update inbox is told (`on_finished`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserUpdateProcessor(BaseUpdateProcessor):
    __slots__ = ("_locks", "_on_finished", "_waiters")

    def __init__(
        self,
        max_concurrent_updates: int = 64,
        on_finished: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiters: dict[int, int] = {}
        self._on_finished = on_finished

    @staticmethod
    def _key(update: object) -> int | None:
        if isinstance(update, Update):
            if update.effective_user is not None:
                return update.effective_user.id
            if update.effective_chat is not None:
                return update.effective_chat.id
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        finished = False
        try:
            await self._in_order(update, coroutine)
            finished = True
        except Exception:
            finished = True  # it failed for good (the error handler has told the person)
            raise
        finally:
            # Not when cancelled (a stop that would not wait): the update has not finished,
            # and stays in the inbox to be processed at the next start.
            if finished and self._on_finished is not None:
                self._on_finished(update)

    async def _in_order(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = self._key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiters[key] = self._waiters.get(key, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiters[key] -= 1
            if self._waiters[key] == 0:
                # Forget idle users so the table does not grow with every person ever seen.
                del self._waiters[key]
                del self._locks[key]

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None
