"""Where a participant is in the conversation, as a value that round-trips through a string.

The string form is what the database stores and what buttons carry, so a button can be checked
against the participant's current position and a stale press detected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Question(StrEnum):
    PRIORITY = "priority"
    NEEDS = "needs"
    CONCERNS = "concerns"

    @property
    def short(self) -> str:
        return _SHORT[self]


QUESTIONS: tuple[Question, ...] = (Question.PRIORITY, Question.NEEDS, Question.CONCERNS)
_SHORT = {Question.PRIORITY: "pr", Question.NEEDS: "nd", Question.CONCERNS: "cn"}
_FROM_SHORT = {short: question for question, short in _SHORT.items()}


class Step(StrEnum):
    ROLE = "role"
    ROLE_OTHER = "role_other"
    QUESTION = "q"
    REVIEW = "review"
    DONE = "done"


@dataclass(frozen=True)
class Position:
    step: Step
    rec: str | None = None
    question: Question | None = None

    def encode(self) -> str:
        if self.step is Step.QUESTION:
            assert self.rec is not None and self.question is not None
            return f"q.{self.rec}.{self.question.short}"
        return self.step.value

    @classmethod
    def decode(cls, raw: str) -> Position:
        if raw.startswith("q."):
            parts = raw.split(".")
            if len(parts) != 3 or parts[2] not in _FROM_SHORT or not parts[1]:
                raise ValueError(f"bad position {raw!r}")
            return cls(Step.QUESTION, parts[1], _FROM_SHORT[parts[2]])
        try:
            step = Step(raw)
        except ValueError:
            raise ValueError(f"bad position {raw!r}") from None
        if step is Step.QUESTION:
            raise ValueError(f"bad position {raw!r}")
        return cls(step)

    @classmethod
    def question_at(cls, rec: str, question: Question) -> Position:
        return cls(Step.QUESTION, rec, question)


ROLE = Position(Step.ROLE)
ROLE_OTHER = Position(Step.ROLE_OTHER)
REVIEW = Position(Step.REVIEW)
DONE = Position(Step.DONE)


def next_position(position: Position, scope: tuple[str, ...]) -> Position:
    """The position after answering (or skipping) the current one."""
    if position.step in (Step.ROLE, Step.ROLE_OTHER):
        return Position.question_at(scope[0], Question.PRIORITY)
    if position.step is Step.QUESTION:
        assert position.rec is not None and position.question is not None
        index = QUESTIONS.index(position.question)
        if index + 1 < len(QUESTIONS):
            return Position.question_at(position.rec, QUESTIONS[index + 1])
        rec_index = scope.index(position.rec)
        if rec_index + 1 < len(scope):
            return Position.question_at(scope[rec_index + 1], Question.PRIORITY)
        return REVIEW
    return position


def previous_position(position: Position, scope: tuple[str, ...]) -> Position:
    """The position 'Back' leads to: the previous question, or the role from the first one."""
    if position.step is Step.QUESTION:
        assert position.rec is not None and position.question is not None
        index = QUESTIONS.index(position.question)
        if index > 0:
            return Position.question_at(position.rec, QUESTIONS[index - 1])
        rec_index = scope.index(position.rec)
        if rec_index > 0:
            return Position.question_at(scope[rec_index - 1], Question.CONCERNS)
        return ROLE
    if position.step is Step.REVIEW:
        return Position.question_at(scope[-1], Question.CONCERNS)
    return position
