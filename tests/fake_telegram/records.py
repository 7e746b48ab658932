"""Data records the fake server keeps: requests, messages and their edits, files, answers."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "BotMessage",
    "CallbackAnswer",
    "JSONDict",
    "MessageVersion",
    "MethodHandler",
    "RecordedRequest",
    "StoredFile",
    "UploadedFile",
    "iter_inline_buttons",
]

JSONDict = dict[str, Any]


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


def iter_inline_buttons(markup: JSONDict | None) -> Iterator[JSONDict]:
    """Every inline button dict in ``markup`` (helper for FakeUser)."""
    if not markup:
        return
    for row in markup.get("inline_keyboard", []):
        yield from row


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
class QueuedUpdate:
    """An update waiting in the server's getUpdates queue."""

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
class Failure:
    """An error a test queued for the next call of one method (see ``fail_next``)."""

    error_code: int
    description: str
    retry_after: int | None
