"""Runs the production Application against the fake Bot API server, and restarts it.

Only `base_url` (and the clock) differ from production: handlers, update processor, rate
limiter, database and migrations are the real ones, and updates arrive by long polling.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot.app import build_application
from bot.config import Settings
from bot.services import services_from
from bot.webhook import ALLOWED_UPDATES
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.models import Answer, Participant, Person
from tests.fake_telegram import BotMessage, FakeBotApi, FakeUser

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"


class FakeClock:
    """The bot's clock in tests: it only moves when the test moves it."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class BotHarness:
    def __init__(
        self,
        server: FakeBotApi,
        database_url: str,
        clock: FakeClock | None = None,
        **settings: Any,
    ) -> None:
        self.server = server
        self.clock = clock or FakeClock()
        # The timer is off: tests call tick() after moving the clock.
        settings.setdefault("scheduler_interval_seconds", 0)
        self.settings = Settings(
            telegram_bot_token=TOKEN,
            database_url=database_url,
            telegram_api_base_url=server.api_url,
            **settings,
        )
        self.application: Application | None = None  # type: ignore[type-arg]
        self._engine: AsyncEngine | None = None
        self._user_ids = 5000

    async def start(self) -> None:
        application = build_application(
            self.settings, base_url=self.server.api_url, clock=self.clock
        )
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)  # what run_polling does before polling
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0.0, timeout=1, allowed_updates=list(ALLOWED_UPDATES)
        )
        self.application = application

    async def stop(self) -> None:
        application = self.application
        if application is None:
            return
        self.application = None
        assert application.updater is not None
        await application.updater.stop()
        await application.stop()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
        await application.shutdown()

    async def tick(self) -> list[int]:
        """One scheduler heartbeat at the fake clock's time; returns the jobs it sent."""
        assert self.application is not None
        scheduler = services_from(self.application.bot_data).scheduler
        assert scheduler is not None
        return await scheduler.tick()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def user(self, language: str = "en", first_name: str = "Ana") -> FakeUser:
        self._user_ids += 1
        return FakeUser(self.server, self._user_ids, first_name=first_name, language_code=language)

    # ---- reading the database as a test would ---------------------------------------------

    def sessions(self) -> SessionFactory:
        if self._engine is None:
            self._engine = create_engine(self.settings.database_url)
        return create_session_factory(self._engine)

    async def close(self) -> None:
        await self.stop()
        if self._engine is not None:
            await self._engine.dispose()

    async def answers_of(self, user: FakeUser) -> dict[tuple[str, str], Answer]:
        async with self.sessions()() as session:
            rows = await session.scalars(
                select(Answer)
                .join(Participant, Participant.id == Answer.participant_id)
                .where(Participant.telegram_user_id == user.user_id)
            )
            return {(a.recommendation_id, a.question): a for a in rows}

    async def answer_rows(self, user: FakeUser) -> Sequence[Answer]:
        async with self.sessions()() as session:
            rows = await session.scalars(
                select(Answer)
                .join(Participant, Participant.id == Answer.participant_id)
                .where(Participant.telegram_user_id == user.user_id)
            )
            return rows.all()

    async def participant_of(self, user: FakeUser) -> Participant | None:
        async with self.sessions()() as session:
            return await session.scalar(
                select(Participant).where(Participant.telegram_user_id == user.user_id)
            )

    async def person_of(self, user: FakeUser) -> Person | None:
        async with self.sessions()() as session:
            return await session.get(Person, user.user_id)


@contextlib.asynccontextmanager
async def scratch_bot(directory: Path, **settings: Any) -> AsyncIterator[BotHarness]:
    """The real bot on a fresh SQLite file in `directory`, against a fresh fake server:
    for scripts that show or prove something outside pytest's fixtures."""
    settings.setdefault("organisation_name", "Care Together")
    settings.setdefault("organisation_contact", "team@care.example")
    async with FakeBotApi() as server:
        bot = BotHarness(
            server,
            f"sqlite+aiosqlite:///{directory}/codesign.db",
            data_dir=directory / "data",
            **settings,
        )
        await bot.start()
        try:
            yield bot
        finally:
            await bot.close()


async def reply_to(user: FakeUser, expected: str, timeout: float = 5.0) -> BotMessage:
    """Wait for the bot's message containing `expected` (a new one or an edit)."""
    return await user.wait_for_text(expected, timeout=timeout)


async def join(
    bot: BotHarness,
    user: FakeUser,
    code: str | None = None,
    role: str = "I work in social services",
    total: int = 5,
) -> None:
    """Open the (invite) link, agree, pick a role, and wait for the first question."""
    user.send_command("/start", *([code] if code else []))
    await reply_to(user, "Do you agree to take part?")
    user.press("Yes, I agree")
    await reply_to(user, "Which of these describes you best?")
    user.press(role)
    await reply_to(user, f"1 of {total}")
