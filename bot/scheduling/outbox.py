"""The outbox sender: delivers one scheduled job to each of its recipients, exactly once.

Why it is built this way:

- **Rows before sends.** Claiming a pending job and writing one pending `Delivery` per
  recipient happen in one transaction, so a crash can never leave a job running with part of
  its audience forgotten. A job found running with no deliveries at all (claimed by an older
  version, or a crash between two steps elsewhere) is materialised when it resumes.
- **One delivery, one commit.** Each send is followed at once by its own short transaction
  that marks the row sent with Telegram's message id. A crash can repeat at most the delivery
  in flight: the window between Telegram accepting the message and that commit is the only
  at-least-once window, and the one person concerned may get the message twice after a
  restart (for a message split in parts, the parts already sent are repeated too).
  Everybody else is either recorded as sent (never sent again) or still pending (sent on
  resume). A cancellation (graceful shutdown) inside that window does not open it: the
  in-flight send and its commit are finished before the cancellation is honoured. A timeout
  (`TimedOut`) is ambiguous in the same way, Telegram may have delivered it, so its retry
  can also produce a duplicate; that is the price of not losing the message.
- **Sequential per job.** One job is one loop with one send in flight; the Bot's
  `AIORateLimiter` spaces sends across all jobs and replies. `run` refuses a job this Outbox is
  already running, so a timer firing twice cannot double the sends.
- **Two bot processes (PostgreSQL).** Each delivery is held while it is sent: its row is
  locked (`SELECT ... FOR UPDATE SKIP LOCKED`, `deliveries.hold`) in a transaction that stays
  open through the send and records the outcome. Another sender skips it; if this process dies
  mid-send, the lock goes with its connection and the survivor sends the row (the same
  at-least-once window as above). On SQLite (one process, one connection for everyone) rows
  are not held, and each outcome is its own short transaction, as before.
- **Errors.** Flood control (`RetryAfter`, when it escapes the rate limiter) is waited out and
  the same message retried, without counting an attempt: the message was not sent. 403 means
  the person blocked the bot: "blocked", never retried, and `Person.unreachable` is set. A 400
  (`BadRequest`: chat not found, malformed message...) would get the same answer again, so it
  fails at once. Anything else (5xx, network, timeouts) is retried after the rest of the
  batch, up to `max_attempts`, then "failed"; so is an exception from `compose`, so that one
  person's broken message does not hold up everyone after them. Only the error's class and
  Telegram's short description are stored and logged; never the message text, never the
  Telegram user id (deliveries are named by their row id).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.rendering import RenderedMessage
from bot.sending import keyboard
from storage.models import Delivery, JobState, ScheduledJob
from storage.repositories import deliveries

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    blocked: int
    failed: int
    skipped: int
    pending: int
    total: int

    @property
    def finished(self) -> int:
        """Deliveries that reached a final state."""
        return self.total - self.pending


def summary_of(counts: Mapping[str, int]) -> DeliveryReport:
    """A report from `deliveries.counts`; `total` also counts any state not listed here."""
    return DeliveryReport(
        delivered=counts.get(deliveries.SENT, 0),
        blocked=counts.get(deliveries.BLOCKED, 0),
        failed=counts.get(deliveries.FAILED, 0),
        skipped=counts.get(deliveries.SKIPPED, 0),
        pending=counts.get(deliveries.PENDING, 0),
        total=sum(counts.values()),
    )


Recipients = Callable[[AsyncSession, ScheduledJob], Awaitable[Sequence[int]]]
"""Who should get the job (Telegram user ids), read once when the job is first claimed.

Runs inside the claim transaction: it must only read, and must not commit.
"""

Compose = Callable[[AsyncSession, ScheduledJob, int], Awaitable[Sequence[RenderedMessage] | None]]
"""The message(s) for one person, in their language; None (or nothing) means skip them.

