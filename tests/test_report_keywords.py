"""Keyword groups find the themes of the answers across languages, and distinctive words find
what one role says that the others do not."""

from __future__ import annotations

import unicodedata

import pytest
import yaml

from bot.report.keywords import (
    CONCEPTS_PATH,
    LANGUAGES,
    WORDS_DIR,
    Distinctive,
    Groups,
    Text,
    distinctive_words,
    group_count,
    keyword_groups,
    read_word_list,
    stop_words,
    tokenise,
)

# (role, language, answer): twelve answers about training and twelve about a human making the
# decision, half English and half French, every role in both.
TRAINING = [
    ("worker", "en", "I need training before using it"),
    ("worker", "en", "Proper training for every member of staff"),
    ("service_user", "en", "Staff should be trained to use it with us"),
    ("technologist", "en", "Training sessions and skills for the care team"),
    ("family_carer", "en", "Carers need training too, not just a manual"),
    ("worker", "en", "More training on the new skills we will need"),
    ("worker", "fr", "Une formation pour tout le personnel"),
    ("service_user", "fr", "Il faut une vraie formation avant de commencer"),
    ("technologist", "fr", "Des formations régulières et des compétences pour l'équipe"),
    ("worker", "fr", "Former le personnel, sinon rien ne marchera"),
    ("family_carer", "fr", "Une formation pour les aidants aussi"),
    ("other", "fr", "Des compétences numériques et une formation continue"),
]
HUMAN = [
    ("worker", "en", "A human must make the final decision"),
    ("service_user", "en", "A real person should decide, not a machine"),
    ("family_carer", "en", "Decisions about my mother must stay with humans"),
    ("technologist", "en", "Keep a human in the loop for every decision"),
    ("service_user", "en", "I want a person to decide about my benefits"),
    ("other", "en", "The final decision belongs to a human being"),
    ("worker", "fr", "Une personne humaine doit décider"),
    ("service_user", "fr", "La décision finale doit rester humaine"),
    ("family_carer", "fr", "Je veux qu'un humain prenne les décisions"),
    ("technologist", "fr", "Une personne doit valider chaque décision"),
    ("worker", "fr", "C'est à l'humain de décider, pas à la machine"),
    ("service_user", "fr", "Les décisions importantes par une personne"),
]
# Answers with no word that counts: emoji, stop words, words shorter than three letters.
EMPTY = [
    ("other", "en", "👍👍 🙂"),
    ("worker", "en", "I think so too, yes."),
    ("service_user", "fr", "Je pense que oui !"),
    ("technologist", "de", "Ja, ok, KI 🤖 2024"),
]


def corpus(*parts: list[tuple[str, str, str]]) -> list[Text]:
    rows = [row for part in parts for row in part]
    return [
        Text(id=100 + i, role=role, language=lang, text=t)
        for i, (role, lang, t) in enumerate(rows)
    ]


TEXTS = corpus(TRAINING, HUMAN)
TRAINING_IDS = {text.id for text in TEXTS[: len(TRAINING)]}
HUMAN_IDS = {text.id for text in TEXTS[len(TRAINING) :]}


def themes(result: Groups) -> dict[str, set[int]]:
    """Which group holds each theme, by the members it has in common with it."""
    found = {}
    for name, ids in (("training", TRAINING_IDS), ("human", HUMAN_IDS)):
        (group,) = [group for group in result.groups if set(group.members) & ids]
        found[name] = set(group.members)
    return found


def test_two_themes_in_two_languages_make_two_pure_groups() -> None:
    result = keyword_groups(TEXTS)
    assert len(result.groups) == 2
    assert result.texts == len(TEXTS)
    assert result.ungrouped == ()
    # Each theme whole in one group, English and French together, nothing else in it.
    assert themes(result) == {"training": TRAINING_IDS, "human": HUMAN_IDS}


def test_english_and_french_answers_meet_through_the_concepts() -> None:
    """Without the concept table "training" and "formation" share no stem; with it the
    French answers about training and the English ones are one group."""
    english = {t.id for t in TEXTS if t.language == "en" and t.id in TRAINING_IDS}
    french = {t.id for t in TEXTS if t.language == "fr" and t.id in TRAINING_IDS}
    (group,) = [g for g in keyword_groups(TEXTS).groups if set(g.members) & english]
    assert french <= set(group.members)
    assert tokenise("Une formation continue", "fr")[0] == tokenise("Training", "en")[0]


