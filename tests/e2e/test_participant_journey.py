"""A participant's whole journey through the real Application over HTTP.

Every test asserts on the messages the fake Telegram server received and on the rows stored.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from sqlalchemy import func, select, update

from bot.flows.catalogue import load_catalogue
from storage.models import Answer, Participant, Person, ProcessedUpdate, Workshop
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser

HEADLINE = load_catalogue().scope("headline")
DETAILED = load_catalogue().scope("detailed")


async def answer_recommendation(
    user: FakeUser, n: int, priority: str, needs: str, worry: str
) -> None:
    user.press(priority)
    await reply_to(user, "Type your answer")
    user.send_text(needs)
    await reply_to(user, "What worries you")
    user.send_text(worry)


async def test_a_worker_completes_the_default_workshop_in_english(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    for n, rec in enumerate(HEADLINE, start=1):
        await answer_recommendation(user, n, str(n), f"Need {rec} & <more>", f"Worry {rec}")
        await reply_to(user, f"{n + 1} of 5" if n < 5 else "Here are your answers.")
    review = user.last_message
    assert review is not None and "Need h1 &amp; &lt;more&gt;" not in review.text
    assert "Need h1 & <more>" in review.text
    user.press("✅ Finish")
    await reply_to(user, "May we share your words")
    user.press("Yes, you may share my words")
    await reply_to(user, "Thank you!")

    stored = await bot.answers_of(user)
    assert len(stored) == 15
    assert all(stored[(rec, q)].may_quote for rec in HEADLINE for q in ("needs", "concerns"))
    assert not any(stored[(rec, "priority")].may_quote for rec in HEADLINE)
    for n, rec in enumerate(HEADLINE, start=1):
        assert stored[(rec, "priority")].value == str(n)
        assert stored[(rec, "needs")].value == f"Need {rec} & <more>"
        assert stored[(rec, "concerns")].value == f"Worry {rec}"
    participant = await bot.participant_of(user)
    assert participant is not None
    assert participant.role == "worker" and participant.finished_at is not None
    assert participant.quote_consent is True and participant.consent_language == "en"
    assert participant.consent_version is not None and len(participant.consent_version) == 12
    assert participant.position == "done"
    person = await bot.person_of(user)
    assert person is not None and person.language == "en"
    assert bot.server.unanswered_callback_queries() == []


async def test_leaving_midway_and_coming_back_after_a_restart(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    await answer_recommendation(user, 1, "4", "Training", "Job losses")
    await reply_to(user, "2 of 5")
    user.press("4")
    question = await reply_to(user, "Type your answer")

    await bot.restart()

    # A button on the message shown before the restart still works: it is the current step.
    user.press("Skip", message=question)
    await reply_to(user, "What worries you")
    await bot.restart()
    user.send_command("/start")
    back = await reply_to(user, "Welcome back")
    assert "2 of 5" in back.text and "What worries you" in back.text
    user.send_text("Bias")
    await reply_to(user, "3 of 5")
    stored = await bot.answers_of(user)
    assert stored[("h1", "needs")].value == "Training"
    assert stored[("h2", "needs")].skipped
    assert stored[("h2", "concerns")].value == "Bias"
    participant = await bot.participant_of(user)
    assert participant is not None and participant.position == "q.h3.pr"


@pytest.mark.parametrize("error_code", [500, 502])
async def test_a_failing_telegram_api_loses_no_answer(bot: BotHarness, error_code: int) -> None:
    """Telegram fails the reply: the answer is already stored, the person is told to try
    again, and /start picks up at the next question."""
    user = bot.user("en")
    await join(bot, user)
    bot.server.fail_next("sendMessage", error_code)
    user.press("4")
    await reply_to(user, "Please try again in a moment")
    stored = await bot.answers_of(user)
    assert stored[("h1", "priority")].value == "4"
    user.send_command("/start")
    back = await reply_to(user, "Welcome back")
    assert "Type your answer" in back.text
    user.send_text("Training")
    await reply_to(user, "What worries you")
    assert (await bot.answers_of(user))[("h1", "needs")].value == "Training"
    failed = [r for r in bot.server.requests if r.status == error_code]
    assert [r.method for r in failed] == ["sendMessage"]


async def test_flood_control_on_a_reply_is_waited_out(bot: BotHarness) -> None:
    """A 429 on the next question is retried after Telegram's retry_after; nothing is lost."""
    user = bot.user("en")
    await join(bot, user)
    bot.server.fail_next("sendMessage", 429, retry_after=1)
    user.press("4")
    await reply_to(user, "Type your answer")
    sends = [r.status for r in bot.server.requests if r.method == "sendMessage"]
    assert sends[-2:] == [429, 200]
    assert (await bot.answers_of(user))[("h1", "priority")].value == "4"
    assert not any("Please try again" in m.text for m in user.inbox)


