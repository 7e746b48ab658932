"""`/themes` and its approve / hide buttons: compute the groups, keep decisions, reply."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.flows import themes as flow
from bot.flows.state import ButtonPress, Command
from bot.handlers.events import to_event
from bot.handlers.once import Decided, is_facilitator, language_for, run_once, show
from bot.handlers.participant import pseudonymous
from bot.participation import workshop_info
from bot.report.run import ReportRequest, build_report
from bot.report.themes import computed_themes
from bot.services import Services
from storage.models import Workshop
from storage.repositories import themes, workshops

log = logging.getLogger(__name__)
BUTTON_PATTERN = r"^th:"


async def _compute(services: Services, event: Command) -> list[themes.ComputedTheme] | None:
    """The groups as the answers stand now, read and computed before the update's transaction
    (a big workshop takes seconds: nobody else's answer should wait behind it)."""
    code = flow.code_in(event)
    async with services.session_factory()() as session:
        workshop = (
            await workshops.get_by_code(session, code) if code else await workshops.latest(session)
        )
    if workshop is None:
        return None
    request = ReportRequest(workshop.code, "en", services.settings.min_group_size)
    report = await build_report(
        services.session_factory(), request, services.catalogue, clock=services.clock
    )
    return computed_themes(report)


async def _decide_and_store(
    services: Services,
    session: AsyncSession,
    event: Command | ButtonPress,
    user_id: int,
    telegram_language: str | None,
    computed: list[themes.ComputedTheme] | None,
) -> Decided[flow.ThemesOutcome]:
    language = await language_for(services, session, user_id, telegram_language)
    allowed = is_facilitator(services, user_id)
    workshop: Workshop | None = None
    rows: tuple[themes.ThemeRow, ...] = ()
    decided: themes.ThemeRow | None = None
    now = services.clock()
    if allowed and isinstance(event, Command):
        code = flow.code_in(event)
        workshop = (
            await workshops.get_by_code(session, code) if code else await workshops.latest(session)
        )
        if workshop is not None and computed is not None:
            rows = tuple(await themes.sync(session, workshop.id, computed, now))
    elif allowed and isinstance(event, ButtonPress):
        pressed = flow.decision_in(event)
        if pressed is not None:
            theme_id, status = pressed
            decided = await themes.decide(session, theme_id, status, user_id, now)
    snapshot = flow.ThemesSnapshot(
        allowed, language, workshop_info(workshop) if workshop else None, rows
    )
    return Decided(flow.handle(snapshot, event, decided), language)


async def on_themes_update(update: Update, context: BotContext) -> None:
    services = context.services
    event = to_event(update)
    user = update.effective_user
    if not isinstance(event, Command | ButtonPress) or user is None:
        return

    computed = None
    if isinstance(event, Command) and is_facilitator(services, user.id):
        computed = await _compute(services, event)

    async def work(session: AsyncSession) -> Decided[flow.ThemesOutcome]:
        return await _decide_and_store(
            services, session, event, user.id, user.language_code, computed
        )

    result = await run_once(services, update, work)
    if result is None:
        return
    outcome = result.outcome
    log.log(
        logging.WARNING if outcome.refused else logging.INFO,
        "themes %s by user=%s",
        "refused" if outcome.refused else type(event).__name__,
        pseudonymous(user.id),
    )
    await show(context, update, result)
