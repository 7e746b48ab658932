"""What the background work needs of the running bot, as protocols.

The scheduler, the safeguarding alerts and retention need the settings, the texts, the
clock and the database, not the whole `Services` (which also holds in-memory state for the
conversation: consent screens, keyboards, the inbox). Typing them against `Core` says so,
and lets `Services` refer to the scheduler as a `Ticker` without importing it (no cycle).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from bot.config import Settings
from bot.flows.catalogue import Catalogue
from bot.rendering import Renderer
from storage.engine import SessionFactory


class Core(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def catalogue(self) -> Catalogue: ...

    @property
    def renderer(self) -> Renderer: ...

    @property
    def clock(self) -> Callable[[], datetime]: ...

    def session_factory(self) -> SessionFactory: ...


class Ticker(Protocol):
    """The scheduler as the handlers see it: "do what is due now"."""

    async def tick(self) -> list[int]: ...
