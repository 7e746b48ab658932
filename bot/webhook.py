"""Webhook mode: Telegram posts each update to us instead of us polling for it.

The very Application polling uses (from `build_application`) processes the updates; only the
way they arrive changes. python-telegram-bot's Updater has a webhook server of its own
(tornado), but it cannot answer a health check, so a small aiohttp server takes its place:

- a POST without Telegram's secret header (compared in constant time) is refused, so someone
  who learns the URL cannot post updates in a participant's name;
- the answer is 200 only once the update is kept in the update inbox (`bot/inbox.py`, in the
  database) and in the application's queue, and a graceful stop closes the server before it
  drains that queue: an update Telegram saw accepted is never dropped by a stop, and one that
  a crash interrupted is processed at the next start (a crash before the 200 makes Telegram
  send it again);
- GET /healthz runs `SELECT 1`, so an uptime check sees a broken database, not just a process.

On shutdown the webhook is left set. Telegram keeps the updates that arrive while we are down
(for up to 24 hours) and posts them, retrying, once we listen again. Deleting it would not
save those updates (they are kept either way), it would only add a call that can fail while
stopping, and the next start sets it again anyway. Going back to polling needs no clean-up:
the Updater deletes any webhook before its first getUpdates.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.config import ConfigError
from bot.services import services_from

log = logging.getLogger(__name__)
# Its own name: the polling mode logs these lines too.
signals_log = logging.getLogger("bot.signals")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
# The same in both modes: Telegram does not even store updates of other kinds for us.
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")
DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_PORT = 8443
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Short, so a load balancer's probe gets an answer before its own timeout.
HEALTH_TIMEOUT_SECONDS = 2.0
# A request only parses JSON, keeps and queues the update, so stopping waits at most this long.
REQUEST_DRAIN_SECONDS = 10.0


class ListenError(Exception):
    """The server could not bind its address (in use, not ours, no permission)."""


@dataclass(frozen=True)
class WebhookOptions:
    """Where Telegram posts (the public https URL) and where we listen (behind a proxy)."""

    url: str
    secret: str
    listen: str = DEFAULT_LISTEN
    port: int = DEFAULT_PORT

    @property
    def path(self) -> str:
        """The route that takes updates: the public URL's path, as the proxy forwards it."""
        return urlsplit(self.url).path or "/"


def webhook_options(
    url: str, secret: str, listen: str | None = None, port: int | None = None
) -> WebhookOptions:
    """Check the command line before anything starts, naming the flag that is wrong.

    The URL is not echoed: people put secrets in webhook paths.
    """
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigError(
            "--webhook must be an https:// URL with a host name (Telegram only posts to HTTPS)"
        )
    if (parts.path or "/") == HEALTH_PATH:
        raise ConfigError(f"--webhook must not end in {HEALTH_PATH} (the health check is there)")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError("--port must be between 1 and 65535")
    if listen is not None and not listen.strip():
        raise ConfigError("--listen must be a host name or an IP address")
    return WebhookOptions(
        url=url,
        secret=secret,
        listen=listen if listen is not None else DEFAULT_LISTEN,
        port=port if port is not None else DEFAULT_PORT,
    )


async def database_reachable(engine: AsyncEngine | None) -> bool:
    """Whether `SELECT 1` answers within HEALTH_TIMEOUT_SECONDS."""
    if engine is None:
        return False
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    # Whatever the driver raises (a refused connection is not always wrapped by SQLAlchemy),
    # the answer is the same: not reachable. Only the kind is logged: messages can carry
    # connection details.
    except Exception as error:
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return False
    return True


