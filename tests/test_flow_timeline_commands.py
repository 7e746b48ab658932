"""/schedule, /scheduled, /broadcast, /followup, /nudges and their buttons, as pure decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.flows import timeline_commands as flow
from bot.flows.state import ButtonPress, Command, TextInput
from bot.flows.timeline import TIMELINE_KINDS, JobKind
from bot.flows.views import Msg, View
from storage.models import JobState
from tests.flow_fixtures import RENDERER, rendered_text

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10:00 in Brussels
ME = 7
WORKSHOP = flow.TimelineWorkshop(
    id=3, code="TESTCODE23", title="Test workshop", timezone="Europe/Brussels", sessions=(1, 2, 3)
)


def snapshot(**kwargs: object) -> flow.TimelineSnapshot:
    values: dict[str, object] = {
        "user_id": ME,
        "is_facilitator": True,
        "language": "en",
        "now": NOW,
        "workshop": WORKSHOP,
    }
    values.update(kwargs)
    return flow.TimelineSnapshot(**values)  # type: ignore[arg-type]


def job(
    id: int = 11,
    kind: str = JobKind.REMINDER_DAY_BEFORE,
    state: JobState = JobState.PENDING,
    created_by: int | None = ME,
    due_at: datetime = START - timedelta(days=1),
) -> flow.JobInfo:
    return flow.JobInfo(id, WORKSHOP.id, kind, due_at, state, created_by)


def keys(outcome: flow.TimelineOutcome) -> list[str]:
    return [view.blocks[0].key for view in outcome.views if isinstance(view.blocks[0], Msg)]


def buttons(view: View) -> list[tuple[str, str]]:
    return [(RENDERER.plain(b.label, "en"), b.data) for row in view.keyboard for b in row]


def is_stale(outcome: flow.TimelineOutcome) -> bool:
    return outcome == flow.TimelineOutcome(toast=Msg("stale_button"))


# ---- who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", flow.COMMANDS)
def test_every_command_from_anyone_else_is_refused_and_loads_nothing(name: str) -> None:
    event = Command(name, ("TESTCODE23",))
    assert flow.wanted(event, is_facilitator=False) == flow.Wanted()
    outcome = flow.handle(snapshot(is_facilitator=False), event)
    assert outcome.refused and outcome.changes == []
    assert "only for workshop facilitators" in rendered_text(outcome.views)


@pytest.mark.parametrize("data", ["fs:TESTCODE23:d:20261203", "fc:11", "fb:11:go"])
def test_every_button_from_anyone_else_is_refused_with_a_toast(data: str) -> None:
    outcome = flow.handle(snapshot(is_facilitator=False, job=job()), ButtonPress(data))
    assert outcome == flow.TimelineOutcome(toast=Msg("fac.not_allowed"), refused=True)


def test_a_text_from_someone_not_asked_for_one_is_not_taken() -> None:
    assert flow.handle(snapshot(is_facilitator=False), TextInput("hi")) == flow.TimelineOutcome()
    assert flow.handle(snapshot(awaiting=None), TextInput("hi")) == flow.TimelineOutcome()


# ---- what the handler loads -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (Command("schedule"), flow.Wanted()),
        (Command("schedule", ("abc",)), flow.Wanted(code="abc")),
        (Command("scheduled", ("abc",)), flow.Wanted(code="abc", planned=True)),
        (ButtonPress("fs:ABC:d:20261203"), flow.Wanted(code="ABC")),
        (ButtonPress("fs:ABC:d:2026"), flow.Wanted()),
        (ButtonPress("fc:11"), flow.Wanted(job_id=11, planned=True)),
        (ButtonPress("fc:x"), flow.Wanted()),
        (ButtonPress("fb:11:go"), flow.Wanted(job_id=11, reachable=True)),
        (ButtonPress("fb:11:no"), flow.Wanted(job_id=11)),
        (ButtonPress("qa:11:a"), flow.Wanted()),
        (ButtonPress("garbage"), flow.Wanted()),
        (TextInput("hello"), flow.Wanted(reachable=True, awaiting=True)),
    ],
)
def test_wanted(event: Command | ButtonPress | TextInput, expected: flow.Wanted) -> None:
    assert flow.wanted(event, is_facilitator=True) == expected


# ---- /schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ((), "schedule.usage"),
        (("TESTCODE23", "2026-12-03"), "schedule.usage"),
        (("TESTCODE23", "a", "b", "c", "d"), "schedule.usage"),
        (("TESTCODE23", "3/12/2026", "10:00"), "schedule.bad_date"),
        (("TESTCODE23", "2026-12-03", "ten"), "schedule.bad_time"),
        (("TESTCODE23", "2026-12-03", "10:00", "Mars/Olympus"), "schedule.bad_timezone"),
        (("TESTCODE23", "2026-11-29", "10:00"), "schedule.in_the_past"),
    ],
)
def test_schedule_refuses_what_it_cannot_use(args: tuple[str, ...], key: str) -> None:
    outcome = flow.handle(snapshot(), Command("schedule", args))
    assert keys(outcome) == [key] and outcome.changes == []


def test_an_unknown_code_is_said_for_every_command() -> None:
    for name in flow.COMMANDS:
        outcome = flow.handle(snapshot(workshop=None), Command(name, ("NOPE",)))
        assert keys(outcome) == ["fac.unknown_workshop"] and outcome.changes == []


def test_schedule_with_a_code_offers_the_next_three_weeks_from_tomorrow_in_its_zone() -> None:
    late = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # already 1 December in Brussels
    outcome = flow.handle(snapshot(now=late), Command("schedule", ("TESTCODE23",)))
    (view,) = outcome.views
    offered = buttons(view)
    assert len(offered) == flow.DAYS_OFFERED
    assert offered[0] == ("Wed 2 Dec", "fs:TESTCODE23:d:20261202")
    assert outcome.changes == [] and not outcome.replace_origin


def test_schedule_with_day_and_time_plans_the_timeline_in_the_workshop_zone() -> None:
    outcome = flow.handle(snapshot(), Command("schedule", ("TESTCODE23", "2026-12-03", "10:00")))
    (change,) = outcome.changes
    assert isinstance(change, flow.ScheduleTimeline)
    assert (change.workshop_id, change.starts_at, change.timezone) == (
        3,
        START,
        "Europe/Brussels",
    )
    assert [j.kind for j in change.jobs] == [
        JobKind.REMINDER_DAY_BEFORE,
        JobKind.REMINDER_SOON,
        *[JobKind.SESSION_PROMPT] * 3,
        JobKind.FOLLOWUP,
    ]
    assert change.jobs[-1].due_at == START + timedelta(days=WORKSHOP.followup_days)
    text = rendered_text(outcome.views)
    assert "Planned: 6 messages" in text and "Thursday, December 3, 2026, 10:00" in text


def test_schedule_takes_a_zone_and_leaves_out_moments_already_past() -> None:
    soon = START - timedelta(hours=2)
    event = Command("schedule", ("TESTCODE23", "2026-12-03", "09:00", "Europe/London"))
    (change,) = flow.handle(snapshot(now=soon), event).changes
    assert isinstance(change, flow.ScheduleTimeline)
    assert change.timezone == "Europe/London" and change.starts_at == START
    assert JobKind.REMINDER_DAY_BEFORE not in [j.kind for j in change.jobs]
    assert {j.kind for j in change.jobs} <= set(TIMELINE_KINDS)


# ---- the /schedule pickers ------------------------------------------------------------------


def test_picking_a_day_then_a_time_replaces_the_picker() -> None:
    outcome = flow.handle(snapshot(), ButtonPress("fs:TESTCODE23:d:20261203"))
    assert outcome.replace_origin and outcome.changes == []
    assert ("10:00", "fs:TESTCODE23:t:20261203:1000") in buttons(outcome.views[0])
    assert "Thu 3 Dec" in rendered_text(outcome.views)
    outcome = flow.handle(snapshot(), ButtonPress("fs:TESTCODE23:t:20261203:1000"))
    assert outcome.replace_origin and outcome.changes == []
    assert ("Brussels", "fs:TESTCODE23:z:20261203:1000:0") in buttons(outcome.views[0])


def test_picking_the_zone_plans_the_timeline_in_place() -> None:
    outcome = flow.handle(snapshot(), ButtonPress("fs:TESTCODE23:z:20261203:1000:1"))
    (change,) = outcome.changes
    assert isinstance(change, flow.ScheduleTimeline) and change.timezone == "Europe/Paris"
    assert outcome.replace_origin and keys(outcome) == ["schedule.done"]


def test_a_picked_moment_already_past_is_said_below_the_picker() -> None:
    outcome = flow.handle(
        snapshot(now=START + timedelta(hours=1)), ButtonPress("fs:TESTCODE23:z:20261203:1000:0")
    )
    assert keys(outcome) == ["schedule.in_the_past"]
    assert outcome.changes == [] and not outcome.replace_origin


@pytest.mark.parametrize(
    "data",
    ["fs:TESTCODE23:d:2026", "fs:TESTCODE23:z:20261203:1000", "fs:TESTCODE23:z:20261203:1000:99"],
)
def test_a_malformed_picker_button_is_stale(data: str) -> None:
    assert is_stale(flow.handle(snapshot(), ButtonPress(data)))


def test_a_picker_of_a_workshop_gone_is_stale() -> None:
    assert is_stale(flow.handle(snapshot(workshop=None), ButtonPress("fs:GONE:d:20261203")))


# ---- /scheduled and its cancel buttons ------------------------------------------------------


def test_scheduled_lists_pending_jobs_with_a_cancel_button_each() -> None:
    planned = (job(11), job(12, JobKind.FOLLOWUP, due_at=START + timedelta(days=7)))
    outcome = flow.handle(snapshot(planned=planned), Command("scheduled", ("TESTCODE23",)))
    text = rendered_text(outcome.views)
    assert "1. reminder the day before, 2 Dec 2026 10:00" in text
    assert buttons(outcome.views[0]) == [("✖ Cancel 1", "fc:11"), ("✖ Cancel 2", "fc:12")]
    empty = flow.handle(snapshot(), Command("scheduled", ("TESTCODE23",)))
    assert keys(empty) == ["scheduled.none"]


def test_cancelling_a_planned_job_shows_the_list_without_it() -> None:
    planned = (job(11), job(12, JobKind.FOLLOWUP))
    outcome = flow.handle(snapshot(planned=planned, job=planned[0]), ButtonPress("fc:11"))
    assert outcome.changes == [flow.CancelJob(11)]
    assert outcome.toast == Msg("scheduled.cancelled") and outcome.replace_origin
    assert buttons(outcome.views[0]) == [("✖ Cancel 1", "fc:12")]


@pytest.mark.parametrize(
    "state", [JobState.DRAFT, JobState.RUNNING, JobState.DONE, JobState.CANCELLED]
)
def test_cancelling_a_job_no_longer_pending_is_stale(state: JobState) -> None:
    assert is_stale(flow.handle(snapshot(job=job(state=state)), ButtonPress("fc:11")))


def test_a_button_naming_a_job_gone_or_another_one_is_stale() -> None:
    assert is_stale(flow.handle(snapshot(job=None), ButtonPress("fc:11")))
    assert is_stale(flow.handle(snapshot(job=job(12)), ButtonPress("fc:11")))
    assert is_stale(flow.handle(snapshot(), ButtonPress("nonsense")))


# ---- /followup and /nudges ------------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("0",), ("61",), ("x",), ("3", "4")])
def test_followup_needs_a_number_of_days_up_to_the_limit(args: tuple[str, ...]) -> None:
    outcome = flow.handle(snapshot(), Command("followup", ("TESTCODE23", *args)))
    assert keys(outcome) == ["settings.followup_usage"] and outcome.changes == []
    assert "60" in rendered_text(outcome.views)


def test_followup_without_a_planned_start_only_sets_the_delay() -> None:
    outcome = flow.handle(snapshot(), Command("followup", ("TESTCODE23", "3")))
    assert outcome.changes == [flow.SetFollowupDays(3, 3)]
    assert "comes 3 days after" in rendered_text(outcome.views)
    past = replace(WORKSHOP, starts_at=NOW - timedelta(days=1))
    outcome = flow.handle(snapshot(workshop=past), Command("followup", ("TESTCODE23", "3")))
    assert outcome.changes == [flow.SetFollowupDays(3, 3)]


def test_followup_moves_an_already_planned_follow_up() -> None:
    planned = replace(WORKSHOP, starts_at=START)
    outcome = flow.handle(snapshot(workshop=planned), Command("followup", ("TESTCODE23", "3")))
    delay, timeline = outcome.changes
    assert delay == flow.SetFollowupDays(3, 3)
    assert isinstance(timeline, flow.ScheduleTimeline) and timeline.starts_at == START
    assert timeline.jobs[-1].kind is JobKind.FOLLOWUP
    assert timeline.jobs[-1].due_at == START + timedelta(days=3)


@pytest.mark.parametrize("args", [(), ("1", "2", "3"), ("x",), ("72", "24"), ("337",), ("-1",)])
def test_nudges_refuses_what_it_cannot_use(args: tuple[str, ...]) -> None:
    outcome = flow.handle(snapshot(), Command("nudges", ("TESTCODE23", *args)))
    assert keys(outcome) == ["settings.nudges_usage"] and outcome.changes == []


@pytest.mark.parametrize(
    ("args", "hours", "key"),
    [
        (("48",), (48,), "settings.nudges_done"),
        (("24", "72"), (24, 72), "settings.nudges_done"),
        (("0", "336"), (336,), "settings.nudges_done"),
        (("0",), (), "settings.nudges_off"),
    ],
)
def test_nudges_sets_the_hours_and_zero_means_none(
    args: tuple[str, ...], hours: tuple[int, ...], key: str
) -> None:
    outcome = flow.handle(snapshot(), Command("nudges", ("TESTCODE23", *args)))
    assert outcome.changes == [flow.SetNudgeHours(3, hours)] and keys(outcome) == [key]


# ---- /broadcast: ask, typed text, preview, send or drop -------------------------------------


def test_broadcast_asks_for_the_text() -> None:
    outcome = flow.handle(snapshot(), Command("broadcast", ("TESTCODE23",)))
    assert outcome.changes == [flow.AwaitBroadcastText(3)]
    assert "Type the message for everyone in “Test workshop”" in rendered_text(outcome.views)


def test_the_typed_text_becomes_a_draft_previewed_once_stored() -> None:
    awaiting = snapshot(awaiting=flow.BROADCAST_INPUT, reachable=4)
    outcome = flow.handle(awaiting, TextInput("  Room 4 is open  "))
    assert outcome.views == []
    stop, draft = outcome.changes
    assert stop == flow.StopAwaiting()
    assert draft == flow.StartBroadcastDraft(3, "Room 4 is open", NOW)
    assert isinstance(draft, flow.StartBroadcastDraft)
    preview = flow.drafted(awaiting, draft, 99)
    text = rendered_text([preview])
    assert "This goes to 4 people" in text and "Room 4 is open" in text
    assert buttons(preview) == [("✅ Send now", "fb:99:go"), ("✖ Cancel", "fb:99:no")]


@pytest.mark.parametrize(
    ("text", "workshop", "key", "changes"),
    [
        ("/cancel", WORKSHOP, "broadcast.cancelled", [flow.StopAwaiting()]),
        (" /CANCEL ", WORKSHOP, "broadcast.cancelled", [flow.StopAwaiting()]),
        ("Hello", None, "broadcast.cancelled", [flow.StopAwaiting()]),
        ("   ", WORKSHOP, "broadcast.empty", []),
        ("x" * (flow.MAX_BROADCAST_CHARS + 1), WORKSHOP, "broadcast.too_long", []),
    ],
)
def test_a_typed_text_that_is_no_broadcast(
    text: str, workshop: flow.TimelineWorkshop | None, key: str, changes: list[object]
) -> None:
    outcome = flow.handle(
        snapshot(awaiting=flow.BROADCAST_INPUT, workshop=workshop), TextInput(text)
    )
    assert keys(outcome) == [key] and outcome.changes == changes


def test_send_now_confirms_the_draft_and_shows_progress_in_place() -> None:
    draft = job(21, JobKind.BROADCAST, JobState.DRAFT)
    pressed = snapshot(job=draft, reachable=4, origin=(500, 42))
    outcome = flow.handle(pressed, ButtonPress("fb:21:go"))
    assert outcome.changes == [flow.ConfirmBroadcast(21, NOW, (500, 42))]
    assert outcome.replace_origin and "Sending to 4 people: 0 done" in rendered_text(outcome.views)


def test_cancel_drops_the_draft() -> None:
    draft = job(21, JobKind.BROADCAST, JobState.DRAFT)
    outcome = flow.handle(snapshot(job=draft), ButtonPress("fb:21:no"))
    assert outcome.changes == [flow.CancelJob(21)] and outcome.replace_origin
    assert keys(outcome) == ["broadcast.cancelled"]


@pytest.mark.parametrize(
    ("draft", "data"),
    [
        (job(21, JobKind.BROADCAST, JobState.PENDING), "fb:21:go"),  # already sent
        (job(21, JobKind.BROADCAST, JobState.CANCELLED), "fb:21:go"),
        (job(21, JobKind.BROADCAST, JobState.DRAFT, created_by=8), "fb:21:go"),  # not theirs
        (job(21, JobKind.BROADCAST, JobState.DRAFT), "fb:21"),
        (job(21, JobKind.BROADCAST, JobState.DRAFT), "fb:21:go:again"),
    ],
)
def test_a_draft_button_pressed_again_or_by_someone_else_is_stale(
    draft: flow.JobInfo, data: str
) -> None:
    assert is_stale(flow.handle(snapshot(job=draft), ButtonPress(data)))


def test_dates_are_in_the_reader_language() -> None:
    outcome = flow.handle(snapshot(language="fr"), ButtonPress("fs:TESTCODE23:d:20261203"))
    assert "jeu. 3 déc." in rendered_text(outcome.views, "fr")


def test_superscript_digits_are_not_numbers() -> None:
    """`"²".isdigit()` is true but `int("²")` fails: such input is a usage error, no crash."""
    for command, args, usage in (
        ("followup", ("TESTCODE23", "²"), "settings.followup_usage"),
        ("nudges", ("TESTCODE23", "2", "⁴"), "settings.nudges_usage"),
    ):
        outcome = flow.handle(snapshot(), Command(command, args))
        assert keys(outcome) == [usage] and outcome.changes == []
