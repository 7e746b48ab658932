"""Facilitator commands and settings buttons: load, decide (bot.flows.facilitator), store.

Refusals are logged at WARNING with a hashed user tag, so an operator can see attempts
without the log holding Telegram ids. The code typed to confirm /deleteworkshop arrives here
through the pending-input handler (bot.handlers.timeline_commands), which sees every typed
text first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.flows import facilitator as flow
from bot.flows.state import ButtonPress, Command
from bot.flows.timeline import TIMELINE_KINDS, JobKind
from bot.flows.views import View
from bot.handlers.events import event_kind, to_event
from bot.handlers.once import is_facilitator, language_for, run_once
from bot.handlers.participant import pseudonymous
from bot.handlers.reports import send_export, send_report, send_stats, stats_in
from bot.participation import workshop_info
from bot.scheduling.retention import add_months, deletion_day, planned_deletion
from bot.scheduling.retention import remove_voice_files as remove_recordings
from bot.sending import deliver
from bot.services import Services
from storage.models import Workshop
from storage.repositories import facilitators, pending_inputs, schedules, workshops
from storage.repositories import retention as stored_retention
from storage.repositories.safeguarding import RELAY_INPUT

log = logging.getLogger(__name__)


@dataclass
class _Result:
    outcome: flow.FacilitatorOutcome
    snapshot: flow.FacilitatorSnapshot
    language: str
    workshop: Workshop | None
    # Views only the applied changes can fill in (what closing cancelled).
    extra_views: list[View] = field(default_factory=list)


@dataclass(frozen=True)
class _Named:
    """Facts about the workshop a command names, beyond its settings."""

    retention: flow.Retention | None = None
    participants: int = 0
    in_conversation: bool = False


async def on_facilitator_update(update: Update, context: BotContext) -> None:
    services = context.services
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
    views = [*outcome.views, *result.extra_views]
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
    if flow.Report.REPORT in outcome.reports:
        await send_report(context.bot, services, chat.id, workshop, result.language)


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
    named = _Named()
    now = services.clock()
    if allowed:
        code = flow.workshop_code_in(event)
        if code is not None:
            workshop = await workshops.get_by_code(session, code)
        elif isinstance(event, Command) and event.name in flow.LATEST_BY_DEFAULT:
            workshop = await workshops.latest(session)
        if isinstance(event, Command) and event.name == "workshops":
            activity = await stored_retention.last_activity(session)
            overview = tuple(
                flow.WorkshopSummary(
                    workshop_info(o.workshop),
                    o.by_role,
                    o.started,
                    o.finished,
                    _retention(o.workshop, activity.get(o.workshop.id), now, language),
                )
                for o in await workshops.overview(session)
            )
        if workshop is not None and isinstance(event, Command):
            named = await _about_named(session, event.name, workshop, user_id, now, language)
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
        retention=named.retention,
        participants=named.participants,
        in_conversation=named.in_conversation,
    )
    outcome = flow.handle(snapshot, event)
    created: Workshop | None = None
    extra: list[View] = []
    for change in outcome.changes:
        if isinstance(change, flow.CreateWorkshop):
            created = await workshops.create(
                session,
                title=change.title,
                scope=change.scope,
                languages=change.languages,
                created_by=user_id,
                retention_months=services.settings.retention_months,
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
        elif isinstance(change, flow.CloseWorkshop):
            assert workshop is not None and workshop.id == change.workshop_id
            extra.append(await _close(session, workshop, now, language))
        elif isinstance(change, flow.NudgeUnfinished):
            assert workshop is not None and workshop.id == change.workshop_id
            extra.append(await _nudge_unfinished(session, workshop, user_id, now))
        elif isinstance(change, flow.AskToConfirmDeletion):
            await pending_inputs.expect(
                session, user_id, flow.DELETE_WORKSHOP_INPUT, change.workshop_id, now
            )
    return _Result(outcome, snapshot, language, created or workshop, extra)


def _retention(
    workshop: Workshop, last_activity: datetime | None, now: datetime, language: str
) -> flow.Retention | None:
    planned = planned_deletion(workshop, last_activity, now)
    if planned is None:
        return None
    state, when = planned
    return flow.Retention(state, deletion_day(when, workshop.timezone, language))


async def _about_named(
    session: AsyncSession,
    command: str,
    workshop: Workshop,
    user_id: int,
    now: datetime,
    language: str,
) -> _Named:
    """What /closeworkshop and /deleteworkshop need to know about the workshop they name."""
    if command == "closeworkshop":
        activity = await stored_retention.last_activity(session, workshop.id)
        return _Named(retention=_retention(workshop, activity.get(workshop.id), now, language))
    if command == "deleteworkshop":
        pending = await pending_inputs.get(session, user_id)
        return _Named(
            participants=await stored_retention.participant_count(session, workshop.id),
            in_conversation=pending is not None and pending.kind == RELAY_INPUT,
        )
    return _Named()


async def _close(session: AsyncSession, workshop: Workshop, now: datetime, language: str) -> View:
    """Close it and cancel what was planned for its participants (reminders, prompts, the
    follow-up, nudges): they could no longer answer. A facilitator's broadcast still goes."""
    workshop.status = "closed"
    workshop.closed_at = now
    cancelled = await schedules.cancel_pending(
        session, workshop.id, [kind.value for kind in (*TIMELINE_KINDS, JobKind.NUDGE)]
    )
    deletes = add_months(now, workshop.retention_months)
    return flow.closed_view(
        workshop_info(workshop),
        deletion_day(deletes, workshop.timezone, language),
        cancelled,
    )


