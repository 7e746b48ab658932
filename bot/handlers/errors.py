"""Last line of defence: log the failure (without message text) and tell the person."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.flows.participant import choose_language
from bot.flows.state import Snapshot
from bot.services import services_from

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    services = services_from(context.bot_data)
    user = update.effective_user
    language = choose_language(
        Snapshot(
            telegram_language=user.language_code if user else None,
            person_language=None,
            participant=None,
            available_languages=services.renderer.translator.languages,
        )
    )
    text = services.renderer.translator.get(language, "error.try_again")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML)
    except TelegramError:
        log.warning("could not tell the person about the error", exc_info=True)