@pytest.mark.parametrize(
    ("language", "training", "human"),
    [("en", "training", {"human", "decision"}), ("fr", "formation", {"humain", "décision"})],
)
def test_groups_are_named_in_the_display_language(
    language: str, training: str, human: set[str]
) -> None:
    result = keyword_groups(TEXTS, display_language=language)
    by_theme = {
        "training": next(g for g in result.groups if set(g.members) == TRAINING_IDS),
        "human": next(g for g in result.groups if set(g.members) == HUMAN_IDS),
    }
    assert by_theme["training"].words[0] == training
    assert human <= set(by_theme["human"].words[:3])
    for group in result.groups:
        assert 1 <= len(group.words) <= 5
        assert len(set(group.words)) == len(group.words)
        assert not any(word.startswith("#") for word in group.words)


def test_german_report_shows_german_concept_words() -> None:
    groups = keyword_groups(TEXTS, display_language="de").groups
    assert {"Schulung", "Mensch", "Entscheidung"} <= {word for g in groups for word in g.words}


def test_members_per_role_are_counted() -> None:
    result = keyword_groups(TEXTS)
    training = next(g for g in result.groups if set(g.members) == TRAINING_IDS)
    human = next(g for g in result.groups if set(g.members) == HUMAN_IDS)
    assert training.by_role == {
        "family_carer": 2,
        "other": 1,
        "service_user": 2,
        "technologist": 2,
        "worker": 5,
    }
    assert human.by_role == {
        "family_carer": 2,
        "other": 1,
        "service_user": 4,
        "technologist": 2,
        "worker": 3,
    }


def test_members_come_most_representative_first() -> None:
    result = keyword_groups(TEXTS)
    for group in result.groups:
        assert len(group.weights) == len(group.members)
        assert all(weight > 0 for weight in group.weights)
        assert list(group.weights) == sorted(group.weights, reverse=True)
        # Weights differ within each group here, so the order says something.
        assert group.weights[0] > group.weights[-1]


def test_weights_are_comparable_between_groups() -> None:
    """NMF can return a component a million times too long with weights a million times too
    small; an answer that says nothing but its group's words weighs about 1 in every group."""
    rows = [("worker", "en", "training and data")] * 6 + [("other", "fr", "décision humaine")] * 6
    result = keyword_groups(corpus(rows))
    assert {frozenset(g.words) for g in result.groups} == {
        frozenset({"training", "data"}),
        frozenset({"decision", "human"}),
    }
    for group in result.groups:
        assert group.weights == pytest.approx([1.0] * 6, abs=0.01)


def test_largest_group_comes_first() -> None:
    extra = [("worker", "en", f"Training day {n}: more skills training") for n in range(4)]
    result = keyword_groups(corpus(TRAINING, HUMAN, extra), max_groups=2)
    assert [len(group.members) for group in result.groups] == [16, 12]
    assert set(result.groups[0].members) >= TRAINING_IDS
    # Human decision first when it is the larger theme.
    more = [("worker", "en", f"Human decision {n}: a person must decide") for n in range(6)]
    result = keyword_groups(corpus(TRAINING, HUMAN, more), max_groups=2)
    assert [len(group.members) for group in result.groups] == [18, 12]
    assert set(result.groups[0].members) >= HUMAN_IDS


def test_same_answers_same_groups() -> None:
    assert keyword_groups(TEXTS) == keyword_groups(TEXTS)
    assert keyword_groups(TEXTS, random_state=7) == keyword_groups(TEXTS, random_state=7)


def test_answers_without_words_are_ungrouped() -> None:
    texts = corpus(TRAINING, HUMAN, EMPTY)
    empty_ids = {text.id for text in texts[-len(EMPTY) :]}
    result = keyword_groups(texts)
    assert set(result.ungrouped) == empty_ids
    assert themes(result) == {"training": TRAINING_IDS, "human": HUMAN_IDS}
    assert result.texts == len(texts)
    for row in EMPTY:
        assert tokenise(row[2], row[1]) == ()


def test_too_few_answers_make_no_groups() -> None:
    texts = corpus(TRAINING[:2], HUMAN[:1])
    result = keyword_groups(texts)
    assert result == Groups(groups=(), ungrouped=tuple(t.id for t in texts), texts=3)
    # Four answers, but only three with words: still none.
    assert keyword_groups(corpus(TRAINING[:2], HUMAN[:1], EMPTY[:1])).groups == ()
    assert keyword_groups([]) == Groups(groups=(), ungrouped=(), texts=0)


def test_a_handful_of_answers_make_one_group() -> None:
    result = keyword_groups(corpus(TRAINING[:3], HUMAN[:2]))
    assert len(result.groups) == 1
    assert len(result.groups[0].members) + len(result.ungrouped) == 5


def test_number_of_groups_grows_with_the_answers_up_to_the_maximum() -> None:
    expected = {0: 0, 3: 0, 4: 1, 8: 1, 9: 2, 24: 2, 25: 3, 48: 3, 49: 4, 120: 5, 121: 6, 5000: 6}
    assert {n: group_count(n) for n in expected} == expected
    assert group_count(5000, max_groups=3) == 3
    assert group_count(50, max_groups=0) == 0
    many = corpus(TRAINING, HUMAN, TRAINING, HUMAN, TRAINING, HUMAN)
    assert len(keyword_groups(many, max_groups=1).groups) == 1


