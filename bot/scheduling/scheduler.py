"""The scheduler's one heartbeat: `tick()` reads what is due from the tables and sends it.

A timer (python-telegram-bot's JobQueue, which wraps APScheduler) only calls `tick` every few
seconds; it holds no schedule of its own, so a restart loses nothing and repeats nothing.
Tests call `tick` directly with a clock they move.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import datetime, timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import alerts
from bot.core import Core
from bot.flows import timeline
from bot.flows.timeline import JobKind, NudgeCandidate, local_datetime
from bot.flows.views import Literal, Msg
from bot.scheduling.messages import Composer, recipients
from bot.scheduling.outbox import DeliveryReport, Outbox
from bot.scheduling.retention import check_due as check_retention_due
from bot.scheduling.retention import expire as expire_retention
from storage.models import JobState, Participant, ScheduledJob, Workshop
from storage.repositories import people, safeguarding, schedules

log = logging.getLogger(__name__)
# The participant's handler tells the leads at once; the scheduler only picks up failures.
ALERT_RETRY_AFTER = timedelta(minutes=1)


class Scheduler:
    def __init__(self, services: Core, bot: Bot) -> None:
        self.services = services
        self.bot = bot
        self.outbox = Outbox(
            services.session_factory(),
            bot,
            recipients=recipients,
            compose=Composer(
                services.renderer, services.catalogue, services.settings.min_group_size
            ),
            clock=services.clock,
            progress=self._progress,
        )
        self._lock = asyncio.Lock()
        self._retention_checked: datetime | None = None

    async def tick(self) -> list[int]:
        """Run everything due now; returns the ids of the jobs it sent. Never overlaps."""
        async with self._lock:
            now = self.services.clock()
            if check_retention_due(self._retention_checked, now):
                await expire_retention(self.services, self.bot, now)
                self._retention_checked = now
            await self._retry_alerts(now)
            await self._plan_nudges()
            async with self.services.session_factory()() as session:
                due = [
                    (job.id, JobKind(job.kind), job.due_at, job.state)
                    for job in await schedules.runnable(session, now)
                ]
            sent: list[int] = []
            for job_id, kind, due_at, state in due:
                if state == JobState.PENDING and timeline.is_missed(kind, due_at, now):
                    await self._missed(job_id)
                    continue
                if await self.outbox.run(job_id) is not None:
                    sent.append(job_id)
            return sent

    async def _retry_alerts(self, now: datetime) -> None:
        """Alerts no lead could be told about yet (a failed send): try again."""
        async with self.services.session_factory()() as session:
            waiting = await safeguarding.unnotified(session, now - ALERT_RETRY_AFTER)
        if waiting:
            await alerts.notify(self.bot, self.services, waiting)

    async def _plan_nudges(self) -> None:
        """Turn participants who stopped half-way into one nudge job per workshop.

        The nudge counter rises in the same transaction that creates the job, so a nudge is
        planned once even if the bot crashes right after.
        """
        now = self.services.clock()
        async with self.services.session_factory()() as session, session.begin():
            rows = await schedules.nudge_candidates(session)
            due: dict[int, list[Participant]] = defaultdict(list)
            for participant, person, workshop in rows:
                candidate = NudgeCandidate(
                    participant_id=participant.id,
                    last_active_at=participant.last_active_at,
                    nudges_sent=participant.nudges_sent,
                    finished=False,
                    reminders_enabled=person.reminders_enabled,
                    unreachable=person.unreachable,
                )
                if timeline.nudge_due(candidate, workshop.nudge_hours, workshop.timezone, now):
                    due[workshop.id].append(participant)
            for workshop_id, participants in due.items():
                for participant in participants:
                    participant.nudges_sent += 1
                await schedules.add(
                    session,
                    workshop_id=workshop_id,
                    kind=JobKind.NUDGE,
                    due_at=now,
                    payload={"user_ids": [p.telegram_user_id for p in participants]},
                    now=now,
                )

    async def _missed(self, job_id: int) -> None:
        """Too late to be useful: record it and tell whoever planned it (or the facilitators)."""
        now = self.services.clock()
        async with self.services.session_factory()() as session, session.begin():
            job = await session.get(ScheduledJob, job_id)
            workshop = await session.get(Workshop, job.workshop_id) if job else None
            if job is None or workshop is None:
                return
            await schedules.mark_missed(session, job_id, now)
            told = (
                [job.created_by]
                if job.created_by
                else sorted(self.services.settings.facilitator_ids)
            )
            languages = {}
            for user_id in told:
                person = await people.get_person(session, user_id)
                languages[user_id] = person.language if person else "en"
        log.warning("job %d (%s) missed: due %s", job_id, job.kind, job.due_at.isoformat())
        renderer = self.services.renderer
        for user_id in told:
            language = languages[user_id]
            text = renderer.part(
                Msg(
                    "schedule.missed",
                    {
                        "title": Literal(workshop.title),
                        "kind": Msg(f"job.{job.kind}"),
                        "when": local_datetime(job.due_at, workshop.timezone, language),
                    },
                ),
                language,
            )
            try:
                await self.bot.send_message(user_id, text, parse_mode=ParseMode.HTML)
            except TelegramError:
                log.warning("could not tell facilitator about missed job %d", job_id)

    async def _progress(self, job: ScheduledJob, report: DeliveryReport) -> None:
        """Keep a broadcast's one progress message up to date, then turn it into a summary."""
        if job.progress_chat_id is None or job.progress_message_id is None:
            return
        async with self.services.session_factory()() as session:
            person = await people.get_person(session, job.progress_chat_id)
        language = person.language if person else "en"
        if report.pending == 0:
            message = Msg(
                "broadcast.summary",
                {
                    "delivered": report.delivered,
                    "blocked": report.blocked,
                    "failed": report.failed + report.skipped,
                },
            )
        else:
            message = Msg("broadcast.progress", {"total": report.total, "done": report.finished})
        try:
            await self.bot.edit_message_text(
                self.services.renderer.part(message, language),
                chat_id=job.progress_chat_id,
                message_id=job.progress_message_id,
                parse_mode=ParseMode.HTML,
            )
        except TelegramError as error:
            log.debug("progress message not updated: %s", error)
