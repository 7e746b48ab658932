"""Checks Telegram applies to outgoing content: text and caption length, parse_mode, keyboards."""

from __future__ import annotations

from typing import Any

from ._html import HtmlParseError, parse_html, utf16_len
from .errors import ApiError
from .records import JSONDict

__all__ = [
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "caption",
    "checked_markup",
    "formatted",
    "message_text",
]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

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


def message_text(params: JSONDict, *, too_long: str) -> tuple[str, str, list[JSONDict]]:
    """The raw and the formatted text of a send or an edit, checked as Telegram does (each
    words "too long" its own way)."""
    raw = params.get("text")
    if not isinstance(raw, str) or not raw:
        raise ApiError(400, "Bad Request: message text is empty")
    text, entities = formatted(raw, params.get("parse_mode"), params.get("entities"))
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(text) > MAX_MESSAGE_LENGTH:
        raise ApiError(400, f"Bad Request: {too_long}")
    return raw, text, entities


def caption(params: JSONDict) -> tuple[str | None, list[JSONDict]]:
    """The formatted caption of a media send or edit (None when there is none)."""
    raw = params.get("caption")
    if not raw:
        return None, []
    text, entities = formatted(str(raw), params.get("parse_mode"), params.get("caption_entities"))
    if utf16_len(text) > MAX_CAPTION_LENGTH:
        raise ApiError(400, "Bad Request: message caption is too long")
    return text, entities


def formatted(raw: str, parse_mode: str | None, entities: Any) -> tuple[str, list[JSONDict]]:
    """Plain text and entities of ``raw`` under ``parse_mode`` (HTML is parsed and checked)."""
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


def checked_markup(markup: Any) -> JSONDict | None:
    """``reply_markup`` as stored on the message, after Telegram's keyboard checks."""
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
                isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
            ):
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not (
                isinstance(url, str) and url.startswith(("http://", "https://", "tg://"))
            ):
                raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid")
    if not any(rows):
        return None  # an empty inline keyboard is the same as no keyboard
    return markup
