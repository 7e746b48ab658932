"""Answers, written the moment they are given."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer


async def for_participant(
    session: AsyncSession, participant_id: int, *, round: int = 1
) -> Sequence[Answer]:
    result = await session.scalars(
        select(Answer)
        .where(Answer.participant_id == participant_id, Answer.round == round)
        .order_by(Answer.id)
    )
    return result.all()


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
) -> Answer:
    """Insert or update the single row for this question; a change records `edited_at`."""
    answer = await session.scalar(
        select(Answer).where(
            Answer.participant_id == participant_id,
            Answer.recommendation_id == recommendation_id,
            Answer.question == question,
            Answer.round == round,
        )
    )
    if answer is None:
        answer = Answer(
            participant_id=participant_id,
            recommendation_id=recommendation_id,
            question=question,
            round=round,
            answered_at=now,
        )
        session.add(answer)
    else:
        changed = (answer.value, answer.skipped, answer.voice_file_id) != (
            value,
            skipped,
            voice_file_id,
        )
        if not changed:
            return answer
        answer.edited_at = now
    answer.value = value
    answer.skipped = skipped
    answer.voice_file_id = voice_file_id
    answer.voice_duration = voice_duration
    await session.flush()
    return answer
