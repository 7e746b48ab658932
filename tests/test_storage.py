"""Storage: the schema the migrations build, answers, idempotency and deletion."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import alembic_config, upgrade_to_head
from storage.models import (
    Answer,
    Base,
    Delivery,
    Facilitator,
    Participant,
    PendingInput,
    Person,
    ProcessedUpdate,
    ScheduledJob,
    Workshop,
)
from storage.repositories import (
    answers,
    deliveries,
    facilitators,
    people,
    schedules,
    updates,
    workshops,
)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


async def _schema_diff(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )


async def _migrate(engine: AsyncEngine, direction: str, revision: str) -> None:
    def run(connection: Connection) -> None:
        getattr(command, direction)(alembic_config(connection), revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_migrations_produce_exactly_the_models_schema(engine: AsyncEngine) -> None:
    assert await _schema_diff(engine) == []


async def test_migrations_go_down_to_nothing_and_up_again(engine: AsyncEngine) -> None:
    await _migrate(engine, "downgrade", "base")
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables <= {"alembic_version"}
    await upgrade_to_head(engine)
    assert await _schema_diff(engine) == []


async def test_upgrading_a_database_in_use_fills_the_new_columns(database_url: str) -> None:
    """Rows written before 0003 get its defaults (JSON list, false, numbers) on both backends."""
    engine = create_engine(database_url)
    try:
        await _migrate(engine, "upgrade", "0002")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO workshops (code, title, scope, languages, is_open, is_default,"
                    " status, created_at) VALUES ('OLD', 'Before', '[\"h1\"]', '[\"en\"]',"
                    " :yes, :no, 'active', :now)"
                ),
                {"yes": True, "no": False, "now": NOW},
            )
            await connection.execute(
                text(
                    "INSERT INTO people (telegram_user_id, language, reminders_enabled,"
                    " created_at) VALUES (42, 'en', :yes, :now)"
                ),
                {"yes": True, "now": NOW},
            )
        await upgrade_to_head(engine)
        assert await _schema_diff(engine) == []
        async with create_session_factory(engine)() as session:
            workshop = await workshops.get_by_code(session, "OLD")
            person = await people.get_person(session, 42)
        assert workshop is not None and person is not None
        assert (workshop.scope, workshop.nudge_hours, workshop.followup_days) == (
            ["h1"],
            [24, 72],
            7,
        )
        assert workshop.timezone == "Europe/Brussels" and workshop.starts_at is None
        assert workshop.created_at == NOW
        assert person.unreachable is False and person.reminders_enabled is True
    finally:
        await engine.dispose()


async def test_the_default_workshop_of_two_languages_offers_all_six_after_0005(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await _migrate(engine, "upgrade", "0004")
        async with engine.begin() as connection:
            for code, default, languages in (
                ("DEF", True, '["en", "fr"]'),
                ("OWN", False, '["en", "fr"]'),
                ("ONE", True, '["fr"]'),
            ):
                await connection.execute(
                    text(
                        "INSERT INTO workshops (code, title, scope, languages, is_open,"
                        " is_default, status, created_at) VALUES (:code, 'W', '[\"h1\"]',"
                        " :languages, :yes, :default, 'active', :now)"
                    ),
                    {
                        "code": code,
                        "languages": languages,
                        "yes": True,
                        "default": default,
                        "now": NOW,
                    },
                )
        await upgrade_to_head(engine)
        async with create_session_factory(engine)() as session:
            found = {
                code: (await workshops.get_by_code(session, code))
                for code in ("DEF", "OWN", "ONE")
            }
        assert {code: w.languages for code, w in found.items() if w} == {
            "DEF": ["en", "fr", "de", "es", "it", "nl"],
            "OWN": ["en", "fr"],  # a workshop someone created keeps its languages
            "ONE": ["fr"],  # a default someone restricted stays restricted
        }
    finally:
        await engine.dispose()


async def test_telegram_ids_beyond_32_bits_are_kept(sessions: SessionFactory) -> None:
    """User, chat, message and update ids outgrow 32-bit integers (PostgreSQL would refuse)."""
    user_id, chat_id, message_id, update_id = 7_987_654_321, -1_002_345_678_901, 2**40, 2**33
    async with sessions() as session, session.begin():
        ws = await workshops.create(
            session, title="W", scope=["h1"], languages=["en"], created_by=user_id
        )
        await people.upsert_person(session, user_id, language="en")
        await people.create_participant(
            session, user_id=user_id, workshop_id=ws.id, position="role", now=NOW
        )
        await facilitators.promote(session, user_id, added_by=user_id, now=NOW)
        job = await schedules.add(
            session, workshop_id=ws.id, kind="broadcast", due_at=NOW, created_by=user_id, now=NOW
        )
        job.progress_chat_id, job.progress_message_id = chat_id, message_id
        assert await deliveries.materialise(session, job, [user_id]) == 1
        assert await updates.claim(session, update_id, NOW)
    async with sessions() as session, session.begin():
        (delivery,) = await deliveries.pending_batch(session, job.id, 10)
        assert await deliveries.mark_sent(session, delivery.id, message_id, NOW)
    async with sessions() as session:
        participant = await session.scalar(select(Participant))
        stored_job = await session.get(ScheduledJob, job.id)
        assert participant is not None and participant.telegram_user_id == user_id
        assert stored_job is not None
        assert (stored_job.progress_chat_id, stored_job.progress_message_id) == (
            chat_id,
            message_id,
        )
        assert await facilitators.promoted_ids(session) == [user_id]
        assert await session.get(ProcessedUpdate, update_id) is not None
        assert await schedules.reachable_participants(session, ws.id) == [user_id]
        assert await session.scalar(select(Delivery.message_id)) == message_id


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


async def test_two_deliveries_of_one_update_racing_claim_it_once(sessions: SessionFactory) -> None:
    """The second claim waits for the first transaction and then finds the id taken."""
    first_claimed = asyncio.Event()
    release = asyncio.Event()

    async def first() -> bool:
        async with sessions() as session, session.begin():
            claimed = await updates.claim(session, 11, NOW)
            first_claimed.set()
            await release.wait()
            return claimed

    async def second() -> bool:
        await first_claimed.wait()
        async with sessions() as session, session.begin():
            return await updates.claim(session, 11, NOW)

    racing = asyncio.gather(first(), second())
    await asyncio.sleep(0.3)  # the second claim is now waiting on the first transaction
    release.set()
    assert await asyncio.wait_for(racing, timeout=10) == [True, False]
    async with sessions() as session:
        count = select(func.count()).select_from(ProcessedUpdate)
        assert await session.scalar(count) == 1


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