Called right before that person's send, so a change since the job was claimed (they opted
out, changed language, deleted their data) is respected. Its session is read-only (rolled
back), and the job it is given is detached: only its columns can be read.
"""

Progress = Callable[[ScheduledJob, DeliveryReport], Awaitable[None]]
"""Told how far the job is, every `progress_every` finished deliveries and once at the end."""

Outcome = Literal["sent", "blocked", "failed", "skipped", "retry", "taken"]
"""`taken`: another sender (another bot process) holds the delivery; it is not ours to send."""


class _Taken(Exception):
    """The delivery is held by another sender, or is not pending any more."""


def retry_after_seconds(value: float | timedelta) -> float:
    """`RetryAfter.retry_after` is an int, or a timedelta once PTB_TIMEDELTA is on (it is)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def describe(error: TelegramError) -> str:
    """Short, text-free description of a send error, for `last_error` and the logs.

    Telegram's descriptions name the problem, never the message ("Forbidden: bot was blocked
    by the user", "Chat not found"); the class is prefixed unless the text already starts so.
    """
    name, message = type(error).__name__, error.message
    return message if message.lower().startswith(name.lower()) else f"{name}: {message}"


async def finish_in_flight(work: Coroutine[Any, Any, T]) -> T:
    """Await `work`, but if cancelled, let it complete before the cancellation propagates.

    Used for "send, then record the message id": a shutdown that cancelled between the two
    would leave a delivered message recorded as pending, and it would be sent again on
    resume. Cancelling a second time stops waiting (the work still finishes in the
    background), so a stuck request cannot block a forced shutdown.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            # Its outcome is recorded by the work itself, or not at all (then it stays pending).
            with contextlib.suppress(Exception):
                await task
        raise


@dataclass
class _InFlight:
    """A delivery whose messages were composed; `next` counts parts already sent this run.

    Kept across a retry so a multi-part delivery resumes at the part that failed instead of
    repeating the parts that went out. Lost on a crash: then the whole delivery is resent.
    """

    messages: tuple[RenderedMessage, ...]
    next: int = 0


class Outbox:
    """Sends scheduled jobs through one Bot; share one instance per application."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bot: Bot,
        *,
        recipients: Recipients,
        compose: Compose,
        clock: Callable[[], datetime],
        max_attempts: int = 3,
        batch_size: int = 50,
        progress: Progress | None = None,
        progress_every: int = 25,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        retry_delay: float = 1.0,
        hold_rows: bool | None = None,
    ) -> None:
        """`retry_delay`: pause before a pass made only of retries, so a job to one person
        does not spend its attempts within milliseconds of a brief outage. In a larger job the
        rest of the batch already spaces the retries out, and no pause is added.

        `hold_rows`: hold each delivery while it is sent (see the module's notes); by default
        on PostgreSQL only."""
        if max_attempts < 1 or batch_size < 1:
            raise ValueError("max_attempts and batch_size must be at least 1")
        self._sessions = sessions
        self._bot = bot
        self._recipients = recipients
        self._compose = compose
        self._clock = clock
        self._max_attempts = max_attempts
        self._batch_size = batch_size
        self._progress = progress
        self._progress_every = progress_every
        self._sleep = sleep
        self._retry_delay = retry_delay
        self._running: set[int] = set()
        if hold_rows is None:
            bind = sessions.kw.get("bind")
            hold_rows = getattr(getattr(bind, "dialect", None), "name", "") == "postgresql"
        self._hold_rows = hold_rows

    async def run(self, job_id: int) -> DeliveryReport | None:
        """Send the job to everyone still pending; None if it is not runnable.

        Not runnable: unknown, done, cancelled, missed, or already being sent by this Outbox.
        A job left running by a crash resumes where it stopped. If the job is cancelled while
        it runs, sending stops before the next batch and the report shows what is pending.
        """
        if job_id in self._running:
            log.info("job %d is already being sent; not starting a second loop", job_id)
            return None
        self._running.add(job_id)
        try:
            return await self._run(job_id)
        finally:
            self._running.discard(job_id)

    # ------------------------------------------------------------------------- the loop

    async def _run(self, job_id: int) -> DeliveryReport | None:
        job = await self._claim(job_id)
        if job is None:
            return None
        in_flight: dict[int, _InFlight] = {}
        finished = 0
        while True:
            async with self._sessions() as session:
                state = await deliveries.job_state(session, job_id)
                batch = (
                    await deliveries.pending_batch(session, job_id, self._batch_size)
                    if state == JobState.RUNNING
                    else []
                )
            if state != JobState.RUNNING:
                job.state = state or job.state
                report = await self._report(job_id)
                self._log(job, report)
                await self._notify(job, report)
                return report
            if not batch:
                if self._hold_rows and (await self._report(job_id)).pending:
                    # Only rows another sender holds are left: they are its to record. Wait
                    # for them rather than call the job done under its feet.
                    await self._sleep(self._retry_delay)
                    continue
                break
            if all(delivery.attempts > 0 for delivery in batch):
                await self._sleep(self._retry_delay)
            for delivery in batch:
                outcome = await self._deliver(job, delivery, in_flight)
                if outcome in ("retry", "taken"):
                    continue
                finished += 1
                if self._progress_every > 0 and finished % self._progress_every == 0:
                    await self._notify(job, await self._report(job_id))
        now = self._clock()
        async with self._sessions.begin() as session:
            if await deliveries.finish_job(session, job_id, now):
                job.state, job.finished_at = JobState.DONE, now
            report = summary_of(await deliveries.counts(session, job_id))
        self._log(job, report)
        await self._notify(job, report)
        return report

    @staticmethod
    def _log(job: ScheduledJob, report: DeliveryReport) -> None:
        log.info(
            "job %d %s: %d delivered, %d blocked, %d failed, %d skipped, %d pending of %d",
            job.id,
            job.state,
            report.delivered,
            report.blocked,
            report.failed,
            report.skipped,
            report.pending,
            report.total,
        )

    async def _claim(self, job_id: int) -> ScheduledJob | None:
        """Claim the job and, on first run, write its deliveries, in one transaction."""
        async with self._sessions.begin() as session:
            current = await deliveries.get_job(session, job_id)
            was_pending = current is not None and current.state == JobState.PENDING
            job = await deliveries.claim_job(session, job_id, self._clock())
            if job is None:
                log.info("job %d is not runnable", job_id)
                return None
            added = 0
            if was_pending or not await deliveries.has_deliveries(session, job_id):
                added = await deliveries.materialise(
                    session, job, await self._recipients(session, job)
                )
            # Detached with its columns loaded: it outlives this session, whatever the
            # factory's expire_on_commit says.
            session.expunge(job)
        log.info(
            "job %d (%s) %s: %d deliveries written",
            job_id,
            job.kind,
            "started" if was_pending else "resumed",
            added,
        )
        return job

    async def _deliver(
        self, job: ScheduledJob, delivery: Delivery, in_flight: dict[int, _InFlight]
    ) -> Outcome:
        try:
            async with self._holding(delivery) as held:
                return await self._deliver_held(job, delivery, in_flight, held)
        except _Taken:
            log.info("job %d: delivery %d is another sender's", job.id, delivery.id)
            return "taken"

    @contextlib.asynccontextmanager
    async def _holding(self, delivery: Delivery) -> AsyncIterator[AsyncSession | None]:
        """The session whose transaction holds the delivery (None when rows are not held).

        Whatever it has not committed when the block ends is rolled back, the hold included.
        """
        if not self._hold_rows:
            yield None
            return
        async with self._sessions() as session:
            if not await deliveries.hold(session, delivery.id):
                raise _Taken
            yield session

    async def _record(
        self,
        held: AsyncSession | None,
        change: Callable[..., Awaitable[object]],
        *args: object,
    ) -> None:
        """Store an outcome and commit it at once: in the holding transaction (which ends the
        hold), or in a transaction of its own."""
        if held is not None:
            await change(held, *args)
            await held.commit()
            return
        async with self._sessions.begin() as session:
            await change(session, *args)

    async def _deliver_held(
        self,
        job: ScheduledJob,
        delivery: Delivery,
        in_flight: dict[int, _InFlight],
        held: AsyncSession | None,
    ) -> Outcome:
        current = in_flight.pop(delivery.id, None)
        if current is None:
            try:
                async with self._sessions() as session:
                    composed = await self._compose(session, job, delivery.telegram_user_id)
            except Exception as error:
                # A bug or a busy database while composing for one person must not stall
                # everyone after them: it counts as a failed attempt for that person only.
                log.exception("job %d: composing delivery %d failed", job.id, delivery.id)
                return await self._setback(job, delivery, f"compose: {type(error).__name__}", held)
            messages = tuple(m for m in composed or () if m.text or m.buttons)
            if not messages:
                await self._record(held, deliveries.mark_skipped, delivery.id)
                return "skipped"
            current = _InFlight(messages)
        while current.next < len(current.messages):
            try:
                await finish_in_flight(self._send_part(delivery, current, held))
            except RetryAfter as error:
                wait = retry_after_seconds(error.retry_after)
                log.info("job %d: flood control, waiting %.1f s", job.id, wait)
                await self._sleep(wait)
            except Forbidden as error:
                log.info("job %d: delivery %d blocked", job.id, delivery.id)
                await self._record(
                    held, deliveries.mark_blocked, delivery.id, describe(error), self._clock()
                )
                return "blocked"
            except BadRequest as error:
                return await self._give_up(job, delivery, describe(error), held)
            except TelegramError as error:
                outcome = await self._setback(job, delivery, describe(error), held)
                if outcome == "retry":
                    in_flight[delivery.id] = current
                return outcome
        return "sent"

    async def _send_part(
        self, delivery: Delivery, current: _InFlight, held: AsyncSession | None
    ) -> None:
        """Send the next part; after the last one, record the delivery as sent at once."""
        message = current.messages[current.next]
        sent = await self._bot.send_message(
            delivery.telegram_user_id,
            message.text,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(message),
        )
        current.next += 1
        if current.next == len(current.messages):
            await self._record(
                held, deliveries.mark_sent, delivery.id, sent.message_id, self._clock()
            )

    async def _setback(
        self, job: ScheduledJob, delivery: Delivery, error: str, held: AsyncSession | None
    ) -> Outcome:
        """A failure that may pass: retry after the rest of the batch, until attempts run out."""
        attempt = delivery.attempts + 1
        if attempt >= self._max_attempts:
            return await self._give_up(job, delivery, error, held)
        log.info(
            "job %d: delivery %d attempt %d failed (%s), will retry",
            job.id,
            delivery.id,
            attempt,
            error,
        )
        await self._record(held, deliveries.mark_retry, delivery.id, error)
        return "retry"

    async def _give_up(
        self, job: ScheduledJob, delivery: Delivery, error: str, held: AsyncSession | None
    ) -> Outcome:
        log.info(
            "job %d: delivery %d failed after %d attempts (%s)",
            job.id,
            delivery.id,
            delivery.attempts + 1,
            error,
        )
        await self._record(held, deliveries.mark_failed, delivery.id, error)
        return "failed"

    # ------------------------------------------------------------------------- progress

    async def _report(self, job_id: int) -> DeliveryReport:
        async with self._sessions() as session:
            return summary_of(await deliveries.counts(session, job_id))

    async def _notify(self, job: ScheduledJob, report: DeliveryReport) -> None:
        """A failing progress display (say, an edit Telegram refuses) must not stop a send."""
        if self._progress is None:
            return
        try:
            await self._progress(job, report)
        except Exception:
            log.exception("progress callback failed for job %d", job.id)
