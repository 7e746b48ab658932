"""/schedule, /scheduled, /broadcast, /followup and /nudges and their buttons, as pure decisions.

The handler loads what an event names (`wanted`: a workshop by code, a job by id, the text a
facilitator is expected to type), this module decides what it means: the changes to store and
the screens to show. A broadcast is a job that starts as a DRAFT, shown as a preview to its
author, and becomes PENDING (sent now) or CANCELLED with the preview's buttons.

Callback data: `fs:<code>:d:<yyyymmdd>` (day chosen), `fs:<code>:t:<yyyymmdd>:<hhmm>` (time
chosen), `fs:<code>:z:<yyyymmdd>:<hhmm>:<zone index>` (zone chosen: apply), `fc:<job id>`
(cancel a planned job), `fb:<job id>:go|no` (send or drop a broadcast draft).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from babel.dates import format_date

from bot.flows.callbacks import Verb, callback, decode
from bot.flows.state import ButtonPress, Command, TextInput
from bot.flows.timeline import (
    DEFAULT_TIMEZONE,
    PlannedJob,
    ScheduleError,
    local_datetime,
    local_when,
    parse_start,
    plan,
    zone,
)
from bot.flows.views import Button, Lines, Literal, Msg, Part, View, text_view
from storage.models import JobState

COMMANDS = ("schedule", "broadcast", "scheduled", "followup", "nudges")
SCHEDULE_PREFIX = Verb.SCHEDULE_PICK.value
CANCEL_PREFIX = Verb.SCHEDULE_CANCEL.value
BROADCAST_PREFIX = Verb.BROADCAST_CONFIRM.value
# The PendingInput kind of a /broadcast waiting for its text.
BROADCAST_INPUT = "broadcast"
MAX_FOLLOWUP_DAYS = 60
MAX_NUDGE_HOURS = 24 * 14
DAYS_OFFERED = 21
TIMES_OFFERED = tuple(f"{hour:02d}:{minute:02d}" for hour in range(8, 19) for minute in (0, 30))
ZONES = (
    DEFAULT_TIMEZONE,
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Lisbon",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Warsaw",
    "Europe/Helsinki",
    "Europe/Athens",
    "Europe/Bucharest",
)
MAX_BROADCAST_CHARS = 3000


# ---- what the handler loads ----------------------------------------------------------------


@dataclass(frozen=True)
class TimelineWorkshop:
    id: int
    code: str
    title: str
    timezone: str
    starts_at: datetime | None = None
    followup_days: int = 7
    sessions: tuple[int, ...] = ()  # the themed sessions its scope covers, in order


@dataclass(frozen=True)
class JobInfo:
    id: int
    workshop_id: int
    kind: str
    due_at: datetime
    state: JobState
    created_by: int | None = None


@dataclass(frozen=True)
class TimelineSnapshot:
    user_id: int
    is_facilitator: bool
    language: str
    now: datetime
    # The workshop a command's code, a button or the awaited text names.
    workshop: TimelineWorkshop | None = None
    planned: tuple[JobInfo, ...] = ()  # that workshop's pending jobs, in due order
    job: JobInfo | None = None  # the job a button names
    reachable: int = 0  # the people a broadcast to that workshop would reach
    # The kind of text this person is expected to type (a PendingInput), if any.
    awaiting: str | None = None
    # The chat and message id of the message whose button was pressed.
    origin: tuple[int, int] | None = None


@dataclass(frozen=True)
class Wanted:
    """What the handler loads for an event, beyond the person."""

    code: str | None = None  # a workshop by code
    job_id: int | None = None  # a job, and its workshop
    planned: bool = False  # the workshop's pending jobs
    reachable: bool = False  # how many people a broadcast to the workshop reaches
    awaiting: bool = False  # the text this person is expected to type, and its workshop


def _digits(text: str) -> bool:
    """Plain 0-9 only: `str.isdigit` also accepts "²" and other digits `int()` refuses."""
    return text.isascii() and text.isdigit()


def wanted(event: Command | ButtonPress | TextInput, is_facilitator: bool) -> Wanted:
    if not is_facilitator:
        return Wanted()
    if isinstance(event, TextInput):
        return Wanted(reachable=True, awaiting=True)
    if isinstance(event, Command):
        if not event.args:
            return Wanted()
        return Wanted(code=event.args[0], planned=event.name == "scheduled")
    pressed = decode(event.data)
    if pressed is None:
        return Wanted()
    if pressed.verb is Verb.SCHEDULE_PICK:
        choice = parse_schedule_button(event.data)
        return Wanted(code=choice.code) if choice is not None else Wanted()
    raw = pressed.arg(0) or ""
    if not _digits(raw):
        return Wanted()
    if pressed.verb is Verb.SCHEDULE_CANCEL:
        return Wanted(job_id=int(raw), planned=True)
    if pressed.verb is Verb.BROADCAST_CONFIRM:
        return Wanted(job_id=int(raw), reachable=pressed.arg(1) == "go")
    return Wanted()


# ---- changes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleTimeline:
    """Set the start and replace the planned timeline (earlier plans are cancelled)."""

    workshop_id: int
    starts_at: datetime
    timezone: str
    jobs: tuple[PlannedJob, ...]


@dataclass(frozen=True)
class SetFollowupDays:
    workshop_id: int
    days: int


@dataclass(frozen=True)
class SetNudgeHours:
    workshop_id: int
    hours: tuple[int, ...]  # empty: no nudges


@dataclass(frozen=True)
class AwaitBroadcastText:
    """Wait for this facilitator to type the broadcast's text (a PendingInput)."""

    workshop_id: int


