"""An in-process fake of the Telegram Bot API HTTP server.

End-to-end tests need the *real* python-telegram-bot stack (HTTPX transport, request encoding,
long polling, error mapping) to run against something that behaves like Telegram, without
network access and without mocking PTB internals. :class:`FakeBotApi` is an aiohttp server on
127.0.0.1 that speaks the Bot API wire protocol, records everything the bot does, validates
requests the way Telegram does (message length, HTML, button data, "message is not modified")
and lets tests inject faults (flood control, blocked users).

Point PTB at it with ``base_url=server.api_url`` and ``base_file_url=server.file_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Self, TypeVar

from aiohttp import web

from ._html import HtmlParseError, parse_html, utf16_len

__all__ = [
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "FakeBotApi",
    "MessageVersion",
    "RecordedRequest",
    "StoredFile",
    "UploadedFile",
]

JSONDict = dict[str, Any]
T = TypeVar("T")

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
BLOCKED = "Forbidden: bot was blocked by the user"
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)

# Update types Telegram delivers when allowed_updates was never specified.
_DEFAULT_EXCLUDED_UPDATES = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)

# PTB sends every non-string value JSON-encoded inside form fields and strings verbatim, so the
# wire format alone cannot tell the text "123" from the number 123. These parameters are always
# strings and must never be decoded, whatever they look like.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "file_id",
        "action",
        "emoji",
        "title",
        "description",
        "short_description",
        "name",
        "query",
        "data",
        "secret_token",
        "language_code",
        "business_connection_id",
        "question",
        "address",
        "first_name",
        "last_name",
        "phone_number",
        "vcard",
        "document",
        "photo",
        "audio",
        "voice",
        "video",
        "animation",
        "video_note",
        "sticker",
        "thumbnail",
        "certificate",
        "ip_address",
        "custom_title",
        "invite_link",
        "message_effect_id",
        "payload",
        "currency",
        "start_parameter",
        "next_offset",
    }
)
# These are always JSON-serialised objects or arrays.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "results",
        "options",
        "explanation_entities",
        "question_entities",
        "permissions",
        "message_ids",
        "menu_button",
        "rights",
        "prices",
        "reaction",
        "button",
    }
)
_INT_RE = re.compile(r"-?\d+")
_FLOAT_RE = re.compile(r"-?\d+\.\d+")

_INLINE_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# Methods that only need to be acknowledged for a bot to start up.
_ACK_METHODS = (
    "setMyDescription",
    "setMyShortDescription",
    "setMyName",
    "setChatMenuButton",
    "setMyDefaultAdministratorRights",
)


class ApiError(Exception):
    """Raised inside method handlers to answer ``{"ok": false, ...}`` like Telegram does."""

    def __init__(
        self, error_code: int, description: str, parameters: JSONDict | None = None
    ) -> None:
        super().__init__(f"{error_code}: {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_body(self) -> JSONDict:
        body: JSONDict = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class UploadedFile(NamedTuple):
    """A file the bot uploaded; a tuple so tests can compare with ``("a.pdf", b"...")``."""

    filename: str
    data: bytes

    @property
    def content(self) -> bytes:
        """Alias of :attr:`data`."""
        return self.data


@dataclass
class StoredFile:
    """A file known to the fake server, downloadable through getFile and the file route."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    mime_type: str | None = None
    file_name: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    """One Bot API call as the server saw it (params already decoded to Python values)."""

    method: str
    params: JSONDict
    time: float
    files: dict[str, UploadedFile] = field(default_factory=dict)
    token: str = ""
    status: int | None = None
    response: JSONDict | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


MethodHandler = Callable[[JSONDict, dict[str, UploadedFile]], Any]
"""``handler(params, files)`` returning the ``result`` (may be a coroutine function)."""


class CallbackAnswer(NamedTuple):
    """An answerCallbackQuery call; a tuple so tests can compare with ``(id, text, alert)``."""

    callback_query_id: str
    text: str | None
    show_alert: bool


@dataclass
class MessageVersion:
    """The state of a :class:`BotMessage` before one of its edits."""

    text: str | None
    raw_text: str | None
    reply_markup: JSONDict | None
    parse_mode: str | None
    entities: list[JSONDict]
    time: float


