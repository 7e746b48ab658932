"""Reminders, session prompts, nudges, the follow-up round and broadcasts, on a moved clock."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Answer, Delivery, Participant, Person, ScheduledJob
from storage.repositories import people, schedules, workshops
from tests.e2e.conftest import FACILITATOR_ID
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser

START_UTC = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # 10:00 in Brussels


def texts(user: FakeUser) -> list[str]:
    return [message.text or "" for message in user.inbox]


def count_containing(user: FakeUser, fragment: str) -> int:
    return sum(fragment in text for text in texts(user))


async def new_workshop(bot: BotHarness, fay: FakeUser, title: str) -> str:
    fay.send_command("/newworkshop", title)
    settings = await reply_to(fay, "Invite link:")
    code = re.search(r"start=([A-Z0-9]+)", settings.text)
    assert code is not None
    return code.group(1)


async def test_the_timeline_reaches_exactly_the_right_people(bot: BotHarness) -> None:
    bot.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Timeline")
    fay.send_command("/schedule", code, "2026-12-03", "10:00", "Europe/Brussels")
    done = await reply_to(fay, "is set for")
    assert "Thursday, December 3, 2026, 10:00" in done.text and "Planned: 6 messages" in done.text

    ana, ben, cat = bot.user("en", "Ana"), bot.user("en", "Ben"), bot.user("en", "Cat")
    await join(bot, ana, code)
    ana.press("4")
    await reply_to(ana, "Type your answer")
    ana.send_text("Training during work time")
    await reply_to(ana, "What worries you")
    ana.send_text("Losing contact with people")
    await reply_to(ana, "2 of 5")
    await join(bot, ben, code, role="I use social services")
    ben.send_command("/reminders", "off")
    await reply_to(ben, "Reminders are off")
    await join(bot, cat)  # the general workshop, not this one

    await bot.restart()  # the plan lives in the database, not in the process

    bot.clock.set(START_UTC - timedelta(hours=24))
    await bot.tick()
    await reply_to(ana, "is tomorrow, Thursday, December 3, 2026, 10:00")
    await reply_to(ana, "but have not finished")  # 24 hours without activity: first nudge
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(ben, "tomorrow") == 0 and count_containing(ben, "not finished") == 0
    assert count_containing(cat, "Timeline") == 0
    await bot.tick()  # nothing is sent twice
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(ana, "is tomorrow") == 1 and count_containing(ana, "not finished") == 1

    bot.clock.set(START_UTC - timedelta(minutes=15))
    await bot.tick()
    await reply_to(ana, "starts in 15 minutes")

    bot.clock.set(START_UTC + timedelta(minutes=10))
    await bot.tick()
    prompt = await reply_to(ana, "Session 1 is starting")
    await reply_to(ben, "Session 1 is starting")  # workshop content ignores /reminders off
    assert "Treat people with respect" in prompt.button_texts
    ana.press("Treat people with respect", message=prompt)
    await reply_to(ana, "5 of 5")

    bot.clock.set(START_UTC + timedelta(days=7))
    await bot.tick()
    summary = await reply_to(ana, "What the group said")
    # One worker: their own rating is not shown to the group, and Ana neither finished nor
    # agreed to be quoted, so her words are not either (tests/e2e/test_quotes.py).
    assert "Workers: fewer than 5 people answered; not shown" in summary.text
    assert "mean importance" not in summary.text
    assert "Training during work time" not in summary.text
    missed = await reply_to(fay, "could not be sent in time")
    assert "session prompt" in missed.text
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(ben, "What the group said") == 0  # Ben answered nothing
    assert count_containing(ana, "Session 2") == 0  # far too late: reported, not sent

    ana.press("Revisit my answers", message=summary)
    await reply_to(ana, "Follow-up 1 of 1")
    ana.press("2")
    await reply_to(ana, "anything you would like to add")
    ana.send_text("Only with human contact")
    await reply_to(ana, "follow-up answers are saved")

    rows = await bot.answer_rows(ana)
    by_round = {(a.round, a.recommendation_id, a.question): a.value for a in rows}
    assert by_round[(1, "h1", "priority")] == "4"
    assert by_round[(2, "h1", "priority")] == "2"
    assert by_round[(2, "h1", "addition")] == "Only with human contact"
    async with bot.sessions()() as session:
        states = Counter((await session.scalars(select(ScheduledJob.state))).all())
    assert states["missed"] == 2 and states["pending"] == 0


async def test_a_restart_within_the_grace_period_still_sends(bot: BotHarness) -> None:
    bot.clock.set(START_UTC - timedelta(days=2))
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Grace")
    fay.send_command("/schedule", code, "2026-12-03", "10:00")
    await reply_to(fay, "is set for")
    ana = bot.user("en")
    await join(bot, ana, code)
    await bot.stop()
    bot.clock.set(START_UTC - timedelta(minutes=10))  # the "15 minutes" reminder is 5 late
    await bot.start()
    await bot.tick()
    await reply_to(ana, "starts in 15 minutes")
    await reply_to(fay, "could not be sent in time")  # the day-before one is 14 hours late


async def test_broadcast_with_preview_progress_rate_limit_and_a_blocked_person(
    bot: BotHarness,
) -> None:
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Broadcast")
    group = [bot.user("en", f"P{n}") for n in range(4)]
    for person in group:
        await join(bot, person, code)
    bot.server.block(group[3].chat_id)

    fay.send_command("/broadcast", code)
    await reply_to(fay, "Type the message")
    fay.send_text("Room 4 is open & coffee is ready")
    preview = await reply_to(fay, "This goes to 4 people")
    assert "Room 4 is open & coffee is ready" in preview.text
    bot.server.fail_next("sendMessage", 429, retry_after=1)
    fay.press("✅ Send now", message=preview)
    summary = await reply_to(fay, "Delivered: 3. Blocked the bot: 1. Failed: 0.", timeout=15)
    assert summary.message_id == preview.message_id  # one message, updated in place

    for person in group[:3]:
        assert count_containing(person, "Room 4 is open") == 1
    async with bot.sessions()() as session:
        blocked = await session.get(Person, group[3].user_id)
    assert blocked is not None and blocked.unreachable
    assert any(call.status == 429 for call in bot.server.calls("sendMessage"))


async def test_a_broadcast_stopped_half_way_finishes_once_after_restart(bot: BotHarness) -> None:
    now = bot.clock()
    async with bot.sessions()() as session, session.begin():
        ws = await workshops.create(session, title="Big", scope=["h1"], languages=["en"])
        ids = list(range(700000, 700200))
        for user_id in ids:
            await people.upsert_person(session, user_id, language="en")
            await people.create_participant(
                session, user_id=user_id, workshop_id=ws.id, position="q.h1.pr", now=now
            )
        await schedules.add(
            session,
            workshop_id=ws.id,
            kind="broadcast",
            due_at=now,
            payload={"text": "Thank you all"},
            created_by=FACILITATOR_ID,
            now=now,
        )

    def received() -> Counter[int]:
        return Counter(m.chat_id for m in bot.server.messages if "Thank you all" in (m.text or ""))

    sending = asyncio.create_task(bot.tick())
    await bot.server.wait_for(lambda _: len(received()) >= 60, timeout=30)
    sending.cancel()  # the process dies mid-broadcast
    await asyncio.gather(sending, return_exceptions=True)
    assert len(received()) < 200
    await bot.restart()
    await bot.tick()
    counts = received()
    assert sorted(counts) == ids and set(counts.values()) == {1}
    async with bot.sessions()() as session:
        states = Counter((await session.scalars(select(Delivery.state))).all())
        kept = await session.scalar(select(Participant.id).limit(1))
    assert states == {"sent": 200} and kept is not None
    assert (await bot.tick()) == []


async def test_scheduled_lists_and_cancels(bot: BotHarness) -> None:
    bot.clock.set(START_UTC - timedelta(days=3))
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Listing")
    fay.send_command("/schedule", code)
    await reply_to(fay, "on which day")
    fay.press("Thu 3 Dec")
    await reply_to(fay, "at what time")
    fay.press("10:00")
    await reply_to(fay, "which time zone")
    fay.press("Brussels")
    await reply_to(fay, "Planned: 6 messages")
    fay.send_command("/scheduled", code)
    listing = await reply_to(fay, "Planned for")
    assert "1. reminder the day before" in listing.text
    fay.press("✖ Cancel 1", message=listing)
    await bot.server.wait_for(
        lambda _: "reminder the day before" not in (listing.text or ""), timeout=5
    )
    async with bot.sessions()() as session:
        jobs = (await session.scalars(select(ScheduledJob))).all()
    assert Counter(job.state for job in jobs) == {"pending": 5, "cancelled": 1}

    mallory = bot.user("en", "Mallory")
    for command in ("/schedule", "/broadcast", "/scheduled"):
        mallory.send_command(command, code)
        await reply_to(mallory, "only for workshop facilitators")
    async with bot.sessions()() as session:
        unchanged = (await session.scalars(select(Answer))).all()
    assert unchanged == []


async def test_followup_delay_and_nudge_hours_are_set_per_workshop(bot: BotHarness) -> None:
    bot.clock.set(START_UTC - timedelta(days=3))
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Settings")
    fay.send_command("/schedule", code, "2026-12-03", "10:00")
    await reply_to(fay, "Planned: 6 messages")
    fay.send_command("/followup", code, "3")
    await reply_to(fay, "comes 3 days after")
    fay.send_command("/nudges", code, "48")
    await reply_to(fay, "after 48 hours")
    fay.send_command("/nudges", code, "72", "24")
    await reply_to(fay, "Send /nudges CODE HOURS")
    async with bot.sessions()() as session:
        ws = await workshops.get_by_code(session, code)
        assert ws is not None
        followups = (
            await session.scalars(
                select(ScheduledJob).where(
                    ScheduledJob.workshop_id == ws.id,
                    ScheduledJob.kind == "followup",
                    ScheduledJob.state == "pending",
                )
            )
        ).all()
    assert ws.followup_days == 3 and ws.nudge_hours == [48]
    assert [job.due_at for job in followups] == [START_UTC + timedelta(days=3)]

    ana = bot.user("en")
    await join(bot, ana, code)
    bot.clock.advance(timedelta(hours=47))
    await bot.tick()
    bot.clock.advance(timedelta(hours=1))
    await bot.tick()
    await reply_to(ana, "but have not finished")
    bot.clock.advance(timedelta(days=10))
    await bot.tick()
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(ana, "but have not finished") == 1  # only one nudge configured
