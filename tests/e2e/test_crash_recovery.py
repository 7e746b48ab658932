"""kill -9 while people answer: afterwards every input had its effect and its reply.

The real bot runs as a separate process (`python -m bot run`, polling or `--webhook`) against
the fake Telegram server, and is killed with SIGKILL at random moments (seeded) while 50 people
join a workshop of two topics and answer it, then started again. `bench/crash.py` does the
work and counts; `python -m bench.crash --kills 5 --runs 3` runs more of it and prints the
figures. CRASH_PEOPLE, CRASH_KILLS and CRASH_SEED change the sizes here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.crash import CrashOptions, run_crashes

pytestmark = pytest.mark.e2e

PEOPLE = int(os.environ.get("CRASH_PEOPLE", "50"))
KILLS = int(os.environ.get("CRASH_KILLS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "7"))


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_kill_9_while_people_answer_loses_misplaces_and_repeats_nothing(
    mode: str, database_url: str, tmp_path: Path
) -> None:
    options = CrashOptions(
        people=PEOPLE,
        kills=KILLS,
        seed=SEED,
        webhook=mode == "webhook",
        database_url=None if database_url.startswith("sqlite") else database_url,
    )
    figures = await run_crashes(options, tmp_path)
    report = "\n".join(figures.lines())
    assert figures.kills == KILLS, report
    assert figures.inputs >= PEOPLE * 9, report
    # Every input had its effect once, under its own question, and its reply; nobody had to
    # send /start again; no traceback in any of the bot's logs.
    assert figures.problems() == [], report
