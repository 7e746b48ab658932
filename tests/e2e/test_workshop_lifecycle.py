"""A workshop's end: /closeworkshop, /deleteworkshop, and deletion at the end of retention.

Every test reads what the fake Telegram server received and the rows left in every table.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    Answer,
    Delivery,
    Participant,
    PendingInput,
    Person,
    SafeguardingAlert,
    ScheduledJob,
    Workshop,
)
from tests.e2e.conftest import CONTACT, FACILITATOR_ID, ORGANISATION
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeBotApi, FakeUser

T0 = datetime(2027, 1, 31, 10, 0, tzinfo=UTC)


def texts(user: FakeUser) -> list[str]:
    return [message.text or "" for message in user.inbox]


def count_containing(user: FakeUser, fragment: str) -> int:
    return sum(fragment in text for text in texts(user))


async def new_workshop(bot: BotHarness, fay: FakeUser, title: str, scope: list[str]) -> str:
    """Created through /newworkshop, then narrowed to `scope` so a journey stays short."""
    fay.send_command("/newworkshop", title)
    settings = await reply_to(fay, "Invite link:")
    found = re.search(r"start=([A-Z0-9]+)", settings.text)
    assert found is not None
    async with bot.sessions()() as session, session.begin():
        await session.execute(
            update(Workshop).where(Workshop.code == found.group(1)).values(scope=scope)
        )
    return found.group(1)


async def workshop_row(bot: BotHarness, code: str) -> Workshop | None:
    async with bot.sessions()() as session:
        return await session.scalar(select(Workshop).where(Workshop.code == code))


async def default_code(bot: BotHarness) -> str:
    async with bot.sessions()() as session:
        code = await session.scalar(select(Workshop.code).where(Workshop.is_default.is_(True)))
    assert code is not None
    return code


async def count(bot: BotHarness, model: Any, *where: ColumnElement[bool]) -> int:
    async with bot.sessions()() as session:
        return int(
            await session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        )


async def answer_one(
    bot: BotHarness, user: FakeUser, priority: str, needs: str | None, concerns: str
) -> None:
    """Priority, needs (typed, or a voice message when None) and concerns of the one
    recommendation; then submit, keeping the words private."""
    user.press(priority)
    await reply_to(user, "Type your answer")
    if needs is None:
        user.send_voice(duration=4, data=b"OggS-private-recording")
        await reply_to(user, "voice message is saved")
        await recording_of(bot, user)
    else:
        user.send_text(needs)
        await reply_to(user, "What worries you")
    user.send_text(concerns)
    await reply_to(user, "Here are your answers.")
    user.press("✅ Finish")
    await reply_to(user, "May we share your words")
    user.press("No, keep my words private")
    await reply_to(user, "Your words stay private")


async def recording_of(bot: BotHarness, user: FakeUser) -> Path:
    """The voice answer's file on disk, once its download (after the reply) is done."""
    for _ in range(100):
        paths = [a.voice_path for a in await bot.answer_rows(user) if a.voice_path]
        if paths:
            path = bot.settings.data_dir / paths[0]
            assert path.read_bytes() == b"OggS-private-recording"
            return path
        await bot.server.wait_idle(quiet=0.05)
    raise AssertionError("the voice answer was never downloaded")


async def add_alert(bot: BotHarness, user: FakeUser, code: str, *, open_relay: bool) -> int:
    """A safeguarding alert on the participant (the lexicon that raises them is tested in
    test_safeguarding; here it only has to go with the workshop)."""
    async with bot.sessions()() as session, session.begin():
        participant = await session.scalar(
            select(Participant)
            .join(Workshop, Workshop.id == Participant.workshop_id)
            .where(Participant.telegram_user_id == user.user_id, Workshop.code == code)
        )
        assert participant is not None
        alert = SafeguardingAlert(
            workshop_id=participant.workshop_id,
            participant_id=participant.id,
            words="words a lead must read",
            categories=["distress"],
            created_at=bot.clock(),
            notified_at=bot.clock(),
        )
        session.add(alert)
        await session.flush()
        if open_relay:
            person = await session.get(Person, user.user_id)
            assert person is not None
            person.relay_alert_id = alert.id
        return alert.id


# ---- closing -------------------------------------------------------------------------------


