"""View models: what to show, as translation keys and data, never as Telegram objects.

The renderer (bot/rendering.py) turns these into text in the participant's language; keeping
them as data makes every screen testable without Telegram and every string live in locales/.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Msg:
    """A translated string from locales/, with parameters filled in (and HTML-escaped)."""

    key: str
    params: Mapping[str, Param] = field(default_factory=dict)


@dataclass(frozen=True)
class CatalogueText:
    """A text of a topic in the reader's language: a topic field (`title`, `plain_title`,
    `summary`) or a per-role one (`question`, `more`), for `role`."""

    rec_id: str
    field: str
    role: str | None = None


@dataclass(frozen=True)
class Literal:
    """Text that came from a person (an answer, a workshop title): shown as-is, escaped."""

    text: str


@dataclass(frozen=True)
class Lines:
    """Parts shown one per line, inside one paragraph."""

    parts: tuple[Part, ...]


Part = Msg | CatalogueText | Literal | Lines
Param = str | int | Msg | CatalogueText | Literal | Lines


@dataclass(frozen=True)
class Button:
    label: Part
    data: str


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    caption: Part | None = None


@dataclass(frozen=True)
class View:
    """One message: paragraphs separated by a blank line, then an inline keyboard."""

    blocks: tuple[Part, ...]
    keyboard: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None


def text_view(key: str, **params: Param) -> View:
    return View((Msg(key, params),))
