"""Decoding Bot API requests: query string, form fields, multipart uploads and JSON bodies."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from .errors import ApiError
from .records import JSONDict, UploadedFile

__all__ = ["decode_param", "parse_request"]

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


def decode_param(name: str, value: Any) -> Any:
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


async def parse_request(request: web.Request) -> tuple[JSONDict, dict[str, UploadedFile]]:
    """The decoded params and the uploaded files of one Bot API call."""
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
    params = {key: decode_param(key, value) for key, value in raw.items()}
    return params, files
