from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.e2e.harness import BotHarness
from tests.fake_telegram import FakeBotApi


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotApi, database_url: str) -> AsyncIterator[BotHarness]:
    harness = BotHarness(server, database_url)
    await harness.start()
    try:
        yield harness
    finally:
        await harness.close()