@dataclass(frozen=True)
class StopAwaiting:
    """The awaited text came, or was cancelled."""


@dataclass(frozen=True)
class StartBroadcastDraft:
    workshop_id: int
    text: str
    due_at: datetime


@dataclass(frozen=True)
class ConfirmBroadcast:
    """The draft becomes pending, due now; its progress replaces the preview (origin)."""

    job_id: int
    due_at: datetime
    origin: tuple[int, int] | None


@dataclass(frozen=True)
class CancelJob:
    job_id: int


TimelineChange = (
    ScheduleTimeline
    | SetFollowupDays
    | SetNudgeHours
    | AwaitBroadcastText
    | StopAwaiting
    | StartBroadcastDraft
    | ConfirmBroadcast
    | CancelJob
)


@dataclass
class TimelineOutcome:
    views: list[View] = field(default_factory=list)
    changes: list[TimelineChange] = field(default_factory=list)
    toast: Part | None = None
    replace_origin: bool = False
    refused: bool = False


# ---- screens -------------------------------------------------------------------------------


def _rows(buttons: Sequence[Button], width: int) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + width]) for i in range(0, len(buttons), width))


def _day_label(day: date, language: str) -> str:
    return format_date(day, "EEE d MMM", locale=language)


def day_picker(code: str, title: str, today: date, language: str) -> View:
    days = [today + timedelta(days=n) for n in range(1, DAYS_OFFERED + 1)]
    buttons = [
        Button(
            Literal(_day_label(day, language)),
            callback(Verb.SCHEDULE_PICK, code, "d", f"{day:%Y%m%d}"),
        )
        for day in days
    ]
    return View((Msg("schedule.pick_day", {"title": Literal(title)}),), _rows(buttons, 3))


def time_picker(code: str, title: str, day: date, language: str) -> View:
    buttons = [
        Button(
            Literal(at),
            callback(Verb.SCHEDULE_PICK, code, "t", f"{day:%Y%m%d}", at.replace(":", "")),
        )
        for at in TIMES_OFFERED
    ]
    text = Msg("schedule.pick_time", {"title": Literal(title), "day": _day_label(day, language)})
    return View((text,), _rows(buttons, 4))


