"""The outbox sender against the fake Bot API: exactly once per person, across crashes.

A real `telegram.ext.ExtBot` with an `AIORateLimiter` (generous, so tests stay fast, with no
retries of its own so flood control reaches the outbox) talks HTTP to `FakeBotApi`; the
database is the migrated SQLite file from the `sessions` fixture. Assertions read what the
server received per chat and the delivery rows.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Message
from telegram.error import NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, ExtBot

from bot.rendering import RenderedMessage
from bot.scheduling import DeliveryReport, Outbox, Progress, summary_of
from bot.scheduling.outbox import Compose, Recipients, retry_after_seconds
from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.models import Delivery, Person, ScheduledJob, Workshop
from storage.repositories import deliveries
from tests.fake_telegram import FakeBotApi

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
# PTB 22.x warns inside RetryAfter.__init__ itself about retry_after becoming a timedelta.
PTB_RETRY_AFTER_WARNING = "ignore::telegram.warnings.PTBDeprecationWarning"
TEXT = {
    "en": "<b>Reminder</b>: the workshop starts at 10:00 &amp; runs an hour",
    "fr": "<b>Rappel</b> : l’atelier commence à 10 h &amp; dure une heure",
}
OPEN_BUTTON = (("Open", "open:1"),)
_codes = itertools.count(1)


def clock() -> datetime:
    return NOW


# ------------------------------------------------------------------------------ the bot


@dataclass
class Probe:
    """What the test bot saw: sends started, and how many were ever in flight at once."""

    sends: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    before_send: Callable[[int, int], Awaitable[None]] | None = None


class ProbedBot(ExtBot[int]):
    """The real ExtBot; `before_send(n, chat_id)` may block or raise before the n-th send."""

    def __init__(self, server: FakeBotApi, probe: Probe) -> None:
        self._probe = probe  # underscore: PTB objects refuse other attributes once frozen
        super().__init__(
            TOKEN,
            base_url=server.api_url,
            base_file_url=server.file_url,
            rate_limiter=AIORateLimiter(overall_max_rate=1000, max_retries=0),
        )

    async def send_message(
        self, chat_id: int | str, text: str, *args: Any, **kwargs: Any
    ) -> Message:
        probe = self._probe
        probe.sends += 1
        probe.in_flight += 1
        probe.max_in_flight = max(probe.max_in_flight, probe.in_flight)
        try:
            if probe.before_send is not None:
                await probe.before_send(probe.sends, int(chat_id))
            return await super().send_message(chat_id, text, *args, **kwargs)
        finally:
            probe.in_flight -= 1


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
async def bot(server: FakeBotApi, probe: Probe) -> AsyncIterator[ProbedBot]:
    async with ProbedBot(server, probe) as real_bot:
        yield real_bot


class Sleeps:
    """Injected `sleep`: records the waits and only yields, so tests do not wait for real."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


# --------------------------------------------------------------------------- the database


async def add_people(sessions: SessionFactory, user_ids: Sequence[int]) -> None:
    """Odd ids read French, even ids English."""
    async with sessions.begin() as session:
        for user_id in user_ids:
            session.add(Person(telegram_user_id=user_id, language="fr" if user_id % 2 else "en"))


async def add_job(sessions: SessionFactory, *, state: str = "pending") -> int:
    async with sessions.begin() as session:
        workshop = Workshop(
            code=f"OUTBOX{next(_codes):04d}", title="W", scope=["h1"], languages=["en", "fr"]
        )
        session.add(workshop)
        await session.flush()
        job = ScheduledJob(
            workshop_id=workshop.id, kind="broadcast", due_at=NOW, state=state, payload={}
        )
        session.add(job)
        await session.flush()
        return job.id


async def job_with_people(sessions: SessionFactory, user_ids: Sequence[int]) -> int:
    await add_people(sessions, user_ids)
    return await add_job(sessions)


