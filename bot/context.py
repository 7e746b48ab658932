"""The context every handler gets: python-telegram-bot's, with the bot's services typed.

`ContextTypes(context=BotContext)` is python-telegram-bot's documented way to customise the
context; handlers then read `context.services` instead of looking it up in `bot_data`.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import CallbackContext, ContextTypes, ExtBot

from bot.services import Services, services_from


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    @property
    def services(self) -> Services:
        return services_from(self.bot_data)


CONTEXT_TYPES = ContextTypes(context=BotContext)
