"""``ServerState``: everything the fake server records, and the primitives every area uses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque

from .errors import ApiError
from .records import (
    BotMessage,
    CallbackAnswer,
    Failure,
    JSONDict,
    QueuedUpdate,
    RecordedRequest,
    StoredFile,
)

__all__ = ["ServerState"]


class ServerState:
    """The state of a :class:`~tests.fake_telegram.server.FakeBotApi`, in one place.

    The method mixins (``methods_*.py``, ``updates.py``, ``faults.py``, ``inspection.py``)
    all derive from this class, so each of them sees the attributes set here and the few
    helpers below that several areas share.
    """

    def __init__(
        self,
        bot_id: int = 123456,
        username: str = "codesign_test_bot",
        *,
        first_name: str = "Codesign Test Bot",
        max_poll_timeout: float = 10.0,
        first_update_id: int = 1000,
        strict_chats: bool = False,
    ) -> None:
        self.bot_id = bot_id
        self.username = username
        self.first_name = first_name
        self.max_poll_timeout = max_poll_timeout
        self.strict_chats = strict_chats
        self.base_url = ""

        self.requests: list[RecordedRequest] = []
        self.messages: list[BotMessage] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.files: dict[str, StoredFile] = {}
        self.users: dict[int, JSONDict] = {}
        self.webhook_url = ""
        self.webhook_secret = ""
        # Updates discarded because the bot did not ask for their type (see allowed_updates).
        self.dropped_updates: list[JSONDict] = []

        self._updates: list[QueuedUpdate] = []
        self._next_update_id = first_update_id
        self._allowed_updates: list[str] | None = None
        self._callback_queries: dict[str, JSONDict] = {}
        self._message_ids: dict[int, int] = {}
        self._failures: dict[str, deque[Failure]] = {}
        self._blocked: set[int] = set()
        self._rate_per_second: float | None = None
        self._send_times: deque[float] = deque()
        self._counter = itertools.count(1)
        self._seq = itertools.count(1)
        self._changed = asyncio.Event()
        self._last_activity = time.monotonic()
        self._poll_generation = 0
        self._closing = False

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    def register_user(self, user: JSONDict) -> None:
        """Make a private chat with this user known (done by :class:`FakeUser`)."""
        self.users[int(user["id"])] = dict(user)

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by user and bot messages, as in Telegram."""
        value = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = value
        return value

    def chat_for(self, chat_id: int) -> JSONDict:
        """The Chat object Telegram would embed in messages to ``chat_id``."""
        user = self.users.get(chat_id)
        if user is not None:
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if user.get(key):
                    chat[key] = user[key]
            return chat
        if chat_id < 0:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}
        return {"id": chat_id, "type": "private", "first_name": "User"}

    # ------------------------------------------------------------------ lookups

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates pushed but not yet handed out by getUpdates."""
        return [item.update for item in self._updates if not item.delivered]

    def messages_to(self, chat_id: int, *, include_deleted: bool = True) -> list[BotMessage]:
        return [
            message
            for message in self.messages
            if message.chat_id == chat_id and (include_deleted or not message.deleted)
        ]

    def find_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        for message in reversed(self.messages):
            if message.chat_id == chat_id and message.message_id == message_id:
                return message
        return None

    # ------------------------------------------------------------------ change signal

    def _signal_change(self) -> None:
        """Wake everything waiting in :meth:`_wait_changed` (safe from synchronous code)."""
        fired, self._changed = self._changed, asyncio.Event()
        fired.set()

    async def _wait_changed(self, timeout: float) -> None:
        """Sleep until the next recorded change or until ``timeout`` seconds pass.

        Callers check their condition and then call this without awaiting in between, so on a
        single event loop no change can slip through unnoticed.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), max(timeout, 0.0))

    # ------------------------------------------------------------------ validation

    def _chat_id(self, params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise ApiError(400, "Bad Request: chat not found")
        if self.strict_chats and chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id
