"""The one entry point for exports, shared by the bot and `codesign-bot export`.

It finds the workshop, counts its answers (the progress total), then streams them from one
session into the chosen writer. The file is written next to its destination as `<name>.part`
and renamed at the end, so nobody ever opens, sends or syncs a half-written export, and a
failed export leaves no file behind.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tqdm import tqdm

from bot.exports.cells import iso_utc
from bot.exports.voices import write_voice_zip
from bot.exports.writers import write_csv, write_json, write_xlsx
from storage.models import Workshop
from storage.repositories import workshops
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


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


@dataclass(frozen=True)
class ExportResult:
    path: Path
    rows: int
    format: ExportFormat


class WorkshopNotFound(Exception):
    """No workshop has this code; the message is the code, for the caller to phrase."""


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


def part_path(out_path: Path) -> Path:
    return out_path.with_suffix(out_path.suffix + ".part")


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


@asynccontextmanager
async def _atomic(out_path: Path) -> AsyncIterator[Path]:
    """Yields the `.part` path to write; renames it into place only if the block succeeds."""
    part = part_path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield part
        await asyncio.to_thread(_fsync, part)
        part.replace(out_path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise


async def _find(session: AsyncSession, code: str) -> Workshop:
    workshop = await workshops.get_by_code(session, code)
    if workshop is None:
        raise WorkshopNotFound(code.strip().upper())
    return workshop


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
) -> ExportResult:
    """Write the workshop's answers to `out_path` in `fmt`; raises WorkshopNotFound."""
    # A plain "csv" from argparse equals ExportFormat.CSV but is not it; compare enums only.
    fmt = ExportFormat(fmt)
    async with sessions() as session:
        workshop = await _find(session, code)
        total = await count_answers(session, workshop.id)
        # A list, one small row per participant (hundreds): the only thing an export holds
        # that grows with the workshop. CSV has no participants section, so it skips it.
        people = [] if fmt is ExportFormat.CSV else await participants(session, workshop.id)
        counter = _Counter(total, progress)
        async with (
            aclosing(_stream(session, workshop.id)) as rows,
            _atomic(out_path) as part,
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
                            on_row=counter.tick,
                        )
    counter.finish()
    return ExportResult(path=out_path, rows=written, format=fmt)


async def export_voices(
    sessions: async_sessionmaker[AsyncSession], code: str, data_dir: Path, out_path: Path
) -> int:
    """A ZIP of the workshop's stored recordings at `out_path`; returns how many files."""
    async with sessions() as session:
        workshop = await _find(session, code)
        async with (
            aclosing(_stream(session, workshop.id)) as rows,
            _atomic(out_path) as part,
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
