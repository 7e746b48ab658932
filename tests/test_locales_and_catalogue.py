"""Every string in every language, and the recommendation catalogue, are complete."""

from __future__ import annotations

import re
import string

import pytest

from bot.flows.catalogue import ROLES, TEXT_FIELDS, load_catalogue
from locales import REFERENCE_LANGUAGE, available_languages, catalogue

LANGUAGES = available_languages()
OTHER_LANGUAGES = [lang for lang in LANGUAGES if lang != REFERENCE_LANGUAGE]
TAG = re.compile(r"</?\w+>")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_english_and_french_are_shipped() -> None:
    assert {"en", "fr"} <= set(LANGUAGES)


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_key_is_translated_with_the_same_placeholders_and_tags(language: str) -> None:
    reference = catalogue(REFERENCE_LANGUAGE)
    translated = catalogue(language)
    assert set(translated) == set(reference), set(reference) ^ set(translated)
    for key, english in reference.items():
        assert translated[key].strip(), key
        assert _placeholders(translated[key]) == _placeholders(english), key
        assert sorted(TAG.findall(translated[key])) == sorted(TAG.findall(english)), key


def test_every_key_used_in_code_exists() -> None:
    """Keys written literally in the flows must exist (dynamic ones are rendered elsewhere)."""
    from pathlib import Path

    sources = "\n".join(p.read_text() for p in Path("bot").rglob("*.py"))
    used = set(
        re.findall(r'(?:Msg|text_view|_again)\(\s*[^"]*?"([a-z_]+(?:\.[a-z_]+)+)"', sources)
    )
    used |= set(re.findall(r'\.get\(\s*language,\s*"([a-z_.]+)"', sources))
    missing = sorted(key for key in used if key not in catalogue(REFERENCE_LANGUAGE))
    assert used and not missing, missing


def test_catalogue_has_every_field_in_every_language() -> None:
    cat = load_catalogue()
    assert len(cat.scope("headline")) == 5 and len(cat.scope("detailed")) == 9
    for rec in cat.recommendations.values():
        for language in cat.languages:
            for field in TEXT_FIELDS:
                assert rec.texts[field][language].strip(), (rec.id, field, language)
            for role in ROLES:
                assert rec.angles[role][language].strip(), (rec.id, role, language)
            assert len(rec.text("short_title", language)) <= 28
        assert rec.session in cat.sessions
