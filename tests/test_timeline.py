"""The workshop timeline: agenda, grace periods, quiet hours and nudge rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.flows.timeline import (
    JobKind,
    NudgeCandidate,
    ScheduleError,
    in_quiet_hours,
    is_missed,
    nudge_due,
    parse_start,
    plan,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_brussels_time_is_stored_in_utc_across_daylight_saving() -> None:
    assert parse_start("2026-12-03", "10:00", "Europe/Brussels", NOW) == START
    summer = parse_start("2027-07-01", "10:00", "Europe/Brussels", NOW)
    assert summer == datetime(2027, 7, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "zone", "key"),
    [
        ("3/12/2026", "10:00", "Europe/Brussels", "schedule.bad_date"),
        ("2026-12-03", "25:00", "Europe/Brussels", "schedule.bad_time"),
        ("2026-12-03", "10:00", "Mars/Olympus", "schedule.bad_timezone"),
        ("2026-11-01", "10:00", "Europe/Brussels", "schedule.in_the_past"),
    ],
)
def test_bad_schedules_say_why(day: str, at: str, zone: str, key: str) -> None:
    with pytest.raises(ScheduleError) as error:
        parse_start(day, at, zone, NOW)
    assert error.value.key == key


def test_plan_follows_the_agenda_and_skips_the_past() -> None:
    jobs = plan(START, 7, [1, 3], NOW)
    assert [(job.kind, job.due_at - START) for job in jobs] == [
        (JobKind.REMINDER_DAY_BEFORE, timedelta(hours=-24)),
        (JobKind.REMINDER_SOON, timedelta(minutes=-15)),
        (JobKind.SESSION_PROMPT, timedelta(minutes=10)),
        (JobKind.SESSION_PROMPT, timedelta(minutes=100)),
        (JobKind.FOLLOWUP, timedelta(days=7)),
    ]
    late = plan(START, 7, [1], START - timedelta(hours=1))
    assert [job.kind for job in late] == [
        JobKind.REMINDER_SOON,
        JobKind.SESSION_PROMPT,
        JobKind.FOLLOWUP,
    ]


def test_grace_periods() -> None:
    due = START - timedelta(minutes=15)
    assert not is_missed(JobKind.REMINDER_SOON, due, due + timedelta(minutes=10))
    assert is_missed(JobKind.REMINDER_SOON, due, START)
    assert not is_missed(JobKind.FOLLOWUP, START, START + timedelta(days=1))


def test_quiet_hours_are_local() -> None:
    assert in_quiet_hours(datetime(2026, 12, 3, 20, 30, tzinfo=UTC), "Europe/Brussels")
    assert in_quiet_hours(datetime(2026, 12, 3, 6, 30, tzinfo=UTC), "Europe/Brussels")
    assert not in_quiet_hours(datetime(2026, 12, 3, 7, 0, tzinfo=UTC), "Europe/Brussels")


def _candidate(**changes: object) -> NudgeCandidate:
    values: dict[str, object] = {
        "participant_id": 1,
        "last_active_at": START,
        "nudges_sent": 0,
        "finished": False,
        "reminders_enabled": True,
        "unreachable": False,
    }
    values.update(changes)
    return NudgeCandidate(**values)  # type: ignore[arg-type]


def test_at_most_two_nudges_after_24_and_72_hours_outside_quiet_hours() -> None:
    hours = [24, 72]
    zone = "Europe/Brussels"
    assert not nudge_due(_candidate(), hours, zone, START + timedelta(hours=23))
    assert nudge_due(_candidate(), hours, zone, START + timedelta(hours=24))
    assert not nudge_due(_candidate(nudges_sent=1), hours, zone, START + timedelta(hours=48))
    assert nudge_due(_candidate(nudges_sent=1), hours, zone, START + timedelta(hours=72))
    assert not nudge_due(_candidate(nudges_sent=2), hours, zone, START + timedelta(days=30))
    night = START + timedelta(hours=36)  # 21:00 UTC = 22:00 in Brussels
    assert not nudge_due(_candidate(), hours, zone, night)
    for blocked in ({"finished": True}, {"reminders_enabled": False}, {"unreachable": True}):
        assert not nudge_due(_candidate(**blocked), hours, zone, START + timedelta(hours=30))
