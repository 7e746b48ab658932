"""The update queue: pushing updates, getUpdates long polling, and webhook settings."""

from __future__ import annotations

import copy
import time

from .errors import CONFLICT_OTHER_POLL, CONFLICT_WEBHOOK, ApiError
from .records import JSONDict, QueuedUpdate, UploadedFile
from .state import ServerState

__all__ = ["UpdateMethods"]

# Update types Telegram delivers when allowed_updates was never specified.
_DEFAULT_EXCLUDED_UPDATES = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


class UpdateMethods(ServerState):
    """How updates reach the bot: the queue tests push to, getUpdates and the webhook methods."""

    # ------------------------------------------------------------------ test controls

    def push_update(self, update: JSONDict) -> int:
        """Queue an update for getUpdates and return its update_id.

        A fresh increasing update_id is assigned unless the dict already carries one.
        """
        queued = copy.deepcopy(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
        self._next_update_id = max(self._next_update_id, int(queued["update_id"]) + 1)
        self._enqueue(queued, forced=False)
        return int(queued["update_id"])

    def push_raw(self, update: JSONDict) -> int:
        """Deliver this exact update again, even if its update_id was already confirmed.

        Simulates Telegram re-delivering an update (e.g. after a bot crash), which bots must
        tolerate. The update is handed out on the next getUpdates regardless of ``offset``.
        """
        queued = copy.deepcopy(update)
        if "update_id" not in queued:
            queued["update_id"] = self._next_update_id
            self._next_update_id += 1
        self._enqueue(queued, forced=True)
        return int(queued["update_id"])

    def confirm_pending(self) -> list[JSONDict]:
        """Hand out every pending update as a getUpdates the bot then confirmed would.

        What a bot that fetched them and died leaves: Telegram will not send them again.
        """
        taken = [item.update for item in self._updates if self._is_allowed(item)]
        self._updates = []
        self._signal_change()
        return taken

    def webhook_queue(self) -> list[QueuedUpdate]:
        """What Telegram would post to a webhook: every queued update of an allowed type, by id.

        :class:`~tests.fake_telegram.webhook_delivery.WebhookDelivery` posts them.
        """
        return self._deliverable(len(self._updates))

    def webhook_confirm(self, update_id: int) -> None:
        """The webhook answered 2xx: the update leaves the queue, as Telegram forgets it."""
        self._updates = [item for item in self._updates if item.update_id != update_id]
        self._last_activity = time.monotonic()
        self._signal_change()

    def _enqueue(self, update: JSONDict, *, forced: bool) -> None:
        callback = update.get("callback_query")
        if isinstance(callback, dict) and "id" in callback:
            self._callback_queries[str(callback["id"])] = callback
        self._updates.append(QueuedUpdate(update=update, forced=forced))
        self._signal_change()

    # ------------------------------------------------------------------ queue

    def _confirm(self, offset: int | None) -> None:
        if not offset:
            return
        if offset > 0:
            self._updates = [
                item
                for item in self._updates
                if item.update_id >= offset or (item.forced and not item.delivered)
            ]
        else:
            self._updates = self._updates[offset:]

    def _is_allowed(self, item: QueuedUpdate) -> bool:
        if self._allowed_updates:
            return item.kind in self._allowed_updates
        return item.kind not in _DEFAULT_EXCLUDED_UPDATES

    def _deliverable(self, limit: int) -> list[QueuedUpdate]:
        # Telegram never stores updates of types the bot did not ask for.
        kept = [item for item in self._updates if self._is_allowed(item)]
        if len(kept) != len(self._updates):
            self.dropped_updates += [i.update for i in self._updates if not self._is_allowed(i)]
            self._updates = kept
        # Sorted by id even with re-delivered (forced) updates in the queue: PTB confirms by
        # ``last update_id + 1``, so an unsorted batch would make it re-fetch newer updates.
        return sorted(self._updates, key=lambda item: item.update_id)[:limit]

    # ------------------------------------------------------------------ methods

    async def _get_updates(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.get("offset")
        limit = min(max(int(params.get("limit", 100) or 100), 1), 100)
        timeout = min(max(float(params.get("timeout", 0) or 0), 0.0), self.max_poll_timeout)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(kind) for kind in allowed] or None
        # A newer getUpdates terminates an older pending one, exactly like Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._confirm(offset if isinstance(offset, int) else None)
        deadline = time.monotonic() + timeout
        self._signal_change()  # lets an older pending poll notice it was superseded
        while True:
            if self._closing:
                return []
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_OTHER_POLL)
            batch = self._deliverable(limit)
            remaining = deadline - time.monotonic()
            if batch or remaining <= 0:
                break
            await self._wait_changed(remaining)
        for item in batch:
            item.delivered = True
            item.forced = False  # from now on it is confirmed by offset like any other update
        if batch:
            self._last_activity = time.monotonic()
        return [copy.deepcopy(item.update) for item in batch]

    async def _set_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        url = params.get("url", "")
        if url and not str(url).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = str(url)
        self.webhook_secret = str(params.get("secret_token") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates),
        }
