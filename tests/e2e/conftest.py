from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.harness import BotHarness
from tests.fake_telegram import FakeBotApi

FACILITATOR_ID = 900001
ORGANISATION = "Care Together"
CONTACT = "team@care.example"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeBotApi, database_url: str, tmp_path: Path) -> AsyncIterator[BotHarness]:
    harness = BotHarness(
        server,
        database_url,
        facilitator_ids=FACILITATOR_ID,
        data_dir=tmp_path / "data",
        organisation_name=ORGANISATION,
        organisation_contact=CONTACT,
    )
    await harness.start()
    try:
        yield harness
    finally:
        await harness.close()
