"""What every handler needs, built once at start and kept in `application.bot_data`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.core import Ticker
from bot.flows.catalogue import Catalogue
from bot.flows.state import ConsentOffer
from bot.inbox import UpdateInbox
from bot.participation import WorkshopDefaults
from bot.rendering import Renderer
from bot.replicas import Replicas
from storage.engine import SessionFactory

SERVICES_KEY = "services"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class FacilitatorIds:
    """Who may use the facilitator commands, kept in memory.

    Every message a person sends asks this (for /help and for a facilitator's pending
    broadcast text), so it must not cost a query. This process's /addfacilitator adds here
    after its commit; the table is read at start and, with two bot processes on PostgreSQL,
    again every few seconds (`bot/replicas.py`), so a promotion in one is seen in the other.
    """

    def __init__(self, configured: Iterable[int] = ()) -> None:
        self._configured = frozenset(configured)
        self._promoted: set[int] = set()

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._configured or user_id in self._promoted

    def load(self, promoted: Iterable[int]) -> None:
        self._promoted = set(promoted)

    def add(self, user_id: int) -> None:
        self._promoted.add(user_id)


V = TypeVar("V")


class Recent(Generic[V]):
    """Per person, the latest of something, in memory and bounded (the oldest is dropped).

    For conveniences that may be lost on a restart without losing anything that matters.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._values: dict[int, V] = {}

    def remember(self, user_id: int, value: V) -> None:
        self._values.pop(user_id, None)
        self._values[user_id] = value
        if len(self._values) > self.LIMIT:
            self._values.pop(next(iter(self._values)))

    def get(self, user_id: int) -> V | None:
        return self._values.get(user_id)

    def forget(self, user_id: int) -> None:
        self._values.pop(user_id, None)


@dataclass
class Services:
    settings: Settings
    catalogue: Catalogue
    renderer: Renderer
    clock: Clock = utc_now
    engine: AsyncEngine | None = None
    sessions: SessionFactory | None = field(default=None)
    # Created once the bot exists (post_init); None in desk commands.
    scheduler: Ticker | None = None
    facilitators: FacilitatorIds = field(init=False)
    # Leads in an open conversation with a participant: their typed words are relayed. Read
    # at start, kept up to date by the relay's handlers (and reread every few seconds with two
    # bot processes, as above).
    relay_leads: set[int] = field(default_factory=set)
    # The consent screen each person saw last, so a typed "yes" can answer it. In memory only:
    # nothing about a person is stored before they agree (lost on restart: then they tap).
    consent_offers: Recent[ConsentOffer] = field(default_factory=lambda: Recent())
    # The last message with buttons sent to each person: after a typed answer its buttons go,
    # so only the newest message has any.
    keyboards: Recent[int] = field(default_factory=lambda: Recent())
    # Updates taken from Telegram and not yet processed, kept in the database (bot/inbox.py).
    inbox: UpdateInbox = field(init=False)
    # This process among those sharing the database (bot/replicas.py); None before post_init.
    replicas: Replicas | None = None

    def __post_init__(self) -> None:
        self.facilitators = FacilitatorIds(self.settings.facilitator_ids)
        self.inbox = UpdateInbox(self.session_factory, lambda: self.clock())

    @property
    def workshop_defaults(self) -> WorkshopDefaults:
        settings = self.settings
        return WorkshopDefaults(
            organisation=settings.organisation_name,
            contact=settings.organisation_contact,
            privacy_url=settings.privacy_notice_url or None,
            country=settings.default_country,
        )

    @property
    def runs_scheduler(self) -> bool:
        """Whether this process runs the scheduler (always, with one process)."""
        return self.replicas is None or self.replicas.runs_scheduler

    async def may_poll(self) -> bool:
        """Whether this process may poll Telegram now (always, with one process)."""
        return self.replicas is None or await self.replicas.may_poll()

    def session_factory(self) -> SessionFactory:
        if self.sessions is None:
            raise RuntimeError("the database is not open yet (post_init has not run)")
        return self.sessions


def services_from(bot_data: dict[str, Any]) -> Services:
    services = bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    return services
