"""`/quotes` and its approve / hide buttons: load, decide (bot.flows.quotes), store, reply."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.flows import quotes as flow
from bot.flows.positions import FREE_TEXT_QUESTIONS
from bot.flows.state import ButtonPress, Command
from bot.handlers.events import to_event
from bot.handlers.once import Decided, is_facilitator, language_for, run_once, show
from bot.handlers.participant import pseudonymous
from bot.participation import workshop_info
from bot.services import Services
from storage.models import Workshop
from storage.repositories import quotes, workshops

log = logging.getLogger(__name__)
BUTTON_PATTERN = r"^qa:"
QUOTABLE = tuple(question.value for question in FREE_TEXT_QUESTIONS)


async def _decide_and_store(
    services: Services,
    session: AsyncSession,
    event: Command | ButtonPress,
    user_id: int,
    telegram_language: str | None,
) -> Decided[flow.QuotesOutcome]:
    language = await language_for(services, session, user_id, telegram_language)
    allowed = is_facilitator(services, user_id)
    workshop: Workshop | None = None
    rows: tuple[quotes.QuoteRow, ...] = ()
    decided: quotes.QuoteRow | None = None
    if allowed and isinstance(event, Command):
        code = flow.code_in(event)
        workshop = (
            await workshops.get_by_code(session, code) if code else await workshops.latest(session)
        )
        if workshop is not None:
            rows = tuple(await quotes.candidates(session, workshop.id, QUOTABLE))
    elif allowed and isinstance(event, ButtonPress):
        pressed = flow.answer_in(event)
        if pressed is not None:
            answer_id, status = pressed
            workshop_id = await quotes.workshop_of_answer(session, answer_id)
            if workshop_id is not None:
                decided = await quotes.decide(session, workshop_id, answer_id, status, QUOTABLE)
    snapshot = flow.QuotesSnapshot(allowed, workshop_info(workshop) if workshop else None, rows)
    return Decided(flow.handle(snapshot, event, decided), language)


async def on_quotes_update(update: Update, context: BotContext) -> None:
    services = context.services
    event = to_event(update)
    user = update.effective_user
    if not isinstance(event, Command | ButtonPress) or user is None:
        return

    async def work(session: AsyncSession) -> Decided[flow.QuotesOutcome]:
        return await _decide_and_store(services, session, event, user.id, user.language_code)

    result = await run_once(services, update, work)
    if result is None:
        return
    outcome = result.outcome
    log.log(
        logging.WARNING if outcome.refused else logging.INFO,
        "quotes %s by user=%s",
        "refused" if outcome.refused else type(event).__name__,
        pseudonymous(user.id),
    )
    await show(context, update, result)
