"""PostgreSQL advisory locks shared by the bot processes of one database.

Two key spaces that PostgreSQL keeps apart: one 64-bit key (a person's Telegram id, for the
per-person lock of an update's transaction) and pairs of 32-bit keys under `NAMESPACE` and
`INSTANCES` (the roles and the instances of `bot/replicas.py`). Advisory locks are per
database, so two databases on one server never meet. On SQLite (one process) every function
here does nothing, and a dead instance is never asked about.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# "CoDS": the bot's roles. Each running process also holds (INSTANCES, its instance id).
NAMESPACE: Final = 0x436F4453
INSTANCES: Final = NAMESPACE + 1
SCHEDULER: Final = 1
POLLER: Final = 2


def is_postgresql(session: AsyncSession | AsyncConnection) -> bool:
    if isinstance(session, AsyncSession):
        return session.get_bind().dialect.name == "postgresql"
    return session.dialect.name == "postgresql"


async def lock_person(session: AsyncSession, user_id: int) -> None:
    """Until this transaction ends, no other transaction of this person's runs, in any
    process (PostgreSQL); a second one waits. SQLite has a single writer already."""
    if is_postgresql(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": user_id})


async def try_role(connection: AsyncConnection, role: int) -> bool:
    """Take a role for the life of this connection's session, unless another holds it.

    Not re-entrant: call it only for a role this connection does not hold yet.
    """
    result = await connection.execute(
        text("SELECT pg_try_advisory_lock(:space, :role)"), {"space": NAMESPACE, "role": role}
    )
    return bool(result.scalar())


async def try_instance(connection: AsyncConnection, instance: int) -> bool:
    """Hold this process's instance lock for the life of the connection's session."""
    result = await connection.execute(
        text("SELECT pg_try_advisory_lock(:space, :instance)"),
        {"space": INSTANCES, "instance": instance},
    )
    return bool(result.scalar())


async def instance_gone(session: AsyncSession, instance: int) -> bool:
    """Whether the process that was `instance` has stopped (its lock is free).

    The lock is taken for the rest of the caller's transaction, so the answer holds until it
    commits (an id is random, so a new process never takes a dead one's).
    """
    result = await session.execute(
        text("SELECT pg_try_advisory_xact_lock(:space, :instance)"),
        {"space": INSTANCES, "instance": instance},
    )
    return bool(result.scalar())
