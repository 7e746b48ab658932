"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL.

Every test that asks for `database_url` (directly, or through `engine`, `sessions` or the
end-to-end `bot`) runs twice: `[sqlite]` on a file database and `[postgresql]` on a fresh
database of the server named by TEST_POSTGRES_URL (skipped, with the reason in the summary,
when that variable is unset).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import SessionFactory, create_engine, create_session_factory
from storage.migrate import upgrade_to_head
from tests import postgres


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "postgresql: runs against the PostgreSQL server named by TEST_POSTGRES_URL"
    )


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)],
)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'codesign.db'}"
        return
    server = postgres.server_url()
    if server is None:
        pytest.skip(postgres.SKIP_REASON)
    async with postgres.fresh_database(server) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> SessionFactory:
    return create_session_factory(engine)
