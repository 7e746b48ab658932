"""Last line of defence: log the failure (without message text) and tell the person.

A failed update goes no further: handlers in later groups are skipped. The likeliest failure is
the database being unreachable for a moment, which every group would hit again (the person
would be told twice), and a later group must not take an update an earlier one could not
decide on (a facilitator's broadcast text is not a participant's answer).
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.context import BotContext
from bot.flows.participant import pick_language
from bot.handlers.participant import pseudonymous
from storage.repositories import people

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    if isinstance(context.error, Forbidden):
        # They blocked the bot while we answered: expected, and nothing to tell them.
        await _mark_unreachable(update, context)
        raise ApplicationHandlerStop
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return  # a job's error: logged is all
    if update.effective_chat is None:
        raise ApplicationHandlerStop
    services = context.services
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


async def _mark_unreachable(update: object, context: BotContext) -> None:
    """No more scheduled sends to them until they write again (which clears the mark)."""
    user = update.effective_user if isinstance(update, Update) else None
    if user is None:
        return
    services = context.services
    try:
        async with services.session_factory()() as session, session.begin():
            await people.mark_unreachable(session, user.id)
    except SQLAlchemyError:
        log.warning("could not mark a person unreachable", exc_info=True)
    log.info("user=%s has blocked the bot: marked unreachable", pseudonymous(user.id))
