"""Telling safeguarding leads, and carrying a conversation between a lead and a participant.

Alerts are stored before anything is sent (in the update's own transaction); a lead who could
not be reached is tried again by the scheduler until one send succeeds (`notified_at`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from telegram import Bot
from telegram.error import TelegramError

from bot.core import Core
from bot.flows.callbacks import Verb, callback
from bot.flows.safeguarding import leads
from bot.flows.views import Button, Literal, Msg, View
from bot.sending import send_view
from storage.repositories import people, safeguarding
from storage.repositories.safeguarding import AlertContext

log = logging.getLogger(__name__)


def alert_info(found: AlertContext) -> leads.AlertInfo:
    alert = found.alert
    return leads.AlertInfo(
        id=alert.id,
        workshop_code=found.workshop.code,
        workshop_title=found.workshop.title,
        pseudonym=found.participant.pseudonym,
        rec=alert.recommendation_id,
        categories=tuple(alert.categories or ()),
        created_at=alert.created_at,
        words=alert.words,
        contact_requested=alert.contact_requested_at is not None,
        handled_at=alert.handled_at,
        relay_lead_id=alert.relay_lead_id,
        relay_open=alert.relay_started_at is not None and alert.relay_ended_at is None,
    )


def leads_of(services: Core, found: AlertContext) -> tuple[int, ...]:
    workshop = found.workshop
    return leads.leads_for(
        workshop.safeguarding_leads or (), workshop.created_by, services.settings.facilitator_ids
    )


async def send_quietly(
    bot: Bot, services: Core, user_id: int, view: View, language: str | None = None
) -> bool:
    """Send one view; a failure is logged (never the text) and reported as False."""
    if language is None:
        async with services.session_factory()() as session:
            person = await people.get_person(session, user_id)
        language = person.language if person else "en"
    try:
        await send_view(bot, user_id, view, language, services.renderer)
    except TelegramError as error:
        log.warning("could not send a safeguarding message: %s", type(error).__name__)
        return False
    return True


async def notify(bot: Bot, services: Core, alert_ids: Iterable[int]) -> None:
    """Send each alert to its leads; mark it notified once at least one lead has it."""
    for alert_id in alert_ids:
        async with services.session_factory()() as session:
            found = await safeguarding.context(session, alert_id)
            if found is None:
                continue
            info = alert_info(found)
            recipients = leads_of(services, found)
        reached = [
            user_id
            for user_id in recipients
            if await send_quietly(bot, services, user_id, leads.alert_view(info))
        ]
        log.warning(
            "safeguarding alert %d workshop=%s participant=%s: %d of %d leads reached",
            alert_id,
            info.workshop_code,
            info.pseudonym,
            len(reached),
            len(recipients),
        )
        if reached:
            async with services.session_factory()() as session, session.begin():
                found = await safeguarding.context(session, alert_id)
                if found is not None:
                    found.alert.notified_at = services.clock()


def to_person(alert_id: int, text: str) -> View:
    """A lead's words as the participant reads them, with a way to end the conversation."""
    return View(
        (Msg("relay.from_team", {"text": Literal(text)}),),
        ((Button(Msg("relay.end_button"), callback(Verb.END_RELAY)),),),
    )


def to_lead(alert_id: int, pseudonym: str, text: str) -> View:
    """A participant's words as the lead reads them, with a way to end the conversation."""
    return View(
        (Msg("relay.from_person", {"pseudonym": pseudonym, "text": Literal(text)}),),
        (
            (
                Button(
                    Msg("alert.end_relay"),
                    callback(Verb.ALERT, str(alert_id), leads.Op.END),
                ),
            ),
        ),
    )
