"""The participant conversation, position by position, without Telegram or a database."""

from __future__ import annotations

import itertools

import pytest

from bot.flows import participant as flow
from bot.flows.callbacks import MAX_CALLBACK_BYTES
from bot.flows.positions import DONE, QUESTIONS, REVIEW, ROLE, ROLE_OTHER, Question
from bot.flows.state import (
    AnswerInfo,
    ButtonPress,
    Command,
    ConsentOffer,
    EditedAnswer,
    EditedText,
    Finish,
    Forget,
    Join,
    Move,
    OtherInput,
    SaveAnswer,
    SetEasyRead,
    SetLanguage,
    SetRole,
    SwitchWorkshop,
    TextInput,
    VoiceInput,
)
from bot.rendering import MAX_MESSAGE_CHARS, utf16_len
from tests.flow_fixtures import HEADLINE, RENDERER, participant, q, rendered_text, snap, workshop

P, N, C = Question.PRIORITY, Question("needs"), Question("concerns")


def test_start_with_code_shows_consent_in_telegram_language_and_stores_nothing() -> None:
    outcome = flow.handle(
        snap(None, "fr-BE", target=workshop()), Command("start", ("testcode23",))
    )
    assert outcome.changes == []
    assert outcome.language == "fr"
    text = rendered_text(outcome.views, "fr")
    assert "Test workshop" in text and "accepte" in text.lower()
    labels = [b.data for row in outcome.views[0].keyboard for b in row]
    assert labels == [
        "ok:TESTCODE23:fr:0",
        "no:TESTCODE23:fr:0",
        "cm:TESTCODE23:fr:0",
        "easy:1:TESTCODE23:fr:0",
        "cl:TESTCODE23:en:0:0",
    ]
    assert outcome.consent_offer == ConsentOffer("TESTCODE23", "fr", False)


def test_start_with_unknown_code_explains_and_changes_nothing() -> None:
    outcome = flow.handle(snap(None, target=None), Command("start", ("NOPE",)))
    assert outcome.changes == []
    assert "could not find that workshop" in rendered_text(outcome.views)


@pytest.mark.parametrize(
    ("ws", "expected"),
    [
        (workshop(is_active=False), "This workshop has ended"),
        (workshop(is_open=False), "not taking new participants"),
    ],
)
def test_start_refuses_ended_or_closed_workshops(ws: object, expected: str) -> None:
    outcome = flow.handle(snap(None, target=ws), Command("start", ("TESTCODE23",)))
    assert outcome.changes == []
    assert expected in rendered_text(outcome.views)


def test_start_without_code_resumes_the_active_participation() -> None:
    p = participant(q("h2", N))
    outcome = flow.handle(snap(p, target=workshop()), Command("start"))
    assert outcome.changes == []
    text = rendered_text(outcome.views)
    assert "Welcome back" in text and "2 of 5" in text


def test_start_with_code_of_another_joined_workshop_switches_to_it() -> None:
    other = participant(q("h3", P), ws=workshop(code="OTHERCODE2", id=2))
    current = participant(q("h1", P))
    outcome = flow.handle(
        snap(current, target=other.workshop, target_participant=other),
        Command("start", ("OTHERCODE2",)),
    )
    assert outcome.changes == [SwitchWorkshop(2)]
    assert "3 of 5" in rendered_text(outcome.views)


def test_consent_joins_in_the_chosen_language_and_asks_for_role() -> None:
    outcome = flow.handle(snap(None, target=workshop()), ButtonPress("ok:TESTCODE23:fr:0"))
    assert outcome.changes == [Join(1, "fr"), SetEasyRead(False)]
    assert outcome.language == "fr"
    assert outcome.clear_origin_keyboard
    assert [b.data for row in outcome.views[0].keyboard for b in row] == [
        "role:worker",
        "role:service_user",
        "role:technologist",
        "role:family_carer",
        "role:other",
    ]


def test_consent_pressed_twice_does_not_join_twice() -> None:
    existing = participant(ROLE, role=None)
    outcome = flow.handle(
        snap(existing, target=workshop(), target_participant=existing),
        ButtonPress("ok:TESTCODE23:en"),
    )
    assert not any(isinstance(change, Join) for change in outcome.changes)


