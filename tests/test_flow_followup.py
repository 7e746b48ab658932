"""The follow-up round (round two) and reminder preferences, without Telegram."""

from __future__ import annotations

from dataclasses import replace

from bot.flows import participant as flow
from bot.flows.positions import DONE, Position, Question
from bot.flows.state import (
    AnswerInfo,
    ButtonPress,
    Command,
    MemberCheck,
    Move,
    ParticipantInfo,
    SaveAnswer,
    SetReminders,
    TextInput,
    VoiceInput,
)
from tests.flow_fixtures import participant, rendered_text, snap

P, N, C, A = Question.PRIORITY, Question("needs"), Question("concerns"), Question.ADDITION
FIRST_ROUND = {
    ("h1", P): AnswerInfo("4", False),
    ("h1", N): AnswerInfo("Training", False),
    ("h2", P): AnswerInfo(None, True),
    ("h2", N): AnswerInfo(None, True),
    ("h2", C): AnswerInfo(None, True),
    ("h3", C): AnswerInfo("Bias", False),
}


def f(rec: str, question: Question) -> Position:
    return Position.followup_at(rec, question)


def test_followup_starts_with_the_first_answered_recommendation() -> None:
    p = participant(DONE, answers=FIRST_ROUND, finished=True)
    assert p.followup_scope() == ("h1", "h3")
    outcome = flow.handle(snap(p, followup_offered=True), ButtonPress("fu"))
    assert outcome.changes == [Move(f("h1", P), DONE)]
    text = rendered_text(outcome.views)
    assert "Follow-up 1 of 2" in text and "Your first answer: 4 out of 5" in text


def test_followup_answers_are_round_two_and_the_round_ends_where_it_began() -> None:
    p = participant(f("h1", P), answers=FIRST_ROUND, return_to=DONE, finished=True)
    changed = flow.handle(snap(p), ButtonPress("prio:f.h1.pr:2"))
    assert changed.changes == [SaveAnswer("h1", P, "2", round=2), Move(f("h1", A), DONE)]
    p = participant(f("h1", A), answers=FIRST_ROUND, return_to=DONE, finished=True)
    added = flow.handle(snap(p), VoiceInput("VOICE", 9))
    assert added.changes[0] == SaveAnswer(
        "h1", A, None, voice_file_id="VOICE", voice_duration=9, round=2
    )
    p = participant(f("h3", A), answers=FIRST_ROUND, return_to=DONE, finished=True)
    last = flow.handle(snap(p), TextInput("More staff"))
    assert last.changes == [SaveAnswer("h3", A, "More staff", round=2), Move(DONE, None)]
    assert "follow-up answers are saved" in rendered_text(last.views)


def test_keeping_the_first_priority_records_it_in_round_two() -> None:
    p = participant(f("h1", P), answers=FIRST_ROUND, return_to=DONE)
    outcome = flow.handle(snap(p), ButtonPress("skip:f.h1.pr"))
    assert outcome.changes[0] == SaveAnswer("h1", P, "4", round=2)


def test_followup_with_nothing_answered_says_so() -> None:
    outcome = flow.handle(
        snap(participant(DONE, answers={}), followup_offered=True), ButtonPress("fu")
    )
    assert outcome.changes == [] and "nothing to look at again" in rendered_text(outcome.views)


def test_old_first_round_buttons_are_stale_during_the_followup() -> None:
    p = participant(f("h1", P), answers=FIRST_ROUND, return_to=DONE)
    outcome = flow.handle(snap(p), ButtonPress("prio:q.h1.pr:5"))
    assert outcome.changes == [] and outcome.toast is not None


def test_reminders_on_and_off() -> None:
    p = participant(DONE)
    assert flow.handle(snap(p), Command("reminders", ("off",))).changes == [SetReminders(False)]
    assert flow.handle(snap(p), Command("reminders", ("ON",))).changes == [SetReminders(True)]
    usage = flow.handle(snap(p), Command("reminders"))
    assert usage.changes == [] and "/reminders off" in rendered_text(usage.views)


def test_positions_round_trip() -> None:
    for position in (f("h1", P), f("s3-3", A)):
        assert Position.decode(position.encode()) == position
    for bad in ("f.h1.nd", "q.h1.ad", "f.h1", "f"):
        try:
            Position.decode(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_a_forged_followup_button_before_the_round_was_sent_changes_nothing() -> None:
    p = participant(DONE, answers={("h1", Question.PRIORITY): AnswerInfo("4", False)})
    outcome = flow.handle(snap(p), ButtonPress("fu"))
    assert outcome.changes == []
    # Treated as any stale button: where they are now (finished), not a follow-up question.
    text = rendered_text(outcome.views)
    assert "earlier message" in text and "Follow-up" not in text


M = Question.MATCH
CHECK = {"h3": MemberCheck(own=("training, staff",), others=("human, decision",))}


def checked(position: Position) -> ParticipantInfo:
    p = participant(position, answers=FIRST_ROUND, return_to=DONE, finished=True)
    return replace(p, member_check=CHECK)


def test_the_member_check_is_asked_only_on_topics_with_approved_groups() -> None:
    # h1 has no approved group: rating, then "anything to add".
    outcome = flow.handle(snap(checked(f("h1", P))), ButtonPress("prio:f.h1.pr:2"))
    assert outcome.changes[-1] == Move(f("h1", A), DONE)
    # h3 has: rating, then the check, with the person's role first and one question.
    outcome = flow.handle(snap(checked(f("h3", P))), ButtonPress("prio:f.h3.pr:3"))
    assert outcome.changes[-1] == Move(f("h3", M), DONE)
    text = rendered_text(outcome.views)
    assert "People like you (Workers) wrote about:\n• training, staff" in text
    assert "Other groups wrote about:\n• human, decision" in text
    assert text.count("?") == 1 and "Does this match what you think?" in text
    buttons = [label for view in outcome.views for row in view.keyboard for label in row]
    assert len(buttons) >= 3


def test_member_check_answers_by_button_and_by_words() -> None:
    pressed = flow.handle(snap(checked(f("h3", M))), ButtonPress("mc:f.h3.mc:p"))
    assert pressed.changes == [SaveAnswer("h3", M, "partly", round=2), Move(f("h3", A), DONE)]
    typed = flow.handle(snap(checked(f("h3", M))), TextInput("no"))
    assert typed.changes[0] == SaveAnswer("h3", M, "no", round=2)
    kept = flow.handle(snap(checked(f("h3", M))), TextInput("Mostly about time for us"))
    assert kept.changes[0].question == Question.NOTE  # type: ignore[union-attr]
    assert "Now please tap “Yes”, “Partly” or “No”." in rendered_text(kept.views)
    # A rating button is no answer here, and "Back" from "anything to add" returns to it.
    assert flow.handle(snap(checked(f("h3", M))), ButtonPress("mc:f.h3.pr:y")).changes == []
    back = flow.handle(snap(checked(f("h3", A))), ButtonPress("back:f.h3.ad"))
    assert back.changes == [Move(f("h3", M), DONE)]