async def test_a_closed_workshop_takes_no_new_people_and_no_new_answers(bot: BotHarness) -> None:
    bot.clock.set(T0)
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Lyon", ["h1", "h2"])
    fay.send_command("/schedule", code, "2027-02-10", "10:00")
    planned = re.search(r"Planned: (\d+) messages", (await reply_to(fay, "is set for")).text)
    assert planned is not None and int(planned.group(1)) >= 4
    ana = bot.user("en", "Ana")
    await join(bot, ana, code, total=2)
    ana.press("4")
    await reply_to(ana, "Type your answer")

    fay.send_command("/closeworkshop", code)
    done = await reply_to(fay, "is closed")
    assert "no new participants and no new answers" in done.text
    assert f"Planned reminders and prompts cancelled: {planned.group(1)}" in done.text
    assert "will be deleted on January 31, 2028" in done.text  # RETENTION_MONTHS default 12
    row = await workshop_row(bot, code)
    assert row is not None and row.status == "closed" and row.closed_at == T0
    assert await count(bot, ScheduledJob, ScheduledJob.state == "pending") == 0

    ana.send_text("Training during work time")
    await reply_to(ana, "This workshop has ended")
    ben = bot.user("en", "Ben")
    ben.send_command("/start", code)
    await reply_to(ben, "This workshop has ended")
    ana.send_command("/start", code)
    await reply_to(ana, "This workshop has ended")
    await bot.server.wait_idle(quiet=0.2)
    assert {(a.recommendation_id, a.question, a.value) for a in await bot.answer_rows(ana)} == {
        ("h1", "priority", "4")
    }
    assert await bot.person_of(ben) is None and await bot.participant_of(ben) is None
    assert count_containing(ben, "Do you agree") == 0

    bot.clock.set(datetime(2027, 2, 10, 8, 50, tzinfo=UTC))  # the cancelled reminder's time
    await bot.tick()
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(ana, "starts in 15 minutes") == 0

    fay.send_command("/closeworkshop", code)
    again = await reply_to(fay, "has already ended")
    assert "Personal data deleted on January 31, 2028" in again.text
    fay.send_command("/closeworkshop", await default_code(bot))
    await reply_to(fay, "cannot be closed")
    fay.send_command("/closeworkshop")
    await reply_to(fay, "Send /closeworkshop CODE")
    fay.send_command("/workshops")
    overview = await reply_to(fay, "Lyon")
    assert "Personal data deleted on January 31, 2028" in overview.text
    general = await workshop_row(bot, await default_code(bot))
    assert general is not None and general.status == "active"


async def test_only_facilitators_may_close_or_delete(bot: BotHarness) -> None:
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Guarded", ["h1"])
    mallory = bot.user("en", "Mallory")
    for command in ("/closeworkshop", "/deleteworkshop"):
        mallory.send_command(command, code)
        await reply_to(mallory, "only for workshop facilitators")
    mallory.send_text(code)  # no pending deletion of theirs: just a participant's text
    await bot.server.wait_idle(quiet=0.2)
    row = await workshop_row(bot, code)
    assert row is not None and row.status == "active"
    assert await count(bot, PendingInput) == 0


# ---- deleting ------------------------------------------------------------------------------