def test_decline_stores_nothing() -> None:
    outcome = flow.handle(snap(None, target=workshop()), ButtonPress("no:TESTCODE23:en"))
    assert outcome.changes == []
    assert "not saved anything" in rendered_text(outcome.views)


def test_consent_language_button_rewrites_the_consent_in_place() -> None:
    outcome = flow.handle(snap(None, target=workshop()), ButtonPress("cl:TESTCODE23:fr"))
    assert outcome.replace_origin and outcome.changes == [] and outcome.language == "fr"


def test_role_choice_moves_to_first_question() -> None:
    outcome = flow.handle(snap(participant(ROLE, role=None)), ButtonPress("role:service_user"))
    assert outcome.changes == [SetRole("service_user"), Move(q("h1", P), None)]
    text = rendered_text(outcome.views)
    assert "1 of 5" in text


def test_role_other_asks_for_words_then_continues() -> None:
    first = flow.handle(snap(participant(ROLE, role=None)), ButtonPress("role:other"))
    assert first.changes == [Move(ROLE_OTHER, None)]
    second = flow.handle(snap(participant(ROLE_OTHER, role=None)), TextInput("  carer  "))
    assert second.changes == [SetRole("other", "carer"), Move(q("h1", P), None)]


def test_role_can_be_typed() -> None:
    outcome = flow.handle(snap(participant(ROLE, role=None)), TextInput("Technologist"))
    assert outcome.changes[0] == SetRole("technologist")


def test_role_change_mid_flow_keeps_position() -> None:
    outcome = flow.handle(snap(participant(q("h3", N))), ButtonPress("role:technologist"))
    assert outcome.changes == [SetRole("technologist")]
    assert "build or deploy" in rendered_text(outcome.views)


def test_priority_button_saves_and_advances() -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), ButtonPress("prio:q.h1.pr:4"))
    assert outcome.changes == [SaveAnswer("h1", P, "4"), Move(q("h1", N), None)]
    assert outcome.clear_origin_keyboard


def test_not_sure_is_stored_as_unsure() -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), ButtonPress("prio:q.h1.pr:u"))
    assert outcome.changes[0] == SaveAnswer("h1", P, "unsure")


@pytest.mark.parametrize(
    "data", ["prio:q.h2.pr:4", "prio:q.h1.pr:9", "skip:q.h1.nd", "back:role", "garbage", ""]
)
def test_stale_or_forged_buttons_change_nothing(data: str) -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), ButtonPress(data))
    assert outcome.changes == []
    assert outcome.toast is not None and outcome.toast.key == "stale_button"


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        ("4", "4"),
        ("four", "4"),
        (" 2/5 ", "2"),
        ("Trois", "3"),
        ("pas sûr", "unsure"),
        ("?", "unsure"),
    ],
)
def test_typed_priority_is_understood(typed: str, value: str) -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), TextInput(typed))
    assert outcome.changes[0] == SaveAnswer("h1", P, value)


def test_words_where_a_number_is_expected_are_kept_as_a_note_and_the_question_reshown() -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), TextInput("I like cats"))
    assert outcome.changes == [
        SaveAnswer("h1", Question.NOTE, "I like cats", keep_voice=True)
    ]  # no Move: the question stays
    text = rendered_text(outcome.views)
    assert "I kept what you wrote" in text and "I like cats" in text
    assert "How important is this to you?" in text
    assert outcome.views[0].keyboard


def test_a_second_note_is_added_to_the_first() -> None:
    earlier = {("h1", Question.NOTE): AnswerInfo("First thought", False)}
    p = participant(q("h1", P), answers=earlier)
    outcome = flow.handle(snap(p), TextInput("Also about money"))
    assert outcome.changes == [
        SaveAnswer("h1", Question.NOTE, "First thought\nAlso about money", keep_voice=True)
    ]


def test_free_text_is_saved_with_a_confirmation() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), TextInput("  Training in work time "))
    assert outcome.changes == [SaveAnswer("h1", N, "Training in work time"), Move(q("h1", C))]
    assert "✓ Saved." in rendered_text(outcome.views)


def test_over_long_text_is_refused_and_nothing_changes() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), TextInput("x" * 2001))
    assert outcome.changes == []
    assert "2001 characters" in rendered_text(outcome.views)


