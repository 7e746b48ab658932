"""The one entry point for reports, shared by `/report` and `codesign-bot report`.

Reading is one streamed pass in one session; the figures and keyword groups are computed in
a worker thread (they are CPU work: the bot keeps answering participants meanwhile); the page
is written as `<name>.part` and renamed, so nobody ever opens half a report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.exports.output import atomic_output, find_workshop
from bot.flows.catalogue import Catalogue
from bot.rendering import Renderer
from bot.report.build import Progress, ReportBuilder
from bot.report.html import render_report
from bot.report.model import Report, WorkshopFacts
from storage.models import Workshop
from storage.repositories.responses import participants, stream_answers

Clock = Callable[[], datetime]


def bot_version() -> str:
    try:
        return version("codesign-bot")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


@dataclass(frozen=True)
class ReportRequest:
    code: str
    language: str
    min_group_size: int


async def _read(session: AsyncSession, workshop: Workshop, min_group_size: int) -> ReportBuilder:
    builder = ReportBuilder(workshop.scope, min_group_size)
    for person in await participants(session, workshop.id):
        builder.add_participant(person)
    async with aclosing(stream_answers(session, workshop.id)) as rows:
        async for row in rows:
            builder.add(row)
    return builder


async def build_report(
    sessions: async_sessionmaker[AsyncSession],
    request: ReportRequest,
    catalogue: Catalogue,
    *,
    progress: Progress | None = None,
    clock: Clock | None = None,
) -> Report:
    """The report's figures; raises WorkshopNotFound."""
    async with sessions() as session:
        workshop = await find_workshop(session, request.code)
        facts = WorkshopFacts(
            code=workshop.code,
            title=workshop.title,
            created_at=workshop.created_at,
            languages=tuple(workshop.languages),
        )
        builder = await _read(session, workshop, request.min_group_size)
    now = (clock or (lambda: datetime.now(UTC)))()
    return await asyncio.to_thread(
        builder.build,
        facts,
        catalogue,
        request.language,
        generated_at=now,
        version=bot_version(),
        progress=progress,
    )


async def write_report(
    sessions: async_sessionmaker[AsyncSession],
    request: ReportRequest,
    renderer: Renderer,
    out_path: Path,
    *,
    progress: Progress | None = None,
    clock: Clock | None = None,
) -> Report:
    """Build the report and write it as one HTML file at `out_path`."""
    report = await build_report(
        sessions, request, renderer.catalogue, progress=progress, clock=clock
    )
    page = await asyncio.to_thread(render_report, report, renderer)
    async with atomic_output(out_path) as part:
        await asyncio.to_thread(part.write_text, page, encoding="utf-8")
    return report
