"""Retention: when a workshop's personal data is deleted, the warning before, and the purge.

The rule (README, "Retention"): a closed workshop's clock starts when it closed; an active
one's at its last answer, so a workshop people still answer in keeps going. Personal data goes
`retention_months` calendar months later. Facilitators are told 14 days before, and never
less: when the warning could not go out in time (the bot was down, or this rule arrived after
the date), deletion waits until 14 days after it did, so nobody loses answers unannounced.
Only aggregate counts are kept (`retained_counts`); the workshop row stays, marked "purged".

The scheduler calls `expire` on every heartbeat; it looks at most once an hour of the bot's
clock, since the rule works in days and its query reads the date of every answer.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from babel.dates import format_date
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.error import TelegramError

from bot import voice_files
from bot.core import Core
from bot.flows.parsing import PRIORITY_VALUES
from bot.flows.positions import Question
from bot.flows.stats import COUNTED_ROUND
from bot.flows.timeline import zone
from bot.flows.views import Literal, View, text_view
from bot.sending import send_view
from storage.models import Workshop
from storage.repositories import people, workshops
from storage.repositories import retention as stored
from storage.repositories.retention import Aggregates, Removed

log = logging.getLogger(__name__)
WARNING_BEFORE = timedelta(days=14)
CHECK_EVERY = timedelta(hours=1)
NO_ROLE = "none"


class Due(StrEnum):
    NOTHING = "nothing"
    WARN = "warn"
    PURGE = "purge"


# ---- the rule, as pure functions -----------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` calendar months later, or that month's last day (31 Jan + 1 →
    28 or 29 Feb). python-dateutil is not a dependency for this one function."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def expires_at(
    status: str, closed_at: datetime | None, last_activity: datetime | None, months: int
) -> datetime | None:
    """When the personal data of a workshop is due to go; None when nothing is due.

    `last_activity` is None for a workshop nobody joined: it holds nobody's data.
    """
    if last_activity is None:
        return None
    if status == "closed" and closed_at is not None:
        return add_months(closed_at, months)
    if status == "active":
        return add_months(last_activity, months)
    return None


def expires_at_of(workshop: Workshop, last_activity: datetime | None) -> datetime | None:
    return expires_at(
        workshop.status, workshop.closed_at, last_activity, workshop.retention_months
    )


def _warned_for(expiry: datetime, warned_at: datetime | None) -> bool:
    """A warning counts for this expiry only if sent within its notice period (a warning
    sent before a newer answer moved the date does not)."""
    return warned_at is not None and warned_at >= expiry - WARNING_BEFORE


def deletes_on(expiry: datetime, warned_at: datetime | None, now: datetime) -> datetime:
    """When the data will really go: the expiry, or 14 days after a late warning."""
    if warned_at is not None and _warned_for(expiry, warned_at):
        return max(expiry, warned_at + WARNING_BEFORE)
    return max(expiry, now + WARNING_BEFORE)


def due(expiry: datetime | None, warned_at: datetime | None, now: datetime) -> Due:
    if expiry is None:
        return Due.NOTHING
    if not _warned_for(expiry, warned_at):
        return Due.WARN if now >= expiry - WARNING_BEFORE else Due.NOTHING
    return Due.PURGE if now >= deletes_on(expiry, warned_at, now) else Due.NOTHING


def planned_deletion(
    workshop: Workshop, last_activity: datetime | None, now: datetime
) -> tuple[str, datetime] | None:
    """What to tell a facilitator: ("active" or "closed", when the data goes), or ("purged",
    when it went); None for a workshop that never held anyone's data."""
    expiry = expires_at_of(workshop, last_activity)
    if expiry is not None:
        return workshop.status, deletes_on(expiry, workshop.retention_warned_at, now)
    if workshop.purged_at is not None:
        return "purged", workshop.purged_at
    return None


def retained_counts(found: Aggregates) -> dict[str, Any]:
    """The only trace a purged workshop keeps: counts, never a pseudonym or a word typed."""
    participants: dict[str, int] = {}
    for role, count, _ in found.roles:
        participants[role or NO_ROLE] = participants.get(role or NO_ROLE, 0) + count
    answers: dict[str, dict[str, int]] = {}
    for rec, question, count in found.answers:
        answers.setdefault(rec, {})[question] = count
    priorities: dict[str, dict[str, dict[str, Any]]] = {}
    for rec, role, value, count in found.priorities:
        if value not in PRIORITY_VALUES:
            continue
        cell = priorities.setdefault(rec, {}).setdefault(
            role or NO_ROLE, {"count": 0, "distribution": dict.fromkeys(PRIORITY_VALUES, 0)}
        )
        cell["count"] += count
        cell["distribution"][value] += count
    return {
        "participants": participants,
        "finished": sum(done for _, _, done in found.roles),
        "answers": answers,
        "priorities": priorities,
    }


