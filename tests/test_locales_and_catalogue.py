"""Every string in every language, and the recommendation catalogue, are complete."""

from __future__ import annotations

import re
import string

import pytest

from bench.readability import MAX_EASY_WORDS, figures, plain, sentences, service_user_texts
from bot.flows.catalogue import ROLE_FIELDS, ROLES, TEXT_FIELDS, load_catalogue
from locales import (
    REFERENCE_LANGUAGE,
    available_languages,
    catalogue,
    participant_keys,
    reading,
)

LANGUAGES = available_languages()
OTHER_LANGUAGES = [lang for lang in LANGUAGES if lang != REFERENCE_LANGUAGE]
TAG = re.compile(r"</?\w+>")


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


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


def test_six_languages_are_shipped_for_strings_and_topics() -> None:
    expected = {"en", "fr", "de", "es", "it", "nl"}
    assert set(LANGUAGES) == expected
    assert set(load_catalogue().languages) == expected


def test_catalogue_has_every_field_in_every_language() -> None:
    cat = load_catalogue()
    assert len(cat.scope("headline")) == 5 and len(cat.scope("detailed")) == 9
    plain_titles: dict[str, set[str]] = {}
    for rec in cat.recommendations.values():
        assert rec.session in cat.sessions
        for language in cat.languages:
            texts = rec.texts[language]
            for field in TEXT_FIELDS:
                assert texts.fields[field].strip(), (rec.id, field, language)
            for field in ROLE_FIELDS:
                for role in ROLES:
                    assert texts.per_role[field][role].strip(), (rec.id, field, role, language)
                    assert texts.easy_per_role[field][role].strip(), (rec.id, field, role)
            assert texts.easy_fields["summary"].strip(), (rec.id, language)
            for role in ROLES:  # one question per message
                question = texts.per_role["question"][role]
                assert question.count("?") == 1, (rec.id, role, language, question)
            plain_titles.setdefault(language, set()).add(rec.text("plain_title", language))
            assert len(rec.text("plain_title", language)) <= 45, (rec.id, language)
    for language, titles in plain_titles.items():
        assert len(titles) == len(cat.recommendations), f"{language}: two topics share a title"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_participant_text_has_an_easy_read_version(language: str) -> None:
    easy = catalogue(language, easy=True)
    reference = catalogue(REFERENCE_LANGUAGE)
    missing = [key for key in participant_keys() if not easy.get(key, "").strip()]
    assert not missing, missing
    for key in participant_keys():
        assert _placeholders(easy[key]) == _placeholders(reference[key]), (language, key)
    assert set(easy) <= set(reference), set(easy) - set(reference)


def _easy_texts(language: str) -> list[tuple[str, str]]:
    texts = [(key, catalogue(language, easy=True)[key]) for key in participant_keys()]
    code = reading(language, True)
    for rec in load_catalogue().recommendations.values():
        texts.append((f"{rec.id}.plain_title", rec.text("plain_title", code)))
        texts.append((f"{rec.id}.summary", rec.text("summary", code)))
        for field in ROLE_FIELDS:
            for role in ROLES:
                texts.append((f"{rec.id}.{field}.{role}", rec.for_role(field, role, code)))
    return texts


INITIALS = re.compile(r"\b(AI|KI|IA|EU|UE|GDPR|RGPD|DSGVO|AVG)\b")


@pytest.mark.parametrize("language", LANGUAGES)
def test_easy_read_keeps_sentences_short_and_spells_out_initials(
    language: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Inclusion Europe: short sentences (here at most 15 words), no initials. Prints the
    reading figures so every run shows them next to the standard texts'."""
    for where, text in _easy_texts(language):
        for sentence in sentences(text):
            assert len(sentence) <= MAX_EASY_WORDS, (language, where, " ".join(sentence))
        assert not INITIALS.search(plain(text)), (language, where, text)
    standard = figures(service_user_texts(language, easy=False), language)
    easy = figures(service_user_texts(language, easy=True), language)
    assert easy.words_per_sentence < standard.words_per_sentence
    with capsys.disabled():
        print(
            f"\n{language}: words per sentence {standard.words_per_sentence:.1f} standard, "
            f"{easy.words_per_sentence:.1f} easy read (longest {easy.longest_sentence}); "
            f"reading ease {standard.reading_ease:.0f} / {easy.reading_ease:.0f}"
        )


REPORT_WORD = re.compile(
    r"recommend|recommandation|empfehlung|recomendaci|raccomandazion|aanbeveling", re.I
)


@pytest.mark.parametrize("language", LANGUAGES)
def test_participants_read_topic_never_the_reports_word(language: str) -> None:
    for easy in (False, True):
        table = catalogue(language, easy=easy)
        found = [key for key in participant_keys() if REPORT_WORD.search(table.get(key, ""))]
        assert not found, (language, easy, found)
