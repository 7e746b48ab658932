"""Render view models and send them to Telegram, for the handlers and the scheduler alike.

It sits below both, so neither imports upwards. A few places still call the Bot directly for
what this module does not do: the outbox (its own retry and delivery bookkeeping), the
scheduler's progress edit and missed-job notice, the error reply and the /stats chart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError

from bot.flows.views import Part, View
from bot.rendering import MAX_CAPTION_CHARS, RenderedMessage, Renderer, truncate

log = logging.getLogger(__name__)


def keyboard(message: RenderedMessage) -> InlineKeyboardMarkup | None:
    if not message.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(label, callback_data=data) for label, data in row]
            for row in message.buttons
        ]
    )


async def send_view(
    bot: Bot, chat_id: int, view: View, language: str, renderer: Renderer
) -> list[int]:
    """Send one view (split into several messages if long); returns the message ids."""
    sent: list[int] = []
    for message in renderer.view(view, language):
        if not message.text and not message.buttons:
            continue
        result = await bot.send_message(
            chat_id, message.text, parse_mode=ParseMode.HTML, reply_markup=keyboard(message)
        )
        sent.append(result.message_id)
    if view.document is not None:
        caption = (
            truncate(renderer.part(view.document.caption, language), MAX_CAPTION_CHARS)
            if view.document.caption
            else None
        )
        result = await bot.send_document(
            chat_id,
            document=InputFile(view.document.content, filename=view.document.filename),
            caption=caption,
            parse_mode=ParseMode.HTML,
        )
        sent.append(result.message_id)
    return sent


async def replace_message(
    query: CallbackQuery, view: View, language: str, renderer: Renderer
) -> bool:
    """Edit the pressed message in place; False if it cannot be (then send a new one)."""
    rendered = renderer.view(view, language)
    if len(rendered) != 1 or view.document is not None:
        return False
    try:
        await query.edit_message_text(
            rendered[0].text, parse_mode=ParseMode.HTML, reply_markup=keyboard(rendered[0])
        )
    except BadRequest as error:
        if "not modified" in str(error).lower():
            return True
        log.info("could not edit message: %s", error)
        return False
    return True


async def clear_keyboard(query: CallbackQuery) -> None:
    """The question was answered: remove its buttons so they cannot be pressed again."""
    try:
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        log.debug("keyboard already gone: %s", error)


async def deliver(
    bot: Bot,
    update: Update,
    renderer: Renderer,
    *,
    language: str,
    views: Sequence[View],
    toast: Part | None = None,
    replace_origin: bool = False,
    clear_origin_keyboard: bool = False,
) -> int | None:
    """Answer the button press (if any), then show the views in order. Returns the id of the
    last message sent with buttons, if any."""
    query = update.callback_query
    remaining = list(views)
    if query is not None:
        await query.answer(text=renderer.plain(toast, language) if toast else None)
        if replace_origin and remaining and query.message is not None:
            if await replace_message(query, remaining[0], language, renderer):
                remaining = remaining[1:]
        elif clear_origin_keyboard and query.message is not None:
            await clear_keyboard(query)
    chat = update.effective_chat
    if chat is None:
        return None
    with_buttons: int | None = None
    for view in remaining:
        sent = await send_view(bot, chat.id, view, language, renderer)
        if view.keyboard and sent:
            with_buttons = sent[-1] if view.document is None else sent[-2]
    return with_buttons


async def remove_keyboard(bot: Bot, chat_id: int, message_id: int) -> None:
    """Take the buttons off an earlier message (it may be gone or already bare: fine)."""
    try:
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except TelegramError as error:
        log.debug("no keyboard to remove: %s", error)
