"""`codesign-bot`: run the bot, migrate the database, list workshops, export answers.

`workshops` and `export` work from the database alone, without the bot running, so an
analyst can work at their desk.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import ConfigError, Settings, load_settings
from storage.engine import SessionFactory

if TYPE_CHECKING:
    from bot.webhook import AnyApplication, WebhookOptions

log = logging.getLogger(__name__)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if level != "DEBUG":
        # Alembic announces each of its plugins at INFO on every start; APScheduler and the
        # Application announce starting and stopping: chatter that hides our own lines.
        for chatty in ("alembic", "apscheduler", "telegram.ext.Application"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    # A failed first contact with Telegram is reported in one line by `_run`, not as
    # python-telegram-bot's traceback.
    for handler in logging.getLogger().handlers:
        handler.addFilter(_without_bootstrap_failure)


def _without_bootstrap_failure(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith("Network Retry Loop (Bootstrap")


def _poll(application: AnyApplication) -> None:
    """run_polling, stopped by our signal handlers rather than its own.

    On SystemExit run_polling stops fetching, lets `Application.stop` finish every update
    already fetched, then calls post_shutdown, which closes the database. Its own handlers
    raise that on every signal, so a second one would cut this short; ours raise it once.
    """
    from bot.webhook import ALLOWED_UPDATES, StopSignals, exit_run_polling

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)  # the loop run_polling takes
    StopSignals(on_first=exit_run_polling).install(loop)
    try:
        application.run_polling(
            allowed_updates=list(ALLOWED_UPDATES), stop_signals=None, close_loop=False
        )
    finally:
        # When the first contact with Telegram fails, the HTTP clients are still open:
        # close them here, or aiohttp complains about unclosed sessions at exit.
        with contextlib.suppress(Exception):
            loop.run_until_complete(application.bot.shutdown())
        loop.close()


def _run(settings: Settings, args: argparse.Namespace) -> int:
    """Poll (the default) or take webhooks; either way SIGINT and SIGTERM stop gracefully."""

    from bot.replicas import AlreadyRunning, SqliteLock
    from bot.webhook import webhook_options

    try:
        options = (
            None
            if args.webhook is None
            else webhook_options(
                args.webhook, settings.telegram_webhook_secret, args.listen, args.port
            )
        )
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    # SQLite is one bot process: a second `run` on the same file stops here (PostgreSQL takes
    # two, see bot/replicas.py). Released by the kernel however this process ends.
    sqlite_lock = SqliteLock.for_url(settings.database_url)
    if sqlite_lock is not None:
        try:
            sqlite_lock.acquire()
        except AlreadyRunning as error:
            print(error, file=sys.stderr)
            return 1
    try:
        return _run_application(settings, options)
    finally:
        if sqlite_lock is not None:
            sqlite_lock.release()


def _run_application(settings: Settings, options: WebhookOptions | None) -> int:
    from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError

    from bot.app import build_application
    from bot.webhook import ListenError, serve

    application = build_application(settings)
    try:
        if options is None:
            _poll(application)
        else:
            asyncio.run(serve(application, options))
    except BadRequest as error:  # before NetworkError, which it subclasses
        message = str(error).replace(settings.telegram_bot_token, "<token>")
        if options is not None and "webhook" in message.lower():
            print(
                f"Telegram refused the webhook URL {options.url}: {message}; it must be a "
                "public https:// address (port 443, 80, 88 or 8443) with a valid certificate",
                file=sys.stderr,
            )
        else:
            print(f"telegram error: {message}", file=sys.stderr)
        return 1
    except InvalidToken:
        print(
            "TELEGRAM_BOT_TOKEN was refused by Telegram: check it with @BotFather (/token)",
            file=sys.stderr,
        )
        return 1
    except NetworkError:
        host = settings.telegram_api_base_url.split("/")[2]
        print(
            f"cannot reach Telegram at {host}: check the network connection, a proxy "
            "(HTTPS_PROXY) or TELEGRAM_API_BASE_URL",
            file=sys.stderr,
        )
        return 1
    except TelegramError as error:
        # Never print the token, whatever the library put in the message.
        message = str(error).replace(settings.telegram_bot_token, "<token>")
        print(f"telegram error: {message}", file=sys.stderr)
        return 1
    except ListenError as error:
        print(error, file=sys.stderr)
        return 1
    log.info("stopped cleanly")
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
            return await _export(sessions, settings, args)
        if work == "report":
            return await _report(sessions, settings, args)
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


async def _export(sessions: SessionFactory, settings: Settings, args: argparse.Namespace) -> int:
    from bot.exports.output import WorkshopNotFound
    from bot.exports.run import ExportFormat, export_workshop, progress_bar

    fmt = ExportFormat(args.format)
    out = Path(args.out)
    with progress_bar(f"export {args.workshop}") as progress:
        try:
            result = await export_workshop(
                sessions,
                args.workshop,
                fmt,
                out,
                progress=progress,
                min_group_size=settings.min_group_size,
            )
        except WorkshopNotFound:
            print(f"no workshop with code {args.workshop!r}", file=sys.stderr)
            return 1
    print(f"wrote {result.rows} answers to {result.path}")
    return 0


async def _report(sessions: SessionFactory, settings: Settings, args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from bot.exports.output import WorkshopNotFound
    from bot.flows.catalogue import load_catalogue
    from bot.rendering import Renderer
    from bot.report.run import ReportRequest, write_report
    from locales import Translator

    translator = Translator()
    if args.language not in translator.languages:
        languages = ", ".join(translator.languages)
        print(f"no language {args.language!r}: choose one of {languages}", file=sys.stderr)
        return 2
    renderer = Renderer(translator, load_catalogue())
    request = ReportRequest(args.workshop, args.language, settings.min_group_size)
    out = Path(args.out)
    with tqdm(desc=f"report {args.workshop}", unit=" topics", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = await write_report(sessions, request, renderer, out, progress=progress)
        except WorkshopNotFound:
            print(f"no workshop with code {args.workshop!r}", file=sys.stderr)
            return 1
    print(
        f"wrote the report of {report.summary.participants} participants and "
        f"{len(report.topics)} topics to {out}"
    )
    return 0


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    asyncio.run(_with_database(settings, "migrate", args))
    print("database is up to date")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codesign-bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run",
        help="answer participants: poll Telegram, or take its webhooks with --webhook",
    )
    run.add_argument(
        "--webhook",
        metavar="URL",
        help="the public https URL Telegram posts updates to (needs TELEGRAM_WEBHOOK_SECRET)",
    )
    run.add_argument(
        "--listen", metavar="HOST", help="address to listen on with --webhook (127.0.0.1)"
    )
    run.add_argument(
        "--port", type=int, metavar="N", help="port to listen on with --webhook (8443)"
    )
    commands.add_parser("migrate", help="create or upgrade the database schema")
    commands.add_parser("workshops", help="list workshops with participation")
    export = commands.add_parser("export", help="write a workshop's answers to a file")
    export.add_argument("--workshop", required=True, help="the workshop code")
    export.add_argument("--format", choices=["csv", "xlsx", "json"], default="csv")
    export.add_argument("--out", required=True, help="the file to write")
    report = commands.add_parser(
        "report", help="write a workshop's report (one HTML file: agreement, needs, worries)"
    )
    report.add_argument("--workshop", required=True, help="the workshop code")
    report.add_argument("--out", required=True, help="the .html file to write")
    report.add_argument("--language", default="en", help="the report's language (en)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    webhook = args.command == "run" and args.webhook is not None
    if args.command == "run" and not webhook and (args.listen, args.port) != (None, None):
        print(
            "configuration error: --listen and --port only apply with --webhook", file=sys.stderr
        )
        return 2
    try:
        # Only `run` talks to Telegram; the desk commands work from the database alone.
        settings = load_settings(
            require_token=args.command == "run", require_webhook_secret=webhook
        )
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    _configure_logging(settings.log_level)
    if args.command == "run":
        return _run(settings, args)
    if args.command == "migrate":
        return _migrate(settings, args)
    return asyncio.run(_with_database(settings, args.command, args))
