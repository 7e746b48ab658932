"""Load benchmark: N people join a workshop at once and answer everything by typing.

    python -m bench.load [--participants 200] [--think 5] [--smoke] [--database-url URL]
                         [--http aiohttp|httpx] [--details]

It starts the fake Bot API server of the tests in this process, then the real bot
(`python -m bot run`) as a separate process pointed at it, and lets N simulated people open
the default workshop, agree, pick a role (worker, service user, technologist in turn), and for
each of the 5 headline recommendations tap a priority and type their needs and their concerns,
then tap "Finish" and "keep my words private": 20 updates each. Like a person, each
one waits for the bot's reply before the next step. Afterwards the database must hold exactly
the 15 answers each typed.

Each backend gets two runs, each on a fresh database and bot:

- capacity: all N at once with no pause, so every person always has an update waiting and the
  bot is as busy as it can be. Judged: updates/s at least half the echo bot's. Its latency is
  printed but is queueing (about N / updates per second, for the echo bot as much as ours);
- paced (`--think S`, default 5): the same N people, all within the first seconds, each
  pausing 0.5 to 1.5 x S before every update, like people reading and tapping or typing (5 s
  is faster than people really are: typing a need takes longer). Judged: p99 under 250 ms.
  `--think 0` skips it and judges p99 on the capacity run.

Printed per run:

- updates/s (capacity run): updates answered divided by the run's wall time;
- p50 / p99 ms: from the moment an update is queued on the fake server to the moment the server
  records the bot's first reply in that chat (a sendMessage or an edit of a message); "whole
  reply" is until the message the person waits for (the next question) arrived. Percentiles
  are `statistics.quantiles(..., method="inclusive")`, interpolated between the two nearest
  timings;
- bot peak MiB: the largest resident memory (RSS, read with psutil) of the bot's own process
  seen while sampling it every MEMORY_SAMPLE_SECONDS from its start to the end of the run.
  psutil has no high-water mark on Linux or macOS (Windows: its peak working set is used
  instead), so a spike shorter than a sample interval is missed and the figure can be a little
  below the kernel's VmHWM;
- ratios to `bench/echo_bot.py`, a minimal python-telegram-bot echo bot, run on the same fake
  server in the same run, with the same people sending the same number and kinds of updates
  (ECHO_SCRIPT: 1 command, 8 button presses, 10 texts each). The judged one is
  python-telegram-bot as it comes (httpx); the second runs the echo bot on the workshop bot's
  own HTTP client (aiohttp), to show what the bot costs on top of the transport;
- lost, duplicated/extra: stored answers compared row by row with what was typed;
- error replies: how often the bot answered "Sorry, something went wrong"; the person then
  sends the same again (up to RETRIES times), as the message asks.

The bot runs with TELEGRAM_RATE_LIMIT=0: its limiter (29 messages/s across all chats,
Telegram's cap) is off, so the figures are the bot's own processing, not Telegram's limit;
with it on, replies to 200 people leave at 29 a second whatever the bot can do. The scheduler
timer is off too (SCHEDULER_INTERVAL_SECONDS=0).

Backends: a temporary SQLite file by default. `--database-url postgresql+asyncpg://...` runs on
PostgreSQL instead: the URL names a server and a database to connect to (e.g. `postgres`);
the bench creates a scratch database there and drops it afterwards. With TEST_POSTGRES_URL set
(as in CI) and no --database-url, SQLite and PostgreSQL are both run.

Exit status: 0 when everything passed; 1 when a check failed; 2 when a bot could not start,
crashed or hung. `--smoke` (20 people, a 0.5 s pace, no second echo bot) fails only on lost or
extra answers, people left without a reply, a crash or a hang, not on speed or error replies
(a loaded CI machine can miss those), which are printed all the same.

The fake server and the simulated people run in this process and its CPU time is part of both
bots' figures (`--details` shows how much); with fewer than three cores the processes compete
for CPU, which lowers both bots' throughput alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import functools
import html
import math
import os
import platform
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.flows.catalogue import load_catalogue
from locales import Translator
from storage.engine import create_engine, create_session_factory
from storage.models import Answer, Participant
from tests.fake_telegram import BotMessage, FakeBotApi, FakeUser, UploadedFile
from tests.postgres import fresh_database, server_url

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:LOAD-BENCH-abcdefghijklmnop"
DEFAULT_PARTICIPANTS = 200
SMOKE_PARTICIPANTS = 20
FIRST_USER = 700_000
HEADLINE = load_catalogue().scope("headline")
ROLES = ("worker", "service_user", "technologist")
# The paced run: seconds a person takes, on average, to read a message and tap or type.
DEFAULT_THINK = 5.0
SMOKE_THINK = 0.5
RETRIES = 2  # a person tries again this many times after the bot's error message
RETRY_PAUSE = 1.0
MEMORY_SAMPLE_SECONDS = 0.05  # how often the bot's resident memory is read for its peak
TARGET_RATIO = 0.5
TARGET_P99_MS = 250.0
# What a reply is: something the person sees appear or change in their chat.
_SENDS = frozenset({"sendmessage", "senddocument", "sendphoto"})
_TEXT_EDITS = frozenset({"editmessagetext", "editmessagecaption"})
_REPLY_METHODS = _SENDS | _TEXT_EDITS | {"editmessagereplymarkup"}
# The echo bot gets the workshop journey's sequence of update kinds, step for step.
ECHO_SCRIPT = (
    "command",
    "button",
    "button",
    *(("button", "text", "text") * 5),
    "button",
    "button",
)


# ---------------------------------------------------------------------- the fake server


@dataclass(frozen=True)
class Reply:
    """A send or edit the bot made in a chat, when the server recorded it."""

    time: float
    method: str
    text: str | None  # the message's text right after this send or edit

    @property
    def shows_text(self) -> bool:
        """A new message or new text, not only a keyboard change."""
        return self.method in _SENDS or self.method in _TEXT_EDITS


class LoadServer(FakeBotApi):
    """The tests' fake Bot API, with per-chat indexes so 200 people do not cost O(n²).

    The base class finds a chat's messages by scanning every message ever sent, and wakes
    every waiter on every request; fine for a test with three people, not for hundreds. This
    keeps each chat's messages and replies (with the time each was recorded) in its own list
    and wakes only the person whose chat changed.
    """

    def __init__(self) -> None:
        super().__init__(username="codesign_load_bot")
        self._by_chat: dict[int, list[BotMessage]] = {}
        self._by_id: dict[tuple[int, int], BotMessage] = {}
        self._indexed = 0
        self._replies: dict[int, list[Reply]] = {}
        self._events: dict[int, asyncio.Event] = {}

    def _sync_index(self) -> None:
        if self._indexed == len(self.messages):
            return
        for message in self.messages[self._indexed :]:
            self._by_chat.setdefault(message.chat_id, []).append(message)
            self._by_id[(message.chat_id, message.message_id)] = message
        self._indexed = len(self.messages)

    def messages_to(self, chat_id: int, *, include_deleted: bool = True) -> list[BotMessage]:
        self._sync_index()
        messages = self._by_chat.get(chat_id, [])
        return [m for m in messages if include_deleted or not m.deleted]

    def find_message(self, chat_id: int, message_id: int) -> BotMessage | None:
        self._sync_index()
        return self._by_id.get((chat_id, message_id))

    async def _dispatch(
        self, key: str, params: dict[str, Any], files: dict[str, UploadedFile]
    ) -> Any:
        result = await super()._dispatch(key, params, files)
        chat_id = params.get("chat_id")
        if key in _REPLY_METHODS and isinstance(chat_id, int) and isinstance(result, dict):
            message = self.find_message(chat_id, int(result.get("message_id", 0)))
            text = message.text if message is not None else None
            self._replies.setdefault(chat_id, []).append(Reply(time.monotonic(), key, text))
            event = self._events.get(chat_id)
            if event is not None:
                event.set()
        return result

    def reply_count(self, chat_id: int) -> int:
        return len(self._replies.get(chat_id, ()))

    async def wait_reply(
        self, chat_id: int, start: int, wanted: Callable[[Reply], bool], timeout: float
    ) -> tuple[Reply, Reply]:
        """The first reply in the chat after index `start`, and the first one `wanted`."""
        event = self._events.setdefault(chat_id, asyncio.Event())
        async with asyncio.timeout(timeout):
            while True:
                event.clear()
                replies = self._replies.get(chat_id, [])
                for reply in replies[start:]:
                    if wanted(reply):
                        return replies[start], reply
                await event.wait()

    def api_errors(self) -> int:
        """Calls the server refused (a 409 for a superseded long poll is not an error)."""
        return sum(
            1
            for request in self.requests
            if request.status not in (200, 499, None)
            and not (request.method == "getUpdates" and request.status == 409)
        )


# ---------------------------------------------------------------------- simulated people


@dataclass
class Timings:
    first: list[float] = field(default_factory=list)  # seconds to the first reply
    whole: list[float] = field(default_factory=list)  # seconds to the awaited message
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    apologies: int = 0  # replies that were the bot's error message

    @property
    def updates(self) -> int:
        return len(self.first)


class Person:
    def __init__(self, server: LoadServer, index: int, timings: Timings, options: Options) -> None:
        self.server = server
        self.index = index
        self.user = FakeUser(server, FIRST_USER + index, first_name=f"P{index}")
        self.timings = timings
        self.step_timeout = options.step_timeout
        self.think = options.think
        self.random = random.Random(index)
        self.steps = 0

    async def step(
        self, kind: str, push: Callable[[], object], expect: Callable[[Reply], bool]
    ) -> None:
        """Send one update and wait for the reply `expect`ed, as a person would.

        When the bot answers with its error message ("Sorry, something went wrong... try
        again in a moment") the person does what it says, up to RETRIES times, and each such
        answer is counted.
        """
        if self.think:
            # Reading and typing: 0.5 to 1.5 times --think, so people drift apart; before the
            # first update too, as people open the link within seconds of each other.
            await asyncio.sleep(self.think * self.random.uniform(0.5, 1.5))
        self.steps += 1
        chat = self.user.chat_id
        pushed = time.monotonic()
        first: Reply | None = None
        for attempt in range(RETRIES + 1):
            start = self.server.reply_count(chat)
            push()
            try:
                first_now, awaited = await self.server.wait_reply(
                    chat, start, lambda r: expect(r) or is_apology(r), self.step_timeout
                )
            except TimeoutError:
                seen = [m.describe()[:300] for m in self.user.inbox[-2:]]
                raise TimeoutError(
                    f"participant {self.index}: no reply to a {kind} within "
                    f"{self.step_timeout:.0f}s; {len(self.server.pending_updates)} updates "
                    f"not fetched; last messages: {seen}"
                ) from None
            first = first or first_now
            if not is_apology(awaited):
                break
            self.timings.apologies += 1
            if attempt == RETRIES:
                raise RuntimeError(
                    f"participant {self.index}: the bot answered a {kind} with its error "
                    f"message {RETRIES + 1} times"
                )
            await asyncio.sleep(RETRY_PAUSE)
        assert first is not None  # the loop ran at least once
        self.timings.first.append(first.time - pushed)
        self.timings.whole.append(awaited.time - pushed)
        self.timings.by_kind.setdefault(kind, []).append(first.time - pushed)


def is_apology(reply: Reply) -> bool:
    apology = words("error.try_again").split(".")[0]  # "Sorry, something went wrong..."
    return reply.shows_text and apology in (reply.text or "")


def containing(text: str) -> Callable[[Reply], bool]:
    return lambda reply: reply.shows_text and text in (reply.text or "")


def any_message(reply: Reply) -> bool:
    return reply.method in _SENDS


@functools.cache
def words(key: str) -> str:
    """An English string of the bot as the person reads it (tags stripped)."""
    return html.unescape(re.sub(r"<[^>]+>", "", Translator().get("en", key)))


def typed_answers(index: int) -> dict[tuple[str, str], str]:
    """What participant `index` answers: (recommendation, question) -> value."""
    answers: dict[tuple[str, str], str] = {}
    for number, rec in enumerate(HEADLINE):
        answers[(rec, "priority")] = str((index + number) % 5 + 1)
        answers[(rec, "needs")] = f"P{index} {rec}: training & time for <staff>, ça compte"
        answers[(rec, "concerns")] = f"P{index} {rec}: bias, privacy and cost 😟"
    return answers


async def workshop_journey(person: Person) -> None:
    """/start, consent, role, then priority + needs + concerns for each recommendation, send."""
    user = person.user
    answers = typed_answers(person.index)
    total = len(HEADLINE)
    await person.step(
        "command", lambda: user.send_command("/start"), containing("Do you agree to take part?")
    )
    await person.step(
        "button",
        lambda: user.press("Yes, I agree"),
        containing("Which of these describes you best?"),
    )
    role = ROLES[person.index % len(ROLES)]
    await person.step(
        "button", lambda: user.press(words(f"role.{role}")), containing(f"1 of {total}")
    )
    needs_question = words("question.how_to_answer")
    concerns_question = words(f"question.concerns.{role}")
    for number, rec in enumerate(HEADLINE, start=1):
        priority, needs, concerns = (answers[(rec, q)] for q in ("priority", "needs", "concerns"))
        label = words(f"priority.label.{priority}")
        await person.step(
            "button", functools.partial(user.press, label), containing(needs_question)
        )
        await person.step(
            "text", functools.partial(user.send_text, needs), containing(concerns_question)
        )
        following = f"{number + 1} of {total}" if number < total else "Here are your answers."
        await person.step(
            "text", functools.partial(user.send_text, concerns), containing(following)
        )
    await person.step(
        "button", lambda: user.press(words("review.submit")), containing("May we share your words")
    )
    await person.step(
        "button", lambda: user.press("No, keep my words private"), containing("Thank you!")
    )


def echo_update(user: FakeUser, index: int, number: int, kind: str) -> None:
    if kind == "command":
        user.send_command("/start")
    elif kind == "text":
        user.send_text(f"P{index} says {number}: ça & <b>")
    else:
        user.press_data(f"b{number}", user.last_message)


async def echo_journey(person: Person) -> None:
    """The same number and kinds of updates, to the echo bot."""
    for number, kind in enumerate(ECHO_SCRIPT):
        push = functools.partial(echo_update, person.user, person.index, number, kind)
        await person.step(kind, push, any_message)


async def run_people(
    server: LoadServer,
    participants: int,
    journey: Callable[[Person], Awaitable[None]],
    options: Options,
) -> tuple[Timings, float]:
    timings = Timings()

    async def one(index: int) -> None:
        try:
            await journey(Person(server, index, timings, options))
        except Exception as error:  # one person stuck must not hide what the others did
            timings.failures.append(f"{type(error).__name__}: {str(error)[-400:]}")

    started = time.monotonic()
    await asyncio.gather(*(one(index) for index in range(participants)))
    return timings, time.monotonic() - started


# ---------------------------------------------------------------------- child processes


class BenchError(Exception):
    """The bot crashed, hung or could not start; the run cannot be measured."""


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: the child gets SIGTERM if this process dies, even from SIGKILL."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    prctl = libc.prctl
    pr_set_pdeathsig = 1

    def set_death_signal() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return set_death_signal


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Locked)\w*: ")


class Child:
    """A bot in its own process, so its memory is its own; its output goes to a log file."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: Path) -> None:
        self.name = name
        self.process = process
        self.log = log
        self.peak_kib: int | None = None
        self.ready_kib: int | None = None  # resident memory once polling, before any load
        self._max_rss: int | None = None  # bytes: the largest resident memory sampled so far
        self._ps: psutil.Process | None = None
        with contextlib.suppress(psutil.Error):
            self._ps = psutil.Process(process.pid)
        self._sampler = asyncio.ensure_future(self._sample_memory())

    @classmethod
    async def start(
        cls, name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path
    ) -> Child:
        with log.open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent(),
            )
        return cls(name, process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.returncode is None

    def _log_text(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 25) -> str:
        return "\n".join(self._log_text().splitlines()[-lines:]) or "(empty log)"

    def log_problems(self) -> int:
        """Lines the bot logged at WARNING or above (it runs with LOG_LEVEL=WARNING)."""
        lines = self._log_text().splitlines()
        return sum(1 for line in lines if " WARNING " in line or " ERROR " in line)

    def exceptions(self) -> Counter[str]:
        """The last line of each traceback in the log, e.g. `...OperationalError: ...`."""
        found: Counter[str] = Counter()
        for line in self._log_text().splitlines():
            if _EXCEPTION_LINE.match(line):
                found[line[:160]] += 1
        return found

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the process so far; None once it is gone."""
        if self._ps is None:
            return None
        try:
            times = self._ps.cpu_times()
        except psutil.Error:
            return None
        return times.user + times.system

    def _memory(self) -> Any | None:
        """psutil's memory_info() of the process, counted into the running maximum of rss."""
        if self._ps is None:
            return None
        try:
            info = self._ps.memory_info()
        except psutil.Error:
            return None
        self._max_rss = max(self._max_rss or 0, info.rss)
        return info

    async def _sample_memory(self) -> None:
        """From the start until the process ends: its rss, into the running maximum."""
        while self.alive():
            if self._memory() is None:
                return  # gone, or not ours to read
            await asyncio.sleep(MEMORY_SAMPLE_SECONDS)

    def read_peak(self) -> None:
        """The process's peak resident memory so far: the OS's peak working set on Windows,
        elsewhere the largest rss sampled (psutil has no high-water mark there)."""
        info = self._memory()
        peak = getattr(info, "peak_wset", None) or self._max_rss
        self.peak_kib = None if peak is None else peak // 1024

    async def wait_polling(self, server: FakeBotApi, timeout: float) -> None:
        """Until the bot's first getUpdates: migrations done, handlers ready."""
        deadline = time.monotonic() + timeout
        while not server.calls("getUpdates"):
            if not self.alive():
                raise BenchError(
                    f"{self.name} exited with {self.process.returncode} before polling:\n"
                    f"{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{self.name} did not poll within {timeout:.0f}s:\n{self.log_tail()}"
                )
            await asyncio.sleep(0.05)
        info = self._memory()
        self.ready_kib = None if info is None else info.rss // 1024

    async def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait for it; SIGKILL if it does not stop in time."""
        self._sampler.cancel()
        await asyncio.gather(self._sampler, return_exceptions=True)
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        if self.peak_kib is None and self._max_rss is not None:
            self.peak_kib = self._max_rss // 1024  # read_peak() was not reached


def _child_env(**values: str) -> dict[str, str]:
    """This environment without any of the bot's settings, plus `values`."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in settings}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    # The bot refuses to run without them (people must know who runs the workshop).
    env["ORGANISATION_NAME"] = "Load test"
    env["ORGANISATION_CONTACT"] = "load@example.org"
    env.update(values)
    return env


@contextlib.asynccontextmanager
async def running(
    name: str, argv: Sequence[str], env: dict[str, str], cwd: Path, log: Path
) -> AsyncIterator[Child]:
    child = await Child.start(name, argv, env, cwd, log)
    try:
        yield child
    finally:
        await child.stop()


async def watch(child: Child) -> None:
    await child.process.wait()


_OWN_PROCESS = psutil.Process()


def _own_cpu_seconds() -> float:
    times = _OWN_PROCESS.cpu_times()
    return times.user + times.system


async def measure_phase(
    child: Child,
    server: LoadServer,
    participants: int,
    journey: Callable[[Person], Awaitable[None]],
    options: Options,
) -> Phase:
    """Run the people while watching the bot: a crash or a hang ends the run at once."""
    bot_cpu, own_cpu = child.cpu_seconds(), _own_cpu_seconds()
    people = asyncio.ensure_future(run_people(server, participants, journey, options))
    watchdog = asyncio.ensure_future(watch(child))
    try:
        done, _ = await asyncio.wait(
            {people, watchdog},
            timeout=options.phase_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if people in done:
            timings, seconds = people.result()
            bot_after = child.cpu_seconds()
            return Phase(
                timings=timings,
                seconds=seconds,
                bot_cpu=None if bot_cpu is None or bot_after is None else bot_after - bot_cpu,
                bench_cpu=_own_cpu_seconds() - own_cpu,
            )
        if watchdog in done:
            raise BenchError(
                f"{child.name} exited with {child.process.returncode} during the run:\n"
                f"{child.log_tail()}"
            )
        raise BenchError(f"the run did not finish within {options.phase_timeout:.0f}s")
    finally:
        for task in (people, watchdog):
            task.cancel()
        await asyncio.gather(people, watchdog, return_exceptions=True)


# ---------------------------------------------------------------------- databases


@dataclass(frozen=True)
class AnswerCheck:
    typed: int
    stored: int
    lost: int
    extra: int
    finished: int


async def check_answers(database_url: str, participants: int) -> AnswerCheck:
    """Compare the stored answers with what every participant typed, row for row."""
    expected: Counter[tuple[int, str, str, str | None]] = Counter()
    for index in range(participants):
        for (rec, question), value in typed_answers(index).items():
            expected[(FIRST_USER + index, rec, question, value)] += 1
    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            users = Participant.telegram_user_id
            rows = await session.execute(
                select(users, Answer.recommendation_id, Answer.question, Answer.value)
                .join(Participant, Participant.id == Answer.participant_id)
                .where(users >= FIRST_USER, users < FIRST_USER + participants)
            )
            stored: Counter[tuple[int, str, str, str | None]] = Counter(
                (int(u), str(r), str(q), v) for u, r, q, v in rows
            )
            finished = len(
                (
                    await session.scalars(
                        select(users).where(
                            users >= FIRST_USER,
                            users < FIRST_USER + participants,
                            Participant.finished_at.is_not(None),
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    return AnswerCheck(
        typed=sum(expected.values()),
        stored=sum(stored.values()),
        lost=sum((expected - stored).values()),
        extra=sum((stored - expected).values()),
        finished=finished,
    )


@contextlib.asynccontextmanager
async def database(url: str | None, directory: Path) -> AsyncIterator[str]:
    if url is None:
        yield f"sqlite+aiosqlite:///{directory / f'load-{secrets.token_hex(3)}.db'}"
    elif url.startswith("postgresql+asyncpg://"):
        # The tests' scratch database: created on the server of `url`, dropped afterwards.
        async with fresh_database(make_url(url)) as scratch:
            yield scratch
    else:
        yield url  # a new SQLite file: checked by url_problem() before the run


def url_problem(url: str) -> str | None:
    if url.startswith("postgresql+asyncpg://"):
        return None
    if not url.startswith("sqlite+aiosqlite:///"):
        return "--database-url must start with sqlite+aiosqlite:/// or postgresql+asyncpg://"
    path = Path(make_url(url).database or "")
    if path.exists():
        return f"{path} exists; give a new SQLite file, so only this run's answers are in it"
    return None


def backend_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


# ---------------------------------------------------------------------- runs


@dataclass(frozen=True)
class Options:
    participants: int
    step_timeout: float
    startup_timeout: float
    timeout: float | None = None  # a whole phase; None: from its size
    think: float = 0.0
    profile: Path | None = None
    http: str = "aiohttp"  # the bot's TELEGRAM_HTTP_CLIENT

    @property
    def phase_timeout(self) -> float:
        steps = len(ECHO_SCRIPT)
        return self.timeout or 60.0 + self.participants * steps * 0.05 + steps * self.think * 1.5


@dataclass(frozen=True)
class Phase:
    timings: Timings
    seconds: float
    bot_cpu: float | None  # CPU seconds the bot's process used during the phase
    bench_cpu: float  # CPU seconds this process (fake server and people) used


@dataclass
class RunResult:
    label: str
    participants: int
    phase: Phase
    peak_kib: int | None
    api_errors: int
    log_problems: int
    unanswered_callbacks: int
    ready_kib: int | None = None
    exceptions: Counter[str] = field(default_factory=Counter)
    answers: AnswerCheck | None = None

    @property
    def timings(self) -> Timings:
        return self.phase.timings

    @property
    def seconds(self) -> float:
        return self.phase.seconds

    @property
    def rate(self) -> float:
        return self.timings.updates / self.seconds if self.seconds else 0.0


async def run_echo(options: Options, directory: Path, http: str) -> RunResult:
    async with LoadServer() as server:
        argv = [sys.executable, "-m", "bench.echo_bot", "--base-url", server.api_url]
        argv += ["--http", http]
        env = _child_env(TELEGRAM_BOT_TOKEN=TOKEN)
        log = directory / f"echo-{http}.log"
        async with running("the echo bot", argv, env, ROOT, log) as child:
            await child.wait_polling(server, options.startup_timeout)
            phase = await measure_phase(child, server, options.participants, echo_journey, options)
            child.read_peak()
        return RunResult(
            label=f"echo bot on {http}",
            participants=options.participants,
            phase=phase,
            peak_kib=child.peak_kib,
            api_errors=server.api_errors(),
            log_problems=child.log_problems(),
            unanswered_callbacks=len(server.unanswered_callback_queries()),
        )


async def run_bot(options: Options, database_url: str, directory: Path) -> RunResult:
    workdir = directory / f"bot-{secrets.token_hex(3)}"
    workdir.mkdir()
    async with LoadServer() as server:
        env = _child_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=server.api_url,
            DATABASE_URL=database_url,
            DATA_DIR=str(workdir / "data"),
            SCHEDULER_INTERVAL_SECONDS="0",
            TELEGRAM_RATE_LIMIT="0",
            TELEGRAM_HTTP_CLIENT=options.http,
            LOG_LEVEL="WARNING",
        )
        argv = [sys.executable, "-m", "bot", "run"]
        if options.profile is not None:
            profile = options.profile.with_suffix(f".{backend_name(database_url).lower()}.prof")
            argv[1:1] = ["-m", "cProfile", "-o", str(profile.resolve())]
        # cwd is a fresh directory so no .env file next to the repo leaks into the run.
        async with running("the bot", argv, env, workdir, workdir / "bot.log") as child:
            await child.wait_polling(server, options.startup_timeout)
            phase = await measure_phase(
                child, server, options.participants, workshop_journey, options
            )
            child.read_peak()
            if not child.alive():
                raise BenchError(f"the bot exited after the run:\n{child.log_tail()}")
        async with asyncio.timeout(120):
            answers = await check_answers(database_url, options.participants)
        return RunResult(
            label=backend_name(database_url),
            participants=options.participants,
            phase=phase,
            peak_kib=child.peak_kib,
            api_errors=server.api_errors(),
            log_problems=child.log_problems(),
            unanswered_callbacks=len(server.unanswered_callback_queries()),
            ready_kib=child.ready_kib,
            exceptions=child.exceptions(),
            answers=answers,
        )


# ---------------------------------------------------------------------- report


def percentile(values: Sequence[float], p: int) -> float:
    """The p-th percentile (1 to 99), interpolated ("inclusive"); NaN for no values."""
    if len(values) < 2:  # quantiles() needs two before Python 3.13
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def _ms(values: Sequence[float], p: int) -> str:
    return f"{percentile(values, p) * 1000:.0f}"


def _mib(kib: int | None) -> str:
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def _cpu_note(result: RunResult) -> str:
    cpu, updates = result.phase.bot_cpu, result.timings.updates
    if cpu is None or not updates:
        return ""
    return f", CPU {cpu / updates * 1000:.1f} ms/update ({cpu / result.seconds:.0%} of a core)"


def describe(result: RunResult, echoes: Sequence[RunResult], details: bool) -> list[str]:
    """The figures of one run; `echoes` (capacity runs only) are the baselines, judged first."""
    t = result.timings
    rows = [
        ("participants", f"{result.participants}"),
        ("updates", f"{t.updates}"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    if echoes:
        rows.append(("updates/s", f"{result.rate:.0f}"))
        for echo in echoes:
            ratio = result.rate / echo.rate if echo.rate else math.nan
            rows.append((f"ratio to the {echo.label}", f"{ratio:.2f} ({echo.rate:.0f} updates/s)"))
    rows += [
        ("p50 ms", _ms(t.first, 50)),
        ("p99 ms", _ms(t.first, 99)),
        ("p50 / p99 ms whole reply", f"{_ms(t.whole, 50)} / {_ms(t.whole, 99)}"),
        ("bot peak MiB", _mib(result.peak_kib)),
    ]
    if result.answers is not None:
        a = result.answers
        rows += [
            ("answers typed / stored", f"{a.typed} / {a.stored}"),
            ("lost", f"{a.lost}"),
            ("duplicated/extra", f"{a.extra}"),
            ("participants finished", f"{a.finished} of {result.participants}"),
            ("error replies", f"{t.apologies}"),
        ]
    if details:
        rows += [
            (f"  {kind} p50 / p99 ms", f"{_ms(values, 50)} / {_ms(values, 99)}")
            for kind, values in sorted(t.by_kind.items())
        ]
        phase = result.phase
        if phase.bot_cpu is not None and t.updates:
            rows.append(
                (
                    "  bot CPU",
                    f"{phase.bot_cpu:.1f} s = {phase.bot_cpu / t.updates * 1000:.1f} ms/update, "
                    f"{phase.bot_cpu / result.seconds:.0%} of a core",
                )
            )
        rows += [
            (
                "  bench CPU (server, people)",
                f"{phase.bench_cpu:.1f} s = {phase.bench_cpu / result.seconds:.0%} of a core",
            ),
            ("  bot MiB when ready", _mib(result.ready_kib)),
            ("  max ms", f"{max(t.first, default=math.nan) * 1000:.0f}"),
            ("  API errors", f"{result.api_errors}"),
            ("  unanswered callbacks", f"{result.unanswered_callbacks}"),
            ("  bot log warnings", f"{result.log_problems}"),
        ]
    width = max(len(name) for name, _ in rows)
    return [f"  {name:<{width}}  {value}" for name, value in rows]


@dataclass
class Verdict:
    lines: list[str] = field(default_factory=list)
    correctness_failed: bool = False  # answers lost or extra, people stuck: fails --smoke
    target_failed: bool = False  # speed, or the bot's error message: fails the full run only

    def merge(self, other: Verdict) -> None:
        self.lines += other.lines
        self.correctness_failed |= other.correctness_failed
        self.target_failed |= other.target_failed

    def check(self, passed: bool, text: str, *, correctness: bool = False) -> None:
        self.lines.append(f"{'PASS' if passed else 'FAIL'} {text}")
        if not passed:
            if correctness:
                self.correctness_failed = True
            else:
                self.target_failed = True


def judge(
    result: RunResult, echo: RunResult | None, *, phase: str, latency: bool, details: bool
) -> Verdict:
    """Throughput against `echo` (the capacity run), p99 on the run `latency` is judged on,
    and correctness on every run."""
    verdict = Verdict()
    name = f"{result.label} ({phase})"
    if echo is not None:
        ratio = result.rate / echo.rate if echo.rate else 0.0
        verdict.check(
            ratio >= TARGET_RATIO,
            f"{name}: throughput at least {TARGET_RATIO:g} x the {echo.label}'s "
            f"({result.rate:.0f} / {echo.rate:.0f} updates/s = {ratio:.2f})",
        )
    p99 = percentile(result.timings.first, 99) * 1000
    if latency:
        verdict.check(
            p99 < TARGET_P99_MS, f"{name}: p99 under {TARGET_P99_MS:.0f} ms ({p99:.0f} ms)"
        )
    a = result.answers
    if a is not None:
        verdict.check(
            a.lost == 0 and a.extra == 0,
            f"{name}: no answer lost ({a.lost} lost, {a.extra} duplicated/extra "
            f"of {a.typed} typed)",
            correctness=True,
        )
    apologies = result.timings.apologies
    verdict.check(
        apologies == 0,
        f"{name}: the bot never answered with its error message "
        f"({apologies} x; each time the person sent the same again)",
    )
    verdict.lines += [
        f"  bot log: {count} x {line}" for line, count in result.exceptions.most_common(3)
    ]
    failures = result.timings.failures
    verdict.check(
        not failures,
        f"{name}: every participant got every reply ({len(failures)} stuck)",
        correctness=True,
    )
    verdict.lines += [f"  {failure}" for failure in failures[: 20 if details else 3]]
    return verdict


def participants_of(args: argparse.Namespace) -> int:
    if args.participants is not None:
        return int(args.participants)
    return SMOKE_PARTICIPANTS if args.smoke else DEFAULT_PARTICIPANTS


def database_urls(args: argparse.Namespace) -> list[str | None]:
    """None is a temporary SQLite file."""
    if args.database_url:
        return [args.database_url]
    postgres = server_url()  # TEST_POSTGRES_URL, as the tests read it
    return [None, postgres.render_as_string(hide_password=False)] if postgres else [None]


def think_of(args: argparse.Namespace) -> float:
    if args.think is not None:
        return float(args.think)
    return SMOKE_THINK if args.smoke else DEFAULT_THINK


async def main(args: argparse.Namespace) -> int:
    participants = participants_of(args)
    steps = len(ECHO_SCRIPT)
    capacity = Options(
        participants=participants,
        step_timeout=args.step_timeout,
        startup_timeout=args.startup_timeout,
        timeout=args.timeout,
        profile=Path(args.profile_bot) if args.profile_bot else None,
        http=args.http,
    )
    think = think_of(args)
    paced = dataclasses.replace(capacity, think=think) if think else None
    pace = f"then again pausing {think:g} s on average before each" if think else "no pause"
    print(
        f"load benchmark: {participants} participants at once, {steps} updates each, {pace}"
        f" (python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()};"
        f" the bot on {args.http}, its rate limiter off: TELEGRAM_RATE_LIMIT=0)",
        flush=True,
    )
    verdicts: list[Verdict] = []
    with contextlib.ExitStack() as stack:
        if args.workdir:
            directory = Path(args.workdir)  # cli() made it
        else:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="load-")))
        try:
            # The judged baseline is python-telegram-bot as it comes (httpx); the same echo on
            # the bot's own HTTP client shows what the bot costs on top of its transport.
            transports = ["httpx"]
            if args.http != "httpx" and not args.smoke:
                transports.append(args.http)
            echoes = []
            for http in transports:
                echo = await run_echo(capacity, directory, http)
                print(
                    f"\n{echo.label}: {echo.timings.updates} updates in {echo.seconds:.2f}s = "
                    f"{echo.rate:.0f} updates/s, p50 {_ms(echo.timings.first, 50)} ms, "
                    f"p99 {_ms(echo.timings.first, 99)} ms, peak {_mib(echo.peak_kib)} MiB"
                    + (_cpu_note(echo) if args.details else ""),
                    end="",
                    flush=True,
                )
                if echo.timings.failures:
                    raise BenchError(f"the echo bot did not answer: {echo.timings.failures[0]}")
                echoes.append(echo)
            print()
            for url in database_urls(args):
                async with database(url, directory) as database_url:
                    result = await run_bot(capacity, database_url, directory)
                print(f"\n{result.label}, all at once with no pause (capacity)", flush=True)
                print("\n".join(describe(result, echoes, args.details)))
                verdict = judge(
                    result,
                    echoes[0],
                    phase="capacity",
                    latency=paced is None,
                    details=args.details,
                )
                if paced is not None:
                    async with database(url, directory) as database_url:
                        slow = await run_bot(paced, database_url, directory)
                    print(
                        f"{slow.label}, pausing {think:g} s on average before each update "
                        "(a person's pace)"
                    )
                    print("\n".join(describe(slow, [], args.details)))
                    more = judge(slow, None, phase="paced", latency=True, details=args.details)
                    verdict.merge(more)
                print("\n".join(verdict.lines), flush=True)
                verdicts.append(verdict)
        except BenchError as error:
            print(f"\nFAIL {error}", file=sys.stderr, flush=True)
            return 2
    if any(v.correctness_failed for v in verdicts):
        return 1
    if not args.smoke and any(v.target_failed for v in verdicts):
        return 1
    return 0


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--participants",
        type=int,
        default=None,
        help=f"people at once (default {DEFAULT_PARTICIPANTS}, {SMOKE_PARTICIPANTS} with --smoke)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"a short run for CI ({SMOKE_PARTICIPANTS} people): exit non-zero only when an "
        "answer is lost or extra, or a bot crashes or hangs",
    )
    parser.add_argument(
        "--database-url",
        help="sqlite+aiosqlite:///NEW_FILE or postgresql+asyncpg://user@host:port/db (a "
        "scratch database is created on that server and dropped); default: a temporary "
        "SQLite file, plus PostgreSQL at $TEST_POSTGRES_URL when it is set",
    )
    parser.add_argument(
        "--details",
        action="store_true",
        help="also latency per kind of update, CPU used by each process, API errors",
    )
    parser.add_argument(
        "--workdir", help="keep the bots' logs and the SQLite file here (default: a temp dir)"
    )
    parser.add_argument(
        "--profile-bot",
        metavar="FILE",
        help="run the bot under cProfile and write FILE.<backend>.prof (slows the bot down)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the paced run: each person pauses 0.5-1.5 x this before each update, like "
        f"people reading and typing (default {DEFAULT_THINK:g}, {SMOKE_THINK:g} with --smoke; "
        "0 skips the paced run and judges p99 on the capacity run)",
    )
    parser.add_argument(
        "--http",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="the bot's TELEGRAM_HTTP_CLIENT (default aiohttp, as in production)",
    )
    parser.add_argument("--step-timeout", type=float, default=30.0, help="seconds per reply")
    parser.add_argument(
        "--startup-timeout", type=float, default=60.0, help="seconds for a bot to start polling"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="seconds for a whole run (default: by size)"
    )
    args = parser.parse_args(argv)
    if args.think is not None and args.think < 0:
        parser.error("--think cannot be negative")
    if args.participants is not None and args.participants < 1:
        parser.error("--participants must be at least 1")
    if args.database_url and (problem := url_problem(args.database_url)):
        parser.error(problem)
    if args.workdir:
        Path(args.workdir).mkdir(parents=True, exist_ok=True)
    return asyncio.run(_with_signals(args))


async def _with_signals(args: argparse.Namespace) -> int:
    """SIGTERM/SIGHUP cancel the run like Ctrl-C, so the bots are always stopped."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, lambda: task.cancel() if task else None)
    try:
        return await main(args)
    except asyncio.CancelledError:
        print("\ninterrupted; the bots were stopped", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(cli())
