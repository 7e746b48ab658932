"""The one handler for everything a participant sends: messages, commands and buttons.

It opens one transaction per update, skips updates already processed (Telegram re-delivers
after a crash), lets the flow decide, stores the changes, and only then replies.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy.exc import IntegrityError
from telegram import Update
from telegram.ext import ContextTypes

from bot import participation
from bot.flows import mydata
from bot.flows import participant as flow
from bot.flows.state import Action, Outcome
from bot.flows.views import View
from bot.handlers.events import event_kind, to_event
from bot.handlers.sending import clear_keyboard, replace_message, send_view
from bot.services import services_from
from storage.models import ProcessedUpdate
from storage.repositories import people, updates

log = logging.getLogger(__name__)


def pseudonymous(user_id: int) -> str:
    """A stable tag for logs that is not the Telegram id."""
    return hashlib.sha256(f"codesign:{user_id}".encode()).hexdigest()[:10]


async def on_participant_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    services = services_from(context.bot_data)
    event = to_event(update)
    user = update.effective_user
    chat = update.effective_chat
    if event is None or user is None or chat is None:
        return
    now = services.clock()
    sessions = services.session_factory()
    outcome: Outcome | None = None
    extra_views: list[View] = []
    try:
        async with sessions() as session, session.begin():
            if await updates.claim(session, update.update_id, now):
                loaded = await participation.load(
                    session,
                    user_id=user.id,
                    telegram_language=user.language_code,
                    event=event,
                    languages=services.renderer.translator.languages,
                )
                outcome = flow.handle(loaded.snapshot, event)
                await participation.apply(
                    session, loaded, user_id=user.id, changes=outcome.changes, now=now
                )
                if Action.SEND_MY_DATA in outcome.actions:
                    data = await people.describe_person(session, user.id)
                    extra_views = mydata.views(data, services.catalogue)
    except IntegrityError:
        async with sessions() as session:
            if await session.get(ProcessedUpdate, update.update_id) is None:
                raise
        outcome = None
    if outcome is None:
        log.info("duplicate update %s ignored", update.update_id)
        if update.callback_query is not None:
            await update.callback_query.answer()
        return
    log.info(
        "handled update=%s user=%s input=%s changes=%s",
        update.update_id,
        pseudonymous(user.id),
        event_kind(event),
        ",".join(type(change).__name__ for change in outcome.changes) or "-",
    )
    await deliver(update, context, outcome, [*outcome.views, *extra_views])


async def deliver(
    update: Update, context: ContextTypes.DEFAULT_TYPE, outcome: Outcome, views: list[View]
) -> None:
    renderer = services_from(context.bot_data).renderer
    language = outcome.language
    query = update.callback_query
    if query is not None:
        toast = renderer.plain(outcome.toast, language) if outcome.toast else None
        await query.answer(text=toast)
        if outcome.replace_origin and views and query.message is not None:
            if await replace_message(query, views[0], language, renderer):
                views = views[1:]
        elif outcome.clear_origin_keyboard and query.message is not None:
            await clear_keyboard(query)
    chat = update.effective_chat
    assert chat is not None
    for view in views:
        await send_view(context.bot, chat.id, view, language, renderer)