def zone_picker(code: str, title: str, day: date, at: str, language: str) -> View:
    buttons = [
        Button(
            Literal(name.split("/")[-1].replace("_", " ")),
            callback(
                Verb.SCHEDULE_PICK, code, "z", f"{day:%Y%m%d}", at.replace(":", ""), str(index)
            ),
        )
        for index, name in enumerate(ZONES)
    ]
    text = Msg(
        "schedule.pick_zone",
        {"title": Literal(title), "day": _day_label(day, language), "time": at},
    )
    return View((text,), _rows(buttons, 3))


@dataclass(frozen=True)
class ScheduleChoice:
    """A parsed `fs:` button: which step, and what was chosen so far (as typed strings)."""

    code: str
    step: str
    day: str | None = None
    at: str | None = None
    zone: str | None = None


def parse_schedule_button(data: str) -> ScheduleChoice | None:
    pressed = decode(data)
    if pressed is None or pressed.verb is not Verb.SCHEDULE_PICK or len(pressed.args) < 3:
        return None
    code, step, rest = pressed.args[0], pressed.args[1], list(pressed.args[2:])
    try:
        day = datetime.strptime(rest[0], "%Y%m%d").date().isoformat()
        at = f"{rest[1][:2]}:{rest[1][2:]}" if len(rest) > 1 else None
        zone = ZONES[int(rest[2])] if len(rest) > 2 else None
    except (ValueError, IndexError):
        return None
    expected = {"d": 1, "t": 2, "z": 3}
    if expected.get(step) != len(rest):
        return None
    return ScheduleChoice(code, step, day, at, zone)


@dataclass(frozen=True)
class PlannedItem:
    job_id: int
    kind: str
    when: str


def scheduled_list(title: str, items: Sequence[PlannedItem]) -> View:
    if not items:
        return text_view("scheduled.none", title=Literal(title))
    lines: list[Part] = [
        Msg("scheduled.item", {"n": n, "kind": Msg(f"job.{item.kind}"), "when": item.when})
        for n, item in enumerate(items, start=1)
    ]
    buttons = [
        Button(Msg("scheduled.cancel", {"n": n}), callback(Verb.SCHEDULE_CANCEL, str(item.job_id)))
        for n, item in enumerate(items, start=1)
    ]
    return View(
        (Msg("scheduled.heading", {"title": Literal(title)}), Lines(tuple(lines))),
        _rows(buttons, 3),
    )


def broadcast_preview(job_id: int, title: str, text: str, count: int) -> View:
    return View(
        (
            Msg("broadcast.preview", {"count": count, "title": Literal(title)}),
            Msg("announce.broadcast", {"title": Literal(title), "text": Literal(text)}),
        ),
        (
            (
                Button(Msg("broadcast.send"), callback(Verb.BROADCAST_CONFIRM, str(job_id), "go")),
                Button(
                    Msg("broadcast.cancel"), callback(Verb.BROADCAST_CONFIRM, str(job_id), "no")
                ),
            ),
        ),
    )


def scheduled_view(workshop: TimelineWorkshop, jobs: Sequence[JobInfo], language: str) -> View:
    items = [
        PlannedItem(job.id, job.kind, local_datetime(job.due_at, workshop.timezone, language))
        for job in jobs
    ]
    return scheduled_list(workshop.title, items)


def drafted(snapshot: TimelineSnapshot, draft: StartBroadcastDraft, job_id: int) -> View:
    """The preview of a draft once stored (its buttons name the new job)."""
    assert snapshot.workshop is not None
    return broadcast_preview(job_id, snapshot.workshop.title, draft.text, snapshot.reachable)


# ---- decisions -----------------------------------------------------------------------------

_STALE = Msg("stale_button")


def handle(
    snapshot: TimelineSnapshot, event: Command | ButtonPress | TextInput
) -> TimelineOutcome:
    if isinstance(event, TextInput):
        return _typed(snapshot, event.text)
    if not snapshot.is_facilitator:
        if isinstance(event, ButtonPress):
            return TimelineOutcome(toast=Msg("fac.not_allowed"), refused=True)
        return TimelineOutcome([text_view("fac.not_allowed")], refused=True)
    if isinstance(event, ButtonPress):
        return _button(snapshot, event)
    return _command(snapshot, event)


