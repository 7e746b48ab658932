"""Storage: the schema the migrations build, answers, idempotency and deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import SessionFactory
from storage.models import (
    Answer,
    Base,
    Facilitator,
    Participant,
    PendingInput,
    Person,
    ProcessedUpdate,
    Workshop,
)
from storage.repositories import answers, people, updates, workshops

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def test_migrations_produce_exactly_the_models_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []


async def _participant(sessions: SessionFactory) -> tuple[int, int]:
    async with sessions() as session, session.begin():
        ws = await workshops.create(session, title="W", scope=["h1"], languages=["en"])
        await people.upsert_person(session, 42, language="en")
        p = await people.create_participant(
            session, user_id=42, workshop_id=ws.id, position="role", now=NOW
        )
        return ws.id, p.id


async def test_workshop_codes_are_long_random_and_unique(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        codes = {
            (await workshops.create(session, title="W", scope=["h1"], languages=["en"])).code
            for _ in range(20)
        }
    assert len(codes) == 20 and all(len(code) >= 8 for code in codes)


async def test_saving_the_same_answer_twice_keeps_one_row(sessions: SessionFactory) -> None:
    _, pid = await _participant(sessions)
    for value, at in (("first", NOW), ("second", NOW + timedelta(minutes=5))):
        async with sessions() as session, session.begin():
            await answers.save(
                session,
                participant_id=pid,
                recommendation_id="h1",
                question="needs",
                value=value,
                skipped=False,
                voice_file_id=None,
                voice_duration=None,
                now=at,
            )
    async with sessions() as session:
        rows = (await session.scalars(select(Answer))).all()
    assert [(r.value, r.answered_at, r.edited_at) for r in rows] == [
        ("second", NOW, NOW + timedelta(minutes=5))
    ]


async def test_claiming_an_update_twice_is_refused(sessions: SessionFactory) -> None:
    async with sessions() as session, session.begin():
        assert await updates.claim(session, 7, NOW)
    async with sessions() as session, session.begin():
        assert not await updates.claim(session, 7, NOW)
        assert await updates.prune(session, NOW + timedelta(days=3)) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0


async def test_forgetting_a_person_leaves_nothing_in_any_table(sessions: SessionFactory) -> None:
    _, pid = await _participant(sessions)
    async with sessions() as session, session.begin():
        await answers.save(
            session,
            participant_id=pid,
            recommendation_id="h1",
            question="priority",
            value="4",
            skipped=False,
            voice_file_id=None,
            voice_duration=None,
            now=NOW,
        )
        data = await people.describe_person(session, 42)
    assert data is not None and data["participations"][0]["answers"][0]["value"] == "4"
    async with sessions() as session, session.begin():
        ws = await workshops.create(
            session, title="Theirs", scope=["h1"], languages=["en"], created_by=42
        )
        session.add(PendingInput(telegram_user_id=42, kind="broadcast", workshop_id=ws.id))
        session.add(Facilitator(telegram_user_id=42, added_by=1))
    async with sessions() as session, session.begin():
        assert await people.delete_everything(session, 42) == 1
    async with sessions() as session:
        for model in (Person, Participant, Answer, PendingInput, Facilitator):
            assert await session.scalar(select(func.count()).select_from(model)) == 0
        assert await session.scalar(select(func.count()).select_from(Workshop)) == 2
        assert (await session.scalars(select(Workshop.created_by))).all() == [None, None]
        assert await people.describe_person(session, 42) is None
