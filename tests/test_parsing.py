from __future__ import annotations

import pytest

from bot.flows.parsing import is_skip, parse_language, parse_priority, parse_role


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5", "5"),
        ("FIVE!", "5"),
        ("cinq", "5"),
        ("1/5", "1"),
        ("I don't know", None),
        ("don't know", "unsure"),
        ("Je ne sais pas.", "unsure"),
        ("6", None),
        ("45", None),
        ("", None),
    ],
)
def test_priority(text: str, expected: str | None) -> None:
    assert parse_priority(text) == expected


def test_roles_languages_and_skip_words() -> None:
    assert parse_role("Usagère") == "service_user"
    assert parse_role("Développeur") == "technologist"
    assert parse_role("astronaut") is None
    assert parse_language("Français") == "fr"
    assert is_skip("Passer") and is_skip("skip.") and not is_skip("skipping lunch")