def test_text_at_the_limit_is_kept_whole() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), TextInput("y" * 2000))
    assert outcome.changes[0] == SaveAnswer("h1", N, "y" * 2000)


def test_empty_text_is_refused() -> None:
    outcome = flow.handle(snap(participant(q("h1", C))), TextInput("   "))
    assert outcome.changes == []
    assert "looks empty" in rendered_text(outcome.views)


def test_voice_answers_a_free_text_question() -> None:
    outcome = flow.handle(snap(participant(q("h2", C))), VoiceInput("FILE1", 12))
    assert outcome.changes[0] == SaveAnswer(
        "h2", C, None, voice_file_id="FILE1", voice_duration=12
    )
    assert outcome.changes[1] == Move(q("h3", P), None)


def test_voice_where_a_number_is_expected_is_kept_as_a_note() -> None:
    outcome = flow.handle(snap(participant(q("h2", P))), VoiceInput("FILE1", 3))
    assert outcome.changes == [
        SaveAnswer("h2", Question.NOTE, None, voice_file_id="FILE1", voice_duration=3)
    ]
    assert "I kept your voice message" in rendered_text(outcome.views)


def test_voice_on_the_role_question_is_refused_with_the_buttons() -> None:
    outcome = flow.handle(snap(participant(ROLE)), VoiceInput("FILE1", 3))
    assert outcome.changes == []
    assert "cannot use a voice message here" in rendered_text(outcome.views)


@pytest.mark.parametrize("kind", ["sticker", "photo", "document", "location"])
def test_unsupported_messages_get_a_reply_and_change_nothing(kind: str) -> None:
    at_text = flow.handle(snap(participant(q("h1", N))), OtherInput(kind))
    at_button = flow.handle(snap(participant(q("h1", P))), OtherInput(kind))
    assert at_text.changes == at_button.changes == []
    assert "typed text or voice" in rendered_text(at_text.views)
    assert "tap one of the buttons" in rendered_text(at_button.views)


def test_skip_marks_an_unanswered_question_skipped() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), ButtonPress("skip:q.h1.nd"))
    assert outcome.changes == [SaveAnswer("h1", N, None, skipped=True), Move(q("h1", C))]


def test_skip_on_an_answered_question_keeps_the_answer() -> None:
    p = participant(q("h1", N), answers={("h1", N): AnswerInfo("keep me", False)})
    outcome = flow.handle(snap(p), ButtonPress("skip:q.h1.nd"))
    assert outcome.changes == [Move(q("h1", C))]


def test_back_walks_to_previous_question_and_then_to_role() -> None:
    assert flow.handle(snap(participant(q("h2", P))), ButtonPress("back:q.h2.pr")).changes == [
        Move(q("h1", C))
    ]
    assert flow.handle(snap(participant(q("h1", P))), ButtonPress("back:q.h1.pr")).changes == [
        Move(ROLE)
    ]


def test_pause_changes_nothing_and_offers_continue() -> None:
    outcome = flow.handle(snap(participant(q("h3", N))), ButtonPress("pause:q.h3.nd"))
    assert outcome.changes == []
    assert [b.data for row in outcome.views[0].keyboard for b in row] == ["go", "stop"]


def test_more_expands_the_question_in_place() -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), ButtonPress("more:q.h1.pr"))
    assert outcome.replace_origin and outcome.changes == []
    rec = RENDERER.catalogue.get("h1")
    text = rendered_text(outcome.views).replace("&amp;", "&")
    assert rec.for_role("more", "worker", "en")[:40] in text
    assert rec.text("title", "en") in text  # the report's own title, under "Tell me more"
    other = rec.for_role("more", "technologist", "en")
    assert other[:40] not in text  # a worker reads what it means for their work


def test_last_concerns_leads_to_review_and_submit_finishes() -> None:
    last = HEADLINE[-1]
    outcome = flow.handle(snap(participant(q(last, C))), TextInput("Bias"))
    assert outcome.changes[-1] == Move(REVIEW, None)
    done = flow.handle(snap(participant(REVIEW)), ButtonPress("done"))
    assert done.changes == [Finish(), Move(DONE)]
    again = flow.handle(snap(participant(DONE, finished=True)), ButtonPress("done"))
    assert again.changes == []


