"""The topics (the report's recommendations), the roles and the languages, loaded from data.

`topics/structure.yaml` says which topics exist, in which sessions and scopes, which roles a
participant can choose and which languages are complete; `topics/<lang>.yaml` holds each
topic's texts in one language, standard and easy-read. Adding a topic, a role or a language
is an edit to these files (and the locale catalogues), checked by tests, not new code.

Texts are looked up with a *reading* code (`locales.reading`): a language code, with `.easy`
for the easy-read version.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from locales import REFERENCE_LANGUAGE, parse_reading

# CODESIGN_TOPICS_DIR points the bot at another set of topic files: the tests use it to prove
# that a new question or role is a data change.
TOPICS_DIR = Path(os.environ.get("CODESIGN_TOPICS_DIR") or Path(__file__).with_name("topics"))
# Fields with one text per topic; `summary` has an easy-read version.
TEXT_FIELDS = ("title", "plain_title", "summary")
# Fields with one text per role, each with an easy-read version.
ROLE_FIELDS = ("question", "more")
EASY_FIELDS = ("summary", *ROLE_FIELDS)
# The role whose texts are used when a person's role is unknown or has none of its own.
FALLBACK_ROLE = "other"


@dataclass(frozen=True)
class QuestionSpec:
    """One question asked about every topic: `kind` rating (1-5 buttons) or text (typed or
    spoken); a text question is worded by the topic per role (`wording: topic`) or by the
    locale key `question.<id>.<role>` (`wording: locale`)."""

    id: str
    short: str
    kind: str
    wording: str = "locale"


def _structure() -> Mapping[str, Any]:
    with (TOPICS_DIR / "structure.yaml").open(encoding="utf-8") as handle:
        loaded: Mapping[str, Any] = yaml.safe_load(handle)
    return loaded


@cache
def question_specs() -> tuple[QuestionSpec, ...]:
    specs = tuple(QuestionSpec(**item) for item in _structure()["questions"])
    if not specs or specs[0].id != "priority" or specs[0].kind != "rating":
        raise ValueError("the first question must be the rating question 'priority'")
    if any(spec.kind != "text" or spec.wording not in ("topic", "locale") for spec in specs[1:]):
        raise ValueError("the other questions are text questions, worded by topic or locale")
    return specs


# The roles a participant can choose, in the order the buttons show them.
ROLES: tuple[str, ...] = tuple(_structure()["roles"])


@dataclass(frozen=True)
class TopicTexts:
    """One topic in one language."""

    fields: Mapping[str, str]
    per_role: Mapping[str, Mapping[str, str]]
    easy_fields: Mapping[str, str]
    easy_per_role: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class Recommendation:
    id: str
    kind: str
    session: int
    texts: Mapping[str, TopicTexts]

    def _in(self, language: str) -> TopicTexts:
        return self.texts.get(language) or self.texts[REFERENCE_LANGUAGE]

    def text(self, field: str, reading: str) -> str:
        """A text of the topic itself: official title, plain title or summary."""
        language, easy = parse_reading(reading)
        texts = self._in(language)
        if easy and field in texts.easy_fields:
            return texts.easy_fields[field]
        return texts.fields[field]

    def for_role(self, field: str, role: str | None, reading: str) -> str:
        """The needs question or the "Tell me more" text written for this person's role."""
        language, easy = parse_reading(reading)
        texts = self._in(language)
        table = (texts.easy_per_role if easy else texts.per_role)[field]
        return table.get(role or FALLBACK_ROLE) or table[FALLBACK_ROLE]


@dataclass(frozen=True)
class Catalogue:
    languages: tuple[str, ...]
    roles: tuple[str, ...]
    recommendations: Mapping[str, Recommendation]
    scopes: Mapping[str, tuple[str, ...]]
    sessions: Mapping[int, Mapping[str, str]]

    def get(self, rec_id: str) -> Recommendation:
        return self.recommendations[rec_id]

    def scope(self, name: str) -> tuple[str, ...]:
        return self.scopes[name]


def _topic_texts(raw: Mapping[str, Any], roles: tuple[str, ...], where: str) -> TopicTexts:
    missing = [name for name in (*TEXT_FIELDS, *ROLE_FIELDS, "easy") if name not in raw]
    if missing:
        raise ValueError(f"{where}: missing {missing}")
    easy = raw["easy"]
    for field in ROLE_FIELDS:
        for table, label in ((raw[field], field), (easy.get(field, {}), f"easy.{field}")):
            absent = [role for role in roles if role not in table]
            if absent:
                raise ValueError(f"{where}: {label} has no text for {absent}")
    return TopicTexts(
        fields={name: str(raw[name]) for name in TEXT_FIELDS},
        per_role={field: dict(raw[field]) for field in ROLE_FIELDS},
        easy_fields={"summary": str(easy["summary"])},
        easy_per_role={field: dict(easy[field]) for field in ROLE_FIELDS},
    )


def _parse(directory: Path) -> Catalogue:
    with (directory / "structure.yaml").open(encoding="utf-8") as handle:
        structure = yaml.safe_load(handle)
    languages = tuple(structure["languages"])
    roles = tuple(structure["roles"])
    if FALLBACK_ROLE not in roles:
        raise ValueError(f"the roles must include {FALLBACK_ROLE!r}")
    per_language: dict[str, Mapping[str, Any]] = {}
    for language in languages:
        with (directory / f"{language}.yaml").open(encoding="utf-8") as handle:
            per_language[language] = yaml.safe_load(handle)
    recommendations: dict[str, Recommendation] = {}
    for item in structure["recommendations"]:
        rec_id = item["id"]
        texts = {
            language: _topic_texts(
                doc["topics"][rec_id], roles, f"topics/{language}.yaml {rec_id}"
            )
            for language, doc in per_language.items()
        }
        recommendations[rec_id] = Recommendation(
            id=rec_id, kind=item["kind"], session=int(item["session"]), texts=texts
        )
    scopes = {name: tuple(ids) for name, ids in structure["scopes"].items()}
    for name, ids in scopes.items():
        unknown = [rec_id for rec_id in ids if rec_id not in recommendations]
        if unknown:
            raise ValueError(f"scope {name} names unknown recommendations {unknown}")
    sessions = {
        int(session): {
            language: str(doc["sessions"][session]) for language, doc in per_language.items()
        }
        for session in structure["sessions"]
    }
    return Catalogue(
        languages=languages,
        roles=roles,
        recommendations=recommendations,
        scopes=scopes,
        sessions=sessions,
    )


@cache
def load_catalogue(directory: Path = TOPICS_DIR) -> Catalogue:
    return _parse(directory)