async def delivery_rows(sessions: SessionFactory, job_id: int) -> list[Delivery]:
    async with sessions() as session:
        rows = await session.scalars(
            select(Delivery).where(Delivery.job_id == job_id).order_by(Delivery.id)
        )
        return list(rows)


async def by_user(sessions: SessionFactory, job_id: int) -> dict[int, Delivery]:
    return {row.telegram_user_id: row for row in await delivery_rows(sessions, job_id)}


async def job_row(sessions: SessionFactory, job_id: int) -> ScheduledJob:
    async with sessions() as session:
        job = await session.get(ScheduledJob, job_id)
        assert job is not None
        return job


async def db_report(sessions: SessionFactory, job_id: int) -> DeliveryReport:
    async with sessions() as session:
        return summary_of(await deliveries.counts(session, job_id))


# ------------------------------------------------------------------ recipients and compose


async def everyone(session: AsyncSession, job: ScheduledJob) -> Sequence[int]:
    rows = await session.scalars(select(Person.telegram_user_id).order_by(Person.telegram_user_id))
    return list(rows)


async def greet(session: AsyncSession, job: ScheduledJob, user_id: int) -> list[RenderedMessage]:
    person = await session.get(Person, user_id)
    assert person is not None
    return [RenderedMessage(TEXT[person.language], (OPEN_BUTTON,))]


