"""bot.aiohttp_request.AiohttpRequest under a real ``telegram.Bot``.

Most tests run against the fake Bot API server; where it cannot misbehave the way a test
needs (bytes on the wire, a server that never answers, a port that refuses, a TLS handshake
that never ends, an upload nobody reads) a tiny server is started in the test itself. The
yardstick throughout is PTB's own HTTPXRequest: same bodies, same errors.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import BodyPartReader, web
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import BaseRequest, HTTPXRequest

from bot.aiohttp_request import POOL_TIMEOUT_MESSAGE, AiohttpRequest
from tests.fake_telegram import FakeBotApi, FakeUser

TOKEN = "123456:SECRET-token-abcdef"
USER_ID = 4242
# PTB 22.x warns inside RetryAfter.__init__ itself about retry_after becoming a timedelta.
PTB_RETRY_AFTER_WARNING = "ignore::telegram.warnings.PTBDeprecationWarning"
GET_ME = {"id": 1, "is_bot": True, "first_name": "Capture", "username": "capture_bot"}
MESSAGE = {"message_id": 1, "date": 0, "chat": {"id": USER_ID, "type": "private"}}

RequestFactory = Callable[..., BaseRequest]


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


def make_bot(base_url: str, file_url: str | None = None, **request_kwargs: Any) -> Bot:
    return Bot(
        TOKEN,
        base_url=base_url,
        base_file_url=file_url or base_url.replace("/bot", "/file/bot"),
        request=AiohttpRequest(**request_kwargs),
        get_updates_request=AiohttpRequest(connection_pool_size=1, **request_kwargs),
    )


@pytest.fixture
async def bot(server: FakeBotApi) -> AsyncIterator[Bot]:
    async with make_bot(server.api_url, server.file_url) as real_bot:
        yield real_bot


@asynccontextmanager
async def tiny_server(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """An aiohttp server answering every path with ``handler``; yields its base_url."""
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/bot"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[int]:
    """Accepts connections and never reads nor writes a byte; yields its port."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    tcp = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield tcp.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        tcp.close()
        await tcp.wait_closed()


def exception_chain(error: BaseException) -> list[BaseException]:
    """``error`` and what a logged traceback would print along with it."""
    chain = [error]
    while True:
        current = chain[-1]
        following = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
        if following is None:
            return chain
        chain.append(following)


def assert_no_token(error: BaseException) -> None:
    for link in exception_chain(error):
        assert TOKEN not in str(link) and TOKEN not in repr(link.args), link
        assert TOKEN.split(":")[1] not in str(link), link


# ---------------------------------------------------------------------- the happy paths


async def test_get_me_and_send_message_round_trip(server: FakeBotApi, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username) == (server.bot_id, server.username)

    sent = await bot.send_message(USER_ID, "<b>Héllo</b> &amp; 👋", parse_mode="HTML")
    assert sent.text == "Héllo & 👋"
    [call] = server.calls("sendMessage")
    assert call.token == TOKEN
    assert call.params == {
        "chat_id": USER_ID,
        "text": "<b>Héllo</b> &amp; 👋",
        "parse_mode": "HTML",
    }
    assert call.status == 200
    assert server.messages[-1].text == "Héllo & 👋"


async def test_send_document_bytes_arrives_with_filename_and_content(
    server: FakeBotApi, bot: Bot
) -> None:
    sent = await bot.send_document(USER_ID, b"%PDF report\x00\xff", filename="report.pdf")
    assert sent.document is not None
    assert (sent.document.file_name, sent.document.mime_type) == ("report.pdf", "application/pdf")
    [call] = server.calls("sendDocument")
    assert call.files == {"document": ("report.pdf", b"%PDF report\x00\xff")}
    assert call.params["chat_id"] == USER_ID

    # Over 1 MiB, bytes are streamed from a BytesIO (see AiohttpRequest._multipart).
    big = bytes(range(256)) * 12_000
    await bot.send_document(USER_ID, big, filename="big.bin")
    assert server.calls("sendDocument")[-1].files == {"document": ("big.bin", big)}

    photo = await bot.send_photo(USER_ID, b"\xff\xd8jpeg", caption="pic")
    assert photo.caption == "pic"
    assert server.messages[-1].photo == b"\xff\xd8jpeg"


async def test_open_file_is_streamed_left_open_and_resent_whole(
    server: FakeBotApi, bot: Bot, tmp_path: Path
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"x" * 200_000)
    with path.open("rb") as handle:
        upload = InputFile(handle, filename="notes.txt", read_file_handle=False)
        await bot.send_document(USER_ID, upload)
        # A rate limiter retrying after a 429 sends the very same handle again.
        await bot.send_document(USER_ID, upload)
        assert not handle.closed  # like httpx: the caller owns the file
    assert [call.files["document"] for call in server.calls("sendDocument")] == [
        ("notes.txt", b"x" * 200_000)
    ] * 2


