"""The distress lexicon finds cries for help in every language and leaves look-alikes alone."""

from __future__ import annotations

import pytest

from bench.safeguarding_lexicon import phrase_sets, score
from bot.flows.safeguarding.lexicon import find, load_lexicons, normalise

SETS = phrase_sets()
LANGUAGES = ("en", "fr", "de", "es", "it", "nl")


def test_every_language_has_a_lexicon_with_sources_and_a_phrase_set() -> None:
    lexicons = {lexicon.language: lexicon for lexicon in load_lexicons()}
    assert set(LANGUAGES) <= set(lexicons)
    assert set(LANGUAGES) <= set(SETS)
    for lexicon in lexicons.values():
        assert lexicon.sources, lexicon.language
        assert len(lexicon.patterns) >= 20, lexicon.language
        assert lexicon.guards, lexicon.language


@pytest.mark.parametrize("language", LANGUAGES)
def test_recall_and_false_positive_rate(language: str) -> None:
    sets = SETS[language]
    assert len(sets["distress"]) >= 40 and len(sets["benign"]) >= 40
    result = score(language, sets["distress"], sets["benign"])
    assert result.recall >= 0.9, result.missed
    assert result.false_positive_rate <= 0.1, result.false_alarms


def test_normalising_catches_curly_apostrophes_accents_and_case() -> None:
    assert normalise("I DON’T want to  live") == "i don't want to live"
    assert find("I DON’T want to  live anymore") is not None
    assert find("Je veux mourir") is not None
    assert find("je veux MOURIR, aidez-moi") is not None


def test_words_not_substrings() -> None:
    """'killed' inside 'skilled' or 'kill' in 'it will kill jobs' is no cry for help."""
    assert find("We need skilled staff who are not overwhelmed by paperwork") is None
    assert find("AI will kill jobs in home care") is None
    assert find("I'm dying to try it") is None
    assert find("suicide prevention training for staff") is None


def test_match_names_categories_not_words() -> None:
    found = find("My son hits me when I ask for my money")
    assert found is not None and "abuse" in found.categories
    assert all("." in pattern for pattern in found.pattern_ids)
