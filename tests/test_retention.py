"""The retention rule as pure functions, and the lifecycle commands' decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.flows import facilitator as flow
from bot.flows.state import Command
from bot.scheduling.retention import (
    WARNING_BEFORE,
    Due,
    add_months,
    deletes_on,
    due,
    expires_at,
    merge_counts,
    retained_counts,
)
from storage.repositories.retention import Aggregates
from tests.flow_fixtures import CATALOGUE, rendered_text, workshop

CLOSED = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2027, 1, 15, 8, 30), 1, datetime(2027, 2, 15, 8, 30)),
        (datetime(2027, 1, 31), 1, datetime(2027, 2, 28)),  # no 31 February: its last day
        (datetime(2028, 1, 31), 1, datetime(2028, 2, 29)),  # a leap year
        (datetime(2027, 3, 31), 1, datetime(2027, 4, 30)),
        (datetime(2027, 11, 30), 3, datetime(2028, 2, 29)),  # across the new year
        (datetime(2027, 12, 1), 1, datetime(2028, 1, 1)),
        (datetime(2028, 2, 29), 12, datetime(2029, 2, 28)),
        (datetime(2027, 5, 17), 24, datetime(2029, 5, 17)),
        (datetime(2027, 5, 17), 0, datetime(2027, 5, 17)),
    ],
)
def test_add_months_counts_calendar_months(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start, months) == expected


def test_add_months_keeps_the_time_zone() -> None:
    paris = timezone(timedelta(hours=1))
    moved = add_months(datetime(2027, 1, 31, 23, 30, tzinfo=paris), 1)
    assert moved == datetime(2027, 2, 28, 23, 30, tzinfo=paris) and moved.tzinfo is paris


def test_a_closed_workshop_counts_from_its_closing() -> None:
    last_answer = CLOSED - timedelta(days=40)
    assert expires_at("closed", CLOSED, last_answer, 12) == datetime(2028, 1, 31, 10, tzinfo=UTC)
    assert expires_at("closed", CLOSED, last_answer, 3) == datetime(2027, 4, 30, 10, tzinfo=UTC)


def test_an_active_workshop_counts_from_its_last_answer() -> None:
    last = datetime(2027, 5, 2, 18, 0, tzinfo=UTC)
    assert expires_at("active", None, last, 12) == datetime(2028, 5, 2, 18, 0, tzinfo=UTC)


def test_nothing_expires_without_anyone_s_data_or_once_purged() -> None:
    assert expires_at("closed", CLOSED, None, 12) is None  # nobody joined
    assert expires_at("active", None, None, 12) is None
    assert expires_at("purged", CLOSED, CLOSED, 12) is None


def test_warning_fourteen_days_before_then_deletion_at_expiry() -> None:
    expiry = datetime(2027, 4, 30, 10, 0, tzinfo=UTC)
    warn_from = expiry - timedelta(days=14)
    assert timedelta(days=14) == WARNING_BEFORE
    assert due(expiry, None, warn_from - timedelta(seconds=1)) is Due.NOTHING
    assert due(expiry, None, warn_from) is Due.WARN
    assert deletes_on(expiry, None, warn_from) == expiry
    assert due(expiry, warn_from, warn_from + timedelta(days=1)) is Due.NOTHING  # told once
    assert due(expiry, warn_from, expiry - timedelta(seconds=1)) is Due.NOTHING
    assert due(expiry, warn_from, expiry) is Due.PURGE
    assert due(None, None, expiry) is Due.NOTHING


def test_a_late_warning_still_gives_fourteen_days() -> None:
    expiry = datetime(2027, 4, 30, 10, 0, tzinfo=UTC)
    late = expiry + timedelta(days=30)  # the bot was down, or this rule came later
    assert due(expiry, None, late) is Due.WARN
    assert deletes_on(expiry, None, late) == late + timedelta(days=14)
    assert due(expiry, late, late + timedelta(days=13)) is Due.NOTHING
    assert due(expiry, late, late + timedelta(days=14)) is Due.PURGE


def test_a_new_answer_after_the_warning_moves_the_date_and_warns_again() -> None:
    first_expiry = datetime(2027, 4, 30, 10, 0, tzinfo=UTC)
    warned = first_expiry - timedelta(days=14)
    answered = warned + timedelta(days=2)
    expiry = expires_at("active", None, answered, 3)
    assert expiry == datetime(2027, 7, 18, 10, 0, tzinfo=UTC)
    assert due(expiry, warned, first_expiry) is Due.NOTHING
    assert due(expiry, warned, expiry - timedelta(days=14)) is Due.WARN


def test_retained_counts_are_counts_only() -> None:
    found = Aggregates(
        roles=[("worker", 2, 1), ("service_user", 1, 1), (None, 1, 0)],
        answers=[("h1", "priority", 3), ("h1", "needs", 2), ("h2", "priority", 1)],
        priorities=[
            ("h1", "worker", "4", 1),
            ("h1", "worker", "unsure", 1),
            ("h1", "service_user", "2", 1),
            ("h2", "worker", "5", 1),
            ("h2", "worker", "not a priority", 4),  # never stored, but never counted either
        ],
    )
    counts = retained_counts(found)
    zero = {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "unsure": 0}
    assert counts == {
        "participants": {"worker": 2, "service_user": 1, "none": 1},
        "finished": 2,
        "answers": {"h1": {"priority": 3, "needs": 2}, "h2": {"priority": 1}},
        "priorities": {
            "h1": {
                "worker": {"count": 2, "distribution": {**zero, "4": 1, "unsure": 1}},
                "service_user": {"count": 1, "distribution": {**zero, "2": 1}},
            },
            "h2": {"worker": {"count": 1, "distribution": {**zero, "5": 1}}},
        },
    }
    assert merge_counts({}, counts) == counts
    doubled = merge_counts(counts, counts)
    assert doubled["participants"] == {"worker": 4, "service_user": 2, "none": 2}
    assert doubled["priorities"]["h1"]["worker"]["distribution"]["unsure"] == 2


# ---- the lifecycle commands' decisions -----------------------------------------------------


def snapshot(**kwargs: object) -> flow.FacilitatorSnapshot:
    return flow.FacilitatorSnapshot(
        user_id=1,
        is_facilitator=True,
        bot_username="codesign_test_bot",
        scopes=CATALOGUE.scopes,
        all_recommendations=tuple(CATALOGUE.recommendations),
        languages=("en", "fr"),
        **kwargs,  # type: ignore[arg-type]
    )


def test_closing_an_active_workshop_changes_it_and_the_default_is_refused() -> None:
    ws = workshop()
    outcome = flow.handle(snapshot(workshop=ws), Command("closeworkshop", (ws.code,)))
    assert outcome.changes == [flow.CloseWorkshop(ws.id)]
    assert outcome.reports == [flow.Report.CLOSED]
    general = replace(workshop(), is_default=True)
    refused = flow.handle(snapshot(workshop=general), Command("closeworkshop", (ws.code,)))
    assert refused.changes == [] and "cannot be closed" in rendered_text(refused.views)
    ended = flow.handle(
        snapshot(workshop=workshop(is_active=False), retention=flow.Retention("closed", "May 1")),
        Command("closeworkshop", (ws.code,)),
    )
    assert ended.changes == [] and "Personal data deleted on May 1" in rendered_text(ended.views)


def test_deleting_asks_for_the_code_and_only_the_exact_code_deletes() -> None:
    ws = workshop()
    asked = flow.handle(
        snapshot(workshop=ws, participants=3), Command("deleteworkshop", (ws.code,))
    )
    assert asked.changes == [flow.AskToConfirmDeletion(ws.id)]
    assert "its participants (3)" in rendered_text(asked.views)
    busy = flow.handle(
        snapshot(workshop=ws, in_conversation=True), Command("deleteworkshop", (ws.code,))
    )
    assert busy.changes == [] and "/endchat" in rendered_text(busy.views)
    general = flow.handle(
        snapshot(workshop=replace(workshop(), is_default=True)),
        Command("deleteworkshop", (ws.code,)),
    )
    assert general.changes == [] and "cannot be deleted" in rendered_text(general.views)

    assert flow.confirm_deletion(ws, f" {ws.code}\n", expired=False).changes == [
        flow.DeleteWorkshop(ws.id)
    ]
    for typed in (ws.code.lower(), ws.code[:-1], "yes", ""):
        refused = flow.confirm_deletion(ws, typed, expired=False)
        assert refused.changes == [] and "not the code" in rendered_text(refused.views)
    late = flow.confirm_deletion(ws, ws.code, expired=True)
    assert late.changes == [] and "Nothing was deleted" in rendered_text(late.views)
    cancelled = flow.confirm_deletion(ws, "/cancel", expired=False)
    assert cancelled.changes == [] and "Nothing was deleted" in rendered_text(cancelled.views)
