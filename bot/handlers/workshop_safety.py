"""`/safety`: load the workshop, decide (bot.flows.workshop_safety), store, reply."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.flows import workshop_safety as flow
from bot.flows.safeguarding.leads import leads_for
from bot.flows.state import Command, WorkshopInfo
from bot.handlers.events import to_event
from bot.handlers.once import Decided, is_facilitator, language_for, run_once, show
from bot.handlers.participant import pseudonymous
from bot.participation import workshop_info
from bot.services import Services
from storage.models import Workshop
from storage.repositories import workshops

log = logging.getLogger(__name__)

# Setting name -> the workshop column it writes.
_COLUMNS = {
    "organisation": "organisation",
    "contact": "contact",
    "privacy": "privacy_url",
    "country": "country",
    "helpline": "helpline",
    "leads": "safeguarding_leads",
    "retention": "retention_months",
}


def _snapshot(services: Services, allowed: bool, workshop: Workshop | None) -> flow.SafetySnapshot:
    if workshop is None:
        return flow.SafetySnapshot(allowed, None)
    leads = leads_for(
        workshop.safeguarding_leads or (), workshop.created_by, services.settings.facilitator_ids
    )
    info = workshop_info(workshop, services.workshop_defaults)
    return flow.SafetySnapshot(allowed, info, leads, bool(workshop.safeguarding_leads))


async def _decide_and_store(
    services: Services,
    session: AsyncSession,
    event: Command,
    user_id: int,
    language_hint: str | None,
) -> Decided[flow.SafetyOutcome]:
    language = await language_for(services, session, user_id, language_hint)
    allowed = is_facilitator(services, user_id)
    code = flow.code_in(event)
    workshop = await workshops.get_by_code(session, code) if allowed and code else None
    outcome = flow.handle(_snapshot(services, allowed, workshop), event)
    for change in outcome.changes:
        assert workshop is not None and workshop.id == change.workshop_id
        value = change.value
        stored: object = list(value) if isinstance(value, tuple) else value
        setattr(workshop, _COLUMNS[change.name], stored)
    if outcome.changes and workshop is not None:
        outcome.views.append(flow.overview(*_overview_args(services, workshop)))
    return Decided(outcome, language)


def _overview_args(
    services: Services, workshop: Workshop
) -> tuple[WorkshopInfo, tuple[int, ...], bool]:
    snapshot = _snapshot(services, True, workshop)
    assert snapshot.workshop is not None
    return snapshot.workshop, snapshot.leads, snapshot.leads_set


async def on_safety_command(update: Update, context: BotContext) -> None:
    services = context.services
    event = to_event(update)
    user = update.effective_user
    if not isinstance(event, Command) or user is None:
        return

    async def work(session: AsyncSession) -> Decided[flow.SafetyOutcome]:
        return await _decide_and_store(services, session, event, user.id, user.language_code)

    result = await run_once(services, update, work)
    if result is None:
        return
    changes = result.outcome.changes
    log.log(
        logging.WARNING if result.outcome.refused else logging.INFO,
        "safety settings %s by user=%s",
        "refused" if result.outcome.refused else ",".join(c.name for c in changes) or "shown",
        pseudonymous(user.id),
    )
    await show(context, update, result)
