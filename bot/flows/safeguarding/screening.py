"""What the participant flow does when typed words show signs of distress or abuse.

The person's words are still kept (they are theirs), marked sensitive; a safeguarding lead is
alerted; and the person sees, before anything else, where a human can help. Pure: no
Telegram, no database.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace

from bot.flows.callbacks import Verb, callback
from bot.flows.positions import Position
from bot.flows.safeguarding.detector import detect
from bot.flows.safeguarding.helplines import (
    emergency_number,
    helpline_always_open,
    helpline_text,
)
from bot.flows.state import Change, Outcome, ParticipantInfo, RaiseAlert, SaveAnswer, WorkshopInfo
from bot.flows.views import Button, Lines, Literal, Msg, Part, View

# Enough of what they wrote for a lead to understand; the answer itself keeps all of it.
MAX_ALERT_CHARS = 4000


def shows_distress(text: str, languages: Collection[str] | None = None) -> bool:
    return detect(text, languages) is not None


def screen(
    participant: ParticipantInfo,
    position: Position,
    text: str,
    outcome: Outcome,
    languages: Collection[str] | None = None,
) -> Outcome:
    """The outcome of typed words, turned into the safety path when they show distress."""
    found = detect(text, languages)
    if found is None:
        return outcome
    changes: list[Change] = [
        replace(change, sensitive=True) if isinstance(change, SaveAnswer) else change
        for change in outcome.changes
    ]
    changes.append(
        RaiseAlert(
            words=text.strip()[:MAX_ALERT_CHARS],
            categories=tuple(sorted(found.categories)),
            rec=position.rec,
            question=position.question,
        )
    )
    return Outcome(
        outcome.language,
        [safety_reply(participant.workshop, can_ask_contact=True)],
        changes,
        clear_origin_keyboard=outcome.clear_origin_keyboard,
    )


def help_lines(workshop: WorkshopInfo | None) -> tuple[Part, ...]:
    """112, the helpline and the workshop's own contact, one per line."""
    lines: list[Part] = [Msg("safety.emergency", {"number": emergency_number()})]
    country, override = (workshop.country, workshop.helpline) if workshop else (None, None)
    helpline = helpline_text(country, override)
    if helpline:
        # "Free, day and night" only for a line known to be both.
        always = helpline_always_open(country, override)
        key = "safety.helpline" if always else "safety.helpline_any"
        lines.append(Msg(key, {"helpline": Literal(helpline)}))
    if workshop is not None and workshop.contact:
        lines.append(
            Msg(
                "safety.team",
                {
                    "organisation": Literal(workshop.organisation),
                    "contact": Literal(workshop.contact),
                },
            )
        )
    return tuple(lines)


def safety_reply(workshop: WorkshopInfo | None, *, can_ask_contact: bool) -> View:
    keyboard: list[tuple[Button, ...]] = []
    if can_ask_contact:
        keyboard.append((Button(Msg("safety.contact_me"), callback(Verb.CONTACT_ME)),))
    keyboard.append((Button(Msg("button.continue"), callback(Verb.RESUME)),))
    return View(
        (Msg("safety.intro"), Lines(help_lines(workshop)), Msg("safety.saved")),
        tuple(keyboard),
    )


def contact_requested(workshop: WorkshopInfo) -> View:
    return View(
        (Msg("safety.contact_requested"), Lines(help_lines(workshop))),
        ((Button(Msg("button.continue"), callback(Verb.RESUME)),),),
    )
