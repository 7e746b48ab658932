"""A conversation every participant can finish: typed words understood, edits kept, a stale
button answered with where they are, only the newest message with buttons, the family carer
counted like every other role.
"""

from __future__ import annotations

from storage.repositories import workshops
from tests.e2e.conftest import CONTACT
from tests.e2e.harness import BotHarness, join, reply_to
from tests.e2e.test_facilitator_workspace import csv_rows, exported_documents, facilitator


async def test_typed_yes_joins_and_help_words_show_a_person_to_talk_to(bot: BotHarness) -> None:
    async with bot.sessions()() as session, session.begin():
        code = (
            await workshops.create(session, title="Invited", scope=["h1"], languages=["en"])
        ).code
    user = bot.user("en")
    user.send_command("/start", code)
    await reply_to(user, "Do you agree to take part?")
    user.send_text("maybe later?")
    again = await reply_to(user, "Please tap “Yes, I agree” or “No, thank you” below.")
    assert "Yes, I agree" in again.button_texts
    assert await bot.person_of(user) is None
    user.send_text("help")
    help_screen = await reply_to(user, "To talk to a person")
    assert CONTACT in help_screen.text
    user.send_text("👍")
    await reply_to(user, "Which of these describes you best?")
    participant = await bot.participant_of(user)
    assert participant is not None and participant.consent_version is not None
    async with bot.sessions()() as session:
        invited = await workshops.get_by_code(session, code)
    assert invited is not None and participant.workshop_id == invited.id  # not the default one

    user.send_text("Help")
    shown = await reply_to(user, "To talk to a person")
    assert CONTACT in shown.text
    step = await reply_to(user, "Which of these describes you best?")  # then where they are
    assert "I look after a family member" in step.button_texts


async def test_editing_a_sent_answer_replaces_it(bot: BotHarness) -> None:
    user = bot.user("en")
    await join(bot, user)
    user.press("4")
    await reply_to(user, "Type your answer")
    sent = user.send_text("Mroe time with peopel")
    await reply_to(user, "What worries you")
    user.edit_text(sent, "More time with people")
    await reply_to(user, "✓ Updated.")
    stored = await bot.answers_of(user)
    assert stored[("h1", "needs")].value == "More time with people"
    assert stored[("h1", "needs")].edited_at is not None
    participant = await bot.participant_of(user)
    assert participant is not None and participant.position == "q.h1.cn"  # still here

    hello = user.send_text("/help")
    await reply_to(user, "What I can do")
    user.edit_text(hello, "/help me")
    await reply_to(user, "It was not an answer, so nothing has changed.")
    assert (await bot.answers_of(user))[("h1", "needs")].value == "More time with people"


async def test_a_stale_button_shows_where_the_person_is_and_old_buttons_go(
    bot: BotHarness,
) -> None:
    user = bot.user("en")
    await join(bot, user)
    first = user.last_message
    assert first is not None
    user.press("3")
    needs = await reply_to(user, "Type your answer")
    user.send_text("Clear rules")
    await reply_to(user, "What worries you")
    await bot.server.wait_idle(quiet=0.3)
    # After a typed answer the previous message's buttons are gone: only the newest has any.
    refreshed = next(
        m for m in bot.server.messages_to(user.chat_id) if m.message_id == needs.message_id
    )
    assert refreshed.buttons == []
    user.press_data("prio:q.h1.pr:5", first)
    again = await reply_to(
        user, "That button was on an earlier message. Here is where you are now:"
    )
    assert "What worries you" in again.text and "Skip" in again.button_texts
    assert (await bot.answers_of(user))[("h1", "priority")].value == "3"


async def test_a_family_carer_is_counted_in_stats_and_exports(bot: BotHarness) -> None:
    fay = facilitator(bot)
    async with bot.sessions()() as session, session.begin():
        code = (
            await workshops.create(
                session, title="Carers", scope=["h1"], languages=["en"], created_by=fay.user_id
            )
        ).code
    carer = bot.user("en", "Cleo")
    await join(bot, carer, code, role="I look after a family member", total=1)
    carer.press("5")
    needs = await reply_to(carer, "Type your answer")
    assert "person you look after" in needs.text or "family" in needs.text.lower()
    carer.send_text("Someone who knows my mother")
    await reply_to(carer, "for the person you look after")
    carer.press("Skip")
    await reply_to(carer, "Here are your answers")
    carer.press("✅ Finish")
    await reply_to(carer, "May we share your words")
    carer.press("No, keep my words private")
    await reply_to(carer, "What happens next")

    fay.send_command("/stats", code)
    await reply_to(fay, "Family carers", timeout=15)
    rows = csv_rows((await exported_documents(bot, fay, code))["csv"])
    assert {row["role"] for row in rows} == {"family_carer"}
    assert {row["topic"] for row in rows} == {"You help design the tools"}
    assert {row["recommendation_title"] for row in rows} == {"Co-develop inclusive AI solutions"}
