"""Fault injection: queued errors, blocked chats and flood control, applied before handlers."""

from __future__ import annotations

import time
from collections import deque

from .errors import BLOCKED, ApiError, default_description
from .records import Failure, JSONDict
from .state import ServerState

__all__ = ["Faults"]


class Faults(ServerState):
    """Errors tests arrange in advance; :meth:`_inject_faults` raises them on the right call."""

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """Make the next ``count`` calls of ``method`` fail with this error.

        A 429 always carries ``parameters.retry_after`` (default 1) because that is what PTB
        turns into :class:`telegram.error.RetryAfter`.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        text = description or default_description(error_code, retry_after)
        queue = self._failures.setdefault(method.lower(), deque())
        for _ in range(count):
            queue.append(Failure(error_code, text, retry_after))

    def block(self, chat_id: int) -> None:
        """Every send/edit to ``chat_id`` now answers 403 "bot was blocked by the user"."""
        self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self._blocked.discard(chat_id)

    def is_blocked(self, chat_id: int) -> bool:
        return chat_id in self._blocked

    def rate_limit(self, per_second: float | None) -> None:
        """Global flood control on ``send*`` calls (sliding one-second window); None disables."""
        self._rate_per_second = per_second
        self._send_times.clear()

    def _inject_faults(self, key: str, params: JSONDict) -> None:
        """Raise the error a test arranged for this call of method ``key`` (lower case), if any."""
        failures = self._failures.get(key)
        if failures:
            failure = failures.popleft()
            parameters = {"retry_after": failure.retry_after} if failure.retry_after else None
            raise ApiError(failure.error_code, failure.description, parameters)
        is_send = key.startswith("send")
        chat_id = params.get("chat_id")
        if (
            isinstance(chat_id, int)
            and chat_id in self._blocked
            and key.startswith(("send", "edit", "copy", "forward"))
        ):
            raise ApiError(403, BLOCKED)
        if is_send and self._rate_per_second is not None:
            now = time.monotonic()
            while self._send_times and now - self._send_times[0] >= 1.0:
                self._send_times.popleft()
            if len(self._send_times) >= self._rate_per_second:
                raise ApiError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self._send_times.append(now)
