"""Where a participant is in the conversation, as a value that round-trips through a string.

The string form is what the database stores and what buttons carry, so a button can be checked
against the participant's current position and a stale press detected.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from bot.flows.catalogue import question_specs


class Question(str):
    """The id of a question, as stored in `answers.question`.

    The questions asked about every topic are data (`questions:` in topics/structure.yaml),
    so this is a checked string rather than an enum: `Question("needs")` is valid when the
    structure names it. Four are fixed by the conversation itself: the rating question
    (PRIORITY), the follow-up's member check "Does this match what you think?" (MATCH) and
    "anything to add" (ADDITION), and the words kept where a button was expected (NOTE).
    """

    __slots__ = ()

    PRIORITY: ClassVar[Question]
    ADDITION: ClassVar[Question]
    NOTE: ClassVar[Question]
    MATCH: ClassVar[Question]

    def __new__(cls, value: str) -> Question:
        if value not in _SHORT:
            raise ValueError(f"unknown question {value!r}")
        return super().__new__(cls, value)

    @property
    def value(self) -> str:
        return str(self)

    @property
    def short(self) -> str:
        return _SHORT[self]

    @property
    def is_rating(self) -> bool:
        return self == "priority"

    @property
    def asks_topic_question(self) -> bool:
        """Worded by the topic itself, for the person's role (topics/<lang>.yaml `question`),
        rather than by the locale key `question.<id>.<role>`."""
        return self in _TOPIC_WORDED

    @classmethod
    def known(cls, raw: str) -> Question | None:
        """A stored id, or None for a question the structure no longer asks (its answers
        stay stored and exported, the conversation just does not show them)."""
        return cls(raw) if raw in _SHORT else None

    @classmethod
    def from_short(cls, short: str) -> Question | None:
        found = _FROM_SHORT.get(short)
        return cls(found) if found is not None else None


_SPECS = question_specs()
_SHORT = {spec.id: spec.short for spec in _SPECS} | {"addition": "ad", "note": "nt", "match": "mc"}
_FROM_SHORT = {short: question for question, short in _SHORT.items()}
if len(_FROM_SHORT) != len(_SHORT):
    raise ValueError("two questions share a short code in topics/structure.yaml")
_TOPIC_WORDED = frozenset(spec.id for spec in _SPECS if spec.wording == "topic")
Question.PRIORITY = Question("priority")
Question.ADDITION = Question("addition")
Question.NOTE = Question("note")
Question.MATCH = Question("match")

# Asked about every topic in round one, in this order (the first is the rating question).
QUESTIONS: tuple[Question, ...] = tuple(Question(spec.id) for spec in _SPECS)
# Asked in words (typed or spoken) in round one.
TEXT_QUESTIONS: tuple[Question, ...] = tuple(q for q in QUESTIONS if not q.is_rating)
# The follow-up round: the rating again, the member check (only on topics with approved
# keyword groups to show), then "anything to add".
FOLLOWUP_QUESTIONS: tuple[Question, ...] = (Question.PRIORITY, Question.MATCH, Question.ADDITION)
MATCH_VALUES: tuple[str, ...] = ("yes", "partly", "no")
# Questions answered in words: the only answers that could be quoted.
FREE_TEXT_QUESTIONS: tuple[Question, ...] = (*TEXT_QUESTIONS, Question.ADDITION, Question.NOTE)


class Step(StrEnum):
    ROLE = "role"
    ROLE_OTHER = "role_other"
    QUESTION = "q"
    FOLLOWUP = "f"
    REVIEW = "review"
    DONE = "done"


@dataclass(frozen=True)
class Position:
    step: Step
    rec: str | None = None
    question: Question | None = None

    @property
    def asks(self) -> bool:
        """A position that asks a question about a recommendation (either round)."""
        return self.step in (Step.QUESTION, Step.FOLLOWUP)

    @property
    def round(self) -> int:
        return 2 if self.step is Step.FOLLOWUP else 1

    def encode(self) -> str:
        if self.asks:
            assert self.rec is not None and self.question is not None
            return f"{self.step.value}.{self.rec}.{self.question.short}"
        return self.step.value

    @classmethod
    def decode(cls, raw: str) -> Position:
        parts = raw.split(".")
        if parts[0] in (Step.QUESTION.value, Step.FOLLOWUP.value):
            step = Step(parts[0])
            allowed = QUESTIONS if step is Step.QUESTION else FOLLOWUP_QUESTIONS
            if len(parts) != 3 or not parts[1] or _FROM_SHORT.get(parts[2]) not in allowed:
                raise ValueError(f"bad position {raw!r}")
            return cls(step, parts[1], Question(_FROM_SHORT[parts[2]]))
        try:
            step = Step(raw)
        except ValueError:
            raise ValueError(f"bad position {raw!r}") from None
        if step in (Step.QUESTION, Step.FOLLOWUP):
            raise ValueError(f"bad position {raw!r}")
        return cls(step)

    @classmethod
    def question_at(cls, rec: str, question: Question) -> Position:
        return cls(Step.QUESTION, rec, question)

    @classmethod
    def followup_at(cls, rec: str, question: Question) -> Position:
        return cls(Step.FOLLOWUP, rec, question)


ROLE = Position(Step.ROLE)
ROLE_OTHER = Position(Step.ROLE_OTHER)
REVIEW = Position(Step.REVIEW)
DONE = Position(Step.DONE)


def _questions_of(step: Step) -> tuple[Question, ...]:
    return FOLLOWUP_QUESTIONS if step is Step.FOLLOWUP else QUESTIONS


def _walk(
    position: Position, scope: tuple[str, ...], step: int, checked: Collection[str] = ()
) -> Position | None:
    """One question forward (+1) or back (-1) through recommendations × questions of the
    same round; None past either end. The member check is asked only on `checked` topics."""
    assert position.rec is not None and position.question is not None
    questions = _questions_of(position.step)
    flat = [
        (rec, question)
        for rec in scope
        for question in questions
        if question != Question.MATCH or rec in checked
    ]
    index = flat.index((position.rec, position.question)) + step
    if not 0 <= index < len(flat):
        return None
    rec, question = flat[index]
    return Position(position.step, rec, question)


def next_position(position: Position, scope: tuple[str, ...]) -> Position:
    """The position after answering (or skipping) the current one."""
    if position.step in (Step.ROLE, Step.ROLE_OTHER):
        return Position.question_at(scope[0], Question.PRIORITY)
    if position.step is Step.QUESTION:
        return _walk(position, scope, +1) or REVIEW
    return position


def previous_position(position: Position, scope: tuple[str, ...]) -> Position:
    """The position 'Back' leads to: the previous question, or the role from the first one."""
    if position.step is Step.QUESTION:
        return _walk(position, scope, -1) or ROLE
    if position.step is Step.REVIEW:
        return Position.question_at(scope[-1], QUESTIONS[-1])
    return position


def next_followup(
    position: Position, scope: tuple[str, ...], checked: Collection[str] = ()
) -> Position | None:
    """The next follow-up question, or None after the last one (then the round is over)."""
    return _walk(position, scope, +1, checked)


def previous_followup(
    position: Position, scope: tuple[str, ...], checked: Collection[str] = ()
) -> Position:
    return _walk(position, scope, -1, checked) or position