async def test_deleting_a_workshop_leaves_no_row_and_no_recording(bot: BotHarness) -> None:
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    doomed = await new_workshop(bot, fay, "Doomed", ["h1"])
    kept = await new_workshop(bot, fay, "Kept", ["h1"])
    ana, ben = bot.user("en", "Ana"), bot.user("en", "Ben")
    await join(bot, ben, kept, total=1)
    await answer_one(bot, ben, "2", "Time", "Cuts")
    await join(bot, ana, doomed, total=1)
    await answer_one(bot, ana, "4", None, "Being replaced")
    recording = await recording_of(bot, ana)
    await join(bot, ben, doomed, role="I use social services", total=1)
    await answer_one(bot, ben, "5", "Listening", "Bias")

    fay.send_command("/broadcast", doomed)
    await reply_to(fay, "Type the message")
    fay.send_text("Thank you all")
    preview = await reply_to(fay, "This goes to 2 people")
    fay.press("✅ Send now", message=preview)
    await reply_to(fay, "Delivered: 2.", timeout=15)
    fay.send_command("/schedule", doomed, "2031-01-10", "10:00")
    planned = re.search(r"Planned: (\d+) messages", (await reply_to(fay, "is set for")).text)
    assert planned is not None
    gus = bot.user("en", "Gus")
    fay.send_command("/addfacilitator", str(gus.user_id))
    await reply_to(fay, "is now a facilitator")
    gus.send_command("/broadcast", doomed)  # a second facilitator is mid-way through one
    await reply_to(gus, "Type the message")
    await add_alert(bot, ana, doomed, open_relay=False)
    await add_alert(bot, ben, doomed, open_relay=True)

    row = await workshop_row(bot, doomed)
    assert row is not None
    wid = row.id
    job_ids = select(ScheduledJob.id).where(ScheduledJob.workshop_id == wid)
    assert await count(bot, Delivery, Delivery.job_id.in_(job_ids)) == 2
    jobs = 1 + int(planned.group(1))  # the broadcast and the timeline
    assert await count(bot, ScheduledJob, ScheduledJob.workshop_id == wid) == jobs

    fay.send_command("/deleteworkshop", doomed)
    ask = await reply_to(fay, "To delete it, type the code")
    assert "its participants (2)" in ask.text and "for good" in ask.text
    fay.send_text(doomed.lower())  # not exactly the code
    await reply_to(fay, "That is not the code of")
    assert await count(bot, Participant, Participant.workshop_id == wid) == 2
    assert await count(bot, PendingInput, PendingInput.telegram_user_id == FACILITATOR_ID) == 0
    fay.send_text(doomed)  # the question was asked once: now it is just a text
    await bot.server.wait_idle(quiet=0.2)
    assert await workshop_row(bot, doomed) is not None

    fay.send_command("/deleteworkshop", doomed)
    await reply_to(fay, "To delete it, type the code")
    fay.send_text(f"  {doomed} ")
    done = await reply_to(fay, "is deleted")
    assert "Removed: 2 participants, 6 answers, 1 voice recordings" in done.text
    assert "also deleted: 1" in done.text

    assert await workshop_row(bot, doomed) is None
    participants = select(Participant.id).where(Participant.workshop_id == wid)
    for model, where in (
        (Workshop, Workshop.id == wid),
        (Participant, Participant.workshop_id == wid),
        (Answer, Answer.participant_id.in_(participants)),
        (SafeguardingAlert, SafeguardingAlert.workshop_id == wid),
        (ScheduledJob, ScheduledJob.workshop_id == wid),
        (Delivery, Delivery.job_id.in_(job_ids)),
        (PendingInput, PendingInput.workshop_id == wid),
        (Person, Person.telegram_user_id == ana.user_id),
    ):
        assert await count(bot, model, where) == 0, model.__tablename__
    # Nothing anywhere else: only Ben's other workshop is left of the participants' data.
    assert await count(bot, SafeguardingAlert) == 0
    assert await count(bot, Delivery) == 0
    assert await count(bot, PendingInput) == 0
    assert await count(bot, Answer) == 3
    assert not recording.exists() and not recording.parent.exists()

    ben_person = await bot.person_of(ben)
    assert ben_person is not None
    assert ben_person.active_workshop_id is None and ben_person.relay_alert_id is None
    kept_row = await workshop_row(bot, kept)
    assert kept_row is not None
    stored = {(a.recommendation_id, a.question): a.value for a in await bot.answer_rows(ben)}
    assert stored == {("h1", "priority"): "2", ("h1", "needs"): "Time", ("h1", "concerns"): "Cuts"}
    participant = await bot.participant_of(ben)
    assert participant is not None and participant.workshop_id == kept_row.id

    ana.send_command("/start", doomed)
    await reply_to(ana, "could not find that workshop")
    gus.send_text("Hello all")  # his broadcast question went with the workshop
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(gus, "This goes to") == 0


async def test_a_deletion_can_be_cancelled_and_the_general_workshop_is_kept(
    bot: BotHarness,
) -> None:
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    code = await new_workshop(bot, fay, "Maybe", ["h1"])
    fay.send_command("/deleteworkshop", code)
    await reply_to(fay, "To delete it, type the code")
    fay.send_command("/workshops")  # another command passes; the question stays open
    await reply_to(fay, "Maybe")
    fay.send_text("/cancel")
    await reply_to(fay, "Nothing was deleted.")
    assert await workshop_row(bot, code) is not None
    assert await count(bot, PendingInput) == 0

    fay.send_command("/deleteworkshop", code)
    await reply_to(fay, "To delete it, type the code")
    bot.clock.advance(timedelta(minutes=11))
    fay.send_text(code)
    await reply_to(fay, "more than 10 minutes after asking")
    assert await workshop_row(bot, code) is not None

    general = await default_code(bot)
    fay.send_command("/deleteworkshop", general)
    await reply_to(fay, "cannot be deleted")
    fay.send_text(general)
    await bot.server.wait_idle(quiet=0.2)
    assert await workshop_row(bot, general) is not None
    fay.send_command("/deleteworkshop", "NOSUCHCODE")
    await reply_to(fay, "could not find a workshop")


# ---- retention -----------------------------------------------------------------------------