def test_edit_from_review_returns_to_review_after_the_recommendation() -> None:
    edit = flow.handle(snap(participant(REVIEW)), ButtonPress("edit:h3"))
    assert edit.changes == [Move(q("h3", P), REVIEW)]
    end = flow.handle(snap(participant(q("h3", C), return_to=REVIEW)), TextInput("New worry"))
    assert end.changes == [SaveAnswer("h3", C, "New worry"), Move(REVIEW, None)]


def test_text_on_review_points_to_the_buttons() -> None:
    outcome = flow.handle(snap(participant(REVIEW)), TextInput("hello"))
    assert outcome.changes == []
    assert "Finish" in rendered_text(outcome.views)


def test_unknown_command_lists_help() -> None:
    outcome = flow.handle(snap(participant(q("h1", P))), Command("frobnicate"))
    text = rendered_text(outcome.views)
    assert "/frobnicate" in text and "/mydata" in text and outcome.changes == []


def test_forget_asks_then_deletes() -> None:
    ask = flow.handle(snap(participant(q("h1", P))), Command("forget"))
    assert ask.changes == []
    assert flow.handle(snap(participant()), ButtonPress("forget:yes")).changes == [Forget()]
    assert flow.handle(snap(participant()), ButtonPress("forget:no")).changes == []


def test_language_change_is_stored_and_reply_is_in_new_language() -> None:
    outcome = flow.handle(snap(participant(q("h1", N))), ButtonPress("lang:fr"))
    assert outcome.changes == [SetLanguage("fr")] and outcome.language == "fr"
    assert "français" in rendered_text(outcome.views, "fr")


def test_input_to_an_ended_workshop_changes_nothing() -> None:
    p = participant(q("h1", N), ws=workshop(is_active=False))
    for event in (TextInput("x"), ButtonPress("skip:q.h1.nd"), VoiceInput("F", 2)):
        outcome = flow.handle(snap(p), event)
        assert outcome.changes == []
        assert "ended" in rendered_text(outcome.views)


def test_text_before_joining_explains_how_to_join() -> None:
    outcome = flow.handle(snap(None), TextInput("hello"))
    assert outcome.changes == [] and "invite link" in rendered_text(outcome.views)


def _all_positions() -> list:  # type: ignore[type-arg]
    positions = [ROLE, ROLE_OTHER, REVIEW, DONE]
    positions += [q(rec, kind) for rec in HEADLINE for kind in QUESTIONS]
    return positions


EVENTS = [
    Command("start"),
    Command("help"),
    Command("review"),
    Command("language"),
    Command("role"),
    Command("mydata"),
    Command("forget"),
    Command("nonsense"),
    TextInput("3"),
    TextInput("A long answer " * 100),
    TextInput("x" * 5000),
    TextInput(""),
    VoiceInput("F", 61),
    OtherInput("sticker"),
    ButtonPress("go"),
    ButtonPress("done"),
    ButtonPress("edit:h2"),
    ButtonPress("role:worker"),
    ButtonPress("lang:fr"),
    ButtonPress("prio:q.h1.pr:5"),
    ButtonPress("skip:q.h1.pr"),
    ButtonPress("back:q.h1.nd"),
    ButtonPress("more:q.h1.pr"),
    ButtonPress("pause:q.h2.cn"),
]


@pytest.mark.parametrize("position", _all_positions(), ids=lambda p: p.encode())
def test_every_position_handles_every_input_within_telegram_limits(position: object) -> None:
    answers = {(rec, kind): AnswerInfo("é<&>" * 600, False) for rec in HEADLINE for kind in (N, C)}
    answers.update({(rec, P): AnswerInfo("3", False) for rec in HEADLINE})
    p = participant(position, answers=answers)  # type: ignore[arg-type]
    for event, language in itertools.product(EVENTS, ("en", "fr")):
        outcome = flow.handle(snap(p, language, target=p.workshop, target_participant=p), event)
        for view in outcome.views:
            for message in RENDERER.view(view, outcome.language):
                assert 0 < utf16_len(message.text) <= MAX_MESSAGE_CHARS
                for row in message.buttons:
                    for label, data in row:
                        assert label and len(data.encode()) <= MAX_CALLBACK_BYTES
        if outcome.toast is not None:
            assert RENDERER.plain(outcome.toast, outcome.language)


