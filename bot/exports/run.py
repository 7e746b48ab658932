"""The one entry point for exports, shared by the bot and `codesign-bot export`.

It finds the workshop, counts its answers (the progress total), then streams them from one
session into the chosen writer. The file is written next to its destination as `<name>.part`
and renamed at the end, so nobody ever opens, sends or syncs a half-written export, and a
failed export leaves no file behind.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator, Callable, Iterator
from contextlib import aclosing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from bot.exports.cells import iso_utc
from bot.exports.output import atomic_output, find_workshop
from bot.exports.voices import write_voice_zip
from bot.exports.writers import write_csv, write_json, write_xlsx
from bot.flows.catalogue import load_catalogue
from bot.report.run import ReportRequest, build_report
from bot.report.serialise import report_statistics
from storage.models import Workshop
from storage.repositories.responses import (
    ResponseRow,
    count_answers,
    participants,
    stream_answers,
)

Progress = Callable[[int, int], None]
# Often enough for a bar to move smoothly, rarely enough not to cost anything (or, in the
# bot, not to hit Telegram's edit limits).
PROGRESS_EVERY = 1000
# The JSON statistics name keyword groups in English words; ids everywhere else.
STATISTICS_LANGUAGE = "en"
DEFAULT_MIN_GROUP_SIZE = 5


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    format: ExportFormat


class _Counter:
    """Turns the writers' per-row tick into `progress(done, total)` every PROGRESS_EVERY rows."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done = 0
        self.total = total
        self._progress = progress
        self._report(0, total)

    def _report(self, done: int, total: int) -> None:
        if self._progress is not None:
            self._progress(done, total)

    def tick(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            # Answers given since the count make `done` overtake it; never report done > total.
            self._report(self.done, max(self.total, self.done))

    def finish(self) -> None:
        # What was written is the truth, even if answers changed since they were counted.
        self._report(self.done, self.done)


def _stream(session: AsyncSession, workshop_id: int) -> AsyncGenerator[ResponseRow, None]:
    """The answers as the async generator they are (typed as a mere iterator), so that an
    export that fails half-way can close the database cursor at once with `aclosing`."""
    return stream_answers(session, workshop_id)


def _workshop_header(workshop: Workshop) -> dict[str, Any]:
    return {
        "code": workshop.code,
        "title": workshop.title,
        "status": workshop.status,
        "scope": list(workshop.scope),
        "languages": list(workshop.languages),
        "created_at": iso_utc(workshop.created_at),
        "exported_at": iso_utc(datetime.now(UTC)),
    }


async def export_workshop(
    sessions: async_sessionmaker[AsyncSession],
    code: str,
    fmt: ExportFormat,
    out_path: Path,
    *,
    progress: Progress | None = None,
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE,
) -> ExportResult:
    """Write the workshop's answers to `out_path` in `fmt`; raises WorkshopNotFound.

    JSON also carries the report's figures (matrix, labels, keyword groups), computed in a
    first pass: analysts reuse them without recomputing what the report shows.
    """
    # A plain "csv" from argparse equals ExportFormat.CSV but is not it; compare enums only.
    fmt = ExportFormat(fmt)
    statistics = None
    if fmt is ExportFormat.JSON:
        request = ReportRequest(code, STATISTICS_LANGUAGE, min_group_size)
        statistics = report_statistics(await build_report(sessions, request, load_catalogue()))
    async with sessions() as session:
        workshop = await find_workshop(session, code)
        total = await count_answers(session, workshop.id)
        # A list, one small row per participant (hundreds): the only thing an export holds
        # that grows with the workshop. CSV has no participants section, so it skips it.
        people = [] if fmt is ExportFormat.CSV else await participants(session, workshop.id)
        counter = _Counter(total, progress)
        async with (
            aclosing(_stream(session, workshop.id)) as rows,
            atomic_output(out_path) as part,
        ):
            if fmt is ExportFormat.XLSX:
                written = await write_xlsx(
                    rows, people, part, scope=workshop.scope, on_row=counter.tick
                )
            else:
                with part.open("wb") as out:
                    if fmt is ExportFormat.CSV:
                        written = await write_csv(rows, out, on_row=counter.tick)
                    else:
                        written = await write_json(
                            rows,
                            out,
                            workshop=_workshop_header(workshop),
                            participants=people,
                            statistics=statistics,
                            on_row=counter.tick,
                        )
    counter.finish()
    return ExportResult(path=out_path, rows=written, format=fmt)


async def export_voices(
    sessions: async_sessionmaker[AsyncSession], code: str, data_dir: Path, out_path: Path
) -> int:
    """A ZIP of the workshop's stored recordings at `out_path`; returns how many files."""
    async with sessions() as session:
        workshop = await find_workshop(session, code)
        async with (
            aclosing(_stream(session, workshop.id)) as rows,
            atomic_output(out_path) as part,
        ):
            with part.open("wb") as out:
                return await write_voice_zip(rows, data_dir, out)


@contextmanager
def progress_bar(total_label: str) -> Iterator[Progress]:
    """A tqdm bar on stderr for the command line; silent when stderr is not a terminal.

    Yields a `progress(done, total)` callable to pass to `export_workshop`.
    """
    with tqdm(desc=total_label, unit=" rows", file=sys.stderr, disable=None) as bar:

        def update(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield update
