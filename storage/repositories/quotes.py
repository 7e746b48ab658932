"""Words people agreed to share, and the facilitators' decision on quoting each of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer, Participant


class QuoteStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    HIDDEN = "hidden"


@dataclass(frozen=True)
class QuoteRow:
    answer_id: int
    recommendation_id: str
    question: str
    round: int
    text: str
    role: str | None
    status: QuoteStatus


def _quotable(workshop_id: int, questions: Sequence[str]) -> Select[Answer, Participant]:
    """Only what may ever be quoted: the person said yes, finished, and the words are not
    marked sensitive (whatever a facilitator decides later)."""
    return (
        select(Answer, Participant)
        .join(Participant, Participant.id == Answer.participant_id)
        .where(
            Participant.workshop_id == workshop_id,
            Participant.finished_at.is_not(None),
            Answer.may_quote.is_(True),
            Answer.sensitive.is_(False),
            Answer.skipped.is_(False),
            Answer.value.is_not(None),
            Answer.question.in_(questions),
        )
        .order_by(Answer.recommendation_id, Answer.question, Answer.id)
    )


def _row(answer: Answer, participant: Participant) -> QuoteRow:
    return QuoteRow(
        answer.id,
        answer.recommendation_id,
        answer.question,
        answer.round,
        answer.value or "",
        participant.role,
        QuoteStatus(answer.quote_status),
    )


async def candidates(
    session: AsyncSession, workshop_id: int, questions: Sequence[str]
) -> list[QuoteRow]:
    rows = await session.execute(_quotable(workshop_id, questions))
    return [_row(answer, participant) for answer, participant in rows]


async def approved(
    session: AsyncSession, workshop_id: int, questions: Sequence[str]
) -> list[QuoteRow]:
    statement = _quotable(workshop_id, questions).where(
        Answer.quote_status == QuoteStatus.APPROVED
    )
    return [_row(answer, participant) for answer, participant in await session.execute(statement)]


async def decide(
    session: AsyncSession,
    workshop_id: int,
    answer_id: int,
    status: QuoteStatus,
    questions: Sequence[str],
) -> QuoteRow | None:
    """Approve or hide one candidate; None if it is (no longer) quotable."""
    found = (
        await session.execute(_quotable(workshop_id, questions).where(Answer.id == answer_id))
    ).first()
    if found is None:
        return None
    answer, participant = found
    answer.quote_status = status.value
    return _row(answer, participant)


async def workshop_of_answer(session: AsyncSession, answer_id: int) -> int | None:
    return await session.scalar(
        select(Participant.workshop_id)
        .join(Answer, Answer.participant_id == Participant.id)
        .where(Answer.id == answer_id)
    )