def _command(snapshot: TimelineSnapshot, event: Command) -> TimelineOutcome:
    workshop = snapshot.workshop
    if not event.args:
        return TimelineOutcome([text_view("schedule.usage")])
    if workshop is None:
        return TimelineOutcome([text_view("fac.unknown_workshop")])
    args = event.args[1:]
    if event.name == "schedule":
        return _schedule(snapshot, workshop, args)
    if event.name == "scheduled":
        return TimelineOutcome([scheduled_view(workshop, snapshot.planned, snapshot.language)])
    if event.name == "followup":
        return _set_followup(snapshot, workshop, args)
    if event.name == "nudges":
        return _set_nudges(workshop, args)
    if event.name == "broadcast":
        return TimelineOutcome(
            [text_view("broadcast.ask", title=Literal(workshop.title))],
            [AwaitBroadcastText(workshop.id)],
        )
    return TimelineOutcome()


def _schedule(
    snapshot: TimelineSnapshot, workshop: TimelineWorkshop, args: Sequence[str]
) -> TimelineOutcome:
    """`/schedule CODE` offers the pickers; `/schedule CODE DAY TIME [ZONE]` applies."""
    if not args:
        today = snapshot.now.astimezone(zone(workshop.timezone)).date()
        return TimelineOutcome(
            [day_picker(workshop.code, workshop.title, today, snapshot.language)]
        )
    if len(args) not in (2, 3):
        return TimelineOutcome([text_view("schedule.usage")])
    timezone = args[2] if len(args) == 3 else workshop.timezone
    return _schedule_at(snapshot, workshop, args[0], args[1], timezone)


def _schedule_at(
    snapshot: TimelineSnapshot, workshop: TimelineWorkshop, day: str, at: str, timezone: str
) -> TimelineOutcome:
    try:
        starts = parse_start(day, at, timezone, snapshot.now)
    except ScheduleError as error:
        return TimelineOutcome([text_view(error.key)])
    change = _timeline(snapshot, workshop, starts, timezone)
    done = text_view(
        "schedule.done",
        title=Literal(workshop.title),
        when=local_when(starts, timezone, snapshot.language),
        zone=timezone,
        count=len(change.jobs),
        code=workshop.code,
    )
    return TimelineOutcome([done], [change])


def _timeline(
    snapshot: TimelineSnapshot, workshop: TimelineWorkshop, starts: datetime, timezone: str
) -> ScheduleTimeline:
    jobs = plan(starts, workshop.followup_days, workshop.sessions, snapshot.now)
    return ScheduleTimeline(workshop.id, starts, timezone, tuple(jobs))


def _set_followup(
    snapshot: TimelineSnapshot, workshop: TimelineWorkshop, args: Sequence[str]
) -> TimelineOutcome:
    """Change the follow-up delay; an already planned follow-up moves with it."""
    if len(args) != 1 or not _digits(args[0]) or not 1 <= int(args[0]) <= MAX_FOLLOWUP_DAYS:
        return TimelineOutcome([text_view("settings.followup_usage", limit=MAX_FOLLOWUP_DAYS)])
    days = int(args[0])
    changes: list[TimelineChange] = [SetFollowupDays(workshop.id, days)]
    if workshop.starts_at is not None and workshop.starts_at > snapshot.now:
        moved = replace(workshop, followup_days=days)
        changes.append(_timeline(snapshot, moved, workshop.starts_at, workshop.timezone))
    view = text_view("settings.followup_done", title=Literal(workshop.title), days=days)
    return TimelineOutcome([view], changes)


