"""A safeguarding lead's buttons and typed words: load, decide (flows.safeguarding.leads),
store, then tell the lead and the participant."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot import alerts
from bot.context import BotContext
from bot.flows.safeguarding import leads as flow
from bot.flows.state import ButtonPress, Command, TextInput
from bot.flows.views import View, text_view
from bot.handlers.events import to_event
from bot.handlers.once import language_for, run_once
from bot.handlers.participant import pseudonymous
from bot.sending import deliver
from bot.services import Services
from storage.repositories import safeguarding

log = logging.getLogger(__name__)
BUTTON_PATTERN = r"^sg:"


@dataclass
class _Result:
    outcome: flow.LeadOutcome
    language: str
    # Messages for the participant, after the commit: (telegram id, view).
    to_person: list[tuple[int, View]]


async def _decide_and_store(
    services: Services,
    session: AsyncSession,
    user_id: int,
    telegram_language: str | None,
    event: ButtonPress | TextInput | Command,
) -> _Result:
    language = await language_for(services, session, user_id, telegram_language)
    if isinstance(event, ButtonPress):
        alert_id = flow.alert_id_in(event)
        found = await safeguarding.context(session, alert_id) if alert_id is not None else None
    else:
        found = await safeguarding.relay_of_lead(session, user_id)
    allowed = found is not None and (
        user_id in alerts.leads_of(services, found) or user_id in services.settings.facilitator_ids
    )
    info = alerts.alert_info(found) if found is not None else None
    snapshot = flow.LeadSnapshot(user_id, info if allowed else None, allowed)
    outcome = flow.handle(snapshot, event)
    now = services.clock()
    to_person: list[tuple[int, View]] = []
    for change in outcome.changes:
        assert found is not None
        person_id = found.participant.telegram_user_id
        if isinstance(change, flow.MarkHandled):
            found.alert.handled_by = user_id
            found.alert.handled_at = now
        elif isinstance(change, flow.OpenRelay):
            previous = await safeguarding.open_relay(session, found, user_id, now)
            if previous is not None:
                ended = await safeguarding.context(session, previous)
                if ended is not None:
                    to_person.append(
                        (ended.participant.telegram_user_id, text_view("relay.person_ended"))
                    )
            to_person.append((person_id, text_view("relay.person_opened")))
        elif isinstance(change, flow.CloseRelay):
            await safeguarding.close_relay(session, change.alert_id, now)
            to_person.append((person_id, text_view("relay.person_ended")))
        elif isinstance(change, flow.RelayToPerson):
            to_person.append((person_id, alerts.to_person(change.alert_id, change.text)))
    return _Result(outcome, language, to_person)


async def _run(
    update: Update, context: BotContext, event: ButtonPress | TextInput | Command
) -> None:
    services = context.services
    user = update.effective_user
    assert user is not None

    async def work(session: AsyncSession) -> _Result:
        return await _decide_and_store(services, session, user.id, user.language_code, event)

    result = await run_once(services, update, work)
    if result is None:
        return
    outcome = result.outcome
    for change in outcome.changes:
        if isinstance(change, flow.OpenRelay):
            services.relay_leads.add(user.id)  # committed by now
        elif isinstance(change, flow.CloseRelay):
            services.relay_leads.discard(user.id)
    log.log(
        logging.WARNING if outcome.refused else logging.INFO,
        "safeguarding %s by user=%s changes=%s",
        "refused" if outcome.refused else type(event).__name__,
        pseudonymous(user.id),
        ",".join(type(change).__name__ for change in outcome.changes) or "-",
    )
    views = list(outcome.views)
    for person_id, view in result.to_person:
        if not await alerts.send_quietly(context.bot, services, person_id, view):
            views = [text_view("relay.not_delivered")]
    await deliver(
        context.bot,
        update,
        services.renderer,
        language=result.language,
        views=views,
        toast=outcome.toast,
        replace_origin=outcome.replace_origin,
    )


async def on_alert_button(update: Update, context: BotContext) -> None:
    event = to_event(update)
    if isinstance(event, ButtonPress) and update.effective_user is not None:
        await _run(update, context, event)


async def on_lead_message(update: Update, context: BotContext) -> None:
    """A lead's words while a conversation is open go to the participant; else pass on."""
    services = context.services
    event = to_event(update)
    user = update.effective_user
    if user is None or user.id not in services.relay_leads:
        return  # no conversation open: nobody else pays a query
    if not isinstance(event, TextInput) and not (
        isinstance(event, Command) and event.name == "endchat"
    ):
        return
    async with services.session_factory()() as session:
        if await safeguarding.relay_of_lead(session, user.id) is None:
            services.relay_leads.discard(user.id)
            return
    await _run(update, context, event)
    raise ApplicationHandlerStop