def test_the_thank_you_says_what_happens_next() -> None:
    finishing = participant(REVIEW, answers={("h1", P): AnswerInfo("4", False)})
    planned = flow.handle(snap(finishing, followup_date="3 December"), ButtonPress("done"))
    text = rendered_text(planned.views)
    assert "What happens next" in text and "around 3 December" in text
    unplanned = flow.handle(snap(finishing), ButtonPress("done"))
    assert "the workshop team reads all the answers" in rendered_text(unplanned.views)


def test_an_edited_answer_replaces_the_stored_one_without_moving() -> None:
    p = participant(q("h2", P), answers={("h1", N): AnswerInfo("Mroe time", False)})
    edited = EditedAnswer("h1", N, 1)
    outcome = flow.handle(snap(p, edited_answer=edited), EditedText("More time", 77))
    assert outcome.changes == [SaveAnswer("h1", N, "More time", message_id=77)]
    assert "✓ Updated." in rendered_text(outcome.views)
    nothing = flow.handle(snap(p), EditedText("hello", 78))
    assert nothing.changes == [] and "nothing has changed" in rendered_text(nothing.views)


def test_typed_yes_answers_the_consent_screen_seen_last() -> None:
    offer = ConsentOffer("TESTCODE23", "fr", True)
    outcome = flow.handle(snap(None, target=workshop(), consent_offer=offer), TextInput("oui"))
    assert outcome.changes == [Join(1, "fr"), SetEasyRead(True)]
    assert outcome.easy is True
    other = flow.handle(snap(None, target=workshop(), consent_offer=offer), TextInput("hmm"))
    assert other.changes == [] and other.views[0].keyboard  # the two buttons again
    unseen = flow.handle(snap(None, target=workshop()), TextInput("yes"))
    assert unseen.changes == []  # no consent screen seen: nothing to agree to


def test_words_on_the_role_question_describe_the_person() -> None:
    p = participant(ROLE, role=None)
    outcome = flow.handle(snap(p), TextInput("I am a mum caring for my son"))
    assert outcome.changes[0] == SetRole("other", "I am a mum caring for my son")
    assert "I have noted that" in rendered_text(outcome.views)
    stray = flow.handle(snap(p), TextInput("ok"))
    assert stray.changes == [] and "tap one of the buttons" in rendered_text(stray.views)


def test_an_edit_from_someone_not_taking_part_changes_nothing() -> None:
    outcome = flow.handle(snap(None), EditedText("/stats CODE", 5))
    assert outcome.changes == []
    assert "nothing has changed" in rendered_text(outcome.views)


# ---- an input stored before the bot stopped, maybe never answered ----------------------------


@pytest.mark.parametrize(
    "event",
    [TextInput("Time to talk it through"), ButtonPress("prio:q.h1.pr:4"), Command("start", ())],
)
def test_where_now_shows_the_current_step_without_a_stale_notice_and_changes_nothing(
    event: TextInput | ButtonPress | Command,
) -> None:
    now = participant(q("h1", C), answers={("h1", P): AnswerInfo("4", False)})
    outcome = flow.where_now(snap(now), event)
    assert outcome.changes == [] and outcome.actions == [] and outcome.toast is None
    text = rendered_text(outcome.views)
    assert "What worries you" in text
    assert "earlier message" not in text and "Welcome back" not in text


def test_where_now_before_joining_answers_a_start_again() -> None:
    outcome = flow.where_now(snap(None, target=workshop()), Command("start", ("TESTCODE23",)))
    assert outcome.changes == []
    assert "Do you agree to take part?" in rendered_text(outcome.views)
    assert outcome.consent_offer == ConsentOffer("TESTCODE23", "en", False)


def test_where_now_shows_nothing_for_an_input_that_would_change_something() -> None:
    # Agreeing joins; if they are still not in, it is not for this screen to decide again.
    outcome = flow.where_now(snap(None, target=workshop()), ButtonPress("ok:TESTCODE23:en:0"))
    assert outcome.changes == [] and outcome.views == []


def test_where_now_in_an_ended_workshop_says_so() -> None:
    ended = participant(q("h1", P), ws=workshop(is_active=False))
    outcome = flow.where_now(snap(ended), TextInput("4"))
    assert outcome.changes == []
    assert "ended" in rendered_text(outcome.views).lower()
