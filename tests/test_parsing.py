from __future__ import annotations

import pytest

from bot.flows.catalogue import ROLES
from bot.flows.parsing import (
    asks_for_help,
    is_no,
    is_skip,
    is_withdrawal,
    is_yes,
    parse_match,
    parse_priority,
    parse_role,
    words,
)
from locales import available_languages, catalogue


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", "5"),
        ("FIVE!", "5"),
        ("cinq", "5"),
        ("1/5", "1"),
        ("Very important", "5"),
        ("not important", "1"),
        ("idk", "unsure"),
        ("I don't know", "unsure"),
        ("Je ne sais pas.", "unsure"),
        ("sehr wichtig", "5"),
        ("6", None),
        ("45", None),
        ("It matters a lot to me", None),
        ("", None),
    ],
)
def test_priority(text: str, expected: str | None) -> None:
    assert parse_priority(text) == expected


def test_roles_and_skip_words() -> None:
    assert parse_role("Usagère") == "service_user"
    assert parse_role("Développeur") == "technologist"
    assert parse_role("aidant") == "family_carer"  # no longer filed as a worker
    assert parse_role("I look after a family member") == "family_carer"
    assert parse_role("astronaut") is None
    assert is_skip("Passer") and is_skip("skip.") and not is_skip("skipping lunch")


@pytest.mark.parametrize("text", ["yes", "OK!", "👍", "oui", "d'accord", "ja", "sí", "va bene"])
def test_typed_yes(text: str) -> None:
    assert is_yes(text)
    assert not is_no(text)


def test_help_and_stop_words_are_whole_messages() -> None:
    assert asks_for_help("Help!") and asks_for_help("I need to talk to someone")
    assert not asks_for_help("It would help me to have more time")
    assert is_withdrawal("Stop") and is_withdrawal("supprimer mes données")
    assert not is_withdrawal("Stop the cuts to home care")


def test_every_language_brings_its_own_words() -> None:
    """The lists are data: each language has every kind, and no word means two things."""
    kinds = [key for key in catalogue("en") if key.startswith("words.")]
    for language in available_languages():
        table = catalogue(language)
        for key in kinds:
            assert table.get(key, "").strip(), f"{language} has no {key}"
    exclusive = [
        "yes",
        "no",
        "skip",
        "unsure",
        "help",
        "stop",
        *(f"priority.{n}" for n in "12345"),
        *(f"role.{role}" for role in ROLES),
    ]
    for index, first in enumerate(exclusive):
        for second in exclusive[index + 1 :]:
            assert not words(first) & words(second), (first, second, words(first) & words(second))
    # "Partly" is asked only where a rating is not (the member check), so it may share words
    # with the ratings ("a little"), never with what every step understands.
    for kind in ("yes", "no", "skip", "unsure", "help", "stop"):
        assert not words("partly") & words(kind), (kind, words("partly") & words(kind))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Yes", "yes"),
        ("oui", "yes"),
        ("a little", "partly"),
        ("Partly!", "partly"),
        ("nee", "no"),
        ("No.", "no"),
        ("training matters more", None),
    ],
)
def test_member_check_words(text: str, expected: str | None) -> None:
    assert parse_match(text) == expected
