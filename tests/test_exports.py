"""Exports: every answer exactly once, formulas neutralised, nothing held, nothing half-written."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from bot.exports import run as export_run
from bot.exports import writers as export_writers
from bot.exports.cells import neutralise
from bot.exports.columns import RESPONSE_COLUMNS
from bot.exports.output import WorkshopNotFound, part_path
from bot.exports.run import (
    ExportFormat,
    export_voices,
    export_workshop,
    progress_bar,
)
from bot.exports.writers import write_csv, write_json, write_xlsx
from storage.engine import SessionFactory
from storage.models import Answer, Participant
from storage.repositories import answers, people, workshops
from storage.repositories.responses import ResponseRow

NOW = datetime(2026, 11, 23, 10, 0, 7, 123456, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
SCOPE = ("h1", "h2")
VOICE_BYTES = b"OggS\x00\x02fake opus bytes \xff\x00"
ROLE_WORDS = '=cmd|"/C calc"!A0, a "carer"'

# What a spreadsheet must show for answers that look like formulas (OWASP CSV injection).
NEUTRALISED = {
    '=HYPERLINK("http://x")': '\'=HYPERLINK("http://x")',
    "+1": "'+1",
    "-2": "'-2",
    "@SUM(A1)": "'@SUM(A1)",
    "\tTab": "'\tTab",
    "\rCR": "'\rCR",
}
# XML readers turn CR into LF, and control characters cannot be stored in XLSX at all.
XLSX_ONLY = {"'\rCR": "'\nCR", "bell\x07 ring": "bell\ufffd ring"}
UNICODE = 'Très inquiète 😟, "vraiment"\nligne 2; élève'


@dataclass(frozen=True)
class Given:
    code: str
    pseudonyms: dict[str, str]  # role -> pseudonym
    voice_path: str


async def _save(
    sessions: SessionFactory,
    pid: int,
    rec: str,
    question: str,
    value: str | None,
    *,
    skipped: bool = False,
    voice: str | None = None,
    now: datetime = NOW,
    round: int = 1,
) -> None:
    async with sessions() as session, session.begin():
        await answers.save(
            session,
            participant_id=pid,
            recommendation_id=rec,
            question=question,
            value=value,
            skipped=skipped,
            voice_file_id=voice,
            voice_duration=4 if voice else None,
            now=now,
            round=round,
        )


async def _workshop(sessions: SessionFactory, data_dir: Path) -> Given:
    """Three roles; formulas, unicode, a skip, an edit, a second round, a stored recording."""
    async with sessions() as session, session.begin():
        ws = await workshops.create(session, title="Lyon", scope=SCOPE, languages=["en", "fr"])
        ids: dict[str, int] = {}
        pseudonyms: dict[str, str] = {}
        for user_id, role, language in (
            (1, "worker", "en"),
            (2, "service_user", "fr"),
            (3, "other", "en"),
        ):
            await people.upsert_person(session, user_id, language=language)
            p = await people.create_participant(
                session, user_id=user_id, workshop_id=ws.id, position="done", now=NOW
            )
            p.role = role
            p.role_other = ROLE_WORDS if role == "other" else None
            ids[role], pseudonyms[role] = p.id, p.pseudonym
        code = ws.code
    worker, user, other = ids["worker"], ids["service_user"], ids["other"]
    await _save(sessions, worker, "h1", "priority", "4")
    await _save(sessions, worker, "h1", "needs", '=HYPERLINK("http://x")')
    await _save(sessions, worker, "h1", "concerns", "+1")
    await _save(sessions, worker, "h2", "priority", "5")
    await _save(sessions, worker, "h2", "needs", "-2")
    await _save(sessions, worker, "h2", "concerns", None, skipped=True)
    await _save(sessions, worker, "h1", "priority", "1", round=2)
    await _save(sessions, user, "h1", "priority", "unsure")
    await _save(sessions, user, "h1", "needs", "@SUM(A1)")
    await _save(sessions, user, "h1", "concerns", "\tTab")
    await _save(sessions, user, "h2", "priority", "2")
    await _save(sessions, user, "h2", "needs", "\rCR")
    await _save(sessions, user, "h2", "concerns", UNICODE)
    await _save(sessions, other, "h1", "priority", "3")
    await _save(sessions, other, "h1", "needs", None, voice="tg-file-1")
    await _save(sessions, other, "h1", "concerns", "first, draft")
    await _save(sessions, other, "h1", "concerns", "a, b; c", now=LATER)
    await _save(sessions, other, "h2", "priority", None, skipped=True)
    await _save(sessions, other, "h2", "needs", "bell\x07 ring")
    await _save(sessions, other, "h2", "concerns", None, voice="tg-file-2")

    voice_path = f"voice/{pseudonyms['other']}/1.ogg"
    (data_dir / voice_path).parent.mkdir(parents=True)
    (data_dir / voice_path).write_bytes(VOICE_BYTES)
    (data_dir.parent / "secret.ogg").write_bytes(b"not yours")
    async with sessions() as session, session.begin():
        for file_id, path in (("tg-file-1", voice_path), ("tg-file-2", "../secret.ogg")):
            await session.execute(
                update(Answer).where(Answer.voice_file_id == file_id).values(voice_path=path)
            )
    return Given(code=code, pseudonyms=pseudonyms, voice_path=voice_path)


async def _stored(sessions: SessionFactory) -> dict[tuple[str, str, str, int], Answer]:
    async with sessions() as session:
        rows = await session.execute(
            select(Participant.pseudonym, Answer).join(Answer.participant)
        )
        return {(p, a.recommendation_id, a.question, a.round): a for p, a in rows}


def _shown(answer: Answer) -> str:
    """The answer text a spreadsheet must show."""
    if answer.skipped or answer.voice_file_id is not None or answer.value is None:
        return ""
    return NEUTRALISED.get(answer.value, answer.value)


def _role_of(given: Given) -> dict[str, str]:
    return {
        pseudonym: (f"other: {ROLE_WORDS}" if role == "other" else role)
        for role, pseudonym in given.pseudonyms.items()
    }


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *NEUTRALISED.items(),
        ("hello", "hello"),
        ("", ""),
        ("4", "4"),
        ("a=b", "a=b"),
        ("'=already", "'=already"),
        ("\n=next line", "\n=next line"),
    ],
)
def test_neutralise_prefixes_only_formula_starts(value: str, expected: str) -> None:
    assert neutralise(value) == expected


async def test_csv_has_every_answer_once_neutralised(
    sessions: SessionFactory, data_dir: Path, tmp_path: Path
) -> None:
    given = await _workshop(sessions, data_dir)
    stored = await _stored(sessions)
    out = tmp_path / "export.csv"

    result = await export_workshop(sessions, given.code, ExportFormat.CSV, out)

    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    with out.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == [column.name for column in RESPONSE_COLUMNS]
    rows = [dict(zip(table[0], line, strict=True)) for line in table[1:]]
    assert result.rows == len(rows) == len(stored)
    keys = [
        (r["participant"], r["recommendation_id"], r["question"], int(r["round"])) for r in rows
    ]
    assert sorted(keys) == sorted(stored)
    roles = _role_of(given)
    for row in rows:
        answer = stored[
            row["participant"], row["recommendation_id"], row["question"], int(row["round"])
        ]
        assert row["workshop_code"] == given.code
        assert row["role"] == roles[row["participant"]]
        assert row["answer"] == _shown(answer)
        assert row["skipped"] == ("true" if answer.skipped else "false")
        assert row["voice"] == ("true" if answer.voice_file_id else "false")
        assert row["answered_at"] == "2026-11-23T10:00:07Z"
        assert row["edited_at"] == ("2026-11-23T10:05:07Z" if answer.edited_at else "")
    by_key = {(r["participant"], r["recommendation_id"], r["question"]): r for r in rows}
    other = given.pseudonyms["other"]
    assert by_key[other, "h1", "needs"]["voice_file"] == given.voice_path
    assert by_key[other, "h1", "priority"]["recommendation_title"] == (
        "Co-develop inclusive AI solutions"
    )
    assert by_key[given.pseudonyms["service_user"], "h2", "concerns"]["answer"] == UNICODE
    assert by_key[given.pseudonyms["service_user"], "h2", "concerns"]["language"] == "fr"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


async def test_xlsx_sheets_values_and_summary(
    sessions: SessionFactory, data_dir: Path, tmp_path: Path
) -> None:
    given = await _workshop(sessions, data_dir)
    stored = await _stored(sessions)
    out = tmp_path / "export.xlsx"

    result = await export_workshop(sessions, given.code, ExportFormat.XLSX, out)

    book = load_workbook(out)
    assert book.sheetnames == ["Responses", "Participants", "Summary"]
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
        assert sheet.freeze_panes == "A2"
        last_column = sheet.cell(1, sheet.max_column).column_letter
        assert sheet.auto_filter.ref == f"A1:{last_column}{sheet.max_row}"

    table = [list(line) for line in book["Responses"].iter_rows(values_only=True)]
    header = [str(name) for name in table[0]]
    assert header[header.index("answered_at (UTC)")] == "answered_at (UTC)"
    rows = [dict(zip(header, line, strict=True)) for line in table[1:]]
    assert result.rows == len(rows) == len(stored)
    roles = _role_of(given)
    seen = set()
    for row in rows:
        key: Any = (row["participant"], row["recommendation_id"], row["question"], row["round"])
        seen.add(key)
        answer = stored[key]
        shown = _shown(answer)
        assert (row["answer"] or "") == XLSX_ONLY.get(shown, shown)
        assert row["role"] == roles[str(row["participant"])]
        assert row["skipped"] is answer.skipped
        assert row["answered_at (UTC)"] == datetime(2026, 11, 23, 10, 0, 7)
        assert row["edited_at (UTC)"] == (
            datetime(2026, 11, 23, 10, 5, 7) if answer.edited_at else None
        )
    assert seen == set(stored)

    participants = list(book["Participants"].iter_rows(values_only=True))
    assert participants[0] == (
        "participant",
        "role",
        "language",
        "consented_at (UTC)",
        "last_active_at (UTC)",
        "finished_at (UTC)",
        "answers",
        "easy_read",
    )
    counts = {line[0]: (line[1], line[6]) for line in participants[1:]}
    assert counts == {
        given.pseudonyms["worker"]: ("worker", 7),
        given.pseudonyms["service_user"]: ("service_user", 6),
        given.pseudonyms["other"]: (f"other: {ROLE_WORDS}", 6),
    }

    summary = list(book["Summary"].iter_rows(values_only=True))
    names = [str(name) for name in summary[0]]
    figures = {(line[0], line[2]): dict(zip(names, line, strict=True)) for line in summary[1:]}
    assert set(figures) == {
        (rec, role) for rec in SCOPE for role in ("worker", "service_user", "other", "all")
    }

    def pick(rec: str, role: str) -> tuple[Any, ...]:
        f = figures[rec, role]
        return (
            f["participants_answered"],
            f["mean_priority"],
            tuple(f[f"priority_{k}"] for k in ("1", "2", "3", "4", "5", "unsure")),
            f["needs"],
            f["concerns"],
            f["underrepresented"],
        )

    # Round 2 (the worker's "1" on h1) is listed in Responses but not counted, as in /stats.
    assert pick("h1", "worker") == (1, 4, (0, 0, 0, 1, 0, 0), 1, 1, False)
    assert pick("h1", "service_user") == (1, None, (0, 0, 0, 0, 0, 1), 1, 1, False)
    assert pick("h1", "other") == (1, 3, (0, 0, 1, 0, 0, 0), 1, 1, False)
    assert pick("h1", "all") == (3, 3.5, (0, 0, 1, 1, 0, 1), 3, 3, None)
    assert pick("h2", "worker") == (1, 5, (0, 0, 0, 0, 1, 0), 1, 0, False)
    assert pick("h2", "service_user") == (1, 2, (0, 1, 0, 0, 0, 0), 1, 1, False)
    assert pick("h2", "other") == (0, None, (0,) * 6, 1, 1, True)
    assert figures["h1", "all"]["participants_in_role"] == 3
    assert figures["h1", "other"]["recommendation_title"] == "Co-develop inclusive AI solutions"


async def test_json_keeps_original_text(
    sessions: SessionFactory, data_dir: Path, tmp_path: Path
) -> None:
    given = await _workshop(sessions, data_dir)
    stored = await _stored(sessions)
    out = tmp_path / "export.json"

    result = await export_workshop(sessions, given.code, ExportFormat.JSON, out)

    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["workshop"]["code"] == given.code
    assert document["workshop"]["scope"] == list(SCOPE)
    assert {p["participant"] for p in document["participants"]} == set(given.pseudonyms.values())
    responses = document["responses"]
    assert result.rows == len(responses) == len(stored)
    roles = _role_of(given)
    for item in responses:
        answer = stored.pop(
            (item["participant"], item["recommendation_id"], item["question"], item["round"])
        )
        hidden = answer.skipped or answer.voice_file_id is not None
        assert item["answer"] == (None if hidden else answer.value)
        assert item["role"] == roles[item["participant"]]
        assert item["skipped"] is answer.skipped
        assert item["answered_at"] == "2026-11-23T10:00:07Z"
    assert stored == {}
    values = {item["answer"] for item in responses}
    assert {'=HYPERLINK("http://x")', "\rCR", "\tTab", UNICODE, "bell\x07 ring"} <= values


async def test_voice_zip_holds_stored_recordings_only(
    sessions: SessionFactory, data_dir: Path, tmp_path: Path
) -> None:
    given = await _workshop(sessions, data_dir)
    out = tmp_path / "voices.zip"

    files = await export_voices(sessions, given.code, data_dir, out)

    assert files == 1
    with zipfile.ZipFile(out) as archive:
        assert archive.namelist() == [given.voice_path]  # never ../secret.ogg
        assert archive.read(given.voice_path) == VOICE_BYTES
        assert archive.getinfo(given.voice_path).compress_type == zipfile.ZIP_STORED
    assert not part_path(out).exists()


async def test_unknown_workshop_raises_and_writes_nothing(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    out = tmp_path / "exports" / "export.csv"
    with pytest.raises(WorkshopNotFound):
        await export_workshop(sessions, "NO-SUCH", ExportFormat.CSV, out)
    assert not out.parent.exists()


@pytest.mark.parametrize("fmt", list(ExportFormat))
async def test_export_is_atomic_and_reports_progress(
    sessions: SessionFactory, data_dir: Path, tmp_path: Path, fmt: ExportFormat
) -> None:
    given = await _workshop(sessions, data_dir)
    out = tmp_path / "out" / f"export.{fmt}"
    calls: list[tuple[int, int]] = []

    result = await export_workshop(
        sessions, given.code, fmt, out, progress=lambda *c: calls.append(c)
    )

    assert result.path == out and result.format is fmt
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert calls[0] == (0, result.rows)
    assert calls[-1] == (result.rows, result.rows) == (19, 19)


async def _many_answers(sessions: SessionFactory, count: int) -> str:
    """One participant with `count` rounds of one answer: enough rows for progress steps."""
    async with sessions() as session, session.begin():
        ws = await workshops.create(session, title="Big", scope=SCOPE, languages=["en"])
        await people.upsert_person(session, 9, language="en")
        p = await people.create_participant(
            session, user_id=9, workshop_id=ws.id, position="done", now=NOW
        )
        rows = [
            {
                "participant_id": p.id,
                "recommendation_id": "h1",
                "question": "needs",
                "round": n,
                "value": f"answer {n}",
                "skipped": False,
                "answered_at": NOW,
            }
            for n in range(1, count + 1)
        ]
        await session.execute(insert(Answer), rows)
        return ws.code


async def test_progress_every_thousand_rows(sessions: SessionFactory, tmp_path: Path) -> None:
    code = await _many_answers(sessions, 2500)
    calls: list[tuple[int, int]] = []

    await export_workshop(
        sessions, code, ExportFormat.CSV, tmp_path / "big.csv", progress=lambda *c: calls.append(c)
    )

    assert calls == [(0, 2500), (1000, 2500), (2000, 2500), (2500, 2500)]
    # The command line may pass the format as the plain string argparse gives it.
    result = await export_workshop(sessions, code, "csv", tmp_path / "cli.csv")  # type: ignore[arg-type]
    assert result.format is ExportFormat.CSV
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "big.csv").read_bytes()


def _row(n: int) -> ResponseRow:
    return ResponseRow(
        workshop_code="CODE",
        pseudonym="P-AAAAAAAA",
        role="worker",
        role_other=None,
        language="en",
        recommendation_id="h1",
        question="needs",
        round=n,
        value=f"answer {n}",
        skipped=False,
        is_voice=False,
        voice_path=None,
        voice_duration=None,
        answered_at=NOW,
        edited_at=None,
    )


@pytest.mark.parametrize("fmt", list(ExportFormat))
async def test_writers_let_the_bot_keep_working(tmp_path: Path, fmt: ExportFormat) -> None:
    """Rows arrive in batches without an await between them; writers must yield themselves."""

    async def rows() -> AsyncIterator[ResponseRow]:
        for n in range(1, 1001):
            yield _row(n)  # no await: like a fetched batch of 1,000 rows

    written = 0
    most_between_turns = 0
    since_turn = 0

    def on_row() -> None:
        nonlocal written, since_turn, most_between_turns
        written += 1
        since_turn += 1
        most_between_turns = max(most_between_turns, since_turn)

    async def other_task() -> None:
        nonlocal since_turn
        while True:
            since_turn = 0
            await asyncio.sleep(0)

    task = asyncio.create_task(other_task())
    await asyncio.sleep(0)
    try:
        if fmt is ExportFormat.XLSX:
            await write_xlsx(rows(), [], tmp_path / "x.xlsx", scope=SCOPE, on_row=on_row)
        else:
            with (tmp_path / "out").open("wb") as out:
                if fmt is ExportFormat.CSV:
                    await write_csv(rows(), out, on_row=on_row)
                else:
                    await write_json(rows(), out, workshop={}, participants=[], on_row=on_row)
    finally:
        task.cancel()
    assert written == 1000
    assert most_between_turns <= 100


async def test_failed_export_leaves_no_file(
    sessions: SessionFactory, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    given = await _workshop(sessions, data_dir)

    async def broken(rows: Any, out: BinaryIO, **_: Any) -> int:
        out.write(b"half a file")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(export_run, "write_csv", broken)
    out = tmp_path / "export.csv"
    out.write_bytes(b"previous export")
    with pytest.raises(RuntimeError):
        await export_workshop(sessions, given.code, ExportFormat.CSV, out)
    assert out.read_bytes() == b"previous export"
    assert not part_path(out).exists()


def test_progress_bar_is_a_callable_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with progress_bar("answers") as progress:
        progress(0, 10)
        progress(10, 10)
    assert capsys.readouterr().out == ""


async def test_csv_writer_leaves_stream_open() -> None:
    async def nothing() -> AsyncIterator[ResponseRow]:
        return
        yield

    buffer = io.BytesIO()
    assert await write_csv(nothing(), buffer) == 0
    assert not buffer.closed
    assert buffer.getvalue().startswith(b"\xef\xbb\xbfworkshop_code,")


@pytest.mark.parametrize("how", ["rows fail", "cancelled", "save fails"])
async def test_failed_xlsx_removes_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    started = asyncio.Event()

    async def failing() -> AsyncIterator[ResponseRow]:
        for n in range(1, 6):
            yield _row(n)
        if how == "rows fail":
            raise RuntimeError("connection lost")
        if how == "cancelled":
            started.set()
            await asyncio.sleep(60)

    # A missing directory makes the final save fail, after every row has been written.
    out = tmp_path / ("missing" if how == "save fails" else "") / "x.xlsx"
    task = asyncio.create_task(write_xlsx(failing(), [], out, scope=SCOPE))
    if how == "cancelled":
        await started.wait()
        task.cancel()
    with pytest.raises((RuntimeError, OSError, asyncio.CancelledError)):
        await task
    assert list(temp.iterdir()) == []
    assert not out.exists()


async def test_xlsx_refuses_more_rows_than_a_sheet_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_writers, "XLSX_MAX_ROWS", 4)  # the header and three answers

    async def rows() -> AsyncIterator[ResponseRow]:
        for n in range(1, 5):
            yield _row(n)

    with pytest.raises(ValueError, match="too many rows"):
        await write_xlsx(rows(), [], tmp_path / "x.xlsx", scope=SCOPE)
    assert not (tmp_path / "x.xlsx").exists()


async def test_xlsx_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    async def rows() -> AsyncIterator[ResponseRow]:
        for n in range(1, 6):
            yield _row(n)

    assert await write_xlsx(rows(), [], tmp_path / "x.xlsx", scope=SCOPE) == 5
    assert list(temp.iterdir()) == []
    book = load_workbook(tmp_path / "x.xlsx")
    assert book.sheetnames == ["Responses", "Participants", "Summary"]
