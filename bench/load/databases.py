"""The database of a run: a scratch SQLite file or PostgreSQL database, and its answers.

Every run gets a fresh database so only that run's answers are in it; afterwards the stored
answers are compared row for row with what the people typed (`people.typed_answers`), which
is how lost and duplicated answers are found.
"""

from __future__ import annotations

import contextlib
import secrets
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from bench.load.people import FIRST_USER, typed_answers
from storage.engine import create_engine, create_session_factory
from storage.models import Answer, Participant
from tests.postgres import fresh_database


@dataclass(frozen=True)
class AnswerCheck:
    typed: int
    stored: int
    lost: int
    extra: int
    finished: int


async def check_answers(database_url: str, participants: int) -> AnswerCheck:
    """Compare the stored answers with what every participant typed, row for row."""
    expected: Counter[tuple[int, str, str, str | None]] = Counter()
    for index in range(participants):
        for (rec, question), value in typed_answers(index).items():
            expected[(FIRST_USER + index, rec, question, value)] += 1
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            users = Participant.telegram_user_id
            rows = await session.execute(
                select(users, Answer.recommendation_id, Answer.question, Answer.value)
                .join(Participant, Participant.id == Answer.participant_id)
                .where(users >= FIRST_USER, users < FIRST_USER + participants)
            )
            stored: Counter[tuple[int, str, str, str | None]] = Counter(
                (int(u), str(r), str(q), v) for u, r, q, v in rows
            )
            finished = len(
                (
                    await session.scalars(
                        select(users).where(
                            users >= FIRST_USER,
                            users < FIRST_USER + participants,
                            Participant.finished_at.is_not(None),
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    return AnswerCheck(
        typed=sum(expected.values()),
        stored=sum(stored.values()),
        lost=sum((expected - stored).values()),
        extra=sum((stored - expected).values()),
        finished=finished,
    )


@contextlib.asynccontextmanager
async def database(url: str | None, directory: Path) -> AsyncIterator[str]:
    if url is None:
        yield f"sqlite+aiosqlite:///{directory / f'load-{secrets.token_hex(3)}.db'}"
    elif url.startswith("postgresql+asyncpg://"):
        # The tests' scratch database: created on the server of `url`, dropped afterwards.
        async with fresh_database(make_url(url)) as scratch:
            yield scratch
    else:
        yield url  # a new SQLite file: checked by url_problem() before the run


def url_problem(url: str) -> str | None:
    if url.startswith("postgresql+asyncpg://"):
        return None
    if not url.startswith("sqlite+aiosqlite:///"):
        return "--database-url must start with sqlite+aiosqlite:/// or postgresql+asyncpg://"
    path = Path(make_url(url).database or "")
    if path.exists():
        return f"{path} exists; give a new SQLite file, so only this run's answers are in it"
    return None


def backend_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"
