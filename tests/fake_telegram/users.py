"""Simulated Telegram users that talk to the bot through a :class:`FakeBotApi`.

A :class:`FakeUser` builds updates exactly as Telegram would deliver them (private chat whose
id equals the user id, per-chat message ids, ``bot_command`` entities, callback queries that
carry the *current* state of the pressed message) so handlers see realistic input, and it
offers a per-user reading cursor so a test reads the conversation in order without sleeps.
"""

from __future__ import annotations

import time
from typing import Any

from ._html import utf16_len
from .records import BotMessage, iter_inline_buttons
from .server import FakeBotApi

__all__ = ["FakeUser"]

JSONDict = dict[str, Any]

_FAKE_OGG = b"OggS\x00\x02" + b"\x00" * 20 + b"OpusHead"
_FAKE_JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32 + b"\xff\xd9"
_FAKE_PDF = b"%PDF-1.4\n% fake test document\n%%EOF\n"


class FakeUser:
    """A person chatting privately with the bot (chat id == user id)."""

    def __init__(
        self,
        server: FakeBotApi,
        user_id: int,
        first_name: str = "Ana",
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> None:
        self.server = server
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.last_name = last_name
        self.username = username
        self._cursor = 0
        # Text of each message when the test read (or skipped) it: wait_for_text can then find
        # an already-read message whose *text* was later edited to contain the awaited words,
        # while keyboard-only edits (e.g. removing the buttons of a past question) are ignored.
        self._seen_text: dict[int, str | None] = {}
        server.register_user(self.user)

    def __repr__(self) -> str:
        return f"FakeUser({self.user_id}, {self.first_name!r})"

    # ------------------------------------------------------------------ identity

    @property
    def chat_id(self) -> int:
        return self.user_id

    @property
    def user(self) -> JSONDict:
        """The Telegram User object of this person."""
        user: JSONDict = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat(self) -> JSONDict:
        return self.server.chat_for(self.user_id)

    # ------------------------------------------------------------------ sending

    def _message(self, **content: Any) -> JSONDict:
        return {
            "message_id": self.server.next_message_id(self.chat_id),
            "from": self.user,
            "chat": self.chat,
            "date": int(time.time()),
            **content,
        }

    def _push(self, update: JSONDict) -> JSONDict:
        update["update_id"] = self.server.push_update(update)
        return update

    def _push_message(self, **content: Any) -> JSONDict:
        return self._push({"message": self._message(**content)})

    def send_text(self, text: str) -> JSONDict:
        """Send a text; a leading ``/command`` gets its entity as Telegram would add it."""
        content: JSONDict = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            if len(command) > 1:
                content["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
                ]
        return self._push_message(**content)

    def send_command(self, command: str, *args: str) -> JSONDict:
        """Send ``/command arg1 arg2`` (a leading slash in ``command`` is optional)."""
        name = command if command.startswith("/") else f"/{command}"
        text = " ".join([name, *args])
        entities = [{"type": "bot_command", "offset": 0, "length": utf16_len(name)}]
        return self._push_message(text=text, entities=entities)

    def send_voice(self, duration: int = 3, data: bytes = _FAKE_OGG) -> JSONDict:
        """Send a voice note whose bytes the bot can fetch with getFile + download."""
        stored = self.server.register_file(
            data, kind="voice", extension="oga", mime_type="audio/ogg"
        )
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.file_size,
        }
        return self._push_message(voice=voice)

    def send_sticker(self, emoji: str = "👍") -> JSONDict:
        stored = self.server.register_file(
            b"RIFF\x00\x00\x00\x00WEBPVP8 ", kind="stickers", extension="webp"
        )
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": stored.file_size,
        }
        return self._push_message(sticker=sticker)

    def send_photo(self, data: bytes = _FAKE_JPEG, caption: str | None = None) -> JSONDict:
        stored = self.server.register_file(
            data, kind="photos", extension="jpg", mime_type="image/jpeg"
        )
        sizes: list[JSONDict] = [
            {
                "file_id": f"{stored.file_id}-{width}",
                "file_unique_id": f"{stored.file_unique_id}{width}",
                "width": width,
                "height": width * 3 // 4,
                "file_size": stored.file_size,
            }
            for width in (90, 320)
        ]
        # Every size resolves to the same bytes, so the bot may download whichever it picks.
        for size in sizes:
            self.server.files[str(size["file_id"])] = stored
        content: JSONDict = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return self._push_message(**content)

    def send_document(
        self,
        filename: str = "a.pdf",
        data: bytes = _FAKE_PDF,
        mime_type: str = "application/pdf",
        caption: str | None = None,
    ) -> JSONDict:
        extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
        stored = self.server.register_file(
            data, kind="documents", extension=extension, mime_type=mime_type, file_name=filename
        )
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": stored.file_size,
        }
        content: JSONDict = {"document": document}
        if caption:
            content["caption"] = caption
        return self._push_message(**content)

    def send_location(self, latitude: float = 41.3874, longitude: float = 2.1686) -> JSONDict:
        return self._push_message(location={"latitude": latitude, "longitude": longitude})

    def edit_text(self, update: JSONDict, new_text: str) -> JSONDict:
        """Push an ``edited_message`` for a text this user sent earlier."""
        message = dict(update["message"])
        message["text"] = new_text
        message.pop("entities", None)
        message["edit_date"] = int(time.time())
        return self._push({"edited_message": message})

    def resend(self, update: JSONDict) -> JSONDict:
        """Deliver the very same update (same update_id) again, as Telegram sometimes does."""
        self.server.push_raw(update)
        return update

    def block_bot(self) -> JSONDict:
        """Block the bot: sends now fail with 403 and a ``my_chat_member`` update arrives."""
        self.server.block(self.user_id)
        return self._push(self._member_update("member", "kicked"))

    def unblock_bot(self) -> JSONDict:
        self.server.unblock(self.user_id)
        return self._push(self._member_update("kicked", "member"))

    def _member_update(self, old: str, new: str) -> JSONDict:
        bot = self.server.bot_user
        return {
            "my_chat_member": {
                "chat": self.chat,
                "from": self.user,
                "date": int(time.time()),
                "old_chat_member": {"status": old, "user": bot},
                "new_chat_member": {"status": new, "user": bot, "until_date": 0}
                if new == "kicked"
                else {"status": new, "user": bot},
            }
        }

    # ------------------------------------------------------------------ buttons

    def _button_candidates(self, message: BotMessage | None) -> list[BotMessage]:
        if message is not None:
            return [message]
        return [msg for msg in reversed(self.inbox) if not msg.deleted and msg.buttons]

    def press(self, label: str, message: BotMessage | None = None) -> JSONDict:
        """Press the inline button labelled ``label`` on the newest message that has it.

        Exact text matches win over case-insensitive substring matches, searching from the
        newest message backwards, like a user tapping the button they just saw.
        """
        candidates = self._button_candidates(message)
        matchers = (
            lambda text: text == label,
            lambda text: label.casefold() in text.casefold(),
        )
        for matches in matchers:
            for candidate in candidates:
                for button in iter_inline_buttons(candidate.reply_markup):
                    if not matches(str(button.get("text", ""))):
                        continue
                    data = button.get("callback_data")
                    if data is None:
                        raise AssertionError(
                            f"Button {button.get('text')!r} on message "
                            f"#{candidate.message_id} has no callback_data (it is {button})"
                        )
                    return self.press_data(str(data), candidate)
        available = [
            f"#{msg.message_id}: {msg.button_texts}"
            for msg in (candidates or [m for m in self.inbox if m.buttons])
        ]
        raise AssertionError(
            f"{self!r}: no inline button matching {label!r}. Available buttons: "
            f"{available or 'none'}\n{self.server.dump()}"
        )

    def press_data(self, data: str, message: BotMessage | None = None) -> JSONDict:
        """Push a callback query with arbitrary ``data`` (stale or forged buttons).

        Without ``message`` the newest non-deleted bot message in this chat is used.
        """
        if message is None:
            alive = [msg for msg in self.inbox if not msg.deleted]
            if not alive:
                raise AssertionError(f"{self!r} has no bot message to attach a callback to")
            message = alive[-1]
        callback = {
            "id": self.server.new_callback_query_id(),
            "from": self.user,
            "message": self.server.message_dict(message),
            "chat_instance": str(-(self.user_id * 7 + 13)),
            "data": data,
        }
        return self._push({"callback_query": callback})

    # ------------------------------------------------------------------ reading

    @property
    def inbox(self) -> list[BotMessage]:
        """Everything the bot sent to this chat, in order (deleted ones flagged)."""
        return self.server.messages_to(self.chat_id)

    @property
    def last_message(self) -> BotMessage | None:
        inbox = self.inbox
        return inbox[-1] if inbox else None

    @property
    def unread(self) -> list[BotMessage]:
        """Messages after the reading cursor."""
        return self.inbox[self._cursor :]

    def _advance(self, inbox: list[BotMessage], index: int) -> None:
        """Move the cursor past ``inbox[index]``, marking everything skipped as read."""
        for message in inbox[self._cursor : index + 1]:
            self._seen_text[message.message_id] = message.text
        self._cursor = max(self._cursor, index + 1)

    async def next_message(self, timeout: float = 5.0) -> BotMessage:
        """The next message after the cursor, waiting for it if needed."""

        def arrived(server: FakeBotApi) -> bool:
            return len(server.messages_to(self.chat_id)) > self._cursor

        await self.server.wait_for(
            arrived, timeout, description=f"a new message to {self!r} (read {self._cursor})"
        )
        inbox = self.inbox
        message = inbox[self._cursor]
        self._advance(inbox, self._cursor)
        return message

    def _find_text(self, substring: str) -> tuple[int, BotMessage] | None:
        """The match whose text appeared earliest, among unread and newly edited messages."""
        best: tuple[int, int, BotMessage] | None = None
        for index, message in enumerate(self.inbox):
            if message.text is None or substring not in message.text:
                continue
            if index < self._cursor and substring in (
                self._seen_text.get(message.message_id) or ""
            ):
                continue  # already read with this text; only a text edit would make it new
            if best is None or message.text_seq < best[0]:
                best = (message.text_seq, index, message)
        return None if best is None else (best[1], best[2])

    async def wait_for_text(self, substring: str, timeout: float = 5.0) -> BotMessage:
        """Wait for a new or newly edited message containing ``substring`` and return it.

        Looks after the cursor, and also at older messages edited since they were read; the
        cursor then moves past the returned message.
        """
        found = await self.server.wait_for(
            lambda _server: self._find_text(substring),
            timeout,
            description=f"a message to {self!r} containing {substring!r}",
        )
        assert found is not None  # wait_for only returns truthy results
        index, message = found
        self._seen_text[message.message_id] = message.text
        if index >= self._cursor:
            self._advance(self.inbox, index)
        return message
