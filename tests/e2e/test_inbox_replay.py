"""What a crash leaves in the update inbox is processed at the next start, each effect once.

A kill -9 cannot happen inside the test process, so these tests leave the database as one
would: updates Telegram considers delivered (`confirm_pending`) kept in the inbox, and, for an
update whose effect was stored but whose reply may not have gone out, its row put back after
it was processed. `tests/e2e/test_crash_recovery.py` kills real processes.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.services import services_from
from storage.models import InboxUpdate
from storage.repositories import inbox
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser

pytestmark = pytest.mark.e2e


async def keep_in_inbox(
    bot: BotHarness, *updates: dict[str, Any], age: timedelta = timedelta()
) -> None:
    kept = [inbox.Kept(u["update_id"], json.dumps(u)) for u in updates]
    async with bot.sessions()() as session, session.begin():
        await inbox.keep(session, kept, bot.clock() - age)


async def inbox_size(bot: BotHarness) -> int:
    """Rows left once the bot is idle (a processed update's row goes just after its reply)."""
    await bot.server.wait_idle()
    assert bot.application is not None
    await services_from(bot.application.bot_data).inbox.flush()
    async with bot.sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(InboxUpdate)) or 0)


def texts_after(user: FakeUser, count: int) -> list[str]:
    return [message.text or "" for message in user.inbox[count:]]


async def test_updates_fetched_but_never_processed_are_processed_at_start(
    bot: BotHarness,
) -> None:
    user = bot.user("en")
    await join(bot, user)
    await bot.stop()
    press = user.press("4 Important")
    typed = user.send_text("Time to talk it through")
    # Fetched and confirmed, then the process died: only the inbox has them.
    assert bot.server.confirm_pending() == [press, typed]
    await keep_in_inbox(bot, press, typed)

    await bot.start()
    await reply_to(user, "What worries you")
    stored = await bot.answers_of(user)
    assert {key: answer.value for key, answer in stored.items()} == {
        ("h1", "priority"): "4",
        ("h1", "needs"): "Time to talk it through",
    }
    await bot.server.wait_idle()
    assert await inbox_size(bot) == 0
    assert bot.server.unanswered_callback_queries() == []


async def test_an_answer_stored_but_maybe_never_answered_shows_the_current_step_once(
    bot: BotHarness,
) -> None:
    user = bot.user("en")
    await join(bot, user)
    user.press("4 Important")
    await reply_to(user, "Type your answer")
    typed = user.send_text("Time to talk it through")
    await reply_to(user, "What worries you")
    await bot.stop()
    # The effect is stored; the row was not yet deleted (the reply may not have gone out), and
    # Telegram, never told, sends the update again too.
    await keep_in_inbox(bot, typed)
    user.resend(typed)
    before = len(user.inbox)

    await bot.start()
    await reply_to(user, "What worries you")
    await bot.server.wait_idle()
    shown = texts_after(user, before)
    assert len(shown) == 1 and "What worries you" in shown[0], shown
    assert "earlier message" not in shown[0]

    # Their newest message is the current question: the next answer lands there.
    user.send_text("Job losses")
    await reply_to(user, "2 of 5")
    stored = await bot.answers_of(user)
    assert stored[("h1", "needs")].value == "Time to talk it through"
    assert stored[("h1", "concerns")].value == "Job losses"
    assert len(await bot.answer_rows(user)) == 3
    assert await inbox_size(bot) == 0


async def test_a_button_press_stored_but_never_answered_loses_its_buttons(
    bot: BotHarness,
) -> None:
    user = bot.user("en")
    await join(bot, user)
    question = user.last_message
    assert question is not None and question.buttons
    press = user.press("4 Important")
    await reply_to(user, "Type your answer")
    await bot.stop()
    await keep_in_inbox(bot, press)
    # As if the reply had not gone out: the question still has its buttons.
    bot.server.find_message(user.chat_id, question.message_id).reply_markup = question.reply_markup
    before = len(user.inbox)

    await bot.start()
    await reply_to(user, "Type your answer")
    await bot.server.wait_idle()
    assert len(texts_after(user, before)) == 1
    refreshed = bot.server.find_message(user.chat_id, question.message_id)
    assert refreshed is not None and not refreshed.buttons
    assert bot.server.unanswered_callback_queries() == []


async def test_a_start_stored_before_consent_shows_the_consent_screen_again(
    bot: BotHarness,
) -> None:
    user = bot.user("en")
    start = user.send_command("/start")
    await reply_to(user, "Do you agree to take part?")
    await bot.stop()
    await keep_in_inbox(bot, start)
    before = len(user.inbox)

    await bot.start()
    await reply_to(user, "Do you agree to take part?")
    await bot.server.wait_idle()
    assert len(texts_after(user, before)) == 1
    user.press("Yes, I agree")
    await reply_to(user, "Which of these describes you best?")


async def test_a_plain_redelivery_stays_silent(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    press = user.press("4 Important")
    await reply_to(user, "Type your answer")
    await bot.restart()
    before = len(user.inbox)
    user.resend(press)
    await bot.server.wait_idle()
    assert texts_after(user, before) == []


async def test_unreadable_and_old_rows_are_dropped_at_start_without_a_traceback(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    user = bot.user("en")
    await join(bot, user)
    await bot.stop()
    old = user.send_text("Sent two days ago")
    unreadable = {"update_id": old["update_id"] + 1, "message": {"date": "never", "chat": 1}}
    bot.server.confirm_pending()
    await keep_in_inbox(bot, old, age=timedelta(days=2))
    await keep_in_inbox(bot, unreadable)
    async with bot.sessions()() as session, session.begin():
        await inbox.keep(session, [inbox.Kept(old["update_id"] + 2, "{not json")], bot.clock())
    before = len(user.inbox)

    with caplog.at_level(logging.INFO):
        await bot.start()
        await bot.server.wait_idle()
    assert texts_after(user, before) == []
    assert await bot.answers_of(user) == {}
    assert await inbox_size(bot) == 0
    lines = [record.getMessage() for record in caplog.records if record.name == "bot.inbox"]
    assert "dropped 1 update(s) older than a day from the inbox" in lines
    assert f"skipped update {old['update_id'] + 2} from the inbox: it could not be read" in lines
    assert all(record.exc_info is None for record in caplog.records)
    assert "Sent two days ago" not in caplog.text
