"""The Telegram side of the load benchmark: the tests' fake Bot API, indexed per chat.

Kept apart from the people and the processes because it is what they both talk to, and
because bench/crash.py and tests/e2e/test_two_processes.py reuse `LoadServer` on its own: its
per-chat indexes are what makes hundreds of simultaneous people affordable for the fake server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fake_telegram import BotMessage, FakeBotApi, UploadedFile

# What a reply is: something the person sees appear or change in their chat.
SENDS = frozenset({"sendmessage", "senddocument", "sendphoto"})
TEXT_EDITS = frozenset({"editmessagetext", "editmessagecaption"})
REPLY_METHODS = SENDS | TEXT_EDITS | {"editmessagereplymarkup"}


@dataclass(frozen=True)
class Reply:
    """A send or edit the bot made in a chat, when the server recorded it."""

    time: float
    method: str
    text: str | None  # the message's text right after this send or edit

    @property
    def shows_text(self) -> bool:
        """A new message or new text, not only a keyboard change."""
        return self.method in SENDS or self.method in TEXT_EDITS


class LoadServer(FakeBotApi):
    """The tests' fake Bot API, with per-chat indexes so 200 people do not cost O(n²).

    The base class finds a chat's messages by scanning every message ever sent, and wakes
    every waiter on every request; fine for a test with three people, not for hundreds. This
    keeps each chat's messages and replies (with the time each was recorded) in its own list
    and wakes only the person whose chat changed.
    """

    def __init__(self) -> None:
        super().__init__(username="codesign_load_bot")
        self._by_chat: dict[int, list[BotMessage]] = {}
        self._by_id: dict[tuple[int, int], BotMessage] = {}
        self._indexed = 0
        self._replies: dict[int, list[Reply]] = {}
        self._events: dict[int, asyncio.Event] = {}

    def _sync_index(self) -> None:
        if self._indexed == len(self.messages):
            return
        for message in self.messages[self._indexed :]:
            self._by_chat.setdefault(message.chat_id, []).append(message)
            self._by_id[(message.chat_id, message.message_id)] = message
        self._indexed = len(self.messages)

    def messages_to(self, chat_id: int, *, include_deleted: bool = True) -> list[BotMessage]:
        self._sync_index()
        messages = self._by_chat.get(chat_id, [])
        return [m for m in messages if include_deleted or not m.deleted]

    def find_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        self._sync_index()
        return self._by_id.get((chat_id, message_id))

    async def _dispatch(
        self, key: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        result = await super()._dispatch(key, params, files)
        chat_id = params.get("chat_id")
        if key in REPLY_METHODS and isinstance(chat_id, int) and isinstance(result, dict):
            message = self.find_message(chat_id, int(result.get("message_id", 0)))
            text = message.text if message is not None else None
            self._replies.setdefault(chat_id, []).append(Reply(time.monotonic(), key, text))
            event = self._events.get(chat_id)
            if event is not None:
                event.set()
        return result

    def reply_count(self, chat_id: int) -> int:
        return len(self._replies.get(chat_id, ()))

    async def wait_reply(
        self, chat_id: int, start: int, wanted: Callable[[Reply], bool], timeout: float
    ) -> tuple[Reply, Reply]:
        """The first reply in the chat after index `start`, and the first one `wanted`."""
        event = self._events.setdefault(chat_id, asyncio.Event())
        async with asyncio.timeout(timeout):
            while True:
                event.clear()
                replies = self._replies.get(chat_id, [])
                for reply in replies[start:]:
                    if wanted(reply):
                        return replies[start], reply
                await event.wait()

    def api_errors(self) -> int:
        """Calls the server refused (a 409 for a superseded long poll is not an error)."""
        return sum(
            1
            for request in self.requests
            if request.status not in (200, 499, None)
            and not (request.method == "getUpdates" and request.status == 409)
        )
