"""Forgiving reading of typed text where a button was expected.

Many participants are not confident with technology: someone who types "4", "very important",
"idk", "oui" or 👍 instead of tapping a button should be understood, not corrected.

The words live in the locale catalogues (`words.*` keys, alternatives separated by " | "),
so adding a language adds its words. Every language's words are accepted whatever language
the person reads: people mix languages, and a French speaker reading English still types
"oui".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import cache

from bot.flows.catalogue import ROLES
from locales import available_languages, catalogue

NOT_SURE = "unsure"
PRIORITY_VALUES = ("1", "2", "3", "4", "5", NOT_SURE)
_SEPARATOR = "|"


def normalise(text: str) -> str:
    """Lower case, accents folded, punctuation at the ends and repeated spaces removed."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    plain = plain.replace("’", "'").replace("\ufe0f", "")
    plain = re.sub(r"\s+", " ", plain).strip()
    if plain != "?":
        plain = plain.strip(" .!,;:")
    return plain


@cache
def words(kind: str) -> frozenset[str]:
    """Every language's alternatives for `words.<kind>`, normalised."""
    found: set[str] = set()
    for language in available_languages():
        entry = catalogue(language).get(f"words.{kind}", "")
        found.update(normalise(word) for word in entry.split(_SEPARATOR) if word.strip())
    found.discard("")
    return frozenset(found)


def _first_match(text: str, table: Mapping[str, str]) -> str | None:
    """The value whose word list holds the whole (normalised) message."""
    word = normalise(text)
    for value, kind in table.items():
        if word in words(kind):
            return value
    return None


_PRIORITY_KINDS = {value: f"priority.{value}" for value in PRIORITY_VALUES[:-1]}
_PRIORITY_KINDS[NOT_SURE] = "unsure"


def parse_priority(text: str) -> str | None:
    """'4', 'four', '4/5', 'very important', 'idk' → '4' / '5' / 'unsure'; else None."""
    word = normalise(text)
    fraction = re.fullmatch(r"([1-5])\s*(/\s*5)?", word)
    if fraction:
        return fraction.group(1)
    return _first_match(text, _PRIORITY_KINDS)


def parse_role(text: str) -> str | None:
    return _first_match(text, {role: f"role.{role}" for role in ROLES})


def is_skip(text: str) -> bool:
    return normalise(text) in words("skip")


def is_yes(text: str) -> bool:
    return normalise(text) in words("yes")


def is_no(text: str) -> bool:
    return normalise(text) in words("no")


def parse_match(text: str) -> str | None:
    """The member check typed instead of tapped: 'yes' / 'partly' / 'no' (every language)."""
    return _first_match(text, {"yes": "yes", "partly": "partly", "no": "no"})


def asks_for_help(text: str) -> bool:
    """'help', 'I need to talk to someone': show how to reach a person."""
    return normalise(text) in words("help")


def is_withdrawal(text: str) -> bool:
    """Typed words that ask to stop and delete, as the whole message ("Stop the cuts to home
    care" is an answer, not a wish to leave)."""
    return normalise(text) in words("stop")