class WebhookServer:
    """The HTTP side of webhook mode: Telegram's POST route and the health check."""

    def __init__(self, application: AnyApplication, *, path: str, secret: str) -> None:
        self._application = application
        self._path = path
        self._secret = secret.encode()
        self._accepting = False
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(self._path, self._on_update)
        app.router.add_get(HEALTH_PATH, self._on_health)
        return app

    async def start(self, host: str, port: int) -> None:
        """Listen on `host:port` (port 0 picks a free one, see `self.port`).

        Updates get 503 until `accept_updates`: the health check works from the start.
        """
        # No access log: every update is a request, and a path may hold a secret.
        runner = web.AppRunner(
            self.web_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=REQUEST_DRAIN_SECONDS,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            await runner.cleanup()
            raise ListenError(f"cannot listen on {host}:{port}: {error.strerror}") from error
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    def accept_updates(self) -> None:
        """From now on updates are queued: call it once the application is running."""
        self._accepting = True

    async def stop(self) -> None:
        """Take no more updates, and wait until those being read are in the queue."""
        self._accepting = False
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _on_update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None or not hmac.compare_digest(
            given.encode("utf-8", "replace"), self._secret
        ):
            log.warning(
                "refused a webhook request from %s: %s secret token",
                request.remote,
                "no" if given is None else "wrong",
            )
            return web.Response(status=403)
        if not self._accepting:
            # Starting or stopping. Not 200: Telegram retries, so the update comes again.
            return web.Response(status=503, text="not running")
        bot = self._application.bot
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an object with an update_id")
        except (ValueError, TypeError, KeyError) as error:
            log.warning(
                "refused a webhook request: the body is not a Telegram update (%s)",
                type(error).__name__,
            )
            return web.Response(status=400)
        try:
            update = Update.de_json(data, bot)
        except Exception as error:
            # From Telegram (the secret was right) but unreadable, probably a newer API field:
            # 200, or Telegram would send it again and again.
            log.warning(
                "skipped update %d: it could not be read (%s)",
                data["update_id"],
                type(error).__name__,
            )
            return web.Response(status=200)
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)  # what the Updater's own webhook does
        # In the database before the 200 (when the database refuses, processed all the same).
        await services_from(self._application.bot_data).inbox.keep([data])
        await self._application.update_queue.put(update)
        log.debug("queued update %s from the webhook", update.update_id)
        return web.Response(status=200)

    async def _on_health(self, request: web.Request) -> web.Response:
        engine = services_from(self._application.bot_data).engine
        if await database_reachable(engine):
            return web.json_response({"status": "ok", "database": "ok"})
        return web.json_response({"status": "degraded", "database": "unreachable"}, status=503)


@asynccontextmanager
async def running_webhook(
    application: AnyApplication, options: WebhookOptions
) -> AsyncIterator[WebhookServer]:
    """The application started and Telegram posting to it; a graceful stop on exit.

    The order is `run_polling`'s with the server in the Updater's place, except that the
    address is bound first, so a port in use fails before migrations run. Until the
    application runs, updates get 503 (Telegram retries): one accepted by an application that
    then failed to start would be lost. On exit: stop taking updates, `stop` (which drains the
    queue), post_stop, shutdown, post_shutdown. Only run_polling and run_webhook call the
    post_* hooks by themselves, so they are called here.
    """
    server = WebhookServer(application, path=options.path, secret=options.secret)
    await server.start(options.listen, options.port)
    try:
        await application.initialize()
        try:
            if application.post_init is not None:
                await application.post_init(application)
            await application.start()
            try:
                server.accept_updates()
                await application.bot.set_webhook(
                    url=options.url,
                    secret_token=options.secret,
                    allowed_updates=list(ALLOWED_UPDATES),
                    drop_pending_updates=False,
                )
                log.info(
                    "webhook mode: listening on %s:%s, Telegram posts to %s",
                    options.listen,
                    server.port,
                    urlsplit(options.url).hostname,
                )
                yield server
            finally:
                # First no new updates: one queued after stop() began would be dropped.
                await server.stop()
                # Waits for every queued update, the ones being handled and running jobs.
                await application.stop()
                if application.post_stop is not None:
                    await application.post_stop(application)
        finally:
            await application.shutdown()
            # Last, as in run_polling: it disposes of the database engine the updates used.
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
    finally:
        await server.stop()  # does nothing if it already stopped


class StopSignals:
    """SIGINT and SIGTERM for both modes: the first one stops, later ones are only logged.

    python-telegram-bot's own handlers (run_polling's default) raise SystemExit on every
    signal, so a second one (an impatient Ctrl+C, a supervisor repeating itself) aborts the
    graceful stop half-way and drops the replies still being sent.
    """

    def __init__(self, on_first: Callable[[], None]) -> None:
        self._on_first = on_first
        self.received: signal.Signals | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        for stop_signal in STOP_SIGNALS:
            loop.add_signal_handler(stop_signal, self, stop_signal)

    def remove(self, loop: asyncio.AbstractEventLoop) -> None:
        for stop_signal in STOP_SIGNALS:
            loop.remove_signal_handler(stop_signal)

    def __call__(self, received: signal.Signals) -> None:
        if self.received is not None:
            signals_log.warning(
                "received %s again; still finishing updates in progress", received.name
            )
            return
        self.received = received
        signals_log.info(
            "received %s: stopping once the updates in progress are done", received.name
        )
        self._on_first()


def exit_run_polling() -> NoReturn:
    """What run_polling's own handlers do: its loop catches SystemExit and stops gracefully."""
    raise SystemExit


async def serve(application: AnyApplication, options: WebhookOptions) -> None:
    """Run in webhook mode until SIGINT or SIGTERM, then stop gracefully.

    The handlers go in before anything starts, so a signal during start-up (a migration, say)
    lets it finish and then stops, instead of cutting it off.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = StopSignals(on_first=stop.set)
    signals.install(loop)
    try:
        async with running_webhook(application, options):
            await stop.wait()
    finally:
        signals.remove(loop)
