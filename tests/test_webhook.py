"""Webhook mode: the real application behind the real aiohttp server, on 127.0.0.1.

Updates are posted the way Telegram posts them; the bot's own calls (setWebhook, the replies)
go to the fake Bot API server, where the tests read them.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from telegram.error import BadRequest

from bot.app import build_application
from bot.cli import main
from bot.config import Settings
from bot.services import services_from
from bot.webhook import (
    SECRET_HEADER,
    AnyApplication,
    ListenError,
    WebhookOptions,
    WebhookServer,
    running_webhook,
)
from tests.fake_telegram import FakeBotApi, FakeUser, UploadedFile

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"
SECRET = "s3cret_webhook-Token"
PUBLIC_URL = "https://bot.example.org/telegram/updates"
CONSENT = "Do you agree to take part?"


class WebhookBot:
    """The application in webhook mode, and a client that posts to it like Telegram."""

    def __init__(
        self,
        application: AnyApplication,
        server: WebhookServer,
        client: aiohttp.ClientSession,
        database: Path,
    ) -> None:
        self.application = application
        self.server = server
        self.client = client
        self.database = database

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def post(
        self, body: Any = None, *, secret: str | None = SECRET, data: bytes | None = None
    ) -> int:
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self.client.post(
            f"{self.base}/telegram/updates", json=body, data=data, headers=headers
        ) as response:
            return response.status

    async def health(self) -> tuple[int, dict[str, str]]:
        async with self.client.get(f"{self.base}/healthz") as response:
            return response.status, await response.json()

    def processed(self) -> set[int]:
        with sqlite3.connect(self.database) as db:
            return {row[0] for row in db.execute("SELECT update_id FROM processed_updates")}

    def in_inbox(self) -> set[int]:
        with sqlite3.connect(self.database) as db:
            return {row[0] for row in db.execute("SELECT update_id FROM update_inbox")}


def _application(server: FakeBotApi, tmp_path: Path) -> AnyApplication:
    settings = Settings(
        telegram_bot_token=TOKEN,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
        telegram_api_base_url=server.api_url,
        scheduler_interval_seconds=0,
        telegram_webhook_secret=SECRET,
        data_dir=tmp_path / "data",
    )
    return build_application(settings, base_url=server.api_url)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi, tmp_path: Path) -> AsyncIterator[WebhookBot]:
    application = _application(fake, tmp_path)
    options = WebhookOptions(url=PUBLIC_URL, secret=SECRET, listen="127.0.0.1", port=0)
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(running_webhook(application, options))
        client = await stack.enter_async_context(aiohttp.ClientSession())
        yield WebhookBot(application, server, client, tmp_path / "db.sqlite")


def _user(fake: FakeBotApi, user_id: int = 7001) -> FakeUser:
    return FakeUser(fake, user_id, first_name="Ana", language_code="en")


async def test_sets_the_webhook_with_the_secret(bot: WebhookBot, fake: FakeBotApi) -> None:
    [call] = fake.calls("setWebhook")
    assert call.params["url"] == PUBLIC_URL
    assert call.params["secret_token"] == SECRET
    assert call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert call.params.get("drop_pending_updates") in (False, None)
    assert fake.webhook_url == PUBLIC_URL


async def test_update_with_the_secret_is_handled(bot: WebhookBot, fake: FakeBotApi) -> None:
    ana = _user(fake)
    update = ana.send_command("/start")
    assert await bot.post(update) == 200
    await ana.wait_for_text(CONSENT)
    assert update["update_id"] in bot.processed()


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x", "é"])
async def test_without_the_right_secret_nothing_is_processed(
    bot: WebhookBot, fake: FakeBotApi, secret: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    ana = _user(fake)
    forged = ana.send_command("/start")
    assert await bot.post(forged, secret=secret) == 403
    # One person's updates are handled strictly in order, so once a later genuine update was
    # answered, a forged one that had been queued would have been answered first.
    genuine = ana.send_command("/start")
    assert await bot.post(genuine) == 200
    await ana.wait_for_text(CONSENT)
    assert sum(CONSENT in (message.text or "") for message in ana.inbox) == 1
    assert forged["update_id"] not in bot.processed()
    assert genuine["update_id"] in bot.processed()
    refusals = [r for r in caplog.records if "refused a webhook request" in r.getMessage()]
    assert refusals and all(r.levelname == "WARNING" for r in refusals)
    assert "/start" not in caplog.text  # the body is never logged


@pytest.mark.parametrize(
    "data",
    [b"not json", b"[1, 2]", b'{"no_update_id": 1}', b'{"update_id": "x"}', b"\xff\xfe"],
)
async def test_a_body_that_is_not_an_update_is_refused(bot: WebhookBot, data: bytes) -> None:
    assert await bot.post(data=data) == 400
    assert bot.processed() == set()


async def test_health_reports_the_database(
    bot: WebhookBot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert await bot.health() == (200, {"status": "ok", "database": "ok"})
    services = services_from(bot.application.bot_data)
    working = services.engine
    # A directory that does not exist: SQLite cannot open the file.
    broken = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/db.sqlite")
    services.engine = broken
    try:
        assert await bot.health() == (503, {"status": "degraded", "database": "unreachable"})
        assert "database unreachable (OperationalError)" in caplog.text
    finally:
        services.engine = working
        await broken.dispose()
    assert (await bot.health())[0] == 200


async def test_stop_finishes_an_update_already_accepted(fake: FakeBotApi, tmp_path: Path) -> None:
    """The order that makes a graceful stop safe: accepted means answered before exit."""
    application = _application(fake, tmp_path)
    options = WebhookOptions(url=PUBLIC_URL, secret=SECRET, listen="127.0.0.1", port=0)
    ana = _user(fake)
    sending = asyncio.Event()
    send_message = fake._send_message  # the built-in behaviour, one second later

    async def slow_send(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        sending.set()
        await asyncio.sleep(1.0)
        return await send_message(params, files)

    async with aiohttp.ClientSession() as client:
        async with running_webhook(application, options) as server:
            bot = WebhookBot(application, server, client, tmp_path / "db.sqlite")
            fake.add_method("sendMessage", slow_send)
            update = ana.send_command("/start")
            assert await bot.post(update) == 200
            await asyncio.wait_for(sending.wait(), 5)
            assert ana.inbox == []  # the reply is still on its way when the stop begins
        # Leaving the block stopped everything; the reply went out before that finished.
        assert any(CONSENT in (message.text or "") for message in ana.inbox)
        assert update["update_id"] in bot.processed()
        with pytest.raises(aiohttp.ClientConnectionError):
            await bot.post(ana.send_command("/start"))
    assert fake.calls("deleteWebhook") == []  # left set: Telegram queues updates meanwhile


async def test_an_update_is_in_the_inbox_before_telegram_gets_its_200(
    bot: WebhookBot, fake: FakeBotApi
) -> None:
    """A crash after the 200 finds it in the database at the next start; one before the 200
    makes Telegram send it again."""
    ana = _user(fake)
    release = asyncio.Event()
    send_message = fake._send_message

    async def held_send(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        await release.wait()
        return await send_message(params, files)

    fake.add_method("sendMessage", held_send)
    update = ana.send_command("/start")
    assert await bot.post(update) == 200
    assert bot.in_inbox() == {update["update_id"]}  # kept, and its reply not sent yet
    release.set()
    await ana.wait_for_text(CONSENT)
    await services_from(bot.application.bot_data).inbox.flush()
    assert bot.in_inbox() == set()  # processed and answered: gone


async def test_updates_wait_until_the_application_runs(fake: FakeBotApi, tmp_path: Path) -> None:
    """Bound but not accepting: 503 makes Telegram retry instead of losing the update."""
    application = _application(fake, tmp_path)
    server = WebhookServer(application, path="/telegram/updates", secret=SECRET)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as client:
            bot = WebhookBot(application, server, client, tmp_path / "db.sqlite")
            assert await bot.post(_user(fake).send_command("/start")) == 503
            assert (await bot.health())[0] == 503  # the database is not open yet
        assert application.update_queue.empty()
    finally:
        await server.stop()


async def test_a_port_in_use_fails_before_anything_starts(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        options = WebhookOptions(url=PUBLIC_URL, secret=SECRET, listen="127.0.0.1", port=port)
        with pytest.raises(ListenError, match=f"cannot listen on 127\\.0\\.0\\.1:{port}"):
            async with running_webhook(_application(fake, tmp_path), options):
                pass
    assert fake.requests == []  # not even getMe: no migration ran either
    assert not (tmp_path / "db.sqlite").exists()


async def test_a_refused_webhook_stops_everything_again(fake: FakeBotApi, tmp_path: Path) -> None:
    fake.fail_next("setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host")
    application = _application(fake, tmp_path)
    post_shutdown = application.post_shutdown
    assert post_shutdown is not None
    closed: list[bool] = []

    async def recording_post_shutdown(app: AnyApplication) -> None:
        await post_shutdown(app)
        closed.append(True)

    application.post_shutdown = recording_post_shutdown
    options = WebhookOptions(url=PUBLIC_URL, secret=SECRET, listen="127.0.0.1", port=0)
    with pytest.raises(BadRequest, match=r"(?i)bad webhook"):
        async with running_webhook(application, options):
            pass
    assert not application.running
    assert closed == [True]  # the database engine was disposed of


@pytest.fixture
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TELEGRAM_WEBHOOK_SECRET", "DATABASE_URL", "TELEGRAM_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("ORGANISATION_NAME", "Care Together")
    monkeypatch.setenv("ORGANISATION_CONTACT", "team@care.example")
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("_clean_env")
@pytest.mark.parametrize(
    ("argv", "secret", "expected"),
    [
        (["--webhook", PUBLIC_URL], None, "TELEGRAM_WEBHOOK_SECRET is not set"),
        (["--webhook", PUBLIC_URL], "has space", "TELEGRAM_WEBHOOK_SECRET must be 1 to 256"),
        (["--webhook", PUBLIC_URL], "x" * 257, "TELEGRAM_WEBHOOK_SECRET must be 1 to 256"),
        (["--webhook", "http://bot.example.org/u"], SECRET, "--webhook must be an https://"),
        (["--webhook", "https:///no-host"], SECRET, "--webhook must be an https://"),
        (["--webhook", "https://h.example/healthz"], SECRET, "--webhook must not end in"),
        (["--webhook", PUBLIC_URL, "--port", "0"], SECRET, "--port must be between"),
        (["--port", "8443"], SECRET, "--listen and --port only apply with --webhook"),
    ],
)
def test_cli_refuses_a_bad_webhook_setup_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    secret: str | None,
    expected: str,
) -> None:
    if secret is not None:
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"configuration error: {expected}")
    assert err.count("\n") == 1
    if secret is not None:
        assert secret not in err  # the secret is never echoed


async def test_an_update_that_cannot_be_read_is_skipped_with_200(
    bot: WebhookBot, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    ana = _user(fake)
    poll = {"id": "1", "question": "Secret-Poll", "options": [{"voter_count": 1}]}
    poison = {"update_id": 424242, "message": {**ana.send_text("x")["message"], "poll": poll}}
    assert await bot.post(poison) == 200
    genuine = ana.send_command("/start")
    assert await bot.post(genuine) == 200
    await ana.wait_for_text(CONSENT)
    assert sum("skipped update 424242" in r.getMessage() for r in caplog.records) == 1
    assert "Secret-Poll" not in caplog.text
