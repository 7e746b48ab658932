"""A python-telegram-bot networking backend on aiohttp instead of httpx.

Why: aiohttp is already a dependency (the webhook server), and its HTTP/1.1 client (C parser,
no anyio layer, no pool scan per request like httpcore's) costs a fraction of httpx's CPU per
Bot API call, most of all when many sends are in flight at once (a broadcast):
`python -m bench.http_bench` measures both on the same workload.

It mirrors :class:`telegram.request.HTTPXRequest` as PTB 22.8 configures it, so swapping it in
changes no behaviour a handler can see:

- the same constructor knobs and defaults (pool of 256, timeouts 5/5/5 s, pool 1 s, 20 s
  write timeout for uploads), and the same ``DEFAULT_NONE`` rules per call;
- the same bodies: url-encoded form for plain calls, ``multipart/form-data`` with the same
  ``Content-Disposition`` escaping when files are sent, the same User-Agent;
- the same errors: :class:`~telegram.error.TimedOut` for every timeout (with PTB's own message
  for a pool timeout) and :class:`~telegram.error.NetworkError` ``"aiohttp.<Class>: <msg>"``
  for every other transport failure; HTTP status codes are left to
  :meth:`BaseRequest._request_wrapper`, exactly as for httpx;
- environment proxies (``HTTPS_PROXY`` ...) and certifi's CA bundle, as httpx uses.

Not mirrored (aiohttp has no equivalent): HTTP/2, ``socket_options``, SOCKS proxies and a
per-write timeout; the write timeout is enforced as "no upload progress for that long" (see
:meth:`AiohttpRequest._upload`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import logging
import os
import re
import ssl
from types import MappingProxyType
from typing import IO, Any, Final
from urllib.parse import urlencode, urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import aiohttp.payload
import certifi
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput, UploadFileDict
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest"]

log = logging.getLogger(__name__)

# PTB's own wording (HTTPXRequest), so logs and handlers read the same with either backend.
POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)
# httpx closes idle keep-alive connections after 5 s (aiohttp: 15 s). Telegram may drop an idle
# connection at any time; the shorter the idle life, the less often a send lands on one.
KEEPALIVE_SECONDS: Final = 5.0
# How often an upload's progress is sampled, as a fraction of its write timeout: a stalled
# upload is then noticed between 1x and 1.25x the write timeout after its last progress.
UPLOAD_CHECKS_PER_TIMEOUT: Final = 4
# ... but never more often than this (seconds), so a tiny write timeout cannot spin the loop.
MIN_UPLOAD_CHECK_INTERVAL: Final = 0.01

_FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
# httpx (HTML5) escaping of names in Content-Disposition; aiohttp with quote_fields=False then
# only doubles backslashes, like httpx. Without it aiohttp would %-encode every non-ASCII
# filename and Telegram would show "r%C3%A9sum%C3%A9.pdf".
_DISPOSITION_ESCAPES: Final = MappingProxyType(
    {ord('"'): "%22"} | {c: f"%{c:02X}" for c in range(0x20) if c != 0x1B}
)
# The token sits between "/bot" and the next "/" in every URL PTB builds (api and file URLs).
_TOKEN_IN_PATH: Final = re.compile(r"/bot([^/]+)/")


class _BorrowedFilePayload(aiohttp.payload.IOBasePayload):
    """A file handle the caller keeps owning.

    aiohttp closes file payloads once a request ends; httpx does not, and PTB relies on that:
    with ``InputFile(..., read_file_handle=False)`` the same handle is sent again when a
    rate limiter retries after a 429. So this payload never closes the file.
    """

    def _close(self) -> None:
        return None


@functools.lru_cache(maxsize=64)
def _client_timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
    """Per-call timeouts; cached because almost every call uses the same few pairs.

    ``connect`` bounds DNS + TCP + TLS (httpx's connect timeout); it cannot include waiting for
    a pooled connection, because our own semaphore does that wait before aiohttp is asked.
    ``sock_read`` restarts on every chunk received, like httpx's read timeout, and aiohttp
    starts it only once the request body has been written.
    """
    return aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)


def _borrowed(handle: IO[bytes], mimetype: str) -> aiohttp.payload.Payload:
    """An upload from an open file (``read_file_handle=False``), streamed, left open."""
    # httpx rewinds a handle before sending it, so a resent handle is sent whole again.
    with contextlib.suppress(OSError, AttributeError):
        handle.seek(0)
    # FormData replaces the Content-Disposition set here with the part's name and filename.
    return _BorrowedFilePayload(handle, content_type=mimetype)


def _ssl_context() -> ssl.SSLContext:
    """httpx's default: certifi's CA bundle unless SSL_CERT_FILE / SSL_CERT_DIR name others.

    Not the system store (aiohttp's default), which slim container images may lack.
    """
    if cafile := os.environ.get("SSL_CERT_FILE"):
        return ssl.create_default_context(cafile=cafile)
    if capath := os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context(capath=capath)
    return ssl.create_default_context(cafile=certifi.where())


def _environment_proxies() -> dict[str, str]:
    """``HTTP(S)_PROXY`` / ``ALL_PROXY`` / ``NO_PROXY``, read like httpx reads them.

    A SOCKS proxy fails here, at initialize(), rather than being skipped: a bot configured to
    reach Telegram only through a proxy must not silently go direct.
    """
    found = getproxies()
    proxies: dict[str, str] = {}
    for scheme in ("http", "https", "all"):
        value = found.get(scheme)
        if not value:
            continue
        value = value if "://" in value else f"http://{value}"
        if urlsplit(value).scheme not in {"http", "https"}:
            raise ValueError(
                f"{scheme}_proxy from the environment is not an http:// or https:// proxy; "
                "AiohttpRequest supports no other kind (use HTTPXRequest for SOCKS)."
            )
        proxies[scheme] = value
    return proxies


def _form_name(value: str) -> str:
    return value.translate(_DISPOSITION_ESCAPES)


def _secrets_of(url: str) -> tuple[str, ...]:
    """What of ``url`` must not appear in an error: its path, and the token inside it."""
    path = urlsplit(url).path
    token = _TOKEN_IN_PATH.search(path)
    return (path, token.group(1)) if token else (path,)


def _sanitized(err: BaseException, url: str) -> tuple[str, BaseException | None]:
    """``err``'s message without the token, and ``err`` itself if it is safe to chain.

    Some aiohttp messages quote the whole URL ("Connection timeout to host
    https://api.telegram.org/bot<token>/sendMessage"); httpx's never do, so PTB never leaks
    the token there. A chained exception is printed in every logged traceback, so one that
    names the token is dropped (its class name and redacted message are kept).
    """
    text = original = str(err)
    for secret in _secrets_of(url):
        if secret:
            text = text.replace(secret, "/<redacted>" if secret.startswith("/") else "<token>")
    return text, (err if text == original else None)


class AiohttpRequest(BaseRequest):
    """:class:`~telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`.

    Use it like HTTPXRequest, one instance per purpose::

        ApplicationBuilder().token(token)
            .request(AiohttpRequest())
            .get_updates_request(AiohttpRequest(connection_pool_size=1))

    Args:
        connection_pool_size: Most requests in flight at once (PTB's default is 256; the
            ApplicationBuilder gives getUpdates its own request with 1).
        read_timeout: Seconds to wait for each chunk of the answer; :obj:`None` waits forever.
        write_timeout: Kept for signature parity with HTTPXRequest: plain calls are a few
            hundred bytes that the kernel takes at once, so only uploads can stall on writing
            (see ``media_write_timeout``). An explicit ``write_timeout`` passed to a call that
            uploads files still overrides ``media_write_timeout``, as in PTB.
        connect_timeout: Seconds for DNS, TCP and TLS of a new connection.
        pool_timeout: Seconds to wait for a free slot when ``connection_pool_size`` requests
            are already in flight; on expiry :class:`~telegram.error.TimedOut` is raised and the
            request was *not* sent.
        proxy: An ``http://`` or ``https://`` proxy URL. When :obj:`None`, ``HTTPS_PROXY`` /
            ``ALL_PROXY`` / ``NO_PROXY`` from the environment apply, as with httpx.
        media_write_timeout: Seconds an upload may make no progress before
            :class:`~telegram.error.TimedOut`.
        session_kwargs: Extra :class:`aiohttp.ClientSession` arguments; they override ours
            (like HTTPXRequest's ``httpx_kwargs``).
    """

    __slots__ = (
        "_connect_timeout",
        "_env_proxies",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxy",
        "_proxy_cache",
        "_read_timeout",
        "_session",
        "_session_kwargs",
        "_slots",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        proxy: str | None = None,
        media_write_timeout: float | None = 20.0,
        session_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("`connection_pool_size` must be at least 1.")
        if proxy is not None and urlsplit(proxy).scheme not in {"http", "https"}:
            # Fail at construction, not on the first send: aiohttp speaks only HTTP proxies.
            raise ValueError("AiohttpRequest supports http:// and https:// proxies only.")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session_kwargs = dict(session_kwargs or {})
        self._session: aiohttp.ClientSession | None = None
        self._env_proxies: dict[str, str] = {}
        self._proxy_cache: dict[str, str | None] = {}
        # The pool limit lives here rather than in aiohttp's connector, whose wait for a free
        # connection is charged to the connect timeout and raises the same error as a
        # connect timeout; PTB tells the two apart ("Request was *not* sent").
        self._slots = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout; PTB adds the long-poll duration to it for getUpdates."""
        return self._read_timeout

    def _build_session(self) -> aiohttp.ClientSession:
        self._env_proxies = {} if self._proxy is not None else _environment_proxies()
        self._proxy_cache = {}
        connector = aiohttp.TCPConnector(
            limit=0,  # unlimited: `self._slots` already caps concurrency (see __init__)
            keepalive_timeout=KEEPALIVE_SECONDS,
            ssl=_ssl_context(),
        )
        kwargs: dict[str, Any] = {
            "connector": connector,
            "headers": {"User-Agent": self.USER_AGENT},
            "proxy": self._proxy,
            # Not aiohttp's trust_env: it reads the environment and ~/.netrc in a worker thread
            # on every request (two thread hops per call). httpx reads the environment once,
            # when the client is built, and so does _build_session; httpx ignores .netrc.
            "trust_env": False,
            # Telegram sets no cookies; a real jar would only cost a lookup per request.
            "cookie_jar": aiohttp.DummyCookieJar(),
            "timeout": _client_timeout(self._connect_timeout, self._read_timeout),
            **self._session_kwargs,
        }
        return aiohttp.ClientSession(**kwargs)

    async def initialize(self) -> None:
        """Open the session; it must be created inside the running event loop."""
        if self._session is None or self._session.closed:
            self._session = self._build_session()
            # A semaphore binds to the loop it first waits in; a re-initialised request may
            # run in a new loop (e.g. one per test), so it gets a fresh one too.
            self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        """Close the session and its connections; calling it twice is harmless."""
        if self._session is None or self._session.closed:
            log.debug("This AiohttpRequest is already shut down. Returning.")
            return
        await self._session.close()

    def _live_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None:
            # HTTPXRequest works before initialize() (its client is built in __init__).
            session = self._session = self._build_session()
        elif session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        return session

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`BaseRequest.do_request`; returns the status and the raw body."""
        session = self._live_session()
        files = request_data.multipart_data if request_data else None
        params = request_data.json_parameters if request_data else None

        # Unset timeouts take the instance defaults, exactly as HTTPXRequest does.
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._write_timeout if not files else self._media_write_timeout

        body: aiohttp.FormData | aiohttp.payload.Payload | None = None
        if files:
            body = self._multipart(params or {}, files)
        elif params:
            body = aiohttp.payload.BytesPayload(
                urlencode(params).encode(), content_type=_FORM_CONTENT_TYPE
            )
        timeout = _client_timeout(connect_timeout, read_timeout)
        proxy = self._env_proxy_for(url) if self._env_proxies else None

        try:
            await self._acquire_slot(pool_timeout)
            try:
                if files and write_timeout is not None:
                    return await self._upload(session, url, body, timeout, write_timeout, proxy)
                async with session.request(
                    method, url, data=body, timeout=timeout, proxy=proxy
                ) as response:
                    return response.status, await response.read()
            finally:
                self._slots.release()
        except TimeoutError as err:
            # Also aiohttp's ServerTimeoutError family (they subclass TimeoutError); PTB's own
            # pool timeout was raised as TimedOut above and passes through untouched.
            _, cause = _sanitized(err, url)
            raise TimedOut from cause
        except (aiohttp.ClientError, OSError) as err:
            message, cause = _sanitized(err, url)
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {message}") from cause

    def _env_proxy_for(self, url: str) -> str | None:
        """The environment's proxy for ``url`` (:obj:`None`: go direct), looked up once per host.

        Same rules as httpx: ``<scheme>_proxy`` then ``all_proxy``, unless ``no_proxy`` matches.
        """
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        try:
            return self._proxy_cache[origin]
        except KeyError:
            pass
        proxy: str | None = None
        if not proxy_bypass(parts.hostname or ""):
            proxy = self._env_proxies.get(parts.scheme) or self._env_proxies.get("all")
        self._proxy_cache[origin] = proxy
        return proxy

    async def _acquire_slot(self, pool_timeout: float | None) -> None:
        """Take one of the ``connection_pool_size`` slots, or fail like httpx's PoolTimeout."""
        if not self._slots.locked():
            await self._slots.acquire()  # free slot: returns without suspending
            return
        try:
            async with asyncio.timeout(pool_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from None

    @staticmethod
    def _multipart(params: dict[str, str], files: UploadFileDict) -> aiohttp.FormData:
        """Fields first, then files, with httpx's escaping of names (see _DISPOSITION_ESCAPES)."""
        form = aiohttp.FormData(quote_fields=False)
        for name, value in params.items():
            form.add_field(_form_name(name), value)
        for name, (filename, content, mimetype) in files.items():
            part: bytes | io.BytesIO | aiohttp.payload.Payload
            if not isinstance(content, bytes):
                part = _borrowed(content, mimetype)
            elif len(content) > aiohttp.payload.TOO_LARGE_BYTES_BODY:
                # Streamed in 64 KiB chunks (no copy), so the upload watchdog sees progress;
                # aiohttp warns (ResourceWarning) about large raw bytes bodies.
                part = io.BytesIO(content)
            else:
                part = content
            form.add_field(
                _form_name(name), part, filename=_form_name(filename), content_type=mimetype
            )
        return form

    async def _upload(
        self,
        session: aiohttp.ClientSession,
        url: str,
        body: aiohttp.FormData | aiohttp.payload.Payload | None,
        timeout: aiohttp.ClientTimeout,  # noqa: ASYNC109 - aiohttp's own per-request timeouts
        write_timeout: float,
        proxy: str | None,
    ) -> tuple[int, bytes]:
        """POST a multipart body; TimeoutError once it makes no progress for ``write_timeout``.

        aiohttp has no write timeout, and its read timeout starts only after the body is sent,
        so a peer that stops reading an upload would hang it forever. httpx fails any single
        socket write that takes ``write_timeout``; the nearest aiohttp allows is to watch the
        bytes that leave (:class:`aiohttp.UploadTracker`) and cancel when they stop moving.
        The connect phase gets ``connect`` seconds of grace on top.
        """
        loop = asyncio.get_running_loop()
        tracker = aiohttp.UploadTracker()
        interval = max(write_timeout / UPLOAD_CHECKS_PER_TIMEOUT, MIN_UPLOAD_CHECK_INTERVAL)
        sent = 0
        handle: asyncio.TimerHandle | None = None

        async with asyncio.timeout(None) as deadline:
            deadline.reschedule(loop.time() + write_timeout + (timeout.connect or 0.0))

            def check() -> None:
                nonlocal sent, handle
                if tracker.upload_complete.done():
                    deadline.reschedule(None)  # the read timeout takes over
                    handle = None
                    return
                now = tracker.bytes_written
                if now > sent:
                    sent = now
                    deadline.reschedule(loop.time() + write_timeout)
                handle = loop.call_later(interval, check)

            handle = loop.call_later(interval, check)
            try:
                async with session.post(
                    url, data=body, timeout=timeout, proxy=proxy, upload_tracker=tracker
                ) as response:
                    deadline.reschedule(None)
                    return response.status, await response.read()
            finally:
                if handle is not None:
                    handle.cancel()