@pytest.fixture
async def short_retention(
    server: FakeBotApi, database_url: str, tmp_path: Path
) -> AsyncIterator[BotHarness]:
    """A bot whose RETENTION_MONTHS is 3, for new workshops."""
    harness = BotHarness(
        server,
        database_url,
        facilitator_ids=FACILITATOR_ID,
        data_dir=tmp_path / "data",
        organisation_name=ORGANISATION,
        organisation_contact=CONTACT,
        retention_months=3,
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.close()


async def test_retention_warns_then_keeps_only_counts(short_retention: BotHarness) -> None:
    bot = short_retention
    bot.clock.set(T0)
    fay = FakeUser(bot.server, FACILITATOR_ID, first_name="Fay")
    old = await new_workshop(bot, fay, "Old", ["h1"])
    busy = await new_workshop(bot, fay, "Busy", ["h1"])
    ana, ben, cat = bot.user("en", "Ana"), bot.user("en", "Ben"), bot.user("en", "Cat")
    await join(bot, ana, old, total=1)
    await answer_one(bot, ana, "4", None, "Being replaced")
    recording = await recording_of(bot, ana)
    await join(bot, ben, old, role="I use social services", total=1)
    ben.press("Not sure")
    await reply_to(ben, "Type your answer")
    ben.send_text("To be asked")
    await reply_to(ben, "What worries you")
    await join(bot, ben, busy, role="I use social services", total=1)
    await add_alert(bot, ana, old, open_relay=False)
    await join(bot, cat, busy, total=1)
    cat.press("3")
    await reply_to(cat, "Type your answer")
    fay.send_command("/closeworkshop", old)
    closed = await reply_to(fay, "is closed")
    assert "will be deleted on April 30, 2027" in closed.text  # 31 Jan + 3 months
    row = await workshop_row(bot, old)
    assert row is not None and row.retention_months == 3  # RETENTION_MONTHS of this bot

    bot.clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))  # Busy keeps going
    cat.send_text("Clear rules")
    await reply_to(cat, "What worries you")

    expiry = datetime(2027, 4, 30, 10, 0, tzinfo=UTC)
    bot.clock.set(expiry - timedelta(days=15))
    await bot.tick()
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(fay, "will be deleted on") == 1  # only the reply to /closeworkshop

    bot.clock.set(expiry - timedelta(days=14))
    await bot.tick()
    warning = await reply_to(fay, "its participants' personal data will be deleted on")
    assert warning.text == (
        f"Workshop Old ({old}): its participants' personal data will be deleted on "
        f"April 30, 2027. Export now if you need the answers (/export {old})."
    )
    bot.clock.set(expiry - timedelta(days=2))
    await bot.tick()
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(fay, "Export now if you need the answers") == 1
    assert await count(bot, Participant, Participant.workshop_id == row.id) == 2

    bot.clock.set(expiry)
    await bot.tick()
    await reply_to(fay, "the retention period has ended")

    purged = await workshop_row(bot, old)
    assert purged is not None
    assert purged.status == "purged" and purged.purged_at == expiry
    assert purged.retained_counts == {
        "participants": {"worker": 1, "service_user": 1},
        "finished": 1,
        "answers": {"h1": {"priority": 2, "needs": 2, "concerns": 1}},
        "priorities": {
            "h1": {
                "worker": {
                    "count": 1,
                    "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0, "unsure": 0},
                },
                "service_user": {
                    "count": 1,
                    "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0, "unsure": 1},
                },
            }
        },
    }
    participants = select(Participant.id).where(Participant.workshop_id == purged.id)
    assert await count(bot, Participant, Participant.workshop_id == purged.id) == 0
    assert await count(bot, Answer, Answer.participant_id.in_(participants)) == 0
    assert await count(bot, SafeguardingAlert) == 0
    assert await bot.person_of(ana) is None
    assert not recording.exists()
    assert "To be asked" not in str(purged.retained_counts)

    busy_row = await workshop_row(bot, busy)
    assert busy_row is not None and busy_row.status == "active"
    assert busy_row.purged_at is None and busy_row.retention_warned_at is None
    assert await count(bot, Participant, Participant.workshop_id == busy_row.id) == 2
    assert {(a.question, a.value) for a in await bot.answer_rows(cat)} == {
        ("priority", "3"),
        ("needs", "Clear rules"),
    }
    ben_person = await bot.person_of(ben)
    assert ben_person is not None and ben_person.active_workshop_id == busy_row.id

    fay.send_command("/workshops")
    overview = await reply_to(fay, "Busy")
    assert "Personal data deleted on April 30, 2027; only counts are kept" in overview.text
    assert "Personal data deleted on June 1, 2027 if nobody answers before then" in overview.text
    await bot.tick()  # a purged workshop is never purged or announced again
    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    await bot.server.wait_idle(quiet=0.2)
    assert count_containing(fay, "the retention period has ended") == 1
