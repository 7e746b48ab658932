"""`/mydata`: everything stored about a person, readable and as a JSON file.

The data comes from storage as plain dicts; this module only decides how to show it, so the
person sees the same facts the database holds, in their language.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.flows.catalogue import Catalogue
from bot.flows.positions import Question
from bot.flows.screens import answer_text
from bot.flows.state import AnswerInfo
from bot.flows.views import CatalogueText, Document, Lines, Literal, Msg, Part, View


def _date(value: str | None) -> Literal | Msg:
    return Literal(value[:16].replace("T", " ") + " UTC") if value else Msg("mydata.not_yet")


def _language(code: str | None) -> Msg:
    return Msg(f"language.name.{code}") if code else Msg("mydata.not_yet")


def _quote(consent: bool | None) -> Msg:
    if consent is None:
        return Msg("mydata.not_asked")
    return Msg("mydata.quote_yes" if consent else "mydata.quote_no")


def _role(participation: Mapping[str, Any]) -> Part:
    if participation["role_other"]:
        return Literal(participation["role_other"])
    if participation["role"]:
        return Msg(f"role.{participation['role']}")
    return Msg("mydata.no_role")


def _answer_line(answer: Mapping[str, Any], catalogue: Catalogue) -> Part:
    rec_id = answer["recommendation_id"]
    rec: Part = (
        CatalogueText(rec_id, "plain_title")
        if rec_id in catalogue.recommendations
        else Literal(rec_id)
    )
    question = Question.known(answer["question"])
    info = AnswerInfo(answer["value"], answer["skipped"], answer["voice_duration_seconds"])
    label: Part = Msg(f"mydata.question.{question}") if question else Literal(answer["question"])
    kind = question or Question.NOTE  # a question no longer asked: shown as words
    return Msg(
        "mydata.answer",
        {"rec": rec, "question": label, "answer": answer_text(kind, info, preview=False)},
    )


def views(data: Mapping[str, Any] | None, catalogue: Catalogue) -> list[View]:
    if data is None:
        return [View((Msg("mydata.none"),))]
    blocks: list[Part] = [
        Msg("mydata.intro"),
        Msg(
            "mydata.person",
            {
                "user_id": str(data["telegram_user_id"]),
                "language": Msg(f"language.name.{data['language']}"),
                "reminders": Msg("mydata.yes" if data["reminders_enabled"] else "mydata.no"),
                "created": _date(data["created_at"]),
            },
        ),
        Msg(
            "mydata.easy_read",
            {"value": Msg("mydata.yes" if data.get("easy_read") else "mydata.no")},
        ),
    ]
    for participation in data["participations"]:
        blocks.append(
            Msg(
                "mydata.workshop",
                {
                    "title": Literal(participation["workshop_title"]),
                    "code": participation["workshop_code"],
                    "pseudonym": participation["pseudonym"],
                    "role": _role(participation),
                    "consented": _date(participation["consented_at"]),
                    "consent_language": _language(participation["consent_language"]),
                    "consent_version": participation["consent_version"] or "-",
                    "may_quote": _quote(participation["quote_consent"]),
                    "finished": _date(participation["finished_at"]),
                },
            )
        )
        lines = tuple(_answer_line(answer, catalogue) for answer in participation["answers"])
        if lines:
            blocks.append(Lines(lines))
        if participation["safeguarding_alerts"]:
            count = len(participation["safeguarding_alerts"])
            blocks.append(Msg("mydata.alerts", {"count": count}))
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    return [
        View(tuple(blocks)),
        View((), document=Document("my-data.json", content, Msg("mydata.file_caption"))),
    ]