def make_outbox(
    sessions: SessionFactory,
    bot: ExtBot[int],
    *,
    recipients: Recipients = everyone,
    compose: Compose = greet,
    sleep: Sleeps | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> Outbox:
    return Outbox(
        sessions,
        bot,
        recipients=recipients,
        compose=compose,
        clock=clock,
        sleep=sleep or Sleeps(),
        progress=progress,
        **options,
    )


def messages_per_chat(server: FakeBotApi, user_ids: Sequence[int]) -> dict[int, int]:
    return {user_id: len(server.messages_to(user_id)) for user_id in user_ids}


USERS_200 = list(range(1001, 1201))


# ------------------------------------------------------------------------------ the tests


async def test_two_hundred_recipients_get_exactly_one_message_each(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot, probe: Probe
) -> None:
    job_id = await job_with_people(sessions, USERS_200)

    report = await make_outbox(sessions, bot).run(job_id)

    assert report == DeliveryReport(
        delivered=200, blocked=0, failed=0, skipped=0, pending=0, total=200
    )
    assert set(messages_per_chat(server, USERS_200).values()) == {1}
    assert probe.max_in_flight == 1  # one job, one send at a time
    rows = await by_user(sessions, job_id)
    for user_id in USERS_200:
        [message] = server.messages_to(user_id)
        row = rows[user_id]
        assert (row.state, row.message_id, row.sent_at) == ("sent", message.message_id, NOW)
        assert (row.attempts, row.last_error) == (0, None)
        language = "fr" if user_id % 2 else "en"
        assert message.text == TEXT[language].replace("<b>", "").replace("</b>", "").replace(
            "&amp;", "&"
        )
        assert message.buttons == [("Open", "open:1")]
    job = await job_row(sessions, job_id)
    assert (job.state, job.started_at, job.finished_at) == ("done", NOW, NOW)


async def test_a_crash_mid_broadcast_resumes_without_duplicates_or_gaps(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    job_id = await job_with_people(sessions, USERS_200)
    stuck = asyncio.Event()
    composed = 0

    async def compose_then_hang(
        session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> list[RenderedMessage]:
        nonlocal composed
        composed += 1
        if composed > 90:
            stuck.set()
            await asyncio.Event().wait()  # the process "dies" here
        return await greet(session, job, user_id)

    crashed = asyncio.create_task(
        make_outbox(sessions, bot, compose=compose_then_hang).run(job_id)
    )
    await asyncio.wait_for(stuck.wait(), 10)
    crashed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashed

    assert len(server.messages) == 90
    assert (await db_report(sessions, job_id)).delivered == 90
    assert (await job_row(sessions, job_id)).state == "running"

    # Someone joins before the restart: the resumed job keeps its original audience.
    await add_people(sessions, [9998])
    async with ProbedBot(server, Probe()) as restarted_bot:
        report = await make_outbox(sessions, restarted_bot).run(job_id)

    assert report is not None
    assert (report.delivered, report.pending, report.total) == (200, 0, 200)
    assert set(messages_per_chat(server, USERS_200).values()) == {1}
    assert server.messages_to(9998) == []
    assert (await job_row(sessions, job_id)).state == "done"


async def test_a_shutdown_during_a_send_records_that_send_before_stopping(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot, probe: Probe
) -> None:
    """Cancelling while a request is in flight must not turn a delivered message into a
    pending one, or the resumed job would send it a second time."""
    job_id = await job_with_people(sessions, USERS_200)
    in_flight, release = asyncio.Event(), asyncio.Event()

    async def hold_91st(n: int, chat_id: int) -> None:
        if n == 91:
            in_flight.set()
            await release.wait()

    probe.before_send = hold_91st
    task = asyncio.create_task(make_outbox(sessions, bot).run(job_id))
    await asyncio.wait_for(in_flight.wait(), 10)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # waiting for the send in flight
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert len(server.messages) == 91
    rows = await delivery_rows(sessions, job_id)
    assert [row.state for row in rows].count("sent") == 91
    assert rows[90].message_id == server.messages[90].message_id

    async with ProbedBot(server, Probe()) as restarted_bot:
        await make_outbox(sessions, restarted_bot).run(job_id)
    assert set(messages_per_chat(server, USERS_200).values()) == {1}


async def test_a_running_job_without_deliveries_is_materialised_on_resume(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [11, 12, 13]
    await add_people(sessions, users)
    job_id = await add_job(sessions, state="running")

    report = await make_outbox(sessions, bot).run(job_id)

    assert report is not None and (report.delivered, report.total) == (3, 3)
    assert messages_per_chat(server, users) == {11: 1, 12: 1, 13: 1}


@pytest.mark.filterwarnings(PTB_RETRY_AFTER_WARNING)
async def test_flood_control_is_waited_out_and_the_message_goes_out_once(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [21, 22, 23]
    job_id = await job_with_people(sessions, users)
    server.fail_next("sendMessage", 429, retry_after=1)
    sleeps = Sleeps()

    report = await make_outbox(sessions, bot, sleep=sleeps).run(job_id)

    assert sleeps.calls == [1.0]
    assert [call.status for call in server.calls("sendMessage")] == [429, 200, 200, 200]
    assert messages_per_chat(server, users) == {21: 1, 22: 1, 23: 1}
    assert report is not None and report.delivered == 3
    # Flood control is not the recipient's fault: no attempt is counted.
    assert all(
        (row.attempts, row.last_error) == (0, None)
        for row in await delivery_rows(sessions, job_id)
    )


@pytest.mark.filterwarnings(PTB_RETRY_AFTER_WARNING)
def test_retry_after_is_read_as_seconds_or_timedelta() -> None:
    assert retry_after_seconds(3) == 3.0
    assert retry_after_seconds(timedelta(seconds=1, milliseconds=500)) == 1.5
    assert retry_after_seconds(RetryAfter(5).retry_after) == 5.0


async def test_a_blocked_chat_is_marked_unreachable_and_not_retried(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [31, 32, 33]
    job_id = await job_with_people(sessions, users)
    server.block(32)
    sleeps = Sleeps()

    report = await make_outbox(sessions, bot, sleep=sleeps).run(job_id)

    assert report is not None and (report.delivered, report.blocked) == (2, 1)
    rows = await by_user(sessions, job_id)
    assert rows[32].state == "blocked"
    assert rows[32].attempts == 1
    assert rows[32].last_error == "Forbidden: bot was blocked by the user"
    assert len([c for c in server.calls("sendMessage") if c.params["chat_id"] == 32]) == 1
    assert sleeps.calls == []
    async with sessions() as session:
        unreachable = {
            person.telegram_user_id: person.unreachable
            for person in await session.scalars(select(Person))
        }
    assert unreachable == {31: False, 32: True, 33: False}


async def test_a_server_error_is_retried_and_the_attempts_recorded(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    job_id = await job_with_people(sessions, [41])
    server.fail_next("sendMessage", 500, count=2)
    sleeps = Sleeps()

    report = await make_outbox(sessions, bot, sleep=sleeps, max_attempts=3).run(job_id)

    assert report is not None and report.delivered == 1
    [row] = await delivery_rows(sessions, job_id)
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.last_error == "NetworkError: Internal Server Error"  # what it got over
    assert [call.status for call in server.calls("sendMessage")] == [500, 500, 200]
    assert len(server.messages_to(41)) == 1
    assert sleeps.calls == [1.0, 1.0]  # a pass of nothing but retries pauses first


async def test_a_permanently_failing_chat_fails_after_max_attempts(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    job_id = await job_with_people(sessions, [51])
    server.fail_next("sendMessage", 502, count=10)

    report = await make_outbox(sessions, bot, max_attempts=3).run(job_id)

    assert report == DeliveryReport(
        delivered=0, blocked=0, failed=1, skipped=0, pending=0, total=1
    )
    [row] = await delivery_rows(sessions, job_id)
    assert (row.state, row.attempts, row.message_id) == ("failed", 3, None)
    assert row.last_error == "NetworkError: Bad Gateway"
    assert len(server.calls("sendMessage")) == 3
    assert (await job_row(sessions, job_id)).state == "done"


async def test_later_recipients_are_not_held_up_by_one_that_keeps_failing(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot, probe: Probe
) -> None:
    """Retries go after the rest of the batch: the failing chat does not block the others."""
    users = [61, 62, 63]
    job_id = await job_with_people(sessions, users)
    order: list[int] = []

    async def chat_62_is_down(n: int, chat_id: int) -> None:
        order.append(chat_id)
        if chat_id == 62:
            raise NetworkError("connection reset")

    probe.before_send = chat_62_is_down
    sleeps = Sleeps()
    report = await make_outbox(sessions, bot, sleep=sleeps, max_attempts=3).run(job_id)

    assert order == [61, 62, 63, 62, 62]
    assert report is not None and (report.delivered, report.failed) == (2, 1)
    # The first retry came after 63 without a pause; the passes of retries alone paused.
    assert sleeps.calls == [1.0, 1.0]
    rows = await by_user(sessions, job_id)
    assert (rows[62].state, rows[62].attempts) == ("failed", 3)
    assert rows[62].last_error == "NetworkError: connection reset"


async def test_chat_not_found_fails_at_once(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    job_id = await job_with_people(sessions, [71, 72])
    server.fail_next("sendMessage", 400, "Bad Request: chat not found")
    sleeps = Sleeps()

    report = await make_outbox(sessions, bot, sleep=sleeps).run(job_id)

    assert report is not None and (report.delivered, report.failed) == (1, 1)
    rows = await by_user(sessions, job_id)
    assert (rows[71].state, rows[71].attempts) == ("failed", 1)
    assert rows[71].last_error == "BadRequest: Chat not found"
    assert len(server.calls("sendMessage")) == 2 and sleeps.calls == []


async def test_compose_returning_none_skips_the_person(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [81, 82, 83, 84]
    job_id = await job_with_people(sessions, users)

    async def english_only(
        session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> list[RenderedMessage] | None:
        person = await session.get(Person, user_id)
        assert person is not None
        return None if person.language == "fr" else await greet(session, job, user_id)

    report = await make_outbox(sessions, bot, compose=english_only).run(job_id)

    assert report == DeliveryReport(
        delivered=2, blocked=0, failed=0, skipped=2, pending=0, total=4
    )
    assert messages_per_chat(server, users) == {81: 0, 82: 1, 83: 0, 84: 1}
    rows = await by_user(sessions, job_id)
    assert (rows[81].state, rows[81].message_id, rows[81].attempts) == ("skipped", None, 0)


async def test_a_compose_error_fails_that_person_only(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [86, 87, 88]
    job_id = await job_with_people(sessions, users)

    async def broken_for_87(
        session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> list[RenderedMessage]:
        if user_id == 87:
            raise KeyError("missing translation")
        return await greet(session, job, user_id)

    report = await make_outbox(sessions, bot, compose=broken_for_87, max_attempts=2).run(job_id)

    assert report is not None and (report.delivered, report.failed) == (2, 1)
    assert messages_per_chat(server, users) == {86: 1, 87: 0, 88: 1}
    rows = await by_user(sessions, job_id)
    assert (rows[87].state, rows[87].attempts, rows[87].last_error) == (
        "failed",
        2,
        "compose: KeyError",
    )


async def test_a_long_message_goes_out_in_parts_with_the_keyboard_on_the_last(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot, probe: Probe
) -> None:
    job_id = await job_with_people(sessions, [90])

    async def two_parts(
        session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> list[RenderedMessage]:
        return [RenderedMessage("Part one"), RenderedMessage("Part two", (OPEN_BUTTON,))]

    failed_once = False

    async def second_part_fails_once(n: int, chat_id: int) -> None:
        nonlocal failed_once
        if n == 2 and not failed_once:
            failed_once = True
            raise NetworkError("connection reset")

    probe.before_send = second_part_fails_once
    await make_outbox(sessions, bot, compose=two_parts).run(job_id)

    # The retry resumed at the part that failed: part one was not sent twice.
    first, second = server.messages_to(90)
    assert (first.text, first.buttons) == ("Part one", [])
    assert (second.text, second.buttons) == ("Part two", [("Open", "open:1")])
    [row] = await delivery_rows(sessions, job_id)
    assert (row.state, row.message_id, row.attempts) == ("sent", second.message_id, 1)


async def test_a_finished_or_cancelled_job_is_not_run(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    job_id = await job_with_people(sessions, [101, 102])
    outbox = make_outbox(sessions, bot)
    assert await outbox.run(job_id) is not None
    assert len(server.messages) == 2

    assert await outbox.run(job_id) is None
    assert await make_outbox(sessions, bot).run(job_id) is None
    for state in ("cancelled", "missed"):
        other = await add_job(sessions, state=state)
        assert await outbox.run(other) is None
        assert await delivery_rows(sessions, other) == []
    assert await outbox.run(999_999) is None
    assert len(server.messages) == 2


async def test_the_same_job_is_never_sent_by_two_loops_at_once(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [111, 112, 113]
    job_id = await job_with_people(sessions, users)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(
        session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> list[RenderedMessage]:
        started.set()
        await release.wait()
        return await greet(session, job, user_id)

    outbox = make_outbox(sessions, bot, compose=slow)
    first = asyncio.create_task(outbox.run(job_id))
    await asyncio.wait_for(started.wait(), 5)
    assert await outbox.run(job_id) is None  # the timer fired twice
    release.set()
    report = await first
    assert report is not None and report.delivered == 3
    assert messages_per_chat(server, users) == {111: 1, 112: 1, 113: 1}


async def test_a_job_cancelled_while_sending_stops_after_the_batch(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = list(range(121, 131))
    job_id = await job_with_people(sessions, users)
    reports: list[tuple[str, DeliveryReport]] = []

    async def cancel_on_second(
        session: AsyncSession, job: ScheduledJob, user_id: int
    ) -> list[RenderedMessage]:
        if user_id == 122:  # a facilitator cancels the broadcast meanwhile
            async with sessions.begin() as other:
                await other.execute(
                    update(ScheduledJob).where(ScheduledJob.id == job_id).values(state="cancelled")
                )
        return await greet(session, job, user_id)

    async def record(job: ScheduledJob, report: DeliveryReport) -> None:
        reports.append((job.state, report))

    report = await make_outbox(
        sessions, bot, compose=cancel_on_second, batch_size=3, progress=record
    ).run(job_id)

    assert report == DeliveryReport(
        delivered=3, blocked=0, failed=0, skipped=0, pending=7, total=10
    )
    assert reports == [("cancelled", report)]  # the final progress shows where it stopped
    assert len(server.messages) == 3
    assert (await job_row(sessions, job_id)).state == "cancelled"


async def test_progress_is_reported_as_it_goes_and_at_the_end(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = list(range(201, 236))  # 35
    job_id = await job_with_people(sessions, users)
    server.block(210)
    seen: list[tuple[str, DeliveryReport]] = []

    async def record(job: ScheduledJob, report: DeliveryReport) -> None:
        seen.append((job.state, report))

    report = await make_outbox(
        sessions, bot, progress=record, progress_every=10, batch_size=8
    ).run(job_id)

    assert [r.finished for _, r in seen] == [10, 20, 30, 35]
    assert [r.delivered for _, r in seen] == [9, 19, 29, 34]
    assert [r.pending for _, r in seen] == [25, 15, 5, 0]
    assert seen[-1] == ("done", report)
    assert report == await db_report(sessions, job_id)
    assert report == DeliveryReport(
        delivered=34, blocked=1, failed=0, skipped=0, pending=0, total=35
    )


async def test_a_failing_progress_display_does_not_stop_the_sending(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = [301, 302, 303]
    job_id = await job_with_people(sessions, users)

    async def broken(job: ScheduledJob, report: DeliveryReport) -> None:
        raise RuntimeError("message to edit not found")

    report = await make_outbox(sessions, bot, progress=broken, progress_every=1).run(job_id)

    assert report is not None and report.delivered == 3
    assert messages_per_chat(server, users) == {301: 1, 302: 1, 303: 1}


# ------------------------------------------------------------------------ the repository


async def test_materialise_is_idempotent_ordered_and_ignores_unknown_people(
    sessions: SessionFactory,
) -> None:
    await add_people(sessions, [3, 1, 2])
    job_id = await add_job(sessions)
    async with sessions.begin() as session:
        job = await deliveries.get_job(session, job_id)
        assert job is not None
        assert await deliveries.materialise(session, job, [3, 1, 3, 404]) == 2
        assert await deliveries.materialise(session, job, [1, 2, 3]) == 1
        assert await deliveries.materialise(session, job, []) == 0
    rows = await delivery_rows(sessions, job_id)
    assert [(row.telegram_user_id, row.state, row.attempts) for row in rows] == [
        (3, "pending", 0),
        (1, "pending", 0),
        (2, "pending", 0),
    ]


async def test_claim_and_finish_follow_the_job_states(sessions: SessionFactory) -> None:
    job_id = await add_job(sessions)
    later = NOW + timedelta(minutes=5)
    async with sessions.begin() as session:
        claimed = await deliveries.claim_job(session, job_id, NOW)
        assert claimed is not None and (claimed.state, claimed.started_at) == ("running", NOW)
    async with sessions.begin() as session:  # left running by a crash: resumable as it was
        resumed = await deliveries.claim_job(session, job_id, later)
        assert resumed is not None and (resumed.state, resumed.started_at) == ("running", NOW)
        assert await deliveries.finish_job(session, job_id, later)
    async with sessions.begin() as session:
        assert await deliveries.claim_job(session, job_id, later) is None
        assert not await deliveries.finish_job(session, job_id, later)
    job = await job_row(sessions, job_id)
    assert (job.state, job.finished_at) == ("done", later)


async def test_an_outcome_is_recorded_once_only(sessions: SessionFactory) -> None:
    await add_people(sessions, [7])
    job_id = await add_job(sessions)
    async with sessions.begin() as session:
        job = await deliveries.get_job(session, job_id)
        assert job is not None
        await deliveries.materialise(session, job, [7])
        [pending] = await deliveries.pending_batch(session, job_id, 10)
        assert await deliveries.mark_sent(session, pending.id, 55, NOW)
        assert not await deliveries.mark_failed(session, pending.id, "late error")
        assert not await deliveries.mark_sent(session, pending.id, 56, NOW)
        assert await deliveries.pending_batch(session, job_id, 10) == []
        assert dict(await deliveries.counts(session, job_id)) == {
            "pending": 0,
            "sent": 1,
            "blocked": 0,
            "failed": 0,
            "skipped": 0,
        }
    [row] = await delivery_rows(sessions, job_id)
    assert (row.state, row.message_id, row.last_error) == ("sent", 55, None)


def test_errors_are_stored_short_and_on_one_line() -> None:
    stored = deliveries.short_error("Bad Request:\n" + "x" * 500)
    assert len(stored) == deliveries.MAX_ERROR_CHARS and "\n" not in stored
    assert stored.startswith("Bad Request: xxx") and stored.endswith("…")


# ------------------------------------------------------- two bot processes (PostgreSQL only)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_processes_sending_one_job_never_send_a_delivery_twice(
    sessions: SessionFactory, database_url: str, server: FakeBotApi, bot: ProbedBot, probe: Probe
) -> None:
    job_id = await job_with_people(sessions, USERS_200[:60])

    async def slow_send(_n: int, _chat_id: int) -> None:
        await asyncio.sleep(0.002)  # so that the two loops interleave

    probe.before_send = slow_send
    other_engine = create_engine(database_url)  # the other process's own connections
    try:
        other = make_outbox(create_session_factory(other_engine), bot, batch_size=7)
        mine = make_outbox(sessions, bot, batch_size=7)
        first = asyncio.ensure_future(mine.run(job_id))
        await server.wait_for(lambda _: len(server.messages) >= 3, timeout=10)
        # A resumed "running" job, as a second process sees it: both now send it at once.
        await asyncio.gather(first, other.run(job_id))
    finally:
        await other_engine.dispose()
    assert set(messages_per_chat(server, USERS_200[:60]).values()) == {1}
    assert {row.state for row in await delivery_rows(sessions, job_id)} == {"sent"}
    assert (await job_row(sessions, job_id)).state == "done"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_delivery_another_sender_holds_is_left_to_it_and_the_job_waits(
    sessions: SessionFactory, server: FakeBotApi, bot: ProbedBot
) -> None:
    users = USERS_200[:5]
    job_id = await job_with_people(sessions, users)
    outbox = make_outbox(sessions, bot)
    async with sessions.begin() as session:  # materialise only: claim the job, send nothing
        job = await deliveries.claim_job(session, job_id, NOW)
        assert job is not None
        await deliveries.materialise(session, job, users)
    held_row = (await by_user(sessions, job_id))[users[2]]
    async with sessions() as other_sender:
        assert await deliveries.hold(other_sender, held_row.id)
        sending = asyncio.ensure_future(outbox.run(job_id))
        await server.wait_for(lambda _: len(server.messages) >= 4, timeout=10)
        await asyncio.sleep(0.1)
        assert not sending.done()  # waiting for the held row, not calling the job done
        assert server.messages_to(users[2]) == []
        await deliveries.mark_sent(other_sender, held_row.id, 999, NOW)
        await other_sender.commit()
    report = await asyncio.wait_for(sending, timeout=10)
    assert report is not None and (report.delivered, report.pending) == (5, 0)
    assert server.messages_to(users[2]) == []  # the other sender's send, not ours
    assert (await job_row(sessions, job_id)).state == "done"
