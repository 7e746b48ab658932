"""`codesign-bot`: run the bot, or migrate the database."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.config import ConfigError, Settings, load_settings


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _run(settings: Settings) -> None:
    from bot.app import build_application

    application = build_application(settings)
    application.run_polling(allowed_updates=["message", "callback_query"])


def _migrate(settings: Settings) -> None:
    from storage.engine import create_engine
    from storage.migrate import upgrade_to_head

    async def migrate() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade_to_head(engine)
        finally:
            await engine.dispose()

    asyncio.run(migrate())
    print("database is up to date")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="codesign-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="poll Telegram and answer participants")
    commands.add_parser("migrate", help="create or upgrade the database schema")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    if args.command == "run":
        _run(settings)
    elif args.command == "migrate":
        _migrate(settings)
    return 0
