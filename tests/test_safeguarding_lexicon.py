"""The safeguarding checks find cries for help in every language and leave look-alikes alone."""

from __future__ import annotations

import pytest

from bench.safeguarding_lexicon import HELDOUT_DIR, phrase_sets, score
from bot.flows.safeguarding import classifier
from bot.flows.safeguarding.detector import MODEL_PATTERN, detect
from bot.flows.safeguarding.lexicon import find, load_lexicons, normalise

EXAMPLES = phrase_sets()
HELDOUT = phrase_sets(HELDOUT_DIR)
LANGUAGES = ("en", "fr", "de", "es", "it", "nl")


def test_every_language_has_a_lexicon_with_sources_examples_and_held_out_sentences() -> None:
    lexicons = {lexicon.language: lexicon for lexicon in load_lexicons()}
    assert set(LANGUAGES) <= set(lexicons)
    for language in LANGUAGES:
        lexicon = lexicons[language]
        assert lexicon.sources and lexicon.guards and len(lexicon.patterns) >= 20, language
        assert len(EXAMPLES[language]["distress"]) >= 40, language
        assert len(EXAMPLES[language]["benign"]) >= 40, language
        assert len(HELDOUT[language]["distress"]) >= 40, language
        assert len(HELDOUT[language]["benign"]) >= 40, language


def test_held_out_sentences_are_not_examples() -> None:
    """The held-out figures are honest only if nothing learnt or was tuned on them."""
    for language in LANGUAGES:
        examples = {
            normalise(t) for key in ("distress", "benign") for t in EXAMPLES[language][key]
        }
        held_out = {normalise(t) for key in ("distress", "benign") for t in HELDOUT[language][key]}
        assert not examples & held_out, language


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_phrase_lists_alone_on_their_examples(language: str) -> None:
    sets = EXAMPLES[language]
    result = score(language, sets["distress"], sets["benign"], find)
    assert result.recall >= 0.9, result.missed
    assert result.false_positive_rate <= 0.1, result.false_alarms


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_whole_check_on_sentences_nobody_prepared_for(language: str) -> None:
    sets = HELDOUT[language]
    result = score(language, sets["distress"], sets["benign"], detect)
    assert result.recall >= 0.85, result.missed
    assert result.false_positive_rate <= 0.12, result.false_alarms


def test_normalising_catches_curly_apostrophes_accents_and_case() -> None:
    assert normalise("I DON’T want to  live") == "i don't want to live"
    assert find("I DON’T want to  live anymore") is not None
    assert find("je veux MOURIR, aidez-moi") is not None


def test_words_not_substrings() -> None:
    """'killed' inside 'skilled' or 'kill' in 'it will kill jobs' is no cry for help."""
    for text in (
        "We need skilled staff who are not overwhelmed by paperwork",
        "AI will kill jobs in home care",
        "I'm dying to try it",
        "suicide prevention training for staff",
    ):
        assert detect(text) is None, text


def test_match_names_categories_not_words() -> None:
    found = detect("My son hits me when I ask for my money")
    assert found is not None and "abuse" in found.categories
    assert all("." in pattern for pattern in found.pattern_ids)


def test_what_the_lists_miss_the_model_reports_as_distress() -> None:
    text = "honestly some days I just sit in the dark and wonder why I bother at all"
    assert find(text) is None  # if a list learns this one, pick a sentence it does not know
    found = detect(text)
    assert found is not None and found.pattern_ids == (MODEL_PATTERN,)
    assert found.categories == frozenset({"distress"})


def test_the_fast_scorer_gives_exactly_what_scikit_learn_gives() -> None:
    from scipy.sparse import hstack

    texts, labels = classifier.read_examples()
    model = classifier.train(texts, labels)
    families = classifier.feature_families()
    plain = [normalise(text) for text in texts]
    fitted = classifier.logistic_regression()
    fitted.fit(hstack([family.fit_transform(plain) for family in families]).tocsr(), labels)
    probe = [*HELDOUT["en"]["distress"][:10], *HELDOUT["fr"]["benign"][:10]]
    features = hstack([family.transform([normalise(t) for t in probe]) for family in families])
    expected = fitted.predict_proba(features.tocsr())[:, 1]
    for text, want in zip(probe, expected, strict=True):
        assert model.probability(text) == pytest.approx(want, abs=1e-9), text


def test_the_lists_checked_are_the_workshops_languages_and_english() -> None:
    from bot.flows.safeguarding.detector import lists_for

    assert {lexicon.language for lexicon in lists_for(("fr",))} == {"fr", "en"}
    assert {lexicon.language for lexicon in lists_for(("de", "nl"))} == {"de", "nl", "en"}
    assert len(lists_for(None)) == len(load_lexicons())
    # The model still sees German distress in an English and French workshop.
    assert detect("Ich will nicht mehr leben, niemand hilft mir", ("en", "fr")) is not None
