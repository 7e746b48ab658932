"""Facilitator commands and settings buttons: load, decide (bot.flows.facilitator), store.

Refusals are logged at WARNING with a hashed user tag, so an operator can see attempts
without the log holding Telegram ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ContextTypes

from bot.flows import facilitator as flow
from bot.flows.state import ButtonPress, Command
from bot.handlers.events import event_kind, to_event
from bot.handlers.once import is_facilitator, language_for, run_once
from bot.handlers.participant import pseudonymous
from bot.handlers.reports import send_export, send_stats
from bot.handlers.sending import deliver
from bot.participation import workshop_info
from bot.services import Services, services_from
from storage.models import Workshop
from storage.repositories import facilitators, workshops

log = logging.getLogger(__name__)


@dataclass
class _Result:
    outcome: flow.FacilitatorOutcome
    snapshot: flow.FacilitatorSnapshot
    language: str
    workshop: Workshop | None


async def on_facilitator_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_from(context.bot_data)
    event = to_event(update)
    user = update.effective_user
    if not isinstance(event, Command | ButtonPress) or user is None:
        return
    bot_username = context.bot.username
    user_id, telegram_language = user.id, user.language_code

    async def work(session: AsyncSession) -> _Result:
        return await _decide_and_store(
            services, session, event, user_id, telegram_language, bot_username
        )

    result = await run_once(services, update, work)
    if result is None:
        if update.callback_query is not None:
            await update.callback_query.answer()
        return
    outcome = result.outcome
    for change in outcome.changes:
        if isinstance(change, flow.Promote):
            services.facilitators.add(change.user_id)  # committed by now
    if outcome.refused:
        log.warning(
            "refused facilitator %s from user=%s", event_kind(event), pseudonymous(user_id)
        )
    else:
        log.info("facilitator %s by user=%s", event_kind(event), pseudonymous(user_id))
    views = list(outcome.views)
    if flow.Report.SETTINGS_OF_CREATED in outcome.reports and result.workshop is not None:
        views.append(flow.settings(workshop_info(result.workshop), result.snapshot))
    await deliver(
        context.bot,
        update,
        services.renderer,
        language=result.language,
        views=views,
        toast=outcome.toast,
        replace_origin=outcome.replace_origin,
    )
    chat = update.effective_chat
    workshop = result.snapshot.workshop
    if chat is None or workshop is None:
        return
    if flow.Report.STATS in outcome.reports:
        await send_stats(context.bot, services, chat.id, workshop, result.language)
    if flow.Report.EXPORT in outcome.reports:
        await send_export(context.bot, services, chat.id, workshop, result.language)


async def _decide_and_store(
    services: Services,
    session: AsyncSession,
    event: Command | ButtonPress,
    user_id: int,
    telegram_language: str | None,
    bot_username: str,
) -> _Result:
    allowed = is_facilitator(services, user_id)
    language = await language_for(services, session, user_id, telegram_language)
    languages = services.renderer.translator.languages
    workshop: Workshop | None = None
    overview: tuple[flow.WorkshopSummary, ...] = ()
    if allowed:
        code = flow.workshop_code_in(event)
        if code is not None:
            workshop = await workshops.get_by_code(session, code)
        elif isinstance(event, Command) and event.name in ("stats", "export"):
            workshop = await workshops.latest(session)
        if isinstance(event, Command) and event.name == "workshops":
            overview = tuple(
                flow.WorkshopSummary(workshop_info(o.workshop), o.by_role, o.started, o.finished)
                for o in await workshops.overview(session)
            )
    catalogue = services.catalogue
    snapshot = flow.FacilitatorSnapshot(
        user_id=user_id,
        is_facilitator=allowed,
        bot_username=bot_username,
        scopes=catalogue.scopes,
        all_recommendations=tuple(catalogue.recommendations),
        languages=tuple(lang for lang in catalogue.languages if lang in languages),
        workshop=workshop_info(workshop) if workshop else None,
        overview=overview,
    )
    outcome = flow.handle(snapshot, event)
    created: Workshop | None = None
    for change in outcome.changes:
        if isinstance(change, flow.CreateWorkshop):
            created = await workshops.create(
                session,
                title=change.title,
                scope=change.scope,
                languages=change.languages,
                created_by=user_id,
            )
        elif isinstance(change, flow.UpdateWorkshop):
            assert workshop is not None and workshop.id == change.workshop_id
            if change.scope is not None:
                workshop.scope = list(change.scope)
            if change.languages is not None:
                workshop.languages = list(change.languages)
            if change.is_open is not None:
                workshop.is_open = change.is_open
        elif isinstance(change, flow.Promote):
            await facilitators.promote(
                session, change.user_id, added_by=user_id, now=services.clock()
            )
    return _Result(outcome, snapshot, language, created or workshop)
