"""Read-side queries for facilitators: answers as flat rows, streamed, and participants.

Exports of 100,000 answers must run in constant memory, so rows are streamed from the
database in batches and never collected into a list here.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, Participant, Person, Workshop

STREAM_BATCH = 1000


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """One answer with who gave it (by pseudonym) and where; the unit of every export."""

    workshop_code: str
    pseudonym: str
    role: str | None
    role_other: str | None
    language: str
    recommendation_id: str
    question: str
    round: int
    value: str | None
    skipped: bool
    is_voice: bool
    voice_path: str | None
    voice_duration: int | None
    answered_at: datetime
    edited_at: datetime | None
    sensitive: bool = False
    may_quote: bool = False
    easy_read: bool = False
    answer_id: int = 0
    quote_status: str = "pending"
    """A facilitator's decision on quoting it (storage.repositories.quotes.QuoteStatus)."""


@dataclass(frozen=True, slots=True)
class ParticipantRow:
    workshop_code: str
    pseudonym: str
    role: str | None
    role_other: str | None
    language: str
    consented_at: datetime
    last_active_at: datetime
    finished_at: datetime | None
    answers: int
    easy_read: bool = False
    quote_consent: bool | None = None


# Who answered, as every export shows them: the first five columns of both row kinds below.
_WHO = (
    Workshop.code,
    Participant.pseudonym,
    Participant.role,
    Participant.role_other,
    Person.language,
)


async def stream_answers(
    session: AsyncSession, workshop_id: int
) -> AsyncGenerator[ResponseRow, None]:
    """Every answer of a workshop, ordered by participant, recommendation order is the caller's."""
    statement = (
        select(
            *_WHO,
            Answer.recommendation_id,
            Answer.question,
            Answer.round,
            Answer.value,
            Answer.skipped,
            Answer.voice_file_id,
            Answer.voice_path,
            Answer.voice_duration,
            Answer.answered_at,
            Answer.edited_at,
            Answer.sensitive,
            Answer.may_quote,
            Person.easy_read,
            Answer.id,
            Answer.quote_status,
        )
        .join(Participant, Participant.id == Answer.participant_id)
        .join(Person, Person.telegram_user_id == Participant.telegram_user_id)
        .join(Workshop, Workshop.id == Participant.workshop_id)
        .where(Participant.workshop_id == workshop_id)
        .order_by(Participant.id, Answer.round, Answer.id)
        .execution_options(yield_per=STREAM_BATCH)
    )
    result = await session.stream(statement)
    async for row in result:
        yield ResponseRow(
            workshop_code=row[0],
            pseudonym=row[1],
            role=row[2],
            role_other=row[3],
            language=row[4],
            recommendation_id=row[5],
            question=row[6],
            round=row[7],
            value=row[8],
            skipped=row[9],
            is_voice=row[10] is not None,
            voice_path=row[11],
            voice_duration=row[12],
            answered_at=row[13],
            edited_at=row[14],
            sensitive=row[15],
            may_quote=row[16],
            easy_read=row[17],
            answer_id=row[18],
            quote_status=row[19],
        )


async def count_answers(session: AsyncSession, workshop_id: int) -> int:
    statement = (
        select(func.count())
        .select_from(Answer)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(Participant.workshop_id == workshop_id)
    )
    return int(await session.scalar(statement) or 0)


async def participants(session: AsyncSession, workshop_id: int) -> list[ParticipantRow]:
    """One row per participant (hundreds, not millions: a list is fine)."""
    answer_count = (
        select(func.count())
        .where(Answer.participant_id == Participant.id)
        .correlate(Participant)
        .scalar_subquery()
    )
    statement = (
        select(
            *_WHO,
            Participant.consented_at,
            Participant.last_active_at,
            Participant.finished_at,
            answer_count,
            Person.easy_read,
            Participant.quote_consent,
        )
        .join(Person, Person.telegram_user_id == Participant.telegram_user_id)
        .join(Workshop, Workshop.id == Participant.workshop_id)
        .where(Participant.workshop_id == workshop_id)
        .order_by(Participant.id)
    )
    rows = await session.execute(statement)
    return [
        ParticipantRow(
            workshop_code=row[0],
            pseudonym=row[1],
            role=row[2],
            role_other=row[3],
            language=row[4],
            consented_at=row[5],
            last_active_at=row[6],
            finished_at=row[7],
            answers=int(row[8]),
            easy_read=row[9],
            quote_consent=row[10],
        )
        for row in rows
    ]
