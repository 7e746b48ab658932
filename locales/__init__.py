"""Every user-facing string, one gettext catalogue (`<lang>.po`) per language.

Message ids are stable keys (`consent.body`), not English sentences, so an edit to the English
wording does not orphan the translations. English is the reference: every key it defines must
exist, non-empty and with the same placeholders, in every other catalogue (tests enforce it).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent
REFERENCE_LANGUAGE = "en"


def available_languages() -> tuple[str, ...]:
    names = sorted(path.stem for path in LOCALES_DIR.glob("*.po"))
    names.remove(REFERENCE_LANGUAGE)
    return (REFERENCE_LANGUAGE, *names)


@cache
def catalogue(language: str) -> Mapping[str, str]:
    path = LOCALES_DIR / f"{language}.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=language)
    return {
        str(message.id): str(message.string)
        for message in po
        if message.id and isinstance(message.id, str) and message.string
    }


class Translator:
    """Looks up keys, falling back to English so a gap never shows a raw key to a person."""

    def __init__(self, languages: tuple[str, ...] | None = None) -> None:
        self.languages = languages or available_languages()
        self._catalogues = {lang: catalogue(lang) for lang in self.languages}

    def get(self, language: str, key: str) -> str:
        table = self._catalogues.get(language) or self._catalogues[REFERENCE_LANGUAGE]
        text = table.get(key)
        if text is None:
            text = self._catalogues[REFERENCE_LANGUAGE][key]
        return text
