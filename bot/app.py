"""The application factory: production and tests build the very same Application.

Tests only swap where it talks to (`base_url`) and the clock.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from telegram import BotCommand
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.aiohttp_request import AiohttpRequest
from bot.config import Settings
from bot.context import CONTEXT_TYPES, BotContext
from bot.flows import facilitator, quotes, themes, workshop_safety
from bot.flows.catalogue import load_catalogue
from bot.flows.safeguarding.detector import warm_up
from bot.flows.screens import PARTICIPANT_COMMANDS
from bot.flows.views import Msg
from bot.handlers.chats import on_button_outside_private_chat
from bot.handlers.errors import on_error
from bot.handlers.facilitator import on_facilitator_update
from bot.handlers.participant import on_participant_update
from bot.handlers.quotes import BUTTON_PATTERN as QUOTE_BUTTONS
from bot.handlers.quotes import on_quotes_update
from bot.handlers.safeguarding import BUTTON_PATTERN as ALERT_BUTTONS
from bot.handlers.safeguarding import on_alert_button, on_lead_message
from bot.handlers.themes import BUTTON_PATTERN as THEME_BUTTONS
from bot.handlers.themes import on_themes_update
from bot.handlers.timeline_commands import BUTTON_PATTERN as SCHEDULE_BUTTONS
from bot.handlers.timeline_commands import COMMANDS as SCHEDULE_COMMANDS
from bot.handlers.timeline_commands import on_pending_input, on_schedule_update
from bot.handlers.workshop_safety import on_safety_command
from bot.rendering import Renderer
from bot.replicas import Replicas
from bot.scheduling.scheduler import Scheduler
from bot.services import SERVICES_KEY, Clock, Services, services_from, utc_now
from bot.tolerant_bot import TolerantBot
from bot.update_processor import PerUserUpdateProcessor
from locales import Translator
from storage.engine import create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from storage.repositories import safeguarding, updates, workshops
from storage.repositories.facilitators import promoted_ids

log = logging.getLogger(__name__)
DEFAULT_SCOPE = "headline"
# Telegram keeps an undelivered update for 24 hours; twice that is a safe memory of ids.
PROCESSED_UPDATE_RETENTION = timedelta(hours=48)


def file_url_for(base_url: str) -> str:
    """`https://api.telegram.org/bot` → `https://api.telegram.org/file/bot`."""
    root = base_url.rstrip("/").removesuffix("/bot")
    return f"{root}/file/bot"


async def open_database(services: Services, *, migrate: bool = True) -> None:
    engine = create_engine(services.settings.database_url)
    if migrate:
        await upgrade_to_head(engine)
    services.engine = engine
    services.sessions = create_session_factory(engine)
    catalogue = services.catalogue
    languages = tuple(
        lang for lang in catalogue.languages if lang in services.renderer.translator.languages
    )
    async with services.sessions() as session, session.begin():
        await workshops.ensure_default(
            session,
            title=services.settings.default_workshop_title,
            scope=catalogue.scope(DEFAULT_SCOPE),
            languages=languages,
            retention_months=services.settings.retention_months,
        )
        await updates.prune(session, services.clock() - PROCESSED_UPDATE_RETENTION)
        services.facilitators.load(await promoted_ids(session))
        services.relay_leads = set(await safeguarding.relay_lead_ids(session))


def command_menu(renderer: Renderer, language: str) -> list[BotCommand]:
    """The menu Telegram shows next to the text box, from the same strings as /help."""
    menu = []
    for name in PARTICIPANT_COMMANDS:
        line = renderer.plain(Msg(f"help.{name}"), language)
        description = line.split(":", 1)[-1].strip()
        menu.append(BotCommand(name, description[:256]))
    return menu


async def _scheduler_tick(context: BotContext) -> None:
    services = context.services
    # Every process has the timer; only the one holding the scheduler lock ticks.
    if services.scheduler is not None and services.runs_scheduler:
        await services.scheduler.tick()


async def refresh_people(services: Services) -> None:
    """Reread what other bot processes may have changed: promoted facilitators, and the
    safeguarding leads in a conversation."""
    async with services.session_factory()() as session:
        promoted = await promoted_ids(session)
        leads = await safeguarding.relay_lead_ids(session)
    services.facilitators.load(promoted)
    services.relay_leads = set(leads)


def _replicas(application: Application) -> Replicas:  # type: ignore[type-arg]
    services = services_from(application.bot_data)
    assert services.engine is not None
    bot = application.bot

    def tick_now() -> None:
        # Taken over from a process that stopped, or asked to by another: no waiting for the
        # timer. Scheduler.tick never overlaps itself.
        scheduler = services.scheduler
        if scheduler is not None and services.settings.scheduler_interval_seconds > 0:
            application.create_task(scheduler.tick(), name="scheduler-takeover")

    async def adopt() -> None:
        # Not while starting (replay does it) or stopping (the rows wait for the next start).
        if isinstance(bot, TolerantBot) and application.running:
            await services.inbox.adopt(application, bot.read_update)

    return Replicas(
        services.engine,
        on_scheduler=tick_now,
        refresh=functools.partial(refresh_people, services),
        adopt=adopt,
    )


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    services = services_from(application.bot_data)
    await open_database(services)
    services.scheduler = Scheduler(services, application.bot)
    # With PostgreSQL, other bot processes may share the database: take the roles this one
    # can have (the scheduler, polling) and claim the inbox rows under its own instance id.
    replicas = services.replicas = _replicas(application)
    services.inbox.owner = replicas.instance
    await replicas.start()
    interval = services.settings.scheduler_interval_seconds
    if interval > 0 and application.job_queue is not None:
        # A fixed name and replace_existing: a restart never stacks two timers. The timer
        # holds no schedule itself (the tables do), so a missed beat only delays a send.
        application.job_queue.run_repeating(
            _scheduler_tick,
            interval=interval,
            first=1.0,
            name="scheduler-tick",
            job_kwargs={
                "id": "scheduler-tick",
                "replace_existing": True,
                "max_instances": 1,
                "coalesce": True,
                "misfire_grace_time": int(interval * 3),
            },
        )
    renderer = services.renderer
    try:
        await application.bot.set_my_commands(command_menu(renderer, "en"))
        for language in renderer.translator.languages:
            await application.bot.set_my_commands(
                command_menu(renderer, language), language_code=language
            )
    except TelegramError:
        log.warning("could not set the command menu; commands still work when typed")
    # Last, before any new update is taken: what a previous run took and did not finish.
    bot = application.bot
    if isinstance(bot, TolerantBot):
        await services.inbox.replay(application, bot.read_update)


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    services = services_from(application.bot_data)
    if services.engine is not None:
        # Every update processed is also out of the inbox, or the next start would show
        # someone their current step again.
        await services.inbox.close()
        if services.replicas is not None:
            await services.replicas.close()  # the roles go to another process, if any
        await services.engine.dispose()


def build_application(
    settings: Settings,
    *,
    base_url: str | None = None,
    clock: Clock = utc_now,
    rate_limiter: bool = True,
) -> Application:  # type: ignore[type-arg]
    base = base_url or settings.telegram_api_base_url
    translator = Translator()
    catalogue = load_catalogue()
    # Compiled and trained once at start (a second or two), not on the first message typed.
    warm_up()
    services = Services(
        settings=settings,
        catalogue=catalogue,
        renderer=Renderer(translator, catalogue),
        clock=clock,
    )
    request: BaseRequest
    updates_request: BaseRequest
    if settings.telegram_http_client == "aiohttp":
        # PTB's stock httpx client spent about half of the bot's CPU under load (httpcore scans
        # its whole pool on every request): bench/http_bench.py, bench/load/.
        request, updates_request = AiohttpRequest(), AiohttpRequest(connection_pool_size=1)
    else:  # what ApplicationBuilder would build
        request, updates_request = (
            HTTPXRequest(connection_pool_size=256),
            HTTPXRequest(connection_pool_size=1),
        )
    limiter: AIORateLimiter | None = None
    per_second = settings.telegram_rate_limit
    if rate_limiter and per_second > 0:
        # One send at a time, evenly spaced: the default limiter lets 30 through at once and
        # 30 more within the second, which trips Telegram's flood control (bench/broadcast_bench:
        # 0.77 of 30/s with the defaults, 0.94 and no 429 with this).
        limiter = AIORateLimiter(
            overall_max_rate=1, overall_time_period=1 / per_second, max_retries=3
        )
    bot = TolerantBot(
        settings.telegram_bot_token,
        base_url=base,
        base_file_url=file_url_for(base),
        request=request,
        get_updates_request=updates_request,
        rate_limiter=limiter,
        inbox=services.inbox,
        may_poll=services.may_poll,
    )
    application = (
        ApplicationBuilder()
        .bot(bot)
        .concurrent_updates(PerUserUpdateProcessor(64, on_finished=services.inbox.finished))
        .context_types(CONTEXT_TYPES)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    private_messages = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
    private_edits = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE
    # Buttons in groups or inline messages are answered and go no further.
    application.add_handler(CallbackQueryHandler(on_button_outside_private_chat), group=-3)
    # A safeguarding lead's words in an open conversation go to the participant, first of all.
    application.add_handler(MessageHandler(private_messages, on_lead_message), group=-2)
    application.add_handler(CallbackQueryHandler(on_alert_button, pattern=ALERT_BUTTONS))
    application.add_handler(
        CommandHandler(quotes.COMMAND, on_quotes_update, filters=private_messages)
    )
    application.add_handler(CallbackQueryHandler(on_quotes_update, pattern=QUOTE_BUTTONS))
    application.add_handler(
        CommandHandler(themes.COMMAND, on_themes_update, filters=private_messages)
    )
    application.add_handler(CallbackQueryHandler(on_themes_update, pattern=THEME_BUTTONS))
    application.add_handler(
        CommandHandler(workshop_safety.COMMAND, on_safety_command, filters=private_messages)
    )
    # A facilitator's broadcast text is caught first (it stops the update when it takes it).
    application.add_handler(
        MessageHandler(private_messages & filters.TEXT, on_pending_input), group=-1
    )
    application.add_handler(
        CommandHandler(SCHEDULE_COMMANDS, on_schedule_update, filters=private_messages)
    )
    application.add_handler(CallbackQueryHandler(on_schedule_update, pattern=SCHEDULE_BUTTONS))
    # Facilitator commands and settings buttons first; everything else is the participant's.
    application.add_handler(
        CommandHandler(facilitator.COMMANDS, on_facilitator_update, filters=private_messages)
    )
    application.add_handler(
        CallbackQueryHandler(on_facilitator_update, pattern=f"^{facilitator.CALLBACK_PREFIX}:")
    )
    application.add_handler(MessageHandler(private_messages, on_participant_update))
    application.add_handler(MessageHandler(private_edits, on_participant_update))
    application.add_handler(CallbackQueryHandler(on_participant_update))
    application.add_error_handler(on_error)
    return application
