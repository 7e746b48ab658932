"""Last line of defence: log the failure (without message text) and tell the person.

A failed update goes no further: handlers in later groups are skipped. The likeliest failure is
the database being unreachable for a moment, which every group would hit again (the person
would be told twice), and a later group must not take an update an earlier one could not
decide on (a facilitator's broadcast text is not a participant's answer).
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot.flows.participant import pick_language
from bot.services import services_from

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return  # a job's error: logged is all
    if update.effective_chat is None:
        raise ApplicationHandlerStop
    services = services_from(context.bot_data)
    user = update.effective_user
    language = pick_language(
        None, user.language_code if user else None, services.renderer.translator.languages
    )
    text = services.renderer.translator.get(language, "error.try_again")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML)
    except TelegramError:
        log.warning("could not tell the person about the error", exc_info=True)
    raise ApplicationHandlerStop