@pytest.mark.parametrize(
    ("language", "forms"),
    [
        ("de", ["Hausbesuche", "Hausbesuch", "hausbesuchen"]),
        ("de", ["Schulungen", "Schulung"]),
        ("es", ["entrevistas", "entrevista"]),
        ("es", ["capacitaciones", "capacitación", "formación"]),
        ("it", ["assistenti", "assistente"]),
        ("it", ["operatori", "operatore"]),
        ("nl", ["wachtlijsten", "wachtlijst"]),
        ("nl", ["medewerkers", "medewerker"]),
        ("en", ["visits", "visit", "visiting"]),
        ("fr", ["visites", "visite"]),
    ],
)
def test_forms_of_one_word_are_one_token(language: str, forms: list[str]) -> None:
    tokens = {tokenise(form, language) for form in forms}
    assert len(tokens) == 1
    (token,) = tokens
    assert len(token) == 1


def test_the_same_concept_in_all_six_languages() -> None:
    words = {
        "en": "training",
        "fr": "formation",
        "de": "Weiterbildung",
        "es": "formación",
        "it": "formazione",
        "nl": "opleiding",
    }
    assert {tokenise(word, language) for language, word in words.items()} == {("#training",)}
    privacy = {"en": "privacy", "fr": "confidentialité", "de": "Datenschutz", "nl": "privacy"}
    assert {tokenise(w, lang) for lang, w in privacy.items()} == {("#privacy",)}


def test_english_words_count_in_other_languages_but_only_as_written() -> None:
    assert tokenise("Il faut des skills", "fr") == ("#training",)
    assert tokenise("Bias im Datensatz", "de")[0] == "#bias"
    # French "en train de" is no training; English "kind" is no child, Dutch "kind" is.
    assert "#training" not in tokenise("Ils sont en train de tester", "fr")
    assert tokenise("be kind", "en") != tokenise("kind", "nl") == ("#children",)


def test_words_sharing_a_stem_with_a_concept_word_are_not_the_concept() -> None:
    # "personal" has the stem of "person", "donner" that of "données", "sicher" of "Sicherheit".
    assert tokenise("personal", "en") != tokenise("person", "en") == ("#human",)
    assert tokenise("donner", "fr") != tokenise("données", "fr") == ("#data",)
    assert tokenise("sicher", "de") != tokenise("Sicherheit", "de") == ("#safety",)


def test_the_stop_words_of_every_language_are_dropped_from_every_answer() -> None:
    """People mix languages: a French answer saying "the training" or an English one quoting
    "je pense que" should not make "the" or "pense" a keyword."""
    assert tokenise("the training", "fr") == ("#training",)
    assert tokenise("je pense que oui, more training", "en") == ("#training",)
    # Unaccented spellings, as typed on a phone, are stop words too.
    assert tokenise("Tres importante, perche serve", "it") == tokenise("importante", "it")
    assert len(tokenise("importante", "it")) == 1


def test_language_codes_with_a_region_are_understood() -> None:
    assert tokenise("formations", "fr-BE") == tokenise("formation", "FR") == ("#training",)


def test_the_most_frequent_spelling_names_a_group() -> None:
    german = [
        ("worker", "de", "Hausbesuche sind wichtig"),
        ("worker", "de", "Mehr Hausbesuche bitte"),
        ("other", "de", "Hausbesuche statt Apps"),
        ("other", "de", "Ein Hausbesuch pro Woche"),
    ]
    (group,) = keyword_groups(corpus(german)).groups
    assert "Hausbesuche" in group.words
    english = [
        ("worker", "en", "Visits at home"),
        ("worker", "en", "Visits from someone I know"),
        ("other", "en", "More home visits"),
        ("other", "en", "Home visits, not apps"),
        ("other", "en", "Please keep the visits"),
    ]
    (group,) = keyword_groups(corpus(english)).groups
    assert "visits" in group.words and "home" in group.words


def test_an_unknown_display_language_is_refused() -> None:
    with pytest.raises(ValueError):
        keyword_groups(TEXTS, display_language="pt")
    with pytest.raises(ValueError):
        distinctive_words(TEXTS, display_language="xx")


