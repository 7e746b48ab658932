"""The database goes away for a moment (PostgreSQL restarted) while people are answering.

Runs against the real PostgreSQL test server only: the server is stopped (`pg_ctl stop -m fast`)
and started again underneath the running bot, which is never restarted.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storage.models import ProcessedUpdate
from tests import postgres
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeUser

pytestmark = pytest.mark.postgresql

TRY_AGAIN = "Please try again in a moment."


@pytest.fixture
def server_control(database_url: str) -> None:
    """Skip, with the reason in the summary, when the server cannot be stopped and started."""
    if postgres.control_command() is None:
        pytest.skip(postgres.CTL_SKIP_REASON)


def told_to_try_again(user: FakeUser) -> int:
    return sum(TRY_AGAIN in (message.text or "") for message in user.inbox)


async def processed_updates(bot: BotHarness) -> int:
    async with bot.sessions()() as session:
        return int(await session.scalar(select(func.count()).select_from(ProcessedUpdate)) or 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_answers_sent_while_the_database_is_down_are_asked_again_and_saved_once(
    server_control: None, bot: BotHarness
) -> None:
    user = bot.user("en")
    await join(bot, user)
    application = bot.application
    claimed_before = await processed_updates(bot)

    await asyncio.to_thread(postgres.control, "pause")
    try:
        # A typed answer and a button press: each is told once, and only once, to try again.
        user.send_text("4")
        reply = await reply_to(user, TRY_AGAIN)
        assert (reply.text or "").startswith("Sorry, something went wrong on my side.")
        user.press("4")
        await reply_to(user, TRY_AGAIN)
        await asyncio.sleep(0.3)  # room for an unwanted second reply to arrive
        assert told_to_try_again(user) == 2
        assert bot.server.unanswered_callback_queries() == []
    finally:
        await asyncio.to_thread(postgres.control, "resume")

    # Nothing of the failed updates was stored: no answer, no position change, no claimed id.
    assert await bot.answers_of(user) == {}
    participant = await bot.participant_of(user)
    assert participant is not None and participant.position == "q.h1.pr"
    assert await processed_updates(bot) == claimed_before

    # The same bot, never restarted, takes the answer once the database is back.
    user.press("4")
    await reply_to(user, "Type your answer")
    user.send_text("Time to talk it through")
    await reply_to(user, "What worries you")
    assert bot.application is application
    assert told_to_try_again(user) == 2

    rows = await bot.answer_rows(user)
    assert sorted((row.recommendation_id, row.question, row.value) for row in rows) == [
        ("h1", "needs", "Time to talk it through"),
        ("h1", "priority", "4"),
    ]
    participant = await bot.participant_of(user)
    assert participant is not None and participant.position == "q.h1.cn"
