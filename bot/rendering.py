"""Turns view models into Telegram-ready HTML text and button rows, in one language.

Pure (no Telegram import): the handlers only wrap the result in Telegram objects, and tests
can render every screen in every language to check for missing keys and length limits.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

from bot.flows.catalogue import ROLE_FIELDS, Catalogue
from bot.flows.views import Button, CatalogueText, Literal, Msg, Param, Part, View
from locales import Translator

MAX_MESSAGE_CHARS = 4096
MAX_CAPTION_CHARS = 1024


@dataclass(frozen=True)
class RenderedMessage:
    text: str
    buttons: tuple[tuple[tuple[str, str], ...], ...] = ()


class Renderer:
    def __init__(self, translator: Translator, catalogue: Catalogue) -> None:
        self.translator = translator
        self.catalogue = catalogue

    def part(self, part: Part, language: str) -> str:
        if isinstance(part, Msg):
            template = self.translator.get(language, part.key)
            if not part.params:
                return template
            values = {name: self.param(value, language) for name, value in part.params.items()}
            return template.format(**values)
        if isinstance(part, CatalogueText):
            rec = self.catalogue.get(part.rec_id)
            if part.field in ROLE_FIELDS:
                return html.escape(rec.for_role(part.field, part.role, language), quote=False)
            return html.escape(rec.text(part.field, language), quote=False)
        if isinstance(part, Literal):
            return html.escape(part.text, quote=False)
        return "\n".join(self.part(line, language) for line in part.parts)

    def param(self, value: Param, language: str) -> str:
        if isinstance(value, str | int):
            return html.escape(str(value), quote=False)
        return self.part(value, language)

    def plain(self, part: Part, language: str) -> str:
        """For button labels, which Telegram shows without HTML."""
        return html.unescape(self.part(part, language))

    def button(self, button: Button, language: str) -> tuple[str, str]:
        return self.plain(button.label, language), button.data

    def fingerprint(self, view: View, language: str) -> str:
        """A short hash of exactly what a view says: which consent text someone agreed to."""
        text = "\n\n".join(message.text for message in self.view(view, language))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

    def view(self, view: View, language: str) -> list[RenderedMessage]:
        """One or more messages: long views split between paragraphs, keyboard on the last."""
        blocks = [self.part(block, language) for block in view.blocks]
        chunks = split_blocks(blocks, MAX_MESSAGE_CHARS)
        buttons = tuple(
            tuple(self.button(button, language) for button in row) for row in view.keyboard
        )
        messages = [RenderedMessage(chunk) for chunk in chunks[:-1]]
        messages.append(RenderedMessage(chunks[-1], buttons))
        return messages


def utf16_len(text: str) -> int:
    """Telegram counts lengths in UTF-16 code units: an emoji outside the BMP counts twice."""
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> int:
    """The longest prefix of `text`, in characters, that is at most `limit` UTF-16 units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _safe_cut(text: str, cut: int) -> int:
    """Move a cut back out of an HTML entity (`&lt;`) or a tag (`<b>`), never cutting one."""
    for opening, closing in (("&", ";"), ("<", ">")):
        start = text.rfind(opening, 0, cut)
        if start != -1 and text.rfind(closing, start, cut) == -1:
            cut = start
    return cut


def truncate(text: str, limit: int) -> str:
    """At most `limit` UTF-16 units, without cutting an entity or a tag (captions)."""
    if utf16_len(text) <= limit:
        return text
    return text[: _safe_cut(text, _fit(text, limit - 1))].rstrip() + "…"


def split_blocks(blocks: list[str], limit: int) -> list[str]:
    """Pack paragraphs into messages of at most `limit` UTF-16 units, never splitting a tag."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        pieces = [block] if utf16_len(block) <= limit else _hard_split(block, limit)
        for piece in pieces:
            candidate = f"{current}\n\n{piece}" if current else piece
            if utf16_len(candidate) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    chunks.append(current)
    return [chunk for chunk in chunks if chunk] or [""]


def _hard_split(block: str, limit: int) -> list[str]:
    """Last resort for one huge paragraph: split at line ends, then at spaces, never inside
    an HTML entity or tag."""
    pieces: list[str] = []
    rest = block
    while utf16_len(rest) > limit:
        fits = _fit(rest, limit)
        cut = rest.rfind("\n", 0, fits)
        if cut <= 0:
            cut = rest.rfind(" ", 0, fits)
        if cut <= 0:
            cut = fits
        cut = _safe_cut(rest, cut) or fits
        pieces.append(rest[:cut])
        rest = rest[cut:].lstrip()
    pieces.append(rest)
    return pieces