async def test_filenames_arrive_as_through_httpx(server: FakeBotApi) -> None:
    name = 'Résumé "final"\\v2.pdf'
    async with Bot(TOKEN, base_url=server.api_url, request=HTTPXRequest()) as httpx_bot:
        await httpx_bot.send_document(USER_ID, b"data", filename=name)
    async with make_bot(server.api_url) as aiohttp_bot:
        await aiohttp_bot.send_document(USER_ID, b"data", filename=name)
    via_httpx, via_aiohttp = (call.files["document"] for call in server.calls("sendDocument"))
    assert via_aiohttp == via_httpx


async def test_get_updates_long_poll(server: FakeBotApi) -> None:
    user = FakeUser(server, USER_ID)
    # PTB adds the poll's timeout to the request's read timeout: a 1 s poll must not trip 0.5 s.
    async with make_bot(server.api_url, read_timeout=0.5) as bot:
        started = time.monotonic()
        assert await bot.get_updates(timeout=1) == ()
        assert time.monotonic() - started >= 0.9

        asyncio.get_running_loop().call_later(0.3, user.send_text, "hello")
        started = time.monotonic()
        [update] = await bot.get_updates(timeout=5)
        assert 0.2 < time.monotonic() - started < 4
        assert update.message is not None and update.message.text == "hello"
        [poll, *_] = server.calls("getUpdates")
        assert poll.params["timeout"] == 1


async def test_get_file_and_download(server: FakeBotApi, bot: Bot) -> None:
    voice = FakeUser(server, USER_ID).send_voice(data=b"OggS fake opus bytes")["message"]["voice"]
    file = await bot.get_file(voice["file_id"])
    assert file.file_path is not None and file.file_path.startswith(server.file_url)
    assert await file.download_as_bytearray() == bytearray(b"OggS fake opus bytes")
    assert server.requests[-1].method == "<download>"
    assert server.requests[-1].token == TOKEN


async def test_wire_format_matches_httpx() -> None:
    """Headers and bodies as the server sees them, from both backends, side by side."""
    seen: list[dict[str, Any]] = []

    async def capture(request: web.Request) -> web.Response:
        record: dict[str, Any] = {
            "method": request.method,
            "path": request.path,
            "user_agent": request.headers.get("User-Agent"),
            "content_type": request.content_type,
        }
        if request.content_type == "multipart/form-data":
            parts = []
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                parts.append(
                    (
                        part.headers.get("Content-Disposition"),
                        part.filename and part.headers.get("Content-Type"),
                        await part.read(),
                    )
                )
            record["parts"] = parts
        else:
            record["body"] = await request.read()
        seen.append(record)
        result = GET_ME if request.path.endswith("/getMe") else MESSAGE
        return web.json_response({"ok": True, "result": result})

    async def exercise(request: BaseRequest, base_url: str) -> None:
        async with Bot(TOKEN, base_url=base_url, request=request) as bot:
            await bot.send_message(USER_ID, "Ünïcode & more=1", reply_markup=None)
            await bot.send_document(USER_ID, b"\x00doc", filename="a b.txt", caption="c")

    async with tiny_server(capture) as base_url:
        await exercise(HTTPXRequest(), base_url)
        via_httpx, seen[:] = list(seen), []
        await exercise(AiohttpRequest(), base_url)
        via_aiohttp = list(seen)
    assert [r["path"] for r in via_httpx][-3:] == [
        f"/bot{TOKEN}/getMe",
        f"/bot{TOKEN}/sendMessage",
        f"/bot{TOKEN}/sendDocument",
    ]
    assert via_aiohttp == via_httpx
    assert via_aiohttp[-2]["content_type"] == "application/x-www-form-urlencoded"
    assert via_aiohttp[-1]["content_type"] == "multipart/form-data"
    assert via_aiohttp[-1]["user_agent"] == BaseRequest.USER_AGENT


# ---------------------------------------------------------------------- errors


@pytest.mark.filterwarnings(PTB_RETRY_AFTER_WARNING)
async def test_429_raises_retry_after(server: FakeBotApi, bot: Bot) -> None:
    server.fail_next("sendMessage", 429, retry_after=3)
    with pytest.raises(RetryAfter) as raised:
        await bot.send_message(USER_ID, "hi")
    wait = raised.value.retry_after
    assert (wait.total_seconds() if isinstance(wait, timedelta) else wait) == 3


async def test_400_raises_bad_request(server: FakeBotApi, bot: Bot) -> None:
    server.fail_next("sendMessage", 400, "Bad Request: chat not found")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(USER_ID, "hi")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER_ID, " ")


async def slow_get_me(server: FakeBotApi, seconds: float) -> asyncio.Event:
    """getMe now answers after ``seconds``; the event is set when a call has arrived."""
    answer = await FakeBotApi._get_me(server, {}, {})
    arrived = asyncio.Event()

    async def slow(params: Any, files: Any) -> Any:
        arrived.set()
        await asyncio.sleep(seconds)
        return answer

    server.add_method("getMe", slow)
    return arrived


