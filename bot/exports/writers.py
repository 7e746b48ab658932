"""CSV, JSON and XLSX writers that stream: each answer is written as it arrives.

A workshop can have 100,000 answers; none of these functions keeps them. They take an async
iterable (normally `storage.repositories.responses.stream_answers`), write row by row, and
return how many rows they wrote. `on_row` is called once per answer so the caller can report
progress without the writers knowing about progress bars or chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.exports.columns import PARTICIPANT_COLUMNS, RESPONSE_COLUMNS, Column
from bot.exports.render import csv_row, json_object, xlsx_header, xlsx_row
from bot.exports.summary import SUMMARY_COLUMNS, summary_lines
from bot.flows.stats import StatsAccumulator
from storage.repositories.responses import ParticipantRow, ResponseRow

OnRow = Callable[[], None]
# Rows are formatted synchronously, and the database stream only gives the event loop back
# once per fetched batch (1,000 rows, about half a second of XLSX work). Yielding every
# YIELD_EVERY rows keeps the bot answering participants while a big export runs.
YIELD_EVERY = 100

RESPONSES_SHEET = "Responses"
PARTICIPANTS_SHEET = "Participants"
SUMMARY_SHEET = "Summary"


async def write_csv(
    rows: AsyncIterable[ResponseRow], out: BinaryIO, *, on_row: OnRow | None = None
) -> int:
    """UTF-8 with a BOM (without it Excel reads UTF-8 as the local code page), CRLF rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
        writer.writerow([column.name for column in RESPONSE_COLUMNS])
        count = 0
        async for row in rows:
            writer.writerow(csv_row(RESPONSE_COLUMNS, row))
            count += 1
            await _written(count, on_row)
        text.flush()
    finally:
        # Hand the binary stream back open: closing it is the caller's business.
        text.detach()
    return count


async def _written(count: int, on_row: OnRow | None) -> None:
    """After each row: report it, and now and then let other tasks run."""
    if on_row is not None:
        on_row()
    if count % YIELD_EVERY == 0:
        await asyncio.sleep(0)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


async def write_json(
    rows: AsyncIterable[ResponseRow],
    out: BinaryIO,
    *,
    workshop: Mapping[str, Any],
    participants: Sequence[ParticipantRow],
    on_row: OnRow | None = None,
) -> int:
    """`{"workshop": {...}, "participants": [...], "responses": [...]}`, one response a line.

    The document is assembled by hand around `json.dumps` of single objects, so the responses
    list never exists in memory. Text is the original answer (see `bot.exports.cells`).
    """
    out.write(b'{"workshop": ' + _json(dict(workshop)) + b',\n"participants": [')
    for index, participant in enumerate(participants):
        out.write(
            (b",\n" if index else b"\n") + _json(json_object(PARTICIPANT_COLUMNS, participant))
        )
    out.write(b'\n],\n"responses": [')
    count = 0
    async for row in rows:
        out.write((b",\n" if count else b"\n") + _json(json_object(RESPONSE_COLUMNS, row)))
        count += 1
        await _written(count, on_row)
    out.write(b"\n]}\n")
    return count


def _new_sheet(
    workbook: Workbook, title: str, columns: Sequence[Column[Any]]
) -> WriteOnlyWorksheet:
    """A sheet with widths, a frozen header row and its header; all must precede other rows."""
    sheet = cast(WriteOnlyWorksheet, workbook.create_sheet(title))
    # Worksheet._setup gives write-only sheets `column_dimensions`; the stubs omit it.
    dimensions = cast(Any, sheet).column_dimensions
    for index, column in enumerate(columns, start=1):
        dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.append(xlsx_header(sheet, columns))
    return sheet


def _add_filter(sheet: WriteOnlyWorksheet, columns: Sequence[Column[Any]], rows: int) -> None:
    """Filter buttons on the header, so facilitators can pick a role or a question at once."""
    # Write-only sheets get `auto_filter` from Worksheet._setup; the stubs do not declare it.
    cast(Any, sheet).auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"


async def write_xlsx(
    rows: AsyncIterable[ResponseRow],
    participants: Sequence[ParticipantRow],
    out_path: Path,
    *,
    scope: Sequence[str],
    on_row: OnRow | None = None,
) -> int:
    """Sheets "Responses", "Participants" and "Summary", in one pass over the answers.

    openpyxl's write-only mode streams each sheet to a temporary file, so memory stays flat;
    the summary statistics are accumulated as the responses go past and written at the end.
    """
    workbook = Workbook(write_only=True)
    try:
        count = await _fill_workbook(workbook, rows, participants, scope, on_row)
        await _save(workbook, out_path)
    except BaseException:
        _discard(workbook)
        raise
    return count


async def _save(workbook: Workbook, out_path: Path) -> None:
    """Save in a thread: zipping the sheets is seconds of blocking I/O for a big workshop,
    which must not freeze the bot's event loop.

    If the export is cancelled meanwhile, wait for the thread before giving up: otherwise the
    caller's cleanup could delete the file while the thread is still creating it.
    """
    saving = asyncio.ensure_future(asyncio.to_thread(workbook.save, out_path))
    try:
        await asyncio.shield(saving)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await saving
        raise


async def _fill_workbook(
    workbook: Workbook,
    rows: AsyncIterable[ResponseRow],
    participants: Sequence[ParticipantRow],
    scope: Sequence[str],
    on_row: OnRow | None,
) -> int:
    responses = _new_sheet(workbook, RESPONSES_SHEET, RESPONSE_COLUMNS)
    people = _new_sheet(workbook, PARTICIPANTS_SHEET, PARTICIPANT_COLUMNS)
    summary = _new_sheet(workbook, SUMMARY_SHEET, SUMMARY_COLUMNS)

    stats = StatsAccumulator(scope)
    for participant in participants:
        stats.add_participant(participant.role)
        people.append(xlsx_row(people, PARTICIPANT_COLUMNS, participant))
    _add_filter(people, PARTICIPANT_COLUMNS, len(participants))

    count = 0
    async for row in rows:
        stats.add(row)
        responses.append(xlsx_row(responses, RESPONSE_COLUMNS, row))
        count += 1
        await _written(count, on_row)
    _add_filter(responses, RESPONSE_COLUMNS, count)

    lines = 0
    for line in summary_lines(stats.result()):
        summary.append(xlsx_row(summary, SUMMARY_COLUMNS, line))
        lines += 1
    _add_filter(summary, SUMMARY_COLUMNS, lines)
    return count


def _discard(workbook: Workbook) -> None:
    """Delete the sheets' temporary files after a failed export.

    openpyxl removes a write-only sheet's temporary file when the workbook is saved, or else
    at interpreter exit; the bot runs for weeks, so each failed export would leave up to tens
    of megabytes in the temp directory until then.
    """
    for sheet in workbook.worksheets:
        writer = getattr(sheet, "_writer", None)
        if writer is None:
            continue
        # Close first (ends the XML and the file), or the sheet's row generator would try to
        # write to a closed file when it is garbage-collected. Either step may already have
        # happened in a save that failed half-way.
        with contextlib.suppress(Exception):
            cast(WriteOnlyWorksheet, sheet).close()
        with contextlib.suppress(Exception):
            writer.cleanup()
