"""Telegram's side of a webhook: post each queued update to the bot until it answers 2xx.

The fake server only records a webhook (``setWebhook``). :class:`WebhookDelivery` posts its
queued updates the way Telegram does: to ``target`` (the bot's own address; in production the
public https URL of ``setWebhook`` is a proxy in front of it), with the
``X-Telegram-Bot-Api-Secret-Token`` header of ``setWebhook``. An update leaves the queue only
when the bot answered 2xx; a refused connection, another status or a timeout leaves it queued,
and it is posted again ``retry_delay`` seconds later (Telegram waits longer, and longer each
time). One update per chat is in flight at a time, lowest id first, so one person's updates
arrive in order, and at most ``max_connections`` at once (Telegram's default is 40)::

    async with WebhookDelivery(server, f"http://127.0.0.1:{port}/telegram"):
        user.send_text("hello")  # posted to the bot as soon as a webhook is set
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from types import TracebackType
from typing import Self

import aiohttp

from .records import JSONDict, QueuedUpdate
from .server import FakeBotApi

__all__ = ["WebhookDelivery"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def chat_of(update: JSONDict) -> object:
    """The chat (or user) an update belongs to, for one-at-a-time delivery per chat."""
    for kind in ("message", "edited_message", "channel_post"):
        body = update.get(kind)
        if isinstance(body, dict):
            return (body.get("chat") or {}).get("id")
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        return (callback.get("from") or {}).get("id")
    return update.get("update_id")


class WebhookDelivery:
    def __init__(
        self,
        server: FakeBotApi,
        target: str,
        *,
        max_connections: int = 40,
        retry_delay: float = 0.5,
        timeout: float = 15.0,
    ) -> None:
        self.server = server
        self.target = target
        self.max_connections = max_connections
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.posts = 0  # requests made
        self.failures = 0  # of which not answered 2xx (refused, 5xx, timed out)
        self._in_flight: dict[int, object] = {}  # update id -> chat
        self._not_before: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._posting: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Self:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tasks = [task for task in (self._task, *self._posting) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _ready(self, now: float) -> list[QueuedUpdate]:
        busy = set(self._in_flight.values())
        chosen: list[QueuedUpdate] = []
        for item in self.server.webhook_queue():
            if len(self._in_flight) + len(chosen) >= self.max_connections:
                break
            chat = chat_of(item.update)
            if item.update_id in self._in_flight or chat in busy:
                continue
            busy.add(chat)  # later updates of this chat wait for this one
            if self._not_before.get(item.update_id, 0.0) > now:
                continue
            chosen.append(item)
        return chosen

    async def _run(self) -> None:
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout)
        ) as client:
            while True:
                if self.server.webhook_url:
                    for item in self._ready(time.monotonic()):
                        self._in_flight[item.update_id] = chat_of(item.update)
                        task = asyncio.ensure_future(self._post(client, item))
                        self._posting.add(task)
                        task.add_done_callback(self._posting.discard)
                # Woken by a new update or a finished post; a retry comes due by itself.
                await self.server._wait_changed(self.retry_delay / 2)

    async def _post(self, client: aiohttp.ClientSession, item: QueuedUpdate) -> None:
        self.posts += 1
        accepted = False
        try:
            headers = {SECRET_HEADER: self.server.webhook_secret}
            with contextlib.suppress(aiohttp.ClientError, TimeoutError, OSError):
                async with client.post(self.target, json=item.update, headers=headers) as reply:
                    accepted = 200 <= reply.status < 300
        finally:
            self._in_flight.pop(item.update_id, None)
            if accepted:
                self._not_before.pop(item.update_id, None)
                self.server.webhook_confirm(item.update_id)
            else:
                self.failures += 1
                self._not_before[item.update_id] = time.monotonic() + self.retry_delay
                self.server._signal_change()
