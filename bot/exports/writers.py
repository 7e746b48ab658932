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
import shutil
import tempfile
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from xlsxwriter import Workbook
from xlsxwriter.exceptions import FileCreateError

from bot.exports.columns import PARTICIPANT_COLUMNS, RESPONSE_COLUMNS, Column
from bot.exports.render import (
    XLSX_DATETIME_FORMAT,
    XlsxFormat,
    csv_row,
    json_object,
    xlsx_header,
    xlsx_row,
)
from bot.exports.summary import SUMMARY_COLUMNS, summary_lines
from bot.flows.stats import StatsAccumulator
from storage.repositories.responses import ParticipantRow, ResponseRow

RowT = TypeVar("RowT")
OnRow = Callable[[], None]
# Rows are formatted synchronously, and the database stream only gives the event loop back
# once per fetched batch (1,000 rows, about a fifth of a second of XLSX work). Yielding every
# YIELD_EVERY rows keeps the bot answering participants while a big export runs.
YIELD_EVERY = 100

RESPONSES_SHEET = "Responses"
PARTICIPANTS_SHEET = "Participants"
SUMMARY_SHEET = "Summary"
# The most rows an Excel sheet can hold, header included. XlsxWriter silently ignores cells
# past it, so a sheet that would overflow is an error rather than a short export.
XLSX_MAX_ROWS = 1_048_576
# Strings are always written with `write_string` and are never formulas, links or numbers;
# these options say so again for any other write. `constant_memory` streams each sheet's rows
# to a temporary file, one row in memory at a time, which requires writing rows in order.
XLSX_OPTIONS: dict[str, Any] = {
    "constant_memory": True,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


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
    statistics: Mapping[str, Any] | None = None,
    on_row: OnRow | None = None,
) -> int:
    """`{"workshop": {...}, "statistics": {...}, "participants": [...], "responses": [...]}`,
    one response a line; `statistics` are the report's figures (bot.report.serialise).

    The document is assembled by hand around `json.dumps` of single objects, so the responses
    list never exists in memory. Text is the original answer (see `bot.exports.cells`).
    """
    out.write(b'{"workshop": ' + _json(dict(workshop)) + b",\n")
    if statistics is not None:
        out.write(b'"statistics": ' + _json(dict(statistics)) + b",\n")
    out.write(b'"participants": [')
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


class _Sheet(Generic[RowT]):
    """One worksheet being streamed: column widths, a frozen header row, and filter buttons
    over however many rows were written."""

    def __init__(
        self,
        workbook: Any,
        title: str,
        columns: Sequence[Column[RowT]],
        date_format: XlsxFormat,
    ) -> None:
        self.title = title
        self.columns = columns
        self.rows = 0
        self._date_format = date_format
        self._sheet = workbook.add_worksheet(title)
        for index, column in enumerate(columns):
            self._sheet.set_column(index, index, column.width)
        self._sheet.freeze_panes(1, 0)
        xlsx_header(self._sheet, columns)

    def append(self, row: RowT) -> None:
        if self.rows + 1 >= XLSX_MAX_ROWS:
            raise ValueError(f"too many rows for one Excel sheet ({self.title})")
        self.rows += 1
        xlsx_row(self._sheet, self.rows, self.columns, row, self._date_format)

    def add_filter(self) -> None:
        """Filter buttons on the header, so facilitators can pick a role or a question at once."""
        self._sheet.autofilter(0, 0, self.rows, len(self.columns) - 1)


async def write_xlsx(
    rows: AsyncIterable[ResponseRow],
    participants: Sequence[ParticipantRow],
    out_path: Path,
    *,
    scope: Sequence[str],
    on_row: OnRow | None = None,
) -> int:
    """Sheets "Responses", "Participants" and "Summary", in one pass over the answers.

    XlsxWriter's constant-memory mode streams each sheet to a temporary file, so memory stays
    flat; the summary statistics are accumulated as the responses go past and written at the
    end. Nothing is written to `out_path` before the final save.

    The temporary files live in a directory of this export's own, removed whatever happens:
    XlsxWriter deletes them only when a save succeeds, and the bot runs for weeks, so each
    failed or cancelled export would otherwise leave up to tens of megabytes behind.
    """
    tmpdir = tempfile.mkdtemp(prefix="codesign-xlsx-")
    try:
        workbook = Workbook(out_path, {**XLSX_OPTIONS, "tmpdir": tmpdir})
        try:
            count = await _fill_workbook(workbook, rows, participants, scope, on_row)
            await _save(workbook)
        except BaseException:
            _close_sheets(workbook)
            raise
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return count


async def _save(workbook: Any) -> None:
    """Save in a thread: zipping the sheets is seconds of blocking I/O for a big workshop,
    which must not freeze the bot's event loop.

    If the export is cancelled meanwhile, wait for the thread before giving up: otherwise the
    caller's cleanup could delete the file (and the temporary files) while the thread is still
    using them.
    """
    saving = asyncio.ensure_future(asyncio.to_thread(_close_workbook, workbook))
    try:
        await asyncio.shield(saving)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await saving
        raise


def _close_workbook(workbook: Any) -> None:
    """Write the file. XlsxWriter wraps an OSError (disk full, a missing directory) in its
    own exception; raise the OSError itself, as the CSV and JSON writers would."""
    try:
        workbook.close()
    except FileCreateError as error:
        original = error.args[0] if error.args else None
        if isinstance(original, OSError):
            raise original from None
        raise


async def _fill_workbook(
    workbook: Any,
    rows: AsyncIterable[ResponseRow],
    participants: Sequence[ParticipantRow],
    scope: Sequence[str],
    on_row: OnRow | None,
) -> int:
    date_format = workbook.add_format({"num_format": XLSX_DATETIME_FORMAT})
    # constant_memory writes each sheet in row order, but sheets may be filled in any order.
    responses = _Sheet(workbook, RESPONSES_SHEET, RESPONSE_COLUMNS, date_format)
    people = _Sheet(workbook, PARTICIPANTS_SHEET, PARTICIPANT_COLUMNS, date_format)
    summary = _Sheet(workbook, SUMMARY_SHEET, SUMMARY_COLUMNS, date_format)

    stats = StatsAccumulator(scope)
    for participant in participants:
        stats.add_participant(participant.role, participant.easy_read)
        people.append(participant)
    people.add_filter()

    count = 0
    async for row in rows:
        stats.add(row)
        responses.append(row)
        count += 1
        await _written(count, on_row)
    responses.add_filter()

    for line in summary_lines(stats.result()):
        summary.append(line)
    summary.add_filter()
    return count


def _close_sheets(workbook: Any) -> None:
    """Close the sheets' temporary row files after a failed export, before they are deleted.

    `_opt_close` is what XlsxWriter's own `close` calls for this; it is safe to call twice.
    """
    for sheet in workbook.worksheets():
        with contextlib.suppress(Exception):
            sheet._opt_close()
