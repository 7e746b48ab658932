"""/schedule, /scheduled, /broadcast, /followup, /nudges and their buttons; a facilitator's
broadcast text: load, decide (bot.flows.timeline_commands), store, reply.

The broadcast text handler runs before the participant handler (an earlier handler group):
when the bot is waiting for that facilitator's message it takes the update and stops it
there; otherwise it lets the update through untouched.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.flows import timeline_commands as flow
from bot.flows.facilitator import DELETE_WORKSHOP_INPUT
from bot.flows.state import ButtonPress, Command, TextInput
from bot.flows.timeline import TIMELINE_KINDS, JobKind
from bot.handlers.events import event_kind, to_event
from bot.handlers.facilitator import on_deletion_input
from bot.handlers.once import Decided, is_facilitator, language_for, run_once, show
from bot.handlers.participant import pseudonymous
from bot.services import Services
from storage.models import JobState, ScheduledJob, Workshop
from storage.repositories import pending_inputs, schedules, workshops

log = logging.getLogger(__name__)
COMMANDS = flow.COMMANDS
BUTTON_PATTERN = rf"^({flow.SCHEDULE_PREFIX}|{flow.CANCEL_PREFIX}|{flow.BROADCAST_PREFIX}):"

_Event = Command | ButtonPress | TextInput


def _workshop(services: Services, workshop: Workshop) -> flow.TimelineWorkshop:
    known = services.catalogue.recommendations
    sessions = {known[rec].session for rec in workshop.scope if rec in known}
    return flow.TimelineWorkshop(
        id=workshop.id,
        code=workshop.code,
        title=workshop.title,
        timezone=workshop.timezone,
        starts_at=workshop.starts_at,
        followup_days=workshop.followup_days,
        sessions=tuple(sorted(sessions)),
    )


def _job(job: ScheduledJob) -> flow.JobInfo:
    return flow.JobInfo(
        job.id, job.workshop_id, job.kind, job.due_at, JobState(job.state), job.created_by
    )


def _origin(update: Update) -> tuple[int, int] | None:
    query = update.callback_query
    if query is None or query.message is None:
        return None
    return query.message.chat.id, query.message.message_id


async def _snapshot(
    services: Services,
    session: AsyncSession,
    update: Update,
    event: _Event,
    user_id: int,
    language: str,
) -> flow.TimelineSnapshot:
    allowed = is_facilitator(services, user_id)
    wanted = flow.wanted(event, allowed)
    workshop: Workshop | None = None
    job: ScheduledJob | None = None
    awaiting: str | None = None
    if wanted.code is not None:
        workshop = await workshops.get_by_code(session, wanted.code)
    if wanted.job_id is not None:
        job = await schedules.get(session, wanted.job_id)
        workshop = await workshops.get(session, job.workshop_id) if job is not None else None
    if wanted.awaiting:
        pending = await pending_inputs.get(session, user_id)
        awaiting = pending.kind if pending is not None else None
        workshop = await workshops.get(session, pending.workshop_id) if pending else None
    planned: tuple[flow.JobInfo, ...] = ()
    reachable = 0
    if workshop is not None and wanted.planned:
        planned = tuple(_job(each) for each in await schedules.pending_for(session, workshop.id))
    if workshop is not None and wanted.reachable:
        people = await schedules.reachable_participants(
            session, workshop.id, respect_setting=False
        )
        reachable = len(people)
    return flow.TimelineSnapshot(
        user_id=user_id,
        is_facilitator=allowed,
        language=language,
        now=services.clock(),
        workshop=_workshop(services, workshop) if workshop is not None else None,
        planned=planned,
        job=_job(job) if job is not None else None,
        reachable=reachable,
        awaiting=awaiting,
        origin=_origin(update),
    )


async def _apply(
    session: AsyncSession, snapshot: flow.TimelineSnapshot, outcome: flow.TimelineOutcome
) -> None:
    user_id, now = snapshot.user_id, snapshot.now
    for change in outcome.changes:
        if isinstance(change, flow.ScheduleTimeline):
            await workshops.update_timing(
                session, change.workshop_id, starts_at=change.starts_at, timezone=change.timezone
            )
            kinds = [kind.value for kind in TIMELINE_KINDS]
            await schedules.cancel_pending(session, change.workshop_id, kinds)
            for planned in change.jobs:
                await schedules.add(
                    session,
                    workshop_id=change.workshop_id,
                    kind=planned.kind,
                    due_at=planned.due_at,
                    payload=planned.payload,
                    created_by=user_id,
                    now=now,
                )
        elif isinstance(change, flow.SetFollowupDays):
            await workshops.update_timing(session, change.workshop_id, followup_days=change.days)
        elif isinstance(change, flow.SetNudgeHours):
            await workshops.update_timing(session, change.workshop_id, nudge_hours=change.hours)
        elif isinstance(change, flow.AwaitBroadcastText):
            await pending_inputs.expect(
                session, user_id, flow.BROADCAST_INPUT, change.workshop_id, now
            )
        elif isinstance(change, flow.StopAwaiting):
            await pending_inputs.clear(session, user_id)
        elif isinstance(change, flow.StartBroadcastDraft):
            draft = await schedules.add(
                session,
                workshop_id=change.workshop_id,
                kind=JobKind.BROADCAST,
                due_at=change.due_at,
                payload={"text": change.text},
                created_by=user_id,
                now=now,
                state=JobState.DRAFT,
            )
            outcome.views.append(flow.drafted(snapshot, change, draft.id))
        elif isinstance(change, flow.ConfirmBroadcast):
            await schedules.confirm_draft(
                session, change.job_id, due_at=change.due_at, progress=change.origin
            )
        elif isinstance(change, flow.CancelJob):
            await schedules.cancel(session, change.job_id)


async def _decide_and_store(
    services: Services, session: AsyncSession, update: Update, event: _Event
) -> Decided[flow.TimelineOutcome]:
    user = update.effective_user
    assert user is not None
    language = await language_for(services, session, user.id, user.language_code)
    snapshot = await _snapshot(services, session, update, event, user.id, language)
    outcome = flow.handle(snapshot, event)
    await _apply(session, snapshot, outcome)
    return Decided(outcome, language)


async def _run(update: Update, context: BotContext, event: _Event) -> None:
    services = context.services

    async def work(session: AsyncSession) -> Decided[flow.TimelineOutcome]:
        return await _decide_and_store(services, session, update, event)

    result = await run_once(services, update, work)
    if result is None:
        return
    outcome = result.outcome
    user = update.effective_user
    if outcome.refused and user is not None:
        log.warning(
            "refused facilitator %s from user=%s", event_kind(event), pseudonymous(user.id)
        )
    await show(context, update, result)
    confirmed = any(isinstance(change, flow.ConfirmBroadcast) for change in outcome.changes)
    if confirmed and services.scheduler is not None:
        if services.replicas is None or services.runs_scheduler:
            context.application.create_task(services.scheduler.tick(), update=update)
        else:  # another bot process runs the scheduler: it is asked to tick now
            await services.replicas.wake_scheduler()


async def on_schedule_update(update: Update, context: BotContext) -> None:
    """Commands and buttons of the timeline, for facilitators only."""
    event = to_event(update)
    if isinstance(event, Command | ButtonPress) and update.effective_user is not None:
        await _run(update, context, event)


async def on_pending_input(update: Update, context: BotContext) -> None:
    """A facilitator's broadcast text; anything else passes on to the next handler group."""
    services = context.services
    message = update.message
    user = update.effective_user
    if message is None or message.text is None or user is None:
        return
    if not is_facilitator(services, user.id):
        return  # only facilitators are ever asked for a text; nobody else pays a query
    async with services.session_factory()() as session:
        pending = await pending_inputs.get(session, user.id)
        kind = pending.kind if pending is not None else None
    if kind is None:
        return
    text = message.text
    if text.startswith("/") and text.strip().lower() != "/cancel":
        return  # another command: let it through, keep waiting for the text
    if kind == DELETE_WORKSHOP_INPUT:
        await on_deletion_input(update, context)  # the code typed to confirm a deletion
        raise ApplicationHandlerStop
    await _run(update, context, TextInput(text, message.message_id))
    raise ApplicationHandlerStop
