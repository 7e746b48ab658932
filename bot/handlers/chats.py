"""Buttons pressed outside a private chat: answered, and nothing else.

The bot's conversation is one to one. A button on a message forwarded into a group, or an
inline message (no chat at all), must not run the questionnaire there, where others would
read it, nor leave the presser with a spinning button.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext

log = logging.getLogger(__name__)


async def on_button_outside_private_chat(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    message = query.message
    if message is not None and message.chat.type == ChatType.PRIVATE:
        return  # the ordinary case: the next handler group takes it
    try:
        await query.answer()
    except TelegramError:
        log.info("could not answer a button pressed outside a private chat")
    log.info("ignored a button pressed outside a private chat")
    raise ApplicationHandlerStop
