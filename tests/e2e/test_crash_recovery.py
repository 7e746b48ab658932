"""kill -9 while people answer: afterwards every input had its effect and its reply.

The real bot runs as a separate process (`python -m bot run`, polling or `--webhook`) against
the fake Telegram server, and is killed with SIGKILL at random moments (seeded) while 50 people
join a workshop of two topics and answer it, then started again. `bench/crash.py` does the
work and counts; `python -m bench.crash --kills 5 --runs 3` runs more of it and prints the
figures. CRASH_PEOPLE, CRASH_KILLS and CRASH_SEED change the sizes here.

Each run takes about 45 s, so the suite runs two: polling on SQLite and the webhook on
PostgreSQL, which covers both modes and both databases (`bench.crash` runs any other pair).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.crash import CrashOptions, Figures, run_crashes
from tests import postgres

pytestmark = pytest.mark.e2e

PEOPLE = int(os.environ.get("CRASH_PEOPLE", "50"))
KILLS = int(os.environ.get("CRASH_KILLS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "7"))


@pytest.mark.parametrize(
    "mode",
    ["polling-sqlite", pytest.param("webhook-postgresql", marks=pytest.mark.postgresql)],
)
async def test_kill_9_while_people_answer_loses_misplaces_and_repeats_nothing(
    mode: str, tmp_path: Path
) -> None:
    if mode.endswith("sqlite"):
        figures = await _crashes(mode, None, tmp_path)
    else:
        server = postgres.server_url()
        if server is None:
            pytest.skip(postgres.SKIP_REASON)
        async with postgres.fresh_database(server) as url:
            figures = await _crashes(mode, url, tmp_path)
    report = "\n".join(figures.lines())
    assert figures.kills == KILLS, report
    assert figures.inputs >= PEOPLE * 9, report
    # Every input had its effect once, under its own question, and its reply; nobody had to
    # send /start again; no traceback in any of the bot's logs.
    assert figures.problems() == [], report


async def _crashes(mode: str, database_url: str | None, tmp_path: Path) -> Figures:
    options = CrashOptions(
        people=PEOPLE,
        kills=KILLS,
        seed=SEED,
        webhook=mode.startswith("webhook"),
        database_url=database_url,
    )
    return await run_crashes(options, tmp_path)