# (role, answer): technologists keep saying "bias" and "dataset", workers "time" and
# "paperwork"; everyone talks about people.
DISTINCT = [
    ("technologist", "The dataset has bias against older people"),
    ("technologist", "Bias in the training dataset worries me"),
    ("technologist", "We must audit the dataset for bias"),
    ("technologist", "Bias creeps in through a skewed dataset"),
    ("technologist", "Model bias and dataset quality matter to people"),
    ("technologist", "Check every dataset before deployment"),
    ("worker", "I have no time for more paperwork"),
    ("worker", "Paperwork eats the time I should spend with people"),
    ("worker", "Less paperwork, more time for visits"),
    ("worker", "Time saved on paperwork must go to people"),
    ("worker", "We already lack time"),
    ("worker", "Paperwork again, and no time to listen"),
    ("service_user", "I want people who listen to me"),
    ("service_user", "Respect for people who ask for help"),
    ("service_user", "Someone who listens and visits me"),
    ("service_user", "People should explain what happens to my file"),
    ("service_user", "Help when I ask for it"),
    ("service_user", "Clear letters and people to call"),
    ("family_carer", "Carers need respite, respite, respite"),
    ("family_carer", "Respite for carers"),
    ("family_carer", "Some respite please"),
]
DISTINCT_TEXTS = [Text(i, role, "en", text) for i, (role, text) in enumerate(DISTINCT)]


def test_distinctive_words_of_each_role() -> None:
    found = distinctive_words(DISTINCT_TEXTS)
    assert set(found) == {"technologist", "worker", "service_user", "family_carer"}
    words = {role: [d.word for d in items] for role, items in found.items()}
    assert set(words["technologist"]) == {"bias", "dataset"}
    assert set(words["worker"]) == {"time", "paperwork"}
    assert words["service_user"] == []
    by_word = {d.word: d for d in found["technologist"]}
    assert by_word["dataset"].count == 6 and by_word["bias"].count == 5
    assert all(d.ratio >= 2 for items in found.values() for d in items)
    assert words["technologist"][0] == "dataset"  # more answers, same zero elsewhere


def test_distinctive_words_are_shown_in_the_display_language() -> None:
    found = distinctive_words(DISTINCT_TEXTS, display_language="fr")
    assert {d.word for d in found["technologist"]} == {"biais", "dataset"}
    assert {d.word for d in found["worker"]} == {"temps", "paperasse"}


def test_distinctive_words_need_enough_answers() -> None:
    # Five answers with "bias" are not enough when six are asked for.
    found = distinctive_words(DISTINCT_TEXTS, min_count=6)
    assert [d.word for d in found["technologist"]] == ["dataset"]
    (first,) = distinctive_words(DISTINCT_TEXTS, top=1)["worker"]
    assert first == distinctive_words(DISTINCT_TEXTS)["worker"][0]
    assert (first.word, first.count) == ("time", 6)
    assert isinstance(first, Distinctive)
    # Three family carers all say "respite", nobody else does: three answers are no role.
    assert distinctive_words(DISTINCT_TEXTS, min_count=1)["family_carer"] == ()


def test_one_role_alone_has_nothing_to_stand_out_from() -> None:
    only = [t for t in DISTINCT_TEXTS if t.role == "technologist"]
    assert distinctive_words(only) == {"technologist": ()}


def test_a_word_everyone_uses_is_not_distinctive() -> None:
    shared = [
        Text(i, role, "en", f"Housing support matters, {extra}")
        for i, (role, extra) in enumerate(
            [(role, word) for role in ("worker", "technologist") for word in "abcdefgh"]
        )
    ]
    assert distinctive_words(shared) == {"technologist": (), "worker": ()}


def test_stop_word_files_for_six_languages() -> None:
    for language in LANGUAGES:
        path = WORDS_DIR / f"stop_{language}.txt"
        words = read_word_list(path)
        assert len(words) >= 150, language
        assert len(set(words)) == len(words), [w for w in words if words.count(w) > 1]
        for word in words:
            assert word == unicodedata.normalize("NFKC", word).lower(), (language, word)
            assert " " not in word, (language, word)
        assert stop_words(language) == frozenset(words)
    assert {"the", "need", "also", "more"} <= stop_words("en")
    assert {"les", "besoin", "aussi", "très"} <= stop_words("fr")
    assert {"der", "brauchen", "auch", "für"} <= stop_words("de")
    assert {"los", "necesito", "también", "más"} <= stop_words("es")
    assert {"gli", "bisogno", "anche", "più"} <= stop_words("it")
    assert {"het", "nodig", "ook", "één"} <= stop_words("nl")


def test_concept_table_covers_six_languages_and_avoids_stop_words() -> None:
    with CONCEPTS_PATH.open(encoding="utf-8") as handle:
        table = yaml.safe_load(handle)
    assert 30 <= len(table) <= 45
    everywhere = set().union(*(stop_words(language) for language in LANGUAGES))
    for concept, by_language in table.items():
        assert set(by_language) == set(LANGUAGES), concept
        for language, words in by_language.items():
            assert words, (concept, language)
            for entry in words:
                word = entry.removeprefix("=")
                assert word.lower() not in everywhere, (concept, language, word)
                assert tokenise(word, language) == (f"#{concept}",), (concept, language, word)
