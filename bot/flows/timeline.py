"""A workshop's timeline as pure functions of its start time and time zone.

The agenda follows the webinar's concept note (seed 000): a 10-minute opening, three themed
sessions of 40 minutes with a 10-minute break before the third, and a closing. Everything is
computed in UTC; local time only matters for what people read and for quiet hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime, format_time

DEFAULT_TIMEZONE = "Europe/Brussels"
QUIET_STARTS = time(21, 0)
QUIET_ENDS = time(8, 0)
DAY_BEFORE = timedelta(hours=24)
SOON_BEFORE = timedelta(minutes=15)
# Minutes after the start at which each themed session begins (concept-note agenda).
SESSION_OFFSETS: Mapping[int, timedelta] = {
    1: timedelta(minutes=10),
    2: timedelta(minutes=50),
    3: timedelta(minutes=100),
}


class JobKind(StrEnum):
    REMINDER_DAY_BEFORE = "reminder_day_before"
    REMINDER_SOON = "reminder_soon"
    SESSION_PROMPT = "session_prompt"
    FOLLOWUP = "followup"
    BROADCAST = "broadcast"
    NUDGE = "nudge"


TIMELINE_KINDS = (
    JobKind.REMINDER_DAY_BEFORE,
    JobKind.REMINDER_SOON,
    JobKind.SESSION_PROMPT,
    JobKind.FOLLOWUP,
)

# How late a job may still run after a restart; later than this it is reported as missed.
# A "starts in 15 minutes" reminder is pointless after the start; a follow-up is not.
GRACE: Mapping[JobKind, timedelta] = {
    JobKind.REMINDER_DAY_BEFORE: timedelta(hours=12),
    JobKind.REMINDER_SOON: timedelta(minutes=14),
    JobKind.SESSION_PROMPT: timedelta(minutes=30),
    JobKind.FOLLOWUP: timedelta(days=2),
    JobKind.BROADCAST: timedelta(hours=12),
    JobKind.NUDGE: timedelta(hours=6),
}


@dataclass(frozen=True)
class PlannedJob:
    kind: JobKind
    due_at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)


class ScheduleError(ValueError):
    """A date, time or zone a facilitator typed that we cannot use; the key says why."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError("schedule.bad_timezone") from None


def local_when(moment: datetime, timezone: str, language: str) -> str:
    local = moment.astimezone(zone(timezone))
    day = format_date(local, format="full", locale=language)
    return f"{day}, {format_time(local, 'HH:mm', locale=language)}"


def local_time(moment: datetime, timezone: str, language: str) -> str:
    return format_time(moment.astimezone(zone(timezone)), "HH:mm", locale=language)


def local_datetime(moment: datetime, timezone: str, language: str) -> str:
    return format_datetime(moment.astimezone(zone(timezone)), "d MMM yyyy HH:mm", locale=language)


def parse_start(day: str, clock_time: str, timezone: str, now: datetime) -> datetime:
    """'2026-12-03', '10:00', 'Europe/Brussels' → the UTC instant; must be in the future."""
    try:
        local_day = date.fromisoformat(day)
    except ValueError:
        raise ScheduleError("schedule.bad_date") from None
    try:
        hours, minutes = (int(part) for part in clock_time.split(":"))
        local_time = time(hours, minutes)
    except ValueError:
        raise ScheduleError("schedule.bad_time") from None
    starts = datetime.combine(local_day, local_time, tzinfo=zone(timezone)).astimezone(UTC)
    if starts <= now:
        raise ScheduleError("schedule.in_the_past")
    return starts


def plan(
    starts_at: datetime, followup_days: int, sessions: Sequence[int], now: datetime
) -> list[PlannedJob]:
    """Reminders, session prompts and the follow-up round; past moments are left out."""
    jobs = [
        PlannedJob(JobKind.REMINDER_DAY_BEFORE, starts_at - DAY_BEFORE),
        PlannedJob(JobKind.REMINDER_SOON, starts_at - SOON_BEFORE),
    ]
    jobs += [
        PlannedJob(
            JobKind.SESSION_PROMPT, starts_at + SESSION_OFFSETS[number], {"session": number}
        )
        for number in sorted(sessions)
        if number in SESSION_OFFSETS
    ]
    jobs.append(PlannedJob(JobKind.FOLLOWUP, starts_at + timedelta(days=followup_days)))
    return [job for job in jobs if job.due_at > now]


def is_missed(kind: JobKind, due_at: datetime, now: datetime) -> bool:
    return now - due_at > GRACE[kind]


def in_quiet_hours(now: datetime, timezone: str) -> bool:
    """21:00 to 08:00 in the workshop's zone: no nudges then."""
    local = now.astimezone(zone(timezone)).time()
    return local >= QUIET_STARTS or local < QUIET_ENDS


@dataclass(frozen=True)
class NudgeCandidate:
    participant_id: int
    last_active_at: datetime
    nudges_sent: int
    finished: bool
    reminders_enabled: bool
    unreachable: bool


def nudge_due(
    candidate: NudgeCandidate, nudge_hours: Sequence[int], timezone: str, now: datetime
) -> bool:
    """At most len(nudge_hours) nudges, each that many hours after the last activity."""
    if candidate.finished or not candidate.reminders_enabled or candidate.unreachable:
        return False
    if candidate.nudges_sent >= len(nudge_hours):
        return False
    if in_quiet_hours(now, timezone):
        return False
    wait = timedelta(hours=nudge_hours[candidate.nudges_sent])
    return now - candidate.last_active_at >= wait
