"""An in-process fake of the Telegram Bot API HTTP server.

End-to-end tests need the *real* python-telegram-bot stack (HTTPX transport, request encoding,
long polling, error mapping) to run against something that behaves like Telegram, without
network access and without mocking PTB internals. :class:`FakeBotApi` is an aiohttp server on
127.0.0.1 that speaks the Bot API wire protocol, records everything the bot does, validates
requests the way Telegram does (message length, HTML, button data, "message is not modified")
and lets tests inject faults (flood control, blocked users).

Point PTB at it with ``base_url=server.api_url`` and ``base_file_url=server.file_url``.

The server is composed from one mixin per area, each in its own module:

- ``records.py``: the data kept (``BotMessage``, ``RecordedRequest``, ``StoredFile`` ...);
- ``errors.py``: ``ApiError`` and Telegram's exact error descriptions;
- ``params.py``: decoding request parameters and uploads from the wire;
- ``validation.py``: text length, parse_mode and keyboard checks;
- ``state.py``: ``ServerState``, every attribute the server keeps and shared helpers;
- ``updates.py``: the update queue, getUpdates long polling and webhook settings;
- ``methods_messages.py``, ``methods_files.py``, ``methods_callbacks.py``,
  ``methods_bot.py``: the Bot API methods, by area;
- ``faults.py``: injected errors, blocked chats and flood control;
- ``inspection.py``: ``calls``, ``wait_for``, ``wait_idle`` and ``dump`` for tests.

This module keeps the aiohttp app, the routing of ``/bot<token>/<method>`` to the method
table, and :class:`FakeBotApi` itself. The records, :class:`ApiError` and the limits and error
texts that used to be defined here are re-exported (``import X as X``), so imports from this
module keep working.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from .errors import BLOCKED as BLOCKED
from .errors import CONFLICT_OTHER_POLL as CONFLICT_OTHER_POLL
from .errors import CONFLICT_WEBHOOK as CONFLICT_WEBHOOK
from .errors import NOT_MODIFIED as NOT_MODIFIED
from .errors import ApiError
from .faults import Faults
from .inspection import Inspection
from .methods_bot import ACK_METHODS, BotMethods
from .methods_callbacks import CallbackMethods
from .methods_files import MAX_DOWNLOAD_BYTES as MAX_DOWNLOAD_BYTES
from .methods_files import FileMethods
from .methods_messages import MessageMethods
from .params import parse_request
from .records import (
    BotMessage,
    CallbackAnswer,
    JSONDict,
    MessageVersion,
    MethodHandler,
    RecordedRequest,
    StoredFile,
    UploadedFile,
)
from .records import iter_inline_buttons as iter_inline_buttons
from .state import ServerState
from .updates import UpdateMethods
from .validation import MAX_CALLBACK_DATA_BYTES as MAX_CALLBACK_DATA_BYTES
from .validation import MAX_CAPTION_LENGTH as MAX_CAPTION_LENGTH
from .validation import MAX_MESSAGE_LENGTH as MAX_MESSAGE_LENGTH

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


class FakeBotApi(
    UpdateMethods,
    FileMethods,
    MessageMethods,
    CallbackMethods,
    BotMethods,
    Faults,
    Inspection,
    ServerState,
):
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
        super().__init__(
            bot_id,
            username,
            first_name=first_name,
            max_poll_timeout=max_poll_timeout,
            first_update_id=first_update_id,
            strict_chats=strict_chats,
        )
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
        for name in ACK_METHODS:
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

    # ------------------------------------------------------------------ test controls

    def add_method(self, name: str, handler: MethodHandler) -> None:
        """Register (or override) a method; ``handler(params, files)`` returns the result.

        Lets a test support a method the fake does not know yet without editing this file.
        Raise :class:`ApiError` from the handler to answer with an error.
        """
        self._methods[name.lower()] = (name, handler)

    # ------------------------------------------------------------------ HTTP plumbing

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
                record.params, record.files = await parse_request(request)
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
        self._inject_faults(key, params)
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
