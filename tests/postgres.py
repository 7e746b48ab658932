"""The PostgreSQL server the tests run against, when there is one.

`scripts/postgres-test-cluster.sh start` starts a throwaway server and prints the two variables
read here. Without TEST_POSTGRES_URL the PostgreSQL variants of the tests are skipped, with
SKIP_REASON in pytest's summary; with it, a server that cannot be reached is an error.
"""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, make_url

URL_VARIABLE = "TEST_POSTGRES_URL"
CTL_VARIABLE = "TEST_POSTGRES_CTL"
SKIP_REASON = (
    f"PostgreSQL tests need {URL_VARIABLE} "
    "(run scripts/postgres-test-cluster.sh start; see README)"
)
CTL_SKIP_REASON = (
    f"the database outage test needs {CTL_VARIABLE} to stop and start the server "
    "(run scripts/postgres-test-cluster.sh start; see README)"
)


def server_url() -> URL | None:
    """The SQLAlchemy URL of a database on the test server with rights to create databases."""
    value = os.environ.get(URL_VARIABLE, "").strip()
    return make_url(value) if value else None


def _asyncpg_dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@asynccontextmanager
async def fresh_database(server: URL) -> AsyncIterator[str]:
    """Create an empty database for one test; yield its URL; drop it afterwards."""
    name = f"t_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(_asyncpg_dsn(server), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(server), timeout=30)
        try:
            # FORCE (PostgreSQL 13+) ends connections a test left open.
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def control_command() -> list[str] | None:
    """How to stop (`pause`) and start (`resume`) the test server, if it was given."""
    value = os.environ.get(CTL_VARIABLE, "").strip()
    return shlex.split(value) if value else None


def control(action: str) -> None:
    """Stop or start the test server: `pause` (pg_ctl stop -m fast, data kept) or `resume`."""
    command = control_command()
    assert command is not None, CTL_SKIP_REASON
    subprocess.run([*command, action], check=True, timeout=90, capture_output=True)
