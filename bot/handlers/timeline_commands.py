"""/schedule, /scheduled, /broadcast and their buttons; a facilitator's broadcast text.

The broadcast text handler runs before the participant handler (an earlier handler group):
when the bot is waiting for that facilitator's message it takes the update and stops it
there; otherwise it lets the update through untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.flows import timeline_commands as screens
from bot.flows.callbacks import Verb, decode
from bot.flows.facilitator import DELETE_WORKSHOP_INPUT
from bot.flows.timeline import TIMELINE_KINDS, JobKind, ScheduleError, parse_start, plan, zone
from bot.flows.views import Literal, Msg, View, text_view
from bot.handlers.events import event_kind, to_event
from bot.handlers.facilitator import on_deletion_input
from bot.handlers.once import is_facilitator, language_for, run_once
from bot.handlers.participant import pseudonymous
from bot.scheduling.messages import local_datetime, local_when
from bot.sending import deliver
from bot.services import Services, services_from
from storage.models import JobState, ScheduledJob, Workshop
from storage.repositories import pending_inputs, schedules, workshops

log = logging.getLogger(__name__)
COMMANDS = ("schedule", "broadcast", "scheduled", "followup", "nudges")
MAX_FOLLOWUP_DAYS = 60
MAX_NUDGE_HOURS = 24 * 14
BUTTON_PATTERN = (
    rf"^({screens.SCHEDULE_PREFIX}|{screens.CANCEL_PREFIX}|{screens.BROADCAST_PREFIX}):"
)


class _Reply:
    """What to show after the transaction: views, a toast, and whether to edit in place."""

    def __init__(
        self,
        views: Sequence[View] = (),
        *,
        toast: Msg | None = None,
        replace: bool = False,
        refused: bool = False,
        start_sending: int | None = None,
    ) -> None:
        self.views = list(views)
        self.toast = toast
        self.replace = replace
        self.refused = refused
        self.start_sending = start_sending
        self.language = "en"


async def _language(services: Services, session: AsyncSession, update: Update) -> str:
    user = update.effective_user
    assert user is not None
    return await language_for(services, session, user.id, user.language_code)


async def apply_schedule(
    services: Services,
    session: AsyncSession,
    workshop: Workshop,
    starts_at: datetime,
    timezone: str,
    created_by: int,
) -> int:
    """Set the start and replace the planned timeline (earlier plans are cancelled)."""
    now = services.clock()
    workshop.starts_at = starts_at
    workshop.timezone = timezone
    await schedules.cancel_pending(session, workshop.id, [kind.value for kind in TIMELINE_KINDS])
    sessions = {services.catalogue.get(rec).session for rec in workshop.scope}
    planned = plan(starts_at, workshop.followup_days, sorted(sessions), now)
    for job in planned:
        await schedules.add(
            session,
            workshop_id=workshop.id,
            kind=job.kind,
            due_at=job.due_at,
            payload=job.payload,
            created_by=created_by,
            now=now,
        )
    return len(planned)


def _done(workshop: Workshop, language: str, count: int) -> View:
    assert workshop.starts_at is not None
    return text_view(
        "schedule.done",
        title=Literal(workshop.title),
        when=local_when(workshop.starts_at, workshop.timezone, language),
        zone=workshop.timezone,
        count=count,
        code=workshop.code,
    )


async def _schedule_command(
    services: Services, session: AsyncSession, user_id: int, args: Sequence[str], language: str
) -> _Reply:
    if not args:
        return _Reply([text_view("schedule.usage")])
    workshop = await workshops.get_by_code(session, args[0])
    if workshop is None:
        return _Reply([text_view("fac.unknown_workshop")])
    if len(args) == 1:
        today = services.clock().astimezone(zone(workshop.timezone)).date()
        return _Reply([screens.day_picker(workshop.code, workshop.title, today, language)])
    if len(args) not in (3, 4):
        return _Reply([text_view("schedule.usage")])
    timezone = args[3] if len(args) == 4 else workshop.timezone
    try:
        starts = parse_start(args[1], args[2], timezone, services.clock())
    except ScheduleError as error:
        return _Reply([text_view(error.key)])
    count = await apply_schedule(services, session, workshop, starts, timezone, user_id)
    return _Reply([_done(workshop, language, count)])


async def _scheduled_view(session: AsyncSession, workshop: Workshop, language: str) -> View:
    items = [
        screens.PlannedItem(
            job.id, job.kind, local_datetime(job.due_at, workshop.timezone, language)
        )
        for job in await schedules.pending_for(session, workshop.id)
    ]
    return screens.scheduled_list(workshop.title, items)


async def _command(
    services: Services, session: AsyncSession, update: Update, name: str, args: Sequence[str]
) -> _Reply:
    user = update.effective_user
    assert user is not None
    if not is_facilitator(services, user.id):
        return _Reply([text_view("fac.not_allowed")], refused=True)
    language = await _language(services, session, update)
    if name == "schedule":
        return await _schedule_command(services, session, user.id, args, language)
    workshop = await workshops.get_by_code(session, args[0]) if args else None
    if workshop is None:
        return _Reply([text_view("fac.unknown_workshop" if args else "schedule.usage")])
    if name == "scheduled":
        return _Reply([await _scheduled_view(session, workshop, language)])
    if name == "followup":
        return await _set_followup(services, session, workshop, args[1:], user.id)
    if name == "nudges":
        return _set_nudges(workshop, args[1:])
    await pending_inputs.expect(session, user.id, "broadcast", workshop.id, services.clock())
    return _Reply([text_view("broadcast.ask", title=Literal(workshop.title))])


async def _set_followup(
    services: Services,
    session: AsyncSession,
    workshop: Workshop,
    args: Sequence[str],
    user_id: int,
) -> _Reply:
    """Change the follow-up delay; an already planned follow-up moves with it."""
    if len(args) != 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_FOLLOWUP_DAYS:
        return _Reply([text_view("settings.followup_usage", limit=MAX_FOLLOWUP_DAYS)])
    workshop.followup_days = int(args[0])
    if workshop.starts_at is not None and workshop.starts_at > services.clock():
        await apply_schedule(
            services, session, workshop, workshop.starts_at, workshop.timezone, user_id
        )
    view = text_view(
        "settings.followup_done", title=Literal(workshop.title), days=workshop.followup_days
    )
    return _Reply([view])


def _set_nudges(workshop: Workshop, args: Sequence[str]) -> _Reply:
    """Hours after the last answer for the first and (optional) second nudge; 0 = none."""
    valid = 1 <= len(args) <= 2 and all(a.isdigit() for a in args)
    hours = [int(a) for a in args] if valid else []
    if not valid or hours != sorted(hours) or any(h > MAX_NUDGE_HOURS for h in hours):
        return _Reply([text_view("settings.nudges_usage")])
    workshop.nudge_hours = [h for h in hours if h > 0]
    if not workshop.nudge_hours:
        return _Reply([text_view("settings.nudges_off", title=Literal(workshop.title))])
    shown = " / ".join(str(h) for h in workshop.nudge_hours)
    return _Reply([text_view("settings.nudges_done", title=Literal(workshop.title), hours=shown)])


async def _button(services: Services, session: AsyncSession, update: Update) -> _Reply:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    if not is_facilitator(services, user.id):
        return _Reply(toast=Msg("fac.not_allowed"), refused=True)
    language = await _language(services, session, update)
    data = query.data or ""
    stale = _Reply(toast=Msg("stale_button"))
    pressed = decode(data)
    if pressed is None:
        return stale
    if pressed.verb is Verb.SCHEDULE_PICK:
        choice = screens.parse_schedule_button(data)
        workshop = await workshops.get_by_code(session, choice.code) if choice else None
        if choice is None or workshop is None or choice.day is None:
            return stale
        day = datetime.fromisoformat(choice.day).date()
        if choice.step == "d":
            view = screens.time_picker(workshop.code, workshop.title, day, language)
            return _Reply([view], replace=True)
        if choice.step == "t" and choice.at:
            view = screens.zone_picker(workshop.code, workshop.title, day, choice.at, language)
            return _Reply([view], replace=True)
        assert choice.at is not None and choice.zone is not None
        try:
            starts = parse_start(choice.day, choice.at, choice.zone, services.clock())
        except ScheduleError as error:
            return _Reply([text_view(error.key)])
        count = await apply_schedule(services, session, workshop, starts, choice.zone, user.id)
        return _Reply([_done(workshop, language, count)], replace=True)
    parts = (pressed.verb.value, *pressed.args)
    if not (len(parts) >= 2 and parts[1].isdigit()):
        return stale
    job = await session.get(ScheduledJob, int(parts[1]))
    if job is None:
        return stale
    workshop = await session.get(Workshop, job.workshop_id)
    assert workshop is not None
    if pressed.verb is Verb.SCHEDULE_CANCEL:
        if await schedules.cancel(session, job.id) is None:
            return stale
        view = await _scheduled_view(session, workshop, language)
        return _Reply([view], toast=Msg("scheduled.cancelled"), replace=True)
    if job.state != JobState.DRAFT or job.created_by != user.id or len(parts) != 3:
        return stale
    if parts[2] != "go":
        job.state = JobState.CANCELLED
        return _Reply([text_view("broadcast.cancelled")], replace=True)
    job.state = JobState.PENDING
    job.due_at = services.clock()
    if query.message is not None:
        job.progress_chat_id = query.message.chat.id
        job.progress_message_id = query.message.message_id
    total = len(
        await schedules.reachable_participants(session, workshop.id, respect_setting=False)
    )
    view = text_view("broadcast.progress", total=total, done=0)
    return _Reply([view], replace=True, start_sending=job.id)


async def _broadcast_text(
    services: Services, session: AsyncSession, update: Update, text: str
) -> _Reply | None:
    user = update.effective_user
    assert user is not None
    pending = await pending_inputs.get(session, user.id)
    if pending is None:
        return None
    language = await _language(services, session, update)
    workshop = await session.get(Workshop, pending.workshop_id)
    body = text.strip()
    if body.lower() == "/cancel" or workshop is None:
        await pending_inputs.clear(session, user.id)
        return _Reply([text_view("broadcast.cancelled")])
    if not body:
        return _Reply([text_view("broadcast.empty")])  # still waiting for the text
    if len(body) > screens.MAX_BROADCAST_CHARS:
        return _Reply([text_view("broadcast.too_long", limit=screens.MAX_BROADCAST_CHARS)])
    await pending_inputs.clear(session, user.id)
    job = await schedules.add(
        session,
        workshop_id=workshop.id,
        kind=JobKind.BROADCAST,
        due_at=services.clock(),
        payload={"text": body},
        created_by=user.id,
        now=services.clock(),
    )
    job.state = JobState.DRAFT
    count = len(
        await schedules.reachable_participants(session, workshop.id, respect_setting=False)
    )
    reply = _Reply([screens.broadcast_preview(job.id, workshop.title, body, count)])
    reply.language = language
    return reply


async def _answer(update: Update, context: ContextTypes.DEFAULT_TYPE, reply: _Reply) -> None:
    services = services_from(context.bot_data)
    user = update.effective_user
    event = to_event(update)
    if reply.refused and user is not None and event is not None:
        log.warning(
            "refused facilitator %s from user=%s", event_kind(event), pseudonymous(user.id)
        )
    await deliver(
        context.bot,
        update,
        services.renderer,
        language=reply.language,
        views=reply.views,
        toast=reply.toast,
        replace_origin=reply.replace,
    )
    if reply.start_sending is not None and services.scheduler is not None:
        if services.replicas is None or services.runs_scheduler:
            context.application.create_task(services.scheduler.tick(), update=update)
        else:  # another bot process runs the scheduler: it is asked to tick now
            await services.replicas.wake_scheduler()


async def on_schedule_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Commands and buttons of the timeline, for facilitators only."""
    services = services_from(context.bot_data)
    message = update.message
    if update.callback_query is None and (message is None or not message.text):
        return

    async def work(session: AsyncSession) -> _Reply:
        language = await _language(services, session, update)
        if update.callback_query is not None:
            reply = await _button(services, session, update)
        else:
            assert message is not None and message.text is not None
            head, *args = message.text.split()
            reply = await _command(services, session, update, head[1:].split("@")[0].lower(), args)
        if reply.language == "en":
            reply.language = language
        return reply

    reply = await run_once(services, update, work)
    if reply is None:
        return
    await _answer(update, context, reply)


async def on_pending_input(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A facilitator's broadcast text; anything else passes on to the next handler group."""
    services = services_from(context.bot_data)
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

    async def work(session: AsyncSession) -> _Reply | None:
        return await _broadcast_text(services, session, update, text)

    reply = await run_once(services, update, work)
    if reply is not None:
        await _answer(update, context, reply)
    raise ApplicationHandlerStop
