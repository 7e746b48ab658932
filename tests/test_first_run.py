"""A first run that cannot reach Telegram, or whose token is refused, says so in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.fake_telegram import FakeBotApi
from tests.test_shutdown import _environment, _free_port, _start


async def _run_once(env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    bot = await _start(env, cwd)
    code = await asyncio.wait_for(bot.process.wait(), 60)
    await bot.kill()  # already gone: this only waits for the last stderr lines
    return code, bot.lines


@pytest.mark.parametrize("case", ["no route", "token refused"])
async def test_a_failed_first_contact_is_one_line_and_exit_1(tmp_path: Path, case: str) -> None:
    async with FakeBotApi() as fake:
        env = _environment(fake, tmp_path)
        if case == "no route":
            env["TELEGRAM_API_BASE_URL"] = f"http://127.0.0.1:{_free_port()}/bot"
            expected = "cannot reach Telegram at 127.0.0.1:"
        else:
            fake.fail_next("getMe", 401, "Unauthorized", count=5)
            expected = "TELEGRAM_BOT_TOKEN was refused by Telegram"
        code, lines = await _run_once(env, tmp_path)
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith(expected), lines


async def test_a_webhook_url_telegram_refuses_is_one_line_and_exit_1(tmp_path: Path) -> None:
    async with FakeBotApi() as fake:
        env = _environment(fake, tmp_path, TELEGRAM_WEBHOOK_SECRET="s3cret-s3cret-s3cret")
        fake.fail_next(
            "setWebhook", 400, "Bad Request: bad webhook: Failed to resolve host", count=5
        )
        bot = await _start(
            env,
            tmp_path,
            "--webhook",
            "https://bot.invalid.example/telegram",
            "--port",
            str(_free_port()),
        )
        code = await asyncio.wait_for(bot.process.wait(), 60)
        await bot.kill()
    assert code == 1
    assert len(bot.lines) == 1, bot.lines
    assert bot.lines[0].startswith("Telegram refused the webhook URL"), bot.lines
    assert "bot.invalid.example" in bot.lines[0]
    assert "failed to resolve host" in bot.lines[0].lower()
