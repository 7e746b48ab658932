"""Translate a Telegram Update into the flow's input event (and nothing more)."""

from __future__ import annotations

from datetime import timedelta

from telegram import Message, Update

from bot.flows import facilitator, quotes, workshop_safety
from bot.flows.callbacks import decode
from bot.flows.screens import PARTICIPANT_COMMANDS
from bot.flows.state import (
    ButtonPress,
    Command,
    EditedText,
    Event,
    OtherInput,
    TextInput,
    VoiceInput,
)

_KNOWN_COMMANDS = frozenset(
    (
        *PARTICIPANT_COMMANDS,
        *facilitator.FACILITATOR_HELP_COMMANDS,
        quotes.COMMAND,
        workshop_safety.COMMAND,
        "cancel",
        "endchat",
    )
)

_OTHER_KINDS = (
    "sticker",
    "photo",
    "document",
    "video",
    "video_note",
    "animation",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


def _seconds(value: int | timedelta) -> int:
    return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)


def _message_event(message: Message) -> Event:
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            head, *args = text.split()
            name = head[1:].split("@", 1)[0].lower()
            return Command(name, tuple(args))
        return TextInput(text, message.message_id)
    if message.voice is not None:
        return VoiceInput(message.voice.file_id, _seconds(message.voice.duration))
    if message.audio is not None:
        return VoiceInput(message.audio.file_id, _seconds(message.audio.duration))
    for kind in _OTHER_KINDS:
        if getattr(message, kind, None):
            return OtherInput(kind)
    return OtherInput("unknown")


def to_event(update: Update) -> Event | None:
    if update.callback_query is not None:
        return ButtonPress(update.callback_query.data or "")
    if update.message is not None:
        return _message_event(update.message)
    if update.edited_message is not None:
        edited = update.edited_message
        return EditedText(edited.text or "", edited.message_id)
    return None


def event_kind(event: Event) -> str:
    """A label for logs that never carries what the person wrote.

    Command names and button verbs are typed or forged by people, so only known ones are
    named: anything else could put their words, or a forged log line, into the log.
    """
    if isinstance(event, Command):
        known = event.name in _KNOWN_COMMANDS
        return f"command:{event.name}" if known else "command:unknown"
    if isinstance(event, ButtonPress):
        verb = decode(event.data)
        return f"button:{verb.verb.value}" if verb is not None else "button:unknown"
    if isinstance(event, OtherInput):
        return f"other:{event.kind}"
    return type(event).__name__.removesuffix("Input").lower()
