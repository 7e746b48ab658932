"""Builders for flow tests: snapshots and participants without a database."""

from __future__ import annotations

from collections.abc import Mapping

from bot.flows.catalogue import load_catalogue
from bot.flows.positions import ROLE, Position, Question
from bot.flows.state import AnswerInfo, ParticipantInfo, Snapshot, WorkshopInfo
from bot.rendering import Renderer
from locales import Translator

CATALOGUE = load_catalogue()
RENDERER = Renderer(Translator(), CATALOGUE)
HEADLINE = CATALOGUE.scope("headline")


def workshop(
    *,
    scope: tuple[str, ...] = HEADLINE,
    is_open: bool = True,
    is_active: bool = True,
    code: str = "TESTCODE23",
    id: int = 1,
) -> WorkshopInfo:
    return WorkshopInfo(id, code, "Test workshop", scope, ("en", "fr"), is_open, is_active)


def participant(
    position: Position = ROLE,
    *,
    role: str | None = "worker",
    answers: Mapping[tuple[str, Question], AnswerInfo] | None = None,
    return_to: Position | None = None,
    finished: bool = False,
    ws: WorkshopInfo | None = None,
) -> ParticipantInfo:
    return ParticipantInfo(
        workshop=ws or workshop(),
        role=role,
        role_other=None,
        position=position,
        return_to=return_to,
        finished=finished,
        answers=dict(answers or {}),
    )


def snap(p: ParticipantInfo | None = None, language: str = "en", **kwargs: object) -> Snapshot:
    return Snapshot(
        telegram_language=language,
        person_language=language if p is not None else None,
        participant=p,
        **kwargs,  # type: ignore[arg-type]
    )


def q(rec: str, question: Question) -> Position:
    return Position.question_at(rec, question)


def rendered_text(outcome_views: list, language: str = "en") -> str:  # type: ignore[type-arg]
    return "\n".join(
        message.text for view in outcome_views for message in RENDERER.view(view, language)
    )
