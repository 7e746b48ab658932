"""Safe participation in the pure flows: distress, consent, quotes and withdrawal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.flows import participant as flow
from bot.flows.positions import REVIEW, ROLE, ROLE_OTHER, Question
from bot.flows.safeguarding import leads, screening
from bot.flows.state import (
    AnswerInfo,
    ButtonPress,
    Command,
    EndRelay,
    Finish,
    Forget,
    ForwardToTeam,
    Move,
    RaiseAlert,
    RequestContact,
    SaveAnswer,
    SetMayQuote,
    SetQuoteConsent,
    SetReminders,
    SetRole,
    TextInput,
)
from tests.flow_fixtures import participant, q, rendered_text, snap, workshop

P, N, C = Question.PRIORITY, Question("needs"), Question("concerns")
ORG = replace(workshop(), organisation="Care Together", contact="team@care.example", country="FR")


def test_distress_in_an_answer_keeps_it_marked_sensitive_and_shows_the_way_to_a_human() -> None:
    person = participant(q("h1", N), ws=ORG)
    outcome = flow.handle(snap(person), TextInput("Je n’en peux plus, je veux mourir"))
    saves = [c for c in outcome.changes if isinstance(c, SaveAnswer)]
    assert saves == [SaveAnswer("h1", N, "Je n’en peux plus, je veux mourir", sensitive=True)]
    [alert] = [c for c in outcome.changes if isinstance(c, RaiseAlert)]
    assert alert.rec == "h1" and alert.question is N and "suicide" in alert.categories
    assert any(isinstance(c, Move) for c in outcome.changes)  # the answer still counts
    text = rendered_text(outcome.views)
    assert "112" in text and "3114" in text and "team@care.example" in text
    assert "Saved" not in text
    data = [b.data for row in outcome.views[-1].keyboard for b in row]
    assert data == ["sos", "go"]


def test_benign_words_are_saved_as_usual() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), TextInput("AI will kill jobs"))
    assert not any(isinstance(c, RaiseAlert) for c in outcome.changes)
    assert "Saved" in rendered_text(outcome.views)


@pytest.mark.parametrize(
    ("person", "text", "changes"),
    [
        (participant(ROLE_OTHER), "my husband hits me", SetRole),
        (participant(q("h1", P)), "I want to kill myself", None),
        (participant(REVIEW), "nobody washes me for days", None),
    ],
)
def test_words_typed_anywhere_raise_an_alert(person: object, text: str, changes: object) -> None:
    outcome = flow.handle(snap(person), TextInput(text))  # type: ignore[arg-type]
    assert any(isinstance(c, RaiseAlert) for c in outcome.changes)
    assert "I am a computer program" in rendered_text(outcome.views)
    if changes is not None:
        assert any(isinstance(c, changes) for c in outcome.changes)  # type: ignore[arg-type]


def test_before_joining_the_way_to_help_is_shown_and_nothing_stored() -> None:
    outcome = flow.handle(snap(None, target=ORG), TextInput("I want to die"))
    assert outcome.changes == []
    assert "112" in rendered_text(outcome.views)
    assert [b.data for row in outcome.views[0].keyboard for b in row] == ["go"]


def test_contact_me_records_the_request_and_keeps_showing_the_resources() -> None:
    outcome = flow.handle(snap(participant(q("h1", C), ws=ORG)), ButtonPress("sos"))
    assert outcome.changes == [RequestContact()]
    text = rendered_text(outcome.views)
    assert "I have told the workshop team" in text and "112" in text


def test_in_an_open_conversation_typed_words_go_to_the_team_not_into_an_answer() -> None:
    person = replace(participant(q("h1", N)), relay_open=True)
    outcome = flow.handle(snap(person), TextInput("Thank you for writing"))
    assert outcome.changes == [ForwardToTeam("Thank you for writing")]
    ended = flow.handle(snap(person), ButtonPress("endchat"))
    assert ended.changes == [EndRelay()]


def test_help_names_the_workshop_contact() -> None:
    outcome = flow.handle(snap(participant(ws=ORG)), Command("help"))
    assert "Care Together, team@care.example" in rendered_text(outcome.views)


def test_leads_are_the_configured_ones_else_the_creator_else_the_facilitators() -> None:
    assert leads.leads_for([7, 7, 8], 1, {9}) == (7, 8)
    assert leads.leads_for([], 1, {9}) == (1,)
    assert leads.leads_for([], None, {9, 3}) == (3, 9)


def test_the_alert_hides_the_words_until_asked_and_can_be_marked_handled() -> None:
    alert = leads.AlertInfo(
        5,
        "CODE",
        "Lyon",
        "P-ABCD1234",
        "h1",
        ("suicide",),
        datetime(2026, 1, 1, tzinfo=UTC),
        "I want to die",
    )
    hidden = rendered_text([leads.alert_view(alert)])
    assert "P-ABCD1234" in hidden and "I want to die" not in hidden
    shown = leads.handle(leads.LeadSnapshot(1, alert, True), ButtonPress("sg:5:show"))
    assert shown.replace_origin and "I want to die" in rendered_text(shown.views)
    done = leads.handle(leads.LeadSnapshot(1, alert, True), ButtonPress("sg:5:done"))
    assert done.changes == [leads.MarkHandled(5)]
    refused = leads.handle(leads.LeadSnapshot(2, None, False), ButtonPress("sg:5:show"))
    assert refused.refused and refused.changes == []


def test_consent_is_short_with_the_rest_one_tap_away() -> None:
    ws = replace(ORG, privacy_url="https://care.example/privacy", retention_months=6)
    short = flow.handle(snap(None, target=ws), Command("start", ("TESTCODE23",)))
    text = rendered_text(short.views)
    assert "about 10 minutes" in text and "Care Together" in text and "6 months" in text
    assert "Telegram account" in text and "Telegram number" not in text
    assert "health" not in text
    more = flow.handle(snap(None, target=ws), ButtonPress("cm:TESTCODE23:en"))
    details = rendered_text(more.views)
    assert more.replace_origin and more.changes == []
    for fact in (
        "health, a disability",
        "recordings",
        "privacy rules",
        "/reminders off",
        "data protection authority",
        "https://care.example/privacy",
        "team@care.example",
    ):
        assert fact in details, fact
    assert [b.data for row in more.views[0].keyboard for b in row][:2] == [
        "ok:TESTCODE23:en:0",
        "no:TESTCODE23:en:0",
    ]


def _finished_review(**kwargs: object) -> object:
    answers = {("h1", P): AnswerInfo("4", False), ("h1", N): AnswerInfo("More time", False)}
    return replace(participant(REVIEW, answers=answers), **kwargs)


def test_before_finishing_people_are_asked_once_whether_their_words_may_be_shared() -> None:
    person = _finished_review()
    asked = flow.handle(snap(person), ButtonPress("done"))  # type: ignore[arg-type]
    assert asked.changes == [] and "May we share your words" in rendered_text(asked.views)
    yes = flow.handle(snap(person), ButtonPress("qc:y"))  # type: ignore[arg-type]
    assert yes.changes[0] == SetQuoteConsent(True)
    assert any(isinstance(c, Finish) for c in yes.changes)
    answered = _finished_review(quote_consent=False)
    direct = flow.handle(snap(answered), ButtonPress("done"))  # type: ignore[arg-type]
    assert any(isinstance(c, Finish) for c in direct.changes)


def test_one_answer_can_be_made_private_from_the_review() -> None:
    answers = {("h1", N): AnswerInfo("More time", False, may_quote=True)}
    person = replace(participant(REVIEW, answers=answers), quote_consent=True)
    outcome = flow.handle(snap(person), ButtonPress("qt:h1:nd:1:n"))
    assert outcome.changes == [SetMayQuote("h1", N, 1, False)]
    assert "🔒 Private" in rendered_text(outcome.views)
    forged = flow.handle(snap(person), ButtonPress("qt:h1:cn:1:y"))  # no such answer
    assert forged.changes == []


@pytest.mark.parametrize(
    "typed", ["stop", "Delete", "arrêter", "Supprimer!", "löschen", "borrar", "basta", "stoppen"]
)
def test_typed_stop_words_lead_to_the_same_choice(typed: str) -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), TextInput(typed))
    assert outcome.changes == []
    assert [b.data for row in outcome.views[0].keyboard for b in row] == [
        "forget:yes",
        "forget:no",
    ]


def test_an_answer_that_starts_with_stop_is_kept() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), TextInput("Stop the cuts to home care"))
    assert isinstance(outcome.changes[0], SaveAnswer)


def test_people_in_several_workshops_choose_this_one_or_all() -> None:
    person = participant(q("h1", N))
    outcome = flow.handle(snap(person, workshops_joined=2), ButtonPress("stop"))
    data = [b.data for row in outcome.views[0].keyboard for b in row]
    assert data == ["forget:ws", "forget:yes", "forget:no"]
    this_one = flow.handle(snap(person, workshops_joined=2), ButtonPress("forget:ws"))
    assert this_one.changes == [Forget(workshop_only=True)]


def test_stop_reminders_is_one_tap() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), ButtonPress("roff"))
    assert outcome.changes == [SetReminders(False)]


def test_nobody_finishes_without_a_role() -> None:
    person = replace(participant(REVIEW, role=None), quote_consent=False)
    outcome = flow.handle(snap(person), ButtonPress("done"))
    assert not any(isinstance(c, Finish) for c in outcome.changes)
    assert Move(ROLE, REVIEW) in outcome.changes
    chosen = flow.handle(
        snap(replace(person, position=ROLE, return_to=REVIEW)), ButtonPress("role:worker")
    )
    assert Move(REVIEW, None) in chosen.changes


def test_mydata_shows_follow_up_additions_and_the_consent_record() -> None:
    from bot.flows import mydata
    from tests.flow_fixtures import CATALOGUE

    answer = {
        "recommendation_id": "h1",
        "question": "addition",
        "round": 2,
        "value": "Only with human contact",
        "skipped": False,
        "voice_duration_seconds": None,
    }
    data = {
        "telegram_user_id": 7,
        "language": "en",
        "reminders_enabled": True,
        "created_at": "2026-11-26T10:00:00+00:00",
        "participations": [
            {
                "workshop_title": "Lyon",
                "workshop_code": "CODE",
                "pseudonym": "P-ABCD1234",
                "role": "worker",
                "role_other": None,
                "consented_at": "2026-11-26T10:00:00+00:00",
                "consent_language": "fr",
                "consent_version": "0123456789ab",
                "quote_consent": True,
                "finished_at": None,
                "answers": [answer],
                "safeguarding_alerts": [],
            }
        ],
    }
    text = rendered_text(mydata.views(data, CATALOGUE))
    assert "anything to add: Only with human contact" in text
    assert "in Français (consent text 0123456789ab)" in text


@pytest.mark.parametrize(
    ("country", "override", "promise"),
    [("FR", None, True), ("IT", None, False), ("FR", "Our own line 0800 000", False)],
)
def test_day_and_night_is_promised_only_for_lines_that_keep_it(
    country: str, override: str | None, promise: bool
) -> None:
    ws = replace(workshop(), country=country, helpline=override)
    text = rendered_text([screening.safety_reply(ws, can_ask_contact=True)])
    assert ("day and night" in text) is promise, text
    if country == "IT":
        assert "10:00-24:00" in text
