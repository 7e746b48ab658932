"""One pass over a workshop's participants and answers, then the report's figures.

The builder keeps what the statistics need and nothing else: ratings as small integers per
person and topic, and the typed answers (they are the corpus of the keyword groups). For the
1,000-person benchmark that is ~14,000 ratings and ~28,000 short texts, a few tens of MB.
Sensitive answers are counted, never kept: they are not grouped, quoted or shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.flows.catalogue import ROLES, Catalogue
from bot.flows.parsing import NOT_SURE
from bot.flows.positions import MATCH_VALUES, TEXT_QUESTIONS, Question
from bot.flows.stats import FALLBACK_ROLE, is_underrepresented
from bot.report.agreement import FollowupChange, followup_change, topic_agreement
from bot.report.keywords import Text, distinctive_words, keyword_groups
from bot.report.model import (
    Coverage,
    QuestionThemes,
    Quote,
    Report,
    Summary,
    TopicReport,
    WorkshopFacts,
)

if TYPE_CHECKING:
    from storage.repositories.responses import ParticipantRow, ResponseRow

EVERYONE = "everyone"
QUOTES_PER_GROUP = 3
APPROVED = "approved"
# Ratings: 1-5, or None for "not sure".
Rating = int | None
# Called after each topic with (topics done, topics in all): the command line's progress bar.
Progress = Callable[[int, int], None]


def _role(role: str | None) -> str:
    return role if role in ROLES else FALLBACK_ROLE


def _rating(value: str | None) -> tuple[bool, Rating]:
    """(is a rating, the rating); "unsure" is a rating with no number."""
    if value == NOT_SURE:
        return True, None
    if value is not None and value.isdigit() and 1 <= int(value) <= 5:
        return True, int(value)
    return False, None


@dataclass
class _Person:
    role: str
    finished: bool


class ReportBuilder:
    """Feed participants first, then answer rows (any order), then `build()`."""

    def __init__(self, scope: Sequence[str], min_group_size: int) -> None:
        self._scope = tuple(dict.fromkeys(scope))
        self._min_group_size = min_group_size
        self._people: dict[str, _Person] = {}
        self._by_role = dict.fromkeys(ROLES, 0)
        self._by_language: dict[str, int] = defaultdict(int)
        self._quote_consent = 0
        self._easy_read = 0
        self._finished = 0
        self._answers = 0
        self._first: datetime | None = None
        self._last: datetime | None = None
        self._started: dict[str, set[str]] = defaultdict(set)
        # round -> rec -> pseudonym -> rating
        self._ratings: dict[int, dict[str, dict[str, Rating]]] = {1: {}, 2: {}}
        self._texts: dict[tuple[str, str], list[Text]] = defaultdict(list)
        self._quotable: dict[int, Text] = {}
        self._voices: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._held_back: dict[tuple[str, str], int] = defaultdict(int)
        # rec -> role -> member-check answer -> count
        self._checks: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: dict.fromkeys(MATCH_VALUES, 0))
        )
        self._comments: dict[str, int] = defaultdict(int)

    def add_participant(self, row: ParticipantRow) -> None:
        role = _role(row.role)
        self._people[row.pseudonym] = _Person(role, row.finished_at is not None)
        self._by_role[role] += 1
        self._by_language[row.language] += 1
        self._quote_consent += bool(row.quote_consent)
        self._easy_read += row.easy_read
        self._finished += row.finished_at is not None

    def add(self, row: ResponseRow) -> None:
        self._answers += 1
        if self._first is None or row.answered_at < self._first:
            self._first = row.answered_at
        if self._last is None or row.answered_at > self._last:
            self._last = row.answered_at
        rec = row.recommendation_id
        if rec not in self._scope:
            return
        person = self._people.get(row.pseudonym)
        if person is None:  # answered after the participant list was read: count it anyway
            person = self._people[row.pseudonym] = _Person(_role(row.role), False)
        if row.round == 1:
            self._started[rec].add(row.pseudonym)
        if row.skipped:
            return
        if row.question == Question.PRIORITY and row.round in self._ratings:
            is_rating, rating = _rating(row.value)
            if is_rating:
                self._ratings[row.round].setdefault(rec, {})[row.pseudonym] = rating
            return
        if row.round == 2 and row.question == Question.MATCH and row.value in MATCH_VALUES:
            self._checks[rec][person.role][row.value] += 1
            return
        if row.round == 2 and row.question == Question.ADDITION:
            self._comments[rec] += bool(row.is_voice or (row.value and row.value.strip()))
            return
        if row.round != 1 or row.question not in TEXT_QUESTIONS:
            return
        key = (rec, row.question)
        if row.sensitive:
            self._held_back[key] += 1
        elif row.is_voice:
            self._voices[key][person.role] += 1
        elif row.value and row.value.strip():
            text = Text(row.answer_id, person.role, row.language, row.value)
            self._texts[key].append(text)
            if row.may_quote and row.quote_status == APPROVED and person.finished:
                self._quotable[row.answer_id] = text

    def _roles(self) -> tuple[str, ...]:
        return tuple(role for role in ROLES if self._by_role[role])

    def _summary(self) -> Summary:
        return Summary(
            participants=sum(self._by_role.values()),
            by_role=dict(self._by_role),
            by_language=dict(sorted(self._by_language.items())),
            quote_consent=self._quote_consent,
            easy_read=self._easy_read,
            finished=self._finished,
            started={rec: len(self._started.get(rec, ())) for rec in self._scope},
            first_answer=self._first,
            last_answer=self._last,
        )

    def _by_role_of(
        self, ratings: Mapping[str, Rating], roles: Sequence[str]
    ) -> dict[str, list[Rating]]:
        grouped: dict[str, list[Rating]] = {role: [] for role in roles}
        for pseudonym, rating in ratings.items():
            grouped.setdefault(self._people[pseudonym].role, []).append(rating)
        return grouped

    def _coverage(self, grouped: Mapping[str, Sequence[Rating]]) -> Coverage:
        answered = {role: len(ratings) for role, ratings in grouped.items()}
        best = max(answered.values(), default=0)
        flagged = tuple(role for role, n in answered.items() if is_underrepresented(n, best))
        return Coverage(answered, flagged)

    def _themes(self, rec: str, language: str) -> tuple[QuestionThemes, ...]:
        themes = []
        for question in TEXT_QUESTIONS:
            texts = self._texts.get((rec, question), [])
            groups = keyword_groups(texts, display_language=language)
            quotes: dict[int, tuple[Quote, ...]] = {}
            for index, group in enumerate(groups.groups):
                chosen = [
                    Quote(member, quoted.role, quoted.language, quoted.text)
                    for member in group.members
                    if (quoted := self._quotable.get(member)) is not None
                ]
                quotes[index] = tuple(chosen[:QUOTES_PER_GROUP])
            themes.append(
                QuestionThemes(
                    question=question,
                    groups=groups,
                    quotes=quotes,
                    voices=dict(self._voices.get((rec, question), {})),
                    held_back=self._held_back.get((rec, question), 0),
                )
            )
        return tuple(themes)

    def _followup(self, rec: str, roles: Sequence[str]) -> dict[str, FollowupChange]:
        after = self._ratings[2].get(rec, {})
        if not after:
            return {}
        before = self._ratings[1].get(rec, {})
        changes: dict[str, FollowupChange] = {}
        for role in roles:
            members = {p for p in before if self._people[p].role == role}
            changes[role] = followup_change(
                {p: before[p] for p in members}, {p: r for p, r in after.items() if p in members}
            )
        changes[EVERYONE] = followup_change(before, after)
        return changes

    def _member_check(self, rec: str, roles: Sequence[str]) -> dict[str, dict[str, int]]:
        found = self._checks.get(rec)
        if not found:
            return {}
        counts = {role: dict(found[role]) for role in roles if role in found}
        counts[EVERYONE] = {
            value: sum(by_value[value] for by_value in found.values()) for value in MATCH_VALUES
        }
        return counts

    def build(
        self,
        workshop: WorkshopFacts,
        catalogue: Catalogue,
        language: str,
        *,
        generated_at: datetime,
        version: str,
        progress: Progress | None = None,
    ) -> Report:
        roles = self._roles()
        topics = []
        for done, rec in enumerate(self._scope, start=1):
            grouped = self._by_role_of(self._ratings[1].get(rec, {}), roles)
            texts = [t for q in TEXT_QUESTIONS for t in self._texts.get((rec, q), [])]
            topic = catalogue.get(rec)
            topics.append(
                TopicReport(
                    rec=rec,
                    plain_title=topic.text("plain_title", language),
                    title=topic.text("title", language),
                    coverage=self._coverage(grouped),
                    agreement=topic_agreement(grouped, self._min_group_size),
                    themes=self._themes(rec, language),
                    distinctive=distinctive_words(texts, display_language=language),
                    followup=self._followup(rec, roles),
                    member_check=self._member_check(rec, roles),
                    followup_comments=self._comments.get(rec, 0),
                )
            )
            if progress is not None:
                progress(done, len(self._scope))
        return Report(
            workshop=workshop,
            language=language,
            roles=roles,
            missing_roles=tuple(
                role for role in ROLES if role != FALLBACK_ROLE and not self._by_role[role]
            ),
            summary=self._summary(),
            topics=tuple(topics),
            min_group_size=self._min_group_size,
            generated_at=generated_at,
            version=version,
            answers=self._answers,
        )
