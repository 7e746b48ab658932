"""A fake Telegram Bot API server and simulated users for end-to-end tests.

The bot under test runs on the real python-telegram-bot stack; only the network peer is fake::

    async with FakeBotApi() as server:
        application = application_builder(server).build()   # or base_url=server.api_url ...
        application.add_handler(...)
        ana = FakeUser(server, 1001, first_name="Ana")
        async with polling(application):
            ana.send_command("start")
            welcome = await ana.wait_for_text("Welcome")
            ana.press("Continue")
            await ana.wait_for_text("Question 1")
            await server.wait_idle()          # then assert nothing else was sent
        assert server.unanswered_callback_queries() == []

See ``tests/test_fake_telegram.py`` for the behaviour the fake guarantees.
"""

from .errors import ApiError
from .ptb import application_builder, polling
from .records import (
    BotMessage,
    CallbackAnswer,
    MessageVersion,
    RecordedRequest,
    StoredFile,
    UploadedFile,
)
from .server import FakeBotApi
from .users import FakeUser

__all__ = [
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "FakeBotApi",
    "FakeUser",
    "MessageVersion",
    "RecordedRequest",
    "StoredFile",
    "UploadedFile",
    "application_builder",
    "polling",
]
