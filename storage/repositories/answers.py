"""Answers, written the moment they are given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer


async def for_participant(
    session: AsyncSession, participant_id: int, *, round: int | None = 1
) -> Sequence[Answer]:
    """One round's answers, or every round's with `round=None`."""
    statement = select(Answer).where(Answer.participant_id == participant_id)
    if round is not None:
        statement = statement.where(Answer.round == round)
    result = await session.scalars(statement.order_by(Answer.round, Answer.id))
    return result.all()


# One answer's identity: (recommendation id, question, round).
AnswerKey = tuple[str, str, int]


def key_of(answer: Answer) -> AnswerKey:
    return (answer.recommendation_id, answer.question, answer.round)


@dataclass(frozen=True)
class Saved:
    answer: Answer
    # A recording this change made obsolete, to delete from disk once the change is committed.
    replaced_voice_path: str | None = None


async def save(
    session: AsyncSession,
    *,
    participant_id: int,
    recommendation_id: str,
    question: str,
    value: str | None,
    skipped: bool,
    voice_file_id: str | None,
    voice_duration: int | None,
    now: datetime,
    round: int = 1,
    known: dict[AnswerKey, Answer] | None = None,
) -> Saved:
    """Insert or update the single row for this question; a change records `edited_at`.

    `known` is every row of this participant when the caller has already loaded them (the
    participant flow has, to build its snapshot): then nothing is selected again, and a new
    row is added to it.
    """
    key = (recommendation_id, question, round)
    if known is not None:
        answer = known.get(key)
    else:
        answer = await session.scalar(
            select(Answer).where(
                Answer.participant_id == participant_id,
                Answer.recommendation_id == recommendation_id,
                Answer.question == question,
                Answer.round == round,
            )
        )
    replaced: str | None = None
    if answer is None:
        answer = Answer(
            participant_id=participant_id,
            recommendation_id=recommendation_id,
            question=question,
            round=round,
            answered_at=now,
        )
        session.add(answer)
        if known is not None:
            known[key] = answer
    else:
        changed = (answer.value, answer.skipped, answer.voice_file_id) != (
            value,
            skipped,
            voice_file_id,
        )
        if not changed:
            return Saved(answer)
        answer.edited_at = now
        if answer.voice_file_id != voice_file_id:
            replaced, answer.voice_path = answer.voice_path, None
    answer.value = value
    answer.skipped = skipped
    answer.voice_file_id = voice_file_id
    answer.voice_duration = voice_duration
    await session.flush()
    return Saved(answer, replaced)


async def set_voice_path(
    session: AsyncSession, answer_id: int, voice_file_id: str, path: str
) -> bool:
    """Record where a recording was saved, unless the answer changed in the meantime."""
    answer = await session.get(Answer, answer_id)
    if answer is None or answer.voice_file_id != voice_file_id:
        return False
    answer.voice_path = path
    return True