async def test_no_answer_within_read_timeout_is_timed_out(server: FakeBotApi) -> None:
    async with make_bot(server.api_url, read_timeout=0.3) as bot:
        await slow_get_me(server, 5)
        started = time.monotonic()
        with pytest.raises(TimedOut) as raised:
            await bot.get_me()
        assert time.monotonic() - started < 2
        assert str(raised.value) == "Timed out"

        # A per-call value overrides the default (DEFAULT_NONE rules): here a longer one.
        await slow_get_me(server, 0.6)
        assert (await bot.get_me(read_timeout=3)).username == server.username
        # ... and a shorter one.
        async with AiohttpRequest(read_timeout=5) as request:
            with pytest.raises(TimedOut):
                await request.post(f"{server.api_url}{TOKEN}/getMe", read_timeout=0.2)


async def test_closed_port_raises_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with AiohttpRequest() as request:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert type(raised.value) is NetworkError
    assert str(raised.value).startswith("aiohttp.ClientConnectorError: Cannot connect to host")
    assert_no_token(raised.value)


async def test_connect_timeout_does_not_leak_the_token() -> None:
    """A TLS handshake that never ends: aiohttp's own message quotes the full URL."""
    async with silent_tcp_server() as port, AiohttpRequest(connect_timeout=0.3) as request:
        with pytest.raises(TimedOut) as raised:
            await request.post(f"https://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert_no_token(raised.value)


async def test_stalled_upload_times_out_after_media_write_timeout() -> None:
    async with (
        silent_tcp_server() as port,
        AiohttpRequest(media_write_timeout=0.5, read_timeout=60) as request,
    ):
        bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
        started = time.monotonic()
        # The outer timeout turns a regression (an upload hanging forever) into a failure.
        with pytest.raises(TimedOut):
            async with asyncio.timeout(20):
                # Far more than loopback socket buffers hold, so the upload must stall.
                big = b"\x00" * (64 * 1024 * 1024)
                await bot.send_document(USER_ID, big, filename="big.bin")
        assert time.monotonic() - started < 10


async def test_pool_timeout_when_every_connection_is_busy(server: FakeBotApi) -> None:
    arrived = await slow_get_me(server, 1.0)
    url = f"{server.api_url}{TOKEN}/getMe"
    async with AiohttpRequest(connection_pool_size=1, pool_timeout=0.1) as request:
        busy = asyncio.create_task(request.post(url))
        await asyncio.wait_for(arrived.wait(), timeout=5)
        with pytest.raises(TimedOut) as raised:
            await request.post(url)
        assert str(raised.value) == POOL_TIMEOUT_MESSAGE
        assert len(server.calls("getMe")) == 1  # the second request was never sent
        await busy


# ---------------------------------------------------------------------- lifecycle


async def test_shutdown_closes_the_session(server: FakeBotApi) -> None:
    request = AiohttpRequest()
    url = f"{server.api_url}{TOKEN}/getMe"
    async with request:
        assert request._session is not None
        session = request._session
        await request.post(url)
    assert session.closed
    assert session.connector is None or session.connector.closed
    with pytest.raises(NetworkError, match="not initialized"):
        await request.post(url)
    await request.shutdown()  # a second shutdown is harmless

    await request.initialize()  # and the request can be used again, like HTTPXRequest
    try:
        assert request._session is not session
        await request.post(url)
    finally:
        await request.shutdown()


async def test_bot_shutdown_closes_both_sessions(server: FakeBotApi) -> None:
    bot = make_bot(server.api_url)
    requests = bot._request
    async with bot:
        await bot.get_me()
    for request in requests:
        assert isinstance(request, AiohttpRequest)
        assert request._session is not None and request._session.closed


async def test_proxy_from_the_environment_like_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    targets: list[str] = []

    async def forward_proxy(request: web.Request) -> web.Response:
        targets.append(str(request.url))
        return web.json_response({"ok": True, "result": GET_ME})

    async with tiny_server(forward_proxy) as proxy_url:
        monkeypatch.setenv("HTTP_PROXY", proxy_url.removesuffix("/bot"))
        monkeypatch.setenv("NO_PROXY", "localhost")
        async with AiohttpRequest() as request:
            # No such host: only a proxy can answer.
            await request.post(f"http://telegram.invalid/bot{TOKEN}/getMe")
            assert targets == [f"http://telegram.invalid/bot{TOKEN}/getMe"]
            with pytest.raises(NetworkError, match="ClientConnectorError"):
                await request.post(f"http://localhost:1/bot{TOKEN}/getMe")  # bypassed

    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="SOCKS"):
        await AiohttpRequest().initialize()


def test_defaults_and_validation() -> None:
    assert AiohttpRequest().read_timeout == 5.0
    assert AiohttpRequest(read_timeout=None).read_timeout is None
    with pytest.raises(ValueError, match="proxies only"):
        AiohttpRequest(proxy="socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="at least 1"):
        AiohttpRequest(connection_pool_size=0)
