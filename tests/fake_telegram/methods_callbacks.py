"""Callback query methods: answerCallbackQuery and the ids of queries left unanswered."""

from __future__ import annotations

from .errors import ApiError
from .records import CallbackAnswer, JSONDict, UploadedFile
from .state import ServerState

__all__ = ["CallbackMethods"]


class CallbackMethods(ServerState):
    """Callback queries pressed by users, and the bot's answers to them."""

    def new_callback_query_id(self) -> str:
        return f"{next(self._counter) * 7919 + 4_000_000_000_000_000}"

    def unanswered_callback_queries(self) -> list[str]:
        """Callback query ids pushed but never answered (Telegram shows a spinner for those)."""
        answered = {answer.callback_query_id for answer in self.callback_answers}
        return [query_id for query_id in self._callback_queries if query_id not in answered]

    async def _answer_callback_query(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._callback_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers.append(
            CallbackAnswer(query_id, text, bool(params.get("show_alert", False)))
        )
        return True
