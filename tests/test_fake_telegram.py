"""Self-tests for the fake Bot API: the real python-telegram-bot 22.8 must talk to it.

End-to-end tests of the bot are only trustworthy if the fake behaves like Telegram on the wire.
These tests drive it with an unmodified ``telegram.Bot`` and ``telegram.ext.Application`` (real
HTTPX transport, real request encoding, real long polling), so a PTB upgrade that changes how
requests are sent shows up here rather than as mysterious failures in the bot's own tests.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, RetryAfter
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.fake_telegram import FakeBotApi, FakeUser, application_builder, polling

TOKEN = "123:ABC"
# PTB 22.x warns inside RetryAfter.__init__ itself about retry_after becoming a timedelta.
PTB_RETRY_AFTER_WARNING = "ignore::telegram.warnings.PTBDeprecationWarning"
USER_ID = 4242


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def user(server: FakeBotApi) -> FakeUser:
    return FakeUser(server, USER_ID, first_name="Ana")


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=server.api_url, base_file_url=server.file_url) as real_bot:
        yield real_bot


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in buttons]]
    )


async def test_get_me(server: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (123456, "codesign_test_bot", True)
    assert server.requests[0].method == "getMe"
    assert server.requests[0].token == TOKEN


async def test_send_message_with_keyboard_and_html(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Yes", callback_data="answer:yes")],
            [InlineKeyboardButton("Docs", url="https://example.org/docs")],
        ]
    )
    sent = await bot.send_message(
        USER_ID,
        "<b>Hello</b> Ana &amp; friends &lt;3",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
    )

    assert sent.text == "Hello Ana & friends <3"
    assert sent.text_html == "<b>Hello</b> Ana &amp; friends &lt;3"
    assert sent.reply_markup == markup
    assert sent.chat.first_name == "Ana"
    assert sent.from_user is not None and sent.from_user.id == 123456

    [message] = server.messages
    assert message.chat_id == USER_ID
    assert message.text == "Hello Ana & friends <3"
    assert message.raw_text == "<b>Hello</b> Ana &amp; friends &lt;3"
    assert message.parse_mode == "HTML"
    assert message.buttons == [("Yes", "answer:yes"), ("Docs", "https://example.org/docs")]
    assert message.button_texts == ["Yes", "Docs"]
    assert user.inbox == [message]
    # PTB sends form fields; numbers and JSON objects must come back as Python values.
    params = server.calls("sendMessage")[0].params
    assert params["chat_id"] == USER_ID
    assert isinstance(params["reply_markup"], dict)


async def test_numeric_looking_text_stays_a_string(server: FakeBotApi, bot: Bot) -> None:
    await bot.send_message(USER_ID, "123")
    assert server.calls("sendMessage")[0].params["text"] == "123"
    assert server.messages[0].text == "123"


async def test_html_entities_links_and_pre(bot: Bot) -> None:
    sent = await bot.send_message(
        USER_ID,
        '<a href="https://x.org/?a=1&amp;b=2">link</a> '
        '<pre><code class="language-python">x = 1</code></pre> &#128512;',
        parse_mode=ParseMode.HTML,
    )
    assert sent.text == "link x = 1 \U0001f600"
    link, pre = sent.entities
    assert (link.type, link.url) == ("text_link", "https://x.org/?a=1&b=2")
    assert (pre.type, pre.language, pre.offset, pre.length) == ("pre", "python", 5, 5)


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("a < b", "Unexpected '<'"),
        ("Tom & Jerry", "Unescaped '&'"),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<div>x</div>", 'Unsupported start tag "div"'),
        ("<b>x</i>", "Unmatched end tag"),
        ("x</b>", "Unexpected end tag"),
        ('<span class="red">x</span>', 'must have class "tg-spoiler"'),
    ],
)
async def test_invalid_html_is_rejected(
    server: FakeBotApi, bot: Bot, html: str, reason: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER_ID, html, parse_mode=ParseMode.HTML)
    # PTB strips "Bad Request: " and lower-cases the rest, so check the wire text instead.
    response = server.calls("sendMessage")[-1].response
    assert response is not None
    assert response["description"].startswith("Bad Request: can't parse entities: ")
    assert reason in response["description"]
    assert server.messages == []


async def test_message_limits(server: FakeBotApi, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(USER_ID, "x" * 4097)
    await bot.send_message(USER_ID, "x" * 4096)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER_ID, "")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER_ID, "<b> </b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER_ID, "hi", reply_markup=keyboard(("Go", "x" * 65)))
    assert len(server.messages) == 1


async def test_edit_message_text_and_not_modified(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    sent = await bot.send_message(USER_ID, "Step 1", reply_markup=keyboard(("Next", "next")))

    edited = await bot.edit_message_text(
        "<i>Step 2</i>",
        chat_id=USER_ID,
        message_id=sent.message_id,
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard(("Next", "next")),
    )
    assert not isinstance(edited, bool) and edited.text == "Step 2"

    [message] = server.messages
    assert (message.text, message.raw_text) == ("Step 2", "<i>Step 2</i>")
    assert [version.text for version in message.edits] == ["Step 1"]

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<i>Step 2</i>",
            chat_id=USER_ID,
            message_id=sent.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Next", "next")),
        )
    # Like Telegram, editing the text without reply_markup drops the keyboard.
    await bot.edit_message_text("Step 2", chat_id=USER_ID, message_id=sent.message_id)
    assert message.buttons == []
    assert len(message.edits) == 2

    await bot.edit_message_reply_markup(
        chat_id=USER_ID, message_id=sent.message_id, reply_markup=keyboard(("Back", "back"))
    )
    assert message.button_texts == ["Back"]
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(
            chat_id=USER_ID, message_id=sent.message_id, reply_markup=keyboard(("Back", "back"))
        )

    assert await bot.delete_message(USER_ID, sent.message_id)
    assert message.deleted
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("again", chat_id=USER_ID, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(USER_ID, sent.message_id)


async def test_answer_callback_query(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    await bot.send_message(USER_ID, "Pick", reply_markup=keyboard(("Yes", "y"), ("No", "n")))
    update = user.press("no")  # falls back to a case-insensitive substring match
    query = update["callback_query"]
    assert query["data"] == "n"
    assert query["message"]["text"] == "Pick"

    [fetched] = await bot.get_updates()
    assert fetched.callback_query is not None
    assert fetched.callback_query.message is not None
    assert fetched.callback_query.message.message_id == server.messages[0].message_id

    assert server.unanswered_callback_queries() == [query["id"]]
    assert await bot.answer_callback_query(query["id"], text="Noted", show_alert=True)
    assert server.callback_answers == [(query["id"], "Noted", True)]
    assert server.unanswered_callback_queries() == []

    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("999")
    with pytest.raises(AssertionError, match="Available buttons"):
        user.press("Maybe")


async def test_send_document_and_photo(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    sent = await bot.send_document(
        USER_ID,
        b"%PDF report",
        filename="report.pdf",
        caption="<b>Your</b> report",
        parse_mode=ParseMode.HTML,
    )
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("report.pdf", "application/pdf")
    assert sent.caption == "Your report"

    document = server.messages[-1]
    assert document.method == "sendDocument"
    assert document.document == ("report.pdf", b"%PDF report")
    assert document.text == "Your report"

    # PTB names bytes uploads without a filename after the MIME type.
    await bot.send_document(USER_ID, b"raw bytes")
    assert server.messages[-1].document == ("application.octet-stream", b"raw bytes")

    # Re-sending by file_id reuses the stored bytes.
    await bot.send_document(USER_ID, sent.document.file_id)
    assert server.messages[-1].document == ("report.pdf", b"%PDF report")

    photo = await bot.send_photo(USER_ID, b"\xff\xd8jpeg", caption="pic")
    assert photo.photo and photo.caption == "pic"
    assert server.messages[-1].photo == b"\xff\xd8jpeg"
    assert [message.method for message in user.inbox] == [
        "sendDocument",
        "sendDocument",
        "sendDocument",
        "sendPhoto",
    ]


async def test_get_file_and_download_voice(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    update = user.send_voice(duration=7, data=b"OggS fake opus bytes")
    voice = update["message"]["voice"]

    file = await bot.get_file(voice["file_id"])
    assert file.file_path is not None and file.file_path.startswith(server.file_url)
    assert await file.download_as_bytearray() == bytearray(b"OggS fake opus bytes")

    [fetched] = await bot.get_updates()
    assert fetched.message is not None and fetched.message.voice is not None
    assert fetched.message.voice.file_unique_id == voice["file_unique_id"]

    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


@pytest.mark.filterwarnings(PTB_RETRY_AFTER_WARNING)
async def test_flood_control_is_retry_after(server: FakeBotApi, bot: Bot) -> None:
    server.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER_ID, "hi")
    # An int, or a timedelta once PTB_TIMEDELTA is on (bot/__init__.py opts in).
    wait = raised.value.retry_after
    assert (wait.total_seconds() if isinstance(wait, timedelta) else wait) == 3
    assert server.calls("sendMessage")[0].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    await bot.send_message(USER_ID, "hi again")  # only the next call fails
    assert [message.text for message in server.messages] == ["hi again"]


async def test_injected_failures_count_and_other_codes(server: FakeBotApi, bot: Bot) -> None:
    server.fail_next("SENDMESSAGE", 400, "Bad Request: chat not found", count=2)
    for _ in range(2):
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(USER_ID, "x")
    await bot.send_message(USER_ID, "x")


async def test_blocked_chat_is_forbidden(server: FakeBotApi, bot: Bot, user: FakeUser) -> None:
    server.block(USER_ID)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "hi")
    with pytest.raises(Forbidden):
        await bot.send_document(USER_ID, b"x", filename="x.txt")
    await bot.send_message(USER_ID + 1, "someone else is fine")
    server.unblock(USER_ID)
    await bot.send_message(USER_ID, "hi")
    assert [message.chat_id for message in server.messages] == [USER_ID + 1, USER_ID]


@pytest.mark.filterwarnings(PTB_RETRY_AFTER_WARNING)
async def test_global_rate_limit(server: FakeBotApi, bot: Bot) -> None:
    server.rate_limit(2)
    await bot.send_message(USER_ID, "1")
    await bot.send_chat_action(USER_ID, "typing")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "3")
    server.rate_limit(None)
    await bot.send_message(USER_ID, "4")
    assert server.chat_actions == [(USER_ID, "typing")]


async def test_unknown_method_is_404(bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": USER_ID})


async def test_commands_and_webhook(server: FakeBotApi, bot: Bot) -> None:
    commands = [BotCommand("start", "Begin"), BotCommand("help", "Get help")]
    assert await bot.set_my_commands(commands, language_code="es")
    assert await bot.get_my_commands(language_code="es") == tuple(commands)
    assert await bot.get_my_commands() == ()
    assert await bot.delete_my_commands(language_code="es")
    assert await bot.get_my_commands(language_code="es") == ()
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "Begin")])

    assert await bot.set_webhook("https://example.org/hook")
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert await bot.get_updates() == ()
    assert await bot.close()
    assert await bot.log_out()


async def test_get_updates_offset_and_redelivery(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    first = user.send_text("one")
    user.send_command("start", "ref", "42")
    updates = await bot.get_updates()
    assert [update.update_id for update in updates] == [1000, 1001]
    assert updates[1].message is not None
    assert updates[1].message.text == "/start ref 42"
    assert updates[1].message.entities[0].type == "bot_command"

    # Not confirmed yet: delivered again. Confirmed by offset: gone.
    assert len(await bot.get_updates()) == 2
    assert await bot.get_updates(offset=1002) == ()

    # Telegram re-delivering an already confirmed update keeps its update_id.
    user.resend(first)
    [again] = await bot.get_updates(offset=1002)
    assert again.update_id == 1000
    assert again.message is not None and again.message.text == "one"
    assert await bot.get_updates(offset=1002) == ()

    assert server.push_update({"message": first["message"]}) == 1002


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for(lambda s: s.calls("getUpdates"), description="a getUpdates call")
    started = time.monotonic()
    user.send_text("wake up")
    updates = await poll
    assert time.monotonic() - started < 1
    assert [update.message.text for update in updates if update.message] == ["wake up"]


async def test_newer_get_updates_terminates_older_one(server: FakeBotApi, bot: Bot) -> None:
    """Two bot instances polling at once: Telegram answers the older poll with 409."""
    older = asyncio.create_task(bot.get_updates(timeout=5))
    await server.wait_for(lambda s: s.calls("getUpdates"), description="a getUpdates call")
    # A Bot has a single connection for getUpdates, so the second poller is a second Bot.
    async with Bot(TOKEN, base_url=server.api_url, base_file_url=server.file_url) as second:
        assert await second.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(older, 2)


async def test_json_query_and_form_requests(server: FakeBotApi, user: FakeUser) -> None:
    async with aiohttp.ClientSession() as session:
        url = f"{server.api_url}{TOKEN}"
        async with session.post(
            f"{url}/SendMessage",
            json={
                "chat_id": USER_ID,
                "text": "json body",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        ) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["text"] == "json body"
        async with session.get(f"{url}/sendMessage", params={"chat_id": "-100", "text": "q"}):
            pass
        async with session.post(f"{url}/nosuchmethod") as response:
            assert response.status == 404
            assert await response.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with session.get(f"{server.file_url}{TOKEN}/missing/file.bin") as response:
            assert response.status == 404
    assert [(message.chat_id, message.text) for message in server.messages] == [
        (USER_ID, "json body"),
        (-100, "q"),
    ]
    assert server.messages[0].buttons == [("A", "a")]
    assert server.calls("sendmessage")[0].method == "sendMessage"


async def test_user_reading_cursor_sees_edits(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    first = await bot.send_message(USER_ID, "Working...")
    await bot.send_message(USER_ID, "Second")
    assert (await user.next_message()).text == "Working..."
    assert (await user.next_message()).text == "Second"
    assert user.unread == []

    waiter = asyncio.create_task(user.wait_for_text("Done"))
    await asyncio.sleep(0)
    await bot.edit_message_text("Done!", chat_id=USER_ID, message_id=first.message_id)
    edited = await waiter
    assert edited.message_id == first.message_id and edited.edits[0].text == "Working..."

    # A keyboard-only edit of an already read message is not new text.
    await bot.edit_message_reply_markup(
        chat_id=USER_ID, message_id=first.message_id, reply_markup=keyboard(("Ok", "ok"))
    )
    with pytest.raises(AssertionError, match="containing 'Done'"):
        await user.wait_for_text("Done", timeout=0.05)

    third = asyncio.create_task(user.next_message())
    await bot.send_message(USER_ID, "Third")
    assert (await third).text == "Third"
    assert user.last_message is not None and user.last_message.text == "Third"

    with pytest.raises(AssertionError, match="containing 'never'") as caught:
        await user.wait_for_text("never", timeout=0.05)
    assert "Third" in str(caught.value)  # the dump shows what was sent instead


async def test_wait_idle_requires_fetched_updates(
    server: FakeBotApi, bot: Bot, user: FakeUser
) -> None:
    user.send_text("unread")
    with pytest.raises(AssertionError, match="1 updates not fetched"):
        await server.wait_idle(quiet=0.01, timeout=0.1)
    await bot.get_updates()
    await server.wait_idle(quiet=0.05, timeout=1)


async def test_application_long_polling_end_to_end(server: FakeBotApi, user: FakeUser) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"Welcome, args={context.args}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        await message.reply_text(
            f"echo: <b>{message.text_html}</b>",
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(("Again", "again")),
        )

    async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("got it")
        await query.edit_message_text(f"pressed: {query.data}")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(server.api_url)
        .base_file_url(server.file_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(CallbackQueryHandler(button))

    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0)
    try:
        user.send_command("start", "ref42")
        assert (await user.next_message()).text == "Welcome, args=['ref42']"

        user.send_text("hello <world> & co")
        reply = await user.wait_for_text("echo: hello")
        assert reply.text == "echo: hello <world> & co"
        assert reply.button_texts == ["Again"]

        press = user.press("Again")
        edited = await user.wait_for_text("pressed: again")
        assert edited is reply
        assert edited.buttons == []
        await server.wait_for(lambda s: s.callback_answers, description="a callback answer")
        assert server.callback_answers == [(press["callback_query"]["id"], "got it", False)]

        await server.wait_idle(quiet=0.2)
        assert len(user.inbox) == 2
    finally:
        started = time.monotonic()
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        assert time.monotonic() - started < 2
    # The final getUpdates confirmed everything, as PTB does on shutdown.
    assert server.pending_updates == []
    assert server.calls("getUpdates")[-1].params["timeout"] == 0


async def test_polling_helper_stops_even_when_the_test_fails(
    server: FakeBotApi, user: FakeUser
) -> None:
    async def hello(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("hi")

    application = application_builder(server).build()
    application.add_handler(CommandHandler("hello", hello))
    with pytest.raises(ZeroDivisionError):
        async with polling(application):
            user.send_command("hello")
            assert (await user.next_message()).text == "hi"
            _ = 1 / 0
    assert application.updater is not None and not application.updater.running
    assert not application.running
    assert server.pending_updates == []


async def test_allowed_updates_default_and_explicit(server: FakeBotApi, bot: Bot) -> None:
    """Like Telegram, chat_member updates are only delivered when explicitly requested."""
    member_update = {"chat_member": {"placeholder": True}}
    server.push_update(member_update)
    assert await bot.get_updates() == ()
    assert server.dropped_updates == [{**member_update, "update_id": 1000}]

    server.push_update(member_update)
    async with aiohttp.ClientSession() as session:
        url = f"{server.api_url}{TOKEN}/getUpdates"
        async with session.post(url, json={"allowed_updates": ["chat_member"]}) as response:
            body = await response.json()
    assert [update["update_id"] for update in body["result"]] == [1001]
