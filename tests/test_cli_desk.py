"""`codesign-bot workshops` and `codesign-bot export` work from the database alone."""

from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage.engine import SessionFactory
from storage.repositories import answers, people, workshops

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


async def _seed(sessions: SessionFactory) -> str:
    async with sessions() as session, session.begin():
        ws = await workshops.create(session, title="Desk test", scope=["h1"], languages=["en"])
        await people.upsert_person(session, 7, language="en")
        p = await people.create_participant(
            session, user_id=7, workshop_id=ws.id, position="review", now=NOW
        )
        p.role = "worker"
        await answers.save(
            session,
            participant_id=p.id,
            recommendation_id="h1",
            question="needs",
            value="=cmd|' /C calc'!A0",
            skipped=False,
            voice_file_id=None,
            voice_duration=None,
            now=NOW,
        )
        return ws.code


async def test_desk_commands(
    sessions: SessionFactory,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = await _seed(sessions)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "answers.csv"

    def run(*argv: str) -> Awaitable[int]:
        # main() owns its event loop, as it does from the shell: run it in a thread.
        return asyncio.get_running_loop().run_in_executor(None, main, list(argv))

    assert await run("workshops") == 0
    listing = capsys.readouterr().out
    assert code in listing and "Desk test" in listing

    assert await run("export", "--workshop", code, "--format", "csv", "--out", str(out)) == 0
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["role"], r["answer"]) for r in rows] == [("worker", "'=cmd|' /C calc'!A0")]
    assert await run("export", "--workshop", "NOPE", "--out", str(out)) == 1
