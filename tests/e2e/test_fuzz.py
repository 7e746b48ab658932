"""A short fuzz round in CI (bench/fuzz.py runs long ones): malformed and random updates of
every kind, with real participants among them."""

from __future__ import annotations

import logging

import pytest

from tests import fuzz
from tests.e2e.harness import BotHarness, reply_to


@pytest.mark.parametrize("seed", [7])
async def test_random_updates_break_nothing_and_real_people_finish(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, seed: int
) -> None:
    caplog.set_level(logging.INFO)
    report = await fuzz.run(bot, seed=seed, strangers=6, updates_each=15, participants=2)
    assert set(report.sent) >= {"text", "callback", "edited", "group_callback"}, report.sent
    assert report.participants_finished == 2
    assert report.answers_stored == report.answers_expected == 12
    assert report.strangers_without_reply == []
    assert report.unanswered_callbacks == []
    refused = [call for call in report.refused_calls if " 403 " not in call]  # blocked, then back
    assert refused == []
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]


async def test_nothing_people_type_reaches_the_log_at_any_level(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """Marker words typed as answers, notes, edits, commands, button data and role words:
    none of them in any log line, DEBUG included (python-telegram-bot's own lines too)."""
    caplog.set_level(logging.DEBUG)
    user = bot.user("en")
    user.send_command("/start")
    await reply_to(user, "Do you agree")
    user.send_text("Markerzebra one two")  # before joining: not a yes
    await reply_to(user, "Please tap")
    user.press("Yes, I agree")
    await reply_to(user, "Which of these")
    user.send_text("I am Markerzebra the carer")  # kept as their own description
    await reply_to(user, "1 of 5")
    user.send_text("Markerzebra note")
    await reply_to(user, "I kept what you wrote")
    user.press("4 Important")
    await reply_to(user, "Type your answer")
    sent = user.send_text("Markerzebra needs")
    await reply_to(user, "What worries you")
    user.edit_text(sent, "Markerzebra edited\\n2026-01-01 00:00:00,000 CRITICAL forged")
    await reply_to(user, "Updated")
    user.send_command("/Markerzebra")
    user.press_data("Markerzebra:\\nforged")
    user.send_command("/review")
    await reply_to(user, "Here are your answers")
    await bot.server.wait_idle(quiet=0.3)
    lines = [record.getMessage() for record in caplog.records]
    assert any("handled update" in line for line in lines)  # the log is really captured
    leaked = [line for line in lines if "markerzebra" in line.lower() or "forged" in line]
    assert leaked == []
