"""SIGTERM stops the real `python -m bot run` process gracefully, in both modes.

The bot runs as a subprocess against a fake Bot API server in this process. A reply is made
slow (the fake answers sendMessage a second late), SIGTERM arrives while the update is being
handled, and the process must still send the reply, leave the database complete and exit 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import Settings
from bot.webhook import SECRET_HEADER
from tests.fake_telegram import FakeBotApi, FakeUser, UploadedFile

REPO = Path(__file__).resolve().parents[1]
TOKEN = "123456:ABC-shutdown-test-token"
SECRET = "shutdown_test-secret"
CONSENT = "Do you agree to take part?"
ROLE_QUESTION = "Which of these describes you best?"
START_TIMEOUT = 20.0  # imports, training the safeguarding model, migrations, the first reply
EXIT_TIMEOUT = 5.0


class BotProcess:
    """`python -m bot run ...` with its stderr collected line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        assert process.stderr is not None
        self._reader = asyncio.create_task(self._read(process.stderr))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    async def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log:
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} in the bot's log:\n{self.log}")
            await asyncio.sleep(0.05)

    async def terminate_and_wait(self, *, twice: bool = False) -> int:
        self.process.send_signal(signal.SIGTERM)
        if twice:  # an impatient operator: the second one must not cut the stop short
            await asyncio.sleep(0.2)
            self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), EXIT_TIMEOUT)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"no exit {EXIT_TIMEOUT}s after SIGTERM:\n{self.log}") from None
        await self._reader
        return code

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()
        await self._reader


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(server: FakeBotApi, tmp_path: Path, **extra: str) -> dict[str, str]:
    # Nothing from the developer's own settings may leak in (there is no .env in tmp_path).
    ours = {name.upper() for name in Settings.model_fields}
    env = {name: value for name, value in os.environ.items() if name not in ours}
    env.update(
        PYTHONPATH=str(REPO),
        TELEGRAM_BOT_TOKEN=TOKEN,
        ORGANISATION_NAME="Care Together",
        ORGANISATION_CONTACT="team@care.example",
        TELEGRAM_API_BASE_URL=server.api_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite",
        DATA_DIR=str(tmp_path / "data"),
        SCHEDULER_INTERVAL_SECONDS="0",
        LOG_LEVEL="INFO",
        **extra,
    )
    return env


async def _start(env: dict[str, str], cwd: Path, *args: str) -> BotProcess:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    return BotProcess(process)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as server:
        yield server


def _slow_replies(fake: FakeBotApi, delay: float = 1.0) -> asyncio.Event:
    """From now on the fake answers sendMessage `delay` seconds late; set once one starts."""
    started = asyncio.Event()
    send_message = fake._send_message  # the built-in behaviour

    async def slow_send(params: dict[str, Any], files: dict[str, UploadedFile]) -> Any:
        started.set()
        await asyncio.sleep(delay)
        return await send_message(params, files)

    fake.add_method("sendMessage", slow_send)
    return started


def _database_rows(tmp_path: Path, user_id: int, update_id: int) -> tuple[bool, tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        processed = db.execute(
            "SELECT 1 FROM processed_updates WHERE update_id = ?", (update_id,)
        ).fetchone()
        participant = db.execute(
            "SELECT consented_at, position FROM participants WHERE telegram_user_id = ?",
            (user_id,),
        ).fetchone()
    return processed is not None, participant


def _assert_clean_exit(bot: BotProcess, code: int, *expected: str) -> None:
    assert code == 0, bot.log
    for line in expected:
        assert line in bot.log, bot.log
    assert "Traceback" not in bot.log
    for level in (" ERROR ", " CRITICAL "):
        assert level not in bot.log, bot.log


async def _agree_while_stopping(
    bot: BotProcess,
    fake: FakeBotApi,
    tmp_path: Path,
    deliver: Callable[[dict[str, Any]], Any],
    *,
    twice: bool = False,
) -> None:
    """Join, then press "Yes, I agree" with a slow reply and SIGTERM while it is being sent."""
    ana = FakeUser(fake, 8001, first_name="Ana", language_code="en")
    await deliver(ana.send_command("/start"))
    await ana.wait_for_text(CONSENT, timeout=START_TIMEOUT)

    replying = _slow_replies(fake)
    agree = ana.press("Yes, I agree")
    await deliver(agree)
    await asyncio.wait_for(replying.wait(), 5)
    assert not any(ROLE_QUESTION in (m.text or "") for m in ana.inbox)  # still in flight
    started = time.monotonic()
    code = await bot.terminate_and_wait(twice=twice)
    assert time.monotonic() - started < EXIT_TIMEOUT

    # The reply in flight was sent, and what the update changed is all there.
    assert any(ROLE_QUESTION in (m.text or "") for m in ana.inbox), fake.dump()
    processed, participant = _database_rows(tmp_path, ana.user_id, agree["update_id"])
    assert processed
    assert participant is not None and participant[0] is not None
    _assert_clean_exit(bot, code, "stopped cleanly")


async def test_sigterm_while_polling_finishes_the_update(fake: FakeBotApi, tmp_path: Path) -> None:
    bot = await _start(_environment(fake, tmp_path), tmp_path)
    try:

        async def queued(update: dict[str, Any]) -> None:
            return None  # FakeUser already queued it for getUpdates

        await _agree_while_stopping(bot, fake, tmp_path, queued, twice=True)
        assert "received SIGTERM: stopping" in bot.log
        assert "received SIGTERM again; still finishing" in bot.log
        assert "stopped cleanly" in bot.log  # logged once Application.stop() completed
    finally:
        await bot.kill()


async def test_sigterm_in_webhook_mode_finishes_the_update(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    port = _free_port()
    url = "https://bot.example.org/hook"
    env = _environment(fake, tmp_path, TELEGRAM_WEBHOOK_SECRET=SECRET)
    bot = await _start(env, tmp_path, "--webhook", url, "--port", str(port))
    try:
        await bot.wait_for_log("webhook mode: listening")
        assert fake.calls("setWebhook")[-1].params["secret_token"] == SECRET
        async with aiohttp.ClientSession() as client:

            async def posted(update: dict[str, Any]) -> None:
                async with client.post(
                    f"http://127.0.0.1:{port}/hook", json=update, headers={SECRET_HEADER: SECRET}
                ) as response:
                    assert response.status == 200

            await _agree_while_stopping(bot, fake, tmp_path, posted, twice=True)
        assert "received SIGTERM: stopping" in bot.log
        assert "received SIGTERM again; still finishing" in bot.log
        assert fake.calls("deleteWebhook") == []
    finally:
        await bot.kill()
