"""`codesign-bot`: run the bot, migrate the database, list workshops, export answers.

`workshops` and `export` work from the database alone, without the bot running, so an
analyst can work at their desk.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.config import ConfigError, Settings, load_settings
from storage.engine import SessionFactory


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_application

    application = build_application(settings)
    application.run_polling(allowed_updates=["message", "callback_query"])
    return 0


async def _with_database(settings: Settings, work: str, args: argparse.Namespace) -> int:
    from storage.engine import create_engine, create_session_factory
    from storage.migrate import upgrade_to_head

    engine = create_engine(settings.database_url)
    try:
        await upgrade_to_head(engine)
        sessions = create_session_factory(engine)
        if work == "workshops":
            return await _list_workshops(sessions)
        if work == "export":
            return await _export(sessions, args)
        return 0
    finally:
        await engine.dispose()


async def _list_workshops(sessions: SessionFactory) -> int:
    from storage.repositories import workshops

    async with sessions() as session:
        rows = await workshops.overview(session)
    print(f"{'code':<12} {'status':<8} {'open':<5} {'started':>7} {'finished':>8}  title")
    for row in rows:
        ws = row.workshop
        print(
            f"{ws.code:<12} {ws.status:<8} {'yes' if ws.is_open else 'no':<5} "
            f"{row.started:>7} {row.finished:>8}  {ws.title}"
        )
    return 0


async def _export(sessions: SessionFactory, args: argparse.Namespace) -> int:
    from bot.exports.run import ExportFormat, WorkshopNotFound, export_workshop, progress_bar

    fmt = ExportFormat(args.format)
    out = Path(args.out)
    with progress_bar(f"export {args.workshop}") as progress:
        try:
            result = await export_workshop(sessions, args.workshop, fmt, out, progress=progress)
        except WorkshopNotFound:
            print(f"no workshop with code {args.workshop!r}", file=sys.stderr)
            return 1
    print(f"wrote {result.rows} answers to {result.path}")
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_with_database(settings, "migrate", args))
    print("database is up to date")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codesign-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="poll Telegram and answer participants")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("workshops", help="list workshops with participation")
    export = commands.add_parser("export", help="write a workshop's answers to a file")
    export.add_argument("--workshop", required=True, help="the workshop code")
    export.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    export.add_argument("--out", required=True, help="the file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        # Only `run` talks to Telegram; the desk commands work from the database alone.
        settings = load_settings(require_token=args.command == "run")
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    if args.command == "run":
        return _run(settings, args)
    if args.command == "migrate":
        return _migrate(settings, args)
    return asyncio.run(_with_database(settings, args.command, args))