def merge_counts(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """Add counts up: the general workshop is purged cohort by cohort and keeps the sum."""
    merged = dict(old)
    for key, value in new.items():
        if isinstance(value, Mapping):
            merged[key] = merge_counts(merged.get(key) or {}, value)
        else:
            merged[key] = int(merged.get(key) or 0) + int(value)
    return merged


def deletion_day(moment: datetime, timezone: str, language: str) -> str:
    """A deletion date as the reader writes dates, in the workshop's time zone."""
    return format_date(moment.astimezone(zone(timezone)), format="long", locale=language)


def remove_voice_files(data_dir: Path, removed: Removed) -> int:
    """Delete the recordings of removed participants; returns how many files went.

    Besides the paths stored on answers, each participant's folder (named by pseudonym) is
    swept, so a recording whose download finished after its answer was read goes too.
    """
    count = voice_files.delete(data_dir, removed.voice_paths)
    for pseudonym in removed.pseudonyms:
        folder = voice_files.absolute(data_dir, f"{voice_files.VOICE_DIR}/{pseudonym}")
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.is_file():
                path.unlink()
                count += 1
        if not any(folder.iterdir()):
            folder.rmdir()
    return count


# ---- the scheduler's part ------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    workshop: Workshop
    expiry: datetime
    due: Due


async def _state(session: AsyncSession, workshop_id: int, now: datetime) -> _State | None:
    workshop = await session.get(Workshop, workshop_id)
    if workshop is None:
        return None
    last = (await stored.last_activity(session, workshop_id)).get(workshop_id)
    expiry = expires_at_of(workshop, last)
    if expiry is None:
        return None
    return _State(workshop, expiry, due(expiry, workshop.retention_warned_at, now))


def check_due(last: datetime | None, now: datetime) -> bool:
    """At most one look an hour of the bot's clock (a clock moved back looks again)."""
    return last is None or not last <= now < last + CHECK_EVERY


async def expire(services: Core, bot: Bot, now: datetime) -> None:
    """Warn about and purge what is due (the scheduler calls it when `check_due` says so)."""
    async with services.session_factory()() as session:
        steps = [
            (
                workshop.id,
                due(expires_at_of(workshop, last_activity), workshop.retention_warned_at, now),
            )
            for workshop, last_activity in await stored.with_personal_data(session)
        ]
    for workshop_id, step in steps:
        if step is Due.WARN:
            await _warn(services, bot, workshop_id, now)
        elif step is Due.PURGE:
            await _purge(services, bot, workshop_id, now)


async def _facilitators(
    session: AsyncSession, services: Core, workshop: Workshop
) -> list[tuple[int, str]]:
    """Who hears about a workshop's data (its creator, else every configured facilitator),
    each with their language."""
    told = (
        [workshop.created_by] if workshop.created_by else sorted(services.settings.facilitator_ids)
    )
    result = []
    for user_id in told:
        person = await people.get_person(session, user_id)
        result.append((user_id, person.language if person else "en"))
    return result


async def _tell(bot: Bot, services: Core, user_id: int, view: View, language: str) -> None:
    try:
        await send_view(bot, user_id, view, language, services.renderer)
    except TelegramError as error:
        log.warning("could not tell a facilitator about retention: %s", type(error).__name__)


async def _warn(services: Core, bot: Bot, workshop_id: int, now: datetime) -> None:
    """Tell the facilitators once, then record it (a crash in between repeats the warning
    rather than losing it)."""
    async with services.session_factory()() as session:
        found = await _state(session, workshop_id, now)
        if found is None or found.due is not Due.WARN:
            return
        workshop = found.workshop
        when = deletes_on(found.expiry, workshop.retention_warned_at, now)
        told = await _facilitators(session, services, workshop)
    for user_id, language in told:
        view = text_view(
            "fac.retention.warning",
            title=Literal(workshop.title),
            code=workshop.code,
            date=deletion_day(when, workshop.timezone, language),
        )
        await _tell(bot, services, user_id, view, language)
    async with services.session_factory()() as session, session.begin():
        await workshops.mark_retention_warned(session, workshop_id, now)
    log.info("workshop %s: retention warning sent to %d facilitators", workshop.code, len(told))


async def _purge(services: Core, bot: Bot, workshop_id: int, now: datetime) -> None:
    """Delete the participants' data, keep the counts. Recordings go before the commit: if
    the commit fails the rows stay and the next look removes what is left, while a crash
    after it cannot leave recordings that no row points to."""
    async with services.session_factory()() as session, session.begin():
        found = await _state(session, workshop_id, now)
        if found is None or found.due is not Due.PURGE:
            return
        workshop = found.workshop
        counts = retained_counts(
            await stored.aggregates(
                session,
                workshop_id,
                counted_round=COUNTED_ROUND,
                priority_question=Question.PRIORITY.value,
            )
        )
        told = await _facilitators(session, services, workshop)
        removed = await stored.delete_personal_data(session, workshop_id)
        workshop.retained_counts = merge_counts(workshop.retained_counts or {}, counts)
        # The general workshop is where /start leads: it stays open for the next people.
        workshop.status = "active" if workshop.is_default else "purged"
        workshop.purged_at = now
        files = remove_voice_files(services.settings.data_dir, removed)
    log.info(
        "workshop %s purged at the end of retention: %d participants, %d answers, %d recordings",
        workshop.code,
        removed.participants,
        removed.answers,
        files,
    )
    for user_id, language in told:
        view = text_view(
            "fac.retention.purged",
            title=Literal(workshop.title),
            code=workshop.code,
            participants=removed.participants,
        )
        await _tell(bot, services, user_id, view, language)
