"""Signs of distress, self-harm, suicidal thoughts, abuse or neglect in typed text.

A phrase lexicon per language (`lexicon/<lang>.yaml`), not a model: nothing can be downloaded
at run time here, and a reviewed lexicon is the baseline safeguarding teams use and can read.
Each file lists regular expressions over *normalised* text (lower case, no accents, straight
apostrophes, single spaces) and guards: idioms and negations ("I'm dying to try it", "it will
kill jobs", "I am not suicidal") whose span cancels any pattern match it overlaps.

Every language's lexicon is checked whatever language the person reads the bot in: people
often type in their own language, and a missed cry for help costs far more than a false alarm
(which only shows the helpline and tells the team).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LEXICON_DIR = Path(__file__).with_name("lexicon")
CATEGORIES = ("suicide", "self_harm", "distress", "abuse", "neglect")

# Curly and other apostrophes become ', and ligatures that no Unicode normal form splits
# ("sœur", "cœur") are written out, so patterns are written once, plainly.
_APOSTROPHES = str.maketrans(
    {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "´": "'", "œ": "oe", "æ": "ae"}
)
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower case, accents and curly apostrophes removed, whitespace collapsed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_APOSTROPHES))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _SPACES.sub(" ", plain).strip()


@dataclass(frozen=True)
class Pattern:
    id: str
    category: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    language: str
    patterns: tuple[Pattern, ...]
    guards: tuple[re.Pattern[str], ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Match:
    """What was found: the categories and the pattern ids (never the words themselves)."""

    categories: frozenset[str]
    pattern_ids: tuple[str, ...]


def _compile(expression: str, where: str) -> re.Pattern[str]:
    try:
        return re.compile(expression)
    except re.error as error:
        raise ValueError(f"{where}: bad regular expression {expression!r}: {error}") from None


def parse_lexicon(raw: Mapping[str, Any], where: str = "lexicon") -> Lexicon:
    language = str(raw["language"])
    patterns = []
    for item in raw["patterns"]:
        category = str(item["category"])
        if category not in CATEGORIES:
            raise ValueError(f"{where}: {item['id']}: unknown category {category!r}")
        patterns.append(
            Pattern(
                str(item["id"]), category, _compile(str(item["regex"]), f"{where}:{item['id']}")
            )
        )
    guards = tuple(_compile(str(guard), f"{where}: guard") for guard in raw.get("guards") or ())
    return Lexicon(language, tuple(patterns), guards, tuple(raw.get("sources") or ()))


@cache
def load_lexicons(directory: Path = LEXICON_DIR) -> tuple[Lexicon, ...]:
    lexicons = []
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            lexicons.append(parse_lexicon(yaml.safe_load(handle), path.name))
    return tuple(lexicons)


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in spans)


def find(text: str, lexicons: Iterable[Lexicon] | None = None) -> Match | None:
    """The signs of distress in `text`, or None when there are none."""
    plain = normalise(text)
    if not plain:
        return None
    chosen = tuple(lexicons) if lexicons is not None else load_lexicons()
    guarded = [m.span() for lexicon in chosen for g in lexicon.guards for m in g.finditer(plain)]
    categories: set[str] = set()
    ids: list[str] = []
    for lexicon in chosen:
        for pattern in lexicon.patterns:
            for found in pattern.regex.finditer(plain):
                if not _overlaps(found.span(), guarded):
                    categories.add(pattern.category)
                    ids.append(pattern.id)
                    break
    if not ids:
        return None
    return Match(frozenset(categories), tuple(ids))
