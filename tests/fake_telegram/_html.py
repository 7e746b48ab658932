"""A small parser for Telegram's HTML ``parse_mode``.

Telegram rejects a whole message when its HTML is malformed, and that failure only shows up in
production, usually when user-provided text containing ``<`` or ``&`` is interpolated into a
template without escaping. The fake server therefore validates HTML the way Telegram does and
returns the same ``can't parse entities`` error, so end-to-end tests catch it.

The parser also produces the plain text and the message entities (offsets in UTF-16 code
units, as the Bot API specifies) so that tests can compare plain text and python-telegram-bot
can rebuild ``Message.text_html`` from the echoed message.

One deliberate deviation: real Telegram silently keeps a bare ``&`` that does not start an
entity. The fake rejects it, because a bare ``&`` almost always means the bot forgot to escape
user input, and the very same code path breaks on ``<``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["ALLOWED_TAGS", "HtmlParseError", "parse_html", "utf16_len"]

ALLOWED_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "span",
        "tg-emoji",
    }
)

_ENTITY_TYPES: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}

# Telegram documents exactly these four named entities; all numeric entities are supported.
_NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_TAG_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTR_RE = re.compile(r"([A-Za-z_:][-A-Za-z0-9_:.]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")


class HtmlParseError(ValueError):
    """Raised with the Telegram-style reason (without the ``Bad Request`` prefix)."""


@dataclass
class _OpenTag:
    name: str
    attrs: dict[str, str]
    offset: int
    language: str | None = None


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(raw: str, index: int) -> int:
    return len(raw[:index].encode("utf-8"))


def _decode_entity(body: str) -> str | None:
    """Decode the part between ``&`` and ``;``; ``None`` means "keep literally"."""
    if body.startswith(("#x", "#X")):
        code_point = int(body[2:], 16)
    elif body.startswith("#"):
        code_point = int(body[1:])
    else:
        return _NAMED_ENTITIES.get(body)
    if code_point <= 0 or code_point > 0x10FFFF or 0xD800 <= code_point <= 0xDFFF:
        return None
    return chr(code_point)


def _unescape_attribute(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        decoded = _decode_entity(match.group(1))
        return match.group(0) if decoded is None else decoded

    return _ENTITY_RE.sub(replace, value)


def _parse_attributes(
    raw: str, start: int, tag_start: int, name: str
) -> tuple[dict[str, str], int]:
    """Parse attributes from ``start`` up to and including the closing ``>``."""
    attrs: dict[str, str] = {}
    index = start
    length = len(raw)
    while True:
        while index < length and raw[index].isspace():
            index += 1
        if index >= length:
            raise HtmlParseError(
                f"Unclosed start tag at byte offset {_byte_offset(raw, tag_start)}"
            )
        if raw[index] == ">":
            return attrs, index + 1
        match = _ATTR_RE.match(raw, index)
        if match is None:
            raise HtmlParseError(
                f'Can\'t parse attributes of start tag "{name}" at byte offset '
                f"{_byte_offset(raw, tag_start)}"
            )
        value = match.group(2) or ""
        if value[:1] in {'"', "'"}:
            value = value[1:-1]
        attrs[match.group(1).lower()] = _unescape_attribute(value)
        index = match.end()


def _close_tag(tag: _OpenTag, end_offset: int, parent: _OpenTag | None) -> dict[str, Any] | None:
    """Turn a closed tag into a MessageEntity dict, or ``None`` if Telegram would drop it."""
    if tag.name == "code" and parent is not None and parent.name == "pre":
        css_class = tag.attrs.get("class", "")
        if css_class.startswith("language-") and parent.language is None:
            # <pre><code class="language-x"> becomes a single pre entity with a language.
            parent.language = css_class.removeprefix("language-")
            return None
    length = end_offset - tag.offset
    if length <= 0:
        return None
    entity: dict[str, Any] = {"type": _ENTITY_TYPES[tag.name], "offset": tag.offset}
    entity["length"] = length
    if tag.name == "a":
        href = tag.attrs.get("href", "")
        if not href:
            return None
        entity["url"] = href
    elif tag.name == "pre" and tag.language:
        entity["language"] = tag.language
    elif tag.name == "blockquote" and "expandable" in tag.attrs:
        entity["type"] = "expandable_blockquote"
    elif tag.name == "tg-emoji":
        entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
    return entity


def parse_html(raw: str) -> tuple[str, list[dict[str, Any]]]:
    """Return ``(plain_text, entities)`` for Telegram HTML or raise :class:`HtmlParseError`."""
    out: list[str] = []
    position = 0  # current offset in UTF-16 code units
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    index = 0
    length = len(raw)
    while index < length:
        char = raw[index]
        if char == "<":
            if raw.startswith("</", index):
                end = raw.find(">", index)
                if end == -1:
                    raise HtmlParseError(
                        f"Unclosed end tag at byte offset {_byte_offset(raw, index)}"
                    )
                name = raw[index + 2 : end].strip().lower()
                if not stack:
                    raise HtmlParseError(
                        f"Unexpected end tag at byte offset {_byte_offset(raw, index)}"
                    )
                top = stack[-1]
                if name != top.name:
                    raise HtmlParseError(
                        f"Unmatched end tag at byte offset {_byte_offset(raw, index)}, "
                        f'expected "</{top.name}>", found "</{name}>"'
                    )
                stack.pop()
                entity = _close_tag(top, position, stack[-1] if stack else None)
                if entity is not None:
                    entities.append(entity)
                index = end + 1
                continue
            name_match = _TAG_NAME_RE.match(raw, index + 1)
            if name_match is None:
                raise HtmlParseError(
                    f"Unexpected '<' at byte offset {_byte_offset(raw, index)}; escape it as &lt;"
                )
            name = name_match.group(0).lower()
            if name not in ALLOWED_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{name}" at byte offset {_byte_offset(raw, index)}'
                )
            attrs, after = _parse_attributes(raw, name_match.end(), index, name)
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise HtmlParseError('Tag "span" must have class "tg-spoiler"')
            if name == "tg-emoji" and not attrs.get("emoji-id"):
                raise HtmlParseError('Tag "tg-emoji" must have attribute "emoji-id"')
            stack.append(_OpenTag(name=name, attrs=attrs, offset=position))
            index = after
            continue
        if char == "&":
            entity_match = _ENTITY_RE.match(raw, index)
            if entity_match is None:
                raise HtmlParseError(
                    f"Unescaped '&' at byte offset {_byte_offset(raw, index)}; escape it as &amp;"
                )
            decoded = _decode_entity(entity_match.group(1))
            piece = entity_match.group(0) if decoded is None else decoded
            out.append(piece)
            position += utf16_len(piece)
            index = entity_match.end()
            continue
        out.append(char)
        position += utf16_len(char)
        index += 1
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda item: (item["offset"], -item["length"]))
    return "".join(out), entities
