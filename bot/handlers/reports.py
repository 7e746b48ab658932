"""`/stats`, `/export` and `/report`: read a whole workshop and send figures, a chart and files.

Reading is streamed (one pass, constant memory) and the chart is drawn in a worker thread so
the event loop keeps answering participants meanwhile.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode

from bot.exports.run import ExportFormat, export_voices, export_workshop
from bot.flows import facilitator
from bot.flows.state import WorkshopInfo
from bot.flows.stats import StatsAccumulator, WorkshopStats, stats_views
from bot.flows.views import Literal, Msg, Param
from bot.report.agreement import Label
from bot.report.run import ReportRequest, write_report
from bot.sending import send_view
from bot.services import Services
from storage.repositories import responses

EXPORT_FORMATS = (ExportFormat.CSV, ExportFormat.XLSX, ExportFormat.JSON)
MAX_PHOTO_RECOMMENDATIONS = 6


async def stats_in(session: AsyncSession, workshop: WorkshopInfo) -> WorkshopStats:
    accumulator = StatsAccumulator(workshop.scope)
    for participant in await responses.participants(session, workshop.id):
        accumulator.add_participant(participant.role, participant.easy_read)
    async for row in responses.stream_answers(session, workshop.id):
        accumulator.add(row)
    return accumulator.result()


async def workshop_stats(services: Services, workshop: WorkshopInfo) -> WorkshopStats:
    async with services.session_factory()() as session:
        return await stats_in(session, workshop)


async def send_stats(
    bot: Bot, services: Services, chat_id: int, workshop: WorkshopInfo, language: str
) -> None:
    # matplotlib costs ~40 MiB resident: load it when a facilitator first asks for a chart.
    from bot.charts import ChartTexts, priority_chart

    stats = await workshop_stats(services, workshop)
    renderer = services.renderer
    titles = {
        rec: services.catalogue.get(rec).text("plain_title", language) for rec in workshop.scope
    }
    roles = {role: renderer.plain(Msg(f"role.group.{role}"), language) for role in stats.roles}
    heading = renderer.plain(
        Msg("stats.chart.heading", {"title": Literal(workshop.title), "code": workshop.code}),
        language,
    )
    texts = ChartTexts(
        **{
            field: renderer.plain(Msg(f"stats.chart.{field}"), language)
            for field in ("axis", "no_answers", "only_unsure", "underrepresented", "decimal_mark")
        }
    )
    png = await asyncio.to_thread(
        priority_chart, stats, titles, roles, heading=heading, texts=texts
    )
    picture = InputFile(png, filename=f"{workshop.code}-stats.png")
    if len(workshop.scope) <= MAX_PHOTO_RECOMMENDATIONS:
        await bot.send_photo(chat_id, photo=picture)
    else:
        # A tall chart sent as a photo is shrunk by Telegram until it cannot be read.
        await bot.send_document(chat_id, document=picture)
    for view in stats_views(stats, workshop.title, workshop.code):
        await send_view(bot, chat_id, view, language, renderer)


async def send_export(
    bot: Bot, services: Services, chat_id: int, workshop: WorkshopInfo, language: str
) -> None:
    renderer = services.renderer
    params: dict[str, Param] = {"title": Literal(workshop.title), "code": workshop.code}
    sessions = services.session_factory()
    async with sessions() as session:
        total = await responses.count_answers(session, workshop.id)
    if total == 0:
        text = renderer.part(Msg("fac.export.empty", params), language)
        await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
        return
    with tempfile.TemporaryDirectory(prefix="codesign-export-") as folder:
        for fmt in EXPORT_FORMATS:
            path = Path(folder) / f"{workshop.code}-responses.{fmt.value}"
            result = await export_workshop(
                sessions,
                workshop.code,
                fmt,
                path,
                min_group_size=services.settings.min_group_size,
            )
            caption = Msg("fac.export.caption", {**params, "rows": result.rows, "format": fmt})
            await _send_file(bot, chat_id, path, renderer.part(caption, language))
        path = Path(folder) / f"{workshop.code}-voice.zip"
        files = await export_voices(sessions, workshop.code, services.settings.data_dir, path)
        if files:
            caption = Msg("fac.export.voices", {**params, "files": files})
            await _send_file(bot, chat_id, path, renderer.part(caption, language))


async def send_report(
    bot: Bot, services: Services, chat_id: int, workshop: WorkshopInfo, language: str
) -> None:
    """The report as one HTML file, with a button to remind the roles whose voice is thin."""
    renderer = services.renderer
    request = ReportRequest(workshop.code, language, services.settings.min_group_size)
    with tempfile.TemporaryDirectory(prefix="codesign-report-") as folder:
        path = Path(folder) / f"{workshop.code}-report.html"
        report = await write_report(
            services.session_factory(), request, renderer, path, clock=services.clock
        )
        counts = Counter(topic.agreement.label for topic in report.topics)
        caption = Msg(
            "report.caption",
            {
                "title": Literal(workshop.title),
                "code": workshop.code,
                "participants": report.summary.participants,
                "consensus": counts[Label.CONSENSUS],
                "divergence": counts[Label.DIVERGENCE],
                "mixed": counts[Label.MIXED],
                "too_few": counts[Label.TOO_FEW],
            },
        )
        markup = None
        if report.flagged_roles:
            text, data = renderer.button(facilitator.report_nudge_button(workshop), language)
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(text, callback_data=data)]])
        await _send_file(bot, chat_id, path, renderer.part(caption, language), markup)


async def _send_file(
    bot: Bot,
    chat_id: int,
    path: Path,
    caption: str,
    markup: InlineKeyboardMarkup | None = None,
) -> None:
    with path.open("rb") as handle:
        await bot.send_document(
            chat_id,
            document=InputFile(handle, filename=path.name),
            caption=caption,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
        )
