"""Message methods: sendMessage, the three edits, deletions and sendChatAction."""

from __future__ import annotations

import copy
import time

from .errors import NOT_MODIFIED, ApiError
from .records import BotMessage, JSONDict, StoredFile, UploadedFile
from .state import ServerState
from .validation import caption, checked_markup, message_text

__all__ = ["MessageMethods"]

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


class MessageMethods(ServerState):
    """Sending, editing and deleting the bot's messages, recorded as :class:`BotMessage`."""

    def message_dict(self, message: BotMessage) -> JSONDict:
        """``message`` as a Telegram Message object (what callback queries carry)."""
        result: JSONDict = {
            "message_id": message.message_id,
            "from": self.bot_user,
            "chat": self.chat_for(message.chat_id),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.method == "sendMessage":
            result["text"] = message.text or ""
            if message.entities:
                result["entities"] = copy.deepcopy(message.entities)
        else:
            if message.text:
                result["caption"] = message.text
                if message.entities:
                    result["caption_entities"] = copy.deepcopy(message.entities)
            stored = message.file
            if stored is not None and message.method == "sendPhoto":
                result["photo"] = [
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "width": 320,
                        "height": 240,
                        "file_size": stored.file_size,
                    }
                ]
            elif stored is not None:
                document: JSONDict = {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size,
                }
                if stored.file_name:
                    document["file_name"] = stored.file_name
                if stored.mime_type:
                    document["mime_type"] = stored.mime_type
                result["document"] = document
        if message.reply_markup and message.reply_markup.get("inline_keyboard"):
            result["reply_markup"] = copy.deepcopy(message.reply_markup)
        return result

    # ------------------------------------------------------------------ recording

    def _record_message(
        self,
        *,
        method: str,
        chat_id: int,
        params: JSONDict,
        text: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
        document: UploadedFile | None = None,
        photo: bytes | None = None,
        stored: StoredFile | None = None,
    ) -> BotMessage:
        message = BotMessage(
            chat_id=chat_id,
            message_id=self.next_message_id(chat_id),
            method=method,
            text=text,
            raw_text=params.get("text") if method == "sendMessage" else params.get("caption"),
            reply_markup=markup,
            parse_mode=params.get("parse_mode"),
            document=document,
            photo=photo,
            entities=entities,
            date=int(time.time()),
            time=time.monotonic(),
            params=params,
            file=stored,
            seq=next(self._seq),
        )
        message.text_seq = message.seq
        self.messages.append(message)
        return message

    def _target(self, params: JSONDict, action: str) -> BotMessage:
        chat_id = self._chat_id(params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self.find_message(chat_id, message_id)
        if message is None or message.deleted:
            raise ApiError(400, f"Bad Request: message to {action} not found")
        return message

    def _apply_edit(
        self,
        message: BotMessage,
        *,
        text: str | None,
        raw_text: str | None,
        entities: list[JSONDict],
        markup: JSONDict | None,
        parse_mode: str | None,
    ) -> JSONDict:
        if (
            text == message.text
            and entities == message.entities
            and markup == message.reply_markup
        ):
            raise ApiError(400, NOT_MODIFIED)
        message.edits.append(message.snapshot())
        message.seq = next(self._seq)
        if text != message.text:
            message.text_seq = message.seq
        message.text = text
        message.raw_text = raw_text
        message.entities = entities
        message.reply_markup = markup
        message.parse_mode = parse_mode
        message.edit_date = int(time.time())
        return self.message_dict(message)

    # ------------------------------------------------------------------ methods

    async def _send_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> JSONDict:
        chat_id = self._chat_id(params)
        _, text, entities = message_text(params, too_long="message is too long")
        markup = checked_markup(params.get("reply_markup"))
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and not reply.get("allow_sending_without_reply"):
            reply_to = reply.get("message_id")
            if not isinstance(reply_to, int) or reply_to > self._message_ids.get(chat_id, 0):
                raise ApiError(400, "Bad Request: message to be replied not found")
        message = self._record_message(
            method="sendMessage",
            chat_id=chat_id,
            params=params,
            text=text,
            entities=entities,
            markup=markup,
        )
        return self.message_dict(message)

    async def _edit_message_text(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        message = self._target(params, "edit")
        if message.method != "sendMessage":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        raw, text, entities = message_text(params, too_long="MESSAGE_TOO_LONG")
        # Like Telegram: an edit without reply_markup removes the inline keyboard.
        markup = checked_markup(params.get("reply_markup"))
        return self._apply_edit(
            message,
            text=text,
            raw_text=raw,
            entities=entities,
            markup=markup,
            parse_mode=params.get("parse_mode"),
        )

    async def _edit_message_caption(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        message = self._target(params, "edit")
        if message.method == "sendMessage":
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        text, entities = caption(params)
        return self._apply_edit(
            message,
            text=text,
            raw_text=params.get("caption"),
            entities=entities,
            markup=checked_markup(params.get("reply_markup")),
            parse_mode=params.get("parse_mode"),
        )

    async def _edit_message_reply_markup(
        self, params: JSONDict, files: dict[str, UploadedFile]
    ) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        message = self._target(params, "edit")
        return self._apply_edit(
            message,
            text=message.text,
            raw_text=message.raw_text,
            entities=message.entities,
            markup=checked_markup(params.get("reply_markup")),
            parse_mode=message.parse_mode,
        )

    async def _delete_message(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        message = self._target(params, "delete")
        message.deleted = True
        message.seq = next(self._seq)
        return True

    async def _delete_messages(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._chat_id(params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise ApiError(400, "Bad Request: message identifiers are not specified")
        for message_id in ids:
            message = self.find_message(chat_id, int(message_id))
            if message is not None:
                message.deleted = True
                message.seq = next(self._seq)
        return True

    async def _send_chat_action(self, params: JSONDict, files: dict[str, UploadedFile]) -> bool:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        self.chat_actions.append((chat_id, str(action)))
        return True