def _flatten_buttons(markup: JSONDict | None) -> list[tuple[str, str | None]]:
    if not markup:
        return []
    result: list[tuple[str, str | None]] = []
    for row in markup.get("inline_keyboard", []):
        for button in row:
            value = button.get("callback_data")
            if value is None:
                value = button.get("url")
            if value is None and isinstance(button.get("web_app"), dict):
                value = button["web_app"].get("url")
            if value is None and isinstance(button.get("login_url"), dict):
                value = button["login_url"].get("url")
            result.append((button.get("text", ""), value))
    return result


@dataclass(eq=False)
class BotMessage:
    """Something the bot sent to a chat, kept up to date through edits and deletion.

    ``text`` is the plain text (HTML tags stripped, entities unescaped, or the caption for
    media), ``raw_text`` what the bot actually sent. ``edits`` holds earlier versions, oldest
    first, so tests can assert on the whole history of a message.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None
    raw_text: str | None
    reply_markup: JSONDict | None
    parse_mode: str | None
    document: UploadedFile | None = None
    photo: bytes | None = None
    entities: list[JSONDict] = field(default_factory=list)
    edits: list[MessageVersion] = field(default_factory=list)
    deleted: bool = False
    date: int = 0
    edit_date: int | None = None
    time: float = 0.0
    params: JSONDict = field(default_factory=dict)
    file: StoredFile | None = None
    seq: int = 0
    text_seq: int = 0

    # ``seq`` orders every change (send, edit, delete) across the server; ``text_seq`` only
    # moves when the text changes, so a keyboard-only edit does not look like new text.

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline buttons as ``(text, callback_data or url)``, row by row."""
        return _flatten_buttons(self.reply_markup)

    @property
    def button_texts(self) -> list[str]:
        return [text for text, _ in self.buttons]

    @property
    def keyboard_texts(self) -> list[str]:
        """Texts of a reply keyboard (``ReplyKeyboardMarkup``), row by row."""
        if not self.reply_markup:
            return []
        texts: list[str] = []
        for row in self.reply_markup.get("keyboard", []):
            for button in row:
                texts.append(button if isinstance(button, str) else button.get("text", ""))
        return texts

    @property
    def version(self) -> int:
        """How many times the message was edited; 0 for the original."""
        return len(self.edits)

    def snapshot(self) -> MessageVersion:
        return MessageVersion(
            text=self.text,
            raw_text=self.raw_text,
            reply_markup=copy.deepcopy(self.reply_markup),
            parse_mode=self.parse_mode,
            entities=copy.deepcopy(self.entities),
            time=time.monotonic(),
        )

    def describe(self) -> str:
        """One line for assertion messages."""
        flags = []
        if self.deleted:
            flags.append("deleted")
        if self.edits:
            flags.append(f"edited x{len(self.edits)}")
        if self.document is not None:
            flags.append(f"document={self.document.filename!r}")
        if self.photo is not None:
            flags.append(f"photo={len(self.photo)}B")
        extra = f" [{', '.join(flags)}]" if flags else ""
        buttons = f" buttons={self.button_texts}" if self.buttons else ""
        return (
            f"#{self.message_id} -> chat {self.chat_id} {self.method}: "
            f"{self.text!r}{buttons}{extra}"
        )


@dataclass
class _QueuedUpdate:
    update: JSONDict
    forced: bool
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])

    @property
    def kind(self) -> str:
        return next((key for key in self.update if key != "update_id"), "")


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None


def _decode_param(name: str, value: Any) -> Any:
    """Turn a form/query string back into the value the bot meant to send."""
    if not isinstance(value, str) or name in _STRING_PARAMS:
        return value
    if name in _JSON_PARAMS:
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if _INT_RE.fullmatch(value):
        return int(value)
    if _FLOAT_RE.fullmatch(value):
        return float(value)
    if value in {"true", "false"}:
        return value == "true"
    if value[:1] in {"{", "["}:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _default_description(error_code: int, retry_after: int | None) -> str:
    if error_code == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    return {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }.get(error_code, "Error")


