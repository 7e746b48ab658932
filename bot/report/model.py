"""What a facilitator report says, as data: computed once, then rendered to HTML or JSON.

Keeping the figures apart from the page means the JSON export carries exactly what the page
shows, and tests can check the figures without parsing HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.report.agreement import FollowupChange, TopicAgreement
from bot.report.keywords import Distinctive, Groups


@dataclass(frozen=True)
class WorkshopFacts:
    code: str
    title: str
    created_at: datetime
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    participants: int
    by_role: Mapping[str, int]
    """Every role of the catalogue, in its order, zero when nobody has it."""
    by_language: Mapping[str, int]
    quote_consent: int
    """Participants who agreed that their words may be quoted (everyone here consented to
    take part: a participant row exists only after consent)."""
    easy_read: int
    finished: int
    started: Mapping[str, int]
    """Topic -> participants with at least one answer (or skip) on it in the first round."""
    first_answer: datetime | None
    last_answer: datetime | None


@dataclass(frozen=True)
class Coverage:
    """Who is missing on one topic: ratings per role and the roles whose voice is thin."""

    answered: Mapping[str, int]
    flagged: tuple[str, ...]


@dataclass(frozen=True)
class Quote:
    answer_id: int
    role: str
    language: str
    text: str


@dataclass(frozen=True)
class QuestionThemes:
    """The keyword groups of one text question on one topic."""

    question: str
    groups: Groups
    quotes: Mapping[int, tuple[Quote, ...]]
    """Group index -> up to three approved quotes, most representative first."""
    voices: Mapping[str, int]
    """Role -> answers given as voice messages (not grouped: only the words are read)."""
    held_back: int
    """Answers marked sensitive: never grouped, quoted or shown in a report."""


@dataclass(frozen=True)
class TopicReport:
    rec: str
    plain_title: str
    title: str
    coverage: Coverage
    agreement: TopicAgreement
    themes: tuple[QuestionThemes, ...]
    distinctive: Mapping[str, tuple[Distinctive, ...]]
    followup: Mapping[str, FollowupChange]
    """Role -> change between the rounds; "everyone" included; empty without a second round."""
    member_check: Mapping[str, Mapping[str, int]]
    """Role -> "yes"/"partly"/"no" -> answers to "Does this match what you think?" in the
    follow-up round; "everyone" included; empty when nobody answered it."""
    followup_comments: int
    """What people added in the follow-up round (typed or voice), to read in the export."""


@dataclass(frozen=True)
class Report:
    workshop: WorkshopFacts
    language: str
    roles: tuple[str, ...]
    """Roles with at least one participant, in the catalogue's order: the matrix columns."""
    missing_roles: tuple[str, ...]
    """Roles of the catalogue nobody with that role joined (except "other")."""
    summary: Summary
    topics: tuple[TopicReport, ...]
    min_group_size: int
    generated_at: datetime
    version: str
    answers: int
    """Answer rows read (both rounds, skips included)."""

    @property
    def flagged_roles(self) -> tuple[str, ...]:
        """Roles under-represented on at least one topic: the ones a nudge is for."""
        flagged = {role for topic in self.topics for role in topic.coverage.flagged}
        return tuple(role for role in self.roles if role in flagged)
