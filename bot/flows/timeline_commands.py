"""Facilitator screens for the timeline: /schedule pickers, /scheduled, broadcast preview.

Callback data: `fs:<code>:d:<yyyymmdd>` (day chosen), `fs:<code>:t:<yyyymmdd>:<hhmm>` (time
chosen), `fs:<code>:z:<yyyymmdd>:<hhmm>:<zone index>` (zone chosen: apply), `fc:<job id>`
(cancel a planned job), `fb:<job id>:go|no` (send or drop a broadcast draft).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from babel.dates import format_date

from bot.flows.callbacks import Verb, callback, decode
from bot.flows.timeline import DEFAULT_TIMEZONE
from bot.flows.views import Button, Lines, Literal, Msg, Part, View, text_view

SCHEDULE_PREFIX = Verb.SCHEDULE_PICK.value
CANCEL_PREFIX = Verb.SCHEDULE_CANCEL.value
BROADCAST_PREFIX = Verb.BROADCAST_CONFIRM.value
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