class FakeBotApi:
    """Fake Telegram Bot API server bound to 127.0.0.1 on a free port.

    Everything lives on one event loop, so no locking is needed. Whenever something is
    recorded the server fires a change signal, so tests can wait for outcomes
    (:meth:`wait_for`, :meth:`wait_idle`) instead of sleeping. The signal is an
    :class:`asyncio.Event` that is swapped for a fresh one on every change rather than an
    :class:`asyncio.Condition`: :meth:`push_update` is synchronous, and a Condition can only be
    notified while its lock is held, which synchronous code cannot acquire.
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
        """Create the server (call :meth:`start` or use ``async with``).

        ``strict_chats`` makes sends to chats no :class:`FakeUser` registered fail with
        "chat not found", like Telegram does for users who never talked to the bot.
        """
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
        # Updates discarded because the bot did not ask for their type (see allowed_updates).
        self.dropped_updates: list[JSONDict] = []

        self._updates: list[_QueuedUpdate] = []
        self._next_update_id = first_update_id
        self._allowed_updates: list[str] | None = None
        self._callback_queries: dict[str, JSONDict] = {}
        self._message_ids: dict[int, int] = {}
        self._failures: dict[str, deque[_Failure]] = {}
        self._blocked: set[int] = set()
        self._rate_per_second: float | None = None
        self._send_times: deque[float] = deque()
        self._counter = itertools.count(1)
        self._seq = itertools.count(1)
        self._changed = asyncio.Event()
        self._last_activity = time.monotonic()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None

        self._methods: dict[str, tuple[str, MethodHandler]] = {}
        builtin: dict[str, MethodHandler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "deleteMessages": self._delete_messages,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "getFile": self._get_file,
            "close": self._ack,
            "logOut": self._ack,
        }
        for name in _ACK_METHODS:
            builtin[name] = self._ack
        for name, handler in builtin.items():
            self.add_method(name, handler)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and set :attr:`base_url`."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # handler_cancellation: when PTB drops a long poll (e.g. on Updater.stop), the handler
        # must die with the connection instead of later "delivering" updates to nobody.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._closing = False

    async def stop(self) -> None:
        """Answer pending long polls with ``[]`` and shut the server down."""
        self._closing = True
        self._signal_change()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """Value for PTB's ``base_url`` (the token is appended by PTB)."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """Value for PTB's ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }

    # ------------------------------------------------------------------ test controls

    def add_method(self, name: str, handler: MethodHandler) -> None:
        """Register (or override) a method; ``handler(params, files)`` returns the result.

        Lets a test support a method the fake does not know yet without editing this file.
        Raise :class:`ApiError` from the handler to answer with an error.
        """
        self._methods[name.lower()] = (name, handler)

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with this error.

        A 429 always carries ``parameters.retry_after`` (default 1) because that is what PTB
        turns into :class:`telegram.error.RetryAfter`.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        text = description or _default_description(error_code, retry_after)
        queue = self._failures.setdefault(method.lower(), deque())
        for _ in range(count):
            queue.append(_Failure(error_code, text, retry_after))

    def block(self, chat_id: int) -> None:
        """Every send/edit to ``chat_id`` now answers 403 "bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def is_blocked(self, chat_id: int) -> bool:
        return chat_id in self._blocked

    def rate_limit(self, per_second: float | None) -> None:
        """Global flood control on ``send*`` calls (sliding one-second window); None disables."""
        self._rate_per_second = per_second
        self._send_times.clear()

    def register_user(self, user: JSONDict) -> None:
        """Make a private chat with this user known (done by :class:`FakeUser`)."""
        self.users[int(user["id"])] = dict(user)

    def register_file(
        self,
        data: bytes,
        *,
        kind: str = "documents",
        extension: str = "bin",
        mime_type: str | None = None,
        file_name: str | None = None,
    ) -> StoredFile:
        """Store bytes under a fresh file_id so getFile and the download route can serve them."""
        number = next(self._counter)
        stored = StoredFile(
            file_id=f"FAKE-{kind}-{number:06d}-AgADBAADr6cxG",
            file_unique_id=f"AQAD{number:06d}",
            file_path=f"{kind}/file_{number}.{extension}",
            data=data,
            mime_type=mime_type,
            file_name=file_name,
        )
        self.files[stored.file_id] = stored
        return stored

    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat and shared by user and bot messages, as in Telegram."""
        value = self._message_ids.get(chat_id, 0) + 1
        self._message_ids[chat_id] = value
        return value

    def new_callback_query_id(self) -> str:
        return f"{next(self._counter) * 7919 + 4_000_000_000_000_000}"

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

    def message_dict(self, message: BotMessage) -> JSONDict:
        """``message`` as a Telegram Message object (what callback queries carry)."""
        result: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self.chat_for(message.chat_id),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.method == "sendMessage":
            result["text"] = message.text or ""
            if message.entities:
                result["entities"] = copy.deepcopy(message.entities)
        else:
            if message.text:
                result["caption"] = message.text
                if message.entities:
                    result["caption_entities"] = copy.deepcopy(message.entities)
            stored = message.file
            if stored is not None and message.method == "sendPhoto":
                result["photo"] = [
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "width": 320,
                        "height": 240,
                        "file_size": stored.file_size,
                    }
                ]
            elif stored is not None:
                document: JSONDict = {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size,
                }
                if stored.file_name:
                    document["file_name"] = stored.file_name
                if stored.mime_type:
                    document["mime_type"] = stored.mime_type
                result["document"] = document
        if message.reply_markup and message.reply_markup.get("inline_keyboard"):
            result["reply_markup"] = copy.deepcopy(message.reply_markup)
        return result

    # ------------------------------------------------------------------ updates

    def push_update(self, update: JSONDict) -> int:
        """Queue an update for getUpdates and return its update_id.

        A fresh increasing update_id is assigned unless the dict already carries one.
        """
        queued = copy.deepcopy(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(queued["update_id"]) + 1)
        self._enqueue(queued, forced=False)
        return int(queued["update_id"])

    def push_raw(self, update: JSONDict) -> int:
        """Deliver this exact update again, even if its update_id was already confirmed.

        Simulates Telegram re-delivering an update (e.g. after a bot crash), which bots must
        tolerate. The update is handed out on the next getUpdates regardless of ``offset``.
        """
        queued = copy.deepcopy(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
            self._next_update_id += 1
        self._enqueue(queued, forced=True)
        return int(queued["update_id"])

    def _enqueue(self, update: JSONDict, *, forced: bool) -> None:
        callback = update.get("callback_query")
        if isinstance(callback, dict) and "id" in callback:
            self._callback_queries[str(callback["id"])] = callback
        self._updates.append(_QueuedUpdate(update=update, forced=forced))
        self._signal_change()

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates pushed but not yet handed out by getUpdates."""
        return [item.update for item in self._updates if not item.delivered]

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset > 0:
            self._updates = [
                item
                for item in self._updates
                if item.update_id >= offset or (item.forced and not item.delivered)
            ]
        else:
            self._updates = self._updates[offset:]

    def _is_allowed(self, item: _QueuedUpdate) -> bool:
        if self._allowed_updates:
            return item.kind in self._allowed_updates
        return item.kind not in _DEFAULT_EXCLUDED_UPDATES

    def _deliverable(self, limit: int) -> list[_QueuedUpdate]:
        # Telegram never stores updates of types the bot did not ask for.
        kept = [item for item in self._updates if self._is_allowed(item)]
        if len(kept) != len(self._updates):
            self.dropped_updates += [i.update for i in self._updates if not self._is_allowed(i)]
            self._updates = kept
        # Sorted by id even with re-delivered (forced) updates in the queue: PTB confirms by
        # ``last update_id + 1``, so an unsorted batch would make it re-fetch newer updates.
        return sorted(self._updates, key=lambda item: item.update_id)[:limit]

    # ------------------------------------------------------------------ waiting

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

    async def wait_for(
        self,
        predicate: Callable[[FakeBotApi], T],
        timeout: float = 5.0,
        description: str | None = None,
    ) -> T:
        """Return ``predicate(server)`` as soon as it is truthy.

        The predicate is re-evaluated each time the server records something, so tests do not
        need sleeps. On timeout an :class:`AssertionError` shows what the bot did send.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = description or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"Timed out after {timeout}s waiting for {what}.\n{self.dump()}"
                )
            await self._wait_changed(remaining)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every pushed update was fetched and the bot was silent for ``quiet`` s.

        Use it before asserting that nothing *more* was sent. It cannot see work the bot does
        without calling the API, so ``quiet`` must exceed the bot's longest silent processing.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            pending = len(self.pending_updates)
            silent_for = now - self._last_activity
            if pending == 0 and silent_for >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"Bot not idle after {timeout}s ({pending} updates not fetched, last "
                    f"activity {silent_for:.2f}s ago).\n{self.dump()}"
                )
            wait = deadline - now if pending else min(quiet - silent_for, deadline - now)
            await self._wait_changed(wait)

    def dump(self, last: int = 10) -> str:
        """Readable summary of recent messages and calls, for assertion messages."""
        lines = [f"Last {last} of {len(self.messages)} bot messages:"]
        lines += [f"  {message.describe()}" for message in self.messages[-last:]] or ["  (none)"]
        calls = [req for req in self.requests if req.method != "getUpdates"][-last:]
        lines.append(f"Last {len(calls)} API calls (getUpdates omitted):")
        for req in calls:
            error = ""
            if req.response is not None and not req.response.get("ok"):
                error = f" -> {req.response.get('description')}"
            lines.append(f"  {req.method} {req.status} {_short(req.params)}{error}")
        lines.append(f"Pending updates: {len(self.pending_updates)}")
        return "\n".join(lines)

    # ------------------------------------------------------------------ queries

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

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (case-insensitive)."""
        key = method.lower()
        return [req for req in self.requests if req.method.lower() == key]

    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids pushed but never answered (Telegram shows a spinner for those)."""
        answered = {answer.callback_query_id for answer in self.callback_answers}
        return [query_id for query_id in self._callback_queries if query_id not in answered]

    # ------------------------------------------------------------------ HTTP plumbing

    async def _parse_request(
        self, request: web.Request
    ) -> tuple[JSONDict, dict[str, UploadedFile]]:
        raw: JSONDict = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.body_exists:
            content_type = request.content_type
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: request body must be a JSON object")
                raw.update(body)
            elif content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(value.filename, value.file.read())
                    else:
                        raw[key] = value
        params = {key: _decode_param(key, value) for key, value in raw.items()}
        return params, files

    async def _handle_method(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        key = name.lower()
        known = self._methods.get(key)
        record = RecordedRequest(
            method=known[0] if known else name,
            params={},
            time=time.monotonic(),
            token=request.match_info["token"],
        )
        self.requests.append(record)
        if key != "getupdates":
            self._last_activity = record.time
        status = 200
        try:
            try:
                record.params, record.files = await self._parse_request(request)
                result = await self._dispatch(key, record.params, record.files)
                body: JSONDict = {"ok": True, "result": result}
            except ApiError as error:
                status = error.error_code
                body = error.to_body()
            except Exception as error:  # a bug in the fake: report it as JSON, not HTML
                status = 500
                description = f"Internal Server Error: fake server failed: {error!r}"
                body = ApiError(status, description).to_body()
            record.status = status
            record.response = body
        finally:
            if record.status is None:
                record.status = 499  # client went away (cancelled long poll)
            if key != "getupdates":
                self._last_activity = time.monotonic()
            self._signal_change()
        return web.json_response(body, status=status)

    async def _dispatch(self, key: str, params: JSONDict, files: dict[str, UploadedFile]) -> Any:
        known = self._methods.get(key)
        if known is None:
            raise ApiError(404, "Not Found: method not found")
        failures = self._failures.get(key)
        if failures:
            failure = failures.popleft()
            parameters = {"retry_after": failure.retry_after} if failure.retry_after else None
            raise ApiError(failure.error_code, failure.description, parameters)
        is_send = key.startswith("send")
        chat_id = params.get("chat_id")
        if (
            isinstance(chat_id, int)
            and chat_id in self._blocked
            and key.startswith(("send", "edit", "copy", "forward"))
        ):
            raise ApiError(403, BLOCKED)
        if is_send and self._rate_per_second is not None:
            now = time.monotonic()
            while self._send_times and now - self._send_times[0] >= 1.0:
                self._send_times.popleft()
            if len(self._send_times) >= self._rate_per_second:
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self._send_times.append(now)
        result = known[1](params, files)
        if asyncio.iscoroutine(result):
            result = await result
        return result

    async def _handle_file(self, request: web.Request) -> web.Response:
        path = request.match_info["file_path"]
        self.requests.append(
            RecordedRequest(
                method="<download>",
                params={"file_path": path},
                time=time.monotonic(),
                token=request.match_info["token"],
                status=200,
            )
        )
        for stored in self.files.values():
            if stored.file_path == path:
                return web.Response(
                    body=stored.data, content_type=stored.mime_type or "application/octet-stream"
                )
        self.requests[-1].status = 404
        return web.json_response(
            {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
        )

    # ------------------------------------------------------------------ validation helpers

    def _chat_id(self, params: JSONDict) -> int:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise ApiError(400, "Bad Request: chat not found")
        if self.strict_chats and chat_id not in self.users:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _message_text(self, params: JSONDict, *, too_long: str) -> tuple[str, str, list[JSONDict]]:
        """The raw and the formatted text of a send or an edit, checked as Telegram does (each
        words "too long" its own way)."""
        raw = params.get("text")
        if not isinstance(raw, str) or not raw:
            raise ApiError(400, "Bad Request: message text is empty")
        text, entities = self._formatted(raw, params.get("parse_mode"), params.get("entities"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, f"Bad Request: {too_long}")
        return raw, text, entities

    @staticmethod
    def _formatted(raw: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                return parse_html(raw)
            except HtmlParseError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        if mode not in {"", "markdown", "markdownv2"}:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r}")
        # Markdown modes are not parsed: text keeps its markup.
        return raw, list(entities) if isinstance(entities, list) else []

    @staticmethod
    def _markup(markup: Any) -> JSONDict | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(
                400,
                'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be '
                "an Array of Arrays",
            )
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button")
                if not _INLINE_BUTTON_ACTIONS & button.keys():
                    raise ApiError(
                        400,
                        "Bad Request: can't parse inline keyboard button: Text buttons are "
                        "unallowed in the inline keyboard",
                    )
                data = button.get("callback_data")
                if data is not None and not (
                    isinstance(data, str)
                    and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not (
                    isinstance(url, str) and url.startswith(("http://", "https://", "tg://"))
                ):
                    raise ApiError(
                        400, f"Bad Request: inline keyboard button URL '{url}' is invalid"
                    )
        if not any(rows):
            return None  # an empty inline keyboard is the same as no keyboard
        return markup

    def _resolve_upload(
        self, field_name: str, params: JSONDict, files: dict[str, UploadedFile], kind: str
    ) -> tuple[UploadedFile, StoredFile]:
        """Find the file of a send* call: multipart part, attach:// part, file_id or URL."""
        upload = files.get(field_name)
        reference = params.get(field_name)
        if upload is None and isinstance(reference, str) and reference.startswith("attach://"):
            upload = files.get(reference.removeprefix("attach://"))
        if upload is not None:
            if not upload.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            extension = upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "bin"
            stored = self.register_file(
                upload.data,
                kind=kind,
                extension=extension,
                mime_type=mimetypes.guess_type(upload.filename)[0],
                file_name=upload.filename,
            )
            return upload, stored
        if isinstance(reference, str) and reference in self.files:
            stored = self.files[reference]
            return UploadedFile(stored.file_name or stored.file_path, stored.data), stored
        if isinstance(reference, str) and reference.startswith(("http://", "https://")):
            filename = reference.rstrip("/").rsplit("/", 1)[-1] or "file"
            stored = self.register_file(b"", kind=kind, file_name=filename)
            return UploadedFile(filename, b""), stored
        if reference is None:
            raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _record_message(
        self,
        *,
        method: str,
        chat_id: int,
        params: JSONDict,
        text: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
        document: UploadedFile | None = None,
        photo: bytes | None = None,
        stored: StoredFile | None = None,
    ) -> BotMessage:
        message = BotMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            method=method,
            text=text,
            raw_text=params.get("text") if method == "sendMessage" else params.get("caption"),
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            document=document,
            photo=photo,
            entities=entities,
            date=int(time.time()),
            time=time.monotonic(),
            params=params,
            file=stored,
            seq=next(self._seq),
        )
        message.text_seq = message.seq
        self.messages.append(message)
        return message

    def _target(self, params: JSONDict, action: str) -> BotMessage:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self.find_message(chat_id, message_id)
        if message is None or message.deleted:
            raise ApiError(400, f"Bad Request: message to {action} not found")
        return message

    def _apply_edit(
        self,
        message: BotMessage,
        *,
        text: str | None,
        raw_text: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
        parse_mode: str | None,
    ) -> JSONDict:
        if (
            text == message.text
            and entities == message.entities
            and markup == message.reply_markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        message.edits.append(message.snapshot())
        message.seq = next(self._seq)
        if text != message.text:
            message.text_seq = message.seq
        message.text = text
        message.raw_text = raw_text
        message.entities = entities
        message.reply_markup = markup
        message.parse_mode = parse_mode
        message.edit_date = int(time.time())
        return self.message_dict(message)

    # ------------------------------------------------------------------ methods

    async def _ack(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        return True

    async def _get_me(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100) or 100), 1), 100)
        timeout = min(max(float(params.get("timeout", 0) or 0), 0.0), self.max_poll_timeout)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed] or None
        # A newer getUpdates terminates an older pending one, exactly like Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset if isinstance(offset, int) else None)
        deadline = time.monotonic() + timeout
        self._signal_change()  # lets an older pending poll notice it was superseded
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_OTHER_POLL)
            batch = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                break
            await self._wait_changed(remaining)
        for item in batch:
            item.delivered = True
            item.forced = False  # from now on it is confirmed by offset like any other update
        if batch:
            self._last_activity = time.monotonic()
        return [copy.deepcopy(item.update) for item in batch]

    async def _set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        url = params.get("url", "")
        if url and not str(url).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = str(url)
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description", "")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = copy.deepcopy(commands)
        return True

    async def _get_my_commands(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        return copy.deepcopy(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._chat_id(params)
        _, text, entities = self._message_text(params, too_long="message is too long")
        markup = self._markup(params.get("reply_markup"))
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and not reply.get("allow_sending_without_reply"):
            reply_to = reply.get("message_id")
            if not isinstance(reply_to, int) or reply_to > self._message_ids.get(chat_id, 0):
                raise ApiError(400, "Bad Request: message to be replied not found")
        message = self._record_message(
            method="sendMessage",
            chat_id=chat_id,
            params=params,
            text=text,
            entities=entities,
            markup=markup,
        )
        return self.message_dict(message)

    def _caption(self, params: JSONDict) -> tuple[str | None, list[JSONDict]]:
        raw = params.get("caption")
        if not raw:
            return None, []
        text, entities = self._formatted(
            str(raw), params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(text) > MAX_CAPTION_LENGTH:
            raise ApiError(400, "Bad Request: message caption is too long")
        return text, entities

    async def _send_document(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._chat_id(params)
        text, entities = self._caption(params)
        markup = self._markup(params.get("reply_markup"))
        upload, stored = self._resolve_upload("document", params, files, "documents")
        message = self._record_message(
            method="sendDocument",
            chat_id=chat_id,
            params=params,
            text=text,
            entities=entities,
            markup=markup,
            document=upload,
            stored=stored,
        )
        return self.message_dict(message)

    async def _send_photo(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._chat_id(params)
        text, entities = self._caption(params)
        markup = self._markup(params.get("reply_markup"))
        upload, stored = self._resolve_upload("photo", params, files, "photos")
        stored.mime_type = stored.mime_type or "image/jpeg"
        message = self._record_message(
            method="sendPhoto",
            chat_id=chat_id,
            params=params,
            text=text,
            entities=entities,
            markup=markup,
            photo=upload.data,
            stored=stored,
        )
        return self.message_dict(message)

    async def _edit_message_text(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        message = self._target(params, "edit")
        if message.method != "sendMessage":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        raw, text, entities = self._message_text(params, too_long="MESSAGE_TOO_LONG")
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup = self._markup(params.get("reply_markup"))
        return self._apply_edit(
            message,
            text=text,
            raw_text=raw,
            entities=entities,
            markup=markup,
            parse_mode=params.get("parse_mode"),
        )

    async def _edit_message_caption(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        message = self._target(params, "edit")
        if message.method == "sendMessage":
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        text, entities = self._caption(params)
        return self._apply_edit(
            message,
            text=text,
            raw_text=params.get("caption"),
            entities=entities,
            markup=self._markup(params.get("reply_markup")),
            parse_mode=params.get("parse_mode"),
        )

    async def _edit_message_reply_markup(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        message = self._target(params, "edit")
        return self._apply_edit(
            message,
            text=message.text,
            raw_text=message.raw_text,
            entities=message.entities,
            markup=self._markup(params.get("reply_markup")),
            parse_mode=message.parse_mode,
        )

    async def _delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        message = self._target(params, "delete")
        message.deleted = True
        message.seq = next(self._seq)
        return True

    async def _delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._chat_id(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        for message_id in ids:
            message = self.find_message(chat_id, int(message_id))
            if message is not None:
                message.deleted = True
                message.seq = next(self._seq)
        return True

    async def _answer_callback_query(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(
            CallbackAnswer(query_id, text, bool(params.get("show_alert", False)))
        )
        return True

    async def _send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat_id, str(action)))
        return True

    async def _get_file(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }


def _short(params: JSONDict, width: int = 160) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def iter_inline_buttons(markup: JSONDict | None) -> Iterator[JSONDict]:
    """Every inline button dict in ``markup`` (helper for FakeUser)."""
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        yield from row