async def _nudge_unfinished(
    session: AsyncSession, workshop: Workshop, user_id: int, now: datetime
) -> View:
    """The report's nudge: the roles are the under-represented ones as the answers stand now
    (the rule of /stats and the report), the job goes out through the outbox like any nudge."""
    stats = await stats_in(session, workshop_info(workshop))
    flagged = {role for roles in stats.underrepresented.values() for role in roles}
    roles = tuple(role for role in stats.roles if role in flagged)
    user_ids = await schedules.unfinished_of_roles(session, workshop.id, roles) if roles else []
    if user_ids:
        await schedules.add(
            session,
            workshop_id=workshop.id,
            kind=JobKind.NUDGE,
            due_at=now,
            payload={"user_ids": user_ids},
            created_by=user_id,
            now=now,
        )
        log.info("report nudge for workshop %s: %d people", workshop.code, len(user_ids))
    return flow.nudged_view(roles, len(user_ids))


async def on_deletion_input(update: Update, context: BotContext) -> None:
    """The facilitator's answer to /deleteworkshop: the code typed again, or /cancel."""
    services = context.services
    message = update.message
    user = update.effective_user
    if message is None or message.text is None or user is None:
        return
    typed, user_id, telegram_language = message.text, user.id, user.language_code

    async def work(session: AsyncSession) -> tuple[str, list[View]] | None:
        pending = await pending_inputs.get(session, user_id)
        if pending is None or pending.kind != flow.DELETE_WORKSHOP_INPUT:
            return None
        language = await language_for(services, session, user_id, telegram_language)
        workshop = await session.get(Workshop, pending.workshop_id)
        age = services.clock() - pending.created_at
        await pending_inputs.clear(session, user_id)
        info = workshop_info(workshop) if workshop is not None else None
        expired = age > timedelta(minutes=flow.DELETE_CONFIRM_MINUTES)
        outcome = flow.confirm_deletion(info, typed, expired=expired)
        views = list(outcome.views)
        if info is not None and flow.Report.DELETED in outcome.reports:
            removed = await stored_retention.delete_workshop(session, info.id)
            # Before the commit: a failed commit keeps the rows and the question can be asked
            # again, while a crash after it cannot leave recordings nobody can find.
            recordings = remove_recordings(services.settings.data_dir, removed)
            views.append(
                flow.deleted_view(
                    info, removed.participants, removed.answers, recordings, removed.people
                )
            )
            log.info(
                "workshop %s deleted by user=%s: %d participants, %d answers, %d recordings",
                info.code,
                pseudonymous(user_id),
                removed.participants,
                removed.answers,
                recordings,
            )
        return language, views

    result = await run_once(services, update, work)
    if result is None:
        return
    language, views = result
    await deliver(context.bot, update, services.renderer, language=language, views=views)
