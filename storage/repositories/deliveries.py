"""The outbox: scheduled jobs and their per-recipient delivery rows.

A delivery row is written for every recipient *before* anything is sent, and each row moves
out of "pending" in its own short transaction right after its send. A sender that crashes
therefore resumes from the rows still pending: nobody is skipped, and nobody already recorded
as sent gets the message again. No Telegram here: callers pass plain ids, errors as short text.

Every state change is a guarded UPDATE (`... WHERE state = 'pending'`), so recording an
outcome twice, or for a row deleted meanwhile by /forget, changes nothing instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Delivery, JobState, Person, ScheduledJob

# Delivery states. Only PENDING is ever picked up by a sender; the others are final.
PENDING: Final = "pending"
SENT: Final = "sent"
BLOCKED: Final = "blocked"  # 403: the person blocked the bot; never retried
FAILED: Final = "failed"  # permanent error, or retries used up
SKIPPED: Final = "skipped"  # nothing to send any more (e.g. they opted out since)
DELIVERY_STATES: Final = (PENDING, SENT, BLOCKED, FAILED, SKIPPED)

# A job left RUNNING by a crash is runnable again so it can resume.
RUNNABLE_JOB_STATES: Final = (JobState.PENDING, JobState.RUNNING)

MAX_ERROR_CHARS: Final = 200  # the column holds 255; errors are a diagnosis, not a log
# Far below SQLite's bound-variable limit, so huge audiences are looked up in chunks.
_CHUNK: Final = 500


def short_error(error: str) -> str:
    """Error text fit for `last_error`: one line, bounded."""
    one_line = " ".join(error.split())
    if len(one_line) <= MAX_ERROR_CHARS:
        return one_line
    return one_line[: MAX_ERROR_CHARS - 1] + "…"


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------------------- jobs


async def get_job(session: AsyncSession, job_id: int) -> ScheduledJob | None:
    return await session.get(ScheduledJob, job_id)


async def job_state(session: AsyncSession, job_id: int) -> str | None:
    """Read fresh from the database, so a sender notices a job cancelled while it runs."""
    state = await session.scalar(select(ScheduledJob.state).where(ScheduledJob.id == job_id))
    return None if state is None else str(state)


async def claim_job(session: AsyncSession, job_id: int, now: datetime) -> ScheduledJob | None:
    """Take the job for sending: pending becomes running; running is returned to resume.

    None for a job that does not exist or is done, cancelled or missed. The pending-to-running
    step is a guarded UPDATE, so of two claimers racing on the same pending job only one wins.
    A running job may be resumed while its first sender still runs (two bot processes): each
    delivery is held while it is sent (`hold`), so nobody gets it twice either way.
    """
    job = await session.get(ScheduledJob, job_id)
    if job is None or job.state not in RUNNABLE_JOB_STATES:
        return None
    if job.state == JobState.PENDING:
        result = await session.execute(
            update(ScheduledJob)
            .where(ScheduledJob.id == job_id, ScheduledJob.state == JobState.PENDING)
            .values(state=JobState.RUNNING, started_at=now)
            .execution_options(synchronize_session=False)
        )
        if _rowcount(result) != 1:
            return None
        await session.refresh(job)
    return job


async def finish_job(session: AsyncSession, job_id: int, now: datetime) -> bool:
    """Running becomes done; a job cancelled meanwhile stays cancelled. True if it changed."""
    result = await session.execute(
        update(ScheduledJob)
        .where(ScheduledJob.id == job_id, ScheduledJob.state == JobState.RUNNING)
        .values(state=JobState.DONE, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


# ---------------------------------------------------------------------------- deliveries


async def materialise(session: AsyncSession, job: ScheduledJob, user_ids: Iterable[int]) -> int:
    """Insert a pending delivery per recipient not already in the job; returns how many.

    Idempotent: existing (job, recipient) rows are skipped, so calling it again after a crash
    or with an overlapping list adds only the newcomers. Ids with no Person row (the person
    deleted their data since the audience was chosen) are ignored rather than failing the
    whole job on the foreign key. Duplicates in `user_ids` count once; order is kept, so
    delivery ids (the sending order) follow the order the recipients were given in.
    """
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return 0
    existing: set[int] = set()
    known: set[int] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        existing.update(
            await session.scalars(
                select(Delivery.telegram_user_id).where(
                    Delivery.job_id == job.id, Delivery.telegram_user_id.in_(chunk)
                )
            )
        )
        known.update(
            await session.scalars(
                select(Person.telegram_user_id).where(Person.telegram_user_id.in_(chunk))
            )
        )
    rows = [
        {"job_id": job.id, "telegram_user_id": user_id, "state": PENDING, "attempts": 0}
        for user_id in wanted
        if user_id in known and user_id not in existing
    ]
    if rows:
        await session.execute(insert(Delivery), rows)
    return len(rows)


async def was_sent(session: AsyncSession, user_id: int, workshop_id: int, kind: str) -> bool:
    """Whether a job of this kind in this workshop reached this person."""
    found = await session.scalar(
        select(Delivery.id)
        .join(ScheduledJob, ScheduledJob.id == Delivery.job_id)
        .where(
            Delivery.telegram_user_id == user_id,
            Delivery.state == SENT,
            ScheduledJob.workshop_id == workshop_id,
            ScheduledJob.kind == kind,
        )
        .limit(1)
    )
    return found is not None


async def has_deliveries(session: AsyncSession, job_id: int) -> bool:
    found = await session.scalar(select(Delivery.id).where(Delivery.job_id == job_id).limit(1))
    return found is not None


async def pending_batch(session: AsyncSession, job_id: int, limit: int) -> list[Delivery]:
    """The next pending deliveries in id order: materialisation order, retries first.

    On PostgreSQL those another sender holds (`hold`) right now are left out; the row locks
    this read takes go when the caller's transaction ends (SQLite ignores FOR UPDATE).
    """
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.job_id == job_id, Delivery.state == PENDING)
        .order_by(Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def hold(session: AsyncSession, delivery_id: int) -> bool:
    """Hold a pending delivery for this sender until the transaction ends; False if it is not
    pending any more, or another sender (another bot process) holds it.

    PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`. The sender keeps the transaction open
    while it sends and records the outcome in it, so two processes never send one delivery,
    and a sender that dies mid-send frees the row for the other. SQLite (one process): a plain
    read; do not keep the transaction open there, its one connection is everyone's.
    """
    found = await session.scalar(
        select(Delivery.id)
        .where(Delivery.id == delivery_id, Delivery.state == PENDING)
        .with_for_update(skip_locked=True)
    )
    return found is not None


async def _set_outcome(session: AsyncSession, delivery_id: int, values: Mapping[str, Any]) -> bool:
    result = await session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == PENDING)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return _rowcount(result) == 1


async def mark_sent(
    session: AsyncSession, delivery_id: int, message_id: int, now: datetime
) -> bool:
    """Record the send with Telegram's message id; False if the row is gone or not pending."""
    return await _set_outcome(
        session, delivery_id, {"state": SENT, "message_id": message_id, "sent_at": now}
    )


async def mark_blocked(session: AsyncSession, delivery_id: int, error: str, now: datetime) -> bool:
    """The person blocked the bot: final for this delivery, and no more sends to them.

    Setting `Person.unreachable` lets every other job's audience leave them out until they
    come back, instead of collecting a 403 per job. `now` (the time of the refusal) is
    accepted for symmetry with `mark_sent` but not stored: the row has no column for it, and
    `sent_at` must stay empty for something that was never delivered.
    """
    recipient = await session.scalar(
        select(Delivery.telegram_user_id).where(Delivery.id == delivery_id)
    )
    changed = await _set_outcome(
        session,
        delivery_id,
        {
            "state": BLOCKED,
            "attempts": Delivery.attempts + 1,
            "last_error": short_error(error),
        },
    )
    if changed and recipient is not None:
        await session.execute(
            update(Person)
            .where(Person.telegram_user_id == recipient)
            .values(unreachable=True)
            .execution_options(synchronize_session=False)
        )
    return changed


async def mark_retry(session: AsyncSession, delivery_id: int, error: str) -> bool:
    """A transient failure: count the attempt, keep the row pending for a later pass."""
    return await _set_outcome(
        session,
        delivery_id,
        {"attempts": Delivery.attempts + 1, "last_error": short_error(error)},
    )


async def mark_failed(session: AsyncSession, delivery_id: int, error: str) -> bool:
    """Give up on this delivery (permanent error or retries used up); counts the attempt."""
    return await _set_outcome(
        session,
        delivery_id,
        {"state": FAILED, "attempts": Delivery.attempts + 1, "last_error": short_error(error)},
    )


async def mark_skipped(session: AsyncSession, delivery_id: int) -> bool:
    """Nothing to send to this person any more; not an error."""
    return await _set_outcome(session, delivery_id, {"state": SKIPPED})


async def counts(session: AsyncSession, job_id: int) -> Mapping[str, int]:
    """Deliveries per state for one job; every known state is present, zero if none."""
    rows = await session.execute(
        select(Delivery.state, func.count())
        .where(Delivery.job_id == job_id)
        .group_by(Delivery.state)
    )
    result = dict.fromkeys(DELIVERY_STATES, 0)
    for state, count in rows:
        result[str(state)] = int(count)
    return result
