"""What tests read back: calls by method, waiting for outcomes, and the dump for failures."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Self, TypeVar

from .records import JSONDict, RecordedRequest
from .state import ServerState

__all__ = ["Inspection"]

T = TypeVar("T")


class Inspection(ServerState):
    """Queries over recorded calls and the waits tests use instead of sleeping."""

    def calls(self, method: str) -> list[RecordedRequest]:
        """Recorded requests of one method (case-insensitive)."""
        key = method.lower()
        return [req for req in self.requests if req.method.lower() == key]

    async def wait_for(
        self,
        predicate: Callable[[Self], T],
        timeout: float = 5.0,
        description: str | None = None,
    ) -> T:
        """Return ``predicate(server)`` as soon as it is truthy.

        The predicate is re-evaluated each time the server records something, so tests do not
        need sleeps. On timeout an :class:`AssertionError` shows what the bot did send.
        """
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = description or getattr(predicate, "__name__", "condition")
                raise AssertionError(
                    f"Timed out after {timeout}s waiting for {what}.\n{self.dump()}"
                )
            await self._wait_changed(remaining)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until every pushed update was fetched and the bot was silent for ``quiet`` s.

        Use it before asserting that nothing *more* was sent. It cannot see work the bot does
        without calling the API, so ``quiet`` must exceed the bot's longest silent processing.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            pending = len(self.pending_updates)
            silent_for = now - self._last_activity
            if pending == 0 and silent_for >= quiet:
                return
            if now >= deadline:
                raise AssertionError(
                    f"Bot not idle after {timeout}s ({pending} updates not fetched, last "
                    f"activity {silent_for:.2f}s ago).\n{self.dump()}"
                )
            wait = deadline - now if pending else min(quiet - silent_for, deadline - now)
            await self._wait_changed(wait)

    def dump(self, last: int = 10) -> str:
        """Readable summary of recent messages and calls, for assertion messages."""
        lines = [f"Last {last} of {len(self.messages)} bot messages:"]
        lines += [f"  {message.describe()}" for message in self.messages[-last:]] or ["  (none)"]
        calls = [req for req in self.requests if req.method != "getUpdates"][-last:]
        lines.append(f"Last {len(calls)} API calls (getUpdates omitted):")
        for req in calls:
            error = ""
            if req.response is not None and not req.response.get("ok"):
                error = f" -> {req.response.get('description')}"
            lines.append(f"  {req.method} {req.status} {_short(req.params)}{error}")
        lines.append(f"Pending updates: {len(self.pending_updates)}")
        return "\n".join(lines)


def _short(params: JSONDict, width: int = 160) -> str:
    text = json.dumps(params, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."
