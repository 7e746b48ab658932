"""Who gets each scheduled job, and the message each person reads, in their language.

Recipients are computed when a job starts (people may join up to the last minute); the
outbox stores them before anything is sent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.flows import announcements
from bot.flows.catalogue import Catalogue
from bot.flows.positions import TEXT_QUESTIONS
from bot.flows.stats import StatsAccumulator, WorkshopStats
from bot.flows.timeline import JobKind, local_time, local_when
from bot.flows.views import Msg, View
from bot.participation import participant_info
from bot.rendering import RenderedMessage, Renderer
from locales import reading
from storage.models import Person, ScheduledJob, Workshop
from storage.repositories import people, responses, safeguarding, schedules
from storage.repositories.quotes import approved as approved_quotes

# Reminders and nudges respect /reminders off; workshop content (session prompts, the
# follow-up, a facilitator's message) goes to everyone who has not blocked the bot.
_RESPECTS_REMINDER_SETTING = (
    JobKind.REMINDER_DAY_BEFORE,
    JobKind.REMINDER_SOON,
    JobKind.NUDGE,
)


async def recipients(session: AsyncSession, job: ScheduledJob) -> Sequence[int]:
    kind = JobKind(job.kind)
    if kind is JobKind.NUDGE:
        return [int(user_id) for user_id in job.payload.get("user_ids", [])]
    if kind is JobKind.FOLLOWUP:
        return await schedules.participants_who_answered(session, job.workshop_id)
    reachable = await schedules.reachable_participants(
        session, job.workshop_id, respect_setting=kind in _RESPECTS_REMINDER_SETTING
    )
    return reachable


class Composer:
    """Builds one person's message for a job; caches what is shared by the whole job."""

    def __init__(self, renderer: Renderer, catalogue: Catalogue, min_group_size: int = 5) -> None:
        self.renderer = renderer
        self.catalogue = catalogue
        self.min_group_size = min_group_size
        self._group: dict[int, tuple[WorkshopStats, announcements.Quotes]] = {}

    async def __call__(
        self, session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> Sequence[RenderedMessage] | None:
        workshop = await session.get(Workshop, job.workshop_id)
        person = await people.get_person(session, user_id)
        if workshop is None or person is None:
            return None  # deleted (/forget) since the job started
        language = person.language
        kind = JobKind(job.kind)
        if kind in _RESPECTS_REMINDER_SETTING and (
            not person.reminders_enabled
            or await safeguarding.has_unhandled(session, user_id, workshop.id)
        ):
            return None
        view = await self._view(session, job, kind, workshop, person)
        if view is None:
            return None
        return self.renderer.view(view, reading(language, person.easy_read))

    async def _view(
        self,
        session: AsyncSession,
        job: ScheduledJob,
        kind: JobKind,
        workshop: Workshop,
        person: Person,
    ) -> View | None:
        language = person.language
        if kind is JobKind.REMINDER_DAY_BEFORE and workshop.starts_at is not None:
            when = local_when(workshop.starts_at, workshop.timezone, language)
            return announcements.day_before(workshop.title, when)
        if kind is JobKind.REMINDER_SOON and workshop.starts_at is not None:
            at = local_time(workshop.starts_at, workshop.timezone, language)
            return announcements.soon(workshop.title, at)
        if kind is JobKind.SESSION_PROMPT:
            number = int(job.payload.get("session", 0))
            recs = [r for r in workshop.scope if self.catalogue.get(r).session == number]
            if not recs or number not in self.catalogue.sessions:
                return None
            titles = self.catalogue.sessions[number]
            return announcements.session_prompt(number, titles.get(language) or titles["en"], recs)
        if kind is JobKind.BROADCAST:
            return announcements.broadcast(workshop.title, str(job.payload.get("text", "")))
        if kind is JobKind.NUDGE:
            return announcements.nudge(workshop.title)
        if kind is JobKind.FOLLOWUP:
            return await self._followup(session, job, workshop, person)
        return None

    async def _followup(
        self, session: AsyncSession, job: ScheduledJob, workshop: Workshop, person: Person
    ) -> View | None:
        participant = await people.get_participant(session, person.telegram_user_id, workshop.id)
        if participant is None:
            return None
        info = await participant_info(session, participant, person)
        recs = info.followup_scope()
        if not recs:
            return None
        if job.id not in self._group:
            self._group[job.id] = await _group_view_of(session, workshop)
        stats, quotes = self._group[job.id]
        decimal = self.renderer.plain(Msg("stats.chart.decimal_mark"), person.language)
        return announcements.followup(
            workshop.title, recs, stats, quotes, decimal, self.min_group_size
        )


async def _group_view_of(
    session: AsyncSession, workshop: Workshop
) -> tuple[WorkshopStats, announcements.Quotes]:
    """Figures and a few typed quotes per recommendation, from the first round."""
    accumulator = StatsAccumulator(workshop.scope)
    for row in await responses.participants(session, workshop.id):
        accumulator.add_participant(row.role, row.easy_read)
    async for answer in responses.stream_answers(session, workshop.id):
        accumulator.add(answer)
    # Only words their writers agreed to share and a facilitator approved (/quotes); the
    # query leaves out anything sensitive or from people who did not finish, whatever the
    # approval says.
    quotes: dict[str, dict[str, list[str]]] = {q: defaultdict(list) for q in TEXT_QUESTIONS}
    for quote in await approved_quotes(session, workshop.id, TEXT_QUESTIONS):
        said = quotes[quote.question][quote.recommendation_id]
        room = len(said) < announcements.QUOTES_PER_QUESTION
        if quote.round == 1 and quote.text.strip() and room:
            said.append(quote.text)
    return accumulator.result(), announcements.Quotes(
        {question: dict(said) for question, said in quotes.items()}
    )
