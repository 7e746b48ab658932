"""What every handler needs, built once at start and kept in `application.bot_data`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.flows.catalogue import Catalogue
from bot.rendering import Renderer
from storage.engine import SessionFactory

if TYPE_CHECKING:
    from bot.scheduling.scheduler import Scheduler

SERVICES_KEY = "services"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    catalogue: Catalogue
    renderer: Renderer
    clock: Clock = utc_now
    engine: AsyncEngine | None = None
    sessions: SessionFactory | None = field(default=None)
    # Created once the bot exists (post_init); None in desk commands.
    scheduler: Scheduler | None = None

    def session_factory(self) -> SessionFactory:
        if self.sessions is None:
            raise RuntimeError("the database is not open yet (post_init has not run)")
        return self.sessions


def services_from(bot_data: dict[str, Any]) -> Services:
    services = bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services
