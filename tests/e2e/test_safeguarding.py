"""Words of distress reach a person: the safety reply, the lead's alert, handling, the relay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Person, SafeguardingAlert
from tests.e2e.conftest import CONTACT, FACILITATOR_ID
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser

DISTRESS = "I feel like ending it all, nobody helps me"


def lead(bot: BotHarness) -> FakeUser:
    return FakeUser(bot.server, FACILITATOR_ID, first_name="Lea", language_code="en")


async def alerts(bot: BotHarness) -> list[SafeguardingAlert]:
    async with bot.sessions()() as session:
        return list((await session.scalars(select(SafeguardingAlert))).all())


async def worried_participant(bot: BotHarness) -> FakeUser:
    """Someone who joins, rates the first topic and then writes words of distress."""
    ana = bot.user("en", "Ana")
    await join(bot, ana, role="I use social services")
    ana.press("2")
    await reply_to(ana, "Type your answer")
    ana.send_text(DISTRESS)
    return ana


async def test_words_of_distress_get_a_human_path_and_alert_the_lead_without_the_words(
    bot: BotHarness,
) -> None:
    lea = lead(bot)
    ana = await worried_participant(bot)
    reply = await reply_to(ana, "I am a computer program")
    assert "112" in reply.text and "0800 32 123" in reply.text and CONTACT in reply.text
    assert "Saved" not in reply.text
    assert reply.button_texts == [
        "I would like a person from the team to contact me",
        "Continue",
    ]
    stored = await bot.answers_of(ana)
    assert stored[("h1", "needs")].value == DISTRESS and stored[("h1", "needs")].sensitive
    assert not stored[("h1", "priority")].sensitive

    alert = await reply_to(lea, "Safeguarding alert")
    participant = await bot.participant_of(ana)
    assert participant is not None
    assert participant.pseudonym in alert.text
    assert "ending it all" not in alert.text and str(ana.user_id) not in alert.text
    assert "Ana" not in alert.text
    await bot.server.wait_idle(quiet=0.3)  # notified_at is written after the send
    [row] = await alerts(bot)
    assert row.words == DISTRESS and "suicide" in row.categories and row.notified_at

    lea.press("Show the words", message=alert)
    shown = await reply_to(lea, "Their words:")
    assert shown.message_id == alert.message_id  # an edit: no new notification
    assert DISTRESS in shown.text

    ana.press("Continue")
    await reply_to(ana, "What worries you")


async def test_no_nudge_until_a_lead_has_handled_the_alert(bot: BotHarness) -> None:
    # Morning in Brussels, so the nudge 25 hours later does not fall in quiet hours
    # (21:00-08:00): without this the test failed whenever it ran after 20:00 UTC.
    bot.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    lea = lead(bot)
    ana = await worried_participant(bot)
    alert = await reply_to(lea, "Safeguarding alert")
    bot.clock.advance(timedelta(hours=25))
    await bot.tick()
    await bot.server.wait_idle(quiet=0.2)
    assert not any("not finished" in (m.text or "") for m in ana.inbox)

    lea.press("Mark handled", message=alert)
    await reply_to(lea, "is marked handled")
    [row] = await alerts(bot)
    assert row.handled_by == FACILITATOR_ID and row.handled_at is not None
    await bot.tick()
    await reply_to(ana, "but have not finished")


async def test_contact_me_opens_a_conversation_both_ways_without_ids(bot: BotHarness) -> None:
    lea = lead(bot)
    ana = await worried_participant(bot)
    await reply_to(ana, "I am a computer program")
    await reply_to(lea, "Safeguarding alert")
    ana.press("I would like a person from the team to contact me")
    await reply_to(ana, "I have told the workshop team")
    asked = await reply_to(lea, "asked for a person from the team to contact them")
    [row] = await alerts(bot)
    assert row.contact_requested_at is not None

    lea.press("Write to them", message=asked)
    await reply_to(lea, "You are now talking with")
    await reply_to(ana, "A person from the workshop team is here")
    lea.send_text("Hello, I am Lea from the team. Are you safe right now?")
    from_team = await reply_to(ana, "From the workshop team:")
    assert "Are you safe right now?" in from_team.text
    assert str(FACILITATOR_ID) not in from_team.text and "Lea" in from_team.text

    ana.send_text("Yes, thank you for writing")
    await reply_to(ana, "Sent to the workshop team")
    from_ana = await reply_to(lea, "Yes, thank you for writing")
    participant = await bot.participant_of(ana)
    assert participant is not None and participant.pseudonym in from_ana.text
    assert str(ana.user_id) not in from_ana.text
    # What went to the team is no answer.
    stored = await bot.answers_of(ana)
    assert ("h1", "concerns") not in stored

    ana.press("End the conversation")
    await reply_to(ana, "You ended the conversation")
    await reply_to(lea, "has ended")
    async with bot.sessions()() as session:
        person = await session.get(Person, ana.user_id)
        assert person is not None and person.relay_alert_id is None
    ana.send_text("Nobody explains how the tool decides")
    await reply_to(ana, "2 of 5")
    stored = await bot.answers_of(ana)
    assert stored[("h1", "concerns")].value == "Nobody explains how the tool decides"
    assert not stored[("h1", "concerns")].sensitive


async def test_someone_who_has_not_joined_still_gets_the_way_to_help(bot: BotHarness) -> None:
    ben = bot.user("en", "Ben")
    ben.send_text("I want to die")
    reply = await reply_to(ben, "I am a computer program")
    assert "112" in reply.text and CONTACT in reply.text
    assert reply.button_texts == ["Continue"]
    assert await bot.person_of(ben) is None  # nothing stored before consent
    assert await alerts(bot) == []


async def test_help_names_the_workshop_contact(bot: BotHarness) -> None:
    ana = bot.user("en", "Ana")
    await join(bot, ana)
    ana.send_command("/help")
    reply = await reply_to(ana, "To talk to a person")
    assert "Care Together" in reply.text and CONTACT in reply.text


async def test_a_workshop_sets_its_own_helpline_country_and_lead(bot: BotHarness) -> None:
    from storage.repositories import workshops

    async with bot.sessions()() as session, session.begin():
        ws = await workshops.create(
            session, title="Lyon", scope=["h1"], languages=["en", "fr"], created_by=FACILITATOR_ID
        )
        code = ws.code
    lea = lead(bot)
    lea.send_command("/safety", code, "country", "FR")
    await reply_to(lea, "✓ Saved: country")
    lea.send_command("/safety", code, "leads", "900777")
    shown = await reply_to(lea, "Safeguarding leads (Telegram ids): 900777")
    assert "3114" in shown.text
    lea.send_command("/safety", code, "country", "ZZ")
    await reply_to(lea, "I have no helpline for that country")
    other = FakeUser(bot.server, 900777, first_name="Olu", language_code="en")

    ana = bot.user("en", "Ana")
    await join(bot, ana, code, total=1)
    ana.press("3")
    await reply_to(ana, "Type your answer")
    ana.send_text("My carer hits me when I ask for help")
    reply = await reply_to(ana, "I am a computer program")
    assert "3114" in reply.text and "112" in reply.text
    alert = await reply_to(other, "Safeguarding alert")
    await bot.server.wait_idle(quiet=0.2)
    assert not any("Safeguarding alert" in (m.text or "") for m in lea.inbox)

    # A lead who is not a facilitator can talk with the person too, across a restart.
    other.send_command("/start")  # a lead must have started the bot once (Telegram's rule)
    other.press("Write to them", message=alert)
    await reply_to(other, "You are now talking with")
    await reply_to(ana, "A person from the workshop team is here")
    await bot.restart()
    other.send_text("I am here to listen.")
    await reply_to(ana, "I am here to listen.")
    ana.send_text("Thank you")
    await reply_to(other, "Thank you")
    other.send_command("/endchat")
    await reply_to(other, "has ended")
    await reply_to(ana, "The conversation with the workshop team has ended")
    other.send_text("hello?")
    await reply_to(other, "To take part, open the invite link")  # no longer relayed

    stranger = bot.user("en", "Sam")
    stranger.send_command("/safety", code)
    await reply_to(stranger, "only for workshop facilitators")
