"""Answers, written the moment they are given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Answer

# One answer's identity: (recommendation id, question, round).
AnswerKey = tuple[str, str, int]


@dataclass(frozen=True)
class Brief:
    """What the conversation needs to know of a stored answer, without the whole row."""

    id: int
    recommendation_id: str
    question: str
    round: int
    value: str | None
    skipped: bool
    voice_duration: int | None
    may_quote: bool = False
    sensitive: bool = False

    @property
    def key(self) -> AnswerKey:
        return (self.recommendation_id, self.question, self.round)


# Built once: it runs on every message. Plain columns rather than Answer objects, which cost
# several times more to build and are only needed for the rare edit of an answer.
_BRIEFS = (
    select(
        Answer.id,
        Answer.recommendation_id,
        Answer.question,
        Answer.round,
        Answer.value,
        Answer.skipped,
        Answer.voice_duration,
        Answer.may_quote,
        Answer.sensitive,
    )
    .where(Answer.participant_id == bindparam("participant_id"))
    .order_by(Answer.round, Answer.id)
)


async def briefs(session: AsyncSession, participant_id: int) -> list[Brief]:
    """Every round's answers of one participant, in the order they were first given."""
    result = await session.execute(_BRIEFS, {"participant_id": participant_id})
    return [Brief(*row) for row in result]


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
    known: dict[AnswerKey, int | Answer] | None = None,
    sensitive: bool = False,
    may_quote: bool = False,
    message_id: int | None = None,
    keep_voice: bool = False,
) -> Saved:
    """Insert or update the single row for this question; a change records `edited_at`.

    It does not flush: the participant flow writes all of an update's changes in one flush.

    `known` is what the caller already knows of this participant's rows (the participant flow
    loads their ids for its snapshot): a new answer is then inserted without a look-up, an
    edit loads just its row, and the new row is added to `known`.
    """
    key = (recommendation_id, question, round)
    answer: Answer | None
    if known is not None:
        found = known.get(key)
        answer = await session.get(Answer, found) if isinstance(found, int) else found
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
        if keep_voice and voice_file_id is None:
            voice_file_id, voice_duration = answer.voice_file_id, answer.voice_duration
        changed = (answer.value, answer.skipped, answer.voice_file_id) != (
            value,
            skipped,
            voice_file_id,
        )
        if not changed:
            answer.sensitive = answer.sensitive or sensitive
            return Saved(answer)
        answer.edited_at = now
        if answer.voice_file_id != voice_file_id:
            replaced, answer.voice_path = answer.voice_path, None
    answer.value = value
    answer.skipped = skipped
    answer.voice_file_id = voice_file_id
    answer.voice_duration = voice_duration
    # What the words say decides: a new answer without signs of distress is no longer held back.
    answer.sensitive = sensitive
    answer.may_quote = may_quote
    if message_id is not None:
        answer.message_id = message_id
    return Saved(answer, replaced)  # written by the caller's flush or commit


async def by_message(
    session: AsyncSession, participant_id: int, message_id: int
) -> tuple[str, str, int] | None:
    """The answer a Telegram message gave (recommendation, question, round), if any."""
    row = (
        await session.execute(
            select(Answer.recommendation_id, Answer.question, Answer.round).where(
                Answer.participant_id == participant_id, Answer.message_id == message_id
            )
        )
    ).first()
    return (row[0], row[1], row[2]) if row is not None else None


async def set_may_quote(
    session: AsyncSession,
    participant_id: int,
    value: bool,
    *,
    questions: Sequence[str],
    key: AnswerKey | None = None,
) -> None:
    """Their yes or no to being quoted: for every typed answer, or for one of them."""
    statement = update(Answer).where(
        Answer.participant_id == participant_id,
        Answer.value.is_not(None),
        Answer.question.in_(questions),
    )
    if key is not None:
        rec, question, round = key
        statement = statement.where(
            Answer.recommendation_id == rec, Answer.question == question, Answer.round == round
        )
    await session.execute(statement.values(may_quote=value))


async def set_voice_path(
    session: AsyncSession, answer_id: int, voice_file_id: str, path: str
) -> bool:
    """Record where a recording was saved, unless the answer changed in the meantime."""
    answer = await session.get(Answer, answer_id)
    if answer is None or answer.voice_file_id != voice_file_id:
        return False
    answer.voice_path = path
    return True
