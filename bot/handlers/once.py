"""Run an update's work in one transaction, at most once per update_id; show what it decided.

Telegram re-delivers updates after a crash; the update id is recorded in the same transaction
as the state change, so a re-delivered update finds it and does nothing. On PostgreSQL the
transaction first takes the person's advisory lock, so one person's updates never run at the
same time in two bot processes (in one process the update processor already sees to that).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update

from bot.context import BotContext
from bot.flows.participant import pick_language
from bot.flows.views import Part, View
from bot.sending import deliver
from bot.services import Services
from storage import locks
from storage.repositories import people, updates

T = TypeVar("T")


class Shown(Protocol):
    """What a flow's outcome shows: views, a toast on the pressed button, edit it in place."""

    @property
    def views(self) -> Sequence[View]: ...

    @property
    def toast(self) -> Part | None: ...

    @property
    def replace_origin(self) -> bool: ...


S = TypeVar("S", bound=Shown)


@dataclass(frozen=True)
class Decided(Generic[S]):
    """A flow's outcome and the reader's language, carried out of the update's transaction."""

    outcome: S
    language: str


async def run_once(
    services: Services, update: Update, work: Callable[[AsyncSession], Awaitable[T]]
) -> T | None:
    """The work's result, or None when this update was already processed.

    A re-delivered button press is still answered, so the person's spinner stops.
    """
    inbox = services.inbox
    finished = inbox.take_finished()
    try:
        async with services.session_factory()() as session, session.begin():
            person = _person_of(update)
            if person is not None:
                await locks.lock_person(session, person)
            # Updates answered meanwhile leave the inbox with this transaction.
            await inbox.remove_in(session, finished)
            claimed = await updates.claim(session, update.update_id, services.clock())
            if claimed:
                return await work(session)
    except BaseException:
        inbox.give_back(finished)
        raise
    if update.callback_query is not None:
        await update.callback_query.answer()
    return None


def _person_of(update: Update) -> int | None:
    """Whose update it is, as the update processor keys it."""
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


def is_facilitator(services: Services, user_id: int) -> bool:
    return user_id in services.facilitators


async def language_for(
    services: Services, session: AsyncSession, user_id: int, telegram_language: str | None
) -> str:
    """The language to answer someone in outside the participant flow (facilitator screens)."""
    person = await people.get_person(session, user_id)
    return pick_language(
        person.language if person else None,
        telegram_language,
        services.renderer.translator.languages,
    )


async def show(context: BotContext, update: Update, decided: Decided[S]) -> None:
    """Answer the button press (if any) and show the outcome's views (bot.sending.deliver)."""
    outcome = decided.outcome
    await deliver(
        context.bot,
        update,
        context.services.renderer,
        language=decided.language,
        views=outcome.views,
        toast=outcome.toast,
        replace_origin=outcome.replace_origin,
    )