def _set_nudges(workshop: TimelineWorkshop, args: Sequence[str]) -> TimelineOutcome:
    """Hours after the last answer for the first and (optional) second nudge; 0 = none."""
    valid = 1 <= len(args) <= 2 and all(_digits(a) for a in args)
    hours = [int(a) for a in args] if valid else []
    if not valid or hours != sorted(hours) or any(h > MAX_NUDGE_HOURS for h in hours):
        return TimelineOutcome([text_view("settings.nudges_usage")])
    kept = tuple(h for h in hours if h > 0)
    changes: list[TimelineChange] = [SetNudgeHours(workshop.id, kept)]
    title = Literal(workshop.title)
    if not kept:
        return TimelineOutcome([text_view("settings.nudges_off", title=title)], changes)
    shown = " / ".join(str(h) for h in kept)
    return TimelineOutcome([text_view("settings.nudges_done", title=title, hours=shown)], changes)


def _button(snapshot: TimelineSnapshot, event: ButtonPress) -> TimelineOutcome:
    stale = TimelineOutcome(toast=_STALE)
    pressed = decode(event.data)
    if pressed is None:
        return stale
    if pressed.verb is Verb.SCHEDULE_PICK:
        return _pick(snapshot, event.data)
    job, workshop = snapshot.job, snapshot.workshop
    raw = pressed.arg(0) or ""
    if not _digits(raw) or job is None or job.id != int(raw) or workshop is None:
        return stale
    if pressed.verb is Verb.SCHEDULE_CANCEL:
        if job.state is not JobState.PENDING:
            return stale
        left = [planned for planned in snapshot.planned if planned.id != job.id]
        return TimelineOutcome(
            [scheduled_view(workshop, left, snapshot.language)],
            [CancelJob(job.id)],
            toast=Msg("scheduled.cancelled"),
            replace_origin=True,
        )
    if pressed.verb is not Verb.BROADCAST_CONFIRM:
        return stale
    if job.state is not JobState.DRAFT or job.created_by != snapshot.user_id:
        return stale
    if len(pressed.args) != 2:
        return stale
    if pressed.args[1] != "go":
        return TimelineOutcome(
            [text_view("broadcast.cancelled")], [CancelJob(job.id)], replace_origin=True
        )
    return TimelineOutcome(
        [text_view("broadcast.progress", total=snapshot.reachable, done=0)],
        [ConfirmBroadcast(job.id, snapshot.now, snapshot.origin)],
        replace_origin=True,
    )


def _pick(snapshot: TimelineSnapshot, data: str) -> TimelineOutcome:
    """A /schedule picker button: the next picker, or (the zone chosen) the timeline."""
    choice = parse_schedule_button(data)
    workshop = snapshot.workshop
    if choice is None or workshop is None or choice.day is None:
        return TimelineOutcome(toast=_STALE)
    day = date.fromisoformat(choice.day)
    language = snapshot.language
    if choice.step == "d":
        view = time_picker(workshop.code, workshop.title, day, language)
        return TimelineOutcome([view], replace_origin=True)
    if choice.step == "t" and choice.at:
        view = zone_picker(workshop.code, workshop.title, day, choice.at, language)
        return TimelineOutcome([view], replace_origin=True)
    assert choice.at is not None and choice.zone is not None
    outcome = _schedule_at(snapshot, workshop, choice.day, choice.at, choice.zone)
    outcome.replace_origin = bool(outcome.changes)  # an error goes below, as a new message
    return outcome


def _typed(snapshot: TimelineSnapshot, text: str) -> TimelineOutcome:
    """The text of a broadcast, typed after /broadcast; /cancel drops it."""
    if not snapshot.is_facilitator or snapshot.awaiting is None:
        return TimelineOutcome()  # nothing was asked of this person
    workshop = snapshot.workshop
    body = text.strip()
    if body.lower() == "/cancel" or workshop is None:
        return TimelineOutcome([text_view("broadcast.cancelled")], [StopAwaiting()])
    if not body:
        return TimelineOutcome([text_view("broadcast.empty")])  # still waiting for the text
    if len(body) > MAX_BROADCAST_CHARS:
        return TimelineOutcome([text_view("broadcast.too_long", limit=MAX_BROADCAST_CHARS)])
    # The preview needs the stored draft's id: the handler adds it (`drafted`).
    return TimelineOutcome(
        changes=[StopAwaiting(), StartBroadcastDraft(workshop.id, body, snapshot.now)]
    )
