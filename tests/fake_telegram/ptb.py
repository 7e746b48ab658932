"""python-telegram-bot glue: run a real ``Application`` against a :class:`FakeBotApi`.

Starting and stopping long polling takes five calls in a precise order, and a test that fails
half-way must still stop the updater, or the next test inherits a poller that keeps hitting a
closed port. :func:`polling` does both in one ``async with``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram.ext import Application, ApplicationBuilder

from .server import FakeBotApi

__all__ = ["application_builder", "polling"]


def application_builder(
    server: FakeBotApi, token: str = "123:ABC"
) -> ApplicationBuilder[Any, Any, Any, Any, Any, Any]:
    """An ``ApplicationBuilder`` already pointed at ``server`` (add handlers, then build)."""
    return (
        ApplicationBuilder().token(token).base_url(server.api_url).base_file_url(server.file_url)
    )


@asynccontextmanager
async def polling(
    application: Application[Any, Any, Any, Any, Any, Any], poll_interval: float = 0.0
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """Initialize, start and long-poll ``application``; stop and shut it down on exit."""
    updater = application.updater
    if updater is None:
        raise RuntimeError("The application was built without an Updater")
    await application.initialize()
    try:
        await application.start()
        try:
            await updater.start_polling(poll_interval=poll_interval)
            try:
                yield application
            finally:
                await updater.stop()
        finally:
            await application.stop()
    finally:
        await application.shutdown()
