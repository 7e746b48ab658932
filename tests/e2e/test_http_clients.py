"""Both ways the bot can talk HTTP to Telegram carry a whole exchange: buttons, text, a file.

aiohttp (bot/aiohttp_request.py) is the default and every other end-to-end test runs on it;
this one also runs python-telegram-bot's stock httpx client, the documented alternative
(TELEGRAM_HTTP_CLIENT=httpx).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.e2e.conftest import FACILITATOR_ID
from tests.e2e.harness import BotHarness, join, reply_to
from tests.fake_telegram import FakeBotApi, FakeUser


@pytest.mark.parametrize("client", ["aiohttp", "httpx"])
async def test_a_participant_answers_and_the_facilitator_exports(
    server: FakeBotApi, database_url: str, tmp_path: Path, client: str
) -> None:
    bot = BotHarness(
        server,
        database_url,
        facilitator_ids=FACILITATOR_ID,
        data_dir=tmp_path / "data",
        telegram_http_client=client,
    )
    await bot.start()
    try:
        user = bot.user("en")
        await join(bot, user)
        user.press("4")
        await reply_to(user, "Type your answer")
        user.send_text("Du temps pour apprendre — « vraiment »")
        await reply_to(user, "What worries you")
        stored = await bot.answers_of(user)
        assert stored[("h1", "priority")].value == "4"
        assert stored[("h1", "needs")].value == "Du temps pour apprendre — « vraiment »"

        fay = FakeUser(server, FACILITATOR_ID, first_name="Fay", language_code="en")
        fay.send_command("/export")
        await server.wait_for(
            lambda s: sum(1 for m in s.messages_to(fay.chat_id) if m.document) >= 3, timeout=15
        )
        exported = next(
            m.document
            for m in fay.inbox
            if m.document is not None and m.document.filename.endswith(".csv")
        )
        rows = list(csv.DictReader(io.StringIO(exported.data.decode("utf-8-sig"), newline="")))
        assert {(r["recommendation_id"], r["question"], r["answer"]) for r in rows} == {
            ("h1", "priority", "4"),
            ("h1", "needs", "Du temps pour apprendre — « vraiment »"),
        }
    finally:
        await bot.close()
