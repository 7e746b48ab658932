"""Facilitator decisions: who may do what, and the workshop settings screen."""

from __future__ import annotations

import pytest

from bot.flows import facilitator as flow
from bot.flows.state import ButtonPress, Command
from tests.flow_fixtures import CATALOGUE, RENDERER, rendered_text, workshop

ALL = tuple(CATALOGUE.recommendations)


def snapshot(*, allowed: bool = True, **kwargs: object) -> flow.FacilitatorSnapshot:
    return flow.FacilitatorSnapshot(
        user_id=1,
        is_facilitator=allowed,
        bot_username="codesign_test_bot",
        scopes=CATALOGUE.scopes,
        all_recommendations=ALL,
        languages=("en", "fr"),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "event",
    [
        Command("newworkshop", ("Lyon",)),
        Command("workshops"),
        Command("stats"),
        Command("export", ("TESTCODE23",)),
        Command("addfacilitator", ("42",)),
        ButtonPress("fw:TESTCODE23:op:0"),
    ],
)
def test_everyone_else_is_refused_and_nothing_changes(event: Command | ButtonPress) -> None:
    outcome = flow.handle(snapshot(allowed=False, workshop=workshop()), event)
    assert outcome.refused and outcome.changes == [] and outcome.reports == []
    shown = rendered_text(outcome.views) or RENDERER.plain(outcome.toast, "en")  # type: ignore[arg-type]
    assert "only for workshop facilitators" in shown


def test_new_workshop_needs_a_title_and_defaults_to_headline_in_all_languages() -> None:
    assert flow.handle(snapshot(), Command("newworkshop")).changes == []
    outcome = flow.handle(snapshot(), Command("newworkshop", ("Care", "workers,", "Lyon")))
    assert outcome.changes == [
        flow.CreateWorkshop("Care workers, Lyon", CATALOGUE.scope("headline"), ("en", "fr"))
    ]
    assert outcome.reports == [flow.Report.SETTINGS_OF_CREATED]


def test_settings_screen_shows_invite_link_and_choices() -> None:
    view = flow.settings(workshop(), snapshot())
    text = rendered_text([view])
    assert "https://t.me/codesign_test_bot?start=TESTCODE23" in text
    assert "five headline" in text
    labels = [RENDERER.plain(b.label, "en") for row in view.keyboard for b in row]
    assert "✓ 5 headline" in labels and "9 detailed" in labels and "✓ All languages" in labels
    assert all(len(b.data.encode()) <= 64 for row in view.keyboard for b in row)


def test_scope_language_and_open_buttons_update_the_workshop() -> None:
    ws = workshop()
    s = snapshot(workshop=ws)
    detailed = flow.handle(s, ButtonPress("fw:TESTCODE23:sc:detailed"))
    assert detailed.changes == [flow.UpdateWorkshop(1, scope=CATALOGUE.scope("detailed"))]
    assert detailed.replace_origin
    french = flow.handle(s, ButtonPress("fw:TESTCODE23:ln:fr"))
    assert french.changes == [flow.UpdateWorkshop(1, languages=("fr",))]
    closed = flow.handle(s, ButtonPress("fw:TESTCODE23:op:0"))
    assert closed.changes == [flow.UpdateWorkshop(1, is_open=False)]
    assert "🔓 Open to new people" in [
        RENDERER.plain(b.label, "en") for row in closed.views[0].keyboard for b in row
    ]


def test_picking_toggles_recommendations_in_catalogue_order_and_keeps_one() -> None:
    s = snapshot(workshop=workshop(scope=("h2",)))
    added = flow.handle(s, ButtonPress("fw:TESTCODE23:tg:h1"))
    assert added.changes == [flow.UpdateWorkshop(1, scope=("h1", "h2"))]
    last = flow.handle(s, ButtonPress("fw:TESTCODE23:tg:h2"))
    assert last.changes == [] and last.toast is not None


def test_stats_and_export_need_a_known_workshop() -> None:
    assert flow.handle(snapshot(), Command("stats", ("NOPE",))).reports == []
    assert flow.handle(snapshot(workshop=workshop()), Command("export")).reports == [
        flow.Report.EXPORT
    ]


def test_add_facilitator_takes_a_numeric_id_only() -> None:
    assert flow.handle(snapshot(), Command("addfacilitator", ("@alice",))).changes == []
    assert flow.handle(snapshot(), Command("addfacilitator", ("77",))).changes == [
        flow.Promote(77)
    ]


def test_workshops_overview_lists_counts_by_role() -> None:
    summary = flow.WorkshopSummary(workshop(), {"worker": 2, "service_user": 1}, 3, 1)
    text = rendered_text([flow.overview_view(snapshot(overview=(summary,)))])
    assert "Started: 3, finished: 1" in text
    assert "I work in social services: 2" in text and "I use social services: 1" in text
