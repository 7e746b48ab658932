"""The columns of every export, defined once.

CSV, XLSX and JSON all read these tables, so the three formats cannot drift apart: adding a
column is one line here. A column says what it is called, what kind of value it holds, and how
to get that value from a row; each writer decides how a kind is spelled in its format (see
`bot.exports.cells` and `bot.exports.render`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Generic, TypeVar

from bot.flows.catalogue import load_catalogue
from storage.repositories.responses import ParticipantRow, ResponseRow

Value = str | int | float | bool | datetime | None
RowT = TypeVar("RowT")


class Kind(Enum):
    TEXT = "text"
    INT = "int"
    NUMBER = "number"
    BOOL = "bool"
    DATETIME = "datetime"


@dataclass(frozen=True, slots=True)
class Column(Generic[RowT]):
    name: str
    kind: Kind
    get: Callable[[RowT], Value]
    # Spreadsheet column width in characters: wide enough to read without resizing.
    width: int = 14

    @property
    def spreadsheet_header(self) -> str:
        """XLSX dates carry no zone, so the header has to say which one they are in."""
        return f"{self.name} (UTC)" if self.kind is Kind.DATETIME else self.name


def role_label(role: str | None, role_other: str | None) -> str | None:
    """The role key; someone who chose "other" and said more reads `other: <their words>`."""
    if role == "other" and role_other:
        return f"other: {role_other}"
    return role


@cache
def recommendation_title(rec_id: str) -> str | None:
    """English title, so one export reads the same whoever answered in which language.

    None for an id the catalogue no longer has (a recommendation removed after answers).
    """
    recommendation = load_catalogue().recommendations.get(rec_id)
    return recommendation.text("title", "en") if recommendation is not None else None


@cache
def plain_title(rec_id: str) -> str | None:
    """The English plain title participants read, next to the report's own title."""
    recommendation = load_catalogue().recommendations.get(rec_id)
    return recommendation.text("plain_title", "en") if recommendation is not None else None


def _answer(row: ResponseRow) -> str | None:
    if row.skipped or row.is_voice:
        return None
    return row.value


RESPONSE_COLUMNS: tuple[Column[ResponseRow], ...] = (
    Column("workshop_code", Kind.TEXT, lambda r: r.workshop_code),
    Column("participant", Kind.TEXT, lambda r: r.pseudonym),
    Column("role", Kind.TEXT, lambda r: role_label(r.role, r.role_other), width=24),
    Column("language", Kind.TEXT, lambda r: r.language),
    Column("recommendation_id", Kind.TEXT, lambda r: r.recommendation_id),
    Column(
        "recommendation_title",
        Kind.TEXT,
        lambda r: recommendation_title(r.recommendation_id),
        width=40,
    ),
    Column("topic", Kind.TEXT, lambda r: plain_title(r.recommendation_id), width=32),
    # "note": words typed or spoken where a button was expected, kept with the topic.
    Column("question", Kind.TEXT, lambda r: r.question),
    Column("round", Kind.INT, lambda r: r.round),
    Column("answer", Kind.TEXT, _answer, width=60),
    Column("skipped", Kind.BOOL, lambda r: r.skipped),
    Column("voice", Kind.BOOL, lambda r: r.is_voice),
    Column("voice_file", Kind.TEXT, lambda r: r.voice_path, width=28),
    Column("answered_at", Kind.DATETIME, lambda r: r.answered_at, width=20),
    Column("edited_at", Kind.DATETIME, lambda r: r.edited_at, width=20),
    # Words that may show distress or abuse: never quote them, handle them with care.
    Column("sensitive", Kind.BOOL, lambda r: r.sensitive),
    # The person said yes to their words being shown, without their name.
    Column("may_quote", Kind.BOOL, lambda r: r.may_quote),
    # They read the easy-read version of the questions.
    Column("easy_read", Kind.BOOL, lambda r: r.easy_read),
)

PARTICIPANT_COLUMNS: tuple[Column[ParticipantRow], ...] = (
    Column("participant", Kind.TEXT, lambda p: p.pseudonym),
    Column("role", Kind.TEXT, lambda p: role_label(p.role, p.role_other), width=24),
    Column("language", Kind.TEXT, lambda p: p.language),
    Column("consented_at", Kind.DATETIME, lambda p: p.consented_at, width=20),
    Column("last_active_at", Kind.DATETIME, lambda p: p.last_active_at, width=20),
    Column("finished_at", Kind.DATETIME, lambda p: p.finished_at, width=20),
    Column("answers", Kind.INT, lambda p: p.answers),
    Column("easy_read", Kind.BOOL, lambda p: p.easy_read),
)
