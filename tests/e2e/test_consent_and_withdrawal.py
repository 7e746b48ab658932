"""Consent that holds and withdrawal that is one tap, through the real Application."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from storage.models import Answer, Participant, Person, SafeguardingAlert
from storage.repositories import workshops
from tests.e2e.conftest import CONTACT
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser

STOP = "Stop and delete my answers"


async def counts(bot: BotHarness, user: FakeUser) -> dict[str, int]:
    async with bot.sessions()() as session:
        return {
            "people": await session.scalar(
                select(func.count())
                .select_from(Person)
                .where(Person.telegram_user_id == user.user_id)
            )
            or 0,
            "participants": await session.scalar(
                select(func.count())
                .select_from(Participant)
                .where(Participant.telegram_user_id == user.user_id)
            )
            or 0,
            "answers": await session.scalar(select(func.count()).select_from(Answer)) or 0,
            "alerts": await session.scalar(select(func.count()).select_from(SafeguardingAlert))
            or 0,
        }


async def test_the_consent_says_everything_and_the_record_is_kept(bot: BotHarness) -> None:
    ana = bot.user("en", "Ana")
    ana.send_command("/start")
    short = await reply_to(ana, "Do you agree to take part?")
    assert "about 10 minutes" in short.text and "Care Together" in short.text
    assert "Telegram account" in short.text and "12 months" in short.text
    assert "More about your data" in short.button_texts
    ana.press("More about your data")
    details = await reply_to(ana, "Health, disability, money")
    assert details.message_id == short.message_id  # the same message, now complete
    for fact in (
        "recordings",
        "Telegram has its own privacy rules",
        "data protection authority",
        CONTACT,
        "/reminders off",
    ):
        assert fact in details.text, fact
    assert await bot.person_of(ana) is None  # nothing stored before a yes
    ana.press("Yes, I agree", message=details)
    await reply_to(ana, "Which of these describes you best?")
    participant = await bot.participant_of(ana)
    assert participant is not None and participant.consent_language == "en"
    version = participant.consent_version
    assert version is not None and len(version) == 12

    ana.send_command("/mydata")
    readable = await reply_to(ana, "Everything I keep about you")
    assert f"consent text {version}" in readable.text and "in English" in readable.text
    assert "Telegram account number" in readable.text
    document = await bot.server.wait_for(
        lambda s: next((m for m in s.messages_to(ana.chat_id) if m.document), None)
    )
    assert document.document is not None
    data = json.loads(document.document.data)["participations"][0]
    assert data["consent_version"] == version and data["quote_consent"] is None

    # Someone who read the consent in French agreed to another text.
    ben = bot.user("fr", "Ben")
    ben.send_command("/start")
    await reply_to(ben, "Acceptez-vous de participer")
    ben.press("Oui, j’accepte")
    await reply_to(ben, "vous décrit le mieux")
    other = await bot.participant_of(ben)
    assert other is not None and other.consent_language == "fr"
    assert other.consent_version not in (None, version)


@pytest.mark.parametrize("where", ["pause", "review", "thanks", "typed", "forget"])
async def test_stop_and_delete_from_every_screen_leaves_nothing(
    bot: BotHarness, where: str
) -> None:
    ana = bot.user("en", "Ana")
    await join(bot, ana, total=5)
    ana.press("4")
    await reply_to(ana, "Type your answer")
    if where == "pause":
        ana.press("Pause")
        await reply_to(ana, "Come back whenever you like")
        ana.press(STOP)
    elif where == "review":
        ana.send_command("/review")
        await reply_to(ana, "Here are your answers so far")
        ana.press(STOP)
    elif where == "thanks":
        ana.send_command("/review")
        await reply_to(ana, "Here are your answers so far")
        for _ in range(4):
            ana.send_command("/review")
        ana.send_text("skip")
        await reply_to(ana, "What worries you")
        ana.send_text("skip")
        for n in range(2, 6):
            await reply_to(ana, f"{n} of 5")
            ana.send_text("skip")
            await reply_to(ana, "Type your answer")
            ana.send_text("skip")
            await reply_to(ana, "What worries you")
            ana.send_text("skip")
        await reply_to(ana, "Here are your answers.")
        ana.press("✅ Finish")
        await reply_to(ana, "Thank you!")
        ana.press(STOP)
    elif where == "typed":
        ana.send_text("Supprimer")
    else:
        ana.send_command("/forget")
    confirm = await reply_to(ana, "Delete everything?")
    assert confirm.button_texts == ["Yes, delete everything", "No, keep my answers"]
    ana.press("Yes, delete everything", message=confirm)
    await reply_to(ana, "I have deleted everything")
    assert await counts(bot, ana) == {"people": 0, "participants": 0, "answers": 0, "alerts": 0}


async def test_someone_in_two_workshops_can_leave_just_one(bot: BotHarness) -> None:
    async with bot.sessions()() as session, session.begin():
        ws = await workshops.create(session, title="Lyon", scope=["h1"], languages=["en"])
        code = ws.code
    ana = bot.user("en", "Ana")
    await join(bot, ana, total=5)
    ana.press("2")
    await reply_to(ana, "Type your answer")
    await join(bot, ana, code, total=1)
    ana.press("5")
    await reply_to(ana, "Type your answer")
    ana.send_text("stop")
    choice = await reply_to(ana, "What should I delete?")
    assert choice.button_texts == [
        "Delete my answers in this workshop",
        "Yes, delete everything",
        "No, keep my answers",
    ]
    ana.press("Delete my answers in this workshop")
    await reply_to(ana, "your answers in the workshop “Lyon”")
    async with bot.sessions()() as session:
        left = (
            await session.scalars(
                select(Participant).where(Participant.telegram_user_id == ana.user_id)
            )
        ).all()
        assert [p.workshop_id for p in left] != [ws.id] and len(left) == 1
        rows = (await session.scalars(select(Answer))).all()
        assert [(a.recommendation_id, a.value) for a in rows] == [("h1", "2")]


async def test_every_nudge_offers_stop_reminders_and_stop_and_delete(bot: BotHarness) -> None:
    bot.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    ana = bot.user("en", "Ana")
    await join(bot, ana)
    ana.press("3")
    await reply_to(ana, "Type your answer")
    bot.clock.advance(timedelta(hours=25))
    await bot.tick()
    nudge = await reply_to(ana, "but have not finished")
    assert "Stop reminders" in nudge.button_texts and STOP in nudge.button_texts
    ana.press(STOP, message=nudge)
    await reply_to(ana, "Delete everything?")
    ana.press("No, keep my answers")
    await reply_to(ana, "Nothing was deleted")
    ana.press("Stop reminders", message=nudge)
    await reply_to(ana, "Reminders are off")
    person = await bot.person_of(ana)
    assert person is not None and not person.reminders_enabled
    assert len(await bot.answer_rows(ana)) == 1