async def test_duplicate_updates_change_nothing(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    press = user.press("3")
    await reply_to(user, "Type your answer")
    text = user.send_text("Clear rules")
    await reply_to(user, "What worries you")
    await bot.server.wait_idle(quiet=0.2)
    sent_before = len(user.inbox)

    user.resend(text)
    user.resend(press)
    await bot.server.wait_idle(quiet=0.3)

    assert len(user.inbox) == sent_before
    rows = await bot.answer_rows(user)
    assert sorted((r.recommendation_id, r.question, r.value) for r in rows) == [
        ("h1", "needs", "Clear rules"),
        ("h1", "priority", "3"),
    ]
    participant = await bot.participant_of(user)
    assert participant is not None and participant.position == "q.h1.cn"
    async with bot.sessions()() as session:
        ids = (await session.scalars(select(ProcessedUpdate.update_id))).all()
    assert text["update_id"] in ids and press["update_id"] in ids


async def test_fast_double_tap_records_one_answer(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    question = user.last_message
    assert question is not None
    user.press("2", message=question)
    user.press("5", message=question)
    await reply_to(user, "Type your answer")
    await bot.server.wait_idle(quiet=0.3)
    stored = await bot.answers_of(user)
    assert stored[("h1", "priority")].value == "2"
    assert len(stored) == 1
    stale = [a.text for a in bot.server.callback_answers if a.text]
    assert any("earlier message" in text for text in stale)


async def test_bad_input_gets_a_clear_reply_and_loses_nothing(bot: BotHarness) -> None:
    user = bot.user("en")
    user.send_text("hello?")
    await reply_to(user, "open the invite link")
    await join(bot, user)

    user.send_text("It matters a lot to me because my social worker never asks me")
    kept = await reply_to(user, "I kept what you wrote as a note")
    assert "Now please tap a number" in kept.text
    assert "my social worker never asks me" in kept.text  # shown back with the question
    assert "5 Very important" in kept.button_texts
    user.send_sticker()
    await reply_to(user, "I cannot use that here")
    user.send_voice()
    voice = await reply_to(user, "I kept your voice message as a note")
    assert "How important is this to you?" in voice.text
    user.press("4")
    await reply_to(user, "Type your answer")
    user.send_photo()
    await reply_to(user, "only keep typed text or voice")
    user.send_document()
    await reply_to(user, "only keep typed text or voice")
    user.send_text("x" * 2500)
    await reply_to(user, "2500 characters long")
    user.send_text("   ")
    await reply_to(user, "looks empty")
    user.send_command("/dance")
    await reply_to(user, "I do not know the command /dance")
    user.send_text("Real answer")
    await reply_to(user, "What worries you")

    stale = bot.server.messages_to(user.chat_id)
    first_question = next(m for m in stale if "1 of 5" in m.text)
    user.press_data("prio:q.h1.pr:1", first_question)
    user.press_data("nonsense:data", first_question)
    await bot.server.wait_idle(quiet=0.3)
    assert sum("earlier message" in (a.text or "") for a in bot.server.callback_answers) >= 2

    stored = await bot.answers_of(user)
    assert {key: a.value for key, a in stored.items()} == {
        ("h1", "priority"): "4",
        ("h1", "needs"): "Real answer",
        ("h1", "note"): "It matters a lot to me because my social worker never asks me",
    }
    assert stored[("h1", "note")].voice_file_id is not None  # the recording is kept too
    for message in bot.server.messages:
        assert len(message.text or "") <= 4096


async def test_button_from_an_ended_workshop_is_refused_gently(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    async with bot.sessions()() as session, session.begin():
        await session.execute(update(Workshop).values(status="closed"))
    user.press("4")
    await reply_to(user, "This workshop has ended")
    user.send_text("anything")
    await reply_to(user, "This workshop has ended")
    assert await bot.answers_of(user) == {}


async def test_review_edit_and_language_change(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    await answer_recommendation(user, 1, "2", "First need", "First worry")
    await reply_to(user, "2 of 5")
    user.send_command("/review")
    review = await reply_to(user, "Here are your answers so far")
    assert "First need" in review.text and "2 out of 5" in review.text
    user.press("✏️ 1. You help design the tools")
    await reply_to(user, "Your answer so far: 2 out of 5")
    user.press("5")
    current = await reply_to(user, "Your answer so far: First need")
    user.press("Keep my answer", message=current)
    await reply_to(user, "Your answer so far: First worry")
    user.send_text("Changed worry")
    back = await reply_to(user, "2 of 5")
    assert "How important" in back.text

    user.send_command("/language")
    await reply_to(user, "Which language")
    user.press("Français")
    await reply_to(user, "français")
    stored = await bot.answers_of(user)
    assert stored[("h1", "priority")].value == "5"
    assert stored[("h1", "needs")].value == "First need"
    assert stored[("h1", "concerns")].value == "Changed worry"
    assert stored[("h1", "concerns")].edited_at is not None
    person = await bot.person_of(user)
    assert person is not None and person.language == "fr"


async def test_declining_stores_nothing(bot: BotHarness) -> None:
    user = bot.user("en")
    user.send_command("/start")
    await reply_to(user, "Do you agree")
    user.press("No, thank you")
    await reply_to(user, "I have not saved anything about you")
    assert await bot.person_of(user) is None
    assert await bot.participant_of(user) is None


async def test_mydata_then_forget_removes_every_row(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    await answer_recommendation(user, 1, "3", "Time to learn", "Surveillance")
    await reply_to(user, "2 of 5")
    user.send_command("/mydata")
    readable = await reply_to(user, "Everything I keep about you")
    assert "Time to learn" in readable.text and "Surveillance" in readable.text
    document = await bot.server.wait_for(
        lambda s: next((m for m in s.messages_to(user.chat_id) if m.document), None)
    )
    assert document.document is not None
    data = json.loads(document.document.data)
    answers = data["participations"][0]["answers"]
    assert {(a["question"], a["value"]) for a in answers} == {
        ("priority", "3"),
        ("needs", "Time to learn"),
        ("concerns", "Surveillance"),
    }

    user.send_command("/forget")
    await reply_to(user, "Delete everything?")
    user.press("Yes, delete everything")
    await reply_to(user, "I have deleted everything")
    async with bot.sessions()() as session:
        for model in (Person, Participant, Answer):
            count = await session.scalar(select(func.count()).select_from(model))
            assert count == 0, model
    user.send_command("/mydata")
    await reply_to(user, "I keep nothing about you")


async def test_two_people_at_once_do_not_mix_answers(bot: BotHarness) -> None:
    ana, ben = bot.user("en", "Ana"), bot.user("fr", "Ben")
    await asyncio.gather(join(bot, ana), join_fr(ben))
    ana.press("1")
    ben.press("5")
    await asyncio.gather(reply_to(ana, "Type your answer"), reply_to(ben, "Écrivez votre réponse"))
    assert (await bot.answers_of(ana))[("h1", "priority")].value == "1"
    assert (await bot.answers_of(ben))[("h1", "priority")].value == "5"


async def join_fr(user: FakeUser) -> None:
    user.send_command("/start")
    await reply_to(user, "Acceptez-vous")
    user.press("Oui, j’accepte")
    await reply_to(user, "vous décrit le mieux")
    user.press("Je crée ou déploie de l’IA")
    await reply_to(user, "1 sur 5")


async def test_command_menu_is_registered_in_each_language(bot: BotHarness) -> None:
    menus = {
        call.params.get("language_code"): call.params["commands"]
        for call in bot.server.calls("setMyCommands")
    }
    assert set(menus) >= {None, "en", "fr"}
    assert [c["command"] for c in menus["fr"]] == [
        "start",
        "help",
        "review",
        "language",
        "easyread",
        "role",
        "reminders",
        "mydata",
        "forget",
    ]
    assert set(menus) >= {"de", "es", "it", "nl"}
    assert menus["fr"][7]["description"].startswith("voir tout ce que je garde")


async def test_logs_name_workshop_and_pseudonym_never_what_people_wrote(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    user = bot.user("en", "Zoé Secretname")
    await join(bot, user)
    user.press("4")
    await reply_to(user, "Type your answer")
    user.send_text("My neighbour Jeanne-Secret-Answer needs help")
    await reply_to(user, "What worries you")
    user.send_command("/note_Secret-Command-Word")
    await reply_to(user, "I do not know the command")
    user.press_data("go\n2026-01-01 00:00:00,000 CRITICAL forged.line")
    await bot.server.wait_idle(quiet=0.3)
    participant = await bot.participant_of(user)
    assert participant is not None
    lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.INFO]
    assert any(
        f"participant={participant.pseudonym}" in line and "input=text" in line for line in lines
    )
    for line in lines:
        assert "Jeanne-Secret-Answer" not in line and "Secretname" not in line
        assert "secret-command-word" not in line.lower() and "forged" not in line
        assert str(user.user_id) not in line
    assert any("input=command:unknown" in line for line in lines)


async def test_buttons_outside_a_private_chat_are_answered_and_ignored(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    question = user.last_message
    assert question is not None
    group = {"id": -100123, "type": "supergroup", "title": "Care team"}
    in_group = dict(bot.server.message_dict(question), chat=group)
    before = len(bot.server.messages)
    for extra in ({"message": in_group}, {"inline_message_id": "AAAA-inline"}):
        bot.server.push_update(
            {
                "callback_query": {
                    "id": bot.server.new_callback_query_id(),
                    "from": user.user,
                    "chat_instance": "group-1",
                    "data": "prio:q.h1.pr:4",
                    **extra,
                }
            }
        )
    await bot.server.wait_for(lambda s: not s.unanswered_callback_queries())
    await bot.server.wait_idle(quiet=0.3)
    assert len(bot.server.messages) == before  # nothing sent, to the group or anyone
    assert await bot.answers_of(user) == {}


async def test_a_person_who_blocked_the_bot_is_marked_unreachable_without_a_traceback(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    user = bot.user("en")
    await join(bot, user)
    user.block_bot()
    user.press("4")  # pressed just before blocking: the reply is refused with 403
    await bot.server.wait_for(lambda s: not s.unanswered_callback_queries())
    await bot.server.wait_idle(quiet=0.3)
    person = await bot.person_of(user)
    assert person is not None and person.unreachable
    assert (await bot.answers_of(user))[("h1", "priority")].value == "4"  # nothing lost
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_update_that_cannot_be_read_is_skipped_and_everyone_else_answered(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    user = bot.user("en")
    poll = {
        "id": "1",
        "question": "Secret-Poll-Question",
        "options": [{"voter_count": 1}],  # no "text": python-telegram-bot cannot parse it
        "total_voter_count": 1,
        "is_closed": False,
        "is_anonymous": True,
        "type": "regular",
        "allows_multiple_answers": False,
    }
    poison = user._push_message(poll=poll)["update_id"]  # a message that cannot be read
    user.send_command("/start")
    await reply_to(user, "Do you agree to take part?")
    await bot.server.wait_idle(quiet=0.3)
    lines = [record.getMessage() for record in caplog.records]
    assert sum(f"skipped update {poison}" in line for line in lines) == 1
    assert not any("Secret-Poll-Question" in line for line in lines)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
