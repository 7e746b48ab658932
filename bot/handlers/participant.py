"""The one handler for everything a participant sends: messages, commands and buttons.

It opens one transaction per update, skips updates already processed (Telegram re-delivers
after a crash), lets the flow decide, stores the changes, and only then replies.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, Update
from telegram.error import TelegramError

from bot import alerts, participation, voice_files
from bot.context import BotContext
from bot.flows import mydata, screens
from bot.flows import participant as flow
from bot.flows.safeguarding import screening
from bot.flows.state import Action, Event, Join, Outcome
from bot.flows.views import View, text_view
from bot.handlers.events import event_kind, to_event
from bot.handlers.once import is_facilitator, run_once
from bot.sending import clear_keyboard, deliver, remove_keyboard, send_view
from bot.services import Services
from locales import reading
from storage.repositories import answers, people

log = logging.getLogger(__name__)


def pseudonymous(user_id: int) -> str:
    """A stable tag for logs that is not the Telegram id."""
    return hashlib.sha256(f"codesign:{user_id}".encode()).hexdigest()[:10]


@dataclass
class _Result:
    outcome: Outcome
    applied: participation.Applied
    extra_views: list[View]


async def on_participant_update(update: Update, context: BotContext) -> None:
    services = context.services
    event = to_event(update)
    user = update.effective_user
    if event is None or user is None or update.effective_chat is None:
        return
    user_id, telegram_language = user.id, user.language_code

    async def work(session: AsyncSession) -> _Result:
        return await _decide_and_store(services, session, user_id, telegram_language, event)

    result = await run_once(services, update, work)
    if result is None:
        if services.inbox.was_replayed(update.update_id):
            # Stored before the bot stopped, maybe never answered: their screen may still
            # show the question before. Once, and only for this: a re-delivery is silent.
            await _show_where_they_are(context.bot, services, update, event)
        else:
            log.info("duplicate update %s ignored", update.update_id)
        return
    outcome = result.outcome
    applied = result.applied
    if outcome.consent_offer is not None:
        services.consent_offers.remember(user_id, outcome.consent_offer)
    elif any(isinstance(change, Join) for change in outcome.changes):
        services.consent_offers.forget(user_id)
    log.info(
        "handled update=%s workshop=%s participant=%s input=%s changes=%s",
        update.update_id,
        applied.workshop_code or "-",
        applied.pseudonym or f"user:{pseudonymous(user_id)}",
        event_kind(event),
        ",".join(type(change).__name__ for change in outcome.changes) or "-",
    )
    if result.applied.files_to_delete:
        voice_files.delete(services.settings.data_dir, result.applied.files_to_delete)
    views = [*outcome.views, *result.extra_views]
    forward = applied.forward
    if forward is not None:
        lead_view = alerts.to_lead(forward.alert_id, forward.pseudonym, forward.text)
        if not await alerts.send_quietly(context.bot, services, forward.lead_id, lead_view):
            views = [
                text_view("relay.failed"),
                screening.safety_reply(None, can_ask_contact=False),
            ]
    if applied.relay_ended is not None:
        lead_id, _alert_id = applied.relay_ended
        services.relay_leads.discard(lead_id)
        ended = text_view("relay.lead_ended", pseudonym=applied.pseudonym or "-")
        await alerts.send_quietly(context.bot, services, lead_id, ended)
    with_buttons = await deliver(
        context.bot,
        update,
        services.renderer,
        language=reading(outcome.language, bool(outcome.easy)),
        views=views,
        toast=outcome.toast,
        replace_origin=outcome.replace_origin,
        clear_origin_keyboard=outcome.clear_origin_keyboard,
    )
    await _one_message_with_buttons(context.bot, services, update, user_id, with_buttons)
    # The person has their answer; now the leads (stored first, so a failure here is retried).
    if applied.alerts or applied.contact_requests:
        await alerts.notify(context.bot, services, [*applied.alerts, *applied.contact_requests])
    for fetch in result.applied.voice_to_fetch:
        await _fetch_voice(context.bot, services, fetch)


async def _show_where_they_are(bot: Bot, services: Services, update: Update, event: Event) -> None:
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return
    async with services.session_factory()() as session:
        loaded = await participation.load(
            session,
            user_id=user.id,
            telegram_language=user.language_code,
            event=event,
            languages=services.renderer.translator.languages,
            is_facilitator=is_facilitator(services, user.id),
            defaults=services.workshop_defaults,
            consent_offer=services.consent_offers.get(user.id),
        )
    outcome = flow.where_now(loaded.snapshot, event)
    if outcome.consent_offer is not None:
        services.consent_offers.remember(user.id, outcome.consent_offer)
    log.info(
        "update %s was handled before the bot stopped: showed where they are",
        update.update_id,
    )
    query = update.callback_query
    if query is not None and query.message is not None:
        await clear_keyboard(query)  # that question was answered (run_once answered the tap)
    language = reading(outcome.language, bool(outcome.easy))
    newest: int | None = None
    for view in outcome.views:
        sent = await send_view(bot, chat.id, view, language, services.renderer)
        if view.keyboard and sent:
            newest = sent[-1] if view.document is None else sent[-2]
    if newest is not None:
        services.keyboards.remember(user.id, newest)


async def _one_message_with_buttons(
    bot: Bot, services: Services, update: Update, user_id: int, newest: int | None
) -> None:
    """After a typed answer, the buttons of the message before go: only the newest message
    has buttons, so nobody taps a question they have already answered."""
    previous = services.keyboards.get(user_id)
    if newest is not None:
        services.keyboards.remember(user_id, newest)
    chat = update.effective_chat
    typed = update.callback_query is None
    if typed and previous is not None and newest is not None and previous != newest and chat:
        await remove_keyboard(bot, chat.id, previous)


async def _decide_and_store(
    services: Services,
    session: AsyncSession,
    user_id: int,
    telegram_language: str | None,
    event: Event,
) -> _Result:
    loaded = await participation.load(
        session,
        user_id=user_id,
        telegram_language=telegram_language,
        event=event,
        languages=services.renderer.translator.languages,
        is_facilitator=is_facilitator(services, user_id),
        defaults=services.workshop_defaults,
        consent_offer=services.consent_offers.get(user_id),
    )
    outcome = flow.handle(loaded.snapshot, event)
    consent_version = None
    target = loaded.snapshot.target
    if target is not None and any(isinstance(change, Join) for change in outcome.changes):
        # The whole text they agreed to, both screens, in the language they agreed in.
        easy = bool(outcome.easy)
        agreed = screens.consent(target, outcome.language, details=True, easy=easy)
        consent_version = services.renderer.fingerprint(agreed, reading(outcome.language, easy))
    applied = await participation.apply(
        session,
        loaded,
        user_id=user_id,
        changes=outcome.changes,
        now=services.clock(),
        consent_version=consent_version,
    )
    extra: list[View] = []
    if Action.SEND_MY_DATA in outcome.actions:
        extra = mydata.views(await people.describe_person(session, user_id), services.catalogue)
    return _Result(outcome, applied, extra)


async def _fetch_voice(bot: Bot, services: Services, fetch: participation.VoiceFetch) -> None:
    """Keep a copy of the recording: Telegram file ids are not a promise to keep files."""
    target = voice_files.absolute(services.settings.data_dir, fetch.relative_path)
    try:
        telegram_file = await bot.get_file(fetch.file_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        await telegram_file.download_to_drive(target)
    except (TelegramError, OSError):
        log.warning("could not download a voice answer (answer id %s)", fetch.answer_id)
        return
    async with services.session_factory()() as session, session.begin():
        if not await answers.set_voice_path(
            session, fetch.answer_id, fetch.file_id, fetch.relative_path
        ):
            target.unlink(missing_ok=True)  # the answer changed or was deleted meanwhile
