"""Every user-facing string, one gettext catalogue (`<lang>.po`) per language.

Message ids are stable keys (`consent.body`), not English sentences, so an edit to the English
wording does not orphan the translations. English is the reference: every key it defines must
exist, non-empty and with the same placeholders, in every other catalogue (tests enforce it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

# CODESIGN_LOCALES_DIR points at other catalogues: the tests use it to prove that a new
# question or role is a data change.
LOCALES_DIR = Path(os.environ.get("CODESIGN_LOCALES_DIR") or Path(__file__).parent)
EASY_DIR = LOCALES_DIR / "easy"
REFERENCE_LANGUAGE = "en"

# Keys only staff read (facilitators, safeguarding leads), word lists the bot matches typed
# text against, and language names: everything else a participant may read, so it needs an
# easy-read version (`easy/<lang>.po`) in every language.
NOT_FOR_PARTICIPANTS = (
    "fac.",
    "stats.",
    "quotes.",
    "themes.",
    "report.",
    "schedule.",
    "broadcast.",
    "job.",
    "scheduled.",
    "settings.",
    "alert.",
    "relay.lead_",
    "relay.other_lead",
    "relay.not_delivered",
    "safety.usage",
    "safety.heading",
    "safety.setting",
    "safety.how_to_change",
    "safety.bad_",
    "safety.too_long",
    "words.",
    "language.name.",
)


def participant_keys() -> tuple[str, ...]:
    """The reference keys a participant can read: each needs an easy-read version."""
    return tuple(
        key for key in catalogue(REFERENCE_LANGUAGE) if not key.startswith(NOT_FOR_PARTICIPANTS)
    )


def available_languages() -> tuple[str, ...]:
    names = sorted(path.stem for path in LOCALES_DIR.glob("*.po"))
    names.remove(REFERENCE_LANGUAGE)
    return (REFERENCE_LANGUAGE, *names)


@cache
def catalogue(language: str, easy: bool = False) -> Mapping[str, str]:
    path = (EASY_DIR if easy else LOCALES_DIR) / f"{language}.po"
    if easy and not path.exists():
        return {}
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in po
        if message.id and isinstance(message.id, str) and message.string
    }


class Translator:
    """Looks up keys for a reading code, falling back from easy-read to the standard text and
    from any language to English, so a gap never shows a raw key to a person (tests make
    sure there is no gap)."""

    def __init__(self, languages: tuple[str, ...] | None = None) -> None:
        self.languages = languages or available_languages()
        self._catalogues = {lang: catalogue(lang) for lang in self.languages}
        self._easy = {lang: catalogue(lang, easy=True) for lang in self.languages}

    def get(self, reading_code: str, key: str) -> str:
        language, easy = parse_reading(reading_code)
        if easy:
            text = self._easy.get(language, {}).get(key)
            if text is not None:
                return text
        table = self._catalogues.get(language) or self._catalogues[REFERENCE_LANGUAGE]
        text = table.get(key)
        if text is None:
            text = self._catalogues[REFERENCE_LANGUAGE][key]
        return text


EASY_SUFFIX = ".easy"


def reading(language: str, easy: bool) -> str:
    """A reading code: the language, with `.easy` when the person reads easy-read texts.

    Everything that renders text takes one, so easy-read is a way of reading a language rather
    than a flag threaded through every screen.
    """
    return f"{language}{EASY_SUFFIX}" if easy else language


def parse_reading(code: str) -> tuple[str, bool]:
    if code.endswith(EASY_SUFFIX):
        return code[: -len(EASY_SUFFIX)], True
    return code, False
